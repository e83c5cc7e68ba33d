"""Figure 8: serial round trip against the wire time at the configured baud rate.

A pseudo-terminal has no baud rate: bytes cross it at once. The bench therefore runs
the real SerialLink against the NovaStar simulator twice: as is (what remains is our
software's own time per round trip) and paced like a real line, where the simulator
answers only after the request's wire time, a device delay and the reply's wire time.
"""

from __future__ import annotations

import asyncio
import os
import select
import tempfile
import threading
import time
from pathlib import Path

from bench.harness import Figure, Stats, now
from controller.displays.novastar import NovaStarDriver
from controller.displays.simulator import NovaStarSimulator
from controller.displays.transport import SerialLink

BITS_PER_BYTE = 10  # 8N1: start, eight data bits, stop
DEVICE_DELAY_S = 0.005
TARGET_RATIO = 1.2
OPEN_TIMEOUT_S = 10.0
BURST = 100
POLL_S = 0.05


class PacedNovaStarSimulator(NovaStarSimulator):
    """The NovaStar simulator answering no sooner than a real line and device would.

    It serves the pty from its own thread (like a device apart from our loop) and
    writes each reply at: request arrival + request wire time + device delay + reply
    wire time, timed with ``time.sleep`` rather than the loop's millisecond timers.
    """

    def __init__(self, baud_rate: int, device_delay_s: float, link: Path) -> None:
        super().__init__(link=link)
        self.baud_rate = baud_rate
        self.device_delay_s = device_delay_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def wire_s(self, size: int) -> float:
        return size * BITS_PER_BYTE / self.baud_rate

    async def start(self) -> None:
        await super().start()
        assert self._loop is not None and self._master is not None
        self._loop.remove_reader(self._master)
        self._thread = threading.Thread(
            target=self._serve, args=(self._master,), name="paced simulator"
        )
        self._thread.start()

    async def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            await asyncio.get_running_loop().run_in_executor(None, self._thread.join)
        await super().stop()

    def _serve(self, master: int) -> None:
        buffer = bytearray()
        while not self._stop.is_set():
            readable, _, _ = select.select([master], [], [], POLL_S)
            if not readable:
                continue
            arrived = now()
            try:
                buffer += os.read(master, 4096)
            except OSError:
                return
            while (request := self.take_request(buffer)) is not None:
                self.received.append(request)
                reply = self.answer(request, None)
                if reply is None:
                    continue
                due = (
                    arrived
                    + self.wire_s(len(request))
                    + self.device_delay_s
                    + self.wire_s(len(reply))
                )
                time.sleep(max(0.0, due - now()))
                os.write(master, reply)
                arrived = now()


async def _round_trips(paced: bool, count: int) -> dict[str, list[float]]:
    driver = NovaStarDriver()
    with tempfile.TemporaryDirectory(prefix="opswall-bench-serial-") as tmp:
        path = Path(tmp) / "usb-sim-novastar"
        simulator = (
            PacedNovaStarSimulator(driver.baud_rate, DEVICE_DELAY_S, path)
            if paced
            else NovaStarSimulator(link=path)
        )
        await simulator.start()
        link = SerialLink(simulator.path, driver.baud_rate, driver.take_frame)
        await link.start()
        try:
            if not await link.wait_online(OPEN_TIMEOUT_S):
                raise RuntimeError(f"serial link did not open: {link.last_error}")
            result: dict[str, list[float]] = {"rtt_ms": [], "budget_ms": []}
            for n in range(count):
                command = driver.plan("brightness", n % 101, 0)[0]
                start = now()
                await link.exchange(command.request, command.parse, 2.0, command.what)
                result["rtt_ms"].append((now() - start) * 1000)
                reply = len(simulator.received[-1]) + 2  # NovaStar write reply
                result["budget_ms"].append(_budget_ms(driver, command.request, reply))

            simulator.received.clear()
            writes = [driver.plan("brightness", n % 101, 0)[0] for n in range(BURST)]
            start = now()
            replies = await asyncio.gather(
                *(link.exchange(c.request, c.parse, 5.0, c.what) for c in writes)
            )
            result["burst_s"] = [now() - start]
            lost = sum(
                1 for n, reply in enumerate(replies) if reply != {"brightness": n % 101}
            )
            lost += sum(
                1
                for sent, got in zip(writes, simulator.received, strict=False)
                if sent.request != got
            ) + max(0, BURST - len(simulator.received))
            result["burst_lost"] = [float(lost)]
            return result
        finally:
            await link.stop()
            await simulator.stop()


