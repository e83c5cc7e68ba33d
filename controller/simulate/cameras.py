"""A set of simulated cameras: one RTSP server process each, announced over mDNS."""

from __future__ import annotations

import asyncio
import ctypes
import logging
import signal
import socket
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field

from zeroconf import IPVersion, ServiceInfo
from zeroconf.asyncio import AsyncZeroconf

_LOGGER = logging.getLogger(__name__)

START_TIMEOUT_S = 15.0
PR_SET_PDEATHSIG = 1


#: How a simulated camera announces itself over mDNS, after the vendors it imitates:
#: a generic encoder's ``_rtsp._tcp`` with stream paths in TXT; an Axis camera's
#: ``_axis-video._tcp`` with only ``macaddress``; a camera that announces its web page
#: as ``_http._tcp`` and says in TXT that it is a camera.
RTSP_STYLE = "rtsp"
AXIS_STYLE = "axis"
HTTP_STYLE = "http"
AXIS_PATH = "/axis-media/media.amp"


@dataclass(frozen=True)
class SimulatedCamera:
    """How one simulated camera looks and how it announces itself."""

    instance: str
    label: str
    color: str  # RRGGBB
    mac: str
    vendor: str = "Opswall Sim"
    model: str = "SIM-1080"
    gop: int = 25
    substream: bool = True
    style: str = RTSP_STYLE
    #: Keyframes only every ``gop`` frames, whoever joins (as real cameras do); without
    #: it GStreamer's server restarts the encoder, and sends a keyframe, at each PLAY.
    keyframes_on_schedule: bool = False

    @property
    def path(self) -> str:
        """Where its RTSP server serves the main stream."""
        return AXIS_PATH if self.style == AXIS_STYLE else "/stream"


DEMO_CAMERAS = (
    SimulatedCamera(
        "Junction 1 Harbour Rd",
        "JUNCTION 1 · HARBOUR RD",
        "d02020",
        "02:4f:57:00:00:01",
    ),
    SimulatedCamera(
        "Junction 2 Ring Rd East",
        "JUNCTION 2 · RING RD E",
        "20a020",
        "02:4f:57:00:00:02",
    ),
    SimulatedCamera(
        "Junction 3 Market Sq",
        "JUNCTION 3 · MARKET SQ",
        "2040d0",
        "02:4f:57:00:00:03",
        vendor="Axis",
        model="P1465-LE",
        substream=False,
        style=AXIS_STYLE,
    ),
    SimulatedCamera(
        "Junction 4 Station Ave",
        "JUNCTION 4 · STATION AVE",
        "d0c020",
        "02:4f:57:00:00:04",
    ),
    SimulatedCamera(
        "Junction 5 Cathedral",
        "JUNCTION 5 · CATHEDRAL",
        "c020c0",
        "02:4f:57:00:00:05",
        vendor="Generic",
        model="IPC-HTTP",
        style=HTTP_STYLE,
    ),
    SimulatedCamera(
        "Junction 6 Mill Lane",
        "JUNCTION 6 · MILL LANE",
        "20c0c0",
        "02:4f:57:00:00:06",
        vendor="Axis",
        model="Q1656",
        substream=False,
        style=AXIS_STYLE,
    ),
    SimulatedCamera(
        "Junction 7 River Bridge",
        "JUNCTION 7 · RIVER BRIDGE",
        "e07010",
        "02:4f:57:00:00:07",
    ),
    SimulatedCamera(
        "Junction 8 Ring Rd West",
        "JUNCTION 8 · RING RD W",
        "7030d0",
        "02:4f:57:00:00:08",
    ),
)


def _die_with_parent() -> None:
    # The camera servers must not outlive a test run or demo that was killed.
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


@dataclass
class _Running:
    camera: SimulatedCamera
    process: asyncio.subprocess.Process
    port: int
    info: ServiceInfo | None = None
    extra: dict[str, str] = field(default_factory=dict)


