"""The private Xvfb does not outlive the process that started it."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time

import pytest

pytestmark = pytest.mark.wall

# Starts an Xvfb, prints its pid and dies without stopping it (as when killed, or
# ended by Xlib).
_DIE_WITH_XVFB_RUNNING = textwrap.dedent(
    """
    import os
    from controller.wall.xserver import PrivateXvfb

    server = PrivateXvfb(320, 240)
    server.start()
    print(server._process.pid, flush=True)
    os._exit(1)
    """
)


def running(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split()[2] != "Z"
    except FileNotFoundError:
        return False


def test_xvfb_ends_when_the_process_that_started_it_dies():
    done = subprocess.run(
        [sys.executable, "-c", _DIE_WITH_XVFB_RUNNING],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    pid = int(done.stdout)
    deadline = time.monotonic() + 10
    while running(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    if running(pid):
        os.kill(pid, 9)
        pytest.fail(f"Xvfb {pid} outlived the process that started it")
