"""The Opswall service: starts the parts in order, wires them, stops them in reverse."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import os
import time
from collections.abc import Callable
from contextlib import AsyncExitStack
from types import MappingProxyType
from typing import Any

from aiohttp import web

from controller.appliance.memory import tune_malloc
from controller.appliance.systemd import SystemdNotifier
from controller.buttons.panel import ButtonEvent, ButtonPanel
from controller.buttons.pins import default_pin_factory
from controller.cameras.mdns import MdnsDiscovery
from controller.cameras.onvif import OnvifDiscovery
from controller.cameras.registry import CameraRegistry
from controller.cameras.secrets import SECRETS_FILE, CameraSecrets
from controller.config.loader import Config, load_config
from controller.displays.controller import DisplayController
from controller.errors import ConfigError, NotFoundError, OpswallError, RefusedError
from controller.events import EventHub
from controller.layouts import Preset
from controller.saved_presets import SavedPresets
from controller.storage import read_json, write_json_atomic
from controller.switching import Switcher, View
from controller.wall.player import CONNECTING, EMPTY, PLAYING, TilePlayer
from controller.wall.wall import Wall
from controller.wall.xserver import PrivateXvfb, WallScreen

_LOGGER = logging.getLogger(__name__)

STATE_FILE = "wall-state.json"

#: Audit action and target of each special button action (others activate a preset).
BUTTON_AUDIT = {
    "return": ("preset.return", ""),
    "next": ("preset.next", ""),
    "blackout": ("wall.blackout", ""),
}

# Config sections bound to hardware, sockets or processes: they change on restart.
RESTART_SECTIONS = (
    "web",
    "access",
    "discovery",
    "displays",
    "buttons",
    "gpio",
    "firmware",
    "state_dir",
)


class Service:
    """One wall: its cameras, players, displays, buttons and web API."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.events = EventHub()
        self.switcher = Switcher(config.presets, home=config.spec.startup_preset)
        self.saved_presets = SavedPresets(config.state_dir)
        self.registry = CameraRegistry(
            config.spec.cameras,
            self._cameras_changed,
            state_dir=config.state_dir,
            secrets=CameraSecrets(config.state_dir / SECRETS_FILE),
        )
        self.displays = DisplayController(
            config.spec.displays,
            on_change=self._displays_changed,
            base_dir=config.path.parent,
        )
        self.wall: Wall | None = None
        self.buttons: ButtonPanel | None = None
        self.display_name = ""
        self._blackout = False  # only used when no display is configured
        self.started_at = time.time()
        self.notifier = SystemdNotifier()
        self._stack = AsyncExitStack()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._reapply: asyncio.Handle | None = None
        self._save_lock = asyncio.Lock()
        self.tour: str | None = None
        self._tour_task: asyncio.Task[None] | None = None
        self._calm = asyncio.Event()  # set while no emergency preset is active
        #: Told ``(origin, action, target, result, started_by)`` of each action taken
        #: without an HTTP request (desk buttons, SIGHUP, tour steps), for the audit
        #: log; ``started_by`` is who started the tour of a tour step, else None.
        self.on_action: Callable[[str, str, str, str, str | None], None] | None = None
        self.events.source("state", self.state)
        self.events.source("cameras", self.cameras)
        self.events.source("displays", self.displays.snapshot)
        self.events.source("buttons", self._buttons_snapshot)
        self.events.source("presets", self.presets)

    # -- lifecycle ---------------------------------------------------------------------

    async def start(self, app: web.Application | None = None) -> None:
        """Start X and the players, displays, buttons, discovery; show the first view."""
        spec = self.config.spec
        # Before any player starts a thread: with glibc's defaults RSS grew with every
        # reconnect (see controller.appliance.memory).
        tune_malloc()
        try:
            self.display_name = spec.wall.display or await self._start_xvfb()
            os.environ["DISPLAY"] = self.display_name
            screen = WallScreen(self.display_name)
            self._stack.callback(screen.close)
            self.wall = Wall(
                screen,
                on_change=self._wall_changed,
                substream_below=spec.wall.substream_below,
                stale_after_s=spec.wall.stale_after_s,
            )
            self._stack.push_async_callback(self.wall.close)
            most_tiles = max(len(p.layout.tiles) for p in self.config.presets.values())
            await self.wall.prepare(most_tiles)
            await self.registry.load()
            self._stack.push_async_callback(self.registry.flush)
            await asyncio.get_running_loop().run_in_executor(
                None, self.saved_presets.read
            )
            self._install_presets()

            await self.displays.start()
            self._stack.push_async_callback(self.displays.stop)

            if spec.buttons:
                self.buttons = ButtonPanel(
                    spec.buttons,
                    self._button_pressed,
                    pin_factory=default_pin_factory(spec.gpio.pin_factory == "mock"),
                    emergency_actions={
                        name
                        for name, p in self.config.presets.items()
                        if p.is_emergency
                    },
                )
                await self.buttons.start()
                self._stack.push_async_callback(self.buttons.close)

            if spec.discovery.mdns.enabled:
                discovery = MdnsDiscovery(self.registry, spec.discovery.mdns.interfaces)
                await discovery.start()
                self._stack.push_async_callback(discovery.stop)

            onvif = spec.discovery.onvif
            if onvif.enabled:
                wsd = OnvifDiscovery(
                    self.registry, onvif.interfaces, onvif.probe_interval_s
                )
                await wsd.start()
                self._stack.push_async_callback(wsd.stop)

            await self._show_first_view()
            self._background(
                self.notifier.run_watchdog(self.healthy), "systemd watchdog"
            )
        except BaseException:
            await self.stop()
            raise

    async def stop(self) -> None:
        """Stop everything started, in reverse order."""
        self.notifier.stopping()
        self._end_tour()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._stack.aclose()

    @property
    def blackout(self) -> bool:
        """True while the wall is blacked out: every display that reports it is black.

        Read from the displays' reported state, so a blackout made on one display's
        own control and one made for the whole wall agree.
        """
        if not self.config.spec.displays:
            return self._blackout
        reported = [
            entry["state"].get("black")
            for entry in self.displays.snapshot().values()
            if entry.get("state")
        ]
        known = [black for black in reported if black is not None]
        return bool(known) and all(known)

    def _displays_changed(self) -> None:
        self.events.changed("displays")
        self.events.changed("state")
        if self.buttons is not None and self.switcher.view is not None:
            view = self.switcher.view
            self.buttons.show(view.preset, view.emergency, self.blackout)
            self.events.changed("buttons")

    def healthy(self) -> bool:
        """True while the loop runs and the wall is healthy: the X display answers,
        the frame watchdog runs and every mpv core answers (for the systemd watchdog)."""
        return self.wall is not None and self.wall.healthy()

    # -- what operators do -------------------------------------------------------------

    async def activate(self, name: str, origin: str) -> dict[str, Any]:
        """Activate preset ``name`` for ``origin``; return the new state.

        A normal preset chosen by hand ends a running tour; an emergency only pauses it.
        """
        preset = self.switcher.preset(name)
        view = self.switcher.activate(name, origin)
        if not preset.is_emergency:
            self._end_tour()
        await self._show(view)
        self._run_display_actions(preset, origin)
        return self.state()

    async def reload(self, origin: str) -> dict[str, Any]:
        """Read the config file again and apply what can change while the wall runs.

        An invalid config raises ConfigError and changes nothing. Layouts, presets,
        tours and cameras apply at once; the current view is re-shown with the least
        disturbance (tiles that keep their camera keep playing). Sections bound to
        hardware or sockets are reported as needing a restart.
        """
        loop = asyncio.get_running_loop()
        try:
            new = await loop.run_in_executor(None, load_config, self.config.path)
        except ConfigError as err:
            _LOGGER.warning(
                "config reload by %s refused; nothing changed:\n%s", origin, err
            )
            raise
        old = self.config
        for key in ("resolution", "display"):
            was, now = getattr(old.spec.wall, key), getattr(new.spec.wall, key)
            if was != now:
                raise RefusedError(
                    f"wall.{key} changed from {was!r} to {now!r}: the layouts depend on "
                    "it, so restart the service to apply this config (nothing changed)"
                )
        restart = [
            section
            for section in RESTART_SECTIONS
            if getattr(new.spec, section) != getattr(old.spec, section)
        ]
        new = dataclasses.replace(
            new,
            spec=new.spec.model_copy(
                update={section: getattr(old.spec, section) for section in restart}
            ),
        )
        self.config = new
        if self.wall is not None:
            self.wall.stale_after_s = new.spec.wall.stale_after_s
        self.switcher.home = new.spec.startup_preset
        self.registry.reconfigure(new.spec.cameras)
        self._install_presets()
        if self.tour is not None and self.tour not in new.tours:
            self._end_tour()
        view = self.switcher.view
        if (
            view
            and view.preset
            and view.preset in self.switcher.presets
            and not view.emergency
        ):
            view = self.switcher.activate(view.preset, f"reload by {origin}")
        if view is not None:
            await self._show(view)
        _LOGGER.info(
            "config reloaded by %s: %d layouts, %d presets, %d cameras%s",
            origin,
            len(new.layouts),
            len(new.presets),
            len(new.spec.cameras),
            f"; needs a restart for: {', '.join(restart)}" if restart else "",
        )
        return {"reloaded": True, "restart_needed": restart, "state": self.state()}

    async def save_preset(self, name: str, title: str, origin: str) -> Preset:
        """Keep what the wall shows now as a new normal preset ``name``."""
        view = self.switcher.view
        if view is None:
            raise RefusedError("no layout is on the wall yet; nothing to save")
        self.saved_presets.add(
            name, title, view.layout, view.cameras, self.switcher.presets
        )
        try:
            await asyncio.get_running_loop().run_in_executor(
                None, self.saved_presets.write
            )
        except OSError as err:
            self.saved_presets.restore(name, None)
            raise OpswallError(f"cannot save preset {name!r}: {err}") from err
        self._install_presets()
        _LOGGER.info("preset %r (%s) saved by %s", name, title, origin)
        return self.switcher.preset(name)

    async def delete_preset(self, name: str, origin: str) -> None:
        """Forget a preset saved from the remote (presets from the file are refused)."""
        entry = self.saved_presets.remove(name, self.config.presets)
        try:
            await asyncio.get_running_loop().run_in_executor(
                None, self.saved_presets.write
            )
        except OSError as err:
            self.saved_presets.restore(name, entry)
            raise OpswallError(f"cannot delete preset {name!r}: {err}") from err
        self._install_presets()
        _LOGGER.info("saved preset %r deleted by %s", name, origin)

    def presets(self) -> list[dict[str, Any]]:
        """Every preset, the active one marked; ``saved`` for those saved from the remote."""
        active = self.switcher.view.preset if self.switcher.view else None
        saved = self.saved_presets.names()
        return [
            {
                "name": preset.name,
                "title": preset.title,
                "layout": preset.layout.name,
                "priority": preset.priority,
                "cameras": dict(preset.cameras),
                "active": preset.name == active,
                "saved": preset.name in saved,
            }
            for preset in self.switcher.presets.values()
        ]

    def _install_presets(self) -> None:
        """The config's presets, then the saved ones that fit it, for the switcher."""
        merged = dict(self.config.presets)
        merged.update(
            self.saved_presets.compile(
                self.config.layouts, self.config.presets, self.registry.__contains__
            )
        )
        self.switcher.presets = MappingProxyType(merged)
        self.events.changed("presets")

    async def start_tour(self, name: str, origin: str) -> dict[str, Any]:
        """Rotate the tour's presets until another preset is chosen or the tour stops."""
        tour = self.config.tours.get(name)
        if tour is None:
            raise NotFoundError("tour", name, self.config.tours)
        if self.switcher.emergency:
            raise RefusedError(self.switcher.emergency_reason())
        self._end_tour()
        self.tour = tour.name
        self._tour_task = asyncio.get_running_loop().create_task(
            self._run_tour(tour.name, tour.steps, origin), name=f"tour {tour.name}"
        )
        _LOGGER.info("tour %r started by %s", name, origin)
        self.events.changed("state")
        return self.state()

    def stop_tour(self, origin: str) -> dict[str, Any]:
        """Stop the running tour; the wall keeps what it shows."""
        if self.tour is not None:
            _LOGGER.info("tour %r stopped by %s", self.tour, origin)
        self._end_tour()
        return self.state()

    async def return_from_emergency(self, origin: str) -> dict[str, Any]:
        """RETURN: back to what the wall showed before the first emergency."""
        view = self.switcher.return_(origin)
        await self._show(view)
        return self.state()

    async def _run_tour(
        self, name: str, steps: tuple[tuple[str, float], ...], started_by: str
    ) -> None:
        """Show each step in turn; each step is audited once, as done by the tour."""
        origin = f"tour {name}"
        index = 0
        while True:
            if self.switcher.emergency:
                # Queued behind the emergency: resume where the tour was after RETURN.
                await self._calm.wait()
                continue
            preset, dwell_s = steps[index % len(steps)]
            try:
                view = self.switcher.activate(preset, origin)
                await self._show(view)
                self._run_display_actions(self.switcher.preset(preset), origin)
            except OpswallError:
                self._tour_step_done(origin, preset, "failed", started_by)
                raise
            self._tour_step_done(origin, preset, "ok", started_by)
            index += 1
            await asyncio.sleep(dwell_s)

    def _tour_step_done(
        self, origin: str, preset: str, result: str, started_by: str
    ) -> None:
        if self.on_action is not None:
            self.on_action(origin, "preset.activate", preset, result, started_by)

    def _end_tour(self) -> None:
        task, self._tour_task = self._tour_task, None
        if task is not None and task is not asyncio.current_task():
            task.cancel()
        if self.tour is not None:
            self.tour = None
            self.events.changed("state")

    async def assign(
        self, tile_id: str, camera: str | None, origin: str
    ) -> dict[str, Any]:
        """Put ``camera`` (or nothing) in ``tile_id`` of the current layout."""
        if camera is not None:
            self.registry.get(camera)
        view = self.switcher.assign(tile_id, camera, origin)
        await self._show(view)
        return self.state()

    async def next_preset(self, origin: str) -> dict[str, Any]:
        """Step to the next normal preset, in the order of the presets file."""
        names = [n for n, p in self.switcher.presets.items() if not p.is_emergency]
        current = self.switcher.view.preset if self.switcher.view else None
        index = names.index(current) + 1 if current in names else 0
        return await self.activate(names[index % len(names)], origin)

    # -- snapshots ---------------------------------------------------------------------

    def state(self) -> dict[str, Any]:
        """What the wall shows: preset, layout, tiles with camera and status."""
        view = self.switcher.view
        return {
            "preset": view.preset if view else None,
            "layout": view.layout.name if view else None,
            "emergency": self.switcher.emergency,
            "return_to": (
                self.switcher.before_emergency.preset
                if self.switcher.emergency and self.switcher.before_emergency
                else None
            ),
            "blackout": self.blackout,
            "tour": self.tour,
            "tiles": self.wall.tiles() if self.wall else [],
            "wall": {
                "width": self.config.spec.wall.resolution[0],
                "height": self.config.spec.wall.resolution[1],
            },
            "activations": [a.as_json() for a in list(self.switcher.history)[-20:]],
        }

    def cameras(self) -> list[dict[str, Any]]:
        """Every camera with its health."""
        result = []
        for camera in self.registry.all():
            entry = camera.as_json()
            player = self.wall.player_for(camera.id) if self.wall else None
            probe = self.wall.probe_for(camera.id) if self.wall else None
            entry["tile_status"] = player.status if player else None
            entry["last_frame_at"] = player.last_frame_at if player else None
            entry.update(
                probe.as_json()
                if probe
                else dict.fromkeys(("stream", "codec", "width", "height", "fps"))
            )
            if player is not None and player.stream is not None:
                entry["stream"] = player.stream
            entry["auth_failed"] = bool(player and player.auth_failed)
            # Announced on the network is not the same as sending pictures: a camera
            # on the wall says which (None while connecting or not on the wall).
            entry["signal"] = _signal_of(player)
            if player is not None and entry["signal"] is False:
                entry["reason"] = player.reason
            result.append(entry)
        return result

    # -- internals ---------------------------------------------------------------------

    async def _start_xvfb(self) -> str:
        width, height = self.config.spec.wall.resolution
        xvfb = PrivateXvfb(width, height)
        loop = asyncio.get_running_loop()
        name = await loop.run_in_executor(None, xvfb.start)
        self._stack.callback(xvfb.stop)
        return name

    async def _show_first_view(self) -> None:
        saved = await asyncio.get_running_loop().run_in_executor(
            None, read_json, self.config.state_dir / STATE_FILE
        )
        views = self._views_from_json(saved) if saved else None
        if views is not None:
            self.switcher.restore(views[0], views[1], "restart")
            await self._show(views[0])
            return
        first = self.config.spec.startup_preset or next(iter(self.config.presets))
        await self.activate(first, "startup")

    async def _show(self, view: View) -> None:
        assert self.wall is not None
        feeds = {
            tile.id: self.registry.feed(camera) if camera else None
            for tile, camera in ((t, view.cameras.get(t.id)) for t in view.layout.tiles)
        }
        await self.wall.show(view.layout, feeds)
        if view.emergency:
            self._calm.clear()
        else:
            self._calm.set()
        self.events.changed("state")
        if self.buttons is not None:
            self.buttons.show(view.preset, view.emergency, self.blackout)
            self.events.changed("buttons")
        self._background(self._save_state(), "save wall state")

    async def _save_state(self) -> None:
        view = self.switcher.view
        if view is None:
            return
        data = {
            "view": self._view_to_json(view),
            "before_emergency": (
                self._view_to_json(self.switcher.before_emergency)
                if self.switcher.before_emergency
                else None
            ),
        }
        path = self.config.state_dir / STATE_FILE
        try:
            async with self._save_lock:
                await asyncio.get_running_loop().run_in_executor(
                    None, write_json_atomic, path, data
                )
        except OSError as err:
            _LOGGER.warning("cannot save the wall state to %s: %s", path, err)

    @staticmethod
    def _view_to_json(view: View) -> dict[str, Any]:
        return {
            "layout": view.layout.name,
            "cameras": dict(view.cameras),
            "preset": view.preset,
            "emergency": view.emergency,
        }

    def _views_from_json(self, data: Any) -> tuple[View, View | None] | None:
        """The saved view and the one RETURN goes back to; None if they no longer fit."""
        try:
            view = self._view_from_json(data["view"])
            before = data.get("before_emergency")
            return view, self._view_from_json(before) if before else None
        except (KeyError, TypeError, AttributeError) as err:
            _LOGGER.warning(
                "saved wall state does not fit this config (%s); "
                "starting from the startup preset",
                err,
            )
            return None

    def _view_from_json(self, saved: Any) -> View:
        layout = self.config.layouts[saved["layout"]]
        cameras = {
            tile: camera
            for tile, camera in saved["cameras"].items()
            if tile in layout.tile_ids and (camera is None or camera in self.registry)
        }
        return View(layout, cameras, saved.get("preset"), bool(saved.get("emergency")))

    def _wall_changed(self) -> None:
        # Tile status and stream probes are part of each camera's health too.
        self.events.changed("state")
        self.events.changed("cameras")

    def _cameras_changed(self) -> None:
        self.events.changed("cameras")
        if self._reapply is None and self.switcher.view is not None:
            self._reapply = asyncio.get_running_loop().call_soon(self._reapply_view)

    def _reapply_view(self) -> None:
        self._reapply = None
        if self.switcher.view is not None and self.wall is not None:
            self._background(self._show(self.switcher.view), "re-apply view")

    def _run_display_actions(self, preset: Preset, origin: str) -> None:
        if not preset.display_actions:
            return

        async def run() -> None:
            for action in preset.display_actions:
                try:
                    await self.displays.perform(
                        action.display, action.operation, action.value
                    )
                except OpswallError as err:
                    _LOGGER.warning(
                        "preset %r: display %s %s failed: %s",
                        preset.name,
                        action.display or "(all)",
                        action.operation,
                        err,
                    )

        self._background(run(), f"display actions of {preset.name} for {origin}")

    async def _button_pressed(self, event: ButtonEvent) -> None:
        origin = f"button {event.button}"
        action, target = BUTTON_AUDIT.get(
            event.action, ("preset.activate", event.action)
        )
        result = "failed"
        try:
            if event.action == "return":
                await self.return_from_emergency(origin)
            elif event.action == "next":
                await self.next_preset(origin)
            elif event.action == "blackout":
                target = "off" if self.blackout else "on"
                await self.set_blackout(not self.blackout, origin)
            else:
                await self.activate(event.action, origin)
            result = "ok"
        except RefusedError as err:
            result = "refused"
            _LOGGER.info("%s: %s", origin, err)
        finally:
            if self.on_action is not None:
                self.on_action(origin, action, target, result, None)
        self.events.changed("buttons")

    async def set_blackout(self, black: bool, origin: str) -> None:
        """Black out (or restore) every display that can."""
        if self.config.spec.displays:
            await self.displays.perform(None, "black", black)
        self._blackout = black
        _LOGGER.info("blackout %s by %s", "on" if black else "off", origin)
        if self.buttons is not None and self.switcher.view is not None:
            self.buttons.show(self.switcher.view.preset, self.switcher.emergency, black)
            self.events.changed("buttons")
        self.events.changed("state")

    def _buttons_snapshot(self) -> Any:
        return [b.as_dict() for b in self.buttons.status()] if self.buttons else []

    def _background(self, coro: Any, name: str) -> None:
        task = asyncio.get_running_loop().create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            _LOGGER.error(
                "background task %r failed", task.get_name(), exc_info=task.exception()
            )


def _signal_of(player: TilePlayer | None) -> bool | None:
    if player is None or player.status in (CONNECTING, EMPTY):
        return None
    return player.status == PLAYING
