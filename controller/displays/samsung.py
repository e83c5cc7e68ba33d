"""Samsung signage panels: the binary MDC protocol over RS-232."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from controller.displays.base import Command, Driver, StaleReply, State, lookup, name_of
from controller.displays.errors import (
    DisplayChecksumError,
    DisplayNakError,
    DisplayNotSupportedError,
    DisplayWrongIdError,
)

HEADER = 0xAA
REPLY_HEADER = b"\xaa\xff"
ACK = 0x41
NAK = 0x4E
BROADCAST_ID = 0xFE

CMD_STATUS = 0x00
CMD_POWER = 0x11
CMD_INPUT = 0x14
CMD_BRIGHTNESS = 0x25
CMD_BACKLIGHT = 0x58
CMD_VIDEO_WALL = 0x84
CMD_WALL_POSITION = 0x89
CMD_SCREEN_MUTE = 0xFE
SUB_SCREEN_MUTE = 0x51

INPUTS = {
    "HDMI1": 0x21,
    "HDMI2": 0x23,
    "HDMI3": 0x31,
    "HDMI4": 0x33,
    "DP1": 0x25,
    "DP2": 0x26,
    "DVI": 0x18,
    "PC": 0x14,
    "MagicInfo": 0x20,
    "HDBaseT": 0x55,
    # Reported by the panel only ("HDMIx PC" modes); setting them is refused.
    "HDMI1 PC": 0x22,
    "HDMI2 PC": 0x24,
    "HDMI3 PC": 0x32,
    "HDMI4 PC": 0x34,
}
SETTABLE_INPUTS = {
    name: code for name, code in INPUTS.items() if not name.endswith(" PC")
}


def build_request(command: int, device_id: int, data: bytes = b"") -> bytes:
    """``AA cmd id len data… chk``; a get is the command with no data."""
    body = bytes((command, device_id, len(data))) + data
    return bytes((HEADER,)) + body + bytes((sum(body) & 0xFF,))


def build_reply(
    device_id: int, command: int, values: bytes, *, ack: bool = True
) -> bytes:
    """``AA FF id len A|N cmd values… chk`` as a panel sends it (for the simulator)."""
    payload = bytes((ACK if ack else NAK, command)) + values
    body = bytes((0xFF, device_id, len(payload))) + payload
    return bytes((HEADER,)) + body + bytes((sum(body) & 0xFF,))


def take_frame(buffer: bytearray) -> bytes | None:
    """Cut one ``AA FF`` reply (length from its fourth byte) out of ``buffer``."""
    start = buffer.find(REPLY_HEADER)
    if start < 0:
        keep = 1 if buffer[-1:] == b"\xaa" else 0
        del buffer[: len(buffer) - keep]
        return None
    del buffer[:start]
    if len(buffer) < 4:
        return None
    total = 4 + buffer[3] + 1
    if len(buffer) < total:
        return None
    frame = bytes(buffer[:total])
    del buffer[:total]
    return frame


def decode_reply(frame: bytes) -> tuple[int, bool, int, bytes]:
    """(id, acknowledged, command, values) of a reply; DisplayChecksumError if bad."""
    body = frame[1:-1]
    if sum(body) & 0xFF != frame[-1]:
        raise DisplayChecksumError(
            f"Samsung MDC reply failed its checksum (got {frame[-1]:02X}, computed "
            f"{sum(body) & 0xFF:02X}): {frame.hex(' ').upper()}"
        )
    if len(frame) < 7:
        raise DisplayNakError(f"Samsung MDC reply too short: {frame.hex(' ').upper()}")
    return frame[2], frame[4] == ACK, frame[5], bytes(frame[6:-1])


class SamsungMdcDriver(Driver):
    """Samsung signage panels (MDC): power, input, brightness, mute, video wall."""

    protocol = "samsung-mdc"
    baud_rate = 9600
    reply_timeout_s = 2.0
    default_id = 1
    broadcast_id = BROADCAST_ID
    operations = frozenset(
        {"power", "input", "brightness", "backlight", "black", "video_wall", "tile"}
    )

    def take_frame(self, buffer: bytearray) -> bytes | None:
        return take_frame(buffer)

    def commands(self, operation: str, value: Any, device_id: int) -> list[Command]:
        if operation == "power":
            return [
                self._set(device_id, CMD_POWER, bytes((int(value),)), _power, "power")
            ]
        if operation == "input":
            code = lookup(SETTABLE_INPUTS, value, "input", "Samsung MDC")
            return [self._set(device_id, CMD_INPUT, bytes((code,)), _input, "input")]
        if operation == "brightness":
            return [
                self._set(
                    device_id,
                    CMD_BRIGHTNESS,
                    bytes((value,)),
                    _byte("brightness"),
                    "brightness",
                )
            ]
        if operation == "backlight":
            return [
                self._set(
                    device_id,
                    CMD_BACKLIGHT,
                    bytes((value,)),
                    _byte("backlight"),
                    "backlight",
                )
            ]
        if operation == "black":
            data = bytes((SUB_SCREEN_MUTE, 0x00 if value else 0xFF))
            return [self._set(device_id, CMD_SCREEN_MUTE, data, _mute, "screen mute")]
        if operation == "video_wall":
            return [
                self._set(
                    device_id,
                    CMD_VIDEO_WALL,
                    bytes((int(value),)),
                    _flag("video_wall"),
                    "video wall",
                )
            ]
        if operation == "tile":
            matrix = value["rows"] << 4 | value["columns"]
            data = bytes((matrix, value["position"]))
            return [
                self._set(device_id, CMD_WALL_POSITION, data, _tile, "wall position")
            ]
        raise DisplayNotSupportedError(f"Samsung MDC has no {operation!r} operation")

    def status_commands(self, device_id: int, full: bool) -> list[Command]:
        commands = [self._set(device_id, CMD_STATUS, b"", _status, "status")]
        if full:
            commands += [
                self._set(
                    device_id, CMD_BRIGHTNESS, b"", _byte("brightness"), "brightness"
                ),
                self._set(
                    device_id,
                    CMD_SCREEN_MUTE,
                    bytes((SUB_SCREEN_MUTE,)),
                    _mute,
                    "screen mute",
                ),
                self._set(
                    device_id, CMD_VIDEO_WALL, b"", _flag("video_wall"), "video wall"
                ),
            ]
        return commands

    def _set(
        self,
        device_id: int,
        command: int,
        data: bytes,
        interpret: Callable[[bytes], State],
        what: str,
    ) -> Command:
        request = build_request(command, device_id, data)
        if device_id == BROADCAST_ID:
            return Command(request, None, f"{what} (to all panels, no reply)")

        def parse(frame: bytes) -> State:
            reply_id, acknowledged, reply_command, values = decode_reply(frame)
            if reply_command != command:
                raise StaleReply(f"reply to command {reply_command:02X}")
            if reply_id != device_id:
                raise DisplayWrongIdError(
                    f"Samsung MDC reply came from ID {reply_id}, expected ID "
                    f"{device_id}; check the panel's ID setting",
                    expected=device_id,
                    got=reply_id,
                )
            if not acknowledged:
                code = values[0] if values else None
                raise DisplayNakError(
                    f"Samsung panel ID {device_id} refused {what} (NAK, error code "
                    f"{code}); make sure it is fully booted, on HDMI1, with MagicInfo "
                    "off",
                    code=code,
                )
            return interpret(values)

        return Command(request, parse, what)


def _power(values: bytes) -> State:
    return {"power": values[0] == 0x01}


def _input(values: bytes) -> State:
    return {"input": name_of(INPUTS, values[0])}


def _byte(key: str) -> Callable[[bytes], State]:
    return lambda values: {key: values[0]}


def _flag(key: str) -> Callable[[bytes], State]:
    return lambda values: {key: values[0] == 0x01}


def _mute(values: bytes) -> State:
    # The sub-command comes back first; 00 is "muted" (picture off), FF unmuted.
    return {"black": values[-1] == 0x00}


def _tile(values: bytes) -> State:
    matrix, position = values[0], values[1]
    return {
        "tile_columns": matrix & 0x0F,
        "tile_rows": matrix >> 4,
        "tile_position": position,
    }


def _status(values: bytes) -> State:
    return {
        "power": values[0] == 0x01,
        "volume": values[1],
        "mute": values[2] == 0x01,
        "input": name_of(INPUTS, values[3]),
    }
