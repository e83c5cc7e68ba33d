"""What every display driver shares: operations, value checks, commands, faults."""

from __future__ import annotations

import logging
import math
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from controller.displays.errors import DisplayNotSupportedError, DisplayValueError

State = dict[str, Any]

#: Every operation a display may offer, with the value it takes (for messages and help).
OPERATIONS: Mapping[str, str] = {
    "brightness": "a percentage, 0 to 100",
    "backlight": "a percentage, 0 to 100",
    "black": "true (picture off) or false",
    "freeze": "true (hold the picture) or false",
    "input": "an input name such as HDMI1 or DVI",
    "preset": "a preset number, 1 or more",
    "test_pattern": "one of: "
    + ", ".join(
        (
            "off",
            "red",
            "green",
            "blue",
            "white",
            "horizontal",
            "vertical",
            "diagonal",
            "grey",
            "aging",
        )
    ),
    "power": "true (on) or false (standby)",
    "video_wall": "true (the panel shows its part of the wall) or false",
    "tile": "{columns: N, rows: N, position: N} with position counted from 1",
    "save": "no value (stores the settings in the device's flash)",
    "status": "no value (reads the device's state)",
}

TEST_PATTERNS = (
    "off",
    "red",
    "green",
    "blue",
    "white",
    "horizontal",
    "vertical",
    "diagonal",
    "grey",
    "aging",
)

#: How long a warned fault stays quiet after it recovered, so a flapping one warns once.
FAULT_QUIET_S = 300.0

_TRUE_WORDS = {"on": True, "true": True, "off": False, "false": False}


class StaleReply(Exception):
    """A well-formed frame that answers something else (a late reply); keep waiting."""


@dataclass(frozen=True)
class Command:
    """One request to send, and how to read its reply into state (None: no reply)."""

    request: bytes
    parse: Callable[[bytes], State] | None
    what: str
    timeout_s: float | None = None  # None: the protocol's reply deadline


class Driver(ABC):
    """A display protocol: operations become request bytes, reply frames become state.

    Drivers never touch the port; the serial link sends their commands one at a time and
    hands back the frames their ``take_frame`` cuts from the receive buffer.
    """

    protocol: str
    baud_rate: int = 9600
    reply_timeout_s: float = 2.0
    default_id: int = 1
    broadcast_id: int | None = None
    operations: frozenset[str] = frozenset()

    @abstractmethod
    def take_frame(self, buffer: bytearray) -> bytes | None:
        """Cut the first whole reply frame out of ``buffer``, dropping junk before it.

        Returns None (leaving the partial frame in place) until a whole frame is there.
        """

    @abstractmethod
    def commands(self, operation: str, value: Any, device_id: int) -> list[Command]:
        """The commands that carry out ``operation`` (value already normalised)."""

    @abstractmethod
    def status_commands(self, device_id: int, full: bool) -> list[Command]:
        """Queries of the device's state: all when ``full``, else the heartbeat."""

    def check_id(self, device_id: int) -> None:
        """Refuse an ID the protocol cannot address."""
        if not 0 <= device_id <= 255:
            raise DisplayValueError(
                f"{self.protocol} device ID {device_id} is out of range 0 to 255"
            )

    def plan(self, operation: str, value: Any, device_id: int) -> list[Command]:
        """Check ``operation`` and ``value`` for this protocol, then build commands."""
        supported = ", ".join(sorted(self.operations | {"status"}))
        if operation not in OPERATIONS:
            # What this display can do, not every protocol's operations.
            raise DisplayValueError(
                f"found unknown operation {operation!r}, expected one of this "
                f"{self.protocol} display's: {supported}"
            )
        if operation != "status" and operation not in self.operations:
            raise DisplayNotSupportedError(
                f"{self.protocol} displays have no {operation!r} operation; "
                f"supported: {supported}"
            )
        self.check_id(device_id)
        value = normalise(operation, value)
        if operation == "status":
            return self.status_commands(device_id, full=True)
        return self.commands(operation, value, device_id)


