"""The tablet web remote in real headless Chromium against a running demo wall."""

from __future__ import annotations

import re
import time
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.web.conftest import ARTIFACTS, Demo, wait_until

pytestmark = pytest.mark.browser

EMERGENCY_REFUSAL = (
    "emergency preset 'flood' is active; press RETURN (or choose another emergency "
    "preset) first"
)


def _tile(state: dict[str, Any], tile_id: str) -> Any:
    return next(t for t in state["tiles"] if t["id"] == tile_id)


def _drag(page: Any, source: Any, target: Any) -> None:
    """Press on ``source``, move over ``target`` in steps, release (pointer events)."""
    start = source.bounding_box()
    end = target.bounding_box()
    page.mouse.move(start["x"] + start["width"] / 2, start["y"] + start["height"] / 3)
    page.mouse.down()
    page.mouse.move(end["x"] + end["width"] / 2, end["y"] + end["height"] / 2, steps=12)
    page.mouse.up()


def test_preset_pressed_on_one_tablet_shows_on_the_other(demo: Demo, open_remote):
    demo.leave_emergency()
    demo.post("/api/v1/presets/overview/activate")
    first, second = open_remote(), open_remote()
    expect(second.locator('button.preset[data-preset="overview"]')).to_have_class(
        re.compile(r"\bactive\b")
    )

    first.locator('button.preset[data-preset="city-centre"]').click()

    expect(second.locator('button.preset[data-preset="city-centre"]')).to_have_class(
        re.compile(r"\bactive\b"), timeout=3000
    )
    expect(second.locator('button.preset[data-preset="overview"]')).not_to_have_class(
        re.compile(r"\bactive\b")
    )
    expect(second.locator("#now-showing-title")).to_have_text("City centre")
    expect(second.locator(".tile")).to_have_count(4)
    assert demo.state()["preset"] == "city-centre"


def test_camera_dragged_onto_a_tile_goes_on_the_wall(demo: Demo, open_remote):
    demo.leave_emergency()
    demo.post("/api/v1/presets/overview/activate")
    page = open_remote()
    expect(page.locator('.tile[data-tile="t9"]')).to_have_attribute("data-camera", "")

    _drag(
        page,
        page.locator('.camera[data-camera="junction-3"]'),
        page.locator('.tile[data-tile="t9"]'),
    )

    wait_until(
        lambda: _tile(demo.state(), "t9")["camera"] == "junction-3",
        "junction-3 in tile t9 after the drag",
    )
    # A camera is on the wall once: it left tile t3 for t9.
    assert _tile(demo.state(), "t3")["camera"] is None
    expect(page.locator('.tile[data-tile="t9"] .tile-name')).to_have_text(
        "Market Square"
    )


def test_tile_then_camera_tapped_puts_the_camera_there(demo: Demo, open_remote):
    demo.leave_emergency()
    demo.post("/api/v1/presets/overview/activate")
    page = open_remote(touch=True)

    page.locator('.tile[data-tile="t1"]').tap()
    expect(page.locator("#pick-hint-text")).to_contain_text("Tile t1")
    page.locator('.camera[data-camera="junction-8"]').tap()

    wait_until(
        lambda: _tile(demo.state(), "t1")["camera"] == "junction-8",
        "junction-8 in tile t1 after tap, tap",
    )
    expect(page.locator("#pick-hint")).to_be_hidden()


def test_display_controls_change_the_simulated_processor(demo: Demo, open_remote):
    demo.leave_emergency()
    wait_until(lambda: demo.display()["online"], "the simulated NovaStar to answer")
    demo.post("/api/v1/displays/led-wall/brightness", {"value": 100})
    page = open_remote()
    slider = page.locator('input.bright-slider[data-display="led-wall"]')
    expect(slider).to_have_value("100")

    box = slider.bounding_box()
    page.mouse.click(box["x"] + box["width"] * 0.3, box["y"] + box["height"] / 2)

    level = wait_until(
        lambda: (b := demo.display()["state"]["brightness"]) != 100 and b,
        "brightness to change on the processor",
    )
    assert 10 <= level <= 50
    expect(page.locator(".bright-value")).to_have_text(f"{level}%")

    blackout = page.locator('.toggle[data-op="black"]')
    expect(blackout).to_have_attribute("aria-pressed", "false")
    blackout.click()
    wait_until(lambda: demo.display()["state"]["black"] is True, "the processor black")
    expect(page.locator('.toggle[data-op="black"]')).to_have_attribute(
        "aria-pressed", "true"
    )
    page.locator('.toggle[data-op="black"]').click()
    wait_until(lambda: demo.display()["state"]["black"] is False, "the picture back")

    page.locator('.seg[data-op="input"][data-value="HDMI"]').click()
    wait_until(lambda: demo.display()["state"]["input"] == "HDMI", "input HDMI")
    expect(page.locator('.seg[data-op="input"][data-value="HDMI"]')).to_have_class(
        re.compile(r"\bon\b")
    )
    demo.post("/api/v1/displays/led-wall/input", {"value": "DVI"})
    expect(page.locator('.seg[data-op="input"][data-value="DVI"]')).to_have_class(
        re.compile(r"\bon\b")
    )


