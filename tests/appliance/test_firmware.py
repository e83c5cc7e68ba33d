"""config.txt and cmdline.txt rendered from the appliance config."""

from __future__ import annotations

from pathlib import Path

import pytest

from controller.appliance.cli import main
from controller.appliance.config import FirmwareSpec
from controller.appliance.firmware import (
    load_firmware_settings,
    render_boot_files,
    rs232_device,
    write_boot_files,
)
from controller.errors import ConfigError

REPO = Path(__file__).resolve().parents[2]


def settings(text: str) -> dict[str, str]:
    """Lines ``key=value`` of a config.txt section list, last one wins."""
    result = {}
    for line in text.splitlines():
        if "=" in line and not line.startswith("#"):
            key, value = line.split("=", 1)
            result[key.strip()] = value.strip()
    return result


def section(text: str, name: str) -> str:
    """The lines of config.txt between ``[name]`` and the next section."""
    lines, inside = [], False
    for line in text.splitlines():
        if line.startswith("["):
            inside = line == f"[{name}]"
            continue
        if inside:
            lines.append(line)
    return "\n".join(lines)


def test_1080p60_wall_gets_cea_mode_16_and_kms_video_mode() -> None:
    files = render_boot_files(FirmwareSpec(), (1920, 1080))
    config = settings(files.config_txt)
    assert config["hdmi_group:0"] == "1"
    assert config["hdmi_mode:0"] == "16"
    assert config["hdmi_force_hotplug:0"] == "1"
    assert "video=HDMI-A-1:1920x1080@60D" in files.cmdline_txt.split()


def test_nonstandard_wall_gets_cvt_timings_on_the_second_port() -> None:
    spec = FirmwareSpec(hdmi_port=1, refresh_hz=50, reduced_blanking=True)
    files = render_boot_files(spec, (2560, 1080))
    config = settings(files.config_txt)
    assert config["hdmi_group:1"] == "2"
    assert config["hdmi_mode:1"] == "87"
    assert config["hdmi_cvt:1"] == "2560 1080 50 8 0 0 1"
    assert "video=HDMI-A-2:2560x1080MR@50D" in files.cmdline_txt.split()


def test_4k60_enables_the_fast_hdmi_clock() -> None:
    files = render_boot_files(FirmwareSpec(), (3840, 2160))
    assert settings(files.config_txt)["hdmi_mode:0"] == "97"
    assert "hdmi_enable_4kp60=1" in files.config_txt.splitlines()


def test_uart_is_for_rs232_and_no_console_is_on_it_or_on_the_wall() -> None:
    files = render_boot_files(FirmwareSpec(), (1920, 1080))
    words = files.cmdline_txt.split()
    assert settings(files.config_txt)["enable_uart"] == "1"
    assert [w for w in words if w.startswith("console=")] == ["console=tty3"]
    assert "quiet" in words
    assert "vt.global_cursor_default=0" in words
    assert "disable_splash=1" in files.config_txt.splitlines()


def test_watchdog_gpu_memory_and_read_only_root() -> None:
    files = render_boot_files(FirmwareSpec(gpu_mem_mb=256), (1920, 1080))
    assert "dtparam=watchdog=on" in files.config_txt.splitlines()
    assert "gpu_mem=256" in section(files.config_txt, "pi4").splitlines()
    words = files.cmdline_txt.split()
    assert "root=LABEL=opswall-root" in words
    assert "ro" in words
    assert "rw" not in words


def test_cmdline_is_one_line() -> None:
    files = render_boot_files(FirmwareSpec(extra_cmdline=("foo=1",)), (1920, 1080))
    assert files.cmdline_txt.count("\n") == 1
    assert files.cmdline_txt.rstrip().endswith("foo=1")


def test_raspberry_pi_kernel_frees_the_pl011_from_bluetooth_on_pi4_and_pi5() -> None:
    spec = FirmwareSpec(kernel="raspberrypi")
    files = render_boot_files(spec, (1920, 1080))
    assert "dtoverlay=disable-bt" in files.config_txt.splitlines()
    assert "dtoverlay=vc4-kms-v3d" in files.config_txt.splitlines()
    assert "dtparam=uart0=on" in section(files.config_txt, "pi5").splitlines()
    assert rs232_device(spec) == "/dev/ttyAMA0"


def test_debian_kernel_uses_the_mini_uart_and_stable_kernel_names() -> None:
    spec = FirmwareSpec()
    files = render_boot_files(spec, (1920, 1080))
    lines = files.config_txt.splitlines()
    assert "kernel=vmlinuz" in lines
    assert "initramfs initrd.img followkernel" in lines
    assert "upstream_kernel=1" in lines
    assert rs232_device(spec) == "/dev/ttyS1"


def test_serial_console_and_rs232_together_are_refused() -> None:
    with pytest.raises(ValueError, match="rs232_uart and serial_console both true"):
        FirmwareSpec(serial_console=True)


def test_serial_console_without_rs232_goes_to_the_uart() -> None:
    files = render_boot_files(
        FirmwareSpec(rs232_uart=False, serial_console=True), (1920, 1080)
    )
    assert "console=ttyS1,115200" in files.cmdline_txt.split()


def test_settings_are_read_from_the_config_file_with_line_numbers(
    tmp_path: Path,
) -> None:
    config = tmp_path / "opswall.yaml"
    config.write_text(
        "wall:\n  resolution: [1280, 720]\nfirmware:\n  refresh_hz: 50\n  gpu_mem: 64\n"
    )
    with pytest.raises(ConfigError) as caught:
        load_firmware_settings(config)
    problem = caught.value.problems[0]
    assert (problem.line, problem.key) == (5, "firmware.gpu_mem")
    assert "unknown key 'gpu_mem'" in problem.message

    config.write_text("wall:\n  resolution: [1280, 720]\nfirmware:\n  refresh_hz: 50\n")
    spec, resolution = load_firmware_settings(config)
    assert (spec.refresh_hz, resolution) == (50, (1280, 720))


def test_write_reports_only_changed_files(tmp_path: Path) -> None:
    files = render_boot_files(FirmwareSpec(), (1920, 1080))
    assert len(write_boot_files(files, tmp_path)) == 2
    assert write_boot_files(files, tmp_path) == []
    assert (tmp_path / "cmdline.txt").read_text() == files.cmdline_txt


def test_render_command_writes_the_boot_files_from_the_shipped_config(
    tmp_path: Path,
) -> None:
    config = REPO / "image-build" / "config" / "opswall.yaml"
    assert (
        main(["firmware", "render", "--config", str(config), "--out", str(tmp_path)])
        == 0
    )
    assert "video=HDMI-A-1:1920x1080@60D" in (tmp_path / "cmdline.txt").read_text()
    assert (
        (tmp_path / "config.txt").read_text().startswith("# Raspberry Pi boot firmware")
    )


def test_render_command_fails_on_a_bad_config(tmp_path: Path) -> None:
    config = tmp_path / "bad.yaml"
    config.write_text("wall:\n  resolution: big\n")
    assert (
        main(["firmware", "render", "--config", str(config), "--out", str(tmp_path)])
        == 1
    )
    assert not (tmp_path / "config.txt").exists()


def test_the_config_shipped_in_the_image_loads() -> None:
    from controller.config.loader import load_config

    config = load_config(REPO / "image-build" / "config" / "opswall.yaml")
    assert config.spec.wall.display == ":0"
    assert str(config.state_dir) == "/var/lib/opswall"
    assert "start" in config.presets
