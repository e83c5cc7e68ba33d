"""Presets saved by operators from the web remote, kept in the state directory."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from controller.errors import NotFoundError, OpswallError, RefusedError
from controller.layouts import Layout, Preset
from controller.storage import read_json, write_json_atomic

_LOGGER = logging.getLogger(__name__)

SAVED_PRESETS_FILE = "user-presets.json"
NAME_PATTERN = re.compile(r"[a-z0-9][a-z0-9-]{0,39}")
MAX_TITLE_CHARS = 60


class PresetRequestError(OpswallError, ValueError):
    """A request to save a preset names or titles it in a way we cannot keep."""

    http_status = 400


class SavedPresets:
    """The operators' presets: a JSON file of entries, compiled against the config.

    Entries are kept as written, so a config reload that removes a layout or camera
    only hides the presets that used it (with a warning) instead of losing them.
    Blocking file I/O is done by the caller in a thread (see :meth:`read`, :meth:`write`).
    """

    def __init__(self, state_dir: Path) -> None:
        self.path = state_dir / SAVED_PRESETS_FILE
        self._entries: dict[str, dict[str, Any]] = {}

    def read(self) -> None:
        """Read the file (blocking); a missing file means no saved presets."""
        data = read_json(self.path)
        entries = data.get("presets") if isinstance(data, dict) else None
        if data is not None and not isinstance(entries, dict):
            _LOGGER.warning(
                'saved presets file %s has no "presets" object; ignored', self.path
            )
            return
        self._entries = {
            str(k): dict(v) for k, v in (entries or {}).items() if isinstance(v, dict)
        }

    def write(self) -> None:
        """Write the file atomically (blocking)."""
        write_json_atomic(self.path, {"presets": self._entries})

    def names(self) -> set[str]:
        return set(self._entries)

    def compile(
        self,
        layouts: Mapping[str, Layout],
        config_presets: Mapping[str, Preset],
        camera_known: Callable[[str], bool],
    ) -> dict[str, Preset]:
        """The saved presets that fit the config; the others are skipped with a reason."""
        compiled = {}
        for name, entry in self._entries.items():
            try:
                compiled[name] = self._compile(
                    name, entry, layouts, config_presets, camera_known
                )
            except (OpswallError, KeyError, TypeError) as err:
                _LOGGER.warning(
                    "saved preset %r in %s not offered: %s", name, self.path, err
                )
        return compiled

    def add(
        self,
        name: str,
        title: str,
        layout: Layout,
        cameras: Mapping[str, str | None],
        taken: Mapping[str, Preset],
    ) -> None:
        """Record a new preset (not yet written); refuse bad or taken names."""
        title = title.strip()
        if not NAME_PATTERN.fullmatch(name):
            raise PresetRequestError(
                f"preset name: found {name!r}, expected 1 to 40 lower-case letters, "
                "digits or dashes, starting with a letter or digit"
            )
        if not 1 <= len(title) <= MAX_TITLE_CHARS:
            raise PresetRequestError(
                f"preset title: found {len(title)} characters, expected 1 to "
                f"{MAX_TITLE_CHARS}"
            )
        if name in taken or name in self._entries:
            raise RefusedError(
                f"a preset named {name!r} exists already; choose another name"
            )
        self._entries[name] = {
            "title": title,
            "layout": layout.name,
            "cameras": {tile: camera for tile, camera in cameras.items() if camera},
        }

    def remove(self, name: str, config_presets: Mapping[str, Preset]) -> dict[str, Any]:
        """Forget a saved preset (not yet written); returns its entry for undo."""
        if name in config_presets:
            raise RefusedError(
                f"preset {name!r} comes from the presets file; edit that file to remove it"
            )
        if name not in self._entries:
            raise NotFoundError("saved preset", name, self._entries)
        return self._entries.pop(name)

    def restore(self, name: str, entry: dict[str, Any] | None) -> None:
        """Undo :meth:`add` (entry None) or :meth:`remove` after a failed write."""
        if entry is None:
            self._entries.pop(name, None)
        else:
            self._entries[name] = entry

    @staticmethod
    def _compile(
        name: str,
        entry: Mapping[str, Any],
        layouts: Mapping[str, Layout],
        config_presets: Mapping[str, Preset],
        camera_known: Callable[[str], bool],
    ) -> Preset:
        if not NAME_PATTERN.fullmatch(name):
            raise PresetRequestError(f"name {name!r} is not a valid preset name")
        if name in config_presets:
            raise RefusedError("the presets file now has a preset of that name")
        layout_name = entry["layout"]
        if layout_name not in layouts:
            raise NotFoundError("layout", layout_name, layouts)
        layout = layouts[layout_name]
        cameras = dict(entry["cameras"])
        for tile, camera in cameras.items():
            if tile not in layout.tile_ids:
                raise NotFoundError("tile", tile, layout.tile_ids)
            if not camera_known(str(camera)):
                raise NotFoundError("camera", str(camera))
        return Preset(
            name=name, layout=layout, cameras=cameras, title=str(entry.get("title", ""))
        )
