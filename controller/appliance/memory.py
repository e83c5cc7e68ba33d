"""The service process's memory allocator: glibc's malloc, tuned for reconnecting players.

Two of glibc's defaults make a wall whose cameras drop and come back look as if it
leaked, although every byte is freed (``malloc_trim`` gives it all back):

- **Arenas.** Every stream (re)open makes mpv and FFmpeg start fresh demuxer and
  decoder threads, and glibc gives a new thread its own arena, up to eight per core,
  each keeping what it once held: about 10 MiB more per reconnect. Two arenas are
  enough (decoders keep their frames in FFmpeg's own buffer pools).
- **The dynamic mmap threshold.** A large block freed raises the size below which
  glibc serves blocks from the heap instead of mapping them (up to 32 MiB), and a
  heap only shrinks from its top. Each failed open of an RTSP camera frees a few
  large buffers, so the heap grew by about 5 MiB per attempt: one player retrying an
  unreachable camera 100 times went from 72 to 596 MiB. With the thresholds fixed
  (which turns the dynamic one off) it stayed at 76 MiB.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging

_LOGGER = logging.getLogger(__name__)

#: ``mallopt(3)`` parameters.
M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
M_ARENA_MAX = -8
#: Arenas the service's process may have (the main one included).
MALLOC_ARENAS = 2
#: Blocks from this size up are mapped on their own and unmapped when freed.
MMAP_THRESHOLD_BYTES = 1024 * 1024
#: Free memory at the heap's top beyond this goes back to the system.
TRIM_THRESHOLD_BYTES = 2 * 1024 * 1024


def tune_malloc(arenas: int = MALLOC_ARENAS) -> bool:
    """Cap glibc's malloc arenas and fix its mmap and trim thresholds for this process;
    False where that is not possible.

    Call it before the players start (the arena cap affects arenas made later). A C
    library without mallopt (musl) is left alone with a debug message.
    """
    if arenas < 1:
        raise ValueError(f"malloc arenas must be at least 1, got {arenas!r}")
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name)
        mallopt = libc.mallopt
    except (OSError, AttributeError) as err:
        _LOGGER.debug("cannot tune malloc (%s): %s", name, err)
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    settings = (
        ("arenas", M_ARENA_MAX, arenas),
        ("mmap threshold", M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES),
        ("trim threshold", M_TRIM_THRESHOLD, TRIM_THRESHOLD_BYTES),
    )
    for what, parameter, value in settings:
        if mallopt(parameter, value) != 1:
            _LOGGER.warning("glibc refused malloc %s %d", what, value)
            return False
    _LOGGER.debug(
        "malloc: %d arenas, mmap from %d bytes, trim above %d bytes",
        arenas,
        MMAP_THRESHOLD_BYTES,
        TRIM_THRESHOLD_BYTES,
    )
    return True
