"""The soak fault campaign: the real service under random, seeded, logged faults.

The campaign starts simulated cameras (one process each), a simulated NovaStar on a
pseudo-terminal behind a symlink (the "serial adapter"), and the service with its web
API on loopback, on a private Xvfb. After a warm-up it keeps injecting faults until
its duration is over: cameras killed, stalled (SIGSTOP) and restarted; the serial
adapter unplugged and plugged back; the HTTP API flooded; the config reloaded with
valid and invalid files. Meanwhile a thread samples the clock corner of every tile and
the loop samples tile status and the service's threads, fds and memory. The checks
and the report are in ``bench.soak_checks``.

Run ``make soak`` (``SOAK_S`` seconds, default 600) or
``python -m bench.soak --duration 60 --seed 7``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import faulthandler
import hashlib
import logging
import os
import random
import secrets
import signal
import sys
import tempfile
import threading
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import yaml
from aiohttp import web
from Xlib import X, display, error

from bench.harness import now, rss_mib
from bench.rig import simulated_cameras
from bench.soak_checks import (
    STALE_THRESHOLD_S,
    Fault,
    Limits,
    Samples,
    evaluate,
    write_report,
)
from controller.config.loader import load_config
from controller.displays.simulator import NovaStarSimulator
from controller.layouts import Rect
from controller.simulate.cameras import SimulatedCamera, SimulatedCameraSet
from controller.wall.xserver import capture

_LOGGER = logging.getLogger(__name__)

DEFAULT_DURATION_S = 600.0
#: Quiet playing after the warm-up faults, before the baseline is taken.
WARMUP_S = 10.0
#: Warm-up stalls last this much longer than the stale threshold (so they reconnect).
PRIME_STALL_EXTRA_S = 2.0
#: After the last fault: time for every faulted tile to come back before the end.
SETTLE_S = 20.0
#: How often the sampler thread grabs every tile's clock corner.
SAMPLE_INTERVAL_S = 0.25
#: How often the loop records tile status and the service's resources.
STATUS_INTERVAL_S = 0.25
RESOURCE_INTERVAL_S = 2.0
START_PLAYING_TIMEOUT_S = 30.0
#: Where ``python -m bench.soak`` saves evidence of a frozen tile.
DEFAULT_EVIDENCE_DIR = Path(__file__).resolve().parents[1] / "test-artifacts" / "soak"
#: ``python -m bench.soak`` dumps every thread's stack and exits after
#: duration + this (warm-up, settle, start and stop need far less).
HANG_MARGIN_S = 300.0

#: The wall: 2 × 2 tiles of 640×360, each showing a 640×360 camera with its clock.
WALL_RESOLUTION = (1280, 720)
CAMERA_COUNT = 4
FPS = 25
GOP_FRAMES = 25

#: Pause between two fault decisions, drawn uniformly from this range.
FAULT_GAP_S = (1.5, 5.0)
#: How long a killed or stalled camera stays down, drawn uniformly.
CAMERA_DOWN_S = (2.0, 6.0)
#: How long the serial adapter stays unplugged, drawn uniformly.
SERIAL_UNPLUGGED_S = (2.0, 6.0)
#: At most this many cameras are under fault at once (the rest must keep moving).
MAX_CAMERAS_FAULTED = 2
#: Requests in one API flood, and how many are in flight at once.
FLOOD_REQUESTS = 300
FLOOD_CONCURRENCY = 32
FLOOD_TIMEOUT_S = 30.0
#: The display processor polls its heartbeat this often (seconds).
DISPLAY_POLL_S = 2.0
SERIAL_RECOVERY_BOUND_S = 20.0

#: Fault kinds and their relative weights in the random draw.
CAMERA_KILL = "camera_kill"
CAMERA_STALL = "camera_stall"
CAMERA_RESTART = "camera_restart"
SERIAL_UNPLUG = "serial_unplug"
API_FLOOD = "api_flood"
RELOAD_VALID = "reload_valid"
RELOAD_INVALID = "reload_invalid"
FAULT_WEIGHTS = {
    CAMERA_KILL: 4,
    CAMERA_STALL: 4,
    CAMERA_RESTART: 3,
    SERIAL_UNPLUG: 2,
    API_FLOOD: 2,
    RELOAD_VALID: 2,
    RELOAD_INVALID: 2,
}
CAMERA_FAULTS = (CAMERA_KILL, CAMERA_STALL, CAMERA_RESTART)

_COLOURS = ("d02020", "20a020", "2040d0", "d0c020", "c020c0", "20c0c0")
SOAK_CAMERAS = tuple(
    SimulatedCamera(
        f"Soak {n}",
        f"SOAK {n}",
        colour,
        f"02:4f:53:00:00:{n:02x}",
        gop=GOP_FRAMES,
        substream=False,
    )
    for n, colour in enumerate(_COLOURS[:CAMERA_COUNT], start=1)
)
_TILES = ("t1", "t2", "t3", "t4")
PRESET = "soak"
DISPLAY = "led-wall"


@dataclass
class SoakOptions:
    """What one campaign run does: how long, which seed, which fault kinds."""

    duration_s: float = DEFAULT_DURATION_S
    seed: int = 0
    kinds: tuple[str, ...] = tuple(FAULT_WEIGHTS)
    warmup_s: float = WARMUP_S
    #: Run one of each fault during warm-up (see ``Campaign._prime``).
    prime: bool = True
    settle_s: float = SETTLE_S
    limits: Limits = field(default_factory=Limits)
    #: Where to save a screenshot and the wall's players when a tile under no fault
    #: stops moving (evidence for the report); None saves nothing.
    evidence_dir: Path | None = None


def clock_region(tile: Rect) -> Rect:
    """The burned-in clock's corner of a tile showing a camera of the tile's size."""
    return Rect(
        tile.x + tile.w * 3 // 4,
        tile.y + tile.h * 5 // 6,
        tile.w // 4 - 4,
        tile.h // 6 - 4,
    )


class ClockSampler:
    """Grabs the clock corner of each tile in its own thread, on its own X connection.

    It runs beside the event loop on purpose: a blocked loop must not look like a
    frozen wall, and a frozen wall must not hide behind a busy loop. Each sample is
    ``(monotonic time, sha1 of the pixels)`` per tile.
    """

    def __init__(self, display_name: str, regions: dict[str, Rect]) -> None:
        self._display = display.Display(display_name)
        self._root = self._display.screen().root
        self._regions = regions
        self.samples: dict[str, list[tuple[float, str]]] = {t: [] for t in regions}
        #: When each tile's clock corner last changed (read by the loop, for evidence).
        self.last_change: dict[str, float] = dict.fromkeys(regions, now())
        self.errors = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._run, name="soak clock sampler", daemon=True
        )

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Stop sampling and close the X connection."""
        self._stop.set()
        self._thread.join()
        self._display.close()

    def _run(self) -> None:
        while not self._stop.wait(SAMPLE_INTERVAL_S):
            for tile, rect in self._regions.items():
                try:
                    raw = self._root.get_image(
                        rect.x, rect.y, rect.w, rect.h, X.ZPixmap, 0xFFFFFFFF
                    ).data
                except error.XError:
                    # Xvfb now and then refuses a read while a window is reconfigured.
                    self.errors += 1
                    continue
                at, digest = now(), hashlib.sha1(raw).hexdigest()
                series = self.samples[tile]
                if series and series[-1][1] != digest:
                    self.last_change[tile] = at
                series.append((at, digest))


