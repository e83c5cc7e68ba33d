"""No default password: `opswall run` needs an admin secret; the demo makes its own."""

from __future__ import annotations

import argparse
import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

from controller import service_cli
from controller.access.config import AccessSpec
from controller.access.middleware import ACCESS_KEY
from controller.access.secret import AdminSecretError, find_admin_secret
from tests.conftest import REPO

SETUP_CODE = "ABCDEFGH23"


def _config(tmp_path: Path, extra: str = "") -> Path:
    """The demo config, its paths absolute, no first-boot secret file, plus ``extra``."""
    text = (REPO / "config" / "demo.yaml").read_text()
    text = text.replace("../layouts/", f"{REPO}/layouts/")
    text = text.replace("../.opswall-demo-state", str(tmp_path / "state"))
    path = tmp_path / "wall.yaml"
    path.write_text(
        text + f"access:\n  admin_secret_file: {tmp_path / 'admin-secret'}\n" + extra
    )
    return path


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "controller.cli", *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=REPO,
    )


def test_run_on_a_new_config_refuses_to_start_and_says_how_to_set_a_secret(
    tmp_path,
):
    config = _config(tmp_path)

    done = _run("run", "--config", str(config))

    assert done.returncode == 1
    assert done.stdout == ""
    assert done.stderr.startswith(
        "opswall run: no admin secret is set, so Opswall will not serve the wall: "
        "nothing on the network may change it without a credential."
    )
    assert f"write it to {tmp_path / 'admin-secret'}" in done.stderr
    assert f"add access: {{admin_secret: ...}} to {config}" in done.stderr
    assert f"opswall run --config {config} --setup" in done.stderr
    assert not (tmp_path / "state" / "audit.jsonl").exists()


def test_run_refuses_a_short_secret_in_the_secret_file(tmp_path):
    config = _config(tmp_path)
    (tmp_path / "admin-secret").write_text("short\n")

    done = _run("run", "--config", str(config))

    assert done.returncode == 1
    assert done.stderr.strip() == (
        f"opswall run: the admin secret in {tmp_path / 'admin-secret'} has 5 "
        "characters; expected at least 12"
    )


def test_config_with_a_short_admin_secret_is_refused_by_check_config(tmp_path):
    config = (
        _config(tmp_path)
        .read_text()
        .replace("access:\n", "access:\n  admin_secret: tooshort\n")
    )
    path = tmp_path / "short.yaml"
    path.write_text(config)

    done = _run("check-config", str(path))

    assert done.returncode == 1
    assert "access.admin_secret" in done.stderr
    assert "at least 12 characters" in done.stderr


def test_secret_comes_from_the_config_then_the_first_boot_file_then_setup(tmp_path):
    state = tmp_path / "state"
    firstboot = tmp_path / "etc-admin-secret"
    spec = AccessSpec(admin_secret_file=str(firstboot))
    assert find_admin_secret(spec, state) is None

    state.mkdir()
    (state / "admin-secret").write_text("set-up-from-the-remote\n")
    assert find_admin_secret(spec, state) == (
        "set-up-from-the-remote",
        str(state / "admin-secret"),
    )
    firstboot.write_text("from-the-boot-partition\n")
    assert find_admin_secret(spec, state) == (
        "from-the-boot-partition",
        str(firstboot),
    )
    spec = AccessSpec(admin_secret_file=str(firstboot), admin_secret="in-the-config-1")
    assert find_admin_secret(spec, state) == (
        "in-the-config-1",
        "the config's access.admin_secret",
    )


def test_unreadable_secret_file_is_an_error_not_a_missing_secret(tmp_path):
    spec = AccessSpec(admin_secret_file=str(tmp_path))  # a directory: not readable
    with pytest.raises(AdminSecretError, match="cannot read the admin secret in"):
        find_admin_secret(spec, tmp_path / "state")


