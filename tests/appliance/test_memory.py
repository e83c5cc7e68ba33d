"""The service tunes glibc's malloc, so reconnecting cameras do not grow memory."""

from __future__ import annotations

import subprocess
import sys
import textwrap

# A child process: 16 threads allocate at once, then glibc's malloc_info counts heaps.
_COUNT_HEAPS = textwrap.dedent(
    """
    import ctypes, sys, tempfile, threading
    from controller.appliance.memory import tune_malloc

    if sys.argv[1] == "capped":
        assert tune_malloc()
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


def run_child(script: str, mode: str) -> str:
    """What ``script`` printed, run in a process of its own (malloc's settings are
    per process)."""
    done = subprocess.run(
        [sys.executable, "-c", script, mode],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return done.stdout


def heaps(mode: str) -> int:
    return int(run_child(_COUNT_HEAPS, mode))


def test_capped_process_keeps_two_malloc_arenas_however_many_threads_allocate():
    assert heaps("capped") <= 2
    # The same threads without the cap spread over more arenas (the growth it stops).
    assert heaps("default") > 2


# A child process: one mpv core opens an RTSP camera that refuses, again and again,
# as a player does while its camera is down; prints its RSS growth in MiB.
_RETRY_UNREACHABLE = textwrap.dedent(
    """
    import sys, time
    import mpv
    from controller.appliance.memory import tune_malloc

    def rss_mib():
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024

    if sys.argv[1] == "tuned":
        assert tune_malloc()
    else:  # the arena cap alone, as the service had it first
        import ctypes
        from controller.appliance.memory import M_ARENA_MAX, MALLOC_ARENAS
        assert ctypes.CDLL(None).mallopt(M_ARENA_MAX, MALLOC_ARENAS) == 1
    player = mpv.MPV(vo="null", audio="no", idle="yes", cache="no",
                     rtsp_transport="tcp", loglevel="no")
    player.loadfile("rtsp://127.0.0.1:9/stream")
    time.sleep(0.5)
    start = rss_mib()
    for _ in range(100):
        player.loadfile("rtsp://127.0.0.1:9/stream")  # port 9: refused
        time.sleep(0.05)
    print(round(rss_mib() - start, 1))
    player.terminate()
    """
)


def rss_growth_mib(mode: str) -> float:
    return float(run_child(_RETRY_UNREACHABLE, mode))


def test_retrying_an_unreachable_camera_does_not_grow_memory():
    tuned, arenas_only = rss_growth_mib("tuned"), rss_growth_mib("arenas only")
    assert tuned < 16, f"RSS grew {tuned} MiB over 100 refused opens"
    # glibc's dynamic mmap threshold keeps what each attempt freed (the growth the
    # fixed thresholds stop).
    assert arenas_only > 40, f"only {arenas_only} MiB with the arena cap alone"
