"""Technician commands: drive a display over a serial port, or simulate one on a pty."""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
from typing import Any

from controller.displays.base import OPERATIONS
from controller.displays.drivers import PROTOCOLS, make_driver
from controller.displays.errors import DisplayError
from controller.displays.simulator import SIMULATORS, make_simulator
from controller.displays.transport import SerialLink
from controller.errors import OpswallError

OPEN_TIMEOUT_S = 3.0


def add_parser(subparsers: Any) -> None:
    """Add ``display`` and ``display-simulator`` to the ``opswall`` command."""
    display = subparsers.add_parser(
        "display",
        help="send one operation to a display over its serial port (commissioning)",
        description="Open PORT, send OPERATION to the display and print what it "
        "answered (as JSON), or a clear error; exits non-zero on failure.",
    )
    display.add_argument("--port", required=True, help="serial device or pty path")
    display.add_argument("--protocol", required=True, choices=PROTOCOLS)
    display.add_argument("--id", type=int, help="device ID (default: the protocol's)")
    display.add_argument("--baud", type=int, help="baud rate (default: the protocol's)")
    display.add_argument("--table", help="command table file (protocol table)")
    display.add_argument("--timeout", type=float, help="reply deadline in seconds")
    display.add_argument(
        "operation",
        choices=list(OPERATIONS),
        metavar="OPERATION",
        help="one of: " + ", ".join(OPERATIONS),
    )
    display.add_argument(
        "value",
        nargs="?",
        metavar="VALUE",
        help="JSON (50, true, '{\"columns\": 2, ...}') or a word",
    )
    display.set_defaults(func=run_display)

    simulator = subparsers.add_parser(
        "display-simulator",
        help="simulate a display on a pseudo-terminal and print its path",
        description="Run a simulated display until interrupted; the first line printed "
        "is the device path to give 'opswall display --port'.",
    )
    simulator.add_argument("--protocol", required=True, choices=list(SIMULATORS))
    simulator.add_argument(
        "--id",
        type=int,
        action="append",
        dest="ids",
        help="ID to answer as (repeat for a daisy chain)",
    )
    simulator.add_argument("--link", help="also make this symlink to the pty")
    simulator.set_defaults(func=run_simulator)


def run_display(args: argparse.Namespace) -> int:
    """``opswall display``: one operation, its answer printed; 0 only on success."""
    try:
        return asyncio.run(_display(args))
    except OpswallError as err:
        print(f"opswall display: error: {err}", file=sys.stderr)
        return 2


def run_simulator(args: argparse.Namespace) -> int:
    """``opswall display-simulator``: serve a simulated display until interrupted."""
    asyncio.run(_simulate(args))
    return 0


async def _display(args: argparse.Namespace) -> int:
    driver = make_driver(args.protocol, args.table)
    device_id = args.id if args.id is not None else driver.default_id
    commands = driver.plan(args.operation, _parse_value(args.value), device_id)
    timeout_s = args.timeout or driver.reply_timeout_s

    link = SerialLink(args.port, args.baud or driver.baud_rate, driver.take_frame)
    await link.start()
    try:
        if not await link.wait_online(OPEN_TIMEOUT_S):
            print(
                f"opswall display: error: cannot open {args.port}: {link.last_error}",
                file=sys.stderr,
            )
            return 1
        state: dict[str, Any] = {}
        for command in commands:
            result = await link.exchange(
                command.request,
                command.parse,
                command.timeout_s or timeout_s,
                f"{command.what} (ID {device_id})",
            )
            if command.parse is None:
                print(f"sent {command.what}", file=sys.stderr)
            elif result:
                state.update(result)
    except DisplayError as err:
        print(f"opswall display: error: {err}", file=sys.stderr)
        return 1
    finally:
        await link.stop()
    print(json.dumps(state, sort_keys=True))
    return 0


async def _simulate(args: argparse.Namespace) -> None:
    simulator = make_simulator(args.protocol, args.ids, link=args.link)
    await simulator.start()
    print(simulator.path, flush=True)

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    try:
        await stop.wait()
    finally:
        await simulator.stop()


def _parse_value(text: str | None) -> Any:
    if text is None:
        return None
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def main(argv: list[str] | None = None) -> int:
    """Run only the display commands (``python -m controller.displays.cli``)."""
    parser = argparse.ArgumentParser(prog="opswall-display")
    add_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
