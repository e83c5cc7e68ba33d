"""First boot on a temporary tree: identity, the settings file, and refusals."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import pytest

from controller.appliance.firstboot import (
    APPLIED_NAME,
    ERRORS_NAME,
    REJECTED_NAME,
    SETTINGS_NAME,
    AppliancePaths,
    FirstBoot,
    FirstBootError,
)

REPO = Path(__file__).resolve().parents[2]
KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAITechnicianKey0000 tech@laptop"


class Commands:
    """Records the system tools first boot runs instead of running them."""

    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    def __call__(self, argv: Sequence[str], stdin: str | None = None) -> None:
        self.calls.append(list(argv))


@pytest.fixture
def tree(tmp_path: Path) -> AppliancePaths:
    paths = AppliancePaths(
        boot=tmp_path / "boot",
        etc=tmp_path / "etc",
        config_dir=tmp_path / "etc" / "opswall",
        sys_class_net=tmp_path / "sys" / "class" / "net",
        data_mount=tmp_path / "data",
        root_mount=tmp_path,
    )
    for folder in (paths.boot, paths.config_dir, paths.etc / "ssh", paths.data_mount):
        folder.mkdir(parents=True, exist_ok=True)
    (paths.etc / "machine-id").write_text("uninitialized\n")
    for name in ("opswall.yaml", "layouts.yaml", "presets.yaml"):
        source = REPO / "image-build" / "config" / name
        (paths.config_dir / name).write_text(source.read_text())
    return paths


def add_nic(paths: AppliancePaths, name: str, mac: str) -> None:
    (paths.sys_class_net / name).mkdir(parents=True)
    (paths.sys_class_net / name / "address").write_text(mac + "\n")


def test_hostname_comes_from_the_first_wired_mac(tree: AppliancePaths) -> None:
    add_nic(tree, "lo", "00:00:00:00:00:00")
    add_nic(tree, "wlan0", "b8:27:eb:00:00:01")
    add_nic(tree, "eth0", "dc:a6:32:AB:cd:ef".lower())
    commands = Commands()
    FirstBoot(tree, commands, sleep=lambda s: None).make_identity()

    assert (tree.etc / "hostname").read_text() == "opswall-abcdef\n"
    assert "127.0.1.1\topswall-abcdef" in (tree.etc / "hosts").read_text()
    assert ["ssh-keygen", "-A"] in commands.calls
    assert ["hostname", "opswall-abcdef"] in commands.calls
    # /etc is written between a read-write and a read-only remount of the root.
    remounts = [c for c in commands.calls if c[0] == "mount"]
    assert remounts[0][2] == "remount,rw" and remounts[-1][2] == "remount,ro"


def test_without_a_nic_the_hostname_comes_from_the_machine_id(
    tree: AppliancePaths,
) -> None:
    (tree.etc / "machine-id").write_text("0123456789abcdef0123456789abcdef\n")
    waited: list[float] = []
    boot = FirstBoot(tree, Commands(), sleep=waited.append)
    assert boot.derived_hostname() == "opswall-012345"
    assert sum(waited) >= 15


def test_identity_is_needed_until_machine_id_and_host_keys_exist(
    tree: AppliancePaths,
) -> None:
    boot = FirstBoot(tree, Commands())
    assert boot.needs_identity()
    (tree.etc / "machine-id").write_text("0123456789abcdef0123456789abcdef\n")
    assert boot.needs_identity()
    (tree.etc / "ssh" / "ssh_host_ed25519_key").write_text("key")
    assert not boot.needs_identity()


def test_settings_file_is_applied_and_renamed_without_the_secret(
    tree: AppliancePaths,
) -> None:
    (tree.boot / SETTINGS_NAME).write_text(
        '\ufeffadmin_secret: "a-long-admin-secret"\r\n'
        f'ssh_authorized_keys:\r\n  - "{KEY}"\r\n'
        "wall_resolution: [3840, 2160]\r\n"
        "network:\r\n  address: 192.168.10.20/24\r\n  gateway: 192.168.10.1\r\n"
        "  dns: [192.168.10.1]\r\n"
    )
    commands = Commands()
    FirstBoot(tree, commands).apply_settings()

    assert (tree.config_dir / "admin-secret").read_text() == "a-long-admin-secret\n"
    assert (tree.config_dir / "admin-secret").stat().st_mode & 0o777 == 0o640
    assert (tree.config_dir / "ssh" / "authorized_keys_root").read_text() == KEY + "\n"
    assert (
        "  resolution: [3840, 2160]\n" in (tree.config_dir / "opswall.yaml").read_text()
    )
    network = (tree.etc / "systemd" / "network" / "10-opswall.network").read_text()
    assert (
        "Address=192.168.10.20/24\nGateway=192.168.10.1\nDNS=192.168.10.1\n" in network
    )
    assert not (tree.boot / SETTINGS_NAME).exists()
    applied = (tree.boot / APPLIED_NAME).read_text()
    assert "a-long-admin-secret" not in applied
    assert "# admin_secret: applied, removed from this file" in applied


def test_new_resolution_rerenders_the_boot_files_and_asks_for_a_reboot(
    tree: AppliancePaths,
) -> None:
    (tree.boot / "config.txt").write_text("old\n")
    (tree.boot / SETTINGS_NAME).write_text("wall_resolution: [1280, 720]\n")
    boot = FirstBoot(tree, Commands())
    boot.apply_settings()
    assert "video=HDMI-A-1:1280x720@60D" in (tree.boot / "cmdline.txt").read_text()
    assert boot.reboot_needed


def test_new_resolution_keeps_the_config_readable_by_the_controller_group(
    tree: AppliancePaths,
) -> None:
    # Root writes the config at first boot; the controller reads it through its group.
    config = tree.config_dir / "opswall.yaml"
    config.chmod(0o640)
    group = 4321 if os.geteuid() == 0 else os.getegid()
    os.chown(config, -1, group)
    (tree.boot / SETTINGS_NAME).write_text("wall_resolution: [1280, 720]\n")
    FirstBoot(tree, Commands()).apply_settings()
    assert "  resolution: [1280, 720]\n" in config.read_text()
    assert config.stat().st_mode & 0o777 == 0o640
    assert config.stat().st_gid == group


def test_only_comments_apply_nothing_but_consume_the_file(tree: AppliancePaths) -> None:
    shipped = (REPO / "image-build" / "boot" / SETTINGS_NAME).read_text()
    (tree.boot / SETTINGS_NAME).write_text(shipped)
    before = (tree.config_dir / "opswall.yaml").read_text()
    commands = Commands()
    FirstBoot(tree, commands).apply_settings()
    assert commands.calls == []
    assert (tree.config_dir / "opswall.yaml").read_text() == before
    assert (tree.boot / APPLIED_NAME).read_text() == shipped


def test_a_bad_settings_file_is_refused_whole_with_errors_beside_it(
    tree: AppliancePaths,
) -> None:
    (tree.boot / SETTINGS_NAME).write_text(
        "admin_secret: short\nhostname: Control_Room\nwall_resolution: [1920, 1080]\n"
    )
    with pytest.raises(FirstBootError):
        FirstBoot(tree, Commands(), sleep=lambda s: None).run()
    errors = (tree.boot / ERRORS_NAME).read_text()
    assert ":1: admin_secret: String should have at least 12 characters" in errors
    assert ":2: hostname: found 'Control_Room', expected lower-case letters" in errors
    assert (tree.boot / REJECTED_NAME).exists()
    assert not (tree.boot / SETTINGS_NAME).exists()
    assert not (tree.config_dir / "admin-secret").exists()


def test_unknown_settings_name_the_known_ones(tree: AppliancePaths) -> None:
    (tree.boot / SETTINGS_NAME).write_text("admin_password: x\n")
    with pytest.raises(FirstBootError):
        FirstBoot(tree, Commands(), sleep=lambda s: None).run()
    assert (
        "unknown setting 'admin_password'; expected one of: admin_secret"
        in (tree.boot / ERRORS_NAME).read_text()
    )


def test_dhcp_removes_the_static_address(tree: AppliancePaths) -> None:
    network = tree.etc / "systemd" / "network" / "10-opswall.network"
    network.parent.mkdir(parents=True)
    network.write_text("[Network]\nAddress=10.0.0.2/24\n")
    (tree.boot / SETTINGS_NAME).write_text("network: {dhcp: true}\n")
    FirstBoot(tree, Commands()).apply_settings()
    assert not network.exists()
