"""Presets through the running service: desk buttons, emergency priority, tours."""

from __future__ import annotations

import asyncio
import dataclasses
from types import MappingProxyType

import pytest

from controller.layouts import Tour
from controller.simulate.cameras import SimulatedCameraSet
from tests.conftest import demo_config, running_service, wait_for

pytestmark = pytest.mark.wall


async def lamp(running, name: str) -> str:
    buttons = (await running.get("/api/v1/buttons"))["buttons"]
    return next(b["lamp"] for b in buttons if b["name"] == name)


async def test_emergency_button_hold_return_and_lamps(tmp_path):
    config = demo_config(tmp_path / "state")
    async with running_service(config) as running:
        status, _ = await running.post("/api/v1/presets/traffic/activate")
        assert status == 200
        assert await lamp(running, "traffic") == "on"

        # A short press of EMERGENCY does nothing: it needs a 1 s hold.
        status, reply = await running.post(
            "/api/v1/buttons/emergency/press", {"hold_s": 0.3}
        )
        assert status == 200 and reply["event"] is None
        assert (await running.get("/api/v1/state"))["preset"] == "traffic"

        status, reply = await running.post(
            "/api/v1/buttons/emergency/press", {"hold_s": 1.3}
        )
        assert status == 200 and reply["event"]["action"] == "flood"
        state = await wait_for(
            lambda: _state_if(running, lambda s: s["preset"] == "flood"), 5, "flood"
        )
        assert state["emergency"] and state["return_to"] == "traffic"
        assert state["activations"][-1]["origin"] == "button emergency"
        assert await lamp(running, "emergency") == "blinking"
        assert await lamp(running, "return") == "blinking"
        assert await lamp(running, "traffic") == "off"

        status, reply = await running.post("/api/v1/presets/overview/activate")
        assert status == 409
        assert reply["error"].startswith("emergency preset 'flood' is active")

        await running.post("/api/v1/buttons/return/press", {"hold_s": 0.1})
        state = await wait_for(
            lambda: _state_if(running, lambda s: s["preset"] == "traffic"), 5, "RETURN"
        )
        assert not state["emergency"]
        assert [t["camera"] for t in state["tiles"]] == [
            "junction-1", "junction-2", "junction-3", "junction-4",
            "junction-5", "junction-6", "junction-7", "junction-8",
        ]
        assert await lamp(running, "traffic") == "on"
        assert await lamp(running, "emergency") == "off"


async def test_tour_rotates_without_reloading_a_camera_that_stays(tmp_path):
    cameras = SimulatedCameraSet()
    await cameras.start()
    try:
        config = demo_config(tmp_path / "state")
        tour = Tour("loop", (("overview", 1.5), ("traffic", 1.5)), "Loop")
        config = dataclasses.replace(config, tours=MappingProxyType({"loop": tour}))
        async with running_service(config) as running:
            await wait_for(lambda: _all_playing(running), 30, "overview playing")
            player = running.service.wall.player_for("junction-2")
            loads = player.loads

            status, state = await running.post("/api/v1/tours/loop/start")
            assert status == 200 and state["tour"] == "loop"
            seen = set()
            for _ in range(40):
                state = await running.get("/api/v1/state")
                seen.add(state["preset"])
                if seen >= {"overview", "traffic"} and state["preset"] == "overview":
                    break
                await asyncio.sleep(0.1)
            assert seen >= {"overview", "traffic"}
            assert running.service.wall.player_for("junction-2") is player
            assert player.loads == loads, "junction-2 (a small tile in both presets) was reloaded"
            assert player.status == "playing"

            # An emergency pauses the tour; RETURN lets it go on.
            await running.post("/api/v1/presets/flood/activate")
            await asyncio.sleep(2)
            assert (await running.get("/api/v1/state"))["preset"] == "flood"
            await running.post("/api/v1/return")
            state = await running.get("/api/v1/state")
            assert state["tour"] == "loop"

            # Choosing a preset by hand ends the tour.
            await running.post("/api/v1/presets/bridge/activate")
            await asyncio.sleep(2)
            state = await running.get("/api/v1/state")
            assert state["tour"] is None and state["preset"] == "bridge"
    finally:
        await cameras.stop()


async def _state_if(running, check):
    state = await running.get("/api/v1/state")
    return state if check(state) else None


async def _all_playing(running):
    state = await running.get("/api/v1/state")
    tiles = [t for t in state["tiles"] if t["camera"]]
    return tiles and all(t["status"] == "playing" for t in tiles)
