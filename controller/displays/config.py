"""How a display (processor or chain of panels) is written in the appliance config."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from controller.config.base import Spec

Protocol = Literal["novastar", "samsung-mdc", "lg", "nec", "table"]

#: The port that makes the controller run an in-process simulator (for the demo).
SIMULATED_PORT = "simulated"

# Addresses every device acts on and none answers: useless for a display whose state
# the wall must read back.
_BROADCAST_IDS = {"samsung-mdc": 0xFE, "lg": 0x00, "nec": 0x00}


class DisplaySpec(Spec):
    """One display of the wall: a serial port, a protocol and the device ID(s) on it.

    A wall of daisy-chained panels is one display listing its panels' IDs; each
    operation goes to every panel in turn and reads back each one's answer.
    """

    protocol: Protocol
    port: str = Field(
        description="serial device, preferably /dev/serial/by-id/...; 'simulated' runs "
        "a simulator of the protocol inside the controller"
    )
    id: int | None = Field(
        default=None,
        ge=0,
        le=1000,
        description="device ID; none = the protocol's usual",
    )
    panels: tuple[int, ...] | None = Field(
        default=None, min_length=1, description="IDs of daisy-chained panels"
    )
    baud: int | None = Field(default=None, gt=0)
    table: str | None = Field(
        default=None, description="command table (protocol table)"
    )
    poll_interval_s: float = Field(default=10.0, gt=0)
    reply_timeout_s: float | None = Field(default=None, gt=0)

    @model_validator(mode="after")
    def _consistent(self) -> DisplaySpec:
        if self.protocol == "table" and not self.table:
            raise ValueError(
                "protocol 'table' needs table: the path of a command table"
            )
        if self.protocol != "table" and self.table:
            raise ValueError(
                f"table is only for protocol 'table', not {self.protocol!r}"
            )
        if self.id is not None and self.panels is not None:
            raise ValueError("give id (one device) or panels (a chain), not both")
        broadcast = _BROADCAST_IDS.get(self.protocol)
        for device_id in self.panels or ((self.id,) if self.id is not None else ()):
            if device_id == broadcast:
                raise ValueError(
                    f"ID {device_id} is the {self.protocol} 'all devices' address, "
                    "which never answers; give each device its own ID and list them "
                    "in panels"
                )
        return self
