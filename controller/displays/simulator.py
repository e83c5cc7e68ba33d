"""Display devices simulated on pseudo-terminals, speaking each protocol's exact bytes.

A simulator owns the master side of a pty; the controller opens the slave side (or a
symlink to it, like ``/dev/serial/by-id/…``) as if it were a USB adapter. It can be told
to misbehave: refuse (NAK), corrupt its checksum, answer from the wrong ID, split a
reply over several writes, stay silent, send junk or an echo first, or vanish like an
unplugged adapter and come back.
"""

from __future__ import annotations

import asyncio
import logging
import os
import tty
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Iterable
from pathlib import Path

from controller.displays import lg, nec, novastar, samsung
from controller.displays.errors import DisplayChecksumError

_LOGGER = logging.getLogger(__name__)

FAULTS = (
    "nak",
    "bad_checksum",
    "wrong_id",
    "split",
    "silence",
    "junk",
    "echo",
    "vanish",
)
JUNK = b"\x00\xff\x13junk\x7f"
SPLIT_GAP_S = 0.03
READ_BYTES = 4096


class PtySimulator(ABC):
    """A simulated display on a pseudo-terminal; the controller opens ``path``."""

    protocol: str
    default_ids: tuple[int, ...] = (1,)

    def __init__(
        self, ids: Iterable[int] | None = None, *, link: str | Path | None = None
    ) -> None:
        self.ids = set(ids) if ids is not None else set(self.default_ids)
        self.link = Path(link) if link is not None else None
        self.received: list[bytes] = []
        self.always: str | None = None
        self._faults: deque[str] = deque()
        self._rx = bytearray()
        self._master: int | None = None
        self._slave: int | None = None
        self._slave_name = ""
        self._loop: asyncio.AbstractEventLoop | None = None

    @property
    def path(self) -> str:
        """The device path to open: the symlink when there is one, else the pty."""
        return str(self.link) if self.link is not None else self._slave_name

    @property
    def plugged(self) -> bool:
        return self._master is not None

    async def start(self) -> None:
        """Create the pty (and its symlink) and start answering."""
        self._loop = asyncio.get_running_loop()
        self._plug()

    async def stop(self) -> None:
        """Close the pty and remove the symlink."""
        self.unplug()

    def unplug(self) -> None:
        """Vanish like a pulled USB adapter: the port closes under the controller."""
        if self._master is None:
            return
        assert self._loop is not None
        self._loop.remove_reader(self._master)
        for fd in (self._master, self._slave):
            if fd is not None:
                os.close(fd)
        self._master = self._slave = None
        if self.link is not None:
            self.link.unlink(missing_ok=True)
        self._rx.clear()
        _LOGGER.info("simulated %s on %s unplugged", self.protocol, self.path)

    async def replug(self) -> None:
        """Come back on a new pty (the symlink, when there is one, follows it)."""
        self._plug()

    def misbehave(self, fault: str, times: int = 1) -> None:
        """Answer the next ``times`` requests with ``fault`` (one of FAULTS)."""
        if fault not in FAULTS:
            raise ValueError(f"unknown fault {fault!r}, expected one of {FAULTS}")
        self._faults.extend([fault] * times)

    def inject(self, data: bytes) -> None:
        """Send ``data`` unasked, as line noise or a confused device would."""
        self._write(data)

    @abstractmethod
    def take_request(self, buffer: bytearray) -> bytes | None:
        """Cut one request frame out of ``buffer``."""

    @abstractmethod
    def answer(self, request: bytes, fault: str | None) -> bytes | None:
        """Act on ``request``; the reply bytes, or None when the device stays quiet.

        ``fault`` is "nak" or "wrong_id" when the reply should be that.
        """

    @abstractmethod
    def corrupt(self, reply: bytes) -> bytes:
        """``reply`` with its integrity check broken."""

    def _plug(self) -> None:
        master, slave = os.openpty()
        tty.setraw(slave)
        os.set_blocking(master, False)
        self._master, self._slave = master, slave
        self._slave_name = os.ttyname(slave)
        if self.link is not None:
            temporary = self.link.with_name(self.link.name + ".new")
            temporary.unlink(missing_ok=True)
            temporary.symlink_to(self._slave_name)
            temporary.replace(self.link)
        assert self._loop is not None
        self._loop.add_reader(master, self._readable)
        _LOGGER.info("simulated %s listening on %s", self.protocol, self.path)

    def _readable(self) -> None:
        assert self._master is not None
        try:
            data = os.read(self._master, READ_BYTES)
        except OSError:
            return
        self._rx += data
        while self._master is not None:
            request = self.take_request(self._rx)
            if request is None:
                return
            self.received.append(request)
            self._respond(request)

    def _respond(self, request: bytes) -> None:
        fault = self._faults.popleft() if self._faults else self.always
        if fault == "vanish":
            self.unplug()
            return
        if fault == "silence":
            return
        reply = self.answer(request, fault if fault in ("nak", "wrong_id") else None)
        if reply is None:
            return
        if fault == "bad_checksum":
            reply = self.corrupt(reply)
        elif fault == "junk":
            reply = JUNK + reply
        elif fault == "echo":
            reply = request + reply
        if fault == "split":
            third = max(1, len(reply) // 3)
            pieces = [reply[:third], reply[third : 2 * third], reply[2 * third :]]
            assert self._loop is not None
            for index, piece in enumerate(pieces):
                self._loop.call_later(index * SPLIT_GAP_S, self._write, piece)
        else:
            self._write(reply)

    def _write(self, data: bytes) -> None:
        if self._master is None:
            return
        try:
            os.write(self._master, data)
        except OSError as err:
            _LOGGER.debug("simulated %s could not write: %s", self.protocol, err)


class NovaStarSimulator(PtySimulator):
    """A NovaStar VX4S processor with its receiving cards, as one register map."""

    protocol = "novastar"
    default_ids = (0,)

    def __init__(
        self, ids: Iterable[int] | None = None, *, link: str | Path | None = None
    ) -> None:
        super().__init__(ids, link=link)
        self.registers: dict[int, bytes] = {
            novastar.REG_MODEL_ID: b"\x06\x61",
            novastar.REG_BRIGHTNESS: b"\xff" * 5,
            novastar.REG_BLACK: b"\x00",
            novastar.REG_FREEZE: b"\x00",
            novastar.REG_TEST_PATTERN: b"\x01",
            novastar.REG_SIGNAL: b"\x01",
            novastar.REG_INPUT_VX4S: b"\x10",
            novastar.REG_DISPLAY_MODE_VX4S: b"\x00",
            novastar.REG_PRESET_VX: b"\x00",
            novastar.REG_SAVE: b"\x00",
        }

    def take_request(self, buffer: bytearray) -> bytes | None:
        return novastar.take_frame(buffer, novastar.REQUEST_HEADER)

    def answer(self, request: bytes, fault: str | None) -> bytes | None:
        result = 0x00
        try:
            frame = novastar.decode_frame(request)
        except DisplayChecksumError:
            frame = novastar.decode_frame(
                request[:-2] + novastar.checksum(request[2:-2]).to_bytes(2, "little")
            )
            result = 0x02
        if frame.destination not in self.ids and frame.destination != 0xFF:
            return None

        data = b""
        if fault == "nak":
            result = 0x01
        elif result == 0x00 and frame.write:
            old = self.registers.get(frame.register, b"")
            self.registers[frame.register] = frame.data + old[len(frame.data) :]
        elif result == 0x00:
            value = self.registers.get(frame.register)
            if value is None:
                result = 0x04
            else:
                data = (value + value[-1:] * frame.length)[: frame.length]

        source = frame.destination + 1 if fault == "wrong_id" else frame.destination
        body = (
            bytes(
                (
                    result,
                    frame.serial,
                    source & 0xFF,
                    0xFE,
                    frame.device_type,
                    frame.port,
                )
            )
            + frame.board.to_bytes(2, "little")
            + bytes((0x01 if frame.write else 0x00, 0x00))
            + frame.register.to_bytes(4, "little")
            + len(data).to_bytes(2, "little")
            + data
        )
        return (
            novastar.REPLY_HEADER + body + novastar.checksum(body).to_bytes(2, "little")
        )

    def corrupt(self, reply: bytes) -> bytes:
        return reply[:-1] + bytes(((reply[-1] + 1) & 0xFF,))


class SamsungMdcSimulator(PtySimulator):
    """A Samsung signage panel (or several on one chain) answering MDC."""

    protocol = "samsung-mdc"

    def __init__(
        self, ids: Iterable[int] | None = None, *, link: str | Path | None = None
    ) -> None:
        super().__init__(ids, link=link)
        self.values: dict[int, bytes] = {
            samsung.CMD_POWER: b"\x01",
            samsung.CMD_INPUT: b"\x21",
            samsung.CMD_BRIGHTNESS: b"\x32",
            samsung.CMD_BACKLIGHT: b"\x32",
            samsung.CMD_VIDEO_WALL: b"\x00",
            samsung.CMD_WALL_POSITION: b"\x11\x01",
            samsung.CMD_SCREEN_MUTE: bytes((samsung.SUB_SCREEN_MUTE, 0xFF)),
        }
        self.volume, self.mute, self.aspect = 0x32, 0x00, 0x10

    def take_request(self, buffer: bytearray) -> bytes | None:
        start = buffer.find(b"\xaa")
        if start < 0:
            buffer.clear()
            return None
        del buffer[:start]
        if len(buffer) < 4 or len(buffer) < 4 + buffer[3] + 1:
            return None
        total = 4 + buffer[3] + 1
        frame = bytes(buffer[:total])
        del buffer[:total]
        return frame

    def answer(self, request: bytes, fault: str | None) -> bytes | None:
        command, device_id, data = request[1], request[2], request[4:-1]
        if sum(request[1:-1]) & 0xFF != request[-1]:
            return None
        if device_id != samsung.BROADCAST_ID and device_id not in self.ids:
            return None
        reply_id = device_id + 1 if fault == "wrong_id" else device_id
        if fault == "nak":
            return samsung.build_reply(reply_id, command, b"\x01", ack=False)

        if command == samsung.CMD_STATUS:
            values = bytes(
                (
                    self.values[samsung.CMD_POWER][0],
                    self.volume,
                    self.mute,
                    self.values[samsung.CMD_INPUT][0],
                    self.aspect,
                    0x00,
                    0x00,
                )
            )
        elif command not in self.values:
            values = b""
        elif command == samsung.CMD_SCREEN_MUTE:
            if len(data) == 2:
                self.values[command] = data
            values = self.values[command]
        elif data:
            self.values[command] = data
            values = data
        else:
            values = self.values[command]
        if device_id == samsung.BROADCAST_ID:
            return None
        if not values:
            return samsung.build_reply(reply_id, command, b"\x02", ack=False)
        return samsung.build_reply(reply_id, command, values)

    def corrupt(self, reply: bytes) -> bytes:
        return reply[:-1] + bytes(((reply[-1] + 1) & 0xFF,))


class LgSimulator(PtySimulator):
    """An LG signage panel (or a chain of them) answering the ASCII command set."""

    protocol = "lg"

    def __init__(
        self, ids: Iterable[int] | None = None, *, link: str | Path | None = None
    ) -> None:
        super().__init__(ids, link=link)
        self.values: dict[str, str] = {
            "ka": "01",
            "xb": "90",
            "kh": "32",
            "mg": "32",
            "kd": "00",
            "kf": "19",
            "dd": "00",
            "di": "01",
        }

    def take_request(self, buffer: bytearray) -> bytes | None:
        end = buffer.find(b"\r")
        if end < 0:
            return None
        line = bytes(buffer[:end])
        del buffer[: end + 1]
        return line

    def answer(self, request: bytes, fault: str | None) -> bytes | None:
        parts = request.decode("ascii", errors="replace").split()
        if len(parts) != 3:
            return None
        command, set_id, data = parts[0], int(parts[1], 16), parts[2].lower()
        if set_id != lg.BROADCAST_ID and set_id not in self.ids:
            return None
        reply_id = set_id + 1 if fault == "wrong_id" else set_id
        if fault == "nak" or command not in self.values:
            status, value = "NG", "01"
        elif data == lg.READ:
            status, value = "OK", self.values[command]
        else:
            self.values[command] = data
            status, value = "OK", data
        if set_id == lg.BROADCAST_ID:
            return None
        return f"{command[1]} {reply_id:02x} {status}{value}x".encode("ascii")

    def corrupt(self, reply: bytes) -> bytes:
        # LG replies carry no check code; garble the status so it cannot be read.
        return reply.replace(b"OK", b"0K").replace(b"NG", b"N6")


class NecSimulator(PtySimulator):
    """An NEC large-format panel (or a chain of them) answering external control."""

    protocol = "nec"

    def __init__(
        self, ids: Iterable[int] | None = None, *, link: str | Path | None = None
    ) -> None:
        super().__init__(ids, link=link)
        self.power = nec.POWER_OFF
        #: op-code → [maximum, current]
        self.parameters: dict[int, list[int]] = {
            nec.OP_BACKLIGHT: [100, 50],
            nec.OP_INPUT: [0x11, 0x03],
            0x0062: [100, 30],  # volume
            nec.OP_SCREEN_MUTE: [1, 0],
            nec.OP_TILE_COLUMNS: [10, 1],
            nec.OP_TILE_ROWS: [10, 1],
            nec.OP_TILE_POSITION: [100, 1],
        }

    def take_request(self, buffer: bytearray) -> bytes | None:
        return nec.take_frame(buffer, bytes((nec.SOH, nec.RESERVED)))

    def answer(self, request: bytes, fault: str | None) -> bytes | None:
        try:
            _to, _source, message_type, payload = nec.decode_frame(request)
        except DisplayChecksumError:
            return None
        address = request[2]
        if (
            address != nec.ALL_MONITORS
            and address - nec.FIRST_MONITOR + 1 not in self.ids
        ):
            return None
        monitor = address + 1 if fault == "wrong_id" else address
        if fault == "nak":
            return nec.build_frame(monitor, "A", nec.NULL_MESSAGE, to=nec.CONTROLLER)

        reply = self._act(message_type, payload)
        if address == nec.ALL_MONITORS or reply is None:
            return None
        reply_type, reply_payload = reply
        return nec.build_frame(monitor, reply_type, reply_payload, to=nec.CONTROLLER)

    def _act(self, message_type: str, payload: str) -> tuple[str, str] | None:
        if message_type == "A" and payload == nec.POWER_STATUS:
            return "B", f"0200D600{4:04X}{self.power:04X}"
        if message_type == "A" and payload.startswith(nec.POWER_SET):
            self.power = int(payload[6:10], 16)
            return "B", f"00{nec.POWER_SET}{self.power:04X}"
        if message_type in ("C", "E"):
            opcode = int(payload[0:4], 16)
            parameter = self.parameters.get(opcode)
            reply_type = "D" if message_type == "C" else "F"
            if parameter is None:
                return reply_type, f"01{opcode:04X}00{0:04X}{0:04X}"
            if message_type == "E":
                parameter[1] = min(int(payload[4:8], 16), parameter[0])
            return reply_type, f"00{opcode:04X}00{parameter[0]:04X}{parameter[1]:04X}"
        return "A", nec.NULL_MESSAGE

    def corrupt(self, reply: bytes) -> bytes:
        return reply[:-2] + bytes((reply[-2] ^ 0x01,)) + reply[-1:]


SIMULATORS: dict[str, type[PtySimulator]] = {
    "novastar": NovaStarSimulator,
    "samsung-mdc": SamsungMdcSimulator,
    "lg": LgSimulator,
    "nec": NecSimulator,
}


def make_simulator(
    protocol: str, ids: Iterable[int] | None = None, *, link: str | Path | None = None
) -> PtySimulator:
    """A simulator of ``protocol`` answering as ``ids`` (its usual ID when None)."""
    try:
        simulator_class = SIMULATORS[protocol]
    except KeyError:
        raise ValueError(
            f"no simulator for protocol {protocol!r}; simulators exist for: "
            f"{', '.join(SIMULATORS)}"
        ) from None
    return simulator_class(ids, link=link)
