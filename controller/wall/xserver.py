"""The wall's X display: a private Xvfb or the appliance's X server, and tile windows."""

from __future__ import annotations

import ctypes
import logging
import os
import random
import shutil
import signal
import subprocess
import tempfile
from dataclasses import dataclass

from PIL import Image
from Xlib import X, Xatom, display, error

from controller.errors import WallError
from controller.layouts import Rect

_LOGGER = logging.getLogger(__name__)

XVFB_START_TIMEOUT_S = 10.0
XVFB_MESSAGES_KEPT = 4  # last lines of Xvfb's stderr quoted when it fails to start
# Xvfb's own search (-displayfd alone) starts at :0 and trusts lock files this Xvfb
# does not write: in another network namespace (the test runner's) the abstract
# socket of :0 is free, so every Xvfb took :0 and replaced the socket file of the
# others; python-xlib prefers that file and read pixels from another test's screen.
XVFB_FIRST_DISPLAY = 100
XVFB_LAST_DISPLAY = 30000
XVFB_ATTEMPTS = 5
X11_SOCKET_DIR = "/tmp/.X11-unix"


class PrivateXvfb:
    """An Xvfb server started for the wall, at the wall's resolution."""

    def __init__(self, width: int, height: int) -> None:
        self.width = width
        self.height = height
        self.name = ""
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> str:
        """Start Xvfb on a free display number; return the display name (``:N``).

        The number is picked at random above ``XVFB_FIRST_DISPLAY`` among those
        without a socket in ``/tmp/.X11-unix``, and another is tried when Xvfb
        refuses it (up to ``XVFB_ATTEMPTS`` times).
        """
        if shutil.which("Xvfb") is None:
            raise WallError(
                "Xvfb is not installed; run ./scripts/setup.sh or set wall.display"
            )
        said: list[str] = []
        for _attempt in range(XVFB_ATTEMPTS):
            number, said = self._start_on(_free_display_number())
            if number:
                self.name = f":{number}"
                _LOGGER.info(
                    "started Xvfb %s at %dx%d", self.name, self.width, self.height
                )
                return self.name
        raise WallError(
            "Xvfb did not start (no display number reported): "
            + (" / ".join(said[-XVFB_MESSAGES_KEPT:]) or "it said nothing")
        )

    def _start_on(self, number: int) -> tuple[str, list[str]]:
        """Run Xvfb on display ``number``: the number it reports (empty when it
        failed) and the last lines it printed."""
        read_fd, write_fd = os.pipe()
        # Xvfb's chatter goes to an unlinked file, read only to say why it failed.
        with tempfile.TemporaryFile() as messages:
            self._process = subprocess.Popen(
                [
                    "Xvfb",
                    f":{number}",
                    "-displayfd",
                    str(write_fd),
                    "-screen",
                    "0",
                    f"{self.width}x{self.height}x24",
                    "-nolisten",
                    "tcp",
                    "-noreset",
                ],
                pass_fds=(write_fd,),
                stdout=subprocess.DEVNULL,
                stderr=messages,
                # Its own process group: Ctrl-C at the terminal reaches the service,
                # which ends its players and then stops this server. Killed with the
                # service's group, it took libmpv's X connections down first, and
                # Xlib ended the process without the service stopping cleanly.
                start_new_session=True,
                # ... and it ends with the service even when the service cannot stop
                # it (killed, or ended by Xlib), rather than outliving it.
                preexec_fn=_end_with_parent,
            )
            os.close(write_fd)
            with os.fdopen(read_fd) as pipe:
                reported = pipe.readline().strip()
            if reported:
                return reported, []
            self.stop()
            messages.seek(0)
            said = messages.read().decode(errors="replace").strip().splitlines()
            return "", said

    def stop(self) -> None:
        """Stop the server (idempotent)."""
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(5)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        self._process = None


@dataclass
class TileWindow:
    """A borderless X window that one player draws into."""

    window_id: int
    rect: Rect | None = None
    mapped: bool = False