def test_emergency_needs_a_hold_refuses_normal_presets_until_return(
    demo: Demo, open_remote
):
    demo.leave_emergency()
    demo.post("/api/v1/presets/traffic/activate")
    page = open_remote()
    flood = page.locator('button.preset[data-preset="flood"]')

    # A short tap only asks; cancelling leaves the wall alone.
    flood.click()
    expect(page.locator("#confirm-dialog")).to_be_visible()
    page.locator('#confirm-dialog button[value="cancel"]').click()
    assert demo.state()["emergency"] is False

    box = flood.bounding_box()
    page.mouse.move(box["x"] + 40, box["y"] + box["height"] / 2)
    page.mouse.down()
    page.wait_for_timeout(1300)
    page.mouse.up()

    # Switching six tiles on a busy machine can take a few seconds.
    expect(page.locator("#emergency-banner")).to_be_visible(timeout=10_000)
    expect(page.locator("#return-button")).to_be_visible()
    expect(page.locator("#emergency-sub")).to_have_text(
        "RETURN goes back to Traffic – Harbour Rd"
    )
    assert demo.state()["preset"] == "flood"
    expect(page.locator('.desk-button[data-button="return"]')).to_have_attribute(
        "data-lamp", "blinking"
    )
    page.screenshot(path=str(ARTIFACTS / "remote-emergency-1280x800.png"))

    page.locator('button.preset[data-preset="overview"]').click()
    expect(page.locator(".toast-error")).to_contain_text(EMERGENCY_REFUSAL)
    assert demo.state()["preset"] == "flood"

    page.locator("#return-button").click()
    expect(page.locator("#emergency-banner")).to_be_hidden()
    expect(page.locator('button.preset[data-preset="traffic"]')).to_have_class(
        re.compile(r"\bactive\b")
    )
    state = demo.state()
    assert (state["preset"], state["emergency"]) == ("traffic", False)


def test_remote_that_lost_its_socket_marks_state_stale_and_catches_up(
    demo: Demo, open_remote
):
    demo.leave_emergency()
    demo.post("/api/v1/presets/overview/activate")
    page = open_remote()
    network = {"down": False}

    def gate(ws: Any) -> None:
        if network["down"]:
            ws.close()
        else:
            ws.connect_to_server()

    page.route_web_socket(re.compile(r".*/api/v1/events$"), gate)
    network["down"] = True
    page.evaluate("window.opswallRemote.dropConnection()")

    expect(page.locator("#stale-banner")).to_be_visible()
    expect(page.locator("body")).to_have_class(re.compile(r"\bstale\b"))
    expect(page.locator("#link-text")).to_have_text("Offline")
    demo.post("/api/v1/presets/bridge/activate")
    time.sleep(1.0)
    expect(page.locator("#now-showing-title")).to_have_text("All junctions")
    page.screenshot(path=str(ARTIFACTS / "remote-disconnected-1280x800.png"))

    network["down"] = False
    expect(page.locator("#now-showing-title")).to_have_text(
        "Bridge approach", timeout=8000
    )
    expect(page.locator("#stale-banner")).to_be_hidden()
    expect(page.locator(".link-pill")).to_have_class(re.compile(r"\blive\b"))
    expect(page.locator(".tile")).to_have_count(1)


