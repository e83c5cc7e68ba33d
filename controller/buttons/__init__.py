"""Physical preset buttons and their lamps on the desk panel (GPIO)."""

# controller.config imports its schema, which imports ButtonSpec from this package:
# load it first so that importing controller.buttons.* before it cannot hit the cycle.
import controller.config  # noqa: F401
