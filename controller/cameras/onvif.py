"""Camera discovery with ONVIF WS-Discovery (the WSDiscovery library, in threads).

Most cameras that do not announce themselves over mDNS (Hikvision, Dahua, Amcrest,
Reolink, UniFi) answer a WS-Discovery Probe for ``dn:NetworkVideoTransmitter`` with
their device-service XAddrs and ``onvif://www.onvif.org/<kind>/<value>`` scopes. The
stream address needs ONVIF Media calls with credentials, so a camera found only here is
a *candidate*: listed with its address and a reason until an admin gives its stream URL.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
from collections.abc import Iterable, Sequence
from typing import Any
from urllib.parse import unquote, urlsplit

from wsdiscovery import QName
from wsdiscovery.discovery import ThreadedWSDiscovery

from controller.cameras.identity import hardware_keys
from controller.cameras.registry import CameraRegistry, Sighting
from controller.errors import CameraError

_LOGGER = logging.getLogger(__name__)

SOURCE = "onvif"
NVT_TYPE = QName(
    "http://www.onvif.org/ver10/network/wsdl", "NetworkVideoTransmitter", "dn"
)
SCOPE_PREFIX = "onvif://www.onvif.org/"
PROBE_INTERVAL_S = 60.0
PROBE_WAIT_S = 3.0
# A camera missing from this many probes in a row (and that sent no Bye) is gone.
MISSED_PROBES_GONE = 2


class OnvifDiscovery:
    """Probes for ONVIF cameras now and then and listens for their Hello and Bye.

    The WSDiscovery library is blocking and threaded: it is started, probed and stopped
    in executor threads, and its callbacks only hand over to the loop.
    """

    def __init__(
        self,
        registry: CameraRegistry,
        interfaces: Sequence[str] | str = "all",
        probe_interval_s: float = PROBE_INTERVAL_S,
        probe_wait_s: float = PROBE_WAIT_S,
    ) -> None:
        self._registry = registry
        self._interfaces = interfaces
        self._probe_interval_s = probe_interval_s
        self._probe_wait_s = probe_wait_s
        self._wsd: _InterfaceWSDiscovery | None = None
        self._task: asyncio.Task[None] | None = None
        self._seen: dict[str, Sighting] = {}  # EPR → sighting
        self._missed: dict[str, int] = {}  # EPR → probes in a row without a reply
        self._loop: asyncio.AbstractEventLoop | None = None

    async def start(self) -> None:
        """Start the library's threads and the periodic probe."""
        self._loop = asyncio.get_running_loop()
        allowed = None if self._interfaces == "all" else set(self._interfaces)
        wsd = _InterfaceWSDiscovery(allowed)
        wsd.setRemoteServiceHelloCallback(self._on_hello, types=[NVT_TYPE])
        wsd.setRemoteServiceByeCallback(self._on_bye)
        try:
            await self._loop.run_in_executor(None, wsd.start)
        except OSError as err:
            raise CameraError(f"cannot start ONVIF WS-Discovery: {err}") from err
        self._wsd = wsd
        self._task = self._loop.create_task(self._run(), name="onvif discovery")
        _LOGGER.info("ONVIF WS-Discovery probing on %s", self._interfaces)

    async def stop(self) -> None:
        """Stop probing and the library's threads."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        if self._wsd is not None:
            await asyncio.get_running_loop().run_in_executor(None, self._wsd.stop)
        self._wsd = self._task = None

    async def probe(self) -> list[Sighting]:
        """Send one Probe, wait for replies, report them; return what answered."""
        assert self._wsd is not None and self._loop is not None
        wsd = self._wsd
        wait_s = self._probe_wait_s

        def search() -> list[Any]:
            wsd.clearRemoteServices()
            return list(wsd.searchServices(types=[NVT_TYPE], timeout=wait_s))

        services = await self._loop.run_in_executor(None, search)
        found = []
        answered = set()
        for service in services:
            sighting = self._report(service)
            if sighting is not None:
                found.append(sighting)
                answered.add(str(service.getEPR()))
        for epr in list(self._seen):
            if epr in answered:
                self._missed.pop(epr, None)
                continue
            self._missed[epr] = self._missed.get(epr, 0) + 1
            if self._missed[epr] >= MISSED_PROBES_GONE:
                self._forget(epr, f"no reply to {MISSED_PROBES_GONE} probes")
        return found

    async def _run(self) -> None:
        while True:
            try:
                await self.probe()
            except OSError as err:
                _LOGGER.warning("ONVIF probe failed: %s; trying again later", err)
            await asyncio.sleep(self._probe_interval_s)

    def _report(self, service: Any) -> Sighting | None:
        epr = str(service.getEPR())
        scopes = [
            scope.getValue() if hasattr(scope, "getValue") else str(scope)
            for scope in service.getScopes() or ()
        ]
        sighting = sighting_from_probe(epr, service.getXAddrs() or (), scopes)
        if sighting is None:
            _LOGGER.debug("ONVIF device %s gave no usable address", epr)
            return None
        previous = self._seen.get(epr)
        if previous is not None and previous.key != sighting.key:
            self._registry.gone(previous)
        self._seen[epr] = sighting
        self._registry.seen(sighting)
        return sighting

    def _forget(self, epr: str, why: str) -> None:
        self._missed.pop(epr, None)
        sighting = self._seen.pop(epr, None)
        if sighting is not None:
            _LOGGER.info("ONVIF camera %r gone (%s)", sighting.instance, why)
            self._registry.gone(sighting)

    # Called on the library's threads: hand over to the loop and return.
    def _on_hello(self, service: Any) -> None:
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._report, service)

    def _on_bye(self, epr: Any) -> None:
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._forget, str(epr), "said Bye")


def sighting_from_probe(
    epr: str, xaddrs: Iterable[str], scopes: Iterable[str]
) -> Sighting | None:
    """The camera a ProbeMatch or Hello describes (no stream URL: that needs login)."""
    address = _address(xaddrs)
    if address is None:
        return None
    fields = parse_scopes(scopes)
    keys = hardware_keys(fields) or [f"onvif:{epr}"]
    name = fields.get("name") or fields.get("hardware") or address
    return Sighting(
        source=SOURCE,
        key=keys[0],
        aliases=tuple(keys[1:]),
        instance=name,
        url=None,
        address=address,
        vendor=fields.get("manufacturer") or fields.get("mfr") or "",
        model=fields.get("hardware", ""),
        location=fields.get("location", ""),
    )


def parse_scopes(scopes: Iterable[str]) -> dict[str, str]:
    """``onvif://www.onvif.org/name/Junction%203`` → ``{"name": "Junction 3"}``.

    Kinds are lower-cased; a value with several parts (``location/city/Leeds``) keeps
    its parts joined by spaces; the first scope of each kind wins.
    """
    fields: dict[str, str] = {}
    for scope in scopes:
        if not scope.lower().startswith(SCOPE_PREFIX):
            continue
        kind, _, value = scope[len(SCOPE_PREFIX) :].partition("/")
        text = " ".join(unquote(part) for part in value.split("/") if part).strip()
        if kind and text and kind.lower() not in fields:
            fields[kind.lower()] = "".join(ch for ch in text if ch.isprintable())
    return fields


def _address(xaddrs: Iterable[str]) -> str | None:
    hosts = [urlsplit(x).hostname for x in xaddrs if x]
    for host in hosts:
        try:
            if host and ipaddress.ip_address(host).version == 4:
                return host
        except ValueError:
            continue
    return next((h for h in hosts if h), None)


class _InterfaceWSDiscovery(ThreadedWSDiscovery):  # type: ignore[misc]
    """The library's discovery, limited to the configured local addresses."""

    def __init__(self, allowed: set[str] | None) -> None:
        self._allowed = allowed
        super().__init__()

    def _networkAddressAdded(self, addr: Any) -> None:  # noqa: N802 (library name)
        if self._allowed is None or str(addr) in self._allowed:
            super()._networkAddressAdded(addr)
