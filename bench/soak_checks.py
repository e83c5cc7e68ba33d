"""The soak campaign's checks and report: what was sampled, what must hold, the verdict.

Checks, each pass or fail:

- ``healthy_tiles_kept_moving``: outside its own faults, every tile's clock corner
  changed at least every ``Limits.healthy_gap_s`` (the wall's stale threshold plus a
  margin for the sampling interval and a loaded machine).
- ``faulted_tiles_recovered``: after each camera fault ended, the tile was PLAYING (per
  the service) and its picture moving again within ``Limits.recovery_s``.
- ``no_reflow``: every tile kept its rectangle and its camera the whole run.
- ``serial_recovered``: after each replug the display processor was online again.
- ``api_flood_answered``: every flood request got the status it should (no 5xx, no
  dropped connection, strangers refused).
- ``reloads_correct``: valid reloads applied without touching the wall; invalid ones
  were refused with their problems and changed nothing.
- ``no_resource_growth``: threads, fds and RSS at the end against the warm-up baseline,
  within ``Limits``.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.harness import linear_slope
from bench.report import RESULTS
from controller.wall.player import RETRY_MAX_S, STALE

#: The wall's default stale threshold (``wall.stale_after_s``).
STALE_THRESHOLD_S = 3.0
#: Added to the stale threshold: two sampling intervals, and scheduling on 2 cores.
HEALTHY_GAP_MARGIN_S = 0.5
#: A faulted tile plays and moves again this soon after its camera is back: the
#: player's longest retry delay with its +20 % jitter (a camera that flaps again and
#: again waits that long by design), then one keyframe interval and the connection.
RECOVERY_BOUND_S = RETRY_MAX_S * 1.2 + 1.0 + 1.0
THREADS_TOLERANCE = 2
FDS_TOLERANCE = 8
RSS_TOLERANCE_MIB = 32.0
#: Final resource figures are the median of this many samples before the end.
FINAL_RESOURCE_SAMPLES = 3

CAMERA_KINDS = ("camera_kill", "camera_stall", "camera_restart")
LATEST_JSON = "soak-latest.json"
LATEST_MD = "soak-latest.md"


@dataclass(frozen=True)
class Limits:
    """What the checks allow."""

    healthy_gap_s: float = STALE_THRESHOLD_S + HEALTHY_GAP_MARGIN_S
    recovery_s: float = RECOVERY_BOUND_S
    threads: int = THREADS_TOLERANCE
    fds: int = FDS_TOLERANCE
    rss_mib: float = RSS_TOLERANCE_MIB


@dataclass
class Fault:
    """One injected fault: its kind, target, and when it started, ended, recovered."""

    kind: str
    target: str
    started: float
    ended: float | None = None
    recovered: float | None = None
    ok: bool | None = None
    #: Injected during warm-up: checked, but not counted in the campaign's figures.
    warmup: bool = False
    #: When the tile's picture moved again after the fault (set by the checks).
    picture_back: float | None = None
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass
class Samples:
    """Everything recorded during a run (monotonic times)."""

    rects: dict[str, tuple[int, ...]] = field(default_factory=dict)
    clock: dict[str, list[tuple[float, str]]] = field(default_factory=dict)
    #: (time, status per tile, rect per tile, camera per tile)
    status: list[
        tuple[
            float,
            dict[str, str],
            dict[str, tuple[int, ...]],
            dict[str, str | None],
        ]
    ] = field(default_factory=list)
    resources: list[tuple[float, dict[str, float]]] = field(default_factory=list)
    baseline: dict[str, float] = field(default_factory=dict)
    final: dict[str, float] = field(default_factory=dict)
    measure_from: float = 0.0
    measure_to: float = 0.0
    grab_errors: int = 0
    threads_at_baseline: dict[str, int] = field(default_factory=dict)
    threads_at_end: dict[str, int] = field(default_factory=dict)


def evaluate(samples: Samples, faults: list[Fault], limits: Limits) -> dict[str, Any]:
    """Run every check on a finished campaign; the report as JSON-able data."""
    origin = samples.measure_from
    changes = {tile: _changes(series) for tile, series in samples.clock.items()}

    camera_faults = [f for f in faults if f.kind in CAMERA_KINDS]
    recoveries: list[dict[str, Any]] = []
    for fault in camera_faults:
        moving = _picture_back(changes.get(fault.target, []), fault)
        fault.picture_back = moving
        recovery = (
            round(moving - fault.ended, 2)
            if moving is not None and fault.ended is not None
            else None
        )
        fault.detail["recovery_s"] = recovery
        recoveries.append(
            {
                "kind": fault.kind,
                "tile": fault.target,
                "at_s": round(fault.started - origin, 1),
                "warmup": fault.warmup,
                "down_s": round((fault.ended or fault.started) - fault.started, 1),
                "recovery_s": recovery,
            }
        )
    not_recovered = [
        r
        for r in recoveries
        if r["recovery_s"] is None or r["recovery_s"] > limits.recovery_s
    ]
    worst_recovery = max(
        (r["recovery_s"] for r in recoveries if r["recovery_s"] is not None),
        default=None,
    )

    gaps = {
        tile: _worst_healthy_gap(
            changes[tile],
            _fault_windows(tile, camera_faults, limits, samples.measure_to),
            samples.measure_from,
            samples.measure_to,
        )
        for tile in sorted(changes)
    }
    worst_gap = max((g["gap_s"] for g in gaps.values()), default=None)
    frozen = {
        tile: {**g, "at_s": round(g["at"] - origin, 1)}
        for tile, g in gaps.items()
        if g["gap_s"] > limits.healthy_gap_s
    }

    # A tile under no fault that the wall itself reported stale froze too, even when
    # the SIGNAL LOST drawn over it changed its pixels within the gap limit.
    for at, statuses, _, _ in samples.status:
        if not samples.measure_from <= at <= samples.measure_to:
            continue
        for tile, status in statuses.items():
            if status != STALE or tile in frozen:
                continue
            windows = _fault_windows(tile, camera_faults, limits, samples.measure_to)
            if not any(start <= at <= until for start, until in windows):
                frozen[tile] = {
                    **gaps.get(tile, {}),
                    "at_s": round(at - origin, 1),
                    "reported_stale": True,
                }

    reflows = _reflows(samples)

    serial = [f for f in faults if f.kind == "serial_unplug"]
    serial_back = [
        round(f.recovered - f.ended, 2)
        for f in serial
        if f.recovered is not None and f.ended is not None
    ]
    floods = [f for f in faults if f.kind == "api_flood"]
    reloads = [f for f in faults if f.kind.startswith("reload")]

    final = _final_resources(samples)
    growth = {key: round(final[key] - samples.baseline[key], 1) for key in final}
    tolerance = {
        "threads": limits.threads,
        "fds": limits.fds,
        "rss_mib": limits.rss_mib,
    }
    grew = {key: value for key, value in growth.items() if value > tolerance[key]}

    checks: dict[str, dict[str, Any]] = {
        "healthy_tiles_kept_moving": {
            "passed": not frozen and all(len(c) > 1 for c in changes.values()),
            "limit_s": limits.healthy_gap_s,
            "worst_gap_s": worst_gap,
            "worst_gap_by_tile_s": {t: g["gap_s"] for t, g in gaps.items()},
            "frozen": frozen,
        },
        "faulted_tiles_recovered": {
            "passed": not not_recovered,
            "limit_s": limits.recovery_s,
            "worst_recovery_s": worst_recovery,
            "not_recovered": not_recovered,
        },
        "no_reflow": {"passed": not reflows, "changes": reflows[:10]},
        "serial_recovered": {
            "passed": len(serial_back) == len(serial),
            "unplugs": len(serial),
            "worst_back_online_s": max(serial_back, default=None),
        },
        "api_flood_answered": {
            "passed": all(f.ok for f in floods),
            "floods": [f.detail for f in floods],
        },
        "reloads_correct": {
            "passed": all(f.ok for f in reloads),
            "wrong": [{"kind": f.kind, **f.detail} for f in reloads if not f.ok],
        },
        "no_resource_growth": {
            "passed": not grew,
            "baseline": samples.baseline,
            "final": final,
            "growth": growth,
            "tolerance": tolerance,
        },
    }
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "passed": all(check["passed"] for check in checks.values()),
        "faults_by_kind": dict(
            sorted(Counter(f.kind for f in faults if not f.warmup).items())
        ),
        "worst_healthy_gap_s": worst_gap,
        "worst_recovery_s": worst_recovery,
        "resources": {
            "baseline": samples.baseline,
            "final": final,
            "growth": growth,
            "tolerance": tolerance,
            "rss_slope_mib_per_min": _rss_slope(samples),
            "thread_names_changed": {
                name: [samples.threads_at_baseline.get(name, 0), count]
                for name, count in _thread_diff(samples).items()
            },
        },
        "limits": {
            "healthy_gap_s": limits.healthy_gap_s,
            "stale_threshold_s": STALE_THRESHOLD_S,
            "recovery_s": limits.recovery_s,
        },
        "checks": checks,
        "warmup_faults": sum(1 for f in faults if f.warmup),
        "recoveries": recoveries,
        # [seconds from the measurement start, threads, fds, RSS MiB]
        "resource_samples": [
            [round(at - origin, 1), r["threads"], r["fds"], r["rss_mib"]]
            for at, r in samples.resources
        ],
        "clock_samples": sum(len(s) for s in samples.clock.values()),
        "grab_errors": samples.grab_errors,
        "measured_s": round(samples.measure_to - samples.measure_from, 1),
    }


def markdown(report: dict[str, Any]) -> str:
    """A short Markdown summary: verdict, figures, one line per check."""
    res = report["resources"]
    lines = [
        f"# Opswall soak — {report['date']}",
        "",
        f"**{'PASSED' if report['passed'] else 'FAILED'}** — "
        f"{report['duration_s']:.0f} s of faults (seed {report['seed']}), "
        f"{report['measured_s']:.0f} s measured after a warm-up of "
        f"{report['warmup_faults']} faults and {report['warmup_s']:.0f} s of quiet "
        f"playing, {report['clock_samples']} clock samples.",
        "",
        "Faults: "
        + ", ".join(f"{kind} × {n}" for kind, n in report["faults_by_kind"].items()),
        "",
        f"- Worst gap on a healthy tile: {report['worst_healthy_gap_s']} s "
        f"(limit {report['limits']['healthy_gap_s']} s = stale threshold "
        f"{report['limits']['stale_threshold_s']} s + {HEALTHY_GAP_MARGIN_S} s margin)",
        f"- Worst recovery after a camera fault ended: {report['worst_recovery_s']} s "
        f"(limit {report['limits']['recovery_s']} s)",
        "- Resources (baseline → end, tolerance): "
        + ", ".join(
            f"{key} {res['baseline'][key]} → {res['final'][key]} "
            f"({res['growth'][key]:+}, ≤ +{res['tolerance'][key]})"
            for key in res["final"]
        )
        + f"; RSS trend {res['rss_slope_mib_per_min']} MiB/min",
        "",
        "| Check | Result |",
        "|---|---|",
    ]
    for name, check in report["checks"].items():
        lines.append(f"| {name} | {'✅ pass' if check['passed'] else '❌ FAIL'} |")
    failed = {n: c for n, c in report["checks"].items() if not c["passed"]}
    if failed:
        lines += ["", "## Failures", ""]
        for name, check in failed.items():
            detail = {k: v for k, v in check.items() if k != "passed"}
            lines.append(f"- **{name}**: `{json.dumps(detail)[:600]}`")
    return "\n".join(lines) + "\n"


def write_report(report: dict[str, Any], directory: Path | None = None) -> Path:
    """Write soak-latest.json and soak-latest.md; return the Markdown path."""
    directory = directory or RESULTS
    directory.mkdir(parents=True, exist_ok=True)
    (directory / LATEST_JSON).write_text(
        json.dumps(report, indent=2, ensure_ascii=False) + "\n"
    )
    path = directory / LATEST_MD
    path.write_text(markdown(report))
    return path


def _changes(series: list[tuple[float, str]]) -> list[float]:
    """The times at which a tile's clock corner differed from the sample before."""
    times: list[float] = []
    previous = None
    for at, digest in series:
        if previous is not None and digest != previous:
            times.append(at)
        previous = digest
    return times


