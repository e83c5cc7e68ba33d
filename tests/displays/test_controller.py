"""DisplayController: state read back from simulated devices, health, operations."""

from __future__ import annotations

import logging

import pytest

from controller.displays.config import DisplaySpec
from controller.displays.controller import DisplayController, validate_action
from controller.displays.errors import (
    DisplayNakError,
    DisplayNotSupportedError,
    DisplayOfflineError,
    DisplayValueError,
)
from controller.displays.novastar import REG_BRIGHTNESS, REG_FREEZE
from controller.errors import NotFoundError

from .conftest import wait_for


@pytest.fixture
async def started():
    controllers = []

    async def start(specs, on_change=None):
        controller = DisplayController(specs, on_change)
        await controller.start()
        controllers.append(controller)
        return controller

    yield start
    for controller in controllers:
        await controller.stop()


def online(controller, name):
    return lambda: controller.snapshot()[name]["online"]


async def test_simulated_novastar_reports_its_real_state_and_obeys(started):
    changes = []
    controller = await started(
        {"wall": DisplaySpec(protocol="novastar", port="simulated")},
        lambda: changes.append(1),
    )
    await wait_for(online(controller, "wall"))
    entry = controller.snapshot()["wall"]
    assert entry["state"]["model"] == "VX4S"
    assert entry["state"]["brightness"] == 100
    assert entry["state"]["signal"] is True
    assert (entry["protocol"], entry["port"], entry["simulated"]) == (
        "novastar",
        "simulated",
        True,
    )
    simulator = controller.displays["wall"].simulator
    assert simulator is not None

    result = await controller.perform("wall", "brightness", 40)
    assert result["wall"]["state"]["brightness"] == 40
    assert simulator.registers[REG_BRIGHTNESS][0] == 102

    result = await controller.perform("wall", "freeze", True)
    assert result["wall"]["state"]["freeze"] is True
    assert simulator.registers[REG_FREEZE] == b"\xff"
    assert changes


async def test_state_is_what_the_device_reads_back_not_what_was_asked(started):
    controller = await started(
        {"wall": DisplaySpec(protocol="novastar", port="simulated")}
    )
    await wait_for(online(controller, "wall"))
    simulator = controller.displays["wall"].simulator
    assert simulator is not None
    # The receiving cards clamp the level (e.g. a brightness limit set on the card).
    simulator.registers[REG_BRIGHTNESS] = b"\x33" * 5

    result = await controller.perform("wall", "status")
    assert result["wall"]["state"]["brightness"] == 20


async def test_unknown_display_and_bad_values_are_refused(started):
    controller = await started(
        {"wall": DisplaySpec(protocol="novastar", port="simulated")}
    )
    with pytest.raises(NotFoundError, match="unknown display 'lobby'; known: wall"):
        await controller.perform("lobby", "black", True)
    with pytest.raises(DisplayValueError, match="brightness: found 140"):
        await controller.perform("wall", "brightness", 140)
    with pytest.raises(DisplayNotSupportedError, match="no 'power' operation"):
        await controller.perform("wall", "power", True)
    # An unknown operation lists what this display does (it listed every protocol's).
    with pytest.raises(DisplayValueError) as caught:
        await controller.perform("wall", "dim", 1)
    message = str(caught.value)
    assert message.startswith(
        "found unknown operation 'dim', expected one of this novastar display's: "
    )
    assert "brightness" in message and "power" not in message


async def test_missing_port_does_not_block_start_and_reports_offline(started, tmp_path):
    port = str(tmp_path / "usb-FTDI-missing")
    controller = await started({"wall": DisplaySpec(protocol="novastar", port=port)})

    entry = controller.snapshot()["wall"]
    assert entry["online"] is False
    with pytest.raises(DisplayOfflineError, match="display control offline"):
        await controller.perform("wall", "black", True)


async def test_unplugged_adapter_shows_offline_and_recovers_by_itself(
    started, simulators
):
    simulator = await simulators("novastar")
    controller = await started(
        {"wall": DisplaySpec(protocol="novastar", port=simulator.path)}
    )
    await wait_for(online(controller, "wall"))

    simulator.unplug()
    await wait_for(lambda: not controller.snapshot()["wall"]["online"])
    assert "display control offline" in controller.snapshot()["wall"]["error"]

    await simulator.replug()
    await wait_for(online(controller, "wall"), timeout_s=20)
    assert controller.snapshot()["wall"]["error"] is None