class SoakRig:
    """Cameras, the simulated serial adapter, config files and the running service."""

    def __init__(
        self,
        directory: Path,
        cameras: SimulatedCameraSet,
        simulator: NovaStarSimulator,
    ) -> None:
        self.directory = directory
        self.cameras = cameras
        self.simulator = simulator
        self.service: Any = None
        self.url = ""
        self.token = secrets.token_urlsafe(24)
        self.camera_of_tile = {
            tile: f"cam-{n}" for n, tile in enumerate(_TILES, start=1)
        }
        self.instance_of_camera = {
            f"cam-{n}": camera.instance
            for n, camera in enumerate(SOAK_CAMERAS, start=1)
        }
        self.extra_presets = 0

    @property
    def config_path(self) -> Path:
        return self.directory / "opswall.yaml"

    def write_config(self) -> None:
        """Write the valid config: one 2 × 2 preset, the cameras, the LED processor."""
        layouts = {
            "layouts": {
                "soak-2x2": {
                    "grid": {"columns": 2, "rows": 2},
                    "tiles": {
                        tile: {"row": i // 2, "column": i % 2}
                        for i, tile in enumerate(_TILES)
                    },
                }
            }
        }
        presets: dict[str, Any] = {
            PRESET: {"layout": "soak-2x2", "cameras": dict(self.camera_of_tile)}
        }
        # Valid reloads add a preset each time: a change the wall must shrug off.
        for n in range(1, self.extra_presets + 1):
            presets[f"soak-extra-{n}"] = {
                "title": f"Extra {n}",
                "layout": "soak-2x2",
                "cameras": {"t1": "cam-2", "t2": "cam-1"},
            }
        config = {
            "wall": {"resolution": list(WALL_RESOLUTION), "display": None},
            "web": {"host": "127.0.0.1", "port": 0},
            "discovery": {"mdns": {"enabled": False}},
            "layouts": "layouts.yaml",
            "presets": "presets.yaml",
            "state_dir": "state",
            "startup_preset": PRESET,
            "cameras": {
                camera: {
                    "name": instance,
                    "url": self.cameras.url(instance),
                }
                for camera, instance in self.instance_of_camera.items()
            },
            "displays": {
                DISPLAY: {
                    "protocol": "novastar",
                    "port": str(self.simulator.path),
                    "poll_interval_s": DISPLAY_POLL_S,
                }
            },
        }
        for name, data in (
            ("layouts.yaml", layouts),
            ("presets.yaml", {"presets": presets}),
            ("opswall.yaml", config),
        ):
            _write_atomic(self.directory / name, yaml.safe_dump(data, sort_keys=False))

    def write_invalid_config(self, variant: int) -> str:
        """Break the config in one of two ways; return what was broken."""
        if variant % 2 == 0:
            text = self.config_path.read_text() + "\ncameras: [unclosed\n"
            _write_atomic(self.config_path, text)
            return "YAML syntax error in opswall.yaml"
        presets = yaml.safe_load((self.directory / "presets.yaml").read_text())
        presets["presets"]["soak-broken"] = {
            "layout": "soak-2x2",
            "cameras": {"t1": "no-such-camera"},
        }
        _write_atomic(self.directory / "presets.yaml", yaml.safe_dump(presets))
        return "preset naming an unknown camera"

    def tile_rects(self) -> dict[str, Rect]:
        """Each tile's rectangle in the preset, from the config the service started with."""
        layout = self.service.config.presets[PRESET].layout
        return {tile.id: tile.rect for tile in layout.tiles}


class Campaign:
    """One soak run: warm-up, random faults for ``duration_s``, settle, checks.

    ``measuring`` is set once warm-up is over and the baseline is taken; a test can
    then add faults of its own that the campaign does not know about.
    """

    def __init__(self, options: SoakOptions) -> None:
        self.options = options
        self.random = random.Random(options.seed)
        self.rig: SoakRig | None = None
        self.measuring = asyncio.Event()
        self.samples = Samples()
        self.faults: list[Fault] = []
        self.log: list[str] = []
        self._faulted: set[str] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._start = 0.0
        self._stop_sampling = asyncio.Event()
        self._warming = False
        self._sampler: ClockSampler | None = None
        self._evidence: list[str] = []
        self._fault_over: dict[str, float] = {}  # tile → when its last fault was over

    async def run(self) -> dict[str, Any]:
        """Run the campaign on a fresh rig; return the report (checks included)."""
        async with soak_rig() as rig:
            self.rig = rig
            return await self._run(rig)

    async def _run(self, rig: SoakRig) -> dict[str, Any]:
        opts = self.options
        rects = rig.tile_rects()
        self.samples.rects = {tile: tuple(rect) for tile, rect in rects.items()}
        sampler = ClockSampler(
            rig.service.display_name,
            {tile: clock_region(rect) for tile, rect in rects.items()},
        )
        sampler.start()
        self._sampler = sampler
        recorder = asyncio.create_task(self._record(rig), name="soak recorder")
        try:
            await _fill_default_executor()
            self._start = now()
            self._note(f"warm-up (times from its start), seed {opts.seed}")
            if opts.prime:
                await self._prime(rig)
            await asyncio.sleep(opts.warmup_s)
            self.samples.baseline = _resources()
            self.samples.threads_at_baseline = _thread_names()
            self.samples.measure_from = now()
            self._start = now()
            self.measuring.set()
            self._note(f"campaign of {opts.duration_s:.0f} s starts")

            while now() - self._start < opts.duration_s:
                await asyncio.sleep(self.random.uniform(*FAULT_GAP_S))
                if now() - self._start >= opts.duration_s:
                    break
                await self._one_fault(rig)

            self._note("campaign over; waiting for running faults to end")
            await asyncio.gather(*self._tasks)
            await asyncio.sleep(opts.settle_s)
            self.samples.measure_to = now()
            self.samples.final = _resources()
            self.samples.threads_at_end = _thread_names()
        finally:
            self._stop_sampling.set()
            await recorder
            await asyncio.get_running_loop().run_in_executor(None, sampler.stop)
            for task in self._tasks:
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
        self.samples.clock = sampler.samples
        self.samples.grab_errors = sampler.errors
        report = evaluate(self.samples, self.faults, opts.limits)
        report["seed"] = opts.seed
        report["duration_s"] = opts.duration_s
        report["warmup_s"] = opts.warmup_s
        report["settle_s"] = opts.settle_s
        report["log"] = self.log
        return report

    # -- faults ------------------------------------------------------------------------

    async def _prime(self, rig: SoakRig) -> None:
        """One of each fault before the baseline, so pools reach their working size.

        The wall keeps the players it used for background reconnects as idle spares
        (up to one per camera reconnecting at once); without this warm-up the first
        reconnects of the campaign would look like a leak of mpv cores.
        """
        self._warming = True
        stalled = sorted(rig.camera_of_tile)[:MAX_CAMERAS_FAULTED]
        down_s = STALE_THRESHOLD_S + PRIME_STALL_EXTRA_S
        for tile in stalled:
            self._faulted.add(tile)
            self._spawn(
                self._camera_fault(rig, CAMERA_STALL, tile, down_s), f"prime {tile}"
            )
        await asyncio.gather(*self._tasks)
        others = sorted(rig.camera_of_tile)[MAX_CAMERAS_FAULTED:]
        for kind, tile in zip((CAMERA_RESTART, CAMERA_KILL), others, strict=False):
            self._faulted.add(tile)
            self._spawn(
                self._camera_fault(rig, kind, tile, CAMERA_DOWN_S[0]), f"prime {tile}"
            )
        self._faulted.add(DISPLAY)
        self._spawn(self._serial_fault(rig, SERIAL_UNPLUGGED_S[0]), "prime serial")
        await self._flood(rig)
        await self._reload_valid(rig)
        await self._reload_invalid(rig)
        await asyncio.gather(*self._tasks)
        self._warming = False

    async def _one_fault(self, rig: SoakRig) -> None:
        kinds = [k for k in self.options.kinds if k in FAULT_WEIGHTS]
        if not kinds:
            return
        kind = self.random.choices(kinds, [FAULT_WEIGHTS[k] for k in kinds])[0]
        if kind in CAMERA_FAULTS:
            free = [t for t in sorted(rig.camera_of_tile) if t not in self._faulted]
            if len(self._faulted) >= MAX_CAMERAS_FAULTED or not free:
                return
            tile = self.random.choice(free)
            down_s = self.random.uniform(*CAMERA_DOWN_S)
            self._faulted.add(tile)
            self._spawn(self._camera_fault(rig, kind, tile, down_s), f"{kind} {tile}")
        elif kind == SERIAL_UNPLUG:
            if DISPLAY in self._faulted:
                return
            self._faulted.add(DISPLAY)
            down_s = self.random.uniform(*SERIAL_UNPLUGGED_S)
            self._spawn(self._serial_fault(rig, down_s), "serial unplug")
        elif kind == API_FLOOD:
            await self._flood(rig)
        elif kind == RELOAD_VALID:
            await self._reload_valid(rig)
        else:
            await self._reload_invalid(rig)

    def _spawn(self, coro: Any, name: str) -> None:
        task = asyncio.create_task(coro, name=f"soak {name}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _camera_fault(
        self, rig: SoakRig, kind: str, tile: str, down_s: float
    ) -> None:
        camera = rig.camera_of_tile[tile]
        instance = rig.instance_of_camera[camera]
        fault = Fault(kind, tile, now(), warmup=self._warming)
        self.faults.append(fault)
        try:
            if kind == CAMERA_STALL:
                self._note(f"stall {camera} (tile {tile}) for {down_s:.1f} s")
                rig.cameras.signal(instance, signal.SIGSTOP)
                await asyncio.sleep(down_s)
                try:
                    rig.cameras.signal(instance, signal.SIGCONT)
                except ProcessLookupError:
                    # Only SIGKILL ends a stopped process: something outside did it.
                    fault.detail["note"] = "camera process killed from outside"
                    self._note(f"{camera} was killed during its stall; restarting it")
                    await rig.cameras.restart(instance)
            elif kind == CAMERA_KILL:
                self._note(f"kill {camera} (tile {tile}) for {down_s:.1f} s")
                await rig.cameras.kill(instance)
                await asyncio.sleep(down_s)
                await rig.cameras.restart(instance)
            else:
                self._note(f"restart {camera} (tile {tile})")
                await rig.cameras.kill(instance)
                await rig.cameras.restart(instance)
            fault.ended = now()
            fault.recovered = await self._tile_recovered(rig, tile)
        finally:
            self._faulted.discard(tile)
            self._fault_over[tile] = now()
        self._note(
            f"{camera} (tile {tile}) "
            + (
                f"recovered {fault.recovered - fault.ended:.1f} s after the fault"
                if fault.recovered is not None
                else "did NOT recover"
            )
        )

    async def _tile_recovered(self, rig: SoakRig, tile: str) -> float | None:
        """When the tile played again (by the service) within the recovery bound."""
        deadline = now() + self.options.limits.recovery_s
        while now() < deadline:
            if _status_of(rig, tile) == "playing":
                return now()
            await asyncio.sleep(STATUS_INTERVAL_S / 2)
        return None

    async def _serial_fault(self, rig: SoakRig, down_s: float) -> None:
        fault = Fault(SERIAL_UNPLUG, DISPLAY, now(), warmup=self._warming)
        self.faults.append(fault)
        try:
            self._note(f"unplug the serial adapter for {down_s:.1f} s")
            rig.simulator.unplug()
            await asyncio.sleep(down_s)
            await rig.simulator.replug()
            fault.ended = now()
            deadline = now() + SERIAL_RECOVERY_BOUND_S
            while now() < deadline:
                if rig.service.displays.snapshot()[DISPLAY]["online"]:
                    fault.recovered = now()
                    break
                await asyncio.sleep(0.1)
        finally:
            self._faulted.discard(DISPLAY)
        self._note(
            "display processor "
            + (
                f"online {fault.recovered - fault.ended:.1f} s after the replug"
                if fault.recovered is not None
                else "did NOT come back online"
            )
        )

    async def _flood(self, rig: SoakRig) -> None:
        """FLOOD_REQUESTS requests at once: reads, junk, strangers, re-activations."""
        fault = Fault(API_FLOOD, "api", now(), warmup=self._warming)
        self.faults.append(fault)
        authorised = {"Authorization": f"Bearer {rig.token}"}
        plan: list[tuple[str, str, dict[str, str], Any, tuple[int, ...]]] = []
        for _ in range(FLOOD_REQUESTS):
            roll = self.random.random()
            if roll < 0.55:
                path = self.random.choice(
                    ("state", "cameras", "presets", "layouts", "displays")
                )
                plan.append(("GET", f"/api/v1/{path}", authorised, None, (200,)))
            elif roll < 0.70:
                plan.append(("GET", "/api/v1/state", {}, None, (401, 403)))
            elif roll < 0.80:
                plan.append(
                    (
                        "POST",
                        f"/api/v1/presets/{PRESET}/activate",
                        {"Authorization": "Bearer not-a-token"},
                        None,
                        (401, 403),
                    )
                )
            elif roll < 0.90:
                plan.append(
                    (
                        "PUT",
                        "/api/v1/tiles/t1",
                        authorised | {"Content-Type": "application/json"},
                        b'{"camera": ',
                        (400, 422),
                    )
                )
            elif roll < 0.96:
                plan.append(("GET", "/api/v1/no-such-thing", authorised, None, (404,)))
            else:
                plan.append(
                    (
                        "POST",
                        f"/api/v1/presets/{PRESET}/activate",
                        authorised,
                        None,
                        (200,),
                    )
                )
        statuses: dict[str, int] = {}
        unexpected: list[str] = []
        gate = asyncio.Semaphore(FLOOD_CONCURRENCY)
        timeout = aiohttp.ClientTimeout(total=FLOOD_TIMEOUT_S)

        async def send(
            http: aiohttp.ClientSession,
            method: str,
            path: str,
            headers: dict[str, str],
            body: Any,
            expected: tuple[int, ...],
        ) -> None:
            async with gate:
                try:
                    async with http.request(
                        method, rig.url + path, headers=headers, data=body
                    ) as reply:
                        await reply.read()
                        status = str(reply.status)
                except (aiohttp.ClientError, TimeoutError) as err:
                    status = type(err).__name__
            statuses[status] = statuses.get(status, 0) + 1
            if not status.isdigit() or int(status) not in expected:
                unexpected.append(f"{method} {path}: {status}, expected {expected}")

        self._note(f"flood the API with {FLOOD_REQUESTS} requests")
        async with aiohttp.ClientSession(timeout=timeout) as http:
            await asyncio.gather(*(send(http, *request) for request in plan))
        fault.ended = fault.recovered = now()
        fault.detail = {
            "requests": FLOOD_REQUESTS,
            "seconds": round(fault.ended - fault.started, 2),
            "statuses": dict(sorted(statuses.items())),
            "unexpected": unexpected[:10],
            "unexpected_count": len(unexpected),
        }
        fault.ok = not unexpected
        self._note(
            f"flood done in {fault.ended - fault.started:.1f} s: {statuses}"
            + (
                f"; {len(unexpected)} unexpected, e.g. {unexpected[0]}"
                if unexpected
                else ""
            )
        )

    async def _reload_valid(self, rig: SoakRig) -> None:
        fault = Fault(RELOAD_VALID, "config", now(), warmup=self._warming)
        self.faults.append(fault)
        rig.extra_presets += 1
        await _in_thread(rig.write_config)
        before = _view(rig)
        status, reply = await _post(rig, "/api/v1/config/reload")
        presets = len(rig.service.config.presets)
        fault.ended = fault.recovered = now()
        fault.ok = (
            status == 200
            and reply.get("reloaded") is True
            and _view(rig) == before
            and presets == 1 + rig.extra_presets
        )
        fault.detail = {"status": status, "presets_after": presets}
        self._note(
            f"valid reload (preset soak-extra-{rig.extra_presets} added): "
            f"{status}, {presets} presets" + ("" if fault.ok else " — WRONG")
        )

    async def _reload_invalid(self, rig: SoakRig) -> None:
        fault = Fault(RELOAD_INVALID, "config", now(), warmup=self._warming)
        self.faults.append(fault)
        variant = sum(1 for f in self.faults if f.kind == RELOAD_INVALID)
        what = await _in_thread(rig.write_invalid_config, variant)
        before_view = _view(rig)
        before_config = rig.service.config
        try:
            status, reply = await _post(rig, "/api/v1/config/reload")
        finally:
            await _in_thread(rig.write_config)
        fault.ended = fault.recovered = now()
        fault.ok = (
            status == 422
            and bool(reply.get("problems"))
            and rig.service.config is before_config
            and _view(rig) == before_view
        )
        fault.detail = {
            "broken": what,
            "status": status,
            "problems": reply.get("problems", [])[:3],
        }
        self._note(
            f"invalid reload ({what}): {status}"
            + (" refused, nothing changed" if fault.ok else f" — WRONG: {reply}")
        )

    # -- recording ---------------------------------------------------------------------

    async def _record(self, rig: SoakRig) -> None:
        """Record tile status and rects often, and the service's resources every few s."""
        next_resources = now()
        while not self._stop_sampling.is_set():
            at = now()
            tiles = rig.service.wall.tiles()
            self.samples.status.append(
                (
                    at,
                    {t["id"]: t["status"] for t in tiles},
                    {t["id"]: tuple(t["rect"]) for t in tiles},
                    {t["id"]: t["camera"] for t in tiles},
                )
            )
            self._look_for_frozen(rig, at)
            if at >= next_resources:
                self.samples.resources.append((at, _resources()))
                next_resources = at + RESOURCE_INTERVAL_S
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop_sampling.wait(), STATUS_INTERVAL_S)

    def _look_for_frozen(self, rig: SoakRig, at: float) -> None:
        """Save evidence the first time a tile under no fault stops moving."""
        sampler, directory = self._sampler, self.options.evidence_dir
        if sampler is None or directory is None or not self.measuring.is_set():
            return
        for tile, changed in sampler.last_change.items():
            # The service says PLAYING a moment before the picture moves again.
            quiet_since = max(changed, self._fault_over.get(tile, changed))
            if (
                tile in self._faulted
                or tile in self._evidence
                or at - quiet_since <= self.options.limits.healthy_gap_s
            ):
                continue
            self._evidence.append(tile)
            players = _describe_players(rig.service.wall)
            self._note(
                f"tile {tile} under no fault has not moved for {at - quiet_since:.1f} s; "
                f"evidence in {directory}; players: {players}"
            )
            directory.mkdir(parents=True, exist_ok=True)
            capture(rig.service.display_name).save(directory / f"frozen-{tile}.png")

    def _note(self, message: str) -> None:
        offset = now() - self._start if self._start else 0.0
        line = f"t{offset:+7.1f} s  {message}"
        self.log.append(line)
        _LOGGER.info("soak %s", line)


