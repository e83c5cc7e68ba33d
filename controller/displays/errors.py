"""Errors of display control: one class per way a display or its serial port fails."""

from __future__ import annotations

from controller.errors import OpswallError


class DisplayError(OpswallError):
    """A display processor or panel could not carry out an operation."""

    http_status = 502


class DisplayValueError(DisplayError, ValueError):
    """An operation or value no display accepts (refused before anything is sent)."""

    http_status = 400


class DisplayNotSupportedError(DisplayError):
    """The protocol or the device has no such operation (or answered 'unsupported')."""

    http_status = 400


class DisplayOfflineError(DisplayError):
    """The display's serial port is not open (adapter missing or lost); nothing sent."""

    http_status = 503


class DisplayTimeoutError(DisplayError, TimeoutError):
    """The display did not answer within its protocol's reply deadline."""

    http_status = 504


class DisplayNakError(DisplayError):
    """The display answered but refused the command (NAK, NG or an error result)."""

    def __init__(self, message: str, code: int | None = None) -> None:
        super().__init__(message)
        self.code = code


class DisplayChecksumError(DisplayError):
    """A frame failed its integrity check (reply, or request as the device saw it).

    Also raised when the device reports a checksum error in our request.
    """


class DisplayWrongIdError(DisplayError):
    """A reply came from another device ID than the one addressed."""

    def __init__(self, message: str, expected: int, got: int) -> None:
        super().__init__(message)
        self.expected = expected
        self.got = got
