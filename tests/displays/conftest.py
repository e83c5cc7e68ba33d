"""Shared helpers of the display tests: simulators on real ptys and links to them."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

import pytest

from controller.displays.base import Driver
from controller.displays.drivers import make_driver
from controller.displays.simulator import PtySimulator, make_simulator
from controller.displays.transport import SerialLink

OPEN_TIMEOUT_S = 10.0


async def wait_for(condition: Callable[[], bool], timeout_s: float = 10.0) -> None:
    """Wait until ``condition()`` holds; fail the test when it does not in time."""
    async with asyncio.timeout(timeout_s):
        while not condition():
            await asyncio.sleep(0.02)


@pytest.fixture
async def simulators(tmp_path) -> AsyncIterator[Callable[..., PtySimulator]]:
    """Make started simulators (stopped after the test), each with a by-id link."""
    made: list[PtySimulator] = []

    async def make(protocol: str, ids=None) -> PtySimulator:
        link = tmp_path / f"usb-sim-{protocol}-{len(made)}"
        simulator = make_simulator(protocol, ids, link=link)
        await simulator.start()
        made.append(simulator)
        return simulator

    yield make  # type: ignore[misc]
    for simulator in made:
        await simulator.stop()


@pytest.fixture
async def links() -> AsyncIterator[Callable[..., SerialLink]]:
    """Make started serial links (stopped after the test)."""
    made: list[SerialLink] = []

    async def make(path: str, driver: Driver, wait: bool = True) -> SerialLink:
        link = SerialLink(path, driver.baud_rate, driver.take_frame)
        await link.start()
        made.append(link)
        if wait:
            assert await link.wait_online(OPEN_TIMEOUT_S), link.last_error
        return link

    yield make  # type: ignore[misc]
    for link in made:
        await link.stop()


def driver_for(protocol: str) -> Driver:
    return make_driver(protocol)
