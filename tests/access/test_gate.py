"""Every API route has a role; callers without it are refused before anything runs."""

from __future__ import annotations

import re

import pytest

from controller.access.policy import ROUTES
from controller.access.roles import Role
from tests.access.conftest import ADMIN_SECRET, OPERATOR_PIN, Gate, build

PUBLIC = {
    ("POST", "/api/v1/login"),
    ("GET", "/api/v1/session"),
    ("POST", "/api/v1/setup"),
}


def api_routes(app) -> set[tuple[str, str]]:
    found = set()
    for route in app.router.routes():
        canonical = route.resource.canonical if route.resource else ""
        if canonical.startswith("/api/") and route.method != "HEAD":
            found.add((route.method, canonical))
    return found


def concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "x", path)


def test_every_api_route_has_an_access_rule_and_every_rule_a_route(tmp_path):
    app, _ = build(tmp_path)
    routes = api_routes(app)
    assert routes, "no /api routes found"
    assert sorted(routes - set(ROUTES)) == [], "API routes without an access rule"
    assert sorted(set(ROUTES) - routes) == [], (
        "access rules for routes that do not exist"
    )


@pytest.mark.parametrize("method,path", sorted(set(ROUTES) - PUBLIC))
async def test_anonymous_caller_is_refused_with_401(gate: Gate, method, path):
    reply = await gate.client.request(method, concrete(path))
    assert reply.status == 401
    assert reply.headers["WWW-Authenticate"].startswith("Bearer")
    assert "Authorization: Bearer TOKEN" in (await reply.json())["error"]


UNDER = [
    (method, path, lower)
    for (method, path), rule in sorted(ROUTES.items())
    if rule.role is not None
    for lower in Role
    if lower < rule.role
]


@pytest.mark.parametrize("method,path,lower", UNDER)
async def test_caller_below_the_routes_role_is_refused_with_403(
    gate: Gate, method, path, lower
):
    reply = await gate.client.request(
        method, concrete(path), headers=gate.auth(lower.label)
    )
    assert reply.status == 403
    error = (await reply.json())["error"]
    assert error == (
        f"token {lower.label}-token has the role {lower.label}; "
        f"this needs {ROUTES[(method, path)].role.label}"
    )


async def test_unknown_or_malformed_token_is_refused(gate: Gate):
    reply = await gate.client.get(
        "/api/v1/presets", headers={"Authorization": "Bearer owt_nope"}
    )
    assert reply.status == 401
    assert (await reply.json())["error"] == "unknown or revoked API token"
    reply = await gate.client.get(
        "/api/v1/presets", headers={"Authorization": f"Basic {ADMIN_SECRET}"}
    )
    assert reply.status == 401


async def test_change_with_session_cookie_but_no_csrf_header_is_refused(gate: Gate):
    login = await gate.login("otto", OPERATOR_PIN)
    assert login.status == 200
    csrf = (await login.json())["csrf"]

    reply = await gate.client.post("/api/v1/logout")
    assert reply.status == 403
    assert (await reply.json())["error"] == "missing or wrong X-CSRF-Token header"
    reply = await gate.client.post("/api/v1/logout", headers={"X-CSRF-Token": "x" * 43})
    assert reply.status == 403

    reply = await gate.client.get("/api/v1/session")
    assert (await reply.json())["user"] == "otto"
    reply = await gate.client.post("/api/v1/logout", headers={"X-CSRF-Token": csrf})
    assert reply.status == 200
    reply = await gate.client.get("/api/v1/session")
    assert (await reply.json())["user"] is None


async def test_login_cookie_is_httponly_samesite_strict(gate: Gate):
    login = await gate.login("otto", OPERATOR_PIN)
    cookies = login.headers.getall("Set-Cookie")
    session = next(c for c in cookies if c.startswith("opswall_session="))
    csrf = next(c for c in cookies if c.startswith("opswall_csrf="))
    assert "HttpOnly" in session and "SameSite=Strict" in session
    assert "Path=/" in session and "Secure" not in session  # no TLS here
    assert "HttpOnly" not in csrf  # the remote's script reads it


async def test_secure_cookie_when_tls(tmp_path):
    from aiohttp.test_utils import TestClient, TestServer

    app, access = build(tmp_path)
    access.tls = True
    async with TestClient(TestServer(app)) as client:
        reply = await client.post(
            "/api/v1/login", json={"user": "admin", "secret": ADMIN_SECRET}
        )
        assert reply.status == 200
        assert all("Secure" in c for c in reply.headers.getall("Set-Cookie"))