def _picture_back(changes: list[float], fault: Fault) -> float | None:
    """When the tile moved again after the fault: the first change once the camera
    was back and the service said PLAYING, confirmed by a second change within 2 s."""
    if fault.ended is None or fault.recovered is None:
        return None
    after = [t for t in changes if t >= max(fault.ended, fault.recovered)]
    for first, second in zip(after, after[1:], strict=False):
        if second - first <= 2.0:
            return first
    return None


def _fault_windows(
    tile: str, faults: list[Fault], limits: Limits, end: float
) -> list[tuple[float, float]]:
    """When ``tile`` was under a fault: from its start until its picture moved again
    (or until the recovery bound ran out)."""
    windows = []
    for fault in faults:
        if fault.target != tile:
            continue
        ended = fault.ended if fault.ended is not None else end
        until = fault.picture_back or ended + limits.recovery_s
        windows.append((fault.started, min(until, end)))
    return windows


def _worst_healthy_gap(
    changes: list[float],
    windows: list[tuple[float, float]],
    start: float,
    end: float,
) -> dict[str, float]:
    """The longest time without a change while the tile was under no fault.

    A stretch that follows a fault starts when the picture moved again; the first
    stretch starts at the tile's last change before the measurement began.
    """
    worst = {"gap_s": 0.0, "at": start}
    for a, b in _complement(windows, start, end):
        before = [t for t in changes if t <= a]
        points = [before[-1] if before and a == start else a]
        points += [t for t in changes if a < t <= b]
        points.append(b)
        for first, second in zip(points, points[1:], strict=False):
            if second - first > worst["gap_s"]:
                worst = {"gap_s": round(second - first, 2), "at": first}
    return worst


