"""NovaStar sending cards and VX processors: one register read/write frame."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from controller.displays.base import (
    Command,
    Driver,
    StaleReply,
    State,
    brightness_to_byte,
    byte_to_brightness,
    lookup,
    name_of,
)
from controller.displays.errors import (
    DisplayChecksumError,
    DisplayNakError,
    DisplayNotSupportedError,
    DisplayValueError,
    DisplayWrongIdError,
)

REQUEST_HEADER = b"\x55\xaa"
REPLY_HEADER = b"\xaa\x55"
HEADER_BYTES = 18
CHECKSUM_BIAS = 0x5555
SOURCE_COMPUTER = 0xFE
MAX_DATA_BYTES = 1024

DEVICE_SENDER = 0x00
DEVICE_RECEIVER = 0x01
ALL_PORTS = 0xFF
ALL_BOARDS = 0xFFFF

# Registers of the M3 protocol v1.6 (§1.4 of the display-protocol notes).
REG_MODEL_ID = 0x00000002
REG_BRIGHTNESS = 0x02000001
REG_BLACK = 0x02000100
REG_TEST_PATTERN = 0x02000101
REG_FREEZE = 0x02000102
REG_SIGNAL = 0x02000017
REG_SAVE = 0x01000011
REG_INPUT_VX4S = 0x0220002D
REG_DISPLAY_MODE_VX4S = 0x02200050
REG_PRESET_VX = 0x13510100

#: Model IDs as the two data bytes arrive on the wire (Companion's table).
MODELS = {
    "0661": "VX4S",
    "0101": "MCTRL500",
    "0001": "MCTRL300",
    "0100": "MCTRL300",  # the M3 document's own example reply
    "0111": "MCTRL6xx",
    "0311": "MCTRL4K",
    "0475": "NovaPro UHD",
    "0B62": "VX16S",
    "0C62": "VX1000",
    "0E62": "VX600",
    "1162": "VX400",
}

#: VX4S input codes; other processors use other registers (TODO: per-model tables once a
#: VX400/VX600 is on the bench, their codes differ and are not public).
INPUTS = {
    "DVI": 0x10,
    "HDMI": 0xA0,
    "VGA1": 0x01,
    "VGA2": 0x02,
    "CVBS1": 0x71,
    "CVBS2": 0x72,
    "SDI": 0x40,
    "DP": 0x90,
}

TEST_PATTERN_CODES = {
    "off": 0x01,
    "red": 0x02,
    "green": 0x03,
    "blue": 0x04,
    "white": 0x05,
    "horizontal": 0x06,
    "vertical": 0x07,
    "diagonal": 0x08,
    "grey": 0x09,
    "aging": 0x0A,
}

RESULTS = {
    0x01: "the sending card timed out reaching the receiving cards",
    0x02: "the processor found a checksum error in our request",
    0x03: "the processor reports a checksum error in its reply",
    0x04: "the processor does not know this command",
}


@dataclass(frozen=True)
class NovaStarFrame:
    """The fields of one NovaStar frame (request or reply)."""

    result: int
    serial: int
    source: int
    destination: int
    device_type: int
    port: int
    board: int
    write: bool
    register: int
    length: int
    data: bytes


def build_request(
    *,
    serial: int,
    destination: int,
    device_type: int,
    port: int,
    board: int,
    register: int,
    data: bytes | None = None,
    read_length: int = 0,
) -> bytes:
    """A request frame: a register write when ``data`` is given, else a read."""
    write = data is not None
    payload = data or b""
    length = len(payload) if write else read_length
    body = (
        bytes((0x00, serial, SOURCE_COMPUTER, destination, device_type, port))
        + board.to_bytes(2, "little")
        + bytes((0x01 if write else 0x00, 0x00))
        + register.to_bytes(4, "little")
        + length.to_bytes(2, "little")
        + payload
    )
    return REQUEST_HEADER + body + checksum(body).to_bytes(2, "little")


def checksum(body: bytes) -> int:
    """Sum of the bytes after the header, plus 0x5555, as a 16-bit number."""
    return (sum(body) + CHECKSUM_BIAS) & 0xFFFF


def decode_frame(frame: bytes) -> NovaStarFrame:
    """The fields of a whole frame; DisplayChecksumError when its checksum is wrong."""
    body = frame[2:-2]
    got = int.from_bytes(frame[-2:], "little")
    if got != checksum(body):
        raise DisplayChecksumError(
            f"NovaStar reply failed its checksum (got {got:04X}, computed "
            f"{checksum(body):04X}): {frame.hex(' ').upper()}"
        )
    length = int.from_bytes(frame[16:18], "little")
    return NovaStarFrame(
        result=frame[2],
        serial=frame[3],
        source=frame[4],
        destination=frame[5],
        device_type=frame[6],
        port=frame[7],
        board=int.from_bytes(frame[8:10], "little"),
        write=frame[10] == 0x01,
        register=int.from_bytes(frame[12:16], "little"),
        length=length,
        data=bytes(frame[18 : 18 + length]) if len(frame) > 20 else b"",
    )


def take_frame(buffer: bytearray, header: bytes = REPLY_HEADER) -> bytes | None:
    """Cut one frame starting with ``header`` from ``buffer`` (replies by default)."""
    while True:
        start = buffer.find(header)
        if start < 0:
            # Keep a trailing first header byte: the second may be on its way.
            keep = 1 if buffer[-1:] == header[:1] else 0
            del buffer[: len(buffer) - keep]
            return None
        del buffer[:start]
        if len(buffer) < HEADER_BYTES:
            return None
        length = int.from_bytes(buffer[16:18], "little")
        if length > MAX_DATA_BYTES:
            del buffer[:1]
            continue
        total = HEADER_BYTES + length + 2
        is_read_request = header == REQUEST_HEADER and buffer[10] == 0x00
        if is_read_request:
            total = HEADER_BYTES + 2
        if len(buffer) < total:
            return None
        frame = bytes(buffer[:total])
        del buffer[:total]
        return frame


class NovaStarDriver(Driver):
    """NovaStar MCTRL sending cards and VX processors (M3 COM protocol).

    Brightness, black, freeze and test pattern are written to every receiving card
    behind the sending card and read back from the first one; input, presets and the
    model ID are registers of the processor itself.
    """

    protocol = "novastar"
    baud_rate = 115200
    reply_timeout_s = 1.0
    default_id = 0
    broadcast_id = None
    operations = frozenset(
        {"brightness", "black", "freeze", "test_pattern", "input", "preset", "save"}
    )

    def __init__(self, first_serial: int = 1) -> None:
        self._serial = first_serial & 0xFF

    def take_frame(self, buffer: bytearray) -> bytes | None:
        return take_frame(buffer)

    def commands(self, operation: str, value: Any, device_id: int) -> list[Command]:
        if operation == "brightness":
            level = brightness_to_byte(value)
            return [
                self._write_cards(
                    device_id,
                    REG_BRIGHTNESS,
                    level,
                    {"brightness": value},
                    f"brightness {value} %",
                ),
                self._read_brightness(device_id),
            ]
        if operation == "black":
            return [
                self._write_cards(
                    device_id,
                    REG_BLACK,
                    0xFF if value else 0x00,
                    {"black": value},
                    f"black {'on' if value else 'off'}",
                ),
                self._read_flag(device_id, REG_BLACK, "black"),
            ]
        if operation == "freeze":
            return [
                self._write_cards(
                    device_id,
                    REG_FREEZE,
                    0xFF if value else 0x00,
                    {"freeze": value},
                    f"freeze {'on' if value else 'off'}",
                ),
                self._read_flag(device_id, REG_FREEZE, "freeze"),
            ]
        if operation == "test_pattern":
            code = TEST_PATTERN_CODES[value]
            return [
                self._write_cards(
                    device_id,
                    REG_TEST_PATTERN,
                    code,
                    {"test_pattern": value},
                    f"test pattern {value}",
                )
            ]
        if operation == "input":
            code = lookup(INPUTS, value, "input", "NovaStar VX4S")
            name = name_of(INPUTS, code)
            return [
                self._write_processor(
                    device_id,
                    REG_INPUT_VX4S,
                    bytes((code,)),
                    {"input": name},
                    f"input {name}",
                )
            ]
        if operation == "preset":
            if value > 10:
                raise DisplayValueError(
                    f"preset: found {value}, expected 1 to 10 (NovaStar processors "
                    "keep ten presets)"
                )
            return [
                self._write_processor(
                    device_id,
                    REG_PRESET_VX,
                    bytes((value - 1,)),
                    {"preset": value},
                    f"preset {value} recall",
                )
            ]
        if operation == "save":
            return [
                self._write(
                    device_id,
                    DEVICE_RECEIVER,
                    ALL_PORTS,
                    ALL_BOARDS,
                    REG_SAVE,
                    b"\x11",
                    {"saved": True},
                    "save to flash",
                )
            ]
        raise DisplayNotSupportedError(f"NovaStar has no {operation!r} operation")

    def status_commands(self, device_id: int, full: bool) -> list[Command]:
        commands = [
            self._read(
                device_id, DEVICE_SENDER, 0, 0, REG_MODEL_ID, 2, _model, "model ID"
            ),
            self._read(
                device_id,
                DEVICE_SENDER,
                0,
                0,
                REG_SIGNAL,
                1,
                lambda data: {"signal": data[:1] == b"\x01"},
                "signal present",
            ),
            self._read_brightness(device_id),
            self._read_flag(device_id, REG_BLACK, "black"),
            self._read_flag(device_id, REG_FREEZE, "freeze"),
        ]
        if full:
            commands += [
                self._read(
                    device_id,
                    DEVICE_SENDER,
                    0,
                    0,
                    REG_INPUT_VX4S,
                    1,
                    lambda data: {"input": name_of(INPUTS, data[0])},
                    "input",
                ),
                self._read(
                    device_id,
                    DEVICE_RECEIVER,
                    0,
                    0,
                    REG_TEST_PATTERN,
                    1,
                    _test_pattern,
                    "test pattern",
                ),
            ]
        return commands

    def _read_brightness(self, device_id: int) -> Command:
        return self._read(
            device_id,
            DEVICE_RECEIVER,
            0,
            0,
            REG_BRIGHTNESS,
            5,
            lambda data: {"brightness": byte_to_brightness(data[0])},
            "brightness",
        )

    def _read_flag(self, device_id: int, register: int, key: str) -> Command:
        return self._read(
            device_id,
            DEVICE_RECEIVER,
            0,
            0,
            register,
            1,
            lambda data: {key: data[0] == 0xFF},
            key,
        )

    def _write_cards(
        self, device_id: int, register: int, code: int, state: State, what: str
    ) -> Command:
        return self._write(
            device_id,
            DEVICE_RECEIVER,
            ALL_PORTS,
            ALL_BOARDS,
            register,
            bytes((code,)),
            state,
            what,
        )

    def _write_processor(
        self, device_id: int, register: int, data: bytes, state: State, what: str
    ) -> Command:
        return self._write(device_id, DEVICE_SENDER, 0, 0, register, data, state, what)

    def _write(
        self,
        device_id: int,
        device_type: int,
        port: int,
        board: int,
        register: int,
        data: bytes,
        state: State,
        what: str,
    ) -> Command:
        serial = self._next_serial()
        request = build_request(
            serial=serial,
            destination=device_id,
            device_type=device_type,
            port=port,
            board=board,
            register=register,
            data=data,
        )
        return Command(
            request,
            _reply_parser(serial, device_id, register, lambda _data: dict(state)),
            what,
        )

    def _read(
        self,
        device_id: int,
        device_type: int,
        port: int,
        board: int,
        register: int,
        length: int,
        interpret: Callable[[bytes], State],
        what: str,
    ) -> Command:
        serial = self._next_serial()
        request = build_request(
            serial=serial,
            destination=device_id,
            device_type=device_type,
            port=port,
            board=board,
            register=register,
            read_length=length,
        )

        def checked(data: bytes) -> State:
            if len(data) < length:
                raise DisplayNakError(
                    f"NovaStar reply to '{what}' carried {len(data)} data bytes, "
                    f"expected {length}"
                )
            return interpret(data)

        return Command(
            request, _reply_parser(serial, device_id, register, checked), f"read {what}"
        )

    def _next_serial(self) -> int:
        serial = self._serial
        self._serial = (self._serial + 1) & 0xFF
        return serial


def _reply_parser(
    serial: int, device_id: int, register: int, interpret: Callable[[bytes], State]
) -> Callable[[bytes], State]:
    def parse(frame: bytes) -> State:
        reply = decode_frame(frame)
        if reply.serial != serial or reply.register != register:
            raise StaleReply(f"serial {reply.serial}, register {reply.register:08X}")
        if reply.source != device_id:
            raise DisplayWrongIdError(
                f"NovaStar reply came from address {reply.source}, expected "
                f"{device_id}; check the processor's position on the COM chain",
                expected=device_id,
                got=reply.source,
            )
        if reply.result != 0x00:
            raise _result_error(reply.result)
        return interpret(reply.data)

    return parse


def _result_error(result: int) -> Exception:
    meaning = RESULTS.get(result, "reserved result code")
    message = f"NovaStar processor answered result {result:02X}: {meaning}"
    if result in (0x02, 0x03):
        return DisplayChecksumError(message)
    if result == 0x04:
        return DisplayNotSupportedError(message)
    return DisplayNakError(message, code=result)


def _model(data: bytes) -> State:
    model_id = data[:2].hex().upper()
    return {
        "model": MODELS.get(model_id, f"unknown ({model_id})"),
        "model_id": model_id,
    }


def _test_pattern(data: bytes) -> State:
    code = data[0]
    if code == 0x00:
        return {"test_pattern": "off"}
    return {"test_pattern": name_of(TEST_PATTERN_CODES, code)}
