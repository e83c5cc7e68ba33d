"""Ctrl-C at the terminal stops the service cleanly.

The terminal sends SIGINT to the whole foreground process group. The private Xvfb
used to be in it: it died first, libmpv's X connections broke ("X connection to :N
broken") and Xlib ended the process before the service had stopped.
"""

from __future__ import annotations

import os
import signal

import aiohttp
import pytest

from tests.conftest import wait_for
from tests.test_reload import start_opswall_run

pytestmark = pytest.mark.wall

SECRET = "ctrl-c-test-admin-secret"


async def test_sigint_to_the_process_group_stops_the_service_cleanly(tmp_path):
    # A group of its own, as a shell's foreground job.
    process, _, port = start_opswall_run(tmp_path, SECRET, start_new_session=True)
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