def normalise(operation: str, value: Any) -> Any:
    """``value`` in the type ``operation`` takes; DisplayValueError if it cannot."""
    if operation not in OPERATIONS:
        raise DisplayValueError(_unknown_operation(operation))
    expected = OPERATIONS[operation]
    if operation in ("brightness", "backlight"):
        return _percent(operation, value)
    if operation in ("black", "freeze", "power", "video_wall"):
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in _TRUE_WORDS:
            return _TRUE_WORDS[value.lower()]
        raise DisplayValueError(f"{operation}: found {value!r}, expected {expected}")
    if operation == "input":
        if isinstance(value, str) and value.strip():
            return value.strip()
        raise DisplayValueError(f"input: found {value!r}, expected {expected}")
    if operation == "preset":
        if isinstance(value, int) and not isinstance(value, bool) and value >= 1:
            return value
        raise DisplayValueError(f"preset: found {value!r}, expected {expected}")
    if operation == "test_pattern":
        if isinstance(value, str) and value.lower() in TEST_PATTERNS:
            return value.lower()
        raise DisplayValueError(f"test_pattern: found {value!r}, expected {expected}")
    if operation == "tile":
        return _tile(value)
    if value is not None:
        raise DisplayValueError(f"{operation}: found {value!r}, expected {expected}")
    return None


def validate_action(operation: str, value: Any) -> str | None:
    """Why a preset's display action is invalid, or None when it is fine."""
    try:
        normalise(operation, value)
    except DisplayValueError as err:
        return str(err)
    return None


def brightness_to_byte(percent: int) -> int:
    """0–100 % as the 0–255 level processors use, rounded to the nearest step."""
    return (percent * 255 * 2 + 100) // 200


def byte_to_brightness(level: int) -> int:
    """A 0–255 level as the nearest whole percentage (exact inverse of the above)."""
    return (level * 100 * 2 + 255) // 510


def lookup(table: Mapping[str, int], name: str, what: str, protocol: str) -> int:
    """The code of ``name`` in ``table`` (any case); DisplayValueError otherwise."""
    for key, code in table.items():
        if key.lower() == name.lower():
            return code
    raise DisplayValueError(
        f"{what}: found {name!r}, expected one of the {protocol} names: "
        f"{', '.join(table)}"
    )


def name_of(table: Mapping[str, int], code: int) -> str:
    """The name of ``code`` in ``table``, or the code in hex when it has none."""
    for key, value in table.items():
        if value == code:
            return key
    return f"0x{code:02X}"


class FaultLog:
    """Warn once per fault, then log repeats at debug until it has been quiet a while.

    A fault that recovers and comes back within ``FAULT_QUIET_S`` counts as the same
    flapping fault, so an operator sees one warning, not one per poll.
    """

    def __init__(self, logger: logging.Logger) -> None:
        self._logger = logger
        self._active: set[str] = set()
        self._recovered_at: dict[str, float] = {}

    def fault(self, key: str, message: str, *args: Any) -> None:
        """Report fault ``key``: a warning the first time, debug while it repeats."""
        recovered = self._recovered_at.get(key)
        quiet = recovered is None or time.monotonic() - recovered > FAULT_QUIET_S
        if key in self._active or not quiet:
            self._logger.debug(message, *args)
        else:
            self._logger.warning(message, *args)
        self._active.add(key)

    def recovered(self, key: str, message: str, *args: Any) -> None:
        """Report that fault ``key`` is over (info, only when it was active)."""
        if key in self._active:
            self._active.discard(key)
            self._recovered_at[key] = time.monotonic()
            self._logger.info(message, *args)

    def is_active(self, key: str) -> bool:
        return key in self._active


def _percent(operation: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise DisplayValueError(
            f"{operation}: found {value!r}, expected {OPERATIONS[operation]}"
        )
    if not math.isfinite(value) or value != int(value) or not 0 <= value <= 100:
        raise DisplayValueError(
            f"{operation}: found {value!r}, expected a whole percentage, 0 to 100"
        )
    return int(value)


def _tile(value: Any) -> dict[str, int]:
    expected = OPERATIONS["tile"]
    if not isinstance(value, Mapping) or set(value) != {"columns", "rows", "position"}:
        raise DisplayValueError(f"tile: found {value!r}, expected {expected}")
    numbers = {key: value[key] for key in ("columns", "rows", "position")}
    for key, number in numbers.items():
        if isinstance(number, bool) or not isinstance(number, int) or number < 1:
            raise DisplayValueError(
                f"tile: found {key} {number!r}, expected a whole number, 1 or more"
            )
    if numbers["columns"] > 15 or numbers["rows"] > 15:
        raise DisplayValueError(
            f"tile: found {numbers['columns']} columns x {numbers['rows']} rows, "
            "expected at most 15 of each"
        )
    if numbers["position"] > numbers["columns"] * numbers["rows"]:
        raise DisplayValueError(
            f"tile: found position {numbers['position']}, expected at most "
            f"{numbers['columns'] * numbers['rows']} (columns x rows)"
        )
    return numbers


def _unknown_operation(operation: str) -> str:
    known = ", ".join(OPERATIONS)
    return f"found unknown operation {operation!r}, expected one of: {known}"
