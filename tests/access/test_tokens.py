"""API tokens: made by an admin, shown once, scoped to their role, revoked at once."""

from __future__ import annotations

import aiohttp
import pytest

from tests.access.conftest import Gate


async def _create(gate: Gate, name: str, role: str) -> dict:
    reply = await gate.client.post(
        "/api/v1/tokens", json={"name": name, "role": role}, headers=gate.auth("admin")
    )
    assert reply.status == 201, await reply.text()
    return await reply.json()


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_new_token_is_shown_once_and_never_listed_or_stored(gate: Gate):
    made = await _create(gate, "signage", "viewer")

    assert made["name"] == "signage" and made["role"] == "viewer"
    assert made["token"].startswith("owt_") and len(made["token"]) > 40
    assert made["note"].startswith("shown once")
    listed = await gate.client.get("/api/v1/tokens", headers=gate.auth("admin"))
    entry = next(t for t in (await listed.json())["tokens"] if t["name"] == "signage")
    assert entry == {
        "name": "signage",
        "role": "viewer",
        "created_at": made["created_at"],
        "created_by": "token admin-secret",
    }
    assert made["token"] not in await listed.text()
    stored = (gate.access.state_dir / "tokens.json").read_text()
    assert '"signage"' in stored and made["token"] not in stored


async def test_token_can_do_what_its_role_allows_and_nothing_more(gate: Gate):
    viewer = (await _create(gate, "lobby-screen", "viewer"))["token"]
    operator = (await _create(gate, "scada-link", "operator"))["token"]

    reply = await gate.client.get("/api/v1/tours", headers=_bearer(viewer))
    assert reply.status == 200
    reply = await gate.client.post("/api/v1/tours/stop", headers=_bearer(viewer))
    assert reply.status == 403
    assert (await reply.json())["error"] == (
        "token lobby-screen has the role viewer; this needs operator"
    )

    reply = await gate.client.post("/api/v1/tours/stop", headers=_bearer(operator))
    assert reply.status == 200
    reply = await gate.client.post("/api/v1/config/reload", headers=_bearer(operator))
    assert reply.status == 403
    reply = await gate.client.get("/api/v1/audit", headers=_bearer(operator))
    assert reply.status == 403


async def test_revoked_token_is_refused_on_its_next_request(gate: Gate):
    token = (await _create(gate, "old-integration", "operator"))["token"]
    reply = await gate.client.post("/api/v1/tours/stop", headers=_bearer(token))
    assert reply.status == 200

    reply = await gate.client.delete(
        "/api/v1/tokens/old-integration", headers=gate.auth("admin")
    )
    assert reply.status == 204

    reply = await gate.client.post("/api/v1/tours/stop", headers=_bearer(token))
    assert reply.status == 401
    assert (await reply.json())["error"] == "unknown or revoked API token"
    assert "old-integration" not in (gate.access.state_dir / "tokens.json").read_text()


async def test_revoking_a_token_closes_its_open_event_socket(gate: Gate):
    token = (await _create(gate, "dashboard", "viewer"))["token"]
    other = (await _create(gate, "other-dashboard", "viewer"))["token"]
    ws = await gate.client.ws_connect("/api/v1/events", headers=_bearer(token))
    kept = await gate.client.ws_connect("/api/v1/events", headers=_bearer(other))
    try:
        assert (await ws.receive_json(timeout=5))["type"] == "state"
        assert (await kept.receive_json(timeout=5))["type"] == "state"

        reply = await gate.client.delete(
            "/api/v1/tokens/dashboard", headers=gate.auth("admin")
        )
        assert reply.status == 204

        while (message := await ws.receive(timeout=5)).type == aiohttp.WSMsgType.TEXT:
            pass
        assert message.type == aiohttp.WSMsgType.CLOSE
        assert ws.close_code == 4401
        assert not kept.closed
    finally:
        await ws.close()
        await kept.close()


async def test_tokens_are_kept_across_a_restart_of_the_store(gate: Gate):
    from controller.access.tokens import TokenStore

    token = (await _create(gate, "kept", "operator"))["token"]
    store = TokenStore(gate.access.tokens.path)
    store.read()
    found = store.find(token)
    assert found is not None and found.name == "kept" and found.role.label == "operator"


@pytest.mark.parametrize(
    "body,status,error",
    [
        (
            {"name": "viewer-token", "role": "viewer"},
            409,
            "a token named 'viewer-token' exists; revoke it first or pick another name",
        ),
        (
            {"name": "ci", "role": "root"},
            400,
            "unknown role 'root'; known: viewer, operator, admin",
        ),
        (
            {"name": "Bad Name", "role": "viewer"},
            400,
            "found token name 'Bad Name'; expected 1 to 48 of a-z 0-9 . _ - starting "
            "with a letter or digit",
        ),
    ],
)
async def test_token_request_that_cannot_be_met_is_refused(
    gate: Gate, body, status, error
):
    reply = await gate.client.post(
        "/api/v1/tokens", json=body, headers=gate.auth("admin")
    )
    assert reply.status == status
    assert (await reply.json())["error"] == error
