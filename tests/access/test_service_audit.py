"""The running service: every change is audited, and no secret reaches a log."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from pathlib import Path
from types import MappingProxyType

import aiohttp
import pytest

from controller.access.roles import Role
from controller.layouts import Tour
from tests.conftest import demo_config, running_service, wait_for

pytestmark = pytest.mark.wall

OPERATOR_PIN = "480213"
WRONG_PIN = "777391"
CAMERA_PASSWORD = "Cam-Pa55-Gate-9"
URL_PASSWORD = "Url-Secret-4471"
#: Files that hold a secret on purpose (hashed or, for cameras, mode 0600).
SECRET_FILES = {"users.json", "tokens.json", "camera-secrets.yaml", "admin-secret"}


def _tablet() -> aiohttp.ClientSession:
    # A tablet on the appliance's IP address keeps the cookie, as browsers do.
    return aiohttp.ClientSession(
        cookie_jar=aiohttp.CookieJar(unsafe=True),
        headers={"User-Agent": "ops-tablet-2"},
    )


async def _add_operator(running) -> None:
    await asyncio.get_running_loop().run_in_executor(
        None, running.access.users.set, "otto", Role.OPERATOR, OPERATOR_PIN, "tests"
    )


async def _tablet_login(running, http: aiohttp.ClientSession) -> dict[str, str]:
    async with http.post(
        running.url + "/api/v1/login",
        json={"user": "otto", "secret": OPERATOR_PIN},
    ) as reply:
        assert reply.status == 200
        return {"X-CSRF-Token": (await reply.json())["csrf"]}


async def _audit(running) -> list[dict]:
    return (await running.get("/api/v1/audit?limit=1000"))["entries"][::-1]


async def test_every_change_appears_in_the_audit_log(tmp_path):
    config = demo_config(tmp_path / "state")
    async with running_service(config) as running, _tablet() as tablet:
        await _add_operator(running)
        async with tablet.post(
            running.url + "/api/v1/login", json={"user": "otto", "secret": WRONG_PIN}
        ) as reply:
            assert reply.status == 401
        csrf = await _tablet_login(running, tablet)

        async with tablet.post(
            running.url + "/api/v1/presets/traffic/activate", headers=csrf
        ) as reply:
            assert reply.status == 200
        async with tablet.put(
            running.url + "/api/v1/tiles/t2",
            json={"camera": "junction-5"},
            headers=csrf,
        ) as reply:
            assert reply.status == 200
        async with tablet.post(
            running.url + "/api/v1/displays/led-wall/brightness",
            json={"value": 40},
            headers=csrf,
        ) as reply:
            assert reply.status == 200, await reply.text()
        status, _ = await running.post(
            "/api/v1/presets", {"name": "audit-check", "title": "Audit check"}
        )
        assert status in (200, 201)
        status, _ = await running.post("/api/v1/config/reload")
        assert status == 200
        event = await running.service.buttons.press("overview", 0.1)
        assert event is not None
        await wait_for(
            lambda: running.service.state()["preset"] == "overview", 5, "overview"
        )

        entries = await wait_for(
            lambda: _audit_if(running, lambda e: len(e) >= 8), 5, "8 audit entries"
        )

    actions = [(e["action"], e.get("target"), e["result"]) for e in entries]
    assert actions == [
        ("login", None, "failed"),
        ("login", None, "ok"),
        ("preset.activate", "traffic", "ok"),
        ("tile.assign", "t2", "ok"),
        (
            "display.operate",
            "led-wall/brightness",
            "ok",
        ),
        ("preset.save", None, "ok"),
        ("config.reload", None, "ok"),
        ("preset.activate", "overview", "ok"),
    ]
    failed, login, activate, tile, display, save, reload, button = entries
    assert failed["who"] == {"user": "otto"}
    for entry in (login, activate, tile, display):
        assert entry["who"] == {"user": "otto", "role": "operator"}
        assert entry["from"] == {"ip": "127.0.0.1", "agent": "ops-tablet-2"}
    assert display["details"]["body"] == {"value": 40}
    for entry in (save, reload):
        assert entry["who"] == {"role": "admin", "token": "test-harness"}
    assert save["details"]["body"] == {"name": "audit-check", "title": "Audit check"}
    assert button["who"] == {"button": "overview", "role": "operator"}
    assert button["from"] == {"ip": None, "agent": "desk panel"}
    on_disk = (tmp_path / "state" / "audit.jsonl").read_text().splitlines()
    assert len(on_disk) == len(entries)


async def _audit_if(running, predicate):
    entries = await _audit(running)
    return entries if predicate(entries) else None


async def test_no_secret_reaches_the_log_or_the_audit_file(tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    state = tmp_path / "state"
    config = demo_config(state)
    async with running_service(config) as running, _tablet() as tablet:
        await _add_operator(running)
        async with tablet.post(
            running.url + "/api/v1/login", json={"user": "otto", "secret": WRONG_PIN}
        ):
            pass
        csrf = await _tablet_login(running, tablet)
        async with tablet.post(
            running.url + "/api/v1/presets/traffic/activate", headers=csrf
        ) as reply:
            assert reply.status == 200

        status, made = await running.post(
            "/api/v1/tokens", {"name": "scada", "role": "operator"}
        )
        assert status == 201
        token = made["token"]
        async with aiohttp.ClientSession(
            headers={"Authorization": f"Bearer {token}"}
        ) as scada:
            async with scada.post(running.url + "/api/v1/return") as reply:
                assert reply.status in (200, 409)
        async with aiohttp.ClientSession(
            headers={"Authorization": "Bearer owt_not-a-real-token-xyz"}
        ) as stranger:
            async with stranger.get(running.url + "/api/v1/state") as reply:
                assert reply.status == 401

        status, reply = await running.post(
            "/api/v1/cameras",
            {
                "name": "Depot gate",
                "url": "rtsp://127.0.0.1:9/gate",
                "username": "ops",
                "password": CAMERA_PASSWORD,
            },
        )
        assert status == 201, reply
        status, reply = await running.post(
            "/api/v1/cameras",
            {
                "name": "Depot yard",
                "url": f"rtsp://ops:{URL_PASSWORD}@127.0.0.1:9/yard",
            },
        )
        assert status == 201, reply
        # On the wall, the player opens the camera with its credentials and fails.
        async with running.http.put(
            running.url + "/api/v1/tiles/t2", json={"camera": reply["id"]}
        ) as placed:
            assert placed.status == 200
        await wait_for(
            lambda: _tile_status(running, "t2") == "no-signal", 10, "t2 NO SIGNAL"
        )
        admin_secret = running.admin_secret
        harness_token = running.token

    secrets = {
        "operator PIN": OPERATOR_PIN,
        "wrong PIN": WRONG_PIN,
        "API token": token,
        "harness token": harness_token,
        "admin secret": admin_secret,
        "camera password": CAMERA_PASSWORD,
        "password in a camera URL": URL_PASSWORD,
    }
    assert "failed login as 'otto'" in caplog.text  # the capture did see the service
    audit = (state / "audit.jsonl").read_text()
    assert '"action": "camera.add"' in audit
    leaks = [
        f"{name} in the log" for name, value in secrets.items() if value in caplog.text
    ] + [
        f"{name} in the audit log" for name, value in secrets.items() if value in audit
    ]
    for path in _files(state):
        if path.name not in SECRET_FILES:
            text = path.read_text(errors="replace")
            leaks += [
                f"{name} in {path.name}" for name, v in secrets.items() if v in text
            ]
    assert leaks == []


def _tile_status(running, tile: str) -> str:
    tiles = running.service.state()["tiles"]
    return next(t["status"] for t in tiles if t["id"] == tile)


def _files(root: Path) -> list[Path]:
    return [path for path in root.rglob("*") if path.is_file()]


async def test_each_tour_step_is_audited_once_as_done_by_the_tour(tmp_path):
    tour = Tour("loop", (("overview", 0.4), ("traffic", 0.4)), "Loop")
    config = dataclasses.replace(
        demo_config(tmp_path / "state"), tours=MappingProxyType({"loop": tour})
    )
    async with running_service(config) as running, _tablet() as tablet:
        await _add_operator(running)
        csrf = await _tablet_login(running, tablet)
        async with tablet.post(
            running.url + "/api/v1/tours/loop/start", headers=csrf
        ) as reply:
            assert reply.status == 200

        def steps(entries: list[dict]) -> list[dict]:
            return [e for e in entries if "tour" in e["who"]]

        await wait_for(
            lambda: _audit_if(running, lambda e: len(steps(e)) >= 3), 10, "3 steps"
        )
        async with tablet.post(
            running.url + "/api/v1/tours/stop", headers=csrf
        ) as reply:
            assert reply.status == 200
        stopped = await _audit(running)
        await asyncio.sleep(1)  # two more dwell times: no step runs after the stop
        entries = await _audit(running)

    assert entries == stopped
    start = next(e for e in entries if e["action"] == "tour.start")
    assert (start["target"], start["who"]) == (
        "loop",
        {"user": "otto", "role": "operator"},
    )
    done = steps(entries)
    # One line per step, in the tour's order, between the start and the stop.
    assert [e["target"] for e in done] == ["overview", "traffic"] * (len(done) // 2) + [
        "overview"
    ] * (len(done) % 2)
    assert entries.index(start) < entries.index(done[0])
    assert entries[-1]["action"] == "tour.stop"
    for entry in done:
        assert entry["action"] == "preset.activate" and entry["result"] == "ok"
        assert entry["who"] == {"tour": "loop", "started_by": "api user otto 127.0.0.1"}
        assert entry["from"] == {"ip": None, "agent": "tour"}
