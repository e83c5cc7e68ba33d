"""Appliance commands: ``opswall firmware render`` and ``opswall appliance``."""

from __future__ import annotations

import argparse
import logging
import subprocess
import sys
from pathlib import Path
from typing import Any

from controller.appliance.firmware import (
    load_firmware_settings,
    render_boot_files,
    write_boot_files,
)
from controller.appliance.firstboot import AppliancePaths, FirstBoot, FirstBootError
from controller.errors import OpswallError

_LOGGER = logging.getLogger(__name__)


def add_parser(subparsers: Any) -> None:
    """Add ``firmware render`` and ``appliance first-boot`` to ``opswall``."""
    firmware = subparsers.add_parser(
        "firmware", help="Raspberry Pi boot files (config.txt, cmdline.txt)"
    )
    firmware_commands = firmware.add_subparsers(dest="firmware_command", required=True)
    render = firmware_commands.add_parser(
        "render", help="write config.txt and cmdline.txt from the appliance config"
    )
    render.add_argument("--config", required=True, type=Path, help="appliance config")
    render.add_argument(
        "--out",
        required=True,
        type=Path,
        help="folder to write to, e.g. /boot/firmware",
    )
    render.set_defaults(func=_render)

    appliance = subparsers.add_parser(
        "appliance", help="appliance set-up on the device"
    )
    appliance_commands = appliance.add_subparsers(
        dest="appliance_command", required=True
    )
    first_boot = appliance_commands.add_parser(
        "first-boot",
        help="make the device identity, apply opswall-firstboot.yaml (for systemd)",
    )
    first_boot.add_argument("--boot", type=Path, default=Path("/boot/firmware"))
    first_boot.set_defaults(func=_first_boot)


def _render(args: argparse.Namespace) -> int:
    try:
        spec, resolution = load_firmware_settings(args.config)
        files = render_boot_files(spec, resolution, source=str(args.config))
        changed = write_boot_files(files, args.out)
    except OpswallError as err:
        _LOGGER.error("boot files not rendered: %s", err)
        return 1
    print(f"{len(changed)} of 2 boot files changed in {args.out}")
    return 0


def _first_boot(args: argparse.Namespace) -> int:
    first_boot = FirstBoot(AppliancePaths(boot=args.boot))
    status = 0
    try:
        first_boot.run()
    except FirstBootError as err:
        _LOGGER.error("first boot finished with problems: %s", err)
        status = 1
    if first_boot.reboot_needed:
        _LOGGER.info("boot files changed; rebooting to apply the new HDMI mode")
        subprocess.run(["systemctl", "reboot", "--no-block"], check=False)
    return status


def main(argv: list[str] | None = None) -> int:
    """Run the appliance commands alone (systemd uses this: it imports nothing else)."""
    parser = argparse.ArgumentParser(prog="opswall-appliance")
    parser.add_argument("-v", "--verbose", action="store_true")
    add_parser(parser.add_subparsers(dest="command", required=True, metavar="COMMAND"))
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(levelname)-7s %(name)s: %(message)s",
    )
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
