"""Displays the product does not know, driven from a technician's YAML command table.

A table names each operation's request as an ASCII or hex template and the reply it
expects as a regular expression whose named groups become state::

    name: acme-lx
    encoding: ascii            # or hex ("AA {id:02X} 01 {value:02X}")
    baud: 9600
    reply_timeout_s: 1.0
    reply_end: "\\r"            # replies end here (hex text in hex tables)
    nak: "^ERR (?P<code>\\d+)$"
    commands:
      brightness:
        send: "BRT {id:02d} {value:03d}\\r"
        reply: "^BRT (?P<id>\\d+) OK (?P<brightness>\\d+)$"
      black:
        send: "MUTE {id:02d} {value}\\r"
        values: {"true": "1", "false": "0"}
        reply: "^MUTE (?P<id>\\d+) OK (?P<black>[01])$"

Templates get ``id`` and ``value`` (the ``values`` text when given; tiles get
``columns``, ``rows`` and ``position``). A group called ``id`` is checked against the
addressed ID; a group named like an operation with ``values`` is mapped back through
them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationError, field_validator, model_validator

from controller.config.base import Spec
from controller.config.yamlfile import load_yaml
from controller.displays.base import OPERATIONS, Command, Driver, StaleReply, State
from controller.displays.errors import (
    DisplayNakError,
    DisplayNotSupportedError,
    DisplayValueError,
    DisplayWrongIdError,
)
from controller.errors import ConfigError

MAX_FRAME_BYTES = 512

_BOOLEAN_OPERATIONS = {"black", "freeze", "power", "video_wall"}


class TableCommandSpec(Spec):
    """One operation of a command table: request template, values, reply pattern."""

    send: str
    values: dict[str, str] | None = Field(
        default=None, description="value → text in the template (quote true/false)"
    )
    reply: str | None = Field(
        default=None, description="regular expression; none = the device never answers"
    )

    @field_validator("reply")
    @classmethod
    def _compiles(cls, pattern: str | None) -> str | None:
        if pattern is not None:
            re.compile(pattern)
        return pattern


class CommandTableSpec(Spec):
    """A technician's description of a display protocol."""

    name: str
    encoding: Literal["ascii", "hex"] = "ascii"
    baud: int = Field(default=9600, gt=0)
    reply_timeout_s: float = Field(default=1.0, gt=0)
    default_id: int = Field(default=1, ge=0)
    reply_end: str | None = None
    reply_length: int | None = Field(default=None, ge=1, le=MAX_FRAME_BYTES)
    nak: str | None = None
    commands: dict[str, TableCommandSpec] = Field(min_length=1)

    @model_validator(mode="after")
    def _frames_and_operations(self) -> CommandTableSpec:
        if (self.reply_end is None) == (self.reply_length is None):
            raise ValueError("give exactly one of reply_end and reply_length")
        unknown = sorted(set(self.commands) - set(OPERATIONS))
        if unknown:
            raise ValueError(
                f"unknown operations {', '.join(unknown)}; expected any of: "
                f"{', '.join(OPERATIONS)}"
            )
        return self


def load_table(path: str | Path) -> CommandTableSpec:
    """Read and check a command table; ConfigError naming file and line otherwise."""
    source = load_yaml(path)
    try:
        return CommandTableSpec.model_validate(source.data or {})
    except ValidationError as err:
        problems = []
        for item in err.errors():
            loc = tuple(part for part in item["loc"] if isinstance(part, str | int))
            problems.append(
                source.problem(loc, f"found {item['input']!r}: {item['msg']}")
            )
        raise ConfigError(problems) from None


