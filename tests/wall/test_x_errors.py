"""One player ending must not make the next X error fatal for the whole process."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

pytestmark = pytest.mark.wall

# Run apart: Xlib's default handler would end pytest itself.
SCRIPT = textwrap.dedent(
    """
    import asyncio, ctypes, ctypes.util, os
    from controller.wall.player import TilePlayer
    from controller.wall.xserver import PrivateXvfb, WallScreen

    async def main():
        xvfb = PrivateXvfb(640, 360)
        name = xvfb.start()
        os.environ["DISPLAY"] = name  # where mpv draws
        screen = WallScreen(name)
        loop = asyncio.get_running_loop()
        players = [
            await loop.run_in_executor(
                None, TilePlayer, screen.create_window(f"t{i}"), loop,
                lambda p: None, "no",
            )
            for i in range(2)
        ]
        await loop.run_in_executor(None, players[0].terminate)

        # An X error through libX11, as a core's video output would meet one.
        x11 = ctypes.CDLL(ctypes.util.find_library("X11"))
        x11.XOpenDisplay.restype = ctypes.c_void_p
        x11.XOpenDisplay.argtypes = [ctypes.c_char_p]
        x11.XDestroyWindow.argtypes = [ctypes.c_void_p, ctypes.c_ulong]
        x11.XSync.argtypes = [ctypes.c_void_p, ctypes.c_int]
        connection = x11.XOpenDisplay(name.encode())
        x11.XDestroyWindow(connection, 0x1FFFFF)  # no such window: BadWindow
        x11.XSync(connection, 0)
        print("survived the X error", flush=True)

        await loop.run_in_executor(None, players[1].terminate)
        screen.close()
        xvfb.stop()

    asyncio.run(main())
    """
)


def test_an_x_error_after_a_player_ended_is_logged_not_fatal():
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert "X Error of failed request" not in result.stderr
    assert result.returncode == 0, result.stderr
    assert "survived the X error" in result.stdout
    assert "X error 3 from request 4.0" in result.stderr  # BadWindow, DestroyWindow
