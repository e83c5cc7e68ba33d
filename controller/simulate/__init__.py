"""Simulated IP cameras for the demo and the tests: real RTSP, real multicast DNS."""