@contextlib.asynccontextmanager
async def soak_rig() -> AsyncIterator[SoakRig]:
    """Cameras, the simulated serial adapter, the service and its API, all started."""
    from controller.access.middleware import Access
    from controller.service import Service
    from controller.web.app import build_app

    async with simulated_cameras(SOAK_CAMERAS, keep=False) as camera_set:
        with tempfile.TemporaryDirectory(prefix="opswall-soak-") as tmp:
            directory = Path(tmp)
            simulator = NovaStarSimulator(link=directory / "ttyUSB-led")
            await simulator.start()
            rig = SoakRig(directory, camera_set, simulator)
            rig.write_config()
            config = load_config(rig.config_path)
            service = Service(config)
            runner: web.AppRunner | None = None
            try:
                await service.start()
                rig.service = service
                access = Access(config.spec.access, config.state_dir, rig.token)
                runner = web.AppRunner(build_app(service, access))
                await runner.setup()
                site = web.TCPSite(runner, "127.0.0.1", 0)
                await site.start()
                host, port = runner.addresses[0][:2]
                rig.url = f"http://{host}:{port}"
                await _wait_playing(rig)
                yield rig
            finally:
                if runner is not None:
                    await runner.cleanup()
                await service.stop()
                await simulator.stop()


async def _wait_playing(rig: SoakRig) -> None:
    deadline = now() + START_PLAYING_TIMEOUT_S
    while now() < deadline:
        tiles = rig.service.wall.tiles()
        if tiles and all(t["status"] == "playing" for t in tiles):
            return
        await asyncio.sleep(0.2)
    raise TimeoutError(
        f"soak wall not playing after {START_PLAYING_TIMEOUT_S} s: "
        f"{[(t['id'], t['status'], t['reason']) for t in rig.service.wall.tiles()]}"
    )


