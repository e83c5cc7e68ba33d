"""Figure 7: cameras announced over mDNS → registered; goodbye → offline.

The real MdnsDiscovery and CameraRegistry run in this process. The announcements come
from a child process (``python -m bench.discovery``) with its own python-zeroconf
responder on 127.0.0.1, as cameras on the network would; both clocks are
CLOCK_MONOTONIC. Protocol: ``ANNOUNCE <round>`` → ``SENT <t0>``; ``GOODBYE <round>``
→ ``SENT <t0>``; ``QUIT``.
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import sys
import tempfile
from pathlib import Path

from zeroconf import IPVersion, ServiceInfo
from zeroconf.asyncio import AsyncZeroconf

from bench.harness import Figure, Stats, now
from controller.cameras.mdns import MdnsDiscovery
from controller.cameras.registry import CameraRegistry

ADDRESS = "127.0.0.1"
REGISTER_TARGET_S = 3.0
OFFLINE_TARGET_S = 1.0
ROUND_TIMEOUT_S = 15.0
SETTLE_S = 0.5


async def measure(count: int, rounds: int) -> dict[str, list[float]]:
    """``rounds`` times: announce ``count`` cameras, wait all online; goodbye, offline."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bench.discovery",
        "--count",
        str(count),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    result: dict[str, list[float]] = {"registered_s": [], "offline_s": []}
    try:
        if await _line(process) != "READY":
            raise RuntimeError("mDNS announcer did not start")
        with tempfile.TemporaryDirectory(prefix="opswall-bench-mdns-") as tmp:
            online = _Counter(count)
            registry = CameraRegistry({}, online.update, state_dir=Path(tmp))
            online.registry = registry
            discovery = MdnsDiscovery(registry, [ADDRESS])
            await discovery.start()
            try:
                await asyncio.sleep(SETTLE_S)
                for round_ in range(rounds):
                    online.prefix = f"{_instance(round_, 0)[:-3]}"
                    start = await _command(process, f"ANNOUNCE {round_}")
                    at = await online.wait(lambda n: n == count)
                    result["registered_s"].append(at - start)
                    start = await _command(process, f"GOODBYE {round_}")
                    at = await online.wait(lambda n: n == 0)
                    result["offline_s"].append(at - start)
            finally:
                await discovery.stop()
                await registry.flush()
        await _send(process, "QUIT")
        await asyncio.wait_for(process.wait(), 15)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    return result


class _Counter:
    """Counts online cameras on every registry change; notes when a count is reached."""

    def __init__(self, expected: int) -> None:
        self.expected = expected
        self.registry: CameraRegistry | None = None
        self.prefix = ""
        self.count = 0
        self._changed = asyncio.Event()
        self._times: dict[int, float] = {}

    def update(self) -> None:
        if self.registry is None:
            return
        self.count = sum(
            1
            for c in self.registry.all()
            if c.online and c.name.startswith(self.prefix)
        )
        self._times.setdefault(self.count, now())
        self._changed.set()

    async def wait(self, done: object) -> float:
        assert callable(done)
        deadline = now() + ROUND_TIMEOUT_S
        while not done(self.count):
            self._changed.clear()
            remaining = deadline - now()
            if remaining <= 0:
                raise TimeoutError(
                    f"{self.count} of {self.expected} cameras online after "
                    f"{ROUND_TIMEOUT_S} s"
                )
            try:
                await asyncio.wait_for(self._changed.wait(), remaining)
            except TimeoutError:
                continue
        at = self._times.pop(self.count, now())
        self._times.clear()
        return at


async def _command(process: asyncio.subprocess.Process, line: str) -> float:
    await _send(process, line)
    word, _, value = (await _line(process)).partition(" ")
    if word != "SENT":
        raise RuntimeError(f"mDNS announcer answered {word!r}")
    return float(value)


async def _send(process: asyncio.subprocess.Process, line: str) -> None:
    assert process.stdin is not None
    process.stdin.write(line.encode() + b"\n")
    await process.stdin.drain()


