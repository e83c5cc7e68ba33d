"""A crashed or hung player is replaced in its tile; the others keep moving."""

from __future__ import annotations

import asyncio
import threading

import pytest
from Xlib import display

from bench.soak import clock_region
from controller.wall.player import PLAYING
from controller.wall.wall import PING_TIMEOUT_S
from tests.conftest import wait_for
from tests.reliability.conftest import feed, grid, region_hash

pytestmark = pytest.mark.wall


def window_ids(display_name: str) -> set[int]:
    """The top-level windows on the X display now."""
    conn = display.Display(display_name)
    try:
        return {w.id for w in conn.screen().root.query_tree().children}
    finally:
        conn.close()


async def playing(wall) -> None:
    await wait_for(
        lambda: all(t["status"] == PLAYING for t in wall.tiles()), 15, "all playing"
    )


async def moving(display_name: str, rect, seconds: float) -> int:
    """How many different pictures the region showed over ``seconds``."""
    seen = set()
    for _ in range(int(seconds / 0.25)):
        seen.add(region_hash(display_name, rect))
        await asyncio.sleep(0.25)
    return len(seen)


async def test_crashed_player_is_replaced_without_touching_the_other_tile(
    xvfb, cameras, make_wall
):
    first, second = await cameras("--gop", "10"), await cameras("--gop", "10")
    wall = await make_wall()
    await wall.show(grid(tiles=2), {"a": feed("a", first), "b": feed("b", second)})
    await playing(wall)
    crashed, kept = wall.player_for("a"), wall.player_for("b")
    kept_loads = kept.loads

    crashed._mpv.command("quit")  # the core shuts down as if it had crashed
    watch = asyncio.create_task(moving(xvfb, clock_region(grid().tiles[1].rect), 4))
    await wait_for(lambda: wall.player_for("a") is not crashed, 5, "a replaced")
    await playing(wall)
    assert await watch >= 3, "tile b froze while tile a was replaced"
    assert wall.player_for("b") is kept and kept.loads == kept_loads
    assert crashed not in wall.players
    assert wall.replaced == 1
    assert wall.tiles()[0]["rect"] == list(grid().tiles[0].rect)
    assert wall.healthy()

    # The crashed core is ended and its window destroyed by the time the wall closes.
    await wall.close()
    assert wall.players == ()
    assert crashed.window.window_id not in window_ids(xvfb)


async def test_hung_player_makes_the_wall_unhealthy_until_replaced(
    xvfb, cameras, make_wall, monkeypatch
):
    first, second = await cameras("--gop", "10"), await cameras("--gop", "10")
    wall = await make_wall()
    await wall.show(grid(tiles=2), {"a": feed("a", first), "b": feed("b", second)})
    await playing(wall)
    hung, kept = wall.player_for("a"), wall.player_for("b")
    assert wall.healthy()

    # libmpv cannot be made to hang on purpose: its answer to a ping never comes.
    release = threading.Event()
    monkeypatch.setattr(hung, "ping", lambda: release.wait(30))
    try:
        await wait_for(lambda: not wall.healthy(), PING_TIMEOUT_S + 3, "unhealthy")
        assert wall.player_for("a") is hung, "replaced before healthy() said so"
        await wait_for(lambda: wall.player_for("a") is not hung, 5, "a replaced")
        await playing(wall)
        assert wall.healthy()
        assert wall.player_for("b") is kept
        assert wall.abandoned == [hung]
    finally:
        release.set()
    # Our hang was simulated: the core wakes up, and closing the wall ends it and
    # destroys its window.
    await wall.close()
    assert wall.abandoned == []
    assert wall.players == ()
    assert hung.window.window_id not in window_ids(xvfb)


async def test_cores_still_starting_when_the_wall_closes_are_ended_too(
    xvfb, make_wall, monkeypatch
):
    # A core that outlives the wall keeps a connection to the X server, and Xlib
    # ends the whole process when that server stops (as CI saw: "X connection
    # broken" and pytest gone without a summary).
    from controller.wall import wall as wall_module

    made: list[wall_module.TilePlayer] = []
    starting = threading.Event()

    class SlowPlayer(wall_module.TilePlayer):
        def __init__(self, *args, **kwargs):
            starting.set()
            threading.Event().wait(0.5)  # libmpv takes its time (in the executor)
            super().__init__(*args, **kwargs)
            made.append(self)

    monkeypatch.setattr(wall_module, "TilePlayer", SlowPlayer)
    wall = await make_wall()
    filling = asyncio.create_task(wall.prepare(2))
    await wait_for(starting.is_set, 5, "a core starting")
    filling.cancel()
    with pytest.raises(asyncio.CancelledError):
        await filling

    await wall.close()
    assert len(made) == 1
    assert made[0]._mpv.handle is None, "a core started during close was left running"
    assert wall.players == ()
