"""Physical preset buttons and their lamps on the desk panel (GPIO)."""
