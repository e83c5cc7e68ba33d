"""The camera registry: every camera the wall may show, with its stream and health.

Cameras come from three sources: the config file (static), multicast DNS and ONVIF
WS-Discovery. A camera seen by several sources is one camera when they agree on a
hardware key (MAC address or serial number). What the operator changes (display name,
location label, hidden, cameras added by URL) and which key belongs to which id are kept
in ``cameras.json`` in the state directory; credentials in the secrets file.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from controller.cameras.identity import normalize_mac, slug
from controller.cameras.secrets import (
    CameraSecrets,
    Credentials,
    split_credentials,
    with_credentials,
)
from controller.config.schema import CameraSpec
from controller.errors import CameraError, NotFoundError, RefusedError
from controller.storage import read_json, write_json_atomic
from controller.wall.wall import CameraFeed

_LOGGER = logging.getLogger(__name__)

STORE_FILE = "cameras.json"
STREAM_SCHEMES = ("rtsp", "rtsps", "http", "https")
CONFIG = "config"
API = "api"
DISCOVERED = "discovered"
NO_STREAM_REASON = (
    "found by ONVIF; stream address unknown until an admin adds it with credentials"
)


class InvalidCameraError(CameraError, ValueError):
    """A camera change was refused because a value is not usable."""

    http_status = 422


@dataclass(frozen=True)
class Sighting:
    """A camera as one discovery source saw it."""

    source: str  # "mdns:<service type>", "onvif"
    key: str  # stable hardware key (mac:…, serial:…) or instance:<name>
    instance: str
    url: str | None
    substream_url: str | None = None
    address: str = ""
    vendor: str = ""
    model: str = ""
    service_type: str = ""
    aliases: tuple[str, ...] = ()  # further keys of the same camera (serial and MAC)
    location: str = ""

    @property
    def slot(self) -> str:
        """Where this sighting lives in a camera: one per source and announcement."""
        return f"{self.source}#{self.instance}"

    @property
    def rank(self) -> int:
        """Lower is a better stream address: RTSP announcements beat derived URLs."""
        return _RANKS.get(self.service_type, len(_RANKS))


_RANKS = {
    "_rtsp._tcp.local.": 0,
    "_rtsps._tcp.local.": 1,
    "_axis-video._tcp.local.": 2,
    "_http._tcp.local.": 3,
}


@dataclass
class Camera:
    """One camera: configured, added by an operator, discovered, or several of these."""

    id: str
    name: str
    location: str = ""
    url: str | None = None
    substream_url: str | None = None
    origin: str = DISCOVERED
    hidden: bool = False
    sources: dict[str, Sighting] = field(default_factory=dict)
    online: bool = False
    last_seen: float | None = None
    reason: str = ""
    has_credentials: bool = False

    @property
    def configured(self) -> bool:
        """True when the camera comes from the config file or was added by URL."""
        return self.origin != DISCOVERED

    @property
    def stream_url(self) -> str | None:
        """The main stream: the static URL, else the first sighting that has one."""
        if self.url:
            return self.url
        best = self._best_sighting()
        return best.url if best else None

    @property
    def sub_url(self) -> str | None:
        """The sub-stream that goes with :attr:`stream_url`, if the camera has one."""
        if self.url:
            return self.substream_url
        best = self._best_sighting()
        return best.substream_url if best else None

    def _best_sighting(self) -> Sighting | None:
        with_url = [s for s in self.sources.values() if s.url]
        return min(with_url, key=lambda s: s.rank) if with_url else None

    @property
    def candidate(self) -> bool:
        """Discovered but without a stream address: an admin has to confirm it."""
        return self.stream_url is None and bool(self.sources)

    def as_json(self) -> dict[str, Any]:
        """The camera as the API shows it (URLs without userinfo, never a password)."""
        sighting = next(iter(self.sources.values()), None)
        return {
            "id": self.id,
            "name": self.name,
            "location": self.location,
            "online": self.online,
            "hidden": self.hidden,
            "configured": self.configured,
            "origin": self.origin,
            "candidate": self.candidate,
            "sources": sorted({s.source for s in self.sources.values()}),
            "address": sighting.address if sighting else "",
            "vendor": next((s.vendor for s in self.sources.values() if s.vendor), ""),
            "model": next((s.model for s in self.sources.values() if s.model), ""),
            "url": self.stream_url,
            "substream_url": self.sub_url,
            "credentials": self.has_credentials,
            "last_seen": self.last_seen,
            "reason": self.reason,
        }


class CameraRegistry:
    """Merges the config's cameras with what discovery finds, under stable ids.

    Runs on the event loop. ``load`` reads the saved state and the secrets in a thread;
    changes an operator makes are saved before the call returns; keys learnt from
    discovery are saved in the background.
    """

    def __init__(
        self,
        specs: Mapping[str, CameraSpec],
        on_change: Callable[[], None] = lambda: None,
        state_dir: Path | None = None,
        secrets: CameraSecrets | None = None,
    ) -> None:
        self._cameras: dict[str, Camera] = {}
        self._by_key: dict[str, str] = {}  # hardware/instance key → camera id
        self._overrides: dict[str, dict[str, Any]] = {}
        self._static: dict[str, dict[str, Any]] = {}
        self._on_change = on_change
        self._store = state_dir / STORE_FILE if state_dir is not None else None
        self.secrets = secrets
        self._save_lock = asyncio.Lock()
        self._saves: set[asyncio.Task[None]] = set()
        self._config_keys: set[str] = set()
        self.reconfigure(specs, notify=False)

    def reconfigure(self, specs: Mapping[str, CameraSpec], notify: bool = True) -> None:
        """Take the config's cameras (at start, or after a config reload).

        A camera the config no longer names stays while discovery still sees it (as a
        discovered camera) and is dropped otherwise; cameras added by the API stay.
        """
        for camera_id, camera in list(self._cameras.items()):
            if camera.origin == CONFIG and camera_id not in specs:
                if camera.sources:
                    camera.origin = DISCOVERED
                    camera.url = camera.substream_url = None
                else:
                    del self._cameras[camera_id]
        for key in self._config_keys:
            self._by_key.pop(key, None)
        self._config_keys = set()

        for camera_id, spec in specs.items():
            existing = self._cameras.get(camera_id)
            camera = existing or Camera(id=camera_id, name=camera_id, origin=CONFIG)
            self._cameras[camera_id] = camera
            camera.origin = CONFIG
            camera.name = spec.name or camera_id
            camera.location = spec.location
            camera.url = spec.url
            camera.substream_url = spec.substream_url
            if spec.url is not None:
                camera.online = True
            if spec.match is not None:
                keys = []
                if spec.match.mac and (mac := normalize_mac(spec.match.mac)):
                    keys.append(f"mac:{mac}")
                if spec.match.serial:
                    keys.append(f"serial:{spec.match.serial}")
                if spec.match.instance:
                    keys.append(f"instance:{spec.match.instance}")
                for key in keys:
                    self._config_keys.add(key)
                    self._by_key[key] = camera_id
            self._apply_overrides(camera)
        if notify:
            self._on_change()

    async def load(self) -> None:
        """Read the saved cameras and the secrets (in a thread); apply them."""
        loop = asyncio.get_running_loop()
        if self.secrets is not None:
            try:
                await loop.run_in_executor(None, self.secrets.load)
            except CameraError as err:
                # The wall still shows every camera that needs no login.
                _LOGGER.error("%s; cameras start without credentials", err)
        saved = (
            await loop.run_in_executor(None, read_json, self._store)
            if self._store is not None
            else None
        )
        if isinstance(saved, dict):
            for key, camera_id in dict(saved.get("keys", {})).items():
                # The config's match wins over what an earlier run learnt.
                if key not in self._config_keys:
                    self._by_key[str(key)] = str(camera_id)
            for camera_id, entry in dict(saved.get("static", {})).items():
                if camera_id in self._cameras or not entry.get("url"):
                    continue
                self._static[camera_id] = dict(entry)
                self._cameras[camera_id] = Camera(
                    id=camera_id,
                    name=str(entry.get("name") or camera_id),
                    location=str(entry.get("location", "")),
                    url=str(entry["url"]),
                    substream_url=entry.get("substream_url"),
                    origin=API,
                    online=True,
                )
            self._overrides = {
                str(k): dict(v) for k, v in dict(saved.get("overrides", {})).items()
            }
        for camera in self._cameras.values():
            self._apply_overrides(camera)
        self._on_change()

    def __contains__(self, camera_id: object) -> bool:
        return camera_id in self._cameras

    def get(self, camera_id: str) -> Camera:
        """The camera called ``camera_id``; NotFoundError when there is none."""
        try:
            return self._cameras[camera_id]
        except KeyError:
            raise NotFoundError("camera", camera_id, self._cameras) from None

    def all(self) -> list[Camera]:
        """Every camera known now, in the order they became known."""
        return list(self._cameras.values())

    # -- what discovery reports --------------------------------------------------------

    def seen(self, sighting: Sighting) -> Camera:
        """Record that a source sees a camera (new, back online, or moved address)."""
        keys = (sighting.key, *sighting.aliases)
        camera_id = next((self._by_key[k] for k in keys if k in self._by_key), None)
        learnt = False
        if camera_id is None:
            camera_id = self._new_id(sighting)
        for key in keys:
            if self._by_key.get(key) != camera_id:
                self._by_key[key] = camera_id
                learnt = True
        camera = self._cameras.get(camera_id)
        if camera is None:
            camera = Camera(id=camera_id, name=sighting.instance)
            camera.location = sighting.location
            self._apply_overrides(camera)
            self._cameras[camera_id] = camera
            _LOGGER.info(
                "new camera %r found by %s at %s",
                camera_id,
                sighting.source,
                sighting.address,
            )
        previous = camera.sources.get(sighting.slot)
        camera.sources[sighting.slot] = sighting
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
        camera.reason = NO_STREAM_REASON if camera.candidate else ""
        if learnt:
            self._save_later()
        if changed:
            self._on_change()
        return camera

    def gone(self, sighting: Sighting) -> None:
        """A source says a camera it saw is gone (goodbye or expired record)."""
        camera_id = self._by_key.get(sighting.key)
        camera = self._cameras.get(camera_id) if camera_id else None
        if camera is None or sighting.slot not in camera.sources:
            return
        del camera.sources[sighting.slot]
        source = sighting.source
        if not camera.sources and camera.url is None:
            camera.online = False
            camera.reason = "camera left the network"
            _LOGGER.info(
                "camera %r offline: %s saw it leave the network", camera.id, source
            )
        elif camera.candidate:
            camera.reason = NO_STREAM_REASON
        self._on_change()

    # -- what operators change ---------------------------------------------------------

    async def update(self, camera_id: str, **changes: Any) -> Camera:
        """Change a camera's name, location, hidden flag, stream URLs or credentials.

        Stream URLs can be set on cameras added by URL and on discovered candidates
        (which then play from the given URL); credentials on any camera. Saved before
        returning.
        """
        camera = self.get(camera_id)
        credentials = self._credentials_from(camera_id, changes)
        for key in ("url", "substream_url"):
            if key not in changes:
                continue
            if camera.origin == CONFIG:
                raise RefusedError(
                    f"camera {camera_id!r} takes its {key} from the config file; "
                    "change it there"
                )
            value = changes.pop(key)
            if value is not None:
                value, in_url = split_credentials(_check_url(value, key))
                credentials = credentials or in_url
            setattr(camera, key, value)
            if camera.origin == DISCOVERED and key == "url" and value:
                camera.origin = API
                camera.online = True
                camera.reason = ""
        override = self._overrides.setdefault(camera_id, {})
        for key in ("name", "location", "hidden"):
            if key in changes:
                setattr(camera, key, changes[key])
                override[key] = changes[key]
        if camera.origin == API:
            self._static[camera_id] = self._static_entry(camera)
        if credentials is not None:
            await self._set_credentials(camera, credentials)
        await self._save()
        self._on_change()
        return camera

    async def add(
        self,
        name: str,
        url: str,
        *,
        camera_id: str | None = None,
        location: str = "",
        substream_url: str | None = None,
        username: str | None = None,
        password: str | None = None,
    ) -> Camera:
        """Add a static camera by URL (userinfo in the URL moves to the secrets file)."""
        camera_id = camera_id or slug(name)
        if camera_id in self._cameras:
            raise RefusedError(f"a camera with id {camera_id!r} already exists")
        clean, credentials = split_credentials(_check_url(url, "url"))
        sub = None
        if substream_url is not None:
            sub, sub_credentials = split_credentials(
                _check_url(substream_url, "substream_url")
            )
            credentials = credentials or sub_credentials
        if username is not None:
            credentials = Credentials(username, password or "")
        camera = Camera(
            id=camera_id,
            name=name,
            location=location,
            url=clean,
            substream_url=sub,
            origin=API,
            online=True,
        )
        self._cameras[camera_id] = camera
        self._static[camera_id] = self._static_entry(camera)
        if credentials is not None:
            await self._set_credentials(camera, credentials)
        await self._save()
        _LOGGER.info("camera %r added by URL (%s)", camera_id, clean)
        self._on_change()
        return camera

    async def remove(self, camera_id: str) -> None:
        """Remove a camera that was added by URL, with its saved fields and credentials."""
        camera = self.get(camera_id)
        if camera.origin == CONFIG:
            raise RefusedError(
                f"camera {camera_id!r} is defined in the config file; remove it there"
            )
        if camera.origin == DISCOVERED:
            raise RefusedError(
                f"camera {camera_id!r} was discovered on the network and would come "
                "back; hide it instead"
            )
        del self._cameras[camera_id]
        self._static.pop(camera_id, None)
        self._overrides.pop(camera_id, None)
        if self.secrets is not None and self.secrets.get(camera_id) is not None:
            self.secrets.set(camera_id, None)
            await asyncio.get_running_loop().run_in_executor(None, self.secrets.save)
        await self._save()
        _LOGGER.info("camera %r removed", camera_id)
        self._on_change()

    # -- what the wall plays -----------------------------------------------------------

    def feed(self, camera_id: str) -> CameraFeed:
        """What the wall needs to show ``camera_id`` now (URLs carry the credentials)."""
        camera = self._cameras.get(camera_id)
        if camera is None:
            return CameraFeed(camera_id, camera_id, None, "camera not found yet")
        credentials = self.secrets.get(camera_id) if self.secrets else None
        url = camera.stream_url if camera.online else None
        sub = camera.sub_url if url else None
        return CameraFeed(
            camera.id,
            camera.name,
            with_credentials(url, credentials) if url else None,
            camera.reason or "camera offline",
            substream_url=with_credentials(sub, credentials) if sub else None,
        )

    # -- internals ---------------------------------------------------------------------

    def _apply_overrides(self, camera: Camera) -> None:
        for key, value in self._overrides.get(camera.id, {}).items():
            if key in ("name", "location", "hidden"):
                setattr(camera, key, value)
        camera.has_credentials = bool(self.secrets and self.secrets.get(camera.id))

    def _credentials_from(
        self, camera_id: str, changes: dict[str, Any]
    ) -> Credentials | None:
        username = changes.pop("username", None)
        password = changes.pop("password", None)
        if username is None and password is None:
            return None
        if username is None:
            known = self.secrets.get(camera_id) if self.secrets else None
            if known is None:
                raise InvalidCameraError(
                    f"camera {camera_id!r}: give a username with the password"
                )
            username = known.username
        return Credentials(username, password or "")

    async def _set_credentials(self, camera: Camera, credentials: Credentials) -> None:
        if self.secrets is None:
            raise InvalidCameraError(
                f"camera {camera.id!r}: credentials cannot be kept (no secrets file)"
            )
        self.secrets.set(camera.id, credentials)
        try:
            await asyncio.get_running_loop().run_in_executor(None, self.secrets.save)
        except OSError as err:
            raise CameraError(
                f"cannot save the credentials of camera {camera.id!r} to "
                f"{self.secrets.path}: {err.strerror}"
            ) from err
        camera.has_credentials = True
        _LOGGER.info("camera %r: credentials stored", camera.id)

    @staticmethod
    def _static_entry(camera: Camera) -> dict[str, Any]:
        return {
            "name": camera.name,
            "location": camera.location,
            "url": camera.url,
            "substream_url": camera.substream_url,
        }

    def _snapshot(self) -> dict[str, Any]:
        return {
            "keys": dict(sorted(self._by_key.items())),
            "static": self._static,
            "overrides": {k: v for k, v in self._overrides.items() if v},
        }

    async def _save(self) -> None:
        if self._store is None:
            return
        data = self._snapshot()
        async with self._save_lock:
            try:
                await asyncio.get_running_loop().run_in_executor(
                    None, write_json_atomic, self._store, data
                )
            except OSError as err:
                raise CameraError(
                    f"cannot save cameras to {self._store}: {err.strerror}"
                ) from err

    def _save_later(self) -> None:
        if self._store is None:
            return

        async def save() -> None:
            try:
                await self._save()
            except CameraError as err:
                _LOGGER.warning("%s", err)

        task = asyncio.get_running_loop().create_task(save(), name="save cameras")
        self._saves.add(task)
        task.add_done_callback(self._saves.discard)

    async def flush(self) -> None:
        """Wait for background saves (at shutdown and in tests)."""
        await asyncio.gather(*self._saves, return_exceptions=True)

    def _new_id(self, sighting: Sighting) -> str:
        kind, _, value = sighting.key.partition(":")
        base = (
            f"{kind}-{value}" if kind in ("mac", "serial") else slug(sighting.instance)
        )
        candidate = slug(base)
        number = 2
        taken = set(self._cameras) | set(self._by_key.values())
        while candidate in taken:
            candidate = f"{slug(base)}-{number}"
            number += 1
        return candidate


def _check_url(url: str, key: str) -> str:
    parts = urlsplit(url.strip())
    if parts.scheme.lower() not in STREAM_SCHEMES or not parts.hostname:
        # Shown without the URL itself: it may carry a password.
        raise InvalidCameraError(
            f"{key} must be a stream address such as rtsp://HOST:554/PATH "
            f"(scheme {', '.join(STREAM_SCHEMES)}), got scheme "
            f"{parts.scheme or 'none'!r}"
        )
    return url.strip()
