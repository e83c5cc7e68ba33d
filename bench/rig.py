"""The bench wall: simulated cameras, a generated config, the service and its web API.

Also the tools the wall figures share: pixel probes on the X display (a few small
``get_image`` requests per tile, never a full-screen capture) and a timer around
``Service.activate`` measured from outside the service.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import subprocess
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import yaml
from aiohttp import web
from Xlib import X, display

from bench.harness import now
from controller.config.loader import Config, load_config
from controller.layouts import Layout, Rect
from controller.simulate.cameras import SimulatedCamera, SimulatedCameraSet

_LOGGER = logging.getLogger(__name__)

FPS = 25
#: Keyframe interval of every bench camera, in frames (25 frames = 1.0 s at 25 fps).
GOP_FRAMES = 25
GOP_S = GOP_FRAMES / FPS
COLOUR_TOLERANCE = 40
PROBE_SIZE_PX = 2
PLAYING_TIMEOUT_S = 30.0

# Colours far enough apart (≥ 80 in some channel) to tell any two cameras apart.
_COLOURS = (
    "d02020",
    "20a020",
    "2040d0",
    "d0c020",
    "c020c0",
    "20c0c0",
    "e07010",
    "7030d0",
    "e0e0e0",
    "808080",
    "805020",
)

#: Nine cameras on the wall and two that start cold.
BENCH_CAMERAS = tuple(
    SimulatedCamera(
        f"Bench {n:02d}",
        f"BENCH {n:02d}",
        colour,
        f"02:4f:42:00:00:{n:02x}",
        gop=GOP_FRAMES,
        substream=False,
        # A player that joins waits for the next keyframe, as with a real camera.
        keyframes_on_schedule=True,
    )
    for n, colour in enumerate(_COLOURS, start=1)
)
WALL_CAMERAS = 9

# Preset A: 3 × 3. Preset B: the same nine cameras, one 2 × 2 tile and eight small
# ones on a 4 × 4 grid, every camera in another place and size (a warm switch moves
# and resizes all nine windows). Preset C: A with a camera that is not on the wall.
_A = {f"t{i}": f"cam-{i:02d}" for i in range(1, 10)}
_B_TILES = {
    "main": {"row": 0, "column": 0, "rows": 2, "columns": 2},
    "r1": {"row": 0, "column": 2},
    "r2": {"row": 0, "column": 3},
    "r3": {"row": 1, "column": 2},
    "r4": {"row": 1, "column": 3},
    "b1": {"row": 2, "column": 0},
    "b2": {"row": 2, "column": 1},
    "b3": {"row": 2, "column": 2},
    "b4": {"row": 2, "column": 3},
}
_B = {tile: f"cam-{(i + 4) % 9 + 1:02d}" for i, tile in enumerate(_B_TILES)}
COLD_TILE = "t5"


def bench_config_files(
    directory: Path, urls: Mapping[str, str], *, web_port: int = 0
) -> Path:
    """Write the bench's config, layouts and presets into ``directory``."""
    layouts = {
        "layouts": {
            "bench-3x3": {
                "grid": {"columns": 3, "rows": 3},
                "tiles": {
                    f"t{r * 3 + c + 1}": {"row": r, "column": c}
                    for r in range(3)
                    for c in range(3)
                },
            },
            "bench-focus": {"grid": {"columns": 4, "rows": 4}, "tiles": _B_TILES},
        }
    }
    cold_a = f"cam-{WALL_CAMERAS + 1:02d}"
    presets = {
        "presets": {
            "bench-a": {"layout": "bench-3x3", "cameras": _A},
            "bench-b": {"layout": "bench-focus", "cameras": _B},
            "bench-c": {"layout": "bench-3x3", "cameras": {**_A, COLD_TILE: cold_a}},
            "bench-emergency": {
                "layout": "bench-focus",
                "priority": "emergency",
                "cameras": _B,
            },
        }
    }
    config = {
        "wall": {"resolution": [1920, 1080], "display": None},
        "web": {"host": "127.0.0.1", "port": web_port},
        "discovery": {"mdns": {"enabled": False}},
        "layouts": "layouts.yaml",
        "presets": "presets.yaml",
        "state_dir": "state",
        "startup_preset": "bench-a",
        "cameras": {
            f"cam-{n:02d}": {"name": camera.label, "url": url}
            for n, (camera, url) in enumerate(
                ((c, urls[c.instance]) for c in BENCH_CAMERAS if c.instance in urls),
                start=1,
            )
        },
        "gpio": {"pin_factory": "mock"},
        "buttons": {
            "to-a": {"pin": "GPIO5", "action": "bench-a"},
            "to-b": {"pin": "GPIO6", "action": "bench-b"},
            "emergency": {"pin": "GPIO17", "action": "bench-emergency"},
            "return": {"pin": "GPIO22", "action": "return"},
        },
    }
    for name, data in (
        ("layouts.yaml", layouts),
        ("presets.yaml", presets),
        ("opswall.yaml", config),
    ):
        (directory / name).write_text(yaml.safe_dump(data, sort_keys=False))
    return directory / "opswall.yaml"


