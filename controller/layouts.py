"""Layouts and presets as the wall uses them: immutable, validated, in wall pixels."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal, NamedTuple

Fit = Literal["fit", "fill", "stretch"]
Priority = Literal["normal", "emergency"]


class Rect(NamedTuple):
    """A rectangle on the wall in pixels: left, top, width, height."""

    x: int
    y: int
    w: int
    h: int

    def overlaps(self, other: Rect) -> bool:
        """True when the two rectangles share at least one pixel."""
        return (
            self.x < other.x + other.w
            and other.x < self.x + self.w
            and self.y < other.y + other.h
            and other.y < self.y + self.h
        )

    @property
    def area(self) -> int:
        return self.w * self.h


@dataclass(frozen=True)
class Tile:
    """One slot of a layout where a camera can be shown."""

    id: str
    rect: Rect
    fit: Fit = "fit"


@dataclass(frozen=True)
class Layout:
    """A named split of the wall into tiles."""

    name: str
    tiles: tuple[Tile, ...]
    title: str = ""

    def tile(self, tile_id: str) -> Tile:
        """The tile called ``tile_id``; KeyError when the layout has none."""
        for tile in self.tiles:
            if tile.id == tile_id:
                return tile
        raise KeyError(tile_id)

    @property
    def tile_ids(self) -> tuple[str, ...]:
        return tuple(tile.id for tile in self.tiles)


@dataclass(frozen=True)
class DisplayAction:
    """An operation a preset asks of a display when it is activated."""

    operation: str
    value: Any = None
    display: str | None = None


@dataclass(frozen=True)
class Preset:
    """A layout with a camera for each tile, and how it behaves when activated."""

    name: str
    layout: Layout
    cameras: Mapping[str, str | None]
    priority: Priority = "normal"
    title: str = ""
    dwell_s: float | None = None
    display_actions: tuple[DisplayAction, ...] = field(default=())

    def __post_init__(self) -> None:
        object.__setattr__(self, "cameras", MappingProxyType(dict(self.cameras)))

    @property
    def is_emergency(self) -> bool:
        return self.priority == "emergency"

    def assignments(self) -> tuple[tuple[Tile, str | None], ...]:
        """Each tile of the layout with the camera the preset puts there (or None)."""
        return tuple((tile, self.cameras.get(tile.id)) for tile in self.layout.tiles)


@dataclass(frozen=True)
class Tour:
    """Presets shown in turn on the wall, each for its dwell time in seconds."""

    name: str
    steps: tuple[tuple[str, float], ...]
    title: str = ""
