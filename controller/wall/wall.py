"""The Wall: shows a layout by moving, reusing and loading tile players."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from controller.errors import WallError
from controller.layouts import Layout, Rect
from controller.wall.player import (
    EMPTY,
    PLAYING,
    STALE,
    PlayerDeadError,
    StreamProbe,
    TilePlayer,
)
from controller.wall.xerrors import keep_nonfatal
from controller.wall.xserver import WallScreen

_LOGGER = logging.getLogger(__name__)

DEFAULT_STALE_AFTER_S = 3.0
# How often the watchdog looks at every tile's frame timestamps.
TICK_S = 0.5
# How often each libmpv core is asked a question, and how long it may take to answer.
PING_EVERY_S = 1.0
PING_TIMEOUT_S = 2.0
# A core that has not answered for this long is given up and replaced; in between,
# healthy() says False, so the service's watchdog sees the trouble.
REPLACE_HUNG_AFTER_S = 4.0
PING_THREADS = 4
# close() waits this long for players being replaced, or given up as hung, to end.
CLOSE_WAIT_S = 5.0
# healthy() is False when the watchdog itself has not run for this long.
WATCHDOG_LATE_S = 5.0


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
        stale_after_s: float = DEFAULT_STALE_AFTER_S,
    ) -> None:
        if not stale_after_s > 0:
            raise WallError(
                f"stale_after_s must be a positive number of seconds, got {stale_after_s!r}"
            )
        self.screen = screen
        self.stale_after_s = stale_after_s
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
        self._standby: dict[str, TilePlayer] = {}  # camera id → session in preparation
        self._recovering: set[str] = set()  # standbys started because a tile went stale
        self._pings: dict[int, tuple[Future[None], list[float]]] = {}
        self._pinger = ThreadPoolExecutor(PING_THREADS, thread_name_prefix="mpv-ping")
        self._watch: asyncio.Task[None] | None = None
        self._swaps: set[asyncio.Task[None]] = set()
        self._ending: set[asyncio.Task[None]] = set()  # replaced players shutting down
        self._making: set[asyncio.Future[TilePlayer]] = set()  # cores starting
        self._replacing = 0  # replacements under way
        self._last_tick = time.monotonic()
        self._windows_made = 0
        #: Players given up because their core hung: they cannot be terminated.
        self.abandoned: list[TilePlayer] = []
        #: Players replaced after a crash or a hang, since start.
        self.replaced = 0

    async def prepare(self, count: int) -> None:
        """Create idle players up front so a later switch never waits for mpv."""
        self._start_watchdog()
        while len(self._all) < count:
            self._idle.append(await self._new_player())

    def healthy(self) -> bool:
        """True while the X display answers, the watchdog runs and every player's
        core answered its last question in time (for the systemd watchdog)."""
        now = time.monotonic()
        if self._watch is not None and (
            self._watch.done() or now - self._last_tick > WATCHDOG_LATE_S
        ):
            return False
        if self._replacing:
            return False
        for _future, started in self._pings.values():
            if started and now - started[0] > PING_TIMEOUT_S:
                return False
        return self.screen.alive()

    async def reconnect(self, camera: str) -> None:
        """Open a new session for ``camera`` behind its tile; swap when frames flow."""
        async with self._lock:
            if camera in self._assigned and camera not in self._standby:
                await self._start_standby(camera)

    async def show(
        self, layout: Layout, feeds: Mapping[str, CameraFeed | None]
    ) -> None:
        """Show ``layout`` with ``feeds`` (tile id → camera feed or None for empty)."""
        self._start_watchdog()
        async with self._lock:
            wanted = {
                feed.id: tile_id for tile_id, feed in feeds.items() if feed is not None
            }
            for camera in list(self._assigned):
                if camera not in wanted:
                    self._drop_standby(camera)
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
                was_mapped = player.window.mapped
                self.screen.place(player.window, tile.rect)
                if not was_mapped:
                    # Mapped at the server before mpv makes its own window inside:
                    # mpv takes a MapNotify of our window, arriving between its
                    # making and its mapping of its own, for its own and never maps
                    # it (a black tile whose player says "playing").
                    self.screen.flush()
                player.set_fit(tile.fit)
                if feed.url is None:
                    self._drop_standby(feed.id)
                    player.show_no_signal(
                        feed.id, feed.label, feed.reason or "camera offline"
                    )
                else:
                    stream, url = feed.pick(tile.rect, self.substream_below)
                    if url != player.url:
                        self._drop_standby(feed.id)
                        player.load(feed.id, url, feed.label, stream)
                    elif (standby := self._standby.get(feed.id)) is not None:
                        self.screen.place_below(
                            standby.window, tile.rect, player.window
                        )
                        standby.set_fit(tile.fit)
            self.screen.flush()
            self.layout = layout
        self._on_change()

    def tiles(self) -> list[dict[str, Any]]:
        """Each tile of the current layout: id, camera, rect, status, reason,
        last_frame_at (epoch s) and lag_s."""
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
                    "last_frame_at": player.last_frame_at if player else None,
                    "lag_s": player.lag_s if player else None,
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
        """Stop the watchdog, then terminate every player (in a thread: libmpv blocks
        while it shuts down). Players whose core hung are left behind."""
        if self._watch is not None:
            self._watch.cancel()
            await asyncio.gather(self._watch, return_exceptions=True)
            self._watch = None
        for task in list(self._swaps):
            task.cancel()
        await asyncio.gather(*self._swaps, return_exceptions=True)
        # Cores still starting are waited for, so that they are ended with the rest
        # (a core left with a connection to the X server would take the whole
        # process down with it when the server stops).
        await asyncio.gather(*self._making, return_exceptions=True)
        loop = asyncio.get_running_loop()
        players, self._all = self._all, []
        self._assigned.clear()
        self._standby.clear()
        self._idle.clear()
        for player in players:
            player.detach()
        for player in players:
            await loop.run_in_executor(None, player.terminate)
        if self._ending:
            _done, late = await asyncio.wait(self._ending, timeout=CLOSE_WAIT_S)
            for task in late:
                task.cancel()
        await self._end_abandoned()
        self._pinger.shutdown(wait=False, cancel_futures=True)

    async def _end_abandoned(self) -> None:
        """Try once more to terminate players given up as hung, each in a daemon
        thread (a core that still hangs must not keep the process from exiting)."""
        abandoned, self.abandoned = self.abandoned, []
        loop = asyncio.get_running_loop()
        waits = []
        for player in abandoned:
            ended = loop.create_future()

            def end(player: TilePlayer = player, ended: Any = ended) -> None:
                _terminate_quietly(player)
                loop.call_soon_threadsafe(_settle, ended)

            threading.Thread(target=end, name="mpv-end-hung", daemon=True).start()
            waits.append(ended)
        if waits:
            done, late = await asyncio.wait(waits, timeout=CLOSE_WAIT_S)
            # A core that did end no longer draws: its window can go.
            for player, ended in zip(abandoned, waits, strict=True):
                if ended in done:
                    self.screen.destroy(player.window)
            self.screen.flush()
            if late:
                _LOGGER.error(
                    "%d hung mpv core(s) still did not end after %.0f s; left behind",
                    len(late),
                    CLOSE_WAIT_S,
                )

    async def _new_player(self) -> TilePlayer:
        """A new player, known to the wall (so ended at close) from the moment its core
        exists, even when the caller is cancelled while libmpv starts it."""
        loop = asyncio.get_running_loop()
        self._windows_made += 1
        window = self.screen.create_window(f"opswall-tile-{self._windows_made}")
        making = loop.run_in_executor(
            None, TilePlayer, window, loop, self._player_changed, self._hwdec
        )
        self._making.add(making)
        making.add_done_callback(self._made)
        try:
            player = await asyncio.shield(making)
        except asyncio.CancelledError:
            # The caller will not place it: it waits in the pool instead.
            making.add_done_callback(self._pool_unclaimed)
            raise
        return player

    def _made(self, making: asyncio.Future[TilePlayer]) -> None:
        self._making.discard(making)
        if not making.cancelled() and making.exception() is None:
            self._all.append(making.result())

    def _pool_unclaimed(self, making: asyncio.Future[TilePlayer]) -> None:
        if not making.cancelled() and making.exception() is None:
            self._idle.append(making.result())

    # -- the watchdog ------------------------------------------------------------------

    def _start_watchdog(self) -> None:
        if self._watch is None:
            self._last_tick = time.monotonic()
            self._watch = asyncio.get_running_loop().create_task(
                self._watch_forever(), name="wall watchdog"
            )

    async def _watch_forever(self) -> None:
        last_ping = 0.0
        while True:
            await asyncio.sleep(TICK_S)
            now = time.monotonic()
            self._last_tick = now
            # A core that ended by itself put back Xlib's fatal error handler.
            keep_nonfatal()
            try:
                async with self._lock:
                    await self._check_tiles(now)
                    if now - last_ping >= PING_EVERY_S:
                        last_ping = now
                        await self._check_cores(now)
            except WallError as err:
                _LOGGER.error("wall watchdog: %s; trying again", err)

    async def _check_tiles(self, now: float) -> None:
        for camera, player in list(self._assigned.items()):
            player.check(now, self.stale_after_s)
            standby = self._standby.get(camera)
            if standby is not None:
                standby.check(now, self.stale_after_s)
                if standby.status == STALE and standby.url is not None:
                    # Frames came and stopped before the swap: open it again.
                    standby.load(
                        camera, standby.url, standby.label, standby.stream or "main"
                    )
            if player.status == STALE and standby is None:
                _LOGGER.warning(
                    "camera %r on tile %s: %s; tile shows SIGNAL LOST over the "
                    "last frame, reconnecting in the background",
                    camera,
                    self._tile_of.get(camera, "-"),
                    player.reason,
                )
                self._recovering.add(camera)
                await self._start_standby(camera)
            elif (
                player.status == PLAYING
                and standby is not None
                and camera in self._recovering
            ):
                # The old session moves again before the new one showed a frame.
                self._drop_standby(camera)
                player.held = False

    async def _start_standby(self, camera: str) -> None:
        active = self._assigned[camera]
        if active.url is None or active.window.rect is None:
            return
        standby = self._idle.pop() if self._idle else await self._new_player()
        active.hold()
        self._standby[camera] = standby
        self.screen.place_below(standby.window, active.window.rect, active.window)
        self.screen.flush()
        if active.fit is not None:
            standby.set_fit(active.fit)
        standby.load(camera, active.url, active.label, active.stream or "main")

    def _drop_standby(self, camera: str) -> None:
        self._recovering.discard(camera)
        standby = self._standby.pop(camera, None)
        if standby is not None:
            standby.release()
            self.screen.hide(standby.window)
            self._idle.append(standby)

    async def _swap(self, camera: str, standby: TilePlayer) -> None:
        async with self._lock:
            if self._standby.get(camera) is not standby or standby.status != PLAYING:
                return
            del self._standby[camera]
            self._recovering.discard(camera)
            old = self._assigned[camera]
            self._assigned[camera] = standby
            self.screen.raise_window(standby.window)
            self.screen.flush()
            old.release()
            self.screen.hide(old.window)
            self.screen.flush()
            self._idle.append(old)
        _LOGGER.info(
            "camera %r on tile %s: new session swapped in",
            camera,
            self._tile_of.get(camera, "-"),
        )
        self._on_change()

    async def _check_cores(self, now: float) -> None:
        for player in list(self._all):
            pending = self._pings.get(id(player))
            if pending is None:
                started: list[float] = []
                future = self._pinger.submit(_timed_ping, player, started)
                self._pings[id(player)] = (future, started)
                continue
            future, started = pending
            if future.done():
                del self._pings[id(player)]
                error = future.exception()
                if isinstance(error, PlayerDeadError):
                    await self._replace(player, "its mpv core died", hung=False)
                elif error is not None:
                    _LOGGER.debug("ping of a player failed: %s", error)
            elif started and now - started[0] > REPLACE_HUNG_AFTER_S:
                del self._pings[id(player)]
                await self._replace(
                    player,
                    f"its mpv core did not answer for {REPLACE_HUNG_AFTER_S:.0f} s",
                    hung=True,
                )

    async def _replace(self, player: TilePlayer, why: str, hung: bool) -> None:
        """Put a new player where ``player`` was; never touch the other tiles."""
        self.replaced += 1
        self._all.remove(player)
        camera = next((c for c, p in self._assigned.items() if p is player), None)
        standby_of = next((c for c, p in self._standby.items() if p is player), None)
        _LOGGER.error(
            "player of camera %r (tile %s) replaced: %s",
            camera or standby_of,
            self._tile_of.get(camera or standby_of or "", "-"),
            why,
        )
        self._replacing += 1
        try:
            new = await self._new_player()
        except asyncio.CancelledError:
            # Closing: the old player is still ended (or left behind when hung).
            player.detach()
            if hung:
                self.abandoned.append(player)
            else:
                self._all.append(player)
            raise
        finally:
            self._replacing -= 1
        if camera is not None:
            self._assigned[camera] = new
            rect = player.window.rect
            if rect is not None:
                self.screen.place(new.window, rect)
                self.screen.flush()  # mapped before mpv makes its window (see show)
            if player.fit is not None:
                new.set_fit(player.fit)
            if player.url is not None:
                new.load(camera, player.url, player.label, player.stream or "main")
            else:
                new.show_no_signal(camera, player.label, player.reason)
            self._drop_standby(camera)
        elif standby_of is not None:
            self._standby.pop(standby_of)
            self._recovering.discard(standby_of)
            self._idle.append(new)
            self._assigned[standby_of].held = False
        else:
            if player in self._idle:
                self._idle.remove(player)
            self._idle.append(new)
        self.screen.hide(player.window)
        self.screen.flush()
        # No retry of the old player may call into its core from now on.
        player.detach()
        if hung:
            # Terminating would block on the same lock the core hangs on, and its
            # window stays (unmapped): a core that wakes up must not draw into a
            # window that is gone.
            self.abandoned.append(player)
        else:
            # Not waited for here (the watchdog holds the lock, and a dead core can be
            # slow to shut down); close() waits for it.
            task = asyncio.get_running_loop().create_task(
                self._end_player(player), name="end a replaced player"
            )
            self._ending.add(task)
            task.add_done_callback(self._ending.discard)
        self._on_change()

    async def _end_player(self, player: TilePlayer) -> None:
        """Terminate a replaced player in a thread, then destroy its window."""
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, _terminate_quietly, player)
        self.screen.destroy(player.window)
        self.screen.flush()

    def _player_changed(self, player: TilePlayer) -> None:
        camera = player.camera
        if camera is not None and self._standby.get(camera) is player:
            if player.status == PLAYING:
                task = asyncio.get_running_loop().create_task(
                    self._swap(camera, player), name=f"swap in {camera}"
                )
                self._swaps.add(task)
                task.add_done_callback(self._swaps.discard)
            return
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


def _timed_ping(player: TilePlayer, started: list[float]) -> None:
    started.append(time.monotonic())
    player.ping()


def _settle(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


def _terminate_quietly(player: TilePlayer) -> None:
    try:
        player.terminate()
    except Exception as err:  # noqa: BLE001 - a dead core may fail any way it likes
        _LOGGER.debug("terminating a dead player: %s", err)