async def test_a_silent_display_warns_once_not_once_per_poll(
    started, simulators, caplog
):
    caplog.set_level(logging.INFO, logger="controller.displays.controller")
    simulator = await simulators("samsung-mdc")
    spec = DisplaySpec(
        protocol="samsung-mdc",
        port=simulator.path,
        poll_interval_s=0.05,
        reply_timeout_s=0.1,
    )
    controller = await started({"lobby": spec})
    await wait_for(online(controller, "lobby"))

    simulator.always = "silence"
    await wait_for(lambda: len(simulator.received) > 8)
    simulator.always = None
    await wait_for(online(controller, "lobby"))

    messages = [r.getMessage() for r in caplog.records if "answering" in r.getMessage()]
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1, [r.getMessage() for r in warnings]
    assert 'display "lobby"' in warnings[0].getMessage()
    assert any("answering again" in m for m in messages)


async def test_daisy_chained_panels_each_answer_for_themselves(started, simulators):
    simulator = await simulators("samsung-mdc", ids=[1, 2])
    controller = await started(
        {
            "wall": DisplaySpec(
                protocol="samsung-mdc", port=simulator.path, panels=(1, 2)
            )
        }
    )
    await wait_for(online(controller, "wall"))

    result = await controller.perform("wall", "brightness", 30)
    entry = result["wall"]
    assert entry["panels"]["1"]["brightness"] == 30
    assert entry["panels"]["2"]["brightness"] == 30
    assert entry["state"]["brightness"] == 30


async def test_a_nak_leaves_the_state_as_it_was(started):
    controller = await started(
        {"lobby": DisplaySpec(protocol="samsung-mdc", port="simulated")}
    )
    await wait_for(online(controller, "lobby"))
    simulator = controller.displays["lobby"].simulator
    assert simulator is not None
    simulator.misbehave("nak")

    with pytest.raises(DisplayNakError, match="NAK"):
        await controller.perform("lobby", "brightness", 10)
    assert controller.snapshot()["lobby"]["state"]["brightness"] == 50


async def test_an_action_for_every_display_skips_those_without_it(started):
    controller = await started(
        {
            "wall": DisplaySpec(protocol="novastar", port="simulated"),
            "lobby": DisplaySpec(protocol="samsung-mdc", port="simulated"),
        }
    )
    await wait_for(online(controller, "wall"))
    await wait_for(online(controller, "lobby"))

    result = await controller.perform(None, "freeze", False)
    assert list(result) == ["wall"]
    result = await controller.perform(None, "brightness", 100)
    assert result["wall"]["state"]["brightness"] == 100
    assert result["lobby"]["state"]["brightness"] == 100


@pytest.mark.parametrize(
    "operation, value, message",
    [
        ("brightness", 100, None),
        ("freeze", False, None),
        ("input", "HDMI1", None),
        ("tile", {"columns": 2, "rows": 2, "position": 4}, None),
        ("brightness", "full", "brightness: found 'full', expected a percentage"),
        ("black", 1, "black: found 1, expected true (picture off) or false"),
        ("tile", {"columns": 2, "rows": 2, "position": 5}, "expected at most 4"),
        ("dim", None, "found unknown operation 'dim'"),
        ("save", 3, "save: found 3, expected no value"),
    ],
)
def test_validate_action_explains_invalid_preset_actions(operation, value, message):
    error = validate_action(operation, value)
    if message is None:
        assert error is None
    else:
        assert error is not None and message in error


def test_display_spec_refuses_a_broadcast_id_and_table_without_file():
    with pytest.raises(ValueError, match="'all devices' address"):
        DisplaySpec(protocol="samsung-mdc", port="/dev/ttyUSB0", id=0xFE)
    with pytest.raises(ValueError, match="needs table"):
        DisplaySpec(protocol="table", port="/dev/ttyUSB0")


@pytest.mark.parametrize("value", [float("nan"), float("inf"), -float("inf")])
def test_a_percentage_that_is_not_a_finite_number_is_refused(value):
    from controller.displays.base import normalise
    from controller.displays.errors import DisplayValueError

    with pytest.raises(DisplayValueError, match="expected a whole percentage, 0 to 100"):
        normalise("brightness", value)
