"""Camera discovery over multicast DNS (python-zeroconf's async API)."""

from __future__ import annotations

import asyncio
import logging
import re
import unicodedata
from collections.abc import Coroutine, Sequence
from typing import Any

from zeroconf import (
    DNSPointer,
    InterfaceChoice,
    IPVersion,
    ServiceStateChange,
    Zeroconf,
    current_time_millis,
)
from zeroconf import Error as ZeroconfError
from zeroconf.asyncio import AsyncServiceBrowser, AsyncServiceInfo, AsyncZeroconf

from controller.cameras.identity import hardware_keys
from controller.cameras.registry import CameraRegistry, Sighting
from controller.errors import CameraError

_LOGGER = logging.getLogger(__name__)

RTSP = "_rtsp._tcp.local."
RTSPS = "_rtsps._tcp.local."
AXIS = "_axis-video._tcp.local."
HTTP = "_http._tcp.local."
SERVICE_TYPES = (RTSP, RTSPS, AXIS, HTTP)

RESOLVE_TIMEOUT_MS = 3000
AXIS_RTSP_PORT = 554
AXIS_RTSP_PATH = "/axis-media/media.amp"
RTSP_DEFAULT_PORT = 554
# python-zeroconf sweeps its cache only every 10 s; we look for expired records sooner.
EXPIRY_CHECK_S = 1.0
_TYPE_PTR = 12
_TYPE_SRV = 33
RECHECK_TIMEOUT_MS = 2000
_CLASS_IN = 1
# TXT keys that say an _http._tcp service is a camera (the type alone says nothing).
HTTP_CAMERA_KINDS = ("camera", "ipcam", "video", "nvt", "encoder")

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


class MdnsDiscovery:
    """Browses the service types IP cameras announce and reports them to the registry.

    Added and updated services are resolved in tasks (the browser's handler must not
    await); removed ones (goodbye) are reported gone at once, and a camera whose
    pointer record expired without a goodbye within ``EXPIRY_CHECK_S``. A record that
    cannot be used is logged once, as a warning, and skipped.
    """

    def __init__(
        self, registry: CameraRegistry, interfaces: Sequence[str] | str = "all"
    ) -> None:
        self._registry = registry
        self._interfaces = interfaces
        self._aiozc: AsyncZeroconf | None = None
        self._browser: AsyncServiceBrowser | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._seen: dict[tuple[str, str], Sighting] = {}  # (type, name) → last sighting
        self._warned: set[str] = set()
        self._rechecking: set[tuple[str, str]] = set()

    async def start(self) -> None:
        """Join multicast DNS on the configured interfaces and start browsing."""
        # zeroconf takes a list of addresses or its own enum; the config's "all" is
        # neither, and is refused with a TypeError.
        interfaces: list[str] | InterfaceChoice = (
            InterfaceChoice.All
            if self._interfaces == "all"
            else list(self._interfaces)
        )
        try:
            self._aiozc = AsyncZeroconf(
                interfaces=interfaces, ip_version=IPVersion.V4Only
            )
        except (OSError, ZeroconfError) as err:
            raise CameraError(
                f"cannot join multicast DNS on {self._interfaces}: {err}"
            ) from err
        self._browser = AsyncServiceBrowser(
            self._aiozc.zeroconf, list(SERVICE_TYPES), handlers=[self._on_change]
        )
        self._track(self._watch_expiry(), "mdns expiry check")
        _LOGGER.info("browsing mDNS for cameras on %s", self._interfaces)

    async def stop(self) -> None:
        """Stop browsing, finish pending look-ups, leave multicast DNS."""
        if self._browser is not None:
            await self._browser.async_cancel()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._aiozc is not None:
            await self._aiozc.async_close()
        self._browser = self._aiozc = None

    # Called by the browser on the loop: must not block or await.
    def _on_change(
        self,
        zeroconf: Zeroconf,
        service_type: str,
        name: str,
        state_change: ServiceStateChange,
    ) -> None:
        if state_change is ServiceStateChange.Removed:
            self._forget(service_type, name)
            return
        self._track(self._resolve(service_type, name), f"mdns-resolve {name!r}")

    def _track(self, coro: Coroutine[Any, Any, None], name: str) -> None:
        task = asyncio.get_running_loop().create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _watch_expiry(self) -> None:
        while True:
            await asyncio.sleep(EXPIRY_CHECK_S)
            self.expire()

    def expire(self) -> None:
        """Check the records of every camera seen: gone when they expired unanswered.

        Pointer records live long (python-zeroconf keeps them at least 1125 s); the
        service record lives as long as the camera's host TTL (often 120 s). When it
        has expired the camera is asked again, and reported gone if it does not answer.
        """
        if self._aiozc is None:
            return
        cache = self._aiozc.zeroconf.cache
        now = current_time_millis()
        for service_type, name in list(self._seen):
            pointers = [
                record
                for record in cache.async_all_by_details(
                    service_type, _TYPE_PTR, _CLASS_IN
                )
                if isinstance(record, DNSPointer) and record.alias == name
            ]
            if all(record.is_expired(now) for record in pointers):
                _LOGGER.debug("mDNS pointer to %r expired", name)
                self._forget(service_type, name)
                continue
            services = cache.async_all_by_details(name, _TYPE_SRV, _CLASS_IN)
            fresh = [r for r in services if not r.is_expired(now)]
            if not fresh and (service_type, name) not in self._rechecking:
                self._rechecking.add((service_type, name))
                self._track(self._recheck(service_type, name), f"mdns-recheck {name!r}")

    async def _recheck(self, service_type: str, name: str) -> None:
        assert self._aiozc is not None
        try:
            info = AsyncServiceInfo(service_type, name)
            answered = await info.async_request(
                self._aiozc.zeroconf, RECHECK_TIMEOUT_MS
            )
        finally:
            self._rechecking.discard((service_type, name))
        if answered:
            sighting = sighting_from(info, service_type)
            if sighting is not None:
                self._seen[(service_type, name)] = sighting
                self._registry.seen(sighting)
                return
        _LOGGER.debug("mDNS service %r expired and did not answer again", name)
        self._forget(service_type, name)

    def _forget(self, service_type: str, name: str) -> None:
        sighting = self._seen.pop((service_type, name), None)
        if sighting is not None:
            self._registry.gone(sighting)

    async def _resolve(self, service_type: str, name: str) -> None:
        assert self._aiozc is not None
        try:
            info = AsyncServiceInfo(service_type, name)
            if not await info.async_request(self._aiozc.zeroconf, RESOLVE_TIMEOUT_MS):
                self._warn_once(
                    name, "mDNS service %r announced but did not resolve", name
                )
                return
            sighting = sighting_from(info, service_type)
        except (ZeroconfError, ValueError, UnicodeError, TypeError) as err:
            self._warn_once(name, "skipping malformed mDNS record %r: %s", name, err)
            return
        if sighting is None:
            _LOGGER.debug("mDNS service %r is not a usable camera", name)
            return
        previous = self._seen.get((service_type, name))
        if previous is not None and previous.key != sighting.key:
            self._registry.gone(previous)
        self._seen[(service_type, name)] = sighting
        self._registry.seen(sighting)

    def _warn_once(self, name: str, message: str, *args: object) -> None:
        if name in self._warned:
            _LOGGER.debug(message, *args)
        else:
            self._warned.add(name)
            _LOGGER.warning(message, *args)


