"""``opswall button``: press a desk button of the running demo from the command line."""

from __future__ import annotations

import argparse
import json
import os
import sys
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from controller.buttons.panel import MAX_PRESS_S
from controller.config.loader import BUTTON_ACTIONS

DEFAULT_URL = "http://127.0.0.1:8080"
#: Time allowed for the service to answer, on top of the press itself.
REPLY_TIMEOUT_S = 10.0


def add_parser(subparsers: Any) -> None:
    """Add ``button NAME [--hold S] [--url URL] [--token T]`` to ``opswall``."""
    parser = subparsers.add_parser(
        "button",
        help="press a desk button of the running service (mock pins only)",
        description=(
            "Press a desk button of the running Opswall service, as if on the desk: "
            "the service drives the button's mock pin low for --hold seconds. Only "
            "the demo (mock pins) accepts this."
        ),
    )
    parser.add_argument("name", help="button name, as in the config's buttons:")
    parser.add_argument(
        "--hold",
        type=_seconds,
        default=0.1,
        metavar="SECONDS",
        help="how long to hold it (default 0.1, a short press)",
    )
    parser.add_argument(
        "--url",
        default=os.environ.get("OPSWALL_URL", DEFAULT_URL),
        help=f"the service's address (default $OPSWALL_URL or {DEFAULT_URL})",
    )
    parser.add_argument(
        "--token",
        default=os.environ.get("OPSWALL_ADMIN_TOKEN"),
        help="bearer token, if the API asks for one (default $OPSWALL_ADMIN_TOKEN)",
    )
    parser.set_defaults(func=press_button)


def press_button(args: argparse.Namespace) -> int:
    """Ask the service to press the button; print what it did. 0 if it was pressed."""
    url = (
        f"{args.url.rstrip('/')}/api/v1/buttons/"
        f"{urllib.parse.quote(args.name, safe='')}/press"
    )
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    if args.token:
        headers["Authorization"] = f"Bearer {args.token}"
    request = urllib.request.Request(
        url,
        data=json.dumps({"hold_s": args.hold}).encode(),
        headers=headers,
        method="POST",
    )

    try:
        with urllib.request.urlopen(
            request, timeout=max(args.hold, 0) + REPLY_TIMEOUT_S
        ) as response:
            reply = json.load(response)
    except urllib.error.HTTPError as err:
        hint = ""
        if err.code == 401:
            hint = (
                "; give the admin token (or an operator's API token) with --token "
                "TOKEN or $OPSWALL_ADMIN_TOKEN"
                + (" (the one given was refused)" if args.token else "")
            )
        print(
            f"opswall button: {args.name!r} not pressed: {_error_of(err)}{hint}",
            file=sys.stderr,
        )
        return 1
    except (urllib.error.URLError, OSError) as err:
        reason = getattr(err, "reason", err)
        print(
            f"opswall button: cannot reach the Opswall service at {args.url} "
            f"({reason}); is it running? (--url or $OPSWALL_URL)",
            file=sys.stderr,
        )
        return 1
    except ValueError as err:
        print(
            f"opswall button: the service's reply is not JSON ({err})", file=sys.stderr
        )
        return 1

    print(describe(reply, args.hold))
    return 0


def _seconds(text: str) -> float:
    """A hold time for argparse: a finite number from 0 to the panel's longest press."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not 0 <= value <= MAX_PRESS_S:  # NaN fails this too
        raise argparse.ArgumentTypeError(
            f"{text} s is out of range: a press lasts 0 to {MAX_PRESS_S:g} s"
        )
    return value


def describe(reply: dict[str, Any], hold_s: float) -> str:
    """The press reply as a line or two an operator reads."""
    button = reply.get("button") or {}
    name = button.get("name", "?")
    pin = button.get("pin", "?")
    event = reply.get("event")
    if event is None:
        needed = button.get("hold_s")
        why = f"needs a {needed:g} s hold" if needed else "shorter than the debounce"
        line = (
            f"button {name!r} ({pin}) pressed for {hold_s:.2f} s: "
            f"nothing happened ({why})"
        )
    else:
        action = event["action"]
        target = action if action in BUTTON_ACTIONS else f"preset {action!r}"
        line = (
            f"button {name!r} ({pin}) pressed for {hold_s:.2f} s → {target} "
            f"(acted {event['held_s']:.2f} s into the press)"
        )
    if button.get("lamp") is not None:
        line += f"\nlamp: {button['lamp']}"
    return line


def _error_of(err: urllib.error.HTTPError) -> str:
    body = err.read().decode(errors="replace")
    try:
        data = json.loads(body)
    except ValueError:
        data = None
    if isinstance(data, dict):
        for key in ("error", "message", "detail"):
            if isinstance(data.get(key), str):
                return f"{data[key]} (HTTP {err.code})"
    text = body.strip() or err.reason
    return f"{text} (HTTP {err.code})"
