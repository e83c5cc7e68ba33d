"""The technician commands, run as real processes against simulated displays."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path

import pytest

from controller.displays.simulator import PtySimulator

OPSWALL = [str(Path(sys.executable).parent / "opswall")]
if os.environ.get("OPSWALL_DISPLAY_CLI_MODULE"):
    # For trying the display commands alone while the rest of `opswall` is broken.
    OPSWALL = [sys.executable, "-m", "controller.displays.cli"]


async def opswall(*args: str) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        *OPSWALL,
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    async with asyncio.timeout(30):
        out, err = await process.communicate()
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


CASES = [
    ("novastar", ["brightness", "50"], {"brightness": 50}),
    ("novastar", ["status"], {"model": "VX4S", "signal": True}),
    ("samsung-mdc", ["input", "HDMI2"], {"input": "HDMI2"}),
    ("lg", ["power", "off"], {"power": False}),
    ("nec", ["backlight", "80"], {"backlight": 80}),
]


@pytest.mark.parametrize("protocol, operation, expected", CASES)
async def test_display_command_prints_the_devices_answer(
    simulators, protocol, operation, expected
):
    simulator: PtySimulator = await simulators(protocol)
    code, out, err = await opswall(
        "display", "--port", simulator.path, "--protocol", protocol, *operation
    )
    assert code == 0, err
    state = json.loads(out)
    assert {key: state[key] for key in expected} == expected


async def test_display_command_reports_a_nak_and_exits_non_zero(simulators):
    simulator = await simulators("samsung-mdc")
    simulator.misbehave("nak")
    code, out, err = await opswall(
        "display", "--port", simulator.path, "--protocol", "samsung-mdc", "power", "on"
    )
    assert code == 1
    assert out == ""
    assert "refused power (NAK, error code 1)" in err


async def test_display_command_reports_a_silent_device(simulators):
    simulator = await simulators("lg")
    simulator.always = "silence"
    code, _out, err = await opswall(
        "display",
        "--port",
        simulator.path,
        "--protocol",
        "lg",
        "--timeout",
        "0.3",
        "status",
    )
    assert code == 1
    assert (
        "no reply on" in err
        and "check the cable, the baud rate and the device ID" in err
    )


async def test_display_command_reports_a_missing_port(tmp_path):
    code, _out, err = await opswall(
        "display", "--port", str(tmp_path / "nothing"), "--protocol", "nec", "status"
    )
    assert code == 1
    assert "cannot open" in err and "no such device" in err


async def test_display_command_refuses_a_bad_value_before_opening_the_port(tmp_path):
    code, _out, err = await opswall(
        "display",
        "--port",
        str(tmp_path / "nothing"),
        "--protocol",
        "lg",
        "brightness",
        "150",
    )
    assert code == 2
    assert "brightness: found 150" in err


async def test_display_simulator_command_prints_a_port_the_display_command_can_use():
    simulator = await asyncio.create_subprocess_exec(
        *OPSWALL,
        "display-simulator",
        "--protocol",
        "nec",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        assert simulator.stdout is not None
        async with asyncio.timeout(20):
            path = (await simulator.stdout.readline()).decode().strip()
        assert path.startswith("/dev/pts/")
        code, out, err = await opswall(
            "display", "--port", path, "--protocol", "nec", "power", "on"
        )
        assert code == 0, err
        assert json.loads(out) == {"power": True}
    finally:
        simulator.terminate()
        await simulator.wait()
