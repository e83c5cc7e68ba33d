"""Benchmark harness: samples and their spread, figures, CPU and memory readings."""

from __future__ import annotations

import math
import os
import platform
import re
import shutil
import statistics
import subprocess
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CLOCK_TICKS_PER_S = os.sysconf("SC_CLK_TCK")
PAGE_BYTES = os.sysconf("SC_PAGE_SIZE")
MIB = 1024 * 1024

# Verdicts of a figure against its target.
MET = "met"
MISSED = "missed"
INFO = "info"


def now() -> float:
    """The benchmark clock: CLOCK_MONOTONIC, comparable across our processes."""
    return time.monotonic()


@dataclass(frozen=True)
class Stats:
    """Median and spread of a set of samples, in ``unit``."""

    unit: str
    n: int
    median: float
    p10: float
    p90: float
    p99: float
    minimum: float
    maximum: float

    @classmethod
    def of(cls, samples: Iterable[float], unit: str) -> Stats:
        """Summarise ``samples`` (at least one)."""
        values = sorted(samples)
        if not values:
            raise ValueError(f"no samples to summarise (unit {unit})")
        return cls(
            unit=unit,
            n=len(values),
            median=statistics.median(values),
            p10=percentile(values, 10),
            p90=percentile(values, 90),
            p99=percentile(values, 99),
            minimum=values[0],
            maximum=values[-1],
        )

    def as_json(self) -> dict[str, Any]:
        """The numbers, rounded for the report."""
        return {
            "unit": self.unit,
            "n": self.n,
            "median": _round(self.median),
            "p10": _round(self.p10),
            "p90": _round(self.p90),
            "p99": _round(self.p99),
            "min": _round(self.minimum),
            "max": _round(self.maximum),
        }

    def brief(self) -> str:
        """``median (p10–p90, n=…) unit`` for the Markdown table."""
        return (
            f"{_fmt(self.median)} {self.unit} "
            f"(p10 {_fmt(self.p10)}, p90 {_fmt(self.p90)}, "
            f"max {_fmt(self.maximum)}, n={self.n})"
        )


def percentile(sorted_values: list[float], pct: float) -> float:
    """Linear-interpolated percentile of already sorted values."""
    if len(sorted_values) == 1:
        return sorted_values[0]
    rank = (len(sorted_values) - 1) * pct / 100
    low = math.floor(rank)
    high = min(low + 1, len(sorted_values) - 1)
    return sorted_values[low] + (sorted_values[high] - sorted_values[low]) * (
        rank - low
    )


@dataclass
class Figure:
    """One benchmark figure: its measurements, its target and what we make of it."""

    key: str
    title: str
    headline: str = ""
    target: str = ""
    verdict: str = INFO
    stats: dict[str, Stats] = field(default_factory=dict)
    values: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    error: str | None = None
    duration_s: float = 0.0

    def judge(self, ok: bool, miss: str) -> None:
        """Set the verdict; on a miss, say by how much and why in ``miss``."""
        self.verdict = MET if ok else MISSED
        if not ok:
            self.notes.insert(0, f"MISSED: {miss}")

    def as_json(self) -> dict[str, Any]:
        """The figure as the JSON report holds it."""
        return {
            "title": self.title,
            "headline": self.headline,
            "target": self.target,
            "verdict": self.verdict,
            "stats": {name: s.as_json() for name, s in self.stats.items()},
            "values": self.values,
            "notes": self.notes,
            "error": self.error,
            "duration_s": round(self.duration_s, 1),
        }


# -- the machine ---------------------------------------------------------------------


