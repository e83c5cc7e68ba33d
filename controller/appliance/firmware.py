"""Boot firmware files of the Raspberry Pi appliance: config.txt and cmdline.txt."""

from __future__ import annotations

import logging
import os
import string
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from controller.appliance.config import FirmwareSpec
from controller.config.schema import WallSpec
from controller.config.yamlfile import YamlFile, format_key, load_yaml
from controller.errors import ConfigError, ConfigProblem, OpswallError
from controller.storage import write_text_atomic

_LOGGER = logging.getLogger(__name__)

#: Where an installed appliance keeps the templates (the wheel does not carry them).
INSTALLED_TEMPLATES = Path("/usr/share/opswall/firmware")
#: Label of the root filesystem the image builder writes.
ROOT_LABEL = "opswall-root"
CONSOLE_BAUD = 115200

# Standard HDMI codes (hdmi_group 1 = CEA, 2 = DMT) by (width, height, refresh).
_CEA_MODES = {
    (1280, 720, 50): 19,
    (1280, 720, 60): 4,
    (1920, 1080, 24): 32,
    (1920, 1080, 25): 33,
    (1920, 1080, 30): 34,
    (1920, 1080, 50): 31,
    (1920, 1080, 60): 16,
    (3840, 2160, 24): 93,
    (3840, 2160, 25): 94,
    (3840, 2160, 30): 95,
    (3840, 2160, 50): 96,
    (3840, 2160, 60): 97,
}
_DMT_MODES = {
    (1024, 768, 60): 16,
    (1280, 800, 60): 28,
    (1280, 1024, 60): 35,
    (1366, 768, 60): 81,
    (1440, 900, 60): 47,
    (1600, 900, 60): 83,
    (1600, 1200, 60): 51,
    (1680, 1050, 60): 58,
    (1920, 1200, 60): 69,
}
# hdmi_cvt's aspect codes (config.txt documentation, "hdmi_cvt").
_CVT_ASPECTS = {
    (4, 3): 1,
    (14, 9): 2,
    (16, 9): 3,
    (5, 4): 4,
    (16, 10): 5,
    (15, 9): 6,
    (21, 9): 7,
    (64, 27): 8,
}


class FirmwareError(OpswallError):
    """The boot files could not be rendered or written."""


@dataclass(frozen=True)
class BootFiles:
    """The rendered text of config.txt and cmdline.txt."""

    config_txt: str
    cmdline_txt: str

    def as_dict(self) -> dict[str, str]:
        """File name to content."""
        return {"config.txt": self.config_txt, "cmdline.txt": self.cmdline_txt}


def rs232_device(spec: FirmwareSpec, board: str = "pi4") -> str | None:
    """The serial device on GPIO 14/15 that ``spec`` gives the display processor."""
    if not spec.rs232_uart:
        return None
    if spec.kernel == "debian":
        # Upstream device tree: the PL011 stays with Bluetooth, the mini UART is ttyS1.
        return "/dev/ttyS1"
    return "/dev/ttyAMA0"


def load_firmware_settings(path: str | Path) -> tuple[FirmwareSpec, tuple[int, int]]:
    """Read the ``firmware`` and ``wall`` sections of the appliance config at ``path``.

    Only these two sections are checked, so the boot files can be rendered from a config
    whose cameras or presets are still being written.
    """
    source = load_yaml(path)
    data = source.data if isinstance(source.data, dict) else {}
    wall = _validate(WallSpec, data.get("wall", {}), source, "wall")
    firmware = _validate(FirmwareSpec, data.get("firmware", {}), source, "firmware")
    return firmware, wall.resolution


def render_boot_files(
    spec: FirmwareSpec,
    resolution: tuple[int, int],
    source: str = "the appliance config",
    templates: Path | None = None,
) -> BootFiles:
    """Render config.txt and cmdline.txt for a wall of ``resolution`` pixels."""
    width, height = resolution
    if width <= 0 or height <= 0:
        raise FirmwareError(f"wall resolution {width}x{height} is not a screen size")
    template_dir = templates or find_templates()

    values = {
        "source": source,
        "width": str(width),
        "height": str(height),
        "refresh_hz": str(spec.refresh_hz),
        "hdmi_port": str(spec.hdmi_port),
        "kernel_lines": _lines(_kernel_lines(spec)),
        "hdmi_lines": _lines(_hdmi_lines(spec, width, height)),
        "uart_comment": _uart_comment(spec),
        "uart_lines": _lines(_uart_lines(spec)),
        "board_lines": _lines(_board_lines(spec)),
        "pi4_lines": _lines(_pi4_lines(spec)),
        "pi5_lines": _lines(_pi5_lines(spec)),
        "extra_lines": _lines(spec.extra_config or ("# (no extra settings)",)),
        "words": " ".join(_cmdline_words(spec, width, height)),
    }
    config_txt = _substitute(template_dir / "config.txt.tmpl", values)
    cmdline_txt = _substitute(template_dir / "cmdline.txt.tmpl", values)
    # The firmware reads cmdline.txt as a single line.
    return BootFiles(config_txt, cmdline_txt.strip() + "\n")


