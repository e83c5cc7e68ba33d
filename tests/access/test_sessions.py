"""Sessions of the web remote: log in, CSRF on changes, log out, idle expiry."""

from __future__ import annotations

import aiohttp

from tests.access.conftest import ADMIN_SECRET, OPERATOR_PIN, VIEWER_PIN, Gate


async def _session(gate: Gate) -> dict:
    reply = await gate.client.get("/api/v1/session")
    assert reply.status == 200
    return await reply.json()


async def test_login_starts_a_session_with_the_users_role(gate: Gate):
    reply = await gate.login("otto", OPERATOR_PIN)

    assert reply.status == 200
    body = await reply.json()
    assert (body["user"], body["role"], body["token"]) == ("otto", "operator", None)
    assert body["csrf"] == reply.cookies["opswall_csrf"].value
    assert (await _session(gate))["user"] == "otto"
    reply = await gate.client.post(
        "/api/v1/tours/stop", headers={"X-CSRF-Token": body["csrf"]}
    )
    assert reply.status == 200
    reply = await gate.client.post(
        "/api/v1/config/reload", headers={"X-CSRF-Token": body["csrf"]}
    )
    assert reply.status == 403
    assert (await reply.json())["error"] == (
        "user otto has the role operator; this needs admin"
    )


async def test_admin_logs_in_with_the_admin_secret(gate: Gate):
    reply = await gate.login("admin", ADMIN_SECRET)
    assert reply.status == 200
    assert (await reply.json())["role"] == "admin"


async def test_csrf_token_of_another_session_is_refused(gate: Gate):
    other = await gate.login("vera", VIEWER_PIN)
    other_csrf = (await other.json())["csrf"]
    gate.client.session.cookie_jar.clear()
    mine = await gate.login("otto", OPERATOR_PIN)
    assert (await mine.json())["csrf"] != other_csrf

    reply = await gate.client.post(
        "/api/v1/tours/stop", headers={"X-CSRF-Token": other_csrf}
    )
    assert reply.status == 403
    assert (await reply.json())["error"] == "missing or wrong X-CSRF-Token header"


async def test_logout_ends_the_session_and_clears_the_cookies(gate: Gate):
    login = await gate.login("otto", OPERATOR_PIN)
    csrf = (await login.json())["csrf"]
    old_cookie = login.cookies["opswall_session"].value

    reply = await gate.client.post("/api/v1/logout", headers={"X-CSRF-Token": csrf})

    assert reply.status == 200
    assert reply.cookies["opswall_session"].value == ""
    assert (await _session(gate))["user"] is None
    # The old cookie, replayed, is no longer a session.
    reply = await gate.client.post(
        "/api/v1/tours/stop",
        headers={"X-CSRF-Token": csrf, "Cookie": f"opswall_session={old_cookie}"},
    )
    assert reply.status == 401


async def test_logout_closes_the_sessions_event_socket(gate: Gate):
    login = await gate.login("otto", OPERATOR_PIN)
    csrf = (await login.json())["csrf"]
    async with gate.client.ws_connect("/api/v1/events") as ws:
        assert (await ws.receive_json(timeout=5))["type"] == "state"

        await gate.client.post("/api/v1/logout", headers={"X-CSRF-Token": csrf})

        while (message := await ws.receive(timeout=5)).type == aiohttp.WSMsgType.TEXT:
            pass
        assert message.type == aiohttp.WSMsgType.CLOSE
        assert ws.close_code == 4401


async def test_session_ends_after_idling_longer_than_the_limit(gate: Gate):
    login = await gate.login("otto", OPERATOR_PIN)
    csrf = (await login.json())["csrf"]
    (session,) = gate.access.sessions._sessions.values()
    idle_s = gate.access.spec.session_idle_s

    session.last_seen -= idle_s - 5
    assert (await _session(gate))["user"] == "otto"  # used: the idle clock restarts
    session.last_seen -= idle_s - 5
    assert (await _session(gate))["user"] == "otto"

    session.last_seen -= idle_s + 1
    assert (await _session(gate))["user"] is None
    reply = await gate.client.post("/api/v1/tours/stop", headers={"X-CSRF-Token": csrf})
    assert reply.status == 401
    assert len(gate.access.sessions) == 0