async def test_change_from_another_origin_is_refused(gate: Gate):
    reply = await gate.client.post(
        "/api/v1/login",
        json={"user": "otto", "secret": OPERATOR_PIN},
        headers={"Origin": "http://evil.example"},
    )
    assert reply.status == 403
    assert (await reply.json())["error"] == (
        "requests from http://evil.example are not allowed; same origin only"
    )


async def test_websocket_needs_a_credential_and_the_same_origin(gate: Gate):
    reply = await gate.client.get("/api/v1/events")
    assert reply.status == 401

    origin = {"Origin": "http://evil.example", **gate.auth("viewer")}
    reply = await gate.client.get("/api/v1/events", headers=origin)
    assert reply.status == 403

    same = {"Origin": str(gate.client.make_url("")).rstrip("/"), **gate.auth("viewer")}
    async with gate.client.ws_connect("/api/v1/events", headers=same) as ws:
        first = await ws.receive_json(timeout=5)
        assert first["type"] == "state"


async def test_websocket_accepts_the_session_cookie(gate: Gate):
    await gate.login("otto", OPERATOR_PIN)
    async with gate.client.ws_connect("/api/v1/events") as ws:
        assert (await ws.receive_json(timeout=5))["type"] == "state"


async def test_body_over_64_kib_is_refused_with_413(gate: Gate):
    reply = await gate.client.post(
        "/api/v1/tokens",
        data=b'{"name": "' + b"a" * 70_000 + b'", "role": "viewer"}',
        headers={"Content-Type": "application/json", **gate.auth("admin")},
    )
    assert reply.status == 413
    assert await reply.json() == {
        "error": "request body too large: at most 65536 bytes"
    }


@pytest.mark.parametrize(
    "method,path,body",
    [
        ("POST", "/api/v1/tokens", {"name": "ci", "role": "viewer", "scope": "all"}),
        ("PUT", "/api/v1/users/ann", {"role": "viewer", "secret": "123456", "x": 1}),
        ("POST", "/api/v1/presets/overview/activate", {"force": True}),
        ("POST", "/api/v1/config/reload", {"path": "/etc/passwd"}),
        ("DELETE", "/api/v1/presets/overview", {"really": True}),
        ("POST", "/api/v1/presets", {"name": "a", "title": "A", "layout": "quad"}),
        ("POST", "/api/v1/blackout", {"black": True, "displays": ["x"]}),
        ("PUT", "/api/v1/tiles/main", {"camera": None, "fit": "fill"}),
        ("PATCH", "/api/v1/cameras/junction-1", {"colour": "red"}),
        ("POST", "/api/v1/buttons/next/press", {"hold_s": 0.1, "pin": 4}),
        ("POST", "/api/v1/displays/led-wall/brightness", {"value": 5, "x": 1}),
    ],
)
async def test_unknown_json_fields_are_refused_with_400(gate: Gate, method, path, body):
    reply = await gate.client.request(
        method, path, json=body, headers=gate.auth("admin")
    )
    assert reply.status == 400, await reply.text()


async def test_login_refuses_unknown_fields_and_non_json(gate: Gate):
    reply = await gate.client.post(
        "/api/v1/login", json={"user": "otto", "secret": OPERATOR_PIN, "role": "admin"}
    )
    assert reply.status == 400
    reply = await gate.client.post(
        "/api/v1/login", data={"user": "otto", "secret": OPERATOR_PIN}
    )
    assert reply.status == 415


async def test_every_reply_carries_the_security_headers(gate: Gate):
    for path in ("/", "/static/js/app.js", "/api/v1/state", "/api/v1/nope"):
        reply = await gate.client.get(path)
        csp = reply.headers["Content-Security-Policy"]
        assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
        assert "unsafe-inline" not in csp
        assert reply.headers["X-Content-Type-Options"] == "nosniff"
        assert reply.headers["Referrer-Policy"] == "no-referrer"


def test_remote_has_no_inline_script_or_style():
    from controller.web.app import STATIC_DIR

    html = (STATIC_DIR / "index.html").read_text()
    assert not re.search(r"<script(?![^>]*\bsrc=)", html)
    assert "<style" not in html and " style=" not in html
    assert not re.search(r"\son[a-z]+=", html)