class WallScreen:
    """Our own X connection: creates, places and stacks the tile windows.

    Used only from the event loop. Without a window manager, windows are placed and
    raised directly (``override_redirect``), so a layout switch is a handful of
    ConfigureWindow requests and one flush.
    """

    def __init__(self, display_name: str) -> None:
        self.display_name = display_name
        try:
            self._display = display.Display(display_name)
        except (error.DisplayError, OSError) as err:
            raise WallError(f"cannot open X display {display_name}: {err}") from err
        self._screen = self._display.screen()
        self._root = self._screen.root
        self.width = self._screen.width_in_pixels
        self.height = self._screen.height_in_pixels
        self._root.change_attributes(background_pixel=self._screen.black_pixel)
        self._root.clear_area()
        self._display.flush()

    def create_window(self, title: str) -> TileWindow:
        """A new unmapped, borderless, black window."""
        window = self._root.create_window(
            0,
            0,
            16,
            16,
            0,
            self._screen.root_depth,
            X.InputOutput,
            X.CopyFromParent,
            background_pixel=self._screen.black_pixel,
            override_redirect=True,
            event_mask=X.StructureNotifyMask,
        )
        window.change_property(Xatom.WM_NAME, Xatom.STRING, 8, title.encode())
        self._display.flush()
        return TileWindow(window.id)

    def place(self, tile_window: TileWindow, rect: Rect) -> None:
        """Move and resize the window to ``rect``, map it and raise it (not flushed)."""
        window = self._display.create_resource_object("window", tile_window.window_id)
        if tile_window.rect != rect:
            window.configure(x=rect.x, y=rect.y, width=rect.w, height=rect.h)
            tile_window.rect = rect
        if not tile_window.mapped:
            window.map()
            tile_window.mapped = True

    def place_below(
        self, tile_window: TileWindow, rect: Rect, above: TileWindow
    ) -> None:
        """Place the window at ``rect``, mapped but stacked just under ``above``, so
        its player can start a stream unseen (not flushed)."""
        window = self._display.create_resource_object("window", tile_window.window_id)
        if tile_window.rect != rect:
            window.configure(x=rect.x, y=rect.y, width=rect.w, height=rect.h)
            tile_window.rect = rect
        if not tile_window.mapped:
            window.map()
            tile_window.mapped = True
        window.configure(sibling=above.window_id, stack_mode=X.Below)

    def raise_window(self, tile_window: TileWindow) -> None:
        """Put the window on top of the others (not flushed)."""
        window = self._display.create_resource_object("window", tile_window.window_id)
        window.configure(stack_mode=X.Above)

    def destroy(self, tile_window: TileWindow) -> None:
        """Destroy the window of a player that was replaced (not flushed)."""
        window = self._display.create_resource_object("window", tile_window.window_id)
        window.destroy()
        tile_window.mapped = False

    def hide(self, tile_window: TileWindow) -> None:
        """Unmap the window (not flushed)."""
        if tile_window.mapped:
            window = self._display.create_resource_object(
                "window", tile_window.window_id
            )
            window.unmap()
            tile_window.mapped = False

    def flush(self) -> None:
        """Send the queued requests and wait until the server has handled them."""
        self._display.sync()

    def alive(self) -> bool:
        """True when the X server still answers."""
        try:
            self._display.get_input_focus()
        except (error.ConnectionClosedError, OSError):
            return False
        return True

    def close(self) -> None:
        self._display.close()


def capture(display_name: str) -> Image.Image:
    """The whole screen of ``display_name`` as an RGB image (blocking: run in a thread)."""
    conn = display.Display(display_name)
    try:
        screen = conn.screen()
        width, height = screen.width_in_pixels, screen.height_in_pixels
        raw = screen.root.get_image(0, 0, width, height, X.ZPixmap, 0xFFFFFFFF)
        return Image.frombytes("RGB", (width, height), raw.data, "raw", "BGRX")
    finally:
        conn.close()


#: ``PR_SET_PDEATHSIG`` of prctl(2).
PR_SET_PDEATHSIG = 1


def _end_with_parent() -> None:
    """In the child before exec: be sent SIGTERM when the thread that started us ends
    (the process's main thread, or an executor thread that lives until shutdown)."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)


def _free_display_number() -> int:
    """A random display number without a socket file (another server's)."""
    while True:
        number = random.randint(XVFB_FIRST_DISPLAY, XVFB_LAST_DISPLAY)
        if not os.path.exists(os.path.join(X11_SOCKET_DIR, f"X{number}")):
            return number