def write_boot_files(files: BootFiles, out_dir: Path) -> list[Path]:
    """Write the files into ``out_dir`` atomically; return those that changed."""
    out_dir.mkdir(parents=True, exist_ok=True)
    changed = []
    for name, text in files.as_dict().items():
        target = out_dir / name
        try:
            if target.read_text(encoding="utf-8") == text:
                continue
        except FileNotFoundError:
            pass
        write_file_synced(target, text)
        _LOGGER.info("boot file %s written", target)
        changed.append(target)
    return changed


def write_file_synced(target: Path, text: str, mode: int = 0o644) -> None:
    """Replace ``target`` so that a power cut leaves either the old or the new file."""
    write_text_atomic(target, text, mode=mode)


def find_templates() -> Path:
    """The firmware/ folder of this source tree, or the installed copy."""
    override = os.environ.get("OPSWALL_FIRMWARE_TEMPLATES")
    candidates = [Path(override)] if override else []
    candidates += [
        Path(__file__).resolve().parents[2] / "firmware",
        INSTALLED_TEMPLATES,
    ]
    for candidate in candidates:
        if (candidate / "config.txt.tmpl").is_file():
            return candidate
    raise FirmwareError(
        "firmware templates not found in "
        + ", ".join(str(c) for c in candidates)
        + "; set OPSWALL_FIRMWARE_TEMPLATES to the firmware/ folder"
    )


def _validate(model: Any, data: Any, source: YamlFile, section: str) -> Any:
    try:
        return model.model_validate(data)
    except ValidationError as err:
        problems = []
        for item in err.errors():
            loc = (section, *(p for p in item["loc"] if isinstance(p, str | int)))
            message = item["msg"]
            if item["type"] == "extra_forbidden":
                message = f"unknown key {loc[-1]!r}; expected one of: " + ", ".join(
                    model.model_fields
                )
            elif item["type"] != "value_error":
                expected = message[0].lower() + message[1:]
                message = f"found {item['input']!r}, expected: {expected}"
            else:
                message = message.removeprefix("Value error, ")
            problems.append(
                ConfigProblem(
                    source.path, source.line_of(loc), format_key(loc), message
                )
            )
        raise ConfigError(problems) from None


def _substitute(template: Path, values: dict[str, str]) -> str:
    try:
        text = template.read_text(encoding="utf-8")
    except OSError as err:
        raise FirmwareError(f"cannot read firmware template {template}: {err}") from err
    try:
        return string.Template(text).substitute(values)
    except (KeyError, ValueError) as err:
        raise FirmwareError(
            f"firmware template {template} has a bad field: {err}"
        ) from err


def _lines(lines: tuple[str, ...] | list[str]) -> str:
    return "\n".join(lines)


def _kernel_lines(spec: FirmwareSpec) -> list[str]:
    if spec.kernel == "debian":
        return [
            "arm_64bit=1",
            "# Debian's kernel with the upstream device trees (Pi 4; not the Pi 5).",
            "upstream_kernel=1",
            "kernel=vmlinuz",
            "initramfs initrd.img followkernel",
        ]
    return [
        "arm_64bit=1",
        "# The Raspberry Pi kernel: kernel8.img (Pi 4), kernel_2712.img (Pi 5).",
        "auto_initramfs=1",
        "dtoverlay=vc4-kms-v3d",
        "max_framebuffers=2",
    ]


def _hdmi_lines(spec: FirmwareSpec, width: int, height: int) -> list[str]:
    port = spec.hdmi_port
    key = (width, height, spec.refresh_hz)
    lines = []
    if spec.force_hotplug:
        lines.append(f"hdmi_force_hotplug:{port}=1")
    if spec.ignore_edid:
        lines.append(f"hdmi_ignore_edid:{port}=0xa5000080")
    if key in _CEA_MODES and not spec.reduced_blanking:
        lines += [f"hdmi_group:{port}=1", f"hdmi_mode:{port}={_CEA_MODES[key]}"]
    elif key in _DMT_MODES and not spec.reduced_blanking:
        lines += [f"hdmi_group:{port}=2", f"hdmi_mode:{port}={_DMT_MODES[key]}"]
    else:
        aspect = _cvt_aspect(width, height)
        rb = 1 if spec.reduced_blanking else 0
        lines += [
            f"hdmi_group:{port}=2",
            f"hdmi_mode:{port}=87",
            f"hdmi_cvt:{port}={width} {height} {spec.refresh_hz} {aspect} 0 0 {rb}",
        ]
    lines.append(f"hdmi_drive:{port}={2 if spec.hdmi_drive == 'hdmi' else 1}")
    lines.append("disable_overscan=1")
    if width * height * spec.refresh_hz > 3840 * 2160 * 30:
        lines.append("# Above 4K at 30 Hz: HDMI 0 of a Pi 4 only.")
        lines.append("hdmi_enable_4kp60=1")
    return lines


