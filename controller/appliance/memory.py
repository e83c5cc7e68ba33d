"""The service process's memory allocator: cap glibc's malloc arenas.

Every stream (re)open makes mpv and FFmpeg start fresh demuxer and decoder threads,
and glibc gives a new thread its own malloc arena, up to eight per CPU core. Each arena
keeps what it once held, so on a wall whose cameras drop and come back the resident
memory grew by about 10 MiB per reconnect (233 → 330 MiB over 30 reconnects of one
camera, measured by the soak campaign on 2 cores) and went on growing; with two arenas
it stayed between 234 and 244 MiB. Two arenas are enough: the threads that allocate
much (decoders) hold their frames in FFmpeg's own buffer pools.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging

_LOGGER = logging.getLogger(__name__)

#: ``M_ARENA_MAX`` of glibc's mallopt(3).
M_ARENA_MAX = -8
#: Arenas the service's process may have (the main one included).
MALLOC_ARENAS = 2


def limit_malloc_arenas(arenas: int = MALLOC_ARENAS) -> bool:
    """Cap glibc's malloc arenas for this process; False where that is not possible.

    Affects arenas made from now on (call it before the players start). A C library
    without mallopt (musl) is left alone with a debug message: it has no per-thread
    arenas to cap.
    """
    if arenas < 1:
        raise ValueError(f"malloc arenas must be at least 1, got {arenas!r}")
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name)
        mallopt = libc.mallopt
    except (OSError, AttributeError) as err:
        _LOGGER.debug("cannot cap malloc arenas (%s): %s", name, err)
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    if mallopt(M_ARENA_MAX, arenas) != 1:
        _LOGGER.warning("glibc refused to cap malloc arenas at %d", arenas)
        return False
    _LOGGER.debug("malloc arenas capped at %d", arenas)
    return True