class SimulatedCameraSet:
    """Starts, announces, and on request kills, stalls or restarts simulated cameras."""

    def __init__(
        self,
        cameras: Sequence[SimulatedCamera] = DEMO_CAMERAS,
        address: str = "127.0.0.1",
        announce: bool = True,
    ) -> None:
        self.cameras = tuple(cameras)
        self.address = address
        self.announce = announce
        self._running: dict[str, _Running] = {}
        self._aiozc: AsyncZeroconf | None = None

    async def start(self) -> None:
        """Start every camera's RTSP server, then announce them all."""
        if self.announce:
            self._aiozc = AsyncZeroconf(
                interfaces=[self.address], ip_version=IPVersion.V4Only
            )
        await asyncio.gather(*(self.start_camera(camera) for camera in self.cameras))

    async def start_camera(self, camera: SimulatedCamera, port: int = 0) -> int:
        """Start (or restart) one camera's server; announce it; return its RTSP port."""
        args = [
            sys.executable,
            "-m",
            "controller.simulate.rtsp_camera",
            "--address",
            self.address,
            "--port",
            str(port),
            "--label",
            camera.label,
            "--color",
            camera.color,
            "--gop",
            str(camera.gop),
            "--path",
            camera.path,
        ]
        if camera.substream:
            args += ["--sub-path", "/sub"]
        if camera.keyframes_on_schedule:
            args.append("--keyframes-on-schedule")
        process = await asyncio.create_subprocess_exec(
            *args, stdout=asyncio.subprocess.PIPE, preexec_fn=_die_with_parent
        )
        assert process.stdout is not None
        line = await asyncio.wait_for(process.stdout.readline(), START_TIMEOUT_S)
        if not line.startswith(b"READY"):
            raise RuntimeError(
                f"simulated camera {camera.instance!r} did not start: {line!r}"
            )
        bound = int(line.split()[1])
        running = _Running(camera, process, bound)
        self._running[camera.instance] = running
        if self._aiozc is not None:
            running.info = self._service_info(camera, bound)
            await self._aiozc.async_register_service(
                running.info, cooperating_responders=True
            )
        _LOGGER.info(
            "simulated camera %r on rtsp://%s:%d%s",
            camera.instance,
            self.address,
            bound,
            camera.path,
        )
        return bound

    def url(self, instance: str) -> str:
        running = self._running[instance]
        return f"rtsp://{self.address}:{running.port}{running.camera.path}"

    def port(self, instance: str) -> int:
        return self._running[instance].port

    def signal(self, instance: str, signum: int) -> None:
        """Send ``signum`` to one camera's server (SIGKILL, SIGSTOP, SIGCONT)."""
        self._running[instance].process.send_signal(signum)

    async def kill(self, instance: str, goodbye: bool = False) -> None:
        """Kill one camera's server; with ``goodbye`` also withdraw its announcement."""
        running = self._running[instance]
        running.process.kill()
        await running.process.wait()
        if goodbye and running.info is not None and self._aiozc is not None:
            await self._aiozc.async_unregister_service(running.info)
            running.info = None

    async def restart(self, instance: str) -> None:
        """Restart a killed camera on the same port."""
        running = self._running[instance]
        if running.info is not None and self._aiozc is not None:
            await self._aiozc.async_unregister_service(running.info)
        await self.start_camera(running.camera, running.port)

    async def stop(self) -> None:
        """Withdraw every announcement and stop every server."""
        if self._aiozc is not None:
            await self._aiozc.async_unregister_all_services()
            await self._aiozc.async_close()
            self._aiozc = None
        for running in self._running.values():
            if running.process.returncode is None:
                running.process.send_signal(signal.SIGCONT)
                running.process.terminate()
        for running in self._running.values():
            try:
                await asyncio.wait_for(running.process.wait(), 5)
            except TimeoutError:
                running.process.kill()
        self._running.clear()

    def _service_info(self, camera: SimulatedCamera, port: int) -> ServiceInfo:
        mac = camera.mac.replace(":", "").upper()
        properties: dict[str, str] = {"macaddress": mac}
        if camera.style == AXIS_STYLE:
            service_type = "_axis-video._tcp.local."
            # A real Axis camera serves RTSP on 554 at a fixed path; the simulation
            # runs unprivileged on a free port, so it says which port in rtsp_port.
            properties["rtsp_port"] = str(port)
        else:
            properties |= {
                "path": "/stream",
                "vendor": camera.vendor,
                "model": camera.model,
            }
            if camera.substream:
                properties["subpath"] = "/sub"
            if camera.style == HTTP_STYLE:
                service_type = "_http._tcp.local."
                properties |= {"type": "camera", "rtsp_port": str(port)}
            else:
                service_type = "_rtsp._tcp.local."
        return ServiceInfo(
            service_type,
            f"{camera.instance}.{service_type}",
            addresses=[socket.inet_aton(self.address)],
            port=port,
            properties=properties,
            server=f"sim-{mac.lower()}.local.",
        )


async def run_forever(count: int, address: str) -> None:
    """Run the demo cameras until interrupted (``opswall simulate-cameras``)."""
    cameras = SimulatedCameraSet(DEMO_CAMERAS[:count], address)
    await cameras.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    print(f"{count} simulated cameras announced on {address}", flush=True)
    try:
        await stop.wait()
    finally:
        await cameras.stop()
