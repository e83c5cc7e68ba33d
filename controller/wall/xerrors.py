"""Xlib's error handler, kept from ending the process.

libX11 has one error handler for the whole process, and every mpv core here draws
through libX11. A core's video output installs mpv's own handler (it logs the error)
when it starts and puts back Xlib's default when it ends, and the default prints the
error and exits. So once any one player has ended, a single stray X error in another
core (a window it still uses, gone a moment early) would end the service and black
out the wall. The wall calls :func:`keep_nonfatal` after a player ends and on each
watchdog tick, which puts back a handler that logs and carries on.

Errors of the connection itself (the X server gone) still end the process: Xlib gives
no way to survive them, and systemd restarts the service with its display.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
from functools import cache

_LOGGER = logging.getLogger(__name__)


class _XErrorEvent(ctypes.Structure):
    # The head of Xlib's XErrorEvent (X11/Xlib.h), up to the fields logged.
    _fields_ = [
        ("type", ctypes.c_int),
        ("display", ctypes.c_void_p),
        ("resourceid", ctypes.c_ulong),
        ("serial", ctypes.c_ulong),
        ("error_code", ctypes.c_ubyte),
        ("request_code", ctypes.c_ubyte),
        ("minor_code", ctypes.c_ubyte),
    ]


_ErrorHandler = ctypes.CFUNCTYPE(
    ctypes.c_int, ctypes.c_void_p, ctypes.POINTER(_XErrorEvent)
)


def _log_and_carry_on(_display: int | None, event: ctypes._Pointer[_XErrorEvent]) -> int:
    error = event.contents
    _LOGGER.warning(
        "X error %d from request %d.%d on resource 0x%x: ignored",
        error.error_code,
        error.request_code,
        error.minor_code,
        error.resourceid,
    )
    return 0


# Kept for the life of the process: libX11 calls it from any thread at any time.
_HANDLER = _ErrorHandler(_log_and_carry_on)


@cache
def _libx11() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("X11")
    if name is None:
        _LOGGER.warning("libX11 not found: X errors in a player may end the service")
        return None
    library = ctypes.CDLL(name)
    library.XSetErrorHandler.argtypes = [_ErrorHandler]
    library.XSetErrorHandler.restype = ctypes.c_void_p
    return library


def keep_nonfatal() -> None:
    """Make libX11's error handler one that logs the error and carries on."""
    library = _libx11()
    if library is not None:
        library.XSetErrorHandler(_HANDLER)

