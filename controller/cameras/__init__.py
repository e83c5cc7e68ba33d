"""Cameras: where they come from (discovery, config) and what is known about each."""