def colour_of(camera: SimulatedCamera) -> tuple[int, int, int]:
    """The RGB colour a simulated camera paints."""
    return (
        int(camera.color[0:2], 16),
        int(camera.color[2:4], 16),
        int(camera.color[4:6], 16),
    )


class PixelProbe:
    """Reads a few pixels per tile from the X display on its own connection.

    Blocking (python-xlib): call it in a worker thread so the service's loop stays free.
    """

    def __init__(self, display_name: str) -> None:
        self._display = display.Display(display_name)
        self._root = self._display.screen().root

    def colour(self, x: int, y: int) -> tuple[int, int, int]:
        """Mean RGB of a PROBE_SIZE_PX square at (x, y)."""
        size = PROBE_SIZE_PX
        raw = self._root.get_image(x, y, size, size, X.ZPixmap, 0xFFFFFFFF).data
        pixels = len(raw) // 4
        b = sum(raw[0::4]) // pixels
        g = sum(raw[1::4]) // pixels
        r = sum(raw[2::4]) // pixels
        return r, g, b

    def tile_matches(self, rect: Rect, expected: tuple[int, int, int]) -> bool:
        """True when three points of the tile (clear of label and clock) match."""
        x, y, w, h = rect
        points = (
            (x + w // 10, y + h // 10),
            (x + w * 9 // 10, y + h // 10),
            (x + w // 10, y + h * 9 // 10),
        )
        return all(_close(self.colour(px, py), expected) for px, py in points)

    def wait_until(
        self,
        wanted: Sequence[tuple[Rect, tuple[int, int, int]]],
        timeout_s: float,
    ) -> tuple[float | None, int]:
        """Poll until every tile shows its colour: (monotonic time or None, rounds)."""
        deadline = now() + timeout_s
        rounds = 0
        pending = list(wanted)
        while now() < deadline:
            rounds += 1
            pending = [(r, c) for r, c in pending if not self.tile_matches(r, c)]
            if not pending:
                return now(), rounds
        return None, rounds

    def close(self) -> None:
        self._display.close()


def _close(found: tuple[int, int, int], expected: tuple[int, int, int]) -> bool:
    return all(
        abs(a - b) <= COLOUR_TOLERANCE for a, b in zip(found, expected, strict=True)
    )


@dataclass
class ActivateTimer:
    """Wraps ``service.activate`` (from outside) and records how long each call took."""

    service: Any
    durations_s: list[float] = field(default_factory=list)
    returned_at: list[float] = field(default_factory=list)

    def install(self) -> None:
        inner: Callable[..., Awaitable[Any]] = self.service.activate

        async def timed(*args: Any, **kwargs: Any) -> Any:
            start = now()
            try:
                return await inner(*args, **kwargs)
            finally:
                end = now()
                self.durations_s.append(end - start)
                self.returned_at.append(end)

        self.service.activate = timed


@dataclass
class BenchWall:
    """A running service on the bench cameras, with its web API on a free port."""

    service: Any
    config: Config
    url: str
    http: aiohttp.ClientSession
    token: str
    cameras: SimulatedCameraSet
    colours: dict[str, tuple[int, int, int]]
    timer: ActivateTimer
    probe: PixelProbe

    async def post(self, path: str, body: Any = None) -> tuple[int, Any]:
        async with self.http.post(self.url + path, json=body) as reply:
            return reply.status, await reply.json()

    async def get(self, path: str) -> Any:
        async with self.http.get(self.url + path) as reply:
            return await reply.json()

    def layout(self, preset: str) -> Layout:
        return self.config.presets[preset].layout

    def expected(self, preset: str) -> list[tuple[Rect, tuple[int, int, int]]]:
        """(tile rect, colour) for every tile of ``preset`` that shows a camera."""
        spec = self.config.presets[preset]
        return [
            (tile.rect, self.colours[camera])
            for tile in spec.layout.tiles
            if (camera := spec.cameras.get(tile.id))
        ]

    async def wait_pixels(
        self, preset: str, timeout_s: float = 5.0
    ) -> tuple[float | None, int]:
        """In a worker thread, poll the wall until it shows ``preset``'s cameras."""
        loop = asyncio.get_running_loop()
        wanted = self.expected(preset)
        return await loop.run_in_executor(
            None, self.probe.wait_until, wanted, timeout_s
        )

    async def wait_playing(self, timeout_s: float = PLAYING_TIMEOUT_S) -> None:
        """Wait until every tile of the current view plays (per the service)."""
        deadline = now() + timeout_s
        while now() < deadline:
            tiles = [t for t in self.service.state()["tiles"] if t["camera"]]
            if tiles and all(t["status"] == "playing" for t in tiles):
                return
            await asyncio.sleep(0.1)
        raise TimeoutError(f"tiles not playing after {timeout_s} s")

    async def settle(self, preset: str, timeout_s: float = PLAYING_TIMEOUT_S) -> None:
        """Activate ``preset`` and wait until its tiles play and show on the wall."""
        status, reply = await self.post(f"/api/v1/presets/{preset}/activate")
        if status != 200:
            raise RuntimeError(f"activating {preset} failed: {status} {reply}")
        await self.wait_playing(timeout_s)
        at, _ = await self.wait_pixels(preset, timeout_s)
        if at is None:
            raise TimeoutError(
                f"wall does not show {preset} after {timeout_s} s: "
                + self.describe(preset)
            )

    def describe(self, preset: str) -> str:
        """What each tile of ``preset`` shows against what it should (diagnostics)."""
        return "; ".join(
            f"{tuple(rect)} {self.probe.colour(rect.x + rect.w // 10, rect.y + rect.h // 10)}"
            f" want {colour}"
            for rect, colour in self.expected(preset)
        )


class Keepers:
    """One stream-copying ffmpeg client per camera, so players join mid-GOP.

    A shared GStreamer media that already has a client goes on from where it is, like a
    real camera; without one, every new player would start at a keyframe.
    """

    def __init__(self, urls: Sequence[str]) -> None:
        self._urls = urls
        self._processes: list[subprocess.Popen[bytes]] = []

    def start(self) -> None:
        for url in self._urls:
            self._processes.append(
                subprocess.Popen(
                    [
                        "ffmpeg",
                        "-nostdin",
                        "-loglevel",
                        "quiet",
                        "-rtsp_transport",
                        "tcp",
                        "-i",
                        url,
                        "-c",
                        "copy",
                        "-f",
                        "null",
                        "-",
                    ],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )

    def stop(self) -> None:
        for process in self._processes:
            process.terminate()
        for process in self._processes:
            try:
                process.wait(5)
            except subprocess.TimeoutExpired:
                process.kill()
        self._processes.clear()


@contextlib.asynccontextmanager
async def simulated_cameras(
    cameras: Sequence[SimulatedCamera], keep: bool = True
) -> AsyncIterator[SimulatedCameraSet]:
    """Start ``cameras`` (no mDNS), each with a keeper client when ``keep``."""
    camera_set = SimulatedCameraSet(cameras, announce=False)
    await camera_set.start()
    keepers = Keepers([camera_set.url(c.instance) for c in cameras])
    try:
        if keep:
            keepers.start()
            await asyncio.sleep(1.0)  # let every keeper's session start
        yield camera_set
    finally:
        keepers.stop()
        await camera_set.stop()


@contextlib.asynccontextmanager
async def bench_wall(
    cameras: Sequence[SimulatedCamera] = BENCH_CAMERAS,
) -> AsyncIterator[BenchWall]:
    """Cameras, then the service on a private Xvfb with preset A playing."""
    from controller.service import Service
    from controller.web.app import build_app

    async with simulated_cameras(cameras) as camera_set:
        with tempfile.TemporaryDirectory(prefix="opswall-bench-") as tmp:
            urls = {c.instance: camera_set.url(c.instance) for c in cameras}
            config = load_config(bench_config_files(Path(tmp), urls))
            colours = {
                f"cam-{n:02d}": colour_of(c) for n, c in enumerate(cameras, start=1)
            }
            service = Service(config)
            await service.start()
            token = secrets.token_urlsafe(24)
            runner = web.AppRunner(build_app(service, _access(config, token)))
            probe: PixelProbe | None = None
            try:
                await runner.setup()
                site = web.TCPSite(runner, "127.0.0.1", 0)
                await site.start()
                host, port = runner.addresses[0][:2]
                probe = PixelProbe(service.display_name)
                timer = ActivateTimer(service)
                timer.install()
                async with aiohttp.ClientSession(headers=_bearer(token)) as http:
                    wall = BenchWall(
                        service,
                        config,
                        f"http://{host}:{port}",
                        http,
                        token,
                        camera_set,
                        colours,
                        timer,
                        probe,
                    )
                    await wall.settle("bench-a")
                    yield wall
            finally:
                if probe is not None:
                    probe.close()
                await runner.cleanup()
                await service.stop()


def child_pid(program: str) -> int | None:
    """The pid of our child process running ``program`` (e.g. the service's Xvfb)."""
    me = str(os.getpid())
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            args = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        parent = stat[stat.rindex(")") + 2 :].split()[1]
        if parent == me and args[0].decode(errors="replace").endswith(program):
            return int(entry.name)
    return None


@contextlib.asynccontextmanager
async def minimal_service() -> AsyncIterator[tuple[str, Any, str]]:
    """A service with one tile and no live camera (for quick checks).

    Yields (url, post, token): ``post(path)`` sends an authorised POST, and ``token``
    is the admin bearer token for clients of its own.
    """
    from controller.service import Service
    from controller.web.app import build_app

    with tempfile.TemporaryDirectory(prefix="opswall-bench-min-") as tmp:
        directory = Path(tmp)
        single = {
            "grid": {"columns": 1, "rows": 1},
            "tiles": {"main": {"row": 0, "column": 0}},
        }
        files = {
            "layouts.yaml": {"layouts": {"single": single}},
            "presets.yaml": {
                "presets": {
                    name: {"layout": "single", "cameras": {"main": "nowhere"}}
                    for name in ("one", "two")
                }
            },
            "opswall.yaml": {
                "wall": {"resolution": [640, 360]},
                "web": {"host": "127.0.0.1", "port": 0},
                "discovery": {"mdns": {"enabled": False}},
                "layouts": "layouts.yaml",
                "presets": "presets.yaml",
                "state_dir": "state",
                "startup_preset": "one",
                # A closed port: the tile shows NO SIGNAL; presets still switch.
                "cameras": {"nowhere": {"url": "rtsp://127.0.0.1:9/stream"}},
            },
        }
        for name, data in files.items():
            (directory / name).write_text(yaml.safe_dump(data, sort_keys=False))
        config = load_config(directory / "opswall.yaml")
        service = Service(config)
        await service.start()
        token = secrets.token_urlsafe(24)
        runner = web.AppRunner(build_app(service, _access(config, token)))
        try:
            await runner.setup()
            site = web.TCPSite(runner, "127.0.0.1", 0)
            await site.start()
            host, port = runner.addresses[0][:2]
            url = f"http://{host}:{port}"
            async with aiohttp.ClientSession(headers=_bearer(token)) as http:

                async def post(path: str) -> tuple[int, Any]:
                    async with http.post(url + path) as reply:
                        return reply.status, await reply.json()

                yield url, post, token
        finally:
            await runner.cleanup()
            await service.stop()


def _access(config: Config, admin_secret: str) -> Any:
    """The service's access control with ``admin_secret`` as the bench's bearer token."""
    from controller.access.middleware import Access

    return Access(config.spec.access, config.state_dir, admin_secret)


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
