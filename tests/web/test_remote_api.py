"""The API the remote added: saved presets, thumbnails, blackout, display choices."""

from __future__ import annotations

import json
import os
import re
import signal
import urllib.error
import urllib.request
from typing import Any

import pytest

from tests.web.conftest import Demo, wait_until

pytestmark = pytest.mark.wall


def _thumbnail(demo: Demo, camera: str) -> tuple[str, bytes]:
    url = f"{demo.url}/api/v1/cameras/{camera}/thumbnail.jpg"
    request = urllib.request.Request(
        url, headers={"Authorization": f"Bearer {demo.admin_token}"}
    )
    with urllib.request.urlopen(request, timeout=10) as reply:
        assert reply.headers["Content-Type"] == "image/jpeg"
        return reply.headers["X-Opswall-Thumbnail"], reply.read()


def test_thumbnail_is_cut_from_the_wall_only_for_a_camera_on_it(demo: Demo):
    demo.leave_emergency()
    demo.post("/api/v1/presets/bridge/activate")

    # A capture that fails while the players are being rearranged gives the
    # placeholder once; the remote asks again a few seconds later, and so do we.
    source, data = wait_until(
        lambda: (t := _thumbnail(demo, "junction-7"))[0] == "wall" and t,
        "a thumbnail of junction-7 cut from the wall",
        timeout=5,
        interval=0.5,
    )
    assert data[:2] == b"\xff\xd8"
    assert _thumbnail(demo, "junction-1")[0] == "placeholder"
    status, reply = demo.call("GET", "/api/v1/cameras/junction-99/thumbnail.jpg")
    assert status == 404
    assert reply["error"].startswith("unknown camera 'junction-99'")


def test_saving_a_preset_refuses_bad_names_and_taken_names(demo: Demo):
    demo.leave_emergency()
    demo.post("/api/v1/presets/overview/activate")

    status, reply = demo.call(
        "POST", "/api/v1/presets", {"name": "Bad Name", "title": "x"}
    )
    assert status == 400
    assert reply["error"] == (
        "preset name: found 'Bad Name', expected 1 to 40 lower-case letters, digits "
        "or dashes, starting with a letter or digit"
    )
    status, reply = demo.call(
        "POST", "/api/v1/presets", {"name": "flood", "title": "x"}
    )
    assert (status, reply["error"]) == (
        409,
        "a preset named 'flood' exists already; choose another name",
    )
    status, reply = demo.call("DELETE", "/api/v1/presets/overview")
    assert status == 409
    assert "comes from the presets file" in reply["error"]


def test_saved_preset_is_written_to_the_state_dir(demo: Demo):
    demo.leave_emergency()
    demo.post("/api/v1/presets/city-centre/activate")

    reply = demo.post(
        "/api/v1/presets", {"name": "centre-copy", "title": "Centre copy"}
    )

    assert reply["layout"] == "grid-2x2"
    saved = json.loads((demo.state_dir / "user-presets.json").read_text())
    assert saved["presets"]["centre-copy"] == {
        "title": "Centre copy",
        "layout": "grid-2x2",
        "cameras": {
            "t1": "junction-3",
            "t2": "junction-4",
            "t3": "junction-5",
            "t4": "junction-6",
        },
    }
    assert demo.call("DELETE", "/api/v1/presets/centre-copy")[0] == 204
    assert (
        "centre-copy"
        not in json.loads((demo.state_dir / "user-presets.json").read_text())["presets"]
    )


def test_blackout_blacks_out_the_processor_and_marks_the_state(demo: Demo):
    demo.leave_emergency()
    wait_until(lambda: demo.display()["online"], "the simulated NovaStar to answer")

    assert demo.post("/api/v1/blackout", {"black": True})["blackout"] is True
    assert demo.display()["state"]["black"] is True
    assert demo.post("/api/v1/blackout", {"black": False})["blackout"] is False
    assert demo.display()["state"]["black"] is False
    status, reply = demo.call("POST", "/api/v1/blackout", {"black": "yes"})
    assert status == 400


