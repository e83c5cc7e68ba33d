"""Config reload: valid changes apply with the least disturbance, invalid ones change nothing."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from controller.config.loader import load_config
from tests.conftest import REPO, running_service, wait_for

pytestmark = pytest.mark.wall


def copy_demo(tmp_path: Path, port: int = 0) -> Path:
    """The demo config with its layouts and presets, in ``tmp_path``, editable."""
    for name in ("layouts.yaml", "presets.yaml"):
        shutil.copy(REPO / "layouts" / name, tmp_path / name)
    text = (REPO / "config" / "demo.yaml").read_text()
    text = text.replace("../layouts/", "").replace("../.opswall-demo-state", "state")
    text = text.replace("port: 8080", f"port: {port}")
    (tmp_path / "opswall.yaml").write_text(text)
    return tmp_path / "opswall.yaml"


async def test_invalid_config_is_refused_and_the_wall_keeps_its_view(tmp_path):
    path = copy_demo(tmp_path)
    async with running_service(load_config(path)) as running:
        await running.post("/api/v1/presets/traffic/activate")
        before = await running.get("/api/v1/state")
        players = {c: running.service.wall.player_for(c) for c in ("junction-1", "junction-2")}

        presets = tmp_path / "presets.yaml"
        presets.write_text(presets.read_text().replace("layout: traffic-8", "layout: trafic-8"))
        status, reply = await running.post("/api/v1/config/reload")
        assert status == 422
        assert reply["error"] == "config refused; nothing changed"
        assert any(
            "presets.traffic.layout: found unknown layout 'trafic-8'" in p
            for p in reply["problems"]
        )
        after = await running.get("/api/v1/state")
        assert [t["camera"] for t in after["tiles"]] == [t["camera"] for t in before["tiles"]]
        assert after["preset"] == "traffic"
        for camera, player in players.items():
            assert running.service.wall.player_for(camera) is player


async def test_valid_change_applies_and_keeps_unchanged_tiles(tmp_path):
    path = copy_demo(tmp_path)
    async with running_service(load_config(path)) as running:
        await running.post("/api/v1/presets/city-centre/activate")
        kept = running.service.wall.player_for("junction-3")

        presets = tmp_path / "presets.yaml"
        text = presets.read_text().replace(
            "      t4: junction-6\n\n  bridge:", "      t4: junction-8\n\n  bridge:"
        )
        text += "\n  night:\n    title: Night\n    presets: [bridge]\n"
        text = text.replace(
            "  bridge:\n", "  harbour:\n    layout: single\n    cameras: {main: junction-1}\n\n  bridge:\n", 1
        )
        presets.write_text(text)
        status, reply = await running.post("/api/v1/config/reload")
        assert status == 200, reply
        assert reply["restart_needed"] == []
        state = reply["state"]
        assert state["preset"] == "city-centre"
        assert [t["camera"] for t in state["tiles"]] == [
            "junction-3", "junction-4", "junction-5", "junction-8"
        ]
        assert running.service.wall.player_for("junction-3") is kept
        names = [p["name"] for p in (await running.get("/api/v1/presets"))["presets"]]
        assert "harbour" in names
        tours = await running.get("/api/v1/tours")
        assert [t["name"] for t in tours["tours"]] == ["city-loop", "night"]


async def test_changing_the_wall_resolution_needs_a_restart(tmp_path):
    path = copy_demo(tmp_path)
    async with running_service(load_config(path)) as running:
        path.write_text(path.read_text().replace("[1920, 1080]", "[1280, 720]"))
        status, reply = await running.post("/api/v1/config/reload")
        assert status == 409
        assert reply["error"] == (
            "wall.resolution changed from (1920, 1080) to (1280, 720): the layouts "
            "depend on it, so restart the service to apply this config (nothing changed)"
        )


async def test_hardware_sections_are_reported_as_needing_a_restart(tmp_path):
    path = copy_demo(tmp_path)
    async with running_service(load_config(path)) as running:
        path.write_text(path.read_text().replace("poll_interval_s: 5", "poll_interval_s: 7"))
        status, reply = await running.post("/api/v1/config/reload")
        assert status == 200
        assert reply["restart_needed"] == ["displays"]
        assert running.service.config.spec.displays["led-wall"].poll_interval_s == 5


def start_opswall_run(
    tmp_path: Path, secret: str, **popen: Any
) -> tuple[subprocess.Popen[str], Path, int]:
    """``opswall run`` on a copy of the demo config, on a free port with ``secret``
    as admin secret, as its own process (stderr piped): the process, the config's
    path and the port."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    path = copy_demo(tmp_path, port)
    path.write_text(path.read_text() + f"access: {{admin_secret: {secret}}}\n")
    process = subprocess.Popen(
        [sys.executable, "-m", "controller.cli", "run", "--config", str(path)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        **popen,
    )
    return process, path, port


async def test_sighup_reloads_the_running_service(tmp_path):
    secret = "sighup-test-admin-secret"
    process, path, port = start_opswall_run(tmp_path, secret)
    url = f"http://127.0.0.1:{port}/api/v1/presets"
    try:
        headers = {"Authorization": f"Bearer {secret}"}
        async with aiohttp.ClientSession(headers=headers) as http:

            async def names() -> list[str] | None:
                try:
                    async with http.get(url) as reply:
                        return [p["name"] for p in (await reply.json())["presets"]]
                except aiohttp.ClientError:
                    return None

            assert "harbour" not in await wait_for(names, 30, "the service to answer")
            presets = tmp_path / "presets.yaml"
            presets.write_text(
                presets.read_text().replace(
                    "  bridge:\n",
                    "  harbour:\n    layout: single\n    cameras: {main: junction-1}\n\n  bridge:\n",
                    1,
                )
            )
            process.send_signal(signal.SIGHUP)
            await wait_for(
                lambda: _contains(names, "harbour"), 10, "the new preset after SIGHUP"
            )
    finally:
        process.terminate()
        _, err = process.communicate(timeout=20)
    assert process.returncode == 0, err
    assert "config reloaded by SIGHUP" in err


async def _contains(names, name):
    found = await names()
    return found is not None and name in found


