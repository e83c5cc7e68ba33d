"""The service's health for the systemd watchdog, and the wall's stale time from config."""

from __future__ import annotations

import threading

import pytest

from controller.config.loader import load_config
from controller.wall.wall import PING_TIMEOUT_S
from tests.conftest import running_service, wait_for
from tests.test_reload import copy_demo

pytestmark = pytest.mark.wall


async def test_stale_after_comes_from_config_and_changes_on_reload(tmp_path):
    path = copy_demo(tmp_path)
    path.write_text(
        path.read_text().replace("  display: null\n", "  display: null\n  stale_after_s: 1.5\n")
    )
    async with running_service(load_config(path)) as running:
        assert running.service.wall.stale_after_s == 1.5

        path.write_text(path.read_text().replace("stale_after_s: 1.5", "stale_after_s: 4"))
        status, reply = await running.post("/api/v1/config/reload")
        assert status == 200, reply
        assert reply["restart_needed"] == []
        assert running.service.wall.stale_after_s == 4.0


async def test_a_hung_player_withholds_the_watchdog_ping(tmp_path, monkeypatch):
    async with running_service(load_config(copy_demo(tmp_path))) as running:
        service = running.service
        await wait_for(service.healthy, 5, "a healthy service")

        # libmpv cannot be made to hang on purpose: its answer to a ping never comes.
        release = threading.Event()
        player = service.wall.players[0]
        monkeypatch.setattr(player, "ping", lambda: release.wait(30))
        try:
            await wait_for(lambda: not service.healthy(), PING_TIMEOUT_S + 3, "unhealthy")
            await wait_for(service.healthy, 6, "healthy again once replaced")
            assert service.wall.replaced == 1
        finally:
            release.set()
