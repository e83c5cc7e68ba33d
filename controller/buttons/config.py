"""How a desk button (and its lamp) is written in the appliance config."""

from __future__ import annotations

from pydantic import Field

from controller.config.base import Spec


class ButtonSpec(Spec):
    """One button on a GPIO pin, the preset or action it triggers, and its lamp."""

    pin: int | str
    action: str = Field(description="a preset name, or one of: return, next, blackout")
    hold_s: float | None = Field(default=None, ge=0)
    lamp: int | str | None = None
