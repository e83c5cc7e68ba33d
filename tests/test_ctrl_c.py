"""Ctrl-C at the terminal stops the service cleanly.

The terminal sends SIGINT to the whole foreground process group. The private Xvfb
used to be in it: it died first, libmpv's X connections broke ("X connection to :N
broken") and Xlib ended the process before the service had stopped.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys

import aiohttp
import pytest

from tests.conftest import wait_for
from tests.test_reload import copy_demo

pytestmark = pytest.mark.wall

SECRET = "ctrl-c-test-admin-secret"


async def test_sigint_to_the_process_group_stops_the_service_cleanly(tmp_path):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    path = copy_demo(tmp_path, port)
    path.write_text(path.read_text() + f"access: {{admin_secret: {SECRET}}}\n")
    process = subprocess.Popen(
        [sys.executable, "-m", "controller.cli", "run", "--config", str(path)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        start_new_session=True,  # a group of its own, as a shell's foreground job
    )
    try:
        async with aiohttp.ClientSession(
            headers={"Authorization": f"Bearer {SECRET}"}
        ) as http:

            async def answers() -> bool:
                try:
                    async with http.get(f"http://127.0.0.1:{port}/api/v1/state") as r:
                        return r.status == 200
                except aiohttp.ClientError:
                    return False

            await wait_for(answers, 30, "the service to answer")
        os.killpg(process.pid, signal.SIGINT)
        _, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    assert process.returncode == 0, err[-3000:]
    assert "X connection" not in err
    assert err.rstrip().endswith("opswall stopped"), err[-3000:]
