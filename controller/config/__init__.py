"""Configuration: the appliance config, layouts and presets, loaded and validated."""

from controller.config.loader import Config, load_config

__all__ = ["Config", "load_config"]
