"""What the wall should show: presets, ad-hoc edits, emergency priority and RETURN."""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from controller.errors import NotFoundError, RefusedError
from controller.layouts import Layout, Preset

_LOGGER = logging.getLogger(__name__)

HISTORY_LENGTH = 200


@dataclass(frozen=True)
class View:
    """A layout with a camera per tile; named after the preset it came from, if any."""

    layout: Layout
    cameras: Mapping[str, str | None]
    preset: str | None = None
    emergency: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "cameras", MappingProxyType(dict(self.cameras)))

    @classmethod
    def of(cls, preset: Preset) -> View:
        return cls(preset.layout, preset.cameras, preset.name, preset.is_emergency)

    def with_camera(self, tile_id: str, camera: str | None) -> View:
        """This view with ``camera`` put in ``tile_id`` (moved there if shown elsewhere)."""
        cameras = dict(self.cameras)
        if camera is not None:
            for other, shown in cameras.items():
                if shown == camera:
                    cameras[other] = None
        cameras[tile_id] = camera
        return View(self.layout, cameras, None, self.emergency)


@dataclass(frozen=True)
class Activation:
    """A record of one request to change the wall, with who asked and what came of it."""

    what: str
    origin: str
    at: float
    result: str
    detail: str = ""

    def as_json(self) -> dict[str, Any]:
        return {
            "what": self.what,
            "origin": self.origin,
            "at": self.at,
            "result": self.result,
            "detail": self.detail,
        }


@dataclass
class Switcher:
    """Decides the wall's view; enforces emergency priority; remembers what to return to.

    While an emergency preset is active, only another emergency preset or RETURN may
    change the wall. RETURN restores the view from just before the first emergency.
    """

    presets: Mapping[str, Preset]
    home: str | None = None
    view: View | None = None
    before_emergency: View | None = None
    history: deque[Activation] = field(
        default_factory=lambda: deque(maxlen=HISTORY_LENGTH)
    )

    @property
    def emergency(self) -> bool:
        return self.view is not None and self.view.emergency

    def preset(self, name: str) -> Preset:
        try:
            return self.presets[name]
        except KeyError:
            raise NotFoundError("preset", name, self.presets) from None

    def activate(self, name: str, origin: str) -> View:
        """The view after activating preset ``name``; RefusedError during an emergency."""
        preset = self.preset(name)
        if self.emergency and not preset.is_emergency:
            self._refuse(f"preset {name}", origin, self.emergency_reason())
        if preset.is_emergency and not self.emergency:
            self.before_emergency = self.view
        return self._set(View.of(preset), f"preset {name}", origin)

    def assign(self, tile_id: str, camera: str | None, origin: str) -> View:
        """The view with ``camera`` in ``tile_id`` of the current layout."""
        if self.view is None:
            self._refuse(f"tile {tile_id}", origin, "no layout is on the wall yet")
        assert self.view is not None
        if tile_id not in self.view.layout.tile_ids:
            raise NotFoundError("tile", tile_id, self.view.layout.tile_ids)
        if self.emergency:
            self._refuse(f"tile {tile_id}", origin, self.emergency_reason())
        return self._set(
            self.view.with_camera(tile_id, camera), f"tile {tile_id}", origin
        )

    def restore(self, view: View, before_emergency: View | None, origin: str) -> View:
        """Put back a view (and what RETURN goes back to) saved before a restart."""
        self.before_emergency = before_emergency if view.emergency else None
        return self._set(view, f"restore {view.preset or 'custom view'}", origin)

    def return_(self, origin: str) -> View:
        """Leave the emergency: back to exactly the view before the first emergency."""
        if not self.emergency:
            self._refuse("return", origin, "no emergency preset is active")
        previous = self.before_emergency
        self.before_emergency = None
        if previous is None:
            # The emergency was the first thing shown since start: go to the home preset.
            home = self.presets.get(self.home or "") or next(
                p for p in self.presets.values() if not p.is_emergency
            )
            previous = View.of(home)
        return self._set(previous, "return", origin)

    def _set(self, view: View, what: str, origin: str) -> View:
        self.view = view
        self.history.append(Activation(what, origin, time.time(), "ok"))
        _LOGGER.info("%s activated by %s", what, origin)
        return view

    def _refuse(self, what: str, origin: str, reason: str) -> None:
        self.history.append(Activation(what, origin, time.time(), "refused", reason))
        _LOGGER.info("%s from %s refused: %s", what, origin, reason)
        raise RefusedError(reason)

    def emergency_reason(self) -> str:
        """Why normal requests are refused now."""
        assert self.view is not None
        return (
            f"emergency preset {self.view.preset!r} is active; "
            "press RETURN (or choose another emergency preset) first"
        )
