"""The bench's cheapest figures run briefly, so the benchmark code cannot rot.

No timing is asserted here: only that each figure runs and the report has its shape.
"""

from __future__ import annotations

import json
from datetime import datetime

from bench import discovery, fanout, report, serial
from bench.harness import INFO, MET, MISSED, machine
from bench.rig import minimal_service

VERDICTS = {MET, MISSED, INFO}
STATS_KEYS = {"unit", "n", "median", "p10", "p90", "p99", "min", "max"}


async def test_cheap_figures_run_and_write_a_complete_report(tmp_path):
    figures = [
        discovery.figure(await discovery.measure(10, 1), 10),
        serial.figure(await serial.measure(10)),
    ]
    async with minimal_service() as (url, post, token):
        samples = await fanout.measure(url, post, ("two", "one"), 5, 2, 20, token)
    figures.append(fanout.figure(samples, 5))

    data = report.build(figures, machine(), datetime.now().astimezone())
    markdown = report.write(data, tmp_path)

    written = json.loads((tmp_path / "latest.json").read_text())
    assert set(written["figures"]) == {"discovery", "serial", "web_fanout"}
    assert {"cpu", "cores", "memory_mib", "kernel", "mpv", "ffmpeg"} <= set(
        written["machine"]
    )
    for key, fig in written["figures"].items():
        assert fig["verdict"] in VERDICTS, key
        assert fig["headline"] and fig["target"], key
        assert fig["stats"], key
        for stats in fig["stats"].values():
            assert set(stats) == STATS_KEYS and stats["n"] >= 1, key
    assert written["figures"]["serial"]["values"]["burst_lost"] == 0
    assert (
        written["figures"]["web_fanout"]["stats"]["preset_change_to_client_ms"]["n"]
        == 10
    )
    assert written["figures"]["discovery"]["stats"]["all_registered_s"]["n"] == 1
    table = markdown.read_text()
    assert "| 1 | Discovery of 10 cameras" in table
    assert len(list(tmp_path.glob("*.json"))) == 2  # latest and the dated copy
