"""Fixtures of the reliability tests: Xvfb, a wall, and simulated cameras to fault."""

from __future__ import annotations

import asyncio
import hashlib
import os
import signal
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field

import pytest
from PIL import Image
from Xlib import X, display, error

from controller.layouts import Fit, Layout, Rect, Tile
from controller.wall.wall import CameraFeed, Wall
from controller.wall.xserver import PrivateXvfb, WallScreen

START_TIMEOUT_S = 15
#: Wall tests run at this resolution: 2×2 tiles of 640×360.
WALL_SIZE = (1280, 720)


@dataclass
class Camera:
    """One simulated RTSP camera process that a test can kill, stall and restart."""

    args: tuple[str, ...]
    port: int = 0
    process: asyncio.subprocess.Process | None = None
    starts: int = 0
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"rtsp://127.0.0.1:{self.port}/stream"

    async def start(self) -> None:
        """Start (or restart on the same port) the camera's server."""
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "controller.simulate.rtsp_camera",
            "--address",
            "127.0.0.1",
            "--port",
            str(self.port),
            *self.args,
            stdout=asyncio.subprocess.PIPE,
        )
        assert process.stdout is not None
        line = await asyncio.wait_for(process.stdout.readline(), START_TIMEOUT_S)
        assert line.startswith(b"READY"), line
        self.port = int(line.split()[1])
        self.process = process
        self.starts += 1

    def signal(self, signum: int) -> None:
        assert self.process is not None
        self.process.send_signal(signum)

    async def kill(self) -> None:
        assert self.process is not None
        self.process.kill()
        await self.process.wait()

    async def stop(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.send_signal(signal.SIGCONT)
            self.process.kill()
            await self.process.wait()


@pytest.fixture
def xvfb(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    server = PrivateXvfb(*WALL_SIZE)
    name = server.start()
    monkeypatch.setenv("DISPLAY", name)
    yield name
    server.stop()


@pytest.fixture
async def cameras() -> AsyncIterator[Callable[..., Awaitable[Camera]]]:
    """Start simulated cameras with extra rtsp_camera arguments; all stop at the end."""
    started: list[Camera] = []

    async def start(*args: str, running: bool = True, port: int = 0) -> Camera:
        camera = Camera(tuple(args), port=port)
        started.append(camera)
        if running:
            await camera.start()
        return camera

    yield start
    for camera in started:
        await camera.stop()


@pytest.fixture
async def make_wall(xvfb: str) -> AsyncIterator[Callable[..., Awaitable[Wall]]]:
    """A Wall on the test's Xvfb; closed with its screen at the end."""
    made: list[tuple[Wall, WallScreen]] = []

    async def make(**options: object) -> Wall:
        screen = WallScreen(xvfb)
        wall = Wall(screen, **options)  # type: ignore[arg-type]
        made.append((wall, screen))
        return wall

    yield make
    for wall, screen in made:
        await wall.close()
        screen.close()


def grid(fit: Fit = "fit", tiles: int = 4) -> Layout:
    """2×2 tiles of 640×360 named a, b, c, d (the first ``tiles`` of them)."""
    rects = [
        Rect(0, 0, 640, 360),
        Rect(640, 0, 640, 360),
        Rect(0, 360, 640, 360),
        Rect(640, 360, 640, 360),
    ]
    return Layout(
        "grid",
        tuple(
            Tile(name, rect, fit)
            for name, rect in zip("abcd", rects[:tiles], strict=False)
        ),
    )


def feed(name: str, camera: Camera | str) -> CameraFeed:
    url = camera if isinstance(camera, str) else camera.url
    return CameraFeed(name, name.upper(), url)


def grab(display_name: str, rect: Rect) -> Image.Image:
    """The pixels of ``rect`` on the screen (blocking, but small and quick)."""
    conn = display.Display(display_name)
    try:
        for attempt in range(3):
            try:
                raw = conn.screen().root.get_image(
                    rect.x, rect.y, rect.w, rect.h, X.ZPixmap, 0xFFFFFFFF
                )
                break
            except error.BadMatch:
                # Xvfb now and then refuses a read while a window is reconfigured.
                if attempt == 2:
                    raise
        return Image.frombytes("RGB", (rect.w, rect.h), raw.data, "raw", "BGRX")
    finally:
        conn.close()


def region_hash(display_name: str, rect: Rect) -> str:
    return hashlib.sha1(grab(display_name, rect).tobytes()).hexdigest()


def fd_count() -> int:
    return len(os.listdir("/proc/self/fd"))


def thread_count() -> int:
    return len(os.listdir("/proc/self/task"))