async def test_changing_a_users_role_ends_their_sessions(gate: Gate):
    await gate.login("otto", OPERATOR_PIN)
    otto_cookie = gate.client.session.cookie_jar.filter_cookies(
        gate.client.make_url("/")
    )["opswall_session"].value
    gate.client.session.cookie_jar.clear()

    reply = await gate.client.put(
        "/api/v1/users/otto", json={"role": "viewer"}, headers=gate.auth("admin")
    )
    assert reply.status == 200

    reply = await gate.client.get(
        "/api/v1/session", headers={"Cookie": f"opswall_session={otto_cookie}"}
    )
    assert (await reply.json())["user"] is None
    reply = await gate.login("otto", OPERATOR_PIN)
    assert (await reply.json())["role"] == "viewer"


async def test_short_secret_for_a_user_is_refused_with_the_rule(gate: Gate):
    reply = await gate.client.put(
        "/api/v1/users/ann",
        json={"role": "operator", "secret": "1234"},
        headers=gate.auth("admin"),
    )
    assert reply.status == 400
    assert (await reply.json())["error"] == (
        "found a secret of 4 characters; expected a PIN of at least 6 digits or a "
        "password of at least 10 characters"
    )


async def test_users_file_holds_argon2id_hashes_never_the_pin(gate: Gate):
    text = (gate.access.state_dir / "users.json").read_text()
    assert "$argon2id$" in text
    assert OPERATOR_PIN not in text and VIEWER_PIN not in text
    assert (gate.access.state_dir / "users.json").stat().st_mode & 0o777 == 0o600
    reply = await gate.client.get("/api/v1/users", headers=gate.auth("admin"))
    assert "argon2" not in await reply.text()


async def test_login_again_after_the_session_expired_needs_no_csrf_header(gate: Gate):
    first = await gate.login("otto", OPERATOR_PIN)
    old_cookie = first.cookies["opswall_session"].value
    (session,) = gate.access.sessions._sessions.values()
    session.last_seen -= gate.access.spec.session_idle_s + 1

    # The tablet still sends its expired cookie, and no (or a stale) CSRF header.
    reply = await gate.login("otto", OPERATOR_PIN)

    assert reply.status == 200, await reply.text()
    assert reply.cookies["opswall_session"].value != old_cookie
    assert (await _session(gate))["user"] == "otto"


async def test_login_with_an_unknown_session_cookie_needs_no_csrf_header(gate: Gate):
    # As after a restart of the service: sessions live in memory only.
    gate.client.session.cookie_jar.update_cookies(
        {"opswall_session": "from-before-the-restart", "opswall_csrf": "stale"}
    )

    reply = await gate.client.post(
        "/api/v1/login",
        json={"user": "vera", "secret": VIEWER_PIN},
        headers={"X-CSRF-Token": "stale"},
    )

    assert reply.status == 200, await reply.text()
    assert (await _session(gate))["user"] == "vera"


async def test_login_over_a_live_session_needs_its_csrf_header(gate: Gate):
    # A live session is a credential: every change made with it carries its CSRF
    # token, logging in as someone else included (the remote always sends it).
    first = await gate.login("otto", OPERATOR_PIN)
    csrf = (await first.json())["csrf"]
    otto_cookie = first.cookies["opswall_session"].value

    reply = await gate.login("vera", VIEWER_PIN)
    assert reply.status == 403
    assert (await reply.json())["error"] == "missing or wrong X-CSRF-Token header"
    assert (await _session(gate))["user"] == "otto"

    reply = await gate.client.post(
        "/api/v1/login",
        json={"user": "vera", "secret": VIEWER_PIN},
        headers={"X-CSRF-Token": csrf},
    )
    assert reply.status == 200
    assert (await _session(gate))["user"] == "vera"
    # The session it replaced is ended, not left to idle out.
    gate.client.session.cookie_jar.clear()
    reply = await gate.client.get(
        "/api/v1/session", headers={"Cookie": f"opswall_session={otto_cookie}"}
    )
    assert (await reply.json())["user"] is None
    assert len(gate.access.sessions) == 1
