"""Display control: the wall's display processor and panels over RS-232."""

# The config package imports our DisplaySpec while it initialises; loading it first
# keeps ``import controller.displays.config`` from meeting it half-initialised.
import controller.config  # noqa: F401
