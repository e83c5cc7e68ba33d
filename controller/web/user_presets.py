"""Presets saved from the web remote: kept in the state dir, merged with the config's."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import re
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any

from controller.errors import NotFoundError, OpswallError, RefusedError
from controller.layouts import Preset
from controller.service import Service
from controller.storage import read_json, write_json_atomic

_LOGGER = logging.getLogger(__name__)

USER_PRESETS_FILE = "user-presets.json"
NAME_PATTERN = re.compile(r"[a-z0-9][a-z0-9-]{0,39}")
MAX_TITLE_CHARS = 60


class PresetRequestError(OpswallError, ValueError):
    """A request to save a preset names or titles it in a way we cannot keep."""

    http_status = 400


class UserPresets:
    """The presets operators saved, on top of the config's; the file is their record.

    Saved presets are always of normal priority. They go into the service's config
    and switcher so that activation, RETURN and the API treat them like any other; a
    preset of the same name in the presets file wins. After a config reload replaced
    the presets, :meth:`sync` puts the saved ones back.
    """

    def __init__(self, service: Service) -> None:
        self._service = service
        self._base: Mapping[str, Preset] = service.config.presets
        self._merged: Mapping[str, Preset] = self._base
        self._saved: dict[str, Preset] = {}
        self._lock = asyncio.Lock()

    @property
    def path(self) -> Path:
        return self._service.config.state_dir / USER_PRESETS_FILE

    def is_saved(self, name: str) -> bool:
        """True for a preset saved from the remote (and so one that may be deleted)."""
        return name in self._saved and name not in self._base

    def sync(self) -> None:
        """Merge the saved presets again if the config's presets were replaced."""
        if self._service.config.presets is not self._merged:
            self._base = self._service.config.presets
            self._install()

    async def load(self) -> None:
        """Read the saved presets; entries that no longer fit the config are skipped."""
        data = await asyncio.get_running_loop().run_in_executor(
            None, read_json, self.path
        )
        if data is None:
            return
        entries = data.get("presets") if isinstance(data, dict) else None
        if not isinstance(entries, dict):
            _LOGGER.warning(
                'saved presets file %s has no "presets" object; ignoring it', self.path
            )
            return
        for name, entry in entries.items():
            try:
                preset = self._compile(name, entry)
            except (OpswallError, KeyError, TypeError, AttributeError) as err:
                _LOGGER.warning(
                    "saved preset %r in %s skipped: %s", name, self.path, err
                )
                continue
            self._saved[name] = preset
        self._install()
        _LOGGER.info("loaded %d saved presets from %s", len(self._saved), self.path)

    async def save_current(self, name: str, title: str) -> Preset:
        """Keep what the wall shows now as preset ``name``; 409 if the name is taken."""
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
        self.sync()
        if name in self._service.config.presets:
            raise RefusedError(
                f"a preset named {name!r} exists already; choose another name"
            )
        view = self._service.switcher.view
        if view is None:
            raise RefusedError("no layout is on the wall yet; nothing to save")

        preset = Preset(
            name=name,
            layout=view.layout,
            cameras={tile: camera for tile, camera in view.cameras.items() if camera},
            title=title,
        )
        async with self._lock:
            self._saved[name] = preset
            try:
                await self._write()
            except OSError:
                del self._saved[name]
                raise
        self._install()
        _LOGGER.info("preset %r (%s) saved from the web remote", name, title)
        return preset

    async def delete(self, name: str) -> None:
        """Forget a saved preset; config presets cannot be deleted from here."""
        self.sync()
        if name in self._base:
            raise RefusedError(
                f"preset {name!r} comes from the presets file; edit that file to "
                "remove it"
            )
        if name not in self._saved:
            raise NotFoundError("saved preset", name, self._saved)
        async with self._lock:
            preset = self._saved.pop(name)
            try:
                await self._write()
            except OSError:
                self._saved[name] = preset
                raise
        self._install()
        _LOGGER.info("saved preset %r deleted from the web remote", name)

    def _compile(self, name: str, entry: Mapping[str, Any]) -> Preset:
        if not NAME_PATTERN.fullmatch(name):
            raise PresetRequestError(f"name {name!r} is not a valid preset name")
        if name in self._base:
            raise RefusedError("the presets file now has a preset of that name")
        layouts = self._service.config.layouts
        layout_name = entry["layout"]
        if layout_name not in layouts:
            raise NotFoundError("layout", layout_name, layouts)
        layout = layouts[layout_name]
        cameras = dict(entry["cameras"])
        for tile, camera in cameras.items():
            if tile not in layout.tile_ids:
                raise NotFoundError("tile", tile, layout.tile_ids)
            if camera not in self._service.registry:
                raise NotFoundError("camera", str(camera))
        return Preset(
            name=name, layout=layout, cameras=cameras, title=str(entry.get("title", ""))
        )

    async def _write(self) -> None:
        data = {
            "presets": {
                name: {
                    "title": preset.title,
                    "layout": preset.layout.name,
                    "cameras": dict(preset.cameras),
                }
                for name, preset in self._saved.items()
            }
        }
        await asyncio.get_running_loop().run_in_executor(
            None, write_json_atomic, self.path, data
        )

    def _install(self) -> None:
        # TODO: the service should own this (a Service.set_extra_presets method that
        # reload keeps); it is done here so that saving presets needed no change to
        # service.py.
        service = self._service
        merged = dict(self._base)
        for name, preset in self._saved.items():
            if name in merged:
                _LOGGER.warning(
                    "saved preset %r is hidden by the preset of that name in the "
                    "presets file; delete it from the remote or rename one of them",
                    name,
                )
                continue
            merged[name] = preset
        presets = MappingProxyType(merged)
        self._merged = presets
        service.config = dataclasses.replace(service.config, presets=presets)
        service.switcher.presets = presets
        service.events.changed("presets")