def _budget_ms(driver: NovaStarDriver, request: bytes, reply_len: int) -> float:
    wire = (len(request) + reply_len) * BITS_PER_BYTE / driver.baud_rate
    return (wire + DEVICE_DELAY_S) * 1000


async def measure(count: int) -> dict[str, dict[str, list[float]]]:
    """Round trips and a burst, unpaced and paced."""
    return {
        "unpaced": await _round_trips(False, count),
        "paced": await _round_trips(True, count),
    }


def figure(samples: dict[str, dict[str, list[float]]]) -> Figure:
    """Figure 8 from both runs."""
    paced, unpaced = samples["paced"], samples["unpaced"]
    budget = Stats.of(paced["budget_ms"], "ms")
    baud = NovaStarDriver.baud_rate
    fig = Figure(
        "serial",
        f"Serial round trip (NovaStar at {baud} baud, pty simulator)",
        target=(
            f"RTT ≤ {TARGET_RATIO:g} × (wire time + device delay {DEVICE_DELAY_S * 1000:g}"
            f" ms); {BURST}-command burst with zero loss"
        ),
    )
    ratios = [
        rtt / b for rtt, b in zip(paced["rtt_ms"], paced["budget_ms"], strict=True)
    ]
    fig.stats = {
        "paced_rtt_ms": Stats.of(paced["rtt_ms"], "ms"),
        "wire_plus_device_ms": budget,
        "paced_ratio": Stats.of(ratios, "×"),
        "software_only_rtt_ms": Stats.of(unpaced["rtt_ms"], "ms"),
    }
    burst_budget_s = budget.median * BURST / 1000
    lost = int(paced["burst_lost"][0] + unpaced["burst_lost"][0])
    burst_s = paced["burst_s"][0]
    fig.values = {
        "baud_rate": baud,
        "device_delay_ms": DEVICE_DELAY_S * 1000,
        "burst_commands": BURST,
        "burst_lost": lost,
        "burst_paced_s": round(burst_s, 3),
        "burst_budget_s": round(burst_budget_s, 3),
        "burst_ratio": round(burst_s / burst_budget_s, 3),
        "burst_unpaced_s": round(unpaced["burst_s"][0], 3),
    }
    ratio = fig.stats["paced_ratio"].median
    fig.headline = (
        f"RTT {fig.stats['paced_rtt_ms'].median:.2f} ms vs wire+device "
        f"{budget.median:.2f} ms = {ratio:.2f}×; burst {BURST} in {burst_s:.2f} s "
        f"({burst_s / burst_budget_s:.2f}×), lost {lost}"
    )
    ok = (
        ratio <= TARGET_RATIO and lost == 0 and burst_s / burst_budget_s <= TARGET_RATIO
    )
    fig.judge(
        ok,
        f"ratio {ratio:.2f}× (burst {burst_s / burst_budget_s:.2f}×) vs "
        f"{TARGET_RATIO:g}×, {lost} lost: at {baud} baud a round trip's wire time is "
        f"only {budget.median - DEVICE_DELAY_S * 1000:.2f} ms, so the event loop's "
        "wake-up on a busy 2-core machine weighs heavily",
    )
    fig.notes.append(
        "Paced: the simulator writes its reply at request time + request wire time + "
        f"{DEVICE_DELAY_S * 1000:g} ms + reply wire time (8N1, 10 bits a byte), "
        "serving the pty from its own thread and sleeping with time.sleep. "
        "Software only: the same exchanges on an unpaced pty, i.e. what our stack adds "
        "per round trip on top of the line."
    )
    return fig
