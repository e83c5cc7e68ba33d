"""A tile's window is mapped at the X server before its player opens a stream.

mpv makes its own window inside the tile's when a stream opens, and maps it unless a
MapNotify of the tile's window arrives first (mpv takes it for its own). A tile whose
map request was still queued in our X connection when mpv started was left with an
unmapped mpv window: black, while the player said "playing".
"""

from __future__ import annotations

import pytest
from Xlib import X, display

from controller.wall.player import PLAYING, TilePlayer
from tests.conftest import wait_for
from tests.reliability.conftest import feed, grid

pytestmark = pytest.mark.wall


def map_state(display_name: str, window_id: int) -> int:
    """The window's map state as the X server sees it now (another connection)."""
    conn = display.Display(display_name)
    try:
        window = conn.create_resource_object("window", window_id)
        return window.get_attributes().map_state
    finally:
        conn.close()


def embedded_windows_mapped(display_name: str, window_id: int) -> list[bool]:
    """For each window mpv made inside the tile's window: is it mapped?"""
    conn = display.Display(display_name)
    try:
        window = conn.create_resource_object("window", window_id)
        return [
            child.get_attributes().map_state == X.IsViewable
            for child in window.query_tree().children
        ]
    finally:
        conn.close()


async def test_tile_is_mapped_before_its_stream_opens_and_mpv_window_shows(
    xvfb, cameras, make_wall, monkeypatch
):
    states: list[int] = []
    load = TilePlayer.load

    def checked_load(self: TilePlayer, *args: object, **kwargs: object) -> None:
        states.append(map_state(xvfb, self.window.window_id))
        load(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(TilePlayer, "load", checked_load)
    first, second = await cameras(), await cameras()
    wall = await make_wall()
    layout = grid(tiles=2)
    await wall.show(layout, {"a": feed("a", first), "b": feed("b", second)})
    # The other way round: the pool's windows are hidden, then mapped in new places.
    await wall.show(layout, {"a": None, "b": None})
    await wall.show(layout, {"a": feed("b", second), "b": feed("a", first)})

    assert states == [X.IsViewable] * 4
    await wait_for(
        lambda: all(t["status"] == PLAYING for t in wall.tiles()), 15, "all playing"
    )
    for camera in ("a", "b"):
        player = wall.player_for(camera)
        assert player is not None
        assert embedded_windows_mapped(xvfb, player.window.window_id) == [True]
