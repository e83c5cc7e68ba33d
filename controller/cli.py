"""The ``opswall`` command: run the service, the demo, and the technicians' tools."""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

# Each module here adds its subcommands with ``add_parser(subparsers)``; every parser it
# adds sets ``func``, a callable taking the parsed arguments and returning the exit code.
SUBCOMMAND_MODULES = (
    "controller.service_cli",
    "controller.displays.cli",
    "controller.buttons.cli",
    "controller.appliance.cli",
)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every ``opswall`` subcommand."""
    parser = argparse.ArgumentParser(
        prog="opswall", description="Opswall video-wall controller"
    )
    parser.add_argument(
        "-v", "--verbose", action="store_true", help="log debug messages too"
    )
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module_name in SUBCOMMAND_MODULES:
        importlib.import_module(module_name).add_parser(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``opswall`` console command."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
