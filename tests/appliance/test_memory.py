"""The service caps glibc's malloc arenas, so reconnecting cameras do not grow memory."""

from __future__ import annotations

import subprocess
import sys
import textwrap

# A child process: 16 threads allocate at once, then glibc's malloc_info counts heaps.
_COUNT_HEAPS = textwrap.dedent(
    """
    import ctypes, sys, tempfile, threading
    from controller.appliance.memory import limit_malloc_arenas

    if sys.argv[1] == "capped":
        assert limit_malloc_arenas()
    libc = ctypes.CDLL(None)
    libc.malloc.restype = ctypes.c_void_p
    libc.fopen.restype = ctypes.c_void_p
    libc.malloc_info.argtypes = (ctypes.c_int, ctypes.c_void_p)
    libc.fclose.argtypes = (ctypes.c_void_p,)
    start = threading.Barrier(16)

    def allocate():
        start.wait()
        for _ in range(200):
            libc.malloc(16384)

    threads = [threading.Thread(target=allocate) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with tempfile.NamedTemporaryFile() as out:
        stream = libc.fopen(out.name.encode(), b"w")
        libc.malloc_info(0, stream)
        libc.fclose(stream)
        print(open(out.name).read().count("<heap nr="))
    """
)


def heaps(mode: str) -> int:
    done = subprocess.run(
        [sys.executable, "-c", _COUNT_HEAPS, mode],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return int(done.stdout)


def test_capped_process_keeps_two_malloc_arenas_however_many_threads_allocate():
    assert heaps("capped") <= 2
    # The same threads without the cap spread over more arenas (the growth it stops).
    assert heaps("default") > 2