class TableDriver(Driver):
    """A display driven by a command table (see the module docstring for the format)."""

    def __init__(self, table: CommandTableSpec) -> None:
        self.table = table
        self.protocol = f"table:{table.name}"
        self.baud_rate = table.baud
        self.reply_timeout_s = table.reply_timeout_s
        self.default_id = table.default_id
        self.operations = frozenset(set(table.commands) - {"status"})
        self._hex = table.encoding == "hex"
        self._end = self._bytes(table.reply_end) if table.reply_end is not None else b""
        self._nak = re.compile(table.nak) if table.nak else None
        self._reverse: dict[str, dict[str, Any]] = {
            operation: {
                text: _typed(operation, key)
                for key, text in (spec.values or {}).items()
            }
            for operation, spec in table.commands.items()
        }

    def take_frame(self, buffer: bytearray) -> bytes | None:
        if self.table.reply_length is not None:
            if len(buffer) < self.table.reply_length:
                return None
            frame = bytes(buffer[: self.table.reply_length])
            del buffer[: self.table.reply_length]
            return frame
        end = buffer.find(self._end)
        if end < 0:
            return None
        frame = bytes(buffer[:end])
        del buffer[: end + len(self._end)]
        return frame

    def commands(self, operation: str, value: Any, device_id: int) -> list[Command]:
        spec = self.table.commands.get(operation)
        if spec is None:
            raise DisplayNotSupportedError(
                f"{self.protocol} has no {operation!r} command"
            )
        fields: dict[str, Any] = {"id": device_id}
        if isinstance(value, Mapping):
            fields.update(value)
        elif spec.values is not None:
            fields["value"] = self._value_text(operation, spec.values, value)
        else:
            fields["value"] = int(value) if isinstance(value, bool) else value
        try:
            text = spec.send.format(**fields)
        except (KeyError, IndexError, ValueError) as err:
            raise DisplayValueError(
                f"{self.protocol} {operation}: template {spec.send!r} cannot take "
                f"{fields} ({err})"
            ) from err
        request = self._bytes(text)
        if spec.reply is None:
            return [Command(request, None, f"{operation} (no reply expected)")]
        return [
            Command(request, self._parser(operation, spec.reply, device_id), operation)
        ]

    def status_commands(self, device_id: int, full: bool) -> list[Command]:
        if "status" not in self.table.commands:
            return []
        return self.commands("status", None, device_id)

    def _value_text(self, operation: str, values: Mapping[str, str], value: Any) -> str:
        for key, text in values.items():
            if key.lower() == str(value).lower():
                return text
        raise DisplayValueError(
            f"{self.protocol} {operation}: found {value!r}, expected one of: "
            f"{', '.join(str(key) for key in values)}"
        )

    def _parser(self, operation: str, pattern: str, device_id: int) -> Any:
        expected = re.compile(pattern)

        def parse(frame: bytes) -> State:
            text = (
                frame.hex(" ").upper()
                if self._hex
                else frame.decode("ascii", errors="replace").strip("\r\n")
            )
            if self._nak is not None and (refusal := self._nak.search(text)):
                code = refusal.groupdict().get("code")
                raise DisplayNakError(
                    f"{self.protocol} refused {operation}: {text!r}",
                    code=int(code) if code and code.isdigit() else None,
                )
            match = expected.search(text)
            if match is None:
                # Noise, an echo or another command's answer: keep waiting.
                raise StaleReply(f"{text!r} does not match {pattern!r}")
            return self._state(match.groupdict(), device_id)

        return parse

    def _state(self, groups: Mapping[str, str | None], device_id: int) -> State:
        state: State = {}
        for key, text in groups.items():
            if text is None:
                continue
            if key == "id":
                got = int(text, 16) if self._hex else int(text)
                if got != device_id:
                    raise DisplayWrongIdError(
                        f"{self.protocol} reply came from ID {got}, "
                        f"expected {device_id}",
                        expected=device_id,
                        got=got,
                    )
            elif text in self._reverse.get(key, {}):
                state[key] = self._reverse[key][text]
            elif self._hex and re.fullmatch(r"[0-9A-Fa-f ]+", text):
                state[key] = int(text.replace(" ", ""), 16)
            elif text.isdigit():
                state[key] = int(text)
            else:
                state[key] = text
        return state

    def _bytes(self, text: str) -> bytes:
        if not self._hex:
            return text.encode("ascii")
        try:
            return bytes.fromhex(text)
        except ValueError as err:
            raise DisplayValueError(
                f"{self.protocol}: {text!r} is not hex bytes ({err})"
            ) from err


def _typed(operation: str, key: str) -> Any:
    """A ``values`` key as state: true/false for on/off operations, else the name."""
    if operation in _BOOLEAN_OPERATIONS and key.lower() in ("true", "false"):
        return key.lower() == "true"
    return key