async def _line(process: asyncio.subprocess.Process) -> str:
    assert process.stdout is not None
    raw = await asyncio.wait_for(process.stdout.readline(), ROUND_TIMEOUT_S)
    return raw.decode().strip()


def figure(samples: dict[str, list[float]], count: int) -> Figure:
    """Figure 7 from the rounds."""
    fig = Figure(
        "discovery",
        f"Discovery of {count} cameras over mDNS (real MdnsDiscovery + CameraRegistry)",
        target=(
            f"all registered ≤ {REGISTER_TARGET_S:g} s; "
            f"goodbye → offline ≤ {OFFLINE_TARGET_S:g} s"
        ),
    )
    fig.stats = {
        "all_registered_s": Stats.of(samples["registered_s"], "s"),
        "all_offline_s": Stats.of(samples["offline_s"], "s"),
    }
    registered = fig.stats["all_registered_s"].maximum
    offline = fig.stats["all_offline_s"].maximum
    fig.values = {"cameras": count}
    fig.headline = (
        f"registered in {fig.stats['all_registered_s'].median:.2f} s, offline in "
        f"{fig.stats['all_offline_s'].median:.2f} s (worst {registered:.2f} / "
        f"{offline:.2f} s)"
    )
    misses = []
    if registered > REGISTER_TARGET_S:
        misses.append(
            f"worst registration {registered:.2f} s is "
            f"{registered - REGISTER_TARGET_S:.2f} s over"
        )
    if offline > OFFLINE_TARGET_S:
        misses.append(
            f"worst offline {offline:.2f} s is {offline - OFFLINE_TARGET_S:.2f} s over"
        )
    fig.judge(not misses, "; ".join(misses))
    fig.notes.append(
        "Announcements (no probing: cooperating responders) and goodbyes come from a "
        "separate process bound to 127.0.0.1 inside the bench's private network "
        "namespace; times run from just before the first announcement (goodbye) is "
        "sent to the registry reporting the last camera online (offline)."
    )
    return fig


# -- the child process ---------------------------------------------------------------


def _instance(round_: int, n: int) -> str:
    return f"Bench r{round_} cam {n:03d}"


def _info(round_: int, n: int) -> ServiceInfo:
    mac = f"02b0{round_:02x}{n >> 8:02x}{n & 0xFF:02x}00"
    return ServiceInfo(
        "_rtsp._tcp.local.",
        f"{_instance(round_, n)}._rtsp._tcp.local.",
        addresses=[socket.inet_aton(ADDRESS)],
        port=8554,
        properties={"path": "/stream", "macaddress": mac.upper(), "vendor": "Bench"},
        server=f"bench-r{round_}-{n:03d}.local.",
    )


async def _child(count: int) -> None:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(
        lambda: asyncio.StreamReaderProtocol(reader), sys.stdin
    )
    aiozc = AsyncZeroconf(interfaces=[ADDRESS], ip_version=IPVersion.V4Only)
    infos: list[ServiceInfo] = []
    print("READY", flush=True)
    while line := (await reader.readline()).decode().strip():
        command, _, arg = line.partition(" ")
        if command == "ANNOUNCE":
            infos = [_info(int(arg), n) for n in range(count)]
            start = now()
            await asyncio.gather(
                *(
                    aiozc.async_register_service(i, cooperating_responders=True)
                    for i in infos
                )
            )
            print(f"SENT {start}", flush=True)
        elif command == "GOODBYE":
            start = now()
            await asyncio.gather(*(aiozc.async_unregister_service(i) for i in infos))
            print(f"SENT {start}", flush=True)
        elif command == "QUIT":
            break
    await aiozc.async_close()


def main() -> None:
    parser = argparse.ArgumentParser(description="mDNS announcer for bench.discovery")
    parser.add_argument("--count", type=int, required=True)
    asyncio.run(_child(parser.parse_args().count))


if __name__ == "__main__":
    main()
