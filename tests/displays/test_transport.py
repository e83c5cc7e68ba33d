"""The serial link against simulated displays on real pseudo-terminals."""

from __future__ import annotations

import asyncio
import logging

import pytest
import serial

from controller.displays.base import brightness_to_byte
from controller.displays.errors import (
    DisplayChecksumError,
    DisplayNakError,
    DisplayOfflineError,
    DisplayTimeoutError,
    DisplayWrongIdError,
)
from controller.displays.novastar import REG_BRIGHTNESS, NovaStarDriver

from .conftest import driver_for, wait_for

PROTOCOLS = ["novastar", "samsung-mdc", "lg", "nec"]
DEFAULT_IDS = {"novastar": 0, "samsung-mdc": 1, "lg": 1, "nec": 1}


async def heartbeat(link, protocol, timeout_s=2.0):
    driver = driver_for(protocol)
    command = driver.status_commands(DEFAULT_IDS[protocol], full=False)[0]
    return await link.exchange(command.request, command.parse, timeout_s, command.what)


@pytest.mark.parametrize("fault", ["split", "junk", "echo"])
@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_reply_is_framed_despite_split_junk_or_echo(
    simulators, links, protocol, fault
):
    simulator = await simulators(protocol)
    link = await links(simulator.path, driver_for(protocol))
    clean = await heartbeat(link, protocol)

    simulator.misbehave(fault)
    assert await heartbeat(link, protocol) == clean
    assert clean


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_nak_from_the_device_raises_nak_and_the_next_request_works(
    simulators, links, protocol
):
    simulator = await simulators(protocol)
    link = await links(simulator.path, driver_for(protocol))

    simulator.misbehave("nak")
    with pytest.raises(DisplayNakError):
        await heartbeat(link, protocol)
    assert await heartbeat(link, protocol)


@pytest.mark.parametrize("protocol", ["novastar", "samsung-mdc", "nec"])
async def test_corrupted_reply_raises_checksum_error(simulators, links, protocol):
    simulator = await simulators(protocol)
    link = await links(simulator.path, driver_for(protocol))

    simulator.misbehave("bad_checksum")
    with pytest.raises(DisplayChecksumError):
        await heartbeat(link, protocol)


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_reply_from_another_id_raises_wrong_id(simulators, links, protocol):
    simulator = await simulators(protocol)
    link = await links(simulator.path, driver_for(protocol))

    simulator.misbehave("wrong_id")
    with pytest.raises(DisplayWrongIdError):
        await heartbeat(link, protocol)


async def test_silence_times_out_and_a_late_reply_is_not_taken_for_the_next(
    simulators, links
):
    simulator = await simulators("samsung-mdc")
    driver = driver_for("samsung-mdc")
    link = await links(simulator.path, driver)

    simulator.misbehave("silence")
    with pytest.raises(DisplayTimeoutError, match="no reply on .* within 0.3 s"):
        await heartbeat(link, "samsung-mdc", timeout_s=0.3)

    # The late power reply is still on its way when we ask for the brightness: it
    # must be skipped, not taken as the answer.
    [brightness] = driver.plan("brightness", 70, 1)
    simulator.inject(bytes.fromhex("AA FF 01 03 41 11 00 55"))
    simulator.misbehave("split")
    assert await link.exchange(brightness.request, brightness.parse, 2.0) == {
        "brightness": 70
    }


async def test_a_second_opener_of_the_port_is_refused(simulators, links):
    simulator = await simulators("novastar")
    first = await links(simulator.path, NovaStarDriver())

    with pytest.raises(serial.SerialException, match="exclusively lock"):
        serial.Serial(simulator.path, exclusive=True)
    second = await links(simulator.path, NovaStarDriver(), wait=False)
    assert not await second.wait_online(1.5)
    assert "exclusive open refused" in (second.last_error or "")
    assert first.online


async def test_unplug_goes_offline_fails_fast_and_replug_recovers(
    simulators, links, caplog
):
    simulator = await simulators("novastar")
    link = await links(simulator.path, NovaStarDriver())
    caplog.set_level(logging.INFO, logger="controller.displays.transport")

    simulator.unplug()
    await wait_for(lambda: not link.online)
    with pytest.raises(DisplayOfflineError, match="display control offline"):
        await heartbeat(link, "novastar", timeout_s=30)

    await asyncio.sleep(1.2)  # a few reopen attempts while the adapter is gone
    await simulator.replug()
    assert await link.wait_online(15)
    assert (await heartbeat(link, "novastar"))["model"] == "VX4S"
    lost = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(lost) <= 2, [r.getMessage() for r in lost]
    assert any("lost" in r.getMessage() for r in lost)


async def test_a_request_in_flight_fails_at_once_when_the_device_vanishes(
    simulators, links
):
    simulator = await simulators("lg")
    link = await links(simulator.path, driver_for("lg"))

    simulator.misbehave("vanish")
    started = asyncio.get_running_loop().time()
    with pytest.raises(DisplayOfflineError, match="lost while waiting"):
        await heartbeat(link, "lg", timeout_s=60)
    assert asyncio.get_running_loop().time() - started < 60


async def test_burst_of_100_commands_loses_none(simulators, links):
    simulator = await simulators("novastar")
    driver = NovaStarDriver()
    link = await links(simulator.path, driver)
    writes = [driver.plan("brightness", n % 101, 0)[0] for n in range(100)]

    results = await asyncio.gather(
        *(link.exchange(c.request, c.parse, 5.0, c.what) for c in writes)
    )

    assert results == [{"brightness": n % 101} for n in range(100)]
    assert simulator.received == [c.request for c in writes]
    assert simulator.registers[REG_BRIGHTNESS][0] == brightness_to_byte(99)


async def test_broadcast_is_sent_without_waiting_for_a_reply(simulators, links):
    simulator = await simulators("samsung-mdc")
    driver = driver_for("samsung-mdc")
    link = await links(simulator.path, driver)
    [command] = driver.plan("power", False, 0xFE)

    assert await link.exchange(command.request, command.parse, 0.1) is None
    await wait_for(lambda: simulator.received == [bytes.fromhex("AA 11 FE 01 00 10")])
    assert simulator.values[0x11] == b"\x00"


async def test_receive_buffer_is_capped_and_framing_recovers(simulators, links, caplog):
    simulator = await simulators("lg")
    link = await links(simulator.path, driver_for("lg"))

    simulator.inject(b"a" * 6000)
    await asyncio.sleep(0.2)
    assert await heartbeat(link, "lg") == {"power": True}
    assert any("without a complete frame" in r.getMessage() for r in caplog.records)