def _cvt_aspect(width: int, height: int) -> int:
    best = min(
        _CVT_ASPECTS, key=lambda ratio: abs(ratio[0] / ratio[1] - width / height)
    )
    return _CVT_ASPECTS[best]


def _uart_comment(spec: FirmwareSpec) -> str:
    device = rs232_device(spec)
    if device is not None:
        return f"RS-232 to the display processor on GPIO 14/15: {device}, no console."
    if spec.serial_console:
        return "Kernel console on the GPIO 14/15 UART (no RS-232 there)."
    return "GPIO 14/15 UART off."


def _uart_lines(spec: FirmwareSpec) -> list[str]:
    if not (spec.rs232_uart or spec.serial_console):
        return ["enable_uart=0"]
    # On the Pi 4 this also fixes the core clock the mini UART's baud rate depends on.
    return ["enable_uart=1"]


def _board_lines(spec: FirmwareSpec) -> list[str]:
    lines = [f"dtparam=watchdog={'on' if spec.watchdog else 'off'}"]
    lines.append(f"dtparam=audio={'on' if spec.audio else 'off'}")
    if spec.kernel == "debian":
        if not spec.wifi:
            lines.append("# Wi-Fi stays off: the image carries no Wi-Fi firmware.")
        if not spec.bluetooth:
            lines.append(
                "# Bluetooth stays off: its drivers are blacklisted in the image."
            )
        return lines
    if not spec.wifi:
        lines.append("dtoverlay=disable-wifi")
    if not spec.bluetooth:
        # On the Pi 4 this also gives the PL011 UART to GPIO 14/15.
        lines.append("dtoverlay=disable-bt")
    return lines


def _pi4_lines(spec: FirmwareSpec) -> list[str]:
    lines = [f"gpu_mem={spec.gpu_mem_mb}"]
    if spec.kernel == "raspberrypi" and spec.bluetooth and spec.rs232_uart:
        lines.append("# Bluetooth on the mini UART, the PL011 to GPIO 14/15.")
        lines.append("dtoverlay=miniuart-bt")
    return lines


def _pi5_lines(spec: FirmwareSpec) -> list[str]:
    if spec.kernel == "debian":
        return [
            "# The Pi 5 needs the Raspberry Pi kernel: firmware.kernel: raspberrypi."
        ]
    if spec.rs232_uart:
        return [
            "# UART0 of the RP1 on GPIO 14/15 (ttyAMA0); the debug socket is ttyAMA10.",
            "dtparam=uart0=on",
        ]
    return ["# (defaults)"]


def _cmdline_words(spec: FirmwareSpec, width: int, height: int) -> list[str]:
    connector = f"HDMI-A-{spec.hdmi_port + 1}"
    standard = (width, height, spec.refresh_hz) in _CEA_MODES or (
        width,
        height,
        spec.refresh_hz,
    ) in _DMT_MODES
    flags = ""
    if spec.reduced_blanking:
        flags = "MR"
    elif not standard:
        flags = "M"
    force = "D" if spec.force_hotplug else ""
    words = [
        # Kernel messages go to tty3: not the wall (tty1, X on tty7), not the UART.
        "console=tty3",
    ]
    if spec.serial_console:
        device = "ttyS1" if spec.kernel == "debian" else "serial0"
        words.append(f"console={device},{CONSOLE_BAUD}")
    words += [
        f"root=LABEL={ROOT_LABEL}",
        "rootfstype=ext4",
        "ro",
        "rootwait",
        "fsck.repair=yes",
        "net.ifnames=0",
        f"cma={spec.cma_mb}M",
        f"video={connector}:{width}x{height}{flags}@{spec.refresh_hz}{force}",
        "quiet",
        "loglevel=3",
        "logo.nologo",
        "vt.global_cursor_default=0",
        "consoleblank=0",
        "systemd.show_status=auto",
        "rd.udev.log_level=3",
    ]
    words += list(spec.extra_cmdline)
    return words
