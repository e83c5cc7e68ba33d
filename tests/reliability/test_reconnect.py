"""Reconnect: a camera off at boot, killed and restarted, refusing PLAY; no leaks."""

from __future__ import annotations

import asyncio
import signal
import socket
import time

import pytest

from bench.soak import clock_region
from controller.wall.player import NO_SIGNAL, PLAYING
from controller.wall.wall import CameraFeed
from tests.conftest import wait_for
from tests.reliability.conftest import (
    fd_count,
    feed,
    grab,
    grid,
    region_hash,
    thread_count,
)

pytestmark = pytest.mark.wall

RECONNECT_CYCLES = 100


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def status(wall, tile_id: str) -> dict:
    return next(t for t in wall.tiles() if t["id"] == tile_id)


async def test_camera_off_at_boot_then_killed_comes_back_in_its_own_tile(
    xvfb, cameras, make_wall
):
    late = await cameras("--gop", "10", running=False, port=free_port())
    other = await cameras("--gop", "10")
    wall = await make_wall()
    layout = grid(tiles=2)
    await wall.show(layout, {"a": feed("a", late), "b": feed("b", other)})
    rects = [t["rect"] for t in wall.tiles()]

    await wait_for(lambda: status(wall, "a")["status"] == NO_SIGNAL, 10, "NO SIGNAL")
    assert status(wall, "a")["reason"] == "connection refused"
    # Retries keep the reason in words: it once flickered to "cannot connect (mpv
    # error -17)" when FFmpeg's message came after mpv's end of file.
    reasons = set()
    for _ in range(20):
        reasons.add(status(wall, "a")["reason"])
        await asyncio.sleep(0.1)
    assert reasons == {"connection refused"}
    await late.start()
    started_at = time.monotonic()
    await wait_for(lambda: status(wall, "a")["status"] == PLAYING, 12, "a plays")
    assert time.monotonic() - started_at < 10

    await late.kill()
    await wait_for(lambda: status(wall, "a")["status"] == NO_SIGNAL, 6, "a lost")
    assert [t["rect"] for t in wall.tiles()] == rects, "the layout reflowed"
    assert [t["camera"] for t in wall.tiles()] == ["a", "b"]
    assert status(wall, "b")["status"] == PLAYING
    await late.start()
    await wait_for(lambda: status(wall, "a")["status"] == PLAYING, 10, "a back")
    assert [t["rect"] for t in wall.tiles()] == rects


async def test_camera_that_refuses_play_is_retried_with_backoff(
    xvfb, cameras, make_wall
):
    refusing = await cameras("--drop-on-play")
    wall = await make_wall()
    await wall.show(grid(tiles=1), {"a": feed("a", refusing)})
    player = wall.player_for("a")
    assert player is not None
    await wait_for(lambda: player.status == NO_SIGNAL, 10, "NO SIGNAL")
    first = player.loads
    await asyncio.sleep(8)
    # Backoff 1, 2, 4 s (±20 %): at most four more attempts in 8 s, not a hot loop.
    assert 2 <= player.loads - first <= 4, player.loads - first
    assert player.status == NO_SIGNAL
    assert player.reason == "camera refused to play (503)"
    assert player._retry is not None
    assert player._retry_delay_s >= 8


async def test_hundred_reconnects_leak_no_players_threads_or_descriptors(
    xvfb, cameras, make_wall
):
    camera = await cameras("--gop", "5")
    other = await cameras("--gop", "10")
    wall = await make_wall()
    await wall.prepare(2)
    await wall.show(grid(tiles=2), {"a": feed("a", camera), "b": feed("b", other)})
    await wait_for(
        lambda: all(t["status"] == PLAYING for t in wall.tiles()), 15, "both playing"
    )

    async def cycle() -> None:
        before = wall.player_for("a")
        await wall.reconnect("a")
        await wait_for(
            lambda: (
                wall.player_for("a") is not before
                and wall.player_for("a").status == PLAYING
            ),
            10,
            "the new session swapped in",
            interval=0.02,
        )

    other_tile = grid().tiles[1].rect
    for _ in range(10):
        await cycle()
    await asyncio.sleep(0.5)
    baseline = (len(wall.players), thread_count(), fd_count())
    seen = {region_hash(xvfb, clock_region(other_tile))}
    for number in range(RECONNECT_CYCLES):
        await cycle()
        if number % 10 == 0:
            seen.add(region_hash(xvfb, clock_region(other_tile)))
    await asyncio.sleep(0.5)
    after = (len(wall.players), thread_count(), fd_count())

    assert after[0] == baseline[0] == 3, (baseline, after)
    assert after[1] <= baseline[1] + 2, f"threads {baseline[1]} → {after[1]}"
    assert after[2] <= baseline[2] + 4, f"descriptors {baseline[2]} → {after[2]}"
    assert len(seen) > 3, "the other tile stopped moving"
    assert status(wall, "b")["status"] == PLAYING


async def test_repeated_stalls_never_stack_sessions(xvfb, cameras, make_wall):
    camera = await cameras("--gop", "5")
    wall = await make_wall(stale_after_s=1.0)
    await wall.show(grid(tiles=1), {"a": feed("a", camera)})
    await wait_for(lambda: status(wall, "a")["status"] == PLAYING, 15, "playing")
    players = len(wall.players)
    for _ in range(3):
        camera.signal(signal.SIGSTOP)
        await wait_for(lambda: status(wall, "a")["status"] == "stale", 4, "stale")
        camera.signal(signal.SIGCONT)
        await wait_for(lambda: status(wall, "a")["status"] == PLAYING, 8, "back")
    assert len(wall.players) <= players + 1


def white_pixels(image) -> int:
    channels = (band.tobytes() for band in image.split())
    return sum(1 for pixel in zip(*channels, strict=True) if min(pixel) > 200)


async def test_a_no_signal_tile_names_its_camera(xvfb, make_wall):
    # A black NO SIGNAL tile once showed only the reason: nobody could tell whose.
    wall = await make_wall()
    layout = grid(tiles=2)
    await wall.show(
        layout,
        {
            "a": CameraFeed("a", "Station Ave", None, "camera offline"),
            "b": CameraFeed("b", "", None, "camera offline"),
        },
    )
    await wait_for(
        lambda: all(t["status"] == NO_SIGNAL for t in wall.tiles()), 5, "NO SIGNAL"
    )

    async def drawn() -> bool:
        return white_pixels(grab(xvfb, layout.tiles[1].rect)) > 100

    await wait_for(drawn, 5, "the reason drawn")
    named, unnamed = (grab(xvfb, tile.rect) for tile in layout.tiles)
    # Same reason on both tiles; the named one has a line of white text more.
    assert white_pixels(named) > white_pixels(unnamed) + 200
