"""The shapes of the YAML files a technician writes: config, layouts and presets."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, field_validator

from controller.access.config import AccessSpec
from controller.appliance.config import FirmwareSpec
from controller.buttons.config import ButtonSpec
from controller.cameras.identity import normalize_mac
from controller.config.base import Spec
from controller.displays.config import DisplaySpec

#: Width or height in pixels: what an X screen can be (Xvfb refuses 0 and below).
Pixels = Annotated[int, Field(ge=1, le=16384)]
Size = tuple[Pixels, Pixels]
Name = str


class WallSpec(Spec):
    """The wall's X display and resolution."""

    resolution: Size = (1920, 1080)
    display: str | None = Field(
        default=None, description="X display such as ':0'; none starts a private Xvfb"
    )
    substream_below: Size = (960, 540)
    stale_after_s: float = Field(
        default=3.0,
        gt=0,
        le=60,
        description="a tile without a new frame for this long shows SIGNAL LOST",
    )


class WebSpec(Spec):
    """Where the HTTP API and the web remote listen."""

    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535)
    tls: bool = Field(
        default=False, description="HTTPS with a self-signed certificate in state_dir"
    )


class MdnsSpec(Spec):
    """Multicast DNS browsing for cameras."""

    enabled: bool = True
    interfaces: tuple[str, ...] | Literal["all"] = "all"


class OnvifSpec(Spec):
    """ONVIF WS-Discovery probing for cameras (multicast on the given addresses)."""

    enabled: bool = False
    interfaces: tuple[str, ...] | Literal["all"] = "all"
    probe_interval_s: float = Field(default=60.0, ge=5)


class DiscoverySpec(Spec):
    mdns: MdnsSpec = MdnsSpec()
    onvif: OnvifSpec = OnvifSpec()


class CameraMatchSpec(Spec):
    """How a discovered camera is recognised as this configured camera."""

    mac: str | None = None
    serial: str | None = None
    instance: str | None = None

    @field_validator("mac")
    @classmethod
    def _is_a_mac(cls, value: str | None) -> str | None:
        if value is not None and normalize_mac(value) is None:
            raise ValueError("a MAC address of 12 hex digits, such as 02:4f:57:00:00:01")
        return value


class CameraSpec(Spec):
    """A camera the presets may use: found by discovery, or given by URL."""

    name: str | None = None
    location: str = ""
    url: str | None = Field(default=None, description="main stream of a static camera")
    substream_url: str | None = None
    match: CameraMatchSpec | None = None


class GpioSpec(Spec):
    """Which GPIO library drives the desk buttons: lgpio on a Pi, mock pins elsewhere."""

    pin_factory: Literal["lgpio", "mock"] = "lgpio"


class ConfigSpec(Spec):
    """The appliance config file."""

    wall: WallSpec = WallSpec()
    web: WebSpec = WebSpec()
    access: AccessSpec = AccessSpec()
    discovery: DiscoverySpec = DiscoverySpec()
    layouts: str = Field(description="layouts file, relative to this file")
    presets: str = Field(description="presets file, relative to this file")
    cameras: dict[Name, CameraSpec] = {}
    displays: dict[Name, DisplaySpec] = {}
    buttons: dict[Name, ButtonSpec] = {}
    gpio: GpioSpec = GpioSpec()
    firmware: FirmwareSpec = FirmwareSpec()
    startup_preset: Name | None = None
    state_dir: str = Field(default="state", description="relative to this file")


class TileSpec(Spec):
    """A tile: a grid cell with optional spans, or an exact pixel rectangle."""

    row: int | None = Field(default=None, ge=0)
    column: int | None = Field(default=None, ge=0)
    rows: int = Field(default=1, ge=1)
    columns: int = Field(default=1, ge=1)
    rect: tuple[int, int, int, int] | None = None
    fit: Literal["fit", "fill", "stretch"] = "fit"


class GridSpec(Spec):
    columns: int = Field(ge=1, le=16)
    rows: int = Field(ge=1, le=16)


class LayoutSpec(Spec):
    """A layout: either a grid with cells, or a canvas with pixel rectangles."""

    title: str = ""
    grid: GridSpec | None = None
    canvas: Size | None = None
    tiles: dict[Name, TileSpec] = Field(min_length=1)


class LayoutsFileSpec(Spec):
    layouts: dict[Name, LayoutSpec] = Field(min_length=1)


class DisplayActionSpec(Spec):
    """One display operation a preset performs, e.g. ``{operation: brightness, value: 100}``."""

    operation: str
    value: Any = None
    display: Name | None = None


class PresetSpec(Spec):
    """A preset: a layout, the camera for each tile, and its priority."""

    title: str = ""
    layout: Name
    cameras: dict[Name, Name | None] = {}
    priority: Literal["normal", "emergency"] = "normal"
    dwell_s: float | None = Field(default=None, gt=0)
    display: tuple[DisplayActionSpec, ...] = ()


class TourSpec(Spec):
    """A tour: presets shown in turn, each for its own dwell time or the tour's."""

    title: str = ""
    presets: tuple[Name, ...] = Field(min_length=1)
    dwell_s: float = Field(default=10.0, gt=0)


class PresetsFileSpec(Spec):
    presets: dict[Name, PresetSpec] = Field(min_length=1)
    tours: dict[Name, TourSpec] = {}