async def test_setup_code_sets_the_admin_secret_once(tmp_path):
    from tests.access.conftest import build

    app, access = build(tmp_path, admin_secret=None, setup_code=SETUP_CODE)
    async with TestClient(TestServer(app)) as client:
        session = await (await client.get("/api/v1/session")).json()
        assert session["setup"] is True
        reply = await client.get("/api/v1/state")
        assert reply.status == 503
        assert (await reply.json())["error"].startswith("setup needed")

        reply = await client.post(
            "/api/v1/setup", json={"code": "WRONGCODE1", "secret": "x" * 12}
        )
        assert (reply.status, (await reply.json())["error"]) == (
            403,
            "wrong setup code",
        )
        reply = await client.post(
            "/api/v1/setup", json={"code": SETUP_CODE, "secret": "short"}
        )
        assert reply.status == 400
        reply = await client.post(
            "/api/v1/setup",
            json={"code": SETUP_CODE.lower(), "secret": "the-new-admin-secret"},
        )
        assert reply.status == 200

        saved = access.state_dir / "admin-secret"
        assert saved.read_text() == "the-new-admin-secret\n"
        assert saved.stat().st_mode & 0o777 == 0o600
        reply = await client.post(
            "/api/v1/setup", json={"code": SETUP_CODE, "secret": "another-secret-1"}
        )
        assert reply.status == 409
        reply = await client.get(
            "/api/v1/state",
            headers={"Authorization": "Bearer the-new-admin-secret"},
        )
        assert reply.status == 200
        assert find_admin_secret(
            AccessSpec(admin_secret_file=str(tmp_path / "none")), access.state_dir
        ) == ("the-new-admin-secret", str(saved))


def _demo_credentials(monkeypatch, env: str | None) -> tuple[int, list]:
    served: list = []
    monkeypatch.setattr(
        service_cli,
        "_serve",
        lambda config, credentials, simulate=False: served.append(credentials) or 0,
    )
    if env is None:
        monkeypatch.delenv("OPSWALL_ADMIN_TOKEN", raising=False)
    else:
        monkeypatch.setenv("OPSWALL_ADMIN_TOKEN", env)
    args = argparse.Namespace(config=service_cli.DEMO_CONFIG, port=None)
    return service_cli._demo(args), served


def test_demo_makes_a_random_operator_pin_and_admin_token(monkeypatch):
    _, (first,) = _demo_credentials(monkeypatch, None)
    _, (second,) = _demo_credentials(monkeypatch, None)

    assert re.fullmatch(r"\d{6}", first.operator_pin)
    assert len(first.admin_secret) >= 24 and not first.secret_from_env
    assert first.admin_secret != second.admin_secret
    banner = service_cli._demo_banner("http://127.0.0.1:8080/", first)
    assert f"user operator, PIN {first.operator_pin}" in banner
    assert f"Admin token:  {first.admin_secret}" in banner
    assert f'curl -H "Authorization: Bearer {first.admin_secret}"' in banner
    # `opswall button` reads the token from the environment: the banner says how.
    assert f"export OPSWALL_ADMIN_TOKEN={first.admin_secret}; opswall button" in banner


def test_demo_uses_the_admin_token_from_the_environment(monkeypatch, capsys):
    token = "scripted-demo-token-123"
    status, (credentials,) = _demo_credentials(monkeypatch, token)

    assert status == 0
    assert credentials.admin_secret == token and credentials.secret_from_env
    banner = service_cli._demo_banner("http://127.0.0.1:8080/", credentials)
    assert "Admin token (from the environment):  $OPSWALL_ADMIN_TOKEN" in banner
    assert token not in banner
    assert "export OPSWALL_ADMIN_TOKEN" not in banner  # already in the environment

    status, served = _demo_credentials(monkeypatch, "short")
    assert (status, served) == (1, [])
    assert capsys.readouterr().err == (
        "opswall demo: $OPSWALL_ADMIN_TOKEN has 5 characters; expected at least 12\n"
    )


