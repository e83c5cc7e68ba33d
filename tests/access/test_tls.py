"""HTTPS end to end: `opswall run` with web.tls makes its certificate once and uses it."""

from __future__ import annotations

import os
import re
import signal
import ssl
import subprocess
import sys
from pathlib import Path

import aiohttp
import pytest

from tests.conftest import REPO, wait_for

pytestmark = pytest.mark.wall

ADMIN_SECRET = "tls-test-admin-secret"
OPERATOR_PIN = "602714"
URL_LINE = re.compile(r"web remote and API at (https://127\.0\.0\.1:\d+)/")


def _config(tmp_path: Path) -> Path:
    """The demo config over HTTPS on a free port, its state in ``tmp_path``."""
    text = (REPO / "config" / "demo.yaml").read_text()
    text = text.replace("../layouts/", f"{REPO}/layouts/")
    text = text.replace("../.opswall-demo-state", str(tmp_path / "state"))
    text = text.replace("  port: 8080\n", "  port: 0\n  tls: true\n")
    path = tmp_path / "wall.yaml"
    path.write_text(
        text
        + f"access:\n  admin_secret: {ADMIN_SECRET}\n"
        + f"  admin_secret_file: {tmp_path / 'none'}\n"
    )
    return path


class RunningTls:
    """`opswall run` in a subprocess, its log in a file."""

    def __init__(self, config: Path, log: Path) -> None:
        self.log = log
        with log.open("wb") as out:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "controller.cli",
                    "run",
                    "--config",
                    str(config),
                ],
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=REPO,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )

    async def url(self) -> str:
        async def found() -> str | None:
            if self.process.poll() is not None:
                raise AssertionError(
                    f"opswall run exited with {self.process.returncode}:\n"
                    + self.log.read_text()[-3000:]
                )
            match = URL_LINE.search(self.log.read_text())
            return match.group(1) if match else None

        return await wait_for(found, 30, "opswall run to serve HTTPS")

    def stop(self) -> str:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.log.read_text()


def _pinned(cert: Path) -> ssl.SSLContext:
    """A client context that trusts only the appliance's own certificate."""
    context = ssl.create_default_context(cafile=str(cert))
    context.check_hostname = True
    return context


async def _use_the_remote(url: str, cert: Path) -> None:
    headers = {"Authorization": f"Bearer {ADMIN_SECRET}"}
    # A tablet on the appliance's IP address keeps the cookies, as browsers do.
    jar = aiohttp.CookieJar(unsafe=True)
    async with aiohttp.ClientSession(cookie_jar=jar) as http:
        async with http.get(
            url + "/api/v1/state", headers=headers, ssl=_pinned(cert)
        ) as reply:
            assert reply.status == 200
            assert reply.headers["Strict-Transport-Security"] == "max-age=31536000"
        async with http.put(
            url + "/api/v1/users/otto",
            json={"role": "operator", "secret": OPERATOR_PIN},
            headers=headers,
            ssl=_pinned(cert),
        ) as reply:
            assert reply.status == 200, await reply.text()

        # A tablet logs in: both cookies are Secure, the session one HttpOnly too.
        async with http.post(
            url + "/api/v1/login",
            json={"user": "otto", "secret": OPERATOR_PIN},
            ssl=_pinned(cert),
        ) as reply:
            assert reply.status == 200
            csrf = (await reply.json())["csrf"]
            cookies = reply.headers.getall("Set-Cookie")
        session = next(c for c in cookies if c.startswith("opswall_session="))
        token = next(c for c in cookies if c.startswith("opswall_csrf="))
        assert "Secure" in session and "HttpOnly" in session
        assert "SameSite=Strict" in session
        assert "Secure" in token and "HttpOnly" not in token
        async with http.post(
            url + "/api/v1/presets/traffic/activate",
            headers={"X-CSRF-Token": csrf, "Origin": url},
            ssl=_pinned(cert),
        ) as reply:
            assert reply.status == 200, await reply.text()

        # Plain HTTP on the HTTPS port gets nowhere.
        with pytest.raises(aiohttp.ClientError):
            async with http.get(
                url.replace("https://", "http://") + "/api/v1/state", headers=headers
            ) as reply:
                await reply.read()

        # A client that does not pin the certificate refuses it (self-signed).
        with pytest.raises(aiohttp.ClientConnectorCertificateError):
            async with http.get(url + "/api/v1/state", headers=headers) as reply:
                await reply.read()


async def test_https_certificate_is_made_at_first_start_and_reused(tmp_path):
    config = _config(tmp_path)
    state = tmp_path / "state"
    cert, key = state / "tls" / "cert.pem", state / "tls" / "key.pem"
    assert not cert.exists()

    first = RunningTls(config, tmp_path / "first.log")
    try:
        url = await first.url()
        assert cert.exists() and key.exists()
        assert key.stat().st_mode & 0o777 == 0o600
        assert (state / "tls").stat().st_mode & 0o077 == 0
        await _use_the_remote(url, cert)
    finally:
        log = first.stop()
    assert first.process.returncode == 0, log
    assert "made a self-signed TLS certificate" in log
    made = (cert.read_bytes(), key.read_bytes())

    second = RunningTls(config, tmp_path / "second.log")
    try:
        url = await second.url()
        assert (cert.read_bytes(), key.read_bytes()) == made
        await _use_the_remote(url, cert)
    finally:
        log = second.stop()
    assert second.process.returncode == 0, log
    assert "made a self-signed TLS certificate" not in log
    assert OPERATOR_PIN not in log and ADMIN_SECRET not in log

    # The audit log saw the tablet's activation over HTTPS both times.
    audit = (state / "audit.jsonl").read_text()
    assert audit.count('"action": "preset.activate"') == 2
