"""Streams played by real mpv under Xvfb: credentials, AUTH FAILED, main/sub switching."""

from __future__ import annotations

import asyncio
import logging
import stat
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from controller.layouts import Layout, Rect, Tile
from controller.wall.player import AUTH_RETRY_FIRST_S, PLAYING
from controller.wall.wall import CameraFeed, Wall
from controller.wall.xserver import PrivateXvfb, WallScreen
from tests.conftest import demo_config, running_service, wait_for

pytestmark = pytest.mark.wall

START_TIMEOUT_S = 15


async def start_camera(*args: str) -> tuple[asyncio.subprocess.Process, int]:
    """A simulated RTSP camera on 127.0.0.1 (640×360 main, 320×180 on /sub)."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "controller.simulate.rtsp_camera",
        "--address",
        "127.0.0.1",
        "--sub-path",
        "/sub",
        *args,
        stdout=asyncio.subprocess.PIPE,
    )
    assert process.stdout is not None
    line = await asyncio.wait_for(process.stdout.readline(), START_TIMEOUT_S)
    assert line.startswith(b"READY"), line
    return process, int(line.split()[1])


@pytest.fixture
async def camera_with_login(
    nasty_password: str,
) -> AsyncIterator[int]:
    process, port = await start_camera("--user", "op", "--password", nasty_password)
    yield port
    process.terminate()
    await process.wait()


@pytest.fixture
def xvfb(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    server = PrivateXvfb(1920, 1080)
    name = server.start()
    monkeypatch.setenv("DISPLAY", name)
    yield name
    server.stop()


async def test_login_with_special_password_plays_and_never_leaks(
    camera_with_login: int,
    nasty_password: str,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    base = f"rtsp://127.0.0.1:{camera_with_login}"
    replies: list[str] = []

    async with running_service(demo_config(tmp_path)) as running:
        state = await running.get("/api/v1/state")
        tiles = [tile["id"] for tile in state["tiles"]]
        for body in (
            {
                "name": "Gate",
                "url": f"{base}/stream",
                "substream_url": f"{base}/sub",
                "username": "op",
                "password": nasty_password,
            },
            {
                "name": "Gate wrong",
                "url": f"{base}/stream",
                "username": "op",
                "password": nasty_password + "x",
            },
        ):
            status, reply = await running.post("/api/v1/cameras", body)
            assert status == 201, reply
            replies.append(str(reply))
        for tile, camera in zip(tiles, ("gate", "gate-wrong"), strict=False):
            async with running.http.put(
                f"{running.url}/api/v1/tiles/{tile}", json={"camera": camera}
            ) as put:
                replies.append(await put.text())
                assert put.status == 200

        async def camera(camera_id: str) -> dict:
            listing = await running.get("/api/v1/cameras")
            replies.append(str(listing))
            return next(c for c in listing["cameras"] if c["id"] == camera_id)

        async def playing_with_probe() -> bool:
            gate = await camera("gate")
            return gate["tile_status"] == PLAYING and gate["codec"] == "h264"

        await wait_for(playing_with_probe, 20, "the camera with a login to play")
        gate = await camera("gate")
        assert gate["credentials"] is True
        assert gate["stream"] in ("main", "sub")
        assert gate["width"] in (640, 320)
        assert gate["signal"] is True

        async def refused() -> bool:
            return (await camera("gate-wrong"))["tile_status"] == "auth-failed"

        await wait_for(refused, 15, "the wrong password to be refused")
        wrong = await camera("gate-wrong")
        assert wrong["reason"] == "authentication failed"
        assert wrong["auth_failed"] is True
        # Announced on the network, but no pictures: the camera says both.
        assert wrong["online"] is True
        assert wrong["signal"] is False
        player = running.service.wall.player_for("gate-wrong")
        loads = player.loads
        await asyncio.sleep(3)
        assert player.loads == loads, "a refused login must not be retried at once"
        assert player._retry is not None
        assert player._retry.when() - asyncio.get_running_loop().time() > (
            AUTH_RETRY_FIRST_S * 0.8 - 4
        )

    secrets = tmp_path / "camera-secrets.yaml"
    assert stat.S_IMODE(secrets.stat().st_mode) == 0o600
    assert nasty_password in secrets.read_text(encoding="utf-8")
    leaks = {
        "logs": caplog.text,
        "api": "\n".join(replies),
        "cameras.json": (tmp_path / "cameras.json").read_text(),
    }
    for where, text in leaks.items():
        assert nasty_password not in text, where
        assert "p%40ss" not in text, where
    assert "authentication failed; tile shows AUTH FAILED" in caplog.text


async def test_camera_switches_to_main_stream_when_its_tile_grows(
    xvfb: str,
) -> None:
    process, port = await start_camera("--label", "SWITCH")
    screen = WallScreen(xvfb)
    wall = Wall(screen, substream_below=(960, 540))
    small = Layout("small", (Tile("a", Rect(0, 0, 640, 360)),))
    big = Layout("big", (Tile("a", Rect(0, 0, 1920, 1080)),))
    feed = CameraFeed(
        "cam",
        "Cam",
        f"rtsp://127.0.0.1:{port}/stream",
        substream_url=f"rtsp://127.0.0.1:{port}/sub",
    )
    try:
        await wall.show(small, {"a": feed})
        player = wall.player_for("cam")
        assert player is not None
        await wait_for(
            lambda: player.probe and player.probe.stream == "sub", 15, "sub-stream"
        )
        assert (player.probe.width, player.probe.height) == (320, 180)

        await wall.show(big, {"a": feed})

        assert wall.player_for("cam") is player
        await wait_for(
            lambda: player.probe and player.probe.stream == "main", 15, "main stream"
        )
        assert (player.probe.width, player.probe.height) == (640, 360)
        assert player.probe.codec == "h264"
        assert wall.probe_for("cam") == player.probe
        assert player.probe.fps is None or 20 <= player.probe.fps <= 30
    finally:
        await wall.close()
        screen.close()
        process.terminate()
        await process.wait()
