"""Errors of the Opswall controller: one base, one branch per part of the appliance."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any


class OpswallError(Exception):
    """Base of every error the controller raises on purpose."""

    #: HTTP status the web API answers with when this error reaches it.
    http_status = 500


@dataclass(frozen=True)
class ConfigProblem:
    """One thing wrong with a configuration file, located to its line."""

    file: str
    line: int | None
    key: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        key = f" {self.key}:" if self.key else ""
        return f"{where}:{key} {self.message}"


class ConfigError(OpswallError, ValueError):
    """A configuration (config, layouts or presets) was refused; nothing was applied."""

    http_status = 422

    def __init__(self, problems: Iterable[ConfigProblem]) -> None:
        self.problems = tuple(problems)
        count = len(self.problems)
        head = f"{count} problem{'s' if count != 1 else ''} in the configuration"
        super().__init__(head + ":\n" + "\n".join(f"  {p}" for p in self.problems))


#: How much of a name a client sent is quoted back in an error.
NAME_SHOWN = 80


class NotFoundError(OpswallError, KeyError):
    """A named thing (preset, layout, camera, display) does not exist."""

    http_status = 404

    def __init__(self, kind: str, name: str, known: Iterable[str] = ()) -> None:
        self.kind = kind
        self.name = name
        known_list = sorted(known)
        hint = f"; known: {', '.join(known_list)}" if known_list else ""
        # Cut: the name is the client's own and may be as long as the request allows.
        shown = name if len(name) <= NAME_SHOWN else name[:NAME_SHOWN] + "…"
        self.message = f"unknown {kind} {shown!r}{hint}"
        super().__init__(self.message)

    def __str__(self) -> str:
        return self.message


class RefusedError(OpswallError):
    """A request is valid but the current state does not allow it (e.g. emergency)."""

    http_status = 409


class WallError(OpswallError):
    """The wall renderer (X display or mpv players) failed."""


class CameraError(OpswallError):
    """A camera could not be discovered, resolved or played."""


def invalid_body(errors: Iterable[Mapping[str, Any]]) -> str:
    """One line naming what is wrong with a request body, from pydantic's
    ``ValidationError.errors()``: ``invalid request body: field: message; …``."""
    problems = "; ".join(
        f"{'.'.join(str(part) for part in error['loc']) or 'body'}: {error['msg']}"
        for error in errors
    )
    return f"invalid request body: {problems}"
