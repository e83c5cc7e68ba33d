"""How a display (processor or chain of panels) is written in the appliance config."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from controller.config.base import Spec

Protocol = Literal["novastar", "samsung-mdc", "lg", "nec"]


class DisplaySpec(Spec):
    """One display of the wall: a serial port, a protocol and a device ID."""

    protocol: Protocol
    port: str = Field(description="serial device, preferably /dev/serial/by-id/...")
    id: int = Field(default=0, ge=0, le=255)
    baud: int | None = None
