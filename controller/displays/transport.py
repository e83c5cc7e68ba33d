"""The serial link to a display: exclusive port, framed replies, one request at once."""

from __future__ import annotations

import asyncio
import errno
import logging
from collections.abc import Callable
from typing import TypeVar

import serial
import serial_asyncio_fast

from controller.displays.base import FaultLog, StaleReply
from controller.displays.errors import (
    DisplayError,
    DisplayOfflineError,
    DisplayTimeoutError,
)

_LOGGER = logging.getLogger(__name__)

RX_BUFFER_MAX_BYTES = 4096
RECONNECT_FIRST_S = 0.5
RECONNECT_MAX_S = 10.0
CLOSE_WAIT_S = 2.0

T = TypeVar("T")


class SerialLink:
    """One serial port owned by Opswall, shared by the displays daisy-chained on it.

    The port is opened exclusively (a second opener is refused) in a named background
    task that reopens it with backoff whenever it fails or the adapter disappears; while
    it is closed the link is offline and every request fails at once with
    DisplayOfflineError. Replies are cut from an accumulating receive buffer by the
    driver's ``take_frame`` (junk and echoed requests are skipped), and only one request
    is in flight at a time, each with its own reply deadline.
    """

    def __init__(
        self,
        port: str,
        baud_rate: int,
        take_frame: Callable[[bytearray], bytes | None],
        *,
        name: str | None = None,
        on_online: Callable[[bool], None] | None = None,
    ) -> None:
        self.port = port
        self.baud_rate = baud_rate
        self.name = name or port
        self._take_frame = take_frame
        self._on_online = on_online
        self._buffer = bytearray()
        self._transport: asyncio.Transport | None = None
        self._lost: asyncio.Future[Exception | None] | None = None
        self._lock = asyncio.Lock()
        self._pending: (
            tuple[Callable[[bytes], object], asyncio.Future[object]] | None
        ) = None
        self._task: asyncio.Task[None] | None = None
        self._online_event = asyncio.Event()
        self._faults = FaultLog(_LOGGER)
        self.last_error: str | None = None

    @property
    def online(self) -> bool:
        """True while the port is open."""
        return self._transport is not None

    async def start(self) -> None:
        """Start opening the port in the background; returns at once."""
        if self._task is None:
            self._task = asyncio.create_task(
                self._run(), name=f"display link {self.name} ({self.port})"
            )

    async def stop(self) -> None:
        """Stop reconnecting, fail any pending request and close the port."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                pass
        transport, lost = self._transport, self._lost
        if transport is not None and lost is not None:
            transport.abort()
            try:
                await asyncio.wait_for(asyncio.shield(lost), CLOSE_WAIT_S)
            except TimeoutError:
                _LOGGER.debug("serial port %s did not report closing", self.port)
        self._went_offline("link stopped")

    async def wait_online(self, timeout_s: float | None = None) -> bool:
        """Wait until the port is open; False when ``timeout_s`` passes first."""
        try:
            async with asyncio.timeout(timeout_s):
                await self._online_event.wait()
        except TimeoutError:
            return False
        return True

    async def exchange(
        self,
        request: bytes,
        parse: Callable[[bytes], T] | None,
        timeout_s: float,
        what: str = "request",
    ) -> T | None:
        """Send ``request`` and return ``parse`` of its reply frame.

        ``parse`` raises StaleReply for frames answering something else (they are
        skipped) and a DisplayError for refusals. Without ``parse`` (a broadcast)
        nothing is awaited and None is returned. Raises DisplayOfflineError when the
        port is closed or lost meanwhile, DisplayTimeoutError when no reply came
        within ``timeout_s``.
        """
        async with self._lock:
            transport = self._transport
            if transport is None:
                raise self._offline_error()
            # A reply that came after an earlier deadline must not answer this request.
            self._buffer.clear()
            loop = asyncio.get_running_loop()
            future: asyncio.Future[object] = loop.create_future()
            if parse is not None:
                self._pending = (parse, future)
            _LOGGER.debug("%s → %s: %s", self.port, what, request.hex(" "))
            transport.write(request)
            if parse is None:
                return None
            try:
                async with asyncio.timeout(timeout_s) as deadline:
                    result = await future
            except TimeoutError:
                if not deadline.expired():
                    raise
                raise DisplayTimeoutError(
                    f"no reply on {self.port} to {what} within {timeout_s:g} s; check "
                    "the cable, the baud rate and the device ID"
                ) from None
            finally:
                self._pending = None
            return result  # type: ignore[return-value]

    def _offline_error(self) -> DisplayOfflineError:
        reason = f" ({self.last_error})" if self.last_error else ""
        return DisplayOfflineError(
            f"display control offline: serial port {self.port} is not open{reason}"
        )

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        delay = RECONNECT_FIRST_S
        while True:
            try:
                (
                    transport,
                    _protocol,
                ) = await serial_asyncio_fast.create_serial_connection(
                    loop,
                    lambda: _LinkProtocol(self),
                    self.port,
                    baudrate=self.baud_rate,
                    exclusive=True,
                )
            except (serial.SerialException, OSError, ValueError) as err:
                self.last_error = _describe(err)
                self._faults.fault(
                    "open",
                    "display control offline: cannot open serial port %s (%s); "
                    "retrying every %g s at most",
                    self.port,
                    self.last_error,
                    RECONNECT_MAX_S,
                )
                await asyncio.sleep(delay)
                delay = min(delay * 2, RECONNECT_MAX_S)
                continue

            self._lost = loop.create_future()
            self._buffer.clear()
            self._transport = transport
            self.last_error = None
            self._faults.recovered("open", "serial port %s is back", self.port)
            self._faults.recovered("lost", "serial port %s is back", self.port)
            _LOGGER.info("serial port %s open at %d baud", self.port, self.baud_rate)
            self._online_event.set()
            if self._on_online is not None:
                self._on_online(True)
            delay = RECONNECT_FIRST_S

            reason = await asyncio.shield(self._lost)
            self.last_error = _describe(reason) if reason else "closed"
            self._faults.fault(
                "lost",
                "serial port %s lost (%s); display control offline, reopening",
                self.port,
                self.last_error,
            )
            self._went_offline(self.last_error)
            await asyncio.sleep(delay)

    def _went_offline(self, reason: str) -> None:
        was_online = self._transport is not None
        self._transport = None
        self._online_event.clear()
        self._buffer.clear()
        if self._pending is not None:
            _parse, future = self._pending
            if not future.done():
                future.set_exception(
                    DisplayOfflineError(
                        f"display control offline: serial port {self.port} was lost "
                        f"while waiting for a reply ({reason})"
                    )
                )
        if was_online and self._on_online is not None:
            self._on_online(False)

    def _connection_lost(self, exc: Exception | None) -> None:
        if self._lost is not None and not self._lost.done():
            self._lost.set_result(exc)
        self._went_offline(_describe(exc) if exc else "closed")

    def _data_received(self, data: bytes) -> None:
        self._buffer += data
        if len(self._buffer) > RX_BUFFER_MAX_BYTES:
            self._faults.fault(
                "overflow",
                "serial port %s: %d bytes received without a complete frame; "
                "discarded them (wrong baud rate or protocol?)",
                self.port,
                len(self._buffer),
            )
            self._buffer.clear()
            return
        while (frame := self._take_frame(self._buffer)) is not None:
            self._dispatch(frame)

    def _dispatch(self, frame: bytes) -> None:
        pending = self._pending
        if pending is None or pending[1].done():
            _LOGGER.debug(
                "%s: unsolicited frame dropped: %s", self.port, frame.hex(" ")
            )
            return
        parse, future = pending
        try:
            result = parse(frame)
        except StaleReply as stale:
            _LOGGER.debug(
                "%s: late reply skipped (%s): %s", self.port, stale, frame.hex(" ")
            )
            return
        except DisplayError as err:
            future.set_exception(err)
            return
        except Exception as err:  # a driver bug must not kill the receive path
            _LOGGER.exception("%s: cannot read reply %s", self.port, frame.hex(" "))
            future.set_exception(err)
            return
        self._faults.recovered("overflow", "serial port %s framing again", self.port)
        future.set_result(result)


class _LinkProtocol(asyncio.Protocol):
    """Hands pyserial-asyncio's callbacks to the link."""

    def __init__(self, link: SerialLink) -> None:
        self._link = link

    def data_received(self, data: bytes) -> None:
        self._link._data_received(data)

    def connection_lost(self, exc: Exception | None) -> None:
        self._link._connection_lost(exc)


def _describe(err: BaseException) -> str:
    """A short operator-facing reason for a serial failure."""
    cause = err
    while cause.__context__ is not None and not isinstance(cause, OSError):
        cause = cause.__context__
    if isinstance(cause, OSError) and cause.errno is not None:
        if cause.errno == errno.ENOENT:
            return "no such device; is the adapter plugged in?"
        if cause.errno in (errno.EACCES, errno.EPERM):
            return "permission denied; is the service user in the dialout group?"
        if cause.errno == errno.EIO:
            return "input/output error; the adapter was unplugged?"
    text = str(err)
    if "exclusively lock" in text or "Resource temporarily unavailable" in text:
        return "in use by another program (exclusive open refused)"
    return text or type(err).__name__