def _describe_players(wall: Any) -> list[str]:
    """Every player of the wall: role, camera, status, window rect and map state.

    Reads the Wall's private bookkeeping: this is evidence for a failed soak, not API.
    """
    role = {
        id(p): f"tile {wall._tile_of.get(c, '-')}" for c, p in wall._assigned.items()
    }
    role |= {id(p): f"standby {c}" for c, p in wall._standby.items()}
    role |= {id(p): "idle" for p in wall._idle}
    return [
        f"{role.get(id(p), '?')}: {p.camera or '-'} {p.status} {p.reason!r} "
        f"rect={tuple(p.window.rect) if p.window.rect else None} "
        f"mapped={p.window.mapped}"
        for p in wall._all
    ]


def _status_of(rig: SoakRig, tile: str) -> str | None:
    for entry in rig.service.wall.tiles():
        if entry["id"] == tile:
            return str(entry["status"])
    return None


def _view(rig: SoakRig) -> list[tuple[str, str | None, tuple[int, ...]]]:
    """Preset-independent picture of the wall: each tile's camera and rect."""
    return [(t["id"], t["camera"], tuple(t["rect"])) for t in rig.service.wall.tiles()]


async def _post(rig: SoakRig, path: str) -> tuple[int, Any]:
    headers = {"Authorization": f"Bearer {rig.token}"}
    async with aiohttp.ClientSession(headers=headers) as http:
        async with http.post(rig.url + path) as reply:
            return reply.status, await reply.json()