def machine() -> dict[str, Any]:
    """CPU model, cores, memory, kernel and the versions of the media stack."""
    cpu = ""
    for line in _read("/proc/cpuinfo").splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    mem_kb = _meminfo().get("MemTotal", 0)
    return {
        "hostname": platform.node(),
        "cpu": cpu or platform.processor(),
        "cores": os.cpu_count(),
        "memory_mib": round(mem_kb / 1024),
        "kernel": platform.release(),
        "os": _os_name(),
        "python": platform.python_version(),
        "mpv": _first_line(["mpv", "--version"]),
        "libmpv": _libmpv_version(),
        "ffmpeg": _first_line(["ffmpeg", "-version"]),
        "gstreamer": _first_line(["gst-launch-1.0", "--version"], line=1),
        "xvfb": "Xvfb" if shutil.which("Xvfb") else "missing",
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
    }


def _libmpv_version() -> str:
    try:
        import mpv

        major, minor = mpv._mpv_client_api_version()
        return f"client API {major}.{minor}"
    except (ImportError, AttributeError, OSError, TypeError, ValueError):
        return ""


def _os_name() -> str:
    for line in _read("/etc/os-release").splitlines():
        if line.startswith("PRETTY_NAME="):
            return line.split("=", 1)[1].strip('"')
    return platform.system()


def _first_line(command: list[str], line: int = 0) -> str:
    if shutil.which(command[0]) is None:
        return "missing"
    try:
        out = subprocess.run(
            command, capture_output=True, text=True, timeout=10, check=False
        ).stdout
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    lines = out.splitlines()
    return re.sub(r"\s+Copyright.*", "", lines[line]) if len(lines) > line else ""


def _meminfo() -> dict[str, int]:
    result = {}
    for line in _read("/proc/meminfo").splitlines():
        key, _, rest = line.partition(":")
        result[key] = int(rest.split()[0]) if rest.split() else 0
    return result


def _read(path: str) -> str:
    try:
        return Path(path).read_text()
    except OSError:
        return ""


# -- CPU and memory ------------------------------------------------------------------


@dataclass(frozen=True)
class ThreadCpu:
    """CPU seconds of one thread of a process at one moment."""

    tid: int
    name: str
    cpu_s: float


def threads_cpu(pid: int | str = "self") -> list[ThreadCpu]:
    """utime+stime of every thread of ``pid``, from /proc/<pid>/task/*/stat."""
    result = []
    base = Path(f"/proc/{pid}/task")
    for task in base.iterdir():
        raw = _read(str(task / "stat"))
        if not raw:
            continue  # the thread ended meanwhile
        name = raw[raw.index("(") + 1 : raw.rindex(")")]
        fields = raw[raw.rindex(")") + 2 :].split()
        ticks = int(fields[11]) + int(fields[12])
        result.append(ThreadCpu(int(task.name), name, ticks / CLOCK_TICKS_PER_S))
    return result


def process_cpu_s(pid: int | str = "self") -> float:
    """utime+stime of the whole process (its ended threads included)."""
    raw = _read(f"/proc/{pid}/stat")
    fields = raw[raw.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS_PER_S


def rss_mib(pid: int | str = "self") -> float:
    """Resident memory of ``pid`` in MiB."""
    for line in _read(f"/proc/{pid}/status").splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def cpu_delta(
    before: list[ThreadCpu], after: list[ThreadCpu]
) -> dict[int, tuple[str, float]]:
    """CPU seconds each thread used between two readings (tid → (name, seconds))."""
    start = {t.tid: t.cpu_s for t in before}
    return {t.tid: (t.name, t.cpu_s - start.get(t.tid, 0.0)) for t in after}


def linear_slope(points: Mapping[float, float]) -> float:
    """Least-squares slope of y over x (0 with fewer than two points)."""
    if len(points) < 2:
        return 0.0
    xs, ys = list(points), list(points.values())
    mean_x, mean_y = statistics.fmean(xs), statistics.fmean(ys)
    den = sum((x - mean_x) ** 2 for x in xs)
    if den == 0:
        return 0.0
    return sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True)) / den


def _round(value: float) -> float:
    return round(value, 3 if abs(value) < 100 else 1)


def _fmt(value: float) -> str:
    if abs(value) >= 100:
        return f"{value:.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"
