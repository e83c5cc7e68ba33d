"""A stalled camera: SIGNAL LOST over its last frame, other tiles move, back to live."""

from __future__ import annotations

import asyncio
import re
import signal
import time

import pytest

from bench.soak import clock_region
from controller.layouts import Rect
from controller.wall.player import PLAYING, STALE
from controller.wall.wall import DEFAULT_STALE_AFTER_S
from tests.conftest import wait_for
from tests.reliability.conftest import feed, grab, grid, region_hash

pytestmark = pytest.mark.wall

BLUE = (0x20, 0x40, 0xD0)
TILE_A = Rect(0, 0, 640, 360)
TILE_B = Rect(640, 0, 640, 360)


def status(wall, tile_id: str) -> dict:
    return next(t for t in wall.tiles() if t["id"] == tile_id)


def red_pixels(image) -> int:
    channels = (band.tobytes() for band in image.split())
    return sum(
        1 for r, g, b in zip(*channels, strict=True) if r > 180 and g < 110 and b < 110
    )


def near(found, expected, tolerance: int = 60) -> bool:
    return all(abs(a - b) <= tolerance for a, b in zip(found, expected, strict=True))


async def test_stalled_camera_shows_signal_lost_and_returns_to_live(
    xvfb, cameras, make_wall
):
    stalled = await cameras(
        "--color", "2040d0", "--gop", "10", "--usr1-color", "ffffff"
    )
    other = await cameras("--color", "20a020", "--gop", "10")
    wall = await make_wall()
    await wall.show(grid(tiles=2), {"a": feed("a", stalled), "b": feed("b", other)})
    await wait_for(
        lambda: all(t["status"] == PLAYING for t in wall.tiles()), 15, "both playing"
    )
    await asyncio.sleep(1)
    corner = Rect(0, 0, 320, 60)
    assert red_pixels(grab(xvfb, corner)) < 20, "red text before any fault"

    # The healthy tile's clock must keep changing all through the other's fault.
    moments: list[tuple[float, str]] = []
    watching = True

    async def watch_other() -> None:
        while watching:
            moments.append((time.monotonic(), region_hash(xvfb, clock_region(TILE_B))))
            await asyncio.sleep(0.2)

    watcher = asyncio.create_task(watch_other())
    stalled.signal(signal.SIGSTOP)
    stopped_at = time.monotonic()
    await wait_for(lambda: status(wall, "a")["status"] == STALE, 8, "tile a stale")
    noticed_s = time.monotonic() - stopped_at
    assert DEFAULT_STALE_AFTER_S - 0.5 <= noticed_s <= DEFAULT_STALE_AFTER_S + 1.5

    tile = status(wall, "a")
    assert tile["rect"] == list(TILE_A)
    assert re.fullmatch(r"no picture since \d\d:\d\d:\d\d", tile["reason"])
    assert tile["last_frame_at"] is not None
    assert abs(tile["last_frame_at"] - (time.time() - noticed_s)) < 1.5
    await asyncio.sleep(0.5)
    image = grab(xvfb, TILE_A)
    assert near(image.getpixel((64, 108)), BLUE), "the last frame must stay"
    assert red_pixels(grab(xvfb, corner)) > 100, "SIGNAL LOST is not drawn"
    assert status(wall, "b")["status"] == PLAYING

    await asyncio.sleep(1.5)
    stalled.signal(signal.SIGCONT)
    resumed_at = time.monotonic()
    await wait_for(lambda: status(wall, "a")["status"] == PLAYING, 6, "tile a back")
    assert time.monotonic() - resumed_at < 5
    await asyncio.sleep(1.0)
    assert red_pixels(grab(xvfb, corner)) < 20, "SIGNAL LOST stays after recovery"
    watching = False
    await watcher

    longest, run = 0.0, 0.0
    for (t1, h1), (t2, h2) in zip(moments, moments[1:], strict=False):
        run = run + (t2 - t1) if h1 == h2 else 0.0
        longest = max(longest, run)
    assert len(moments) > 20 and longest < 1.8, f"tile b froze for {longest:.1f} s"

    # Live, not a backlog: a colour change at the camera reaches the wall at once.
    await asyncio.sleep(1.0)
    player = wall.player_for("a")
    assert player is not None and player.lag_s is not None and player.lag_s < 1.0
    stalled.signal(signal.SIGUSR1)
    flipped_at = time.monotonic()
    await wait_for(
        lambda: near(grab(xvfb, TILE_A).getpixel((64, 108)), (255, 255, 255)),
        3,
        "the new colour on the wall",
        interval=0.02,
    )
    assert time.monotonic() - flipped_at < 1.0
