"""LG signage panels: the ASCII RS-232C command set ("ka 01 01")."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from controller.displays.base import Command, Driver, StaleReply, State, lookup, name_of
from controller.displays.errors import (
    DisplayNakError,
    DisplayNotSupportedError,
    DisplayValueError,
    DisplayWrongIdError,
)

BROADCAST_ID = 0x00
MAX_ID = 0x3E8
READ = "ff"
# LG panels acknowledge power-on only once booted (manual §3.1).
POWER_ON_TIMEOUT_S = 15.0

#: ``[c2] [SetID] OK|NG[data]x``; variants: one-digit IDs, no data after NG.
REPLY = re.compile(rb"([a-z]) ([0-9A-Fa-f]{1,3}) (OK|NG)([0-9A-Fa-f ]*)x")

INPUTS = {
    "HDMI1": 0x90,
    "HDMI2": 0x91,
    "HDMI3": 0x92,
    "HDMI4": 0x93,
    "RGB": 0x60,
    "COMPONENT": 0x40,
    "AV": 0x20,
    "DP": 0xC0,
}
NG_MEANINGS = {1: "illegal code", 2: "not supported", 3: "wait more time"}


def build_request(command: str, set_id: int, data: str) -> bytes:
    """``c1c2 ID DATA\\r`` with the Set ID and data in hex, as LG panels expect."""
    return f"{command} {set_id:02x} {data}\r".encode("ascii")


def take_frame(buffer: bytearray) -> bytes | None:
    """Cut one ``…x`` reply out of ``buffer``; text before it (echo, CR) is dropped."""
    while True:
        end = buffer.find(b"x")
        if end < 0:
            return None
        candidate = bytes(buffer[: end + 1])
        del buffer[: end + 1]
        match = REPLY.search(candidate)
        if match and match.end() == len(candidate):
            return match.group(0)


def decode_reply(frame: bytes) -> tuple[str, int, bool, str]:
    """(command letter, Set ID, OK?, data) of a reply frame."""
    match = REPLY.fullmatch(frame)
    if match is None:
        raise DisplayNakError(f"LG reply not understood: {frame!r}")
    letter, set_id, status, data = match.groups()
    return (
        letter.decode(),
        int(set_id, 16),
        status == b"OK",
        data.decode().replace(" ", "").lower(),
    )


class LgDriver(Driver):
    """LG signage panels: power, input, brightness, backlight, screen mute, tiling."""

    protocol = "lg"
    baud_rate = 9600
    reply_timeout_s = 2.0
    default_id = 1
    broadcast_id = BROADCAST_ID
    operations = frozenset(
        {"power", "input", "brightness", "backlight", "black", "tile"}
    )

    def take_frame(self, buffer: bytearray) -> bytes | None:
        return take_frame(buffer)

    def check_id(self, device_id: int) -> None:
        if not 0 <= device_id <= MAX_ID:
            raise DisplayValueError(f"LG Set ID {device_id} is out of range 0 to 1000")

    def commands(self, operation: str, value: Any, device_id: int) -> list[Command]:
        if operation == "power":
            timeout = POWER_ON_TIMEOUT_S if value else None
            return [
                self._command(
                    "ka", device_id, "01" if value else "00", _power, "power", timeout
                )
            ]
        if operation == "input":
            code = lookup(INPUTS, value, "input", "LG")
            return [self._command("xb", device_id, f"{code:02x}", _input, "input")]
        if operation == "brightness":
            return [
                self._command(
                    "kh", device_id, f"{value:02x}", _hex("brightness"), "brightness"
                )
            ]
        if operation == "backlight":
            return [
                self._command(
                    "mg", device_id, f"{value:02x}", _hex("backlight"), "backlight"
                )
            ]
        if operation == "black":
            return [
                self._command(
                    "kd", device_id, "01" if value else "00", _mute, "screen mute"
                )
            ]
        if operation == "tile":
            matrix = value["columns"] << 4 | value["rows"]
            return [
                self._command(
                    "dd", device_id, f"{matrix:02x}", _tile_mode, "tile mode"
                ),
                self._command(
                    "di",
                    device_id,
                    f"{value['position']:02x}",
                    _tile_position,
                    "tile ID",
                ),
            ]
        raise DisplayNotSupportedError(f"LG has no {operation!r} operation")

    def status_commands(self, device_id: int, full: bool) -> list[Command]:
        commands = [self._command("ka", device_id, READ, _power, "power")]
        if full:
            commands += [
                self._command("xb", device_id, READ, _input, "input"),
                self._command("kh", device_id, READ, _hex("brightness"), "brightness"),
                self._command("mg", device_id, READ, _hex("backlight"), "backlight"),
                self._command("kd", device_id, READ, _mute, "screen mute"),
            ]
        return commands

    def _command(
        self,
        command: str,
        device_id: int,
        data: str,
        interpret: Callable[[str], State],
        what: str,
        timeout_s: float | None = None,
    ) -> Command:
        request = build_request(command, device_id, data)
        if device_id == BROADCAST_ID:
            return Command(request, None, f"{what} (to all sets, no reply)")

        def parse(frame: bytes) -> State:
            letter, set_id, ok, reply_data = decode_reply(frame)
            if letter != command[1]:
                raise StaleReply(f"reply to {letter!r}")
            if set_id != device_id:
                raise DisplayWrongIdError(
                    f"LG reply came from Set ID {set_id}, expected {device_id}; "
                    "check the panel's Set ID",
                    expected=device_id,
                    got=set_id,
                )
            if not ok:
                code = int(reply_data, 16) if reply_data else None
                meaning = NG_MEANINGS.get(code or 0, "command rejected")
                raise DisplayNakError(
                    f"LG panel {device_id} answered NG{reply_data} to {what} "
                    f"({meaning})",
                    code=code,
                )
            return interpret(reply_data)

        return Command(request, parse, what, timeout_s)


def _power(data: str) -> State:
    return {"power": int(data, 16) == 0x01}


def _input(data: str) -> State:
    return {"input": name_of(INPUTS, int(data, 16))}


def _hex(key: str) -> Callable[[str], State]:
    return lambda data: {key: int(data, 16)}


def _mute(data: str) -> State:
    return {"black": int(data, 16) == 0x01}


def _tile_mode(data: str) -> State:
    matrix = int(data, 16)
    return {"tile_columns": matrix >> 4, "tile_rows": matrix & 0x0F}


def _tile_position(data: str) -> State:
    return {"tile_position": int(data, 16)}
