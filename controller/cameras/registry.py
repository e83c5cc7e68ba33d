"""The camera registry: every camera the wall may show, with its stream and health."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from controller.cameras.identity import normalize_mac, slug
from controller.config.schema import CameraSpec
from controller.errors import NotFoundError
from controller.wall.wall import CameraFeed

_LOGGER = logging.getLogger(__name__)


@dataclass(frozen=True)
class Sighting:
    """A camera as one discovery source saw it."""

    source: str  # "mdns", "onvif"
    key: str  # stable hardware key (mac:…, serial:…) or instance:<name>
    instance: str
    url: str
    substream_url: str | None = None
    address: str = ""
    vendor: str = ""
    model: str = ""
    service_type: str = ""


@dataclass
class Camera:
    """One camera: configured, discovered, or both."""

    id: str
    name: str
    location: str = ""
    url: str | None = None
    substream_url: str | None = None
    configured: bool = False
    hidden: bool = False
    sources: dict[str, Sighting] = field(default_factory=dict)
    online: bool = False
    last_seen: float | None = None
    reason: str = ""

    @property
    def stream_url(self) -> str | None:
        """The URL to play: the config's for static cameras, else the latest sighting's."""
        if self.url:
            return self.url
        for sighting in self.sources.values():
            return sighting.url
        return None

    def as_json(self) -> dict[str, Any]:
        """The camera as the API shows it (never with credentials)."""
        sighting = next(iter(self.sources.values()), None)
        return {
            "id": self.id,
            "name": self.name,
            "location": self.location,
            "online": self.online,
            "hidden": self.hidden,
            "configured": self.configured,
            "sources": sorted(self.sources),
            "address": sighting.address if sighting else "",
            "vendor": sighting.vendor if sighting else "",
            "model": sighting.model if sighting else "",
            "last_seen": self.last_seen,
            "reason": self.reason,
        }


class CameraRegistry:
    """Merges the config's cameras with what discovery finds, under stable ids."""

    def __init__(
        self,
        specs: Mapping[str, CameraSpec],
        on_change: Callable[[], None] = lambda: None,
    ) -> None:
        self._cameras: dict[str, Camera] = {}
        self._by_key: dict[str, str] = {}  # hardware/instance key → camera id
        self._on_change = on_change
        for camera_id, spec in specs.items():
            self._cameras[camera_id] = Camera(
                id=camera_id,
                name=spec.name or camera_id,
                location=spec.location,
                url=spec.url,
                substream_url=spec.substream_url,
                configured=True,
                online=spec.url is not None,
            )
            if spec.match is not None:
                if spec.match.mac and (mac := normalize_mac(spec.match.mac)):
                    self._by_key[f"mac:{mac}"] = camera_id
                if spec.match.serial:
                    self._by_key[f"serial:{spec.match.serial}"] = camera_id
                if spec.match.instance:
                    self._by_key[f"instance:{spec.match.instance}"] = camera_id

    def __contains__(self, camera_id: object) -> bool:
        return camera_id in self._cameras

    def get(self, camera_id: str) -> Camera:
        """The camera called ``camera_id``; NotFoundError when there is none."""
        try:
            return self._cameras[camera_id]
        except KeyError:
            raise NotFoundError("camera", camera_id, self._cameras) from None

    def all(self) -> list[Camera]:
        return list(self._cameras.values())

    def seen(self, sighting: Sighting) -> Camera:
        """Record that a source sees a camera (new, back online, or moved address)."""
        camera_id = self._by_key.get(sighting.key)
        if camera_id is None:
            camera_id = self._new_id(sighting)
            self._by_key[sighting.key] = camera_id
        camera = self._cameras.get(camera_id)
        if camera is None:
            camera = Camera(id=camera_id, name=sighting.instance)
            self._cameras[camera_id] = camera
            _LOGGER.info(
                "new camera %r found by %s (%s)",
                camera_id,
                sighting.source,
                sighting.address,
            )
        previous = camera.sources.get(sighting.source)
        camera.sources[sighting.source] = sighting
        camera.last_seen = time.time()
        changed = previous != sighting or not camera.online
        if not camera.online:
            _LOGGER.info("camera %r online at %s", camera_id, sighting.address)
        elif previous is not None and previous.address != sighting.address:
            _LOGGER.info(
                "camera %r moved from %s to %s",
                camera_id,
                previous.address,
                sighting.address,
            )
        camera.online = True
        camera.reason = ""
        if changed:
            self._on_change()
        return camera

    def gone(self, source: str, key: str) -> None:
        """A source says the camera with ``key`` is gone (goodbye or expired record)."""
        camera_id = self._by_key.get(key)
        camera = self._cameras.get(camera_id) if camera_id else None
        if camera is None or source not in camera.sources:
            return
        del camera.sources[source]
        if not camera.sources and camera.url is None:
            camera.online = False
            camera.reason = "camera left the network"
            _LOGGER.info("camera %r offline (%s said goodbye)", camera.id, source)
        self._on_change()

    def update(self, camera_id: str, **changes: Any) -> Camera:
        """Change the operator's fields of a camera (name, location, hidden)."""
        camera = self.get(camera_id)
        for key, value in changes.items():
            setattr(camera, key, value)
        self._on_change()
        return camera

    def feed(self, camera_id: str) -> CameraFeed:
        """What the wall needs to show ``camera_id`` now."""
        camera = self._cameras.get(camera_id)
        if camera is None:
            return CameraFeed(camera_id, camera_id, None, "camera not found yet")
        url = camera.stream_url if camera.online else None
        return CameraFeed(
            camera.id, camera.name, url, camera.reason or "camera offline"
        )

    def _new_id(self, sighting: Sighting) -> str:
        kind, _, value = sighting.key.partition(":")
        base = (
            f"{kind}-{value}" if kind in ("mac", "serial") else slug(sighting.instance)
        )
        candidate = slug(base)
        number = 2
        while candidate in self._cameras:
            candidate = f"{slug(base)}-{number}"
            number += 1
        return candidate
