"""The ``firmware`` section of the appliance config: Raspberry Pi boot settings."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from controller.config.base import Spec


class FirmwareSpec(Spec):
    """Raspberry Pi 4/5 boot settings rendered into config.txt and cmdline.txt.

    The HDMI mode comes from ``wall.resolution`` and ``refresh_hz``; everything else has
    a default that suits a wall processor on HDMI 0 and RS-232 on GPIO 14/15.
    """

    kernel: Literal["debian", "raspberrypi"] = Field(
        default="debian",
        description="debian: Debian's upstream kernel (Pi 4 only); "
        "raspberrypi: the Raspberry Pi kernel (Pi 4 and Pi 5)",
    )
    hdmi_port: Literal[0, 1] = Field(default=0, description="HDMI socket of the wall")
    refresh_hz: int = Field(default=60, ge=24, le=120)
    reduced_blanking: bool = Field(
        default=False,
        description="CVT reduced blanking for modes without a standard code",
    )
    force_hotplug: bool = Field(
        default=True,
        description="drive HDMI even when the processor reports no hotplug",
    )
    ignore_edid: bool = Field(
        default=False, description="use the configured mode even if the EDID disagrees"
    )
    hdmi_drive: Literal["hdmi", "dvi"] = "hdmi"
    rs232_uart: bool = Field(
        default=True, description="UART on GPIO 14/15 for RS-232, away from Bluetooth"
    )
    serial_console: bool = Field(
        default=False,
        description="kernel console on the GPIO UART (not with rs232_uart)",
    )
    watchdog: bool = Field(default=True, description="hardware watchdog of the SoC")
    gpu_mem_mb: int = Field(default=128, ge=16, le=512)
    cma_mb: int = Field(
        default=256, ge=64, le=1024, description="memory for KMS and decoders"
    )
    wifi: bool = False
    bluetooth: bool = False
    audio: bool = False
    extra_config: tuple[str, ...] = Field(
        default=(), description="lines added to config.txt under [all]"
    )
    extra_cmdline: tuple[str, ...] = Field(
        default=(), description="words added to cmdline.txt"
    )

    @model_validator(mode="after")
    def _console_or_rs232(self) -> FirmwareSpec:
        if self.rs232_uart and self.serial_console:
            raise ValueError(
                "found rs232_uart and serial_console both true, expected at most one: "
                "the GPIO UART carries either the display processor's RS-232 or the "
                "kernel console"
            )
        return self
