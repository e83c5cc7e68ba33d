"""Run the benchmark suite: ``python -m bench [--quick] [--only KEY,...]``.

Meant to run inside a private network namespace (``bench/run.sh``). Every figure is
bounded in count and time; a figure that fails is reported with its error and the
others still run.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
import traceback
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from bench import (
    buttons,
    cold_switch,
    discovery,
    fanout,
    memory,
    overhead,
    report,
    serial,
    tiles,
    warm_switch,
)
from bench.harness import Figure, machine, now
from bench.rig import BenchWall, bench_wall

_LOGGER = logging.getLogger("bench")

ALL = (
    "warm_switch",
    "cold_switch",
    "controller_overhead",
    "tiles_per_core",
    "button_latency",
    "web_fanout",
    "discovery",
    "serial",
    "memory",
)
WALL_FIGURES = {
    "warm_switch",
    "cold_switch",
    "controller_overhead",
    "button_latency",
    "web_fanout",
    "memory",
}


@dataclass(frozen=True)
class Sizes:
    """How many trials each figure runs."""

    warm: int = 20
    reload: int = 10
    cold: int = 10
    overhead_windows: int = 3
    buttons: int = 10
    clients: int = int(os.environ.get("BENCH_CLIENTS", "50"))
    fanout_trials: int = 20
    state_requests: int = 500
    cameras: int = 100
    discovery_rounds: int = 3
    serial_round_trips: int = 100
    soak_s: float = memory.DEFAULT_SOAK_S


QUICK = Sizes(
    warm=6,
    reload=4,
    cold=4,
    overhead_windows=1,
    buttons=4,
    clients=10,
    fanout_trials=5,
    state_requests=100,
    cameras=20,
    discovery_rounds=2,
    serial_round_trips=20,
    soak_s=15.0,
)


async def _guarded(
    figures: list[Figure],
    key: str,
    title: str,
    run: Callable[[], Awaitable[Figure]],
) -> None:
    started = now()
    _LOGGER.info("bench: %s …", key)
    try:
        fig = await run()
    except Exception as err:  # a broken figure must not hide the others
        traceback.print_exc()
        fig = Figure(key, title, error=f"{type(err).__name__}: {err}")
    fig.duration_s = now() - started
    _LOGGER.info(
        "bench: %s: %s (%.0f s)", key, fig.headline or fig.error, fig.duration_s
    )
    figures.append(fig)


async def _wall_figures(only: set[str], sizes: Sizes, figures: list[Figure]) -> None:
    async with bench_wall() as wall:
        warm: dict[str, list[float]] = {}

        async def fanout_run() -> Figure:
            return fanout.figure(
                await fanout.measure(
                    wall.url,
                    wall.post,
                    ("bench-b", "bench-a"),
                    sizes.clients,
                    sizes.fanout_trials,
                    sizes.state_requests,
                    token=wall.token,
                ),
                sizes.clients,
            )

        steps: list[tuple[str, str, Callable[[], Awaitable[Figure]]]] = [
            ("button_latency", "Button latency", lambda: _buttons(wall, sizes)),
            ("web_fanout", "Web fan-out", fanout_run),
            (
                "controller_overhead",
                "Controller overhead",
                lambda: _overhead(wall, sizes),
            ),
            ("cold_switch", "Cold switch", lambda: _cold(wall, sizes)),
            ("memory", "Memory", lambda: _memory(wall, sizes)),
        ]
        if "warm_switch" in only:
            # Warm first (a quiet wall); its reload baseline last (it bypasses the Wall).
            try:
                warm.update(await warm_switch.measure_warm(wall, sizes.warm))
            except Exception as err:
                traceback.print_exc()
                figures.append(
                    Figure(
                        "warm_switch",
                        "Warm switch",
                        error=f"{type(err).__name__}: {err}",
                    )
                )
        for key, title, run in steps:
            if key in only:
                await _guarded(figures, key, title, run)
        if "warm_switch" in only and warm:

            async def reload_run() -> Figure:
                baseline = await warm_switch.measure_reload(wall, sizes.reload)
                return warm_switch.figure(warm, baseline)

            await _guarded(figures, "warm_switch", "Warm switch", reload_run)


async def _buttons(wall: BenchWall, sizes: Sizes) -> Figure:
    return buttons.figure(await buttons.measure(wall, sizes.buttons))


async def _overhead(wall: BenchWall, sizes: Sizes) -> Figure:
    return overhead.figure(await overhead.measure(wall, sizes.overhead_windows))


async def _cold(wall: BenchWall, sizes: Sizes) -> Figure:
    return cold_switch.figure(await cold_switch.measure(wall, sizes.cold))


async def _memory(wall: BenchWall, sizes: Sizes) -> Figure:
    return memory.figure(await memory.measure(wall, sizes.soak_s), sizes.soak_s)


async def run(only: set[str], sizes: Sizes) -> list[Figure]:
    """Run the selected figures; the wall figures share one service."""
    figures: list[Figure] = []
    if only & WALL_FIGURES:
        try:
            await _wall_figures(only, sizes, figures)
        except Exception as err:
            traceback.print_exc()
            for key in sorted((only & WALL_FIGURES) - {f.key for f in figures}):
                figures.append(Figure(key, key, error=f"bench wall: {err}"))
    if "tiles_per_core" in only:
        await _guarded(
            figures,
            "tiles_per_core",
            "Tiles per core",
            _tiles,
        )
    if "discovery" in only:

        async def discovery_run() -> Figure:
            samples = await discovery.measure(sizes.cameras, sizes.discovery_rounds)
            return discovery.figure(samples, sizes.cameras)

        await _guarded(figures, "discovery", "Discovery", discovery_run)
    if "serial" in only:

        async def serial_run() -> Figure:
            return serial.figure(await serial.measure(sizes.serial_round_trips))

        await _guarded(figures, "serial", "Serial", serial_run)
    order = {key: n for n, key in enumerate(ALL)}
    return sorted(figures, key=lambda f: order.get(f.key, len(order)))


async def _tiles() -> Figure:
    return tiles.figure(await tiles.measure(tiles.steps()))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--only", help=f"comma-separated figures of: {', '.join(ALL)}")
    parser.add_argument("--quick", action="store_true", help="fewer trials (a check)")
    parser.add_argument("--results", type=Path, default=report.RESULTS)
    args = parser.parse_args(argv)
    only = set(args.only.split(",")) if args.only else set(ALL)
    unknown = only - set(ALL)
    if unknown:
        parser.error(f"unknown figures {sorted(unknown)}; choose from {', '.join(ALL)}")
    sizes = QUICK if args.quick else Sizes(soak_s=memory.soak_seconds())
    if args.quick and "BENCH_SOAK_S" in os.environ:
        sizes = Sizes(**{**QUICK.__dict__, "soak_s": memory.soak_seconds()})

    logging.basicConfig(
        level=logging.WARNING, format="%(asctime)s %(name)s: %(message)s"
    )
    _LOGGER.setLevel(logging.INFO)
    started = datetime.now().astimezone()
    began = now()
    info = machine()
    figures = asyncio.run(run(only, sizes))
    data = report.build(figures, info, started)
    data["duration_s"] = round(now() - began, 1)
    data["quick"] = args.quick
    path = report.write(data, args.results)
    print(path.read_text())
    print(f"bench took {data['duration_s']:.0f} s; report in {path.parent}")
    return 1 if any(f.error for f in figures) else 0


if __name__ == "__main__":
    sys.exit(main())
