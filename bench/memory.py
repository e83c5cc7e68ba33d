"""Figure 9: resident memory of the service with nine tiles, and its growth over a run.

The duration is ``BENCH_SOAK_S`` (default 60 s; 600 for the ten-minute figure).
During the run the wall switches A↔B every few seconds and brings a cold camera in
and out now and then, so the figure covers switching, not only idle playback.
"""

from __future__ import annotations

import asyncio
import os

from bench.harness import Figure, Stats, linear_slope, now, rss_mib
from bench.rig import BenchWall, child_pid

DEFAULT_SOAK_S = 60.0
SAMPLE_S = 2.0
SWITCH_EVERY_S = 5.0
COLD_EVERY = 6  # every sixth switch goes through preset C
WARMUP_S = 5.0


def soak_seconds() -> float:
    """The run's length from BENCH_SOAK_S."""
    return float(os.environ.get("BENCH_SOAK_S", DEFAULT_SOAK_S))


async def measure(wall: BenchWall, duration_s: float) -> dict[str, dict[float, float]]:
    """RSS of this process and of Xvfb, sampled every SAMPLE_S over ``duration_s``."""
    await wall.settle("bench-a")
    await asyncio.sleep(WARMUP_S)
    xvfb = child_pid("Xvfb")
    service: dict[float, float] = {}
    xserver: dict[float, float] = {}
    start = now()
    next_switch = start + SWITCH_EVERY_S
    switches = 0
    while (elapsed := now() - start) < duration_s:
        service[elapsed] = rss_mib()
        if xvfb is not None:
            xserver[elapsed] = rss_mib(xvfb)
        if now() >= next_switch:
            switches += 1
            if switches % COLD_EVERY == 0:
                preset = "bench-c"
            else:
                preset = "bench-b" if switches % 2 else "bench-a"
            await wall.post(f"/api/v1/presets/{preset}/activate")
            next_switch += SWITCH_EVERY_S
        await asyncio.sleep(SAMPLE_S)
    await wall.settle("bench-a")
    service[now() - start] = rss_mib()
    return {"service": service, "xvfb": xserver}


def figure(samples: dict[str, dict[float, float]], duration_s: float) -> Figure:
    """Figure 9 from the samples."""
    service = samples["service"]
    values = list(service.values())
    first = sum(values[:3]) / len(values[:3])
    last = sum(values[-3:]) / len(values[-3:])
    slope = linear_slope(service) * 60
    fig = Figure(
        "memory",
        f"Memory of the service with 9 tiles over {duration_s:.0f} s",
        target="report (no fixed target); growth should be flat",
    )
    fig.stats = {"service_rss_mib": Stats.of(values, "MiB")}
    if samples["xvfb"]:
        fig.stats["xvfb_rss_mib"] = Stats.of(samples["xvfb"].values(), "MiB")
    fig.values = {
        "duration_s": round(duration_s),
        "rss_start_mib": round(first, 1),
        "rss_end_mib": round(last, 1),
        "growth_mib": round(last - first, 1),
        "slope_mib_per_min": round(slope, 2),
        "samples": {f"{t:.0f}": round(v, 1) for t, v in service.items()},
    }
    fig.headline = (
        f"RSS {first:.0f} → {last:.0f} MiB over {duration_s:.0f} s "
        f"({last - first:+.1f} MiB, {slope:+.2f} MiB/min)"
    )
    fig.notes.append(
        "RSS of the bench process, which is the service (nine libmpv players "
        "included) plus the bench's own small HTTP client and pixel probe. Start and "
        "end are the means of the first and last three samples; the slope is a "
        "least-squares fit. A short run mostly shows allocator warm-up; use "
        "BENCH_SOAK_S=600 for the ten-minute figure."
    )
    return fig