@pytest.mark.parametrize("env", ["", "   "])
def test_demo_treats_an_empty_admin_token_variable_as_unset(monkeypatch, capsys, env):
    status, (credentials,) = _demo_credentials(monkeypatch, env)

    assert status == 0
    assert capsys.readouterr().err == ""
    assert len(credentials.admin_secret) >= 24 and not credentials.secret_from_env
    assert credentials.admin_secret.strip() == credentials.admin_secret
    banner = service_cli._demo_banner("http://127.0.0.1:8080/", credentials)
    assert f"Admin token:  {credentials.admin_secret}" in banner


async def _setup_client(tmp_path: Path, host: str = "127.0.0.1") -> TestClient:
    from tests.access.conftest import build

    app, _ = build(tmp_path, admin_secret=None, setup_code=SETUP_CODE)
    return TestClient(TestServer(app, host=host))


async def test_setup_from_the_controller_itself_needs_no_code(tmp_path):
    async with await _setup_client(tmp_path) as client:
        session = await (await client.get("/api/v1/session")).json()
        assert (session["setup"], session["setup_needs_code"]) == (True, False)

        # No session exists before setup: a cookie left from before is no reason
        # to ask for a CSRF header.
        client.session.cookie_jar.update_cookies({"opswall_session": "stale"})
        # A code that is given must still be right, even from the console.
        reply = await client.post(
            "/api/v1/setup", json={"code": "WRONGCODE1", "secret": "x" * 12}
        )
        assert reply.status == 403
        reply = await client.post(
            "/api/v1/setup", json={"code": "", "secret": "set-at-the-console"}
        )
        assert reply.status == 200, await reply.text()

        reply = await client.get(
            "/api/v1/state", headers={"Authorization": "Bearer set-at-the-console"}
        )
        assert reply.status == 200
        entries = await client.server.app[ACCESS_KEY].audit.tail(10)
        assert entries[0]["action"] == "setup" and entries[0]["result"] == "ok"
        assert entries[0]["details"] == {"by": "console"}


async def test_setup_without_code_is_refused_for_a_rebound_host_name(tmp_path):
    # A page of evil.example rebound to 127.0.0.1 in a browser on the controller.
    async with await _setup_client(tmp_path) as client:
        port = client.server.port
        headers = {"Host": f"evil.example:{port}"}
        session = await (await client.get("/api/v1/session", headers=headers)).json()
        assert session["setup_needs_code"] is True

        reply = await client.post(
            "/api/v1/setup", json={"secret": "x" * 12}, headers=headers
        )
        assert reply.status == 403
        assert (await reply.json())["error"] == (
            "enter the setup code printed on the controller's console; only the "
            "controller itself (localhost) may set up without it"
        )
        assert client.server.app[ACCESS_KEY].needs_setup


def _lan_address() -> str:
    """A non-loopback address on lo, in the private network namespace of the tests."""
    address = "192.0.2.10"
    if os.geteuid() != 0 or [n for _, n in socket.if_nameindex()] != ["lo"]:
        pytest.skip("needs root in a network namespace with only lo (run-tests.sh)")
    done = subprocess.run(
        ["ip", "addr", "replace", f"{address}/32", "dev", "lo"],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot add {address} to lo: {done.stderr.strip()}")
    return address


async def test_setup_from_the_lan_needs_the_code(tmp_path):
    address = _lan_address()
    async with await _setup_client(tmp_path, host=address) as client:
        session = await (await client.get("/api/v1/session")).json()
        assert session["setup_needs_code"] is True

        reply = await client.post("/api/v1/setup", json={"secret": "x" * 12})
        assert reply.status == 403
        assert (await reply.json())["error"].startswith(
            "enter the setup code printed on the controller's console"
        )
        reply = await client.post(
            "/api/v1/setup", json={"code": SETUP_CODE, "secret": "set-from-a-tablet"}
        )
        assert reply.status == 200
        entries = await client.server.app[ACCESS_KEY].audit.tail(10)
        assert [(e["result"], e["from"]["ip"]) for e in entries[::-1]] == [
            ("denied", address),
            ("ok", address),
        ]
        assert entries[0]["details"] == {"by": "setup code"}
