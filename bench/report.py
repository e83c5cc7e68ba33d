"""Writes the report: bench/results/latest.json, latest.md and dated copies."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.harness import Figure

RESULTS = Path(__file__).resolve().parent / "results"


def build(
    figures: list[Figure], machine: dict[str, Any], started: datetime
) -> dict[str, Any]:
    """The JSON report."""
    return {
        "date": started.isoformat(timespec="seconds"),
        "machine": machine,
        "figures": {f.key: f.as_json() for f in figures},
    }


def markdown(report: dict[str, Any]) -> str:
    """A short Markdown table of the figures, then the notes and the machine."""
    m = report["machine"]
    lines = [
        f"# Opswall benchmarks — {report['date']}",
        "",
        f"Machine: {m['cpu']}, {m['cores']} cores, {m['memory_mib']} MiB, "
        f"kernel {m['kernel']} ({m['os']}); {m['mpv']}; {m['ffmpeg']}; "
        f"{m['gstreamer']}; load average at start {m['load_average_at_start']}.",
        "",
        "| # | Figure | Result (median, spread) | Target | Verdict |",
        "|---|---|---|---|---|",
    ]
    for n, fig in enumerate(report["figures"].values(), start=1):
        verdict = {"met": "✅ met", "missed": "❌ missed", "info": "ℹ️"}.get(
            fig["verdict"], fig["verdict"]
        )
        result = fig["headline"] if not fig["error"] else f"ERROR: {fig['error']}"
        lines.append(
            f"| {n} | {fig['title']} | {result} | {fig['target']} | {verdict} |"
        )
    lines += ["", "## Spread", ""]
    for key, fig in report["figures"].items():
        for name, s in fig["stats"].items():
            lines.append(
                f"- {key}.{name}: median {s['median']} {s['unit']}, p10 {s['p10']}, "
                f"p90 {s['p90']}, p99 {s['p99']}, min {s['min']}, max {s['max']}, "
                f"n={s['n']}"
            )
    lines += ["", "## Notes", ""]
    for key, fig in report["figures"].items():
        for note in fig["notes"]:
            lines.append(f"- **{key}**: {note}")
    return "\n".join(lines) + "\n"


def write(report: dict[str, Any], directory: Path = RESULTS) -> Path:
    """Write latest.json/.md and a dated copy of each; return the Markdown path."""
    directory.mkdir(parents=True, exist_ok=True)
    stamp = datetime.fromisoformat(report["date"]).astimezone(UTC)
    dated = stamp.strftime("%Y%m%dT%H%M%SZ")
    latest_json = directory / "latest.json"
    latest_md = directory / "latest.md"
    latest_json.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    latest_md.write_text(markdown(report))
    shutil.copyfile(latest_json, directory / f"{dated}.json")
    shutil.copyfile(latest_md, directory / f"{dated}.md")
    return latest_md
