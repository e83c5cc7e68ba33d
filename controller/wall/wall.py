"""The Wall: shows a layout by moving, reusing and loading tile players."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from controller.layouts import Layout, Rect
from controller.wall.player import EMPTY, StreamProbe, TilePlayer
from controller.wall.xserver import WallScreen

_LOGGER = logging.getLogger(__name__)


MAIN = "main"
SUB = "sub"


@dataclass(frozen=True)
class CameraFeed:
    """What the wall needs to show a camera: its id, a label and its stream URLs.

    The URLs may carry credentials: never log them (see ``controller.cameras.secrets``).
    """

    id: str
    label: str
    url: str | None
    reason: str = ""
    substream_url: str | None = None

    def pick(self, rect: Rect, substream_below: tuple[int, int]) -> tuple[str, str]:
        """The stream for a tile of ``rect``: ("sub", url) when the tile is smaller
        than ``substream_below`` in both directions and there is a sub-stream, else
        ("main", url)."""
        assert self.url is not None
        small = rect.w < substream_below[0] and rect.h < substream_below[1]
        if small and self.substream_url:
            return SUB, self.substream_url
        return MAIN, self.url


class Wall:
    """Owns the tile players and puts the right camera in the right rectangle.

    Applying a layout diffs against what is on screen: a camera that stays keeps its
    player and window (only moved or resized); a camera that leaves returns its player
    to an idle pool; only cameras that are new to the wall load a stream. A camera
    whose tile crosses ``substream_below`` (width, height) switches between its main
    and sub-stream in the same player.
    """

    def __init__(
        self,
        screen: WallScreen,
        on_change: Callable[[], None] = lambda: None,
        hwdec: str = "no",
        substream_below: tuple[int, int] = (960, 540),
    ) -> None:
        self.screen = screen
        self.substream_below = substream_below
        self.layout: Layout | None = None
        self._on_change = on_change
        self._hwdec = hwdec
        self._assigned: dict[str, TilePlayer] = {}  # camera id → player
        self._tile_of: dict[str, str] = {}  # camera id → tile id
        self._idle: list[TilePlayer] = []
        self._probes: dict[str, StreamProbe] = {}  # camera id → last measurement
        self._shown: dict[int, tuple[str | None, str, str]] = {}  # what was logged
        self._all: list[TilePlayer] = []
        self._lock = asyncio.Lock()

    async def prepare(self, count: int) -> None:
        """Create idle players up front so a later switch never waits for mpv."""
        while len(self._all) < count:
            self._idle.append(await self._new_player())

    async def show(
        self, layout: Layout, feeds: Mapping[str, CameraFeed | None]
    ) -> None:
        """Show ``layout`` with ``feeds`` (tile id → camera feed or None for empty)."""
        async with self._lock:
            wanted = {
                feed.id: tile_id for tile_id, feed in feeds.items() if feed is not None
            }
            for camera in list(self._assigned):
                if camera not in wanted:
                    leaving = self._assigned.pop(camera)
                    del self._tile_of[camera]
                    leaving.release()
                    self.screen.hide(leaving.window)
                    self._idle.append(leaving)

            for tile in layout.tiles:
                feed = feeds.get(tile.id)
                if feed is None:
                    continue
                player = self._assigned.get(feed.id)
                if player is None:
                    player = (
                        self._idle.pop() if self._idle else await self._new_player()
                    )
                    self._assigned[feed.id] = player
                self._tile_of[feed.id] = tile.id
                self.screen.place(player.window, tile.rect)
                player.set_fit(tile.fit)
                if feed.url is None:
                    player.show_no_signal(
                        feed.id, feed.label, feed.reason or "camera offline"
                    )
                else:
                    stream, url = feed.pick(tile.rect, self.substream_below)
                    if url != player.url:
                        player.load(feed.id, url, feed.label, stream)
            self.screen.flush()
            self.layout = layout
        self._on_change()

    def tiles(self) -> list[dict[str, Any]]:
        """Each tile of the current layout: id, camera, rect, status, reason."""
        if self.layout is None:
            return []
        by_tile = {tile_id: cam for cam, tile_id in self._tile_of.items()}
        result = []
        for tile in self.layout.tiles:
            camera = by_tile.get(tile.id)
            player = self._assigned.get(camera) if camera else None
            result.append(
                {
                    "id": tile.id,
                    "camera": camera,
                    "rect": list(tile.rect),
                    "status": player.status if player else EMPTY,
                    "reason": player.reason if player else "",
                }
            )
        return result

    def player_for(self, camera: str) -> TilePlayer | None:
        """The player showing ``camera``, if it is on the wall."""
        return self._assigned.get(camera)

    def probe_for(self, camera: str) -> StreamProbe | None:
        """What was last measured of ``camera``'s stream, on the wall now or before."""
        return self._probes.get(camera)

    @property
    def players(self) -> tuple[TilePlayer, ...]:
        return tuple(self._all)

    async def close(self) -> None:
        """Terminate every player (in a thread: libmpv blocks while it shuts down)."""
        loop = asyncio.get_running_loop()
        players, self._all = self._all, []
        self._assigned.clear()
        self._idle.clear()
        for player in players:
            await loop.run_in_executor(None, player.terminate)

    async def _new_player(self) -> TilePlayer:
        loop = asyncio.get_running_loop()
        window = self.screen.create_window(f"opswall-tile-{len(self._all) + 1}")
        player = await loop.run_in_executor(
            None, TilePlayer, window, loop, self._player_changed, self._hwdec
        )
        self._all.append(player)
        return player

    def _player_changed(self, player: TilePlayer) -> None:
        if player.camera is not None and player.probe is not None:
            self._probes[player.camera] = player.probe
        shown = (player.camera, player.status, player.reason)
        if player.camera is not None and self._shown.get(id(player)) != shown:
            _LOGGER.info(
                "camera %r on tile %s: %s%s",
                player.camera,
                self._tile_of.get(player.camera, "-"),
                player.status,
                f" ({player.reason})" if player.reason else "",
            )
        self._shown[id(player)] = shown
        self._on_change()