def _complement(
    windows: list[tuple[float, float]], start: float, end: float
) -> list[tuple[float, float]]:
    free = []
    cursor = start
    for a, b in sorted(windows):
        if a > cursor:
            free.append((cursor, min(a, end)))
        cursor = max(cursor, b)
    if cursor < end:
        free.append((cursor, end))
    return [(a, b) for a, b in free if b > a]


def _reflows(samples: Samples) -> list[dict[str, Any]]:
    """Every sample where a tile's rect or camera differed from the start."""
    if not samples.status:
        return [{"error": "no status samples"}]
    _, _, _, cameras = samples.status[0]
    found = []
    for at, _, rects, now_cameras in samples.status:
        if rects != samples.rects or now_cameras != cameras:
            found.append(
                {
                    "at_s": round(at - samples.measure_from, 1),
                    "rects": rects,
                    "cameras": now_cameras,
                }
            )
    return found


def _rss_slope(samples: Samples) -> float | None:
    """Least-squares RSS trend over the measured window, MiB per minute (information)."""
    points = {
        at: r["rss_mib"]
        for at, r in samples.resources
        if samples.measure_from <= at <= samples.measure_to
    }
    if len(points) < 3:
        return None
    return round(linear_slope(points) * 60, 2)


def _thread_diff(samples: Samples) -> dict[str, int]:
    """Thread names whose count differs between the baseline and the end."""
    before, after = samples.threads_at_baseline, samples.threads_at_end
    return {
        name: after.get(name, 0)
        for name in sorted(set(before) | set(after))
        if before.get(name, 0) != after.get(name, 0)
    }


def _final_resources(samples: Samples) -> dict[str, float]:
    """The end figures: the median of the last few samples and the final reading."""
    tail = [r for _, r in samples.resources[-FINAL_RESOURCE_SAMPLES:]]
    tail.append(samples.final)
    result = {}
    for key in samples.final:
        values = sorted(r[key] for r in tail)
        result[key] = values[len(values) // 2]
    return result