def _thread_names() -> dict[str, int]:
    """How many of this process's threads have each name (diagnostics for a leak)."""
    names: dict[str, int] = {}
    for task in Path("/proc/self/task").iterdir():
        with contextlib.suppress(OSError):
            name = (task / "comm").read_text().strip()
            names[name] = names.get(name, 0) + 1
    return dict(sorted(names.items()))


def _resources() -> dict[str, float]:
    """Threads, open file descriptors and resident memory (MiB) of this process."""
    return {
        "threads": len(os.listdir("/proc/self/task")),
        "fds": len(os.listdir("/proc/self/fd")),
        "rss_mib": round(rss_mib(), 1),
    }


async def _fill_default_executor() -> None:
    """Start every thread of the loop's default executor now, before the baseline.

    The executor starts threads lazily up to its maximum; without this a busy moment
    late in the run would look like a thread leak.
    """
    loop = asyncio.get_running_loop()
    workers = min(32, (os.cpu_count() or 1) + 4)  # ThreadPoolExecutor's default
    release = threading.Event()
    jobs = [loop.run_in_executor(None, release.wait, 5.0) for _ in range(workers)]
    await asyncio.sleep(0.2)
    release.set()
    await asyncio.gather(*jobs)


async def _in_thread(function: Any, *args: Any) -> Any:
    return await asyncio.get_running_loop().run_in_executor(None, function, *args)


