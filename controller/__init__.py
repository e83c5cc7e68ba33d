"""Opswall: a video-wall controller for city operations rooms."""

__version__ = "0.1.0"