def sighting_from(info: AsyncServiceInfo, service_type: str) -> Sighting | None:
    """The camera an mDNS service describes, or None when it is not a camera."""
    txt = {
        _text(key).lower(): _text(value or b"")
        for key, value in info.properties.items()
    }
    if service_type == HTTP and not _http_is_camera(txt):
        return None
    addresses = info.parsed_addresses(IPVersion.V4Only)
    if not addresses or not info.port:
        return None
    address = addresses[0]
    instance = display_name(info.name, service_type)
    if not instance:
        raise ValueError("instance name is empty once control characters are removed")
    path = _path(txt.get("path", "/"))

    if service_type == AXIS:
        port = _port(txt.get("rtsp_port"), AXIS_RTSP_PORT)
        url = f"rtsp://{address}:{port}{AXIS_RTSP_PATH}"
    elif service_type == HTTP:
        port = _port(txt.get("rtsp_port"), RTSP_DEFAULT_PORT)
        url = f"rtsp://{address}:{port}{path}"
    else:
        scheme = "rtsps" if service_type == RTSPS else "rtsp"
        url = f"{scheme}://{address}:{info.port}{path}"
    sub = txt.get("subpath") or txt.get("sub_path") or txt.get("substream")
    substream = None
    if sub and service_type in (RTSP, RTSPS, HTTP):
        substream = url[: -len(path)] + _path(sub)
    elif service_type == AXIS:
        substream = f"{url}?resolution=640x360"

    keys = hardware_keys(txt) or [f"instance:{instance}"]
    return Sighting(
        source=f"mdns:{service_type}",
        key=keys[0],
        aliases=tuple(keys[1:]),
        instance=instance,
        url=url,
        substream_url=substream,
        address=address,
        vendor=txt.get("vendor") or txt.get("manufacturer") or _vendor(service_type),
        model=txt.get("model") or txt.get("product") or "",
        service_type=service_type,
    )


def display_name(name: str, service_type: str) -> str:
    """The instance part of a service name, fit to show: NFC, no control characters."""
    instance = name[: -len(service_type) - 1] if name.endswith(service_type) else name
    instance = instance.replace("\\.", ".")
    return _CONTROL.sub("", unicodedata.normalize("NFC", instance)).strip()


def _text(raw: bytes | str) -> str:
    text = raw if isinstance(raw, str) else raw.decode("utf-8", "replace")
    return _CONTROL.sub("", text).strip()


def _path(path: str) -> str:
    return path if path.startswith("/") else f"/{path}"


def _port(text: str | None, default: int) -> int:
    if text and text.isdigit() and 0 < int(text) < 65536:
        return int(text)
    return default


def _vendor(service_type: str) -> str:
    return "Axis" if service_type == AXIS else ""


def _http_is_camera(txt: dict[str, str]) -> bool:
    kind = (txt.get("type") or txt.get("device") or txt.get("class") or "").lower()
    return kind in HTTP_CAMERA_KINDS or "macaddress" in txt