def _write_atomic(path: Path, text: str) -> None:
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(text)
    temporary.replace(path)


def main(argv: list[str] | None = None) -> int:
    """``python -m bench.soak``: run the campaign, write the report, 1 on any failure."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=DEFAULT_DURATION_S)
    parser.add_argument(
        "--seed", type=int, default=None, help="default: a fresh one, logged"
    )
    parser.add_argument("--out", type=Path, default=None, help="results directory")
    parser.add_argument(
        "--evidence",
        type=Path,
        default=DEFAULT_EVIDENCE_DIR,
        help="where a screenshot goes when a tile under no fault stops moving",
    )
    parser.add_argument(
        "--kinds",
        default=",".join(FAULT_WEIGHTS),
        help="comma-separated fault kinds to draw from (default: all); "
        "'none' plays with no faults (to tell a fault's leak from the wall's own)",
    )
    args = parser.parse_args(argv)
    kinds = () if args.kinds == "none" else tuple(args.kinds.split(","))
    unknown = sorted(set(kinds) - set(FAULT_WEIGHTS))
    if unknown:
        parser.error(f"unknown fault kinds {unknown}; known: {', '.join(FAULT_WEIGHTS)}")
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("controller").setLevel(logging.WARNING)
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    # A hung run must say where it hung rather than sit until someone kills it.
    faulthandler.dump_traceback_later(args.duration + HANG_MARGIN_S, exit=True)
    seed = args.seed if args.seed is not None else secrets.randbelow(1_000_000)
    campaign = Campaign(
        SoakOptions(
            duration_s=args.duration,
            seed=seed,
            kinds=kinds,
            evidence_dir=args.evidence,
        )
    )
    report = asyncio.run(campaign.run())
    markdown = write_report(report, args.out)
    print(markdown.read_text())
    return 0 if report["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
