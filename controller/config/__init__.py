"""Configuration: the appliance config, layouts and presets, loaded and validated.

Import from ``controller.config.loader`` (this package stays import-light so device
modules can define their config sections without a cycle).
"""
