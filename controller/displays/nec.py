"""NEC / Sharp-NEC signage panels: the external-control frame with an XOR check code."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from controller.displays.base import Command, Driver, StaleReply, State, lookup, name_of
from controller.displays.errors import (
    DisplayChecksumError,
    DisplayNakError,
    DisplayNotSupportedError,
    DisplayValueError,
    DisplayWrongIdError,
)

SOH, STX, ETX, CR = 0x01, 0x02, 0x03, 0x0D
RESERVED = 0x30
CONTROLLER = 0x30
REPLY_HEADER = bytes((SOH, RESERVED, CONTROLLER))
HEADER_BYTES = 7
BROADCAST_ID = 0  # sent as '*', every monitor acts and none answers
ALL_MONITORS = 0x2A
FIRST_MONITOR = 0x41  # 'A' = monitor ID 1
MAX_ID = 100

OP_BACKLIGHT = 0x0010
OP_INPUT = 0x0060
OP_SCREEN_MUTE = 0x10B6
OP_TILE_COLUMNS = 0x02D0
OP_TILE_ROWS = 0x02D1
OP_TILE_POSITION = 0x02D2

POWER_STATUS = "01D6"
POWER_SET = "C203D6"
NULL_MESSAGE = "BE"
POWER_ON, POWER_OFF = 0x0001, 0x0004

#: Input codes are model specific; these are the ones common to current NEC panels.
INPUTS = {
    "VGA": 0x01,
    "DVI": 0x03,
    "HDMI1": 0x11,
    "HDMI2": 0x12,
    "DP1": 0x0F,
    "DP2": 0x10,
}

_REPLY_TYPE = {"A": "B", "C": "D", "E": "F"}


def destination(device_id: int) -> int:
    """The address byte of monitor ``device_id`` ('A' is ID 1; 0 means all, '*')."""
    return ALL_MONITORS if device_id == BROADCAST_ID else FIRST_MONITOR + device_id - 1


def build_frame(
    address: int,
    message_type: str,
    payload: str,
    *,
    source: int = CONTROLLER,
    to: int | None = None,
) -> bytes:
    """``SOH '0' dest '0' type len STX payload ETX BCC CR`` with its XOR check code.

    Requests go from the controller (``source`` '0') to ``address``; a monitor's reply
    (built by the simulator) goes ``to`` '0' from the monitor's address.
    """
    if to is None:
        head = bytes((RESERVED, address, source))
    else:
        head = bytes((RESERVED, to, address))
    body = (
        head
        + message_type.encode("ascii")
        + f"{len(payload) + 2:02X}".encode("ascii")
        + bytes((STX,))
        + payload.encode("ascii")
        + bytes((ETX,))
    )
    return bytes((SOH,)) + body + bytes((bcc(body), CR))


def bcc(body: bytes) -> int:
    """XOR of every byte from the one after SOH through ETX."""
    code = 0
    for byte in body:
        code ^= byte
    return code


def take_frame(buffer: bytearray, header: bytes = REPLY_HEADER) -> bytes | None:
    """Cut one frame starting with ``header`` (replies by default) out of ``buffer``."""
    while True:
        start = buffer.find(header)
        if start < 0:
            tail = next(
                (n for n in (2, 1) if buffer[-n:] == header[:n] and len(buffer) >= n), 0
            )
            del buffer[: len(buffer) - tail]
            return None
        del buffer[:start]
        if len(buffer) < HEADER_BYTES:
            return None
        try:
            length = int(buffer[5:7].decode("ascii"), 16)
        except ValueError:
            del buffer[:1]
            continue
        total = HEADER_BYTES + length + 2
        if len(buffer) < total:
            return None
        if buffer[total - 1] != CR or buffer[HEADER_BYTES] != STX:
            del buffer[:1]
            continue
        frame = bytes(buffer[:total])
        del buffer[:total]
        return frame


def decode_frame(frame: bytes) -> tuple[int, int, str, str]:
    """(destination, source, message type, payload) of a frame; checks its BCC."""
    body = frame[1:-2]
    if bcc(body) != frame[-2]:
        raise DisplayChecksumError(
            f"NEC reply failed its check code (got {frame[-2]:02X}, computed "
            f"{bcc(body):02X}): {frame.hex(' ').upper()}"
        )
    payload = frame[HEADER_BYTES + 1 : -3].decode("ascii", errors="replace")
    return frame[2], frame[3], chr(frame[4]), payload


class NecDriver(Driver):
    """NEC large-format panels: power, input, backlight, screen mute, tile matrix."""

    protocol = "nec"
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
            raise DisplayValueError(
                f"NEC monitor ID {device_id} is out of range 1 to 100 (0 = all)"
            )

    def commands(self, operation: str, value: Any, device_id: int) -> list[Command]:
        if operation == "power":
            setting = f"{POWER_SET}{POWER_ON if value else POWER_OFF:04X}"
            return [self._command(device_id, "A", setting, _power_set, "power")]
        if operation == "input":
            code = lookup(INPUTS, value, "input", "NEC")
            return [self._set(device_id, OP_INPUT, code, _input, "input")]
        if operation in ("brightness", "backlight"):
            return [
                self._set(device_id, OP_BACKLIGHT, value, _value(operation), operation)
            ]
        if operation == "black":
            return [
                self._set(device_id, OP_SCREEN_MUTE, int(value), _mute, "screen mute")
            ]
        if operation == "tile":
            return [
                self._set(
                    device_id,
                    OP_TILE_COLUMNS,
                    value["columns"],
                    _value("tile_columns"),
                    "tile columns",
                ),
                self._set(
                    device_id,
                    OP_TILE_ROWS,
                    value["rows"],
                    _value("tile_rows"),
                    "tile rows",
                ),
                self._set(
                    device_id,
                    OP_TILE_POSITION,
                    value["position"],
                    _value("tile_position"),
                    "tile position",
                ),
            ]
        raise DisplayNotSupportedError(f"NEC has no {operation!r} operation")

    def status_commands(self, device_id: int, full: bool) -> list[Command]:
        commands = [self._command(device_id, "A", POWER_STATUS, _power_status, "power")]
        if full:
            commands += [
                self._get(device_id, OP_INPUT, _input, "input"),
                self._get(device_id, OP_BACKLIGHT, _value("backlight"), "backlight"),
                self._get(device_id, OP_SCREEN_MUTE, _mute, "screen mute"),
            ]
        return commands

    def _get(
        self, device_id: int, opcode: int, interpret: Callable[[int], State], what: str
    ) -> Command:
        return self._command(
            device_id, "C", f"{opcode:04X}", _parameter(opcode, interpret), what
        )

    def _set(
        self,
        device_id: int,
        opcode: int,
        value: int,
        interpret: Callable[[int], State],
        what: str,
    ) -> Command:
        return self._command(
            device_id,
            "E",
            f"{opcode:04X}{value:04X}",
            _parameter(opcode, interpret),
            what,
        )

    def _command(
        self,
        device_id: int,
        message_type: str,
        payload: str,
        interpret: Callable[[str], State],
        what: str,
    ) -> Command:
        address = destination(device_id)
        request = build_frame(address, message_type, payload)
        if device_id == BROADCAST_ID:
            return Command(request, None, f"{what} (to all monitors, no reply)")

        def parse(frame: bytes) -> State:
            _to, source, reply_type, reply_payload = decode_frame(frame)
            if source != address:
                raise DisplayWrongIdError(
                    f"NEC reply came from monitor ID {source - FIRST_MONITOR + 1}, "
                    f"expected {device_id}; check the monitor's ID setting",
                    expected=device_id,
                    got=source - FIRST_MONITOR + 1,
                )
            if reply_type == "A" and reply_payload == NULL_MESSAGE:
                raise DisplayNakError(
                    f"NEC monitor {device_id} answered the null message to {what} "
                    "(busy, or the command is unknown to this model)"
                )
            if reply_type != _REPLY_TYPE[message_type]:
                raise StaleReply(f"message type {reply_type}")
            return interpret(reply_payload)

        return Command(request, parse, what)


def _parameter(
    opcode: int, interpret: Callable[[int], State]
) -> Callable[[str], State]:
    """Read a get/set reply: result, op-code, type, maximum, current value."""

    def read(payload: str) -> State:
        if len(payload) != 16:
            raise DisplayNakError(f"NEC parameter reply has an odd length: {payload!r}")
        result, reply_opcode = payload[0:2], int(payload[2:6], 16)
        if reply_opcode != opcode:
            raise StaleReply(f"op-code {reply_opcode:04X}")
        if result != "00":
            raise DisplayNotSupportedError(
                f"NEC monitor does not support op-code {opcode:04X} (result {result})"
            )
        return interpret(int(payload[12:16], 16))

    return read


def _power_status(payload: str) -> State:
    if payload[0:2] != "02" or payload[4:6] != "D6":
        raise StaleReply(f"payload {payload}")
    if payload[2:4] != "00":
        raise DisplayNotSupportedError(f"NEC power status read failed ({payload})")
    return {"power": int(payload[12:16], 16) == POWER_ON}


def _power_set(payload: str) -> State:
    if payload[2:8] != POWER_SET:
        raise StaleReply(f"payload {payload}")
    if payload[0:2] != "00":
        raise DisplayNakError(f"NEC monitor refused power (result {payload[0:2]})")
    return {"power": int(payload[8:12], 16) == POWER_ON}


def _input(code: int) -> State:
    return {"input": name_of(INPUTS, code)}


def _mute(code: int) -> State:
    # TODO: confirm on a panel that 10B6 reads 1 while muted; the notes only name it.
    return {"black": code == 1}


def _value(key: str) -> Callable[[int], State]:
    return lambda code: {key: code}