def test_a_body_with_a_hostile_unknown_key_gets_a_json_error_naming_it(demo: Demo):
    # The key's quote and backslash once made the error reply invalid JSON.
    status, reply = demo.call("POST", "/api/v1/blackout", {"black": True, 'x"}\\': 1})
    assert status == 400
    assert reply["error"] == (
        'invalid request body: x"}\\: Extra inputs are not permitted'
    )
    assert demo.display()["state"]["black"] is False


def raw_post(demo: Demo, path: str, text: str, method: str = "POST") -> tuple[int, Any]:
    """Send ``text`` as it is (not JSON made by Python) as an admin."""
    request = urllib.request.Request(
        demo.url + path,
        data=text.encode(),
        method=method,
        headers={
            "Content-Type": "application/json",
            "Authorization": f"Bearer {demo.admin_token}",
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=20) as reply:
            return reply.status, json.loads(reply.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ('{"value": NaN}', "NaN is not a JSON number"),
        ('{"value": -Infinity}', "-Infinity is not a JSON number"),
        ('{"value": 1e309}', "1e309 is too large for a number"),
    ],
)
def test_non_json_numbers_are_refused_and_never_reach_the_audit_log(
    demo: Demo, text: str, why: str
):
    before = demo.display()["state"]
    status, reply = raw_post(demo, "/api/v1/displays/led-wall/brightness", text)
    assert status == 400
    assert reply["error"] == f"request body is not valid JSON: {why}"
    assert demo.display()["state"] == before
    status, _ = raw_post(demo, "/api/v1/blackout", text.replace("value", "black"))
    assert status == 400
    # The audit log still reads as JSON (it once carried NaN and broke the Audit tab).
    status, audit = demo.call("GET", "/api/v1/audit")
    assert status == 200 and "entries" in audit


def test_a_deeply_nested_body_is_refused_with_a_json_error(demo: Demo):
    text = '{"camera": ' + "[" * 10000 + "]" * 10000 + "}"
    status, reply = raw_post(demo, "/api/v1/tiles/main", text, method="PUT")
    assert (status, reply) == (400, {"error": "request body is nested too deeply"})


def test_display_choices_list_the_processor_inputs_and_presets(demo: Demo):
    choices = demo.get("/api/v1/displays/led-wall/choices")

    assert "HDMI" in choices["inputs"] and "DVI" in choices["inputs"]
    assert choices["presets"] == 10
    assert demo.call("GET", "/api/v1/displays/nope/choices")[0] == 404


def test_saved_preset_survives_a_config_reload(demo: Demo):
    demo.leave_emergency()
    demo.post("/api/v1/presets/bridge/activate")
    demo.post("/api/v1/presets", {"name": "keep-me", "title": "Keep me"})

    os.kill(demo.pid, signal.SIGHUP)
    wait_until(
        lambda: "config reloaded by SIGHUP" in demo.log.read_text(), "the reload"
    )

    presets = {p["name"]: p for p in demo.get("/api/v1/presets")["presets"]}
    assert presets["keep-me"]["saved"] is True
    assert presets["overview"]["saved"] is False
    assert demo.post("/api/v1/presets/keep-me/activate")["preset"] == "keep-me"
    assert demo.call("DELETE", "/api/v1/presets/keep-me")[0] == 204


def test_demo_prints_how_to_log_in_and_logs_no_secret(demo: Demo):
    status, _ = demo.call("POST", "/api/v1/login", {"user": "operator", "secret": "1"})
    assert status == 401
    status, reply = demo.call(
        "POST", "/api/v1/login", {"user": "operator", "secret": demo.operator_pin}
    )
    assert status == 200 and reply["role"] == "operator"

    log = demo.log.read_text()
    assert "Admin token (from the environment):  $OPSWALL_ADMIN_TOKEN" in log
    assert demo.admin_token not in log
    pin = re.compile(rf"(?<!\d){demo.operator_pin}(?!\d)")
    pin_lines = [line for line in log.splitlines() if pin.search(line)]
    assert len(pin_lines) == 1 and "Log in on the remote:" in pin_lines[0]
    audit = (demo.state_dir / "audit.jsonl").read_text()
    assert demo.admin_token not in audit and demo.operator_pin not in audit
