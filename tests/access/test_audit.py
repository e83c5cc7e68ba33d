"""The audit log file: JSON lines, appended, rotated; logins and refusals recorded."""

from __future__ import annotations

import json
import os
import stat

from controller.access.audit import AuditLog
from tests.access.conftest import OPERATOR_PIN, Gate

WHERE = {"ip": "10.0.0.7", "agent": "tablet"}


async def _entries(gate: Gate) -> list[dict]:
    reply = await gate.client.get("/api/v1/audit", headers=gate.auth("admin"))
    assert reply.status == 200
    return (await reply.json())["entries"]


async def test_login_and_failed_login_are_audited_with_who_and_where(gate: Gate):
    await gate.login("otto", "000000")
    await gate.client.post(
        "/api/v1/login",
        json={"user": "otto", "secret": OPERATOR_PIN},
        headers={"User-Agent": "Ops tablet 3"},
    )

    ok, failed = (e for e in await _entries(gate) if e["action"] == "login")
    assert failed["result"] == "failed" and failed["status"] == 401
    assert failed["who"] == {"user": "otto"}
    assert failed["from"]["ip"] == "127.0.0.1"
    assert ok["result"] == "ok"
    assert ok["who"] == {"user": "otto", "role": "operator"}
    assert ok["from"] == {"ip": "127.0.0.1", "agent": "Ops tablet 3"}


async def test_refused_and_denied_changes_are_audited(gate: Gate):
    await gate.client.post("/api/v1/presets/flood/activate")
    await gate.client.post("/api/v1/tours/stop", headers=gate.auth("viewer"))
    await gate.client.post("/api/v1/tours/nope/start", headers=gate.auth("operator"))

    unknown, viewer, anonymous = [
        e for e in await _entries(gate) if e["action"] != "token.create"
    ][:3]
    assert (anonymous["action"], anonymous["target"]) == ("preset.activate", "flood")
    assert anonymous["who"] == {"anonymous": True}
    assert (anonymous["result"], anonymous["status"]) == ("denied", 401)
    assert (viewer["action"], viewer["result"], viewer["status"]) == (
        "tour.stop",
        "denied",
        403,
    )
    assert viewer["who"] == {"role": "viewer", "token": "viewer-token"}
    assert (
        viewer["error"] == "token viewer-token has the role viewer; this needs operator"
    )
    assert (unknown["action"], unknown["target"], unknown["result"]) == (
        "tour.start",
        "nope",
        "refused",
    )
    assert unknown["status"] == 404 and unknown["error"].startswith("unknown tour")


async def test_token_and_user_changes_are_audited_without_their_secrets(gate: Gate):
    reply = await gate.client.post(
        "/api/v1/tokens",
        json={"name": "ci", "role": "viewer"},
        headers=gate.auth("admin"),
    )
    token = (await reply.json())["token"]
    await gate.client.put(
        "/api/v1/users/ann",
        json={"role": "operator", "secret": "975312"},
        headers=gate.auth("admin"),
    )
    await gate.client.delete("/api/v1/tokens/ci", headers=gate.auth("admin"))

    revoke, user, create = (await _entries(gate))[:3]
    assert (create["action"], create["result"]) == ("token.create", "ok")
    assert create["details"]["body"] == {"name": "ci", "role": "viewer"}
    assert create["who"] == {"role": "admin", "token": "admin-secret"}
    assert (user["action"], user["target"]) == ("user.set", "ann")
    assert user["details"]["body"] == {"role": "operator", "secret": "***"}
    assert (revoke["action"], revoke["target"], revoke["status"]) == (
        "token.revoke",
        "ci",
        204,
    )
    gate.access.close()
    text = (gate.access.state_dir / "audit.jsonl").read_text()
    assert token not in text and "975312" not in text


async def test_reading_the_audit_log_is_for_admins_only(gate: Gate):
    for role, status in (("viewer", 403), ("operator", 403), ("admin", 200)):
        reply = await gate.client.get("/api/v1/audit", headers=gate.auth(role))
        assert reply.status == status
    reply = await gate.client.get("/api/v1/audit?limit=0", headers=gate.auth("admin"))
    assert reply.status == 400
    assert (await reply.json())["error"] == "limit must be at least 1"


def test_entries_are_appended_as_json_lines_to_what_is_there(tmp_path):
    path = tmp_path / "audit.jsonl"
    earlier = '{"action": "written before", "at": 1}\n'
    path.write_text(earlier)
    log = AuditLog(path, max_bytes=1 << 20, keep=3)

    log.record("preset.activate", {"button": "emergency"}, WHERE, "ok", target="flood")
    log.record("login", {"user": "otto"}, WHERE, "failed", status=401)
    log.close()

    lines = path.read_text().splitlines(keepends=True)
    assert lines[0] == earlier
    first, second = (json.loads(line) for line in lines[1:])
    assert first["action"] == "preset.activate" and first["target"] == "flood"
    assert first["who"] == {"button": "emergency"} and first["from"] == WHERE
    assert second["result"] == "failed" and second["status"] == 401
    assert second["at"] >= first["at"]


def test_audit_file_is_opened_for_append_only(tmp_path, monkeypatch):
    opened: list[int] = []
    real_open = os.open

    def spy(path, flags, *args):
        if str(path).endswith("audit.jsonl"):
            opened.append(flags)
        return real_open(path, flags, *args)

    monkeypatch.setattr(os, "open", spy)
    log = AuditLog(tmp_path / "audit.jsonl", max_bytes=1 << 20, keep=3)
    log.record("login", {"user": "otto"}, WHERE, "ok")
    log.close()
    assert opened and all(flags & os.O_APPEND for flags in opened)
    assert not any(flags & os.O_TRUNC for flags in opened)


async def test_log_rotates_by_size_and_keeps_the_newest_files(tmp_path):
    path = tmp_path / "audit.jsonl"
    log = AuditLog(path, max_bytes=4096, keep=2)
    for number in range(120):
        log.record(
            "preset.activate", {"user": "otto"}, WHERE, "ok", target=f"p{number}"
        )

    entries = await log.tail(1000)
    log.close()

    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "audit.jsonl",
        "audit.jsonl.1",
        "audit.jsonl.2",
    ]
    for file in tmp_path.iterdir():
        assert stat.S_IMODE(file.stat().st_mode) == 0o600
        assert file.stat().st_size <= 4096
        for line in file.read_text().splitlines():
            json.loads(line)
    targets = [entry["target"] for entry in entries]
    assert targets[0] == "p119"
    assert targets == [f"p{n}" for n in range(119, 119 - len(targets), -1)]
    assert len(targets) < 120  # the oldest file was dropped


def test_redact_masks_secret_fields_and_url_userinfo():
    from controller.access.audit import redact

    assert redact(
        {
            "url": "rtsp://ops:Cam-Pa55@10.1.2.3/stream1",
            "password": "Cam-Pa55",
            "secret": "123456",
            "name": "Gate",
            "nested": [{"token": "owt_x"}],
        }
    ) == {
        "url": "rtsp://***@10.1.2.3/stream1",
        "password": "***",
        "secret": "***",
        "name": "Gate",
        "nested": [{"token": "***"}],
    }
