"""End to end: simulated cameras → mDNS → service on Xvfb → HTTP → pixels on the wall."""

from __future__ import annotations

import pytest

from controller.cameras.identity import normalize_mac
from controller.simulate.cameras import DEMO_CAMERAS, SimulatedCameraSet
from controller.wall.xserver import capture
from tests.conftest import demo_config, running_service, wait_for

pytestmark = pytest.mark.wall

COLOUR_TOLERANCE = 60


def camera_colours(config) -> dict[str, tuple[int, int, int]]:
    """Camera id (from the config's MAC match) → the colour its simulator paints."""
    by_mac = {normalize_mac(c.mac): c.color for c in DEMO_CAMERAS}
    colours = {}
    for camera_id, spec in config.spec.cameras.items():
        hex_colour = by_mac[normalize_mac(spec.match.mac)]
        colours[camera_id] = tuple(int(hex_colour[i : i + 2], 16) for i in (0, 2, 4))
    return colours


def probe(image, rect) -> tuple[int, int, int]:
    """The colour near a tile's top-left corner, clear of the burned-in label and clock."""
    x, y, w, h = rect
    return image.getpixel((x + w // 10, y + h // 10))


def close(found, expected) -> bool:
    return all(abs(a - b) <= COLOUR_TOLERANCE for a, b in zip(found, expected, strict=True))


async def all_tiles_playing(running) -> dict | None:
    state = await running.get("/api/v1/state")
    tiles = [t for t in state["tiles"] if t["camera"]]
    return state if tiles and all(t["status"] == "playing" for t in tiles) else None


def assert_wall_matches(state, display_name, colours) -> None:
    image = capture(display_name)
    wrong = []
    for tile in state["tiles"]:
        found = probe(image, tile["rect"])
        expected = colours[tile["camera"]] if tile["camera"] else (0, 0, 0)
        if not close(found, expected):
            wrong.append(f"tile {tile['id']} ({tile['camera']}): {found} != {expected}")
    assert not wrong, "; ".join(wrong)


async def test_presets_switch_the_wall_and_kept_cameras_are_not_reloaded(tmp_path):
    cameras = SimulatedCameraSet()
    await cameras.start()
    try:
        config = demo_config(tmp_path / "state")
        colours = camera_colours(config)
        async with running_service(config) as running:
            found = await wait_for(
                lambda: _online_count(running), 30, "8 cameras found over mDNS"
            )
            assert found == 8
            listed = (await running.get("/api/v1/cameras"))["cameras"]
            sources = {c["id"]: c["sources"] for c in listed}
            # The demo's cameras announce themselves the way different vendors do.
            assert sources["junction-1"] == ["mdns:_rtsp._tcp.local."]
            assert sources["junction-3"] == ["mdns:_axis-video._tcp.local."]
            assert sources["junction-5"] == ["mdns:_http._tcp.local."]

            status, state = await running.post("/api/v1/presets/traffic/activate")
            assert status == 200 and state["preset"] == "traffic"
            assert state["layout"] == "traffic-8"
            state = await wait_for(lambda: all_tiles_playing(running), 20, "traffic playing")
            assert_wall_matches(state, running.service.display_name, colours)

            wall = running.service.wall
            # Small in both layouts, so they stay on their sub-stream: never reloaded.
            kept = {c: wall.player_for(c) for c in ("junction-2", "junction-8")}
            loads = {c: p.loads for c, p in kept.items()}

            status, state = await running.post("/api/v1/presets/flood/activate")
            assert status == 200 and state["layout"] == "focus-1+5"
            state = await wait_for(lambda: all_tiles_playing(running), 20, "flood playing")
            assert_wall_matches(state, running.service.display_name, colours)
            main = next(t for t in state["tiles"] if t["id"] == "main")
            assert main["camera"] == "junction-7" and main["rect"] == [0, 0, 1280, 720]
            assert running.service.wall.player_for("junction-7").stream == "main"

            for camera, player in kept.items():
                assert wall.player_for(camera) is player, f"{camera} got another player"
                assert player.loads == loads[camera], f"{camera} was reloaded"
    finally:
        await cameras.stop()


async def _online_count(running) -> int | None:
    listed = (await running.get("/api/v1/cameras"))["cameras"]
    online = [c for c in listed if c["online"]]
    return len(online) if len(online) == 8 else None
