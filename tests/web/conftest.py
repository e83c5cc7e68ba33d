"""The web remote's browser tests: one demo process and one headless Chromium for all."""

from __future__ import annotations

import ctypes
import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts" / "web"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DEMO_START_TIMEOUT_S = 40.0
DEMO_STOP_TIMEOUT_S = 15.0
TABLET = {"width": 1280, "height": 800}
PR_SET_PDEATHSIG = 1


@dataclass
class Demo:
    """A running ``opswall demo`` process and how to call its API."""

    url: str
    state_dir: Path
    log: Path
    pid: int
    admin_token: str

    @property
    def operator_pin(self) -> str:
        """The operator PIN the demo printed when it started."""
        found = re.search(r"user operator, PIN (\d+)", self.log.read_text())
        assert found, "the demo did not print the operator's PIN"
        return found.group(1)

    def call(
        self, method: str, path: str, body: Any = None, token: str | None = None
    ) -> tuple[int, Any]:
        """The status and JSON reply (None when empty) of one API request (as admin)."""
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            self.url + path,
            data=data,
            method=method,
            headers={
                "Content-Type": "application/json",
                "X-Opswall-Client": "test",
                "Authorization": f"Bearer {token or self.admin_token}",
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=20) as reply:
                status, text = reply.status, reply.read()
        except urllib.error.HTTPError as err:
            status, text = err.code, err.read()
        return status, json.loads(text) if text else None

    def get(self, path: str) -> Any:
        status, reply = self.call("GET", path)
        assert status == 200, f"GET {path}: {status} {reply}"
        return reply

    def post(self, path: str, body: Any = None) -> Any:
        status, reply = self.call("POST", path, body)
        assert status in (200, 201), f"POST {path}: {status} {reply}"
        return reply

    def state(self) -> Any:
        return self.get("/api/v1/state")

    def display(self, name: str = "led-wall") -> Any:
        return self.get("/api/v1/displays")["displays"][name]

    def leave_emergency(self) -> None:
        if self.state()["emergency"]:
            self.post("/api/v1/return")


def wait_until(
    predicate: Callable[[], Any],
    what: str,
    timeout: float = 10.0,
    interval: float = 0.1,
) -> Any:
    """Poll ``predicate`` until it returns something truthy; fail naming ``what``."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(
        f"timed out after {timeout} s waiting for {what} (last: {last!r})"
    )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _demo_config(tmp: Path) -> Path:
    """The demo config with absolute layout paths and its state in ``tmp``."""
    text = (REPO / "config" / "demo.yaml").read_text()
    lines = []
    for line in text.splitlines():
        if line.startswith("layouts:"):
            line = f"layouts: {REPO / 'layouts' / 'layouts.yaml'}"
        elif line.startswith("presets:"):
            line = f"presets: {REPO / 'layouts' / 'presets.yaml'}"
        elif line.startswith("state_dir:"):
            line = f"state_dir: {tmp / 'state'}"
        lines.append(line)
    path = tmp / "demo.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture(scope="package")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    """``opswall demo`` on a free port with a fresh state dir; stopped at the end."""
    if not CHROMIUM.exists():
        pytest.skip(f"browser tests need Debian's chromium at {CHROMIUM}")
    tmp = tmp_path_factory.mktemp("web-demo")
    config = _demo_config(tmp)
    port = _free_port()
    log = tmp / "demo.log"
    opswall = Path(sys.executable).with_name("opswall")
    token = secrets.token_urlsafe(24)
    with log.open("wb") as out:
        process = subprocess.Popen(
            [str(opswall), "demo", "--config", str(config), "--port", str(port)],
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_stop_when_pytest_dies,
            env={**os.environ, "OPSWALL_ADMIN_TOKEN": token, "PYTHONUNBUFFERED": "1"},
        )
    running = Demo(f"http://127.0.0.1:{port}", tmp / "state", log, process.pid, token)
    try:
        _wait_started(running, process)
        yield running
    finally:
        _stop(process)


def _stop_when_pytest_dies() -> None:
    # A pytest killed by a timeout runs no finalizer: the demo must not outlive it.
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def _wait_started(demo: Demo, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + DEMO_START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(
                f"opswall demo exited with {process.returncode}:\n"
                + demo.log.read_text()[-3000:]
            )
        try:
            if demo.state()["preset"] == "overview":
                return
        except (OSError, AssertionError):
            pass
        time.sleep(0.2)
    raise AssertionError(
        f"opswall demo did not answer within {DEMO_START_TIMEOUT_S} s:\n"
        + demo.log.read_text()[-3000:]
    )


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(DEMO_STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            pass
    # Anything the demo left behind in its session (it started it) goes too.
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.wait()


@pytest.fixture(scope="package")
def browser() -> Iterator[Any]:
    """Debian's headless Chromium driven by Playwright."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS
        )
        yield chromium
        chromium.close()


@pytest.fixture
def open_remote(demo: Demo, browser: Any) -> Iterator[Callable[..., Any]]:
    """Open the remote in a fresh browser context; pages report script errors."""
    contexts: list[Any] = []
    errors: list[str] = []
    ARTIFACTS.mkdir(parents=True, exist_ok=True)

    def open_page(
        viewport: dict[str, int] | None = None,
        touch: bool = False,
        user: str = "operator",
    ) -> Any:
        """A logged-in remote: ``operator`` with the printed PIN, or ``admin``."""
        context = browser.new_context(viewport=viewport or TABLET, has_touch=touch)
        contexts.append(context)
        page = context.new_page()
        page.on("pageerror", lambda err: errors.append(str(err)))
        page.goto(demo.url + "/")
        log_in(page, demo, user)
        page.wait_for_selector(".link-pill.live", timeout=10_000)
        return page

    yield open_page
    for context in contexts:
        context.close()
    assert not errors, f"script errors in the remote: {errors}"


def log_in(page: Any, demo: Demo, user: str = "operator") -> None:
    """Log in on the remote's login screen as ``user`` (operator PIN or admin token)."""
    secret = demo.operator_pin if user == "operator" else demo.admin_token
    page.wait_for_selector("#login-form", state="visible", timeout=10_000)
    page.fill("#login-user", user)
    page.fill("#login-secret", secret)
    page.click("#login-submit")
    page.wait_for_selector("#login-screen", state="hidden", timeout=10_000)
