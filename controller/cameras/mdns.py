"""Camera discovery over multicast DNS (python-zeroconf's async API)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

from zeroconf import IPVersion, ServiceStateChange, Zeroconf
from zeroconf.asyncio import AsyncServiceBrowser, AsyncServiceInfo, AsyncZeroconf

from controller.cameras.identity import hardware_key
from controller.cameras.registry import CameraRegistry, Sighting

_LOGGER = logging.getLogger(__name__)

RTSP = "_rtsp._tcp.local."
RTSPS = "_rtsps._tcp.local."
AXIS = "_axis-video._tcp.local."
HTTP = "_http._tcp.local."
SERVICE_TYPES = (RTSP, RTSPS, AXIS, HTTP)

RESOLVE_TIMEOUT_MS = 3000
AXIS_RTSP_PORT = 554
AXIS_RTSP_PATH = "/axis-media/media.amp"


class MdnsDiscovery:
    """Browses the service types IP cameras announce and reports them to the registry."""

    def __init__(
        self, registry: CameraRegistry, interfaces: Sequence[str] | str = "all"
    ) -> None:
        self._registry = registry
        self._interfaces = interfaces
        self._aiozc: AsyncZeroconf | None = None
        self._browser: AsyncServiceBrowser | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._keys: dict[tuple[str, str], str] = {}  # (type, name) → identity key
        self._warned: set[str] = set()

    async def start(self) -> None:
        """Join multicast DNS on the configured interfaces and start browsing."""
        interfaces = "all" if self._interfaces == "all" else list(self._interfaces)
        self._aiozc = AsyncZeroconf(interfaces=interfaces, ip_version=IPVersion.V4Only)
        self._browser = AsyncServiceBrowser(
            self._aiozc.zeroconf, list(SERVICE_TYPES), handlers=[self._on_change]
        )
        _LOGGER.info("browsing mDNS for cameras on %s", interfaces)

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
            key = self._keys.pop((service_type, name), None)
            if key is not None:
                self._registry.gone(f"mdns:{service_type}", key)
            return
        task = asyncio.get_running_loop().create_task(
            self._resolve(service_type, name), name=f"mdns-resolve {name}"
        )
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _resolve(self, service_type: str, name: str) -> None:
        assert self._aiozc is not None
        try:
            info = AsyncServiceInfo(service_type, name)
            if not await info.async_request(self._aiozc.zeroconf, RESOLVE_TIMEOUT_MS):
                self._warn_once(name, "camera %r announced but did not resolve", name)
                return
            sighting = sighting_from(info, service_type)
        except (ValueError, UnicodeError) as err:
            self._warn_once(name, "skipping malformed mDNS record %r: %s", name, err)
            return
        if sighting is None:
            return
        self._keys[(service_type, name)] = sighting.key
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
        key.decode("utf-8", "replace"): (value or b"").decode("utf-8", "replace")
        for key, value in info.properties.items()
    }
    if service_type == HTTP and not _http_is_camera(txt):
        return None
    addresses = info.parsed_addresses(IPVersion.V4Only)
    if not addresses or info.port is None:
        return None
    address = addresses[0]
    instance = (
        info.name[: -len(service_type) - 1]
        if info.name.endswith(service_type)
        else info.name
    )
    path = txt.get("path", "/")
    path = path if path.startswith("/") else f"/{path}"

    if service_type == AXIS:
        url = f"rtsp://{address}:{AXIS_RTSP_PORT}{AXIS_RTSP_PATH}"
    elif service_type == HTTP:
        url = f"rtsp://{address}:{txt.get('rtsp_port', AXIS_RTSP_PORT)}{path}"
    else:
        scheme = "rtsps" if service_type == RTSPS else "rtsp"
        url = f"{scheme}://{address}:{info.port}{path}"
    sub = txt.get("subpath")
    substream = None
    if sub and service_type in (RTSP, RTSPS):
        substream = url[: -len(path)] + (sub if sub.startswith("/") else f"/{sub}")

    key = hardware_key(txt) or f"instance:{instance}"
    return Sighting(
        source=f"mdns:{service_type}",
        key=key,
        instance=instance,
        url=url,
        substream_url=substream,
        address=address,
        vendor=txt.get("vendor", txt.get("manufacturer", "")),
        model=txt.get("model", ""),
        service_type=service_type,
    )


def _http_is_camera(txt: dict[str, str]) -> bool:
    kind = (txt.get("type") or txt.get("device") or txt.get("class") or "").lower()
    return kind in ("camera", "ipcam", "video", "nvt") or "macaddress" in txt
