"""The appliance's systemd units and udev rules, checked with systemd's own tools."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
UNITS = REPO / "systemd"
SERVICES = sorted(UNITS.glob("*.service"))
#: systemd-analyze security's exposure limit for the controller (the issue's target).
MAX_EXPOSURE = 3.0

pytestmark = pytest.mark.skipif(
    shutil.which("systemd-analyze") is None, reason="systemd-analyze not installed"
)


def unit_settings(path: Path) -> dict[str, list[str]]:
    settings: dict[str, list[str]] = {}
    for line in path.read_text().splitlines():
        if "=" in line and not line.startswith(("#", "[")):
            key, value = line.split("=", 1)
            settings.setdefault(key.strip(), []).append(value.strip())
    return settings


@pytest.mark.parametrize("unit", SERVICES, ids=lambda p: p.name)
def test_unit_verifies_apart_from_programs_of_the_image(unit: Path) -> None:
    run = subprocess.run(
        ["systemd-analyze", "verify", str(unit)], capture_output=True, text=True
    )
    # The programs exist only in the image (/opt/opswall, Xorg): that is checked there.
    problems = [
        line
        for line in (run.stdout + run.stderr).splitlines()
        if line.strip() and "is not executable: No such file or directory" not in line
    ]
    assert problems == []


def test_controller_exposure_is_at_most_3() -> None:
    run = subprocess.run(
        [
            "systemd-analyze",
            "security",
            "--offline=yes",
            str(UNITS / "opswall.service"),
        ],
        capture_output=True,
        text=True,
    )
    match = re.search(
        r"Overall exposure level for opswall.service: ([0-9.]+)", run.stdout
    )
    assert match, run.stdout[-500:] + run.stderr
    assert float(match.group(1)) <= MAX_EXPOSURE


def test_controller_is_notify_with_watchdog_and_restart() -> None:
    settings = unit_settings(UNITS / "opswall.service")
    assert settings["Type"] == ["notify"]
    assert settings["Restart"] == ["on-failure"]
    assert settings["WatchdogSec"] == ["20s"]
    assert settings["ExecStart"] == [
        "/opt/opswall/bin/opswall run --config /etc/opswall/opswall.yaml"
    ]
    # systemctl reload: the service reloads its config on SIGHUP.
    assert settings["ExecReload"] == ["/bin/kill -HUP $MAINPID"]
    assert settings["User"] == ["opswall"]
    assert settings["SupplementaryGroups"] == ["dialout gpio video render input"]
    assert settings["DevicePolicy"] == ["closed"]
    assert "char-gpiochip rw" in settings["DeviceAllow"]
    assert settings["ProtectSystem"] == ["strict"]
    assert settings["StateDirectory"] == ["opswall"]
    assert "PrivateDevices" not in settings


def test_x_server_has_no_cursor_no_blanking_and_no_tcp() -> None:
    (command,) = unit_settings(UNITS / "opswall-xorg.service")["ExecStart"]
    words = command.split()
    for flag in ("-nocursor", "-nolisten", "-dpms"):
        assert flag in words
    assert words[words.index("-s") + 1] == "0"


def test_first_boot_runs_before_ssh_and_the_controller() -> None:
    settings = unit_settings(UNITS / "opswall-firstboot.service")
    before = " ".join(settings["Before"]).split()
    assert {"ssh.service", "opswall.service", "systemd-networkd.service"} <= set(before)
    assert "|yes" in settings["ConditionFirstBoot"]


def test_gpio_rule_gives_gpiochips_to_group_gpio() -> None:
    rules = (UNITS / "60-opswall-gpio.rules").read_text()
    assert re.search(r'KERNEL=="gpiochip\[0-9\]\*".*GROUP="gpio".*MODE="0660"', rules)
    assert "g gpio" in (UNITS / "opswall.sysusers").read_text()


def test_controller_sandbox_lets_its_own_xvfb_start() -> None:
    # wall.display: null (the qemu twin): Xvfb must create its socket in the shared
    # X socket directory and may call setgid/setuid before running xkbcomp.
    settings = unit_settings(UNITS / "opswall.service")
    assert "-/tmp/.X11-unix" in settings["BindPaths"]
    assert "BindReadOnlyPaths" not in settings
    assert "setgid setuid" in settings["SystemCallFilter"]
