"""The display routes of the HTTP API, against a simulated NovaStar processor."""

from __future__ import annotations

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from controller.displays.api import DISPLAYS_KEY, routes
from controller.displays.config import DisplaySpec
from controller.displays.controller import DisplayController

from .conftest import wait_for


@pytest.fixture
async def client(tmp_path):
    controller = DisplayController(
        {
            "wall": DisplaySpec(protocol="novastar", port="simulated"),
            "spare": DisplaySpec(protocol="lg", port=str(tmp_path / "missing")),
        }
    )
    await controller.start()
    await wait_for(lambda: controller.snapshot()["wall"]["online"])
    app = web.Application()
    app[DISPLAYS_KEY] = controller
    app.add_routes(routes)
    async with TestClient(TestServer(app)) as test_client:
        yield test_client, controller
    await controller.stop()


async def test_get_lists_every_display_with_state_and_health(client):
    test_client, _controller = client
    response = await test_client.get("/api/v1/displays")
    assert response.status == 200
    body = await response.json()
    assert body["displays"]["wall"]["online"] is True
    assert body["displays"]["wall"]["state"]["model"] == "VX4S"
    assert body["displays"]["spare"]["online"] is False


async def test_post_sets_brightness_and_answers_the_read_back_state(client):
    test_client, controller = client
    response = await test_client.post(
        "/api/v1/displays/wall/brightness", json={"value": 25}
    )
    assert response.status == 200
    assert (await response.json())["state"]["brightness"] == 25
    assert controller.displays["wall"].simulator.registers[0x02000001][0] == 64


@pytest.mark.parametrize(
    "path, body, status, message",
    [
        ("/api/v1/displays/lobby/black", {"value": True}, 404, "unknown display"),
        ("/api/v1/displays/wall/brightness", {"value": 101}, 400, "0 to 100"),
        ("/api/v1/displays/wall/power", {"value": True}, 400, "no 'power' operation"),
        ("/api/v1/displays/spare/black", {"value": True}, 503, "offline"),
    ],
)
async def test_errors_come_back_as_json_with_a_fitting_status(
    client, path, body, status, message
):
    test_client, _controller = client
    response = await test_client.post(path, json=body)
    assert response.status == status
    assert message in (await response.json())["error"]


@pytest.mark.parametrize(
    "fault, status, message",
    [
        ("silence", 504, "no reply"),
        ("nak", 502, "timed out reaching"),
        ("bad_checksum", 502, "checksum"),
    ],
)
async def test_device_faults_map_to_gateway_statuses(client, fault, status, message):
    test_client, controller = client
    display = controller.displays["wall"]
    display.reply_timeout_s = 0.3
    display.simulator.misbehave(fault)
    response = await test_client.post(
        "/api/v1/displays/wall/black", json={"value": True}
    )
    assert response.status == status
    assert message in (await response.json())["error"]