def test_wall_saved_as_a_preset_appears_on_every_tablet(demo: Demo, open_remote):
    demo.leave_emergency()
    demo.post("/api/v1/presets/compare-ring-road/activate")
    first, second = open_remote(user="admin"), open_remote()

    first.locator("#save-preset-open").click()
    first.locator("#save-title").fill("Ring road check")
    expect(first.locator("#save-name")).to_have_value("ring-road-check")
    first.locator("#save-submit").click()

    saved = second.locator('button.preset[data-preset="ring-road-check"]')
    expect(saved).to_be_visible()
    expect(saved).to_contain_text("saved")
    preset = next(
        p
        for p in demo.get("/api/v1/presets")["presets"]
        if p["name"] == "ring-road-check"
    )
    assert preset["cameras"] == {"left": "junction-2", "right": "junction-8"}
    assert (demo.state_dir / "user-presets.json").exists()

    demo.post("/api/v1/presets/overview/activate")
    saved.click()
    wait_until(lambda: demo.state()["preset"] == "ring-road-check", "saved preset on")
    assert demo.call("DELETE", "/api/v1/presets/ring-road-check")[0] == 204
    expect(first.locator('button.preset[data-preset="ring-road-check"]')).to_have_count(
        0
    )


def test_desk_button_pressed_on_the_remote_lights_its_lamp(demo: Demo, open_remote):
    demo.leave_emergency()
    demo.post("/api/v1/presets/overview/activate")
    page = open_remote()
    page.locator("#tab-desk").click()
    city = page.locator('.desk-button[data-button="city-centre"]')
    expect(city).to_have_attribute("data-lamp", "off")

    city.click()

    wait_until(lambda: demo.state()["preset"] == "city-centre", "city centre on")
    expect(page.locator('.desk-button[data-button="city-centre"]')).to_have_attribute(
        "data-lamp", "on"
    )
    expect(page.locator('.desk-button[data-button="overview"]')).to_have_attribute(
        "data-lamp", "off"
    )


@pytest.mark.parametrize(
    "width,height", [(1280, 800), (800, 1280), (390, 844)], ids=lambda v: str(v)
)
def test_remote_fits_the_screen_with_thumb_sized_presets(
    demo: Demo, open_remote, width: int, height: int
):
    demo.leave_emergency()
    demo.post("/api/v1/presets/overview/activate")
    page = open_remote({"width": width, "height": height}, touch=True)
    expect(page.locator(".tile")).to_have_count(9)
    expect(page.locator(".tile.status-playing")).to_have_count(8, timeout=20_000)
    expect(page.locator(".camera-health .health-text").first).to_have_text("Online")
    # Polled from outside: the page's CSP (no eval) refuses wait_for_function's string.
    wait_until(
        lambda: page.evaluate("document.querySelector('#wall-image').naturalWidth"),
        "a wall picture in the preview",
        timeout=5,
    )
    time.sleep(2)  # a wall picture and thumbnails taken since the tiles play

    page.screenshot(path=str(ARTIFACTS / f"remote-{width}x{height}.png"))
    page.screenshot(
        path=str(ARTIFACTS / f"remote-{width}x{height}-full.png"), full_page=True
    )

    overflow = page.evaluate(
        "document.scrollingElement.scrollWidth - window.innerWidth"
    )
    assert overflow <= 0, f"page is {overflow} px wider than the {width} px screen"
    heights = page.locator("button.preset").evaluate_all(
        "els => els.map(e => e.getBoundingClientRect().height)"
    )
    assert heights and min(heights) >= 56, f"preset buttons too small: {heights}"
    assert page.locator("#return-button").is_hidden()


def test_admin_reads_the_audit_log_and_an_operator_has_no_audit_tab(
    demo: Demo, open_remote
):
    demo.leave_emergency()
    demo.post("/api/v1/presets/overview/activate")
    operator = open_remote()
    expect(operator.locator("#tab-audit")).to_be_hidden()
    operator.locator('button.preset[data-preset="city-centre"]').click()
    wait_until(
        lambda: demo.state()["preset"] == "city-centre", "city-centre from the tablet"
    )

    admin = open_remote(user="admin")
    admin.locator("#tab-audit").click()

    entry = admin.locator(
        "#audit-list li.audit-entry", has_text="preset.activate city-centre"
    ).first
    expect(entry).to_be_visible()
    expect(entry.locator(".audit-who")).to_have_text("user operator")
    expect(entry.locator(".audit-result")).to_have_text("ok")
    expect(entry.locator(".audit-from")).to_contain_text("127.0.0.1")
    login = admin.locator("#audit-list li.audit-entry", has_text="login").first
    expect(login).to_be_visible()
