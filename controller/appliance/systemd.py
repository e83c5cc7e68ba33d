"""Telling systemd how the controller is doing: readiness, status and the watchdog."""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable, Mapping

import sdnotify

_LOGGER = logging.getLogger(__name__)

#: The watchdog is pinged at this fraction of ``WatchdogSec=`` (sd_watchdog_enabled(3)).
PING_FRACTION = 0.5


class SystemdNotifier:
    """sd_notify messages to the service manager; does nothing outside systemd.

    systemd passes ``NOTIFY_SOCKET`` (and ``WATCHDOG_USEC``/``WATCHDOG_PID`` when the
    unit has ``WatchdogSec=``). Without them every method is a no-op, so the service
    runs the same from a shell. Messages are single datagrams: they never block the
    event loop.
    """

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        env = os.environ if environ is None else environ
        self._socket_path = env.get("NOTIFY_SOCKET") or None
        self._watchdog_usec = _watchdog_usec(env)
        self._notifier: sdnotify.SystemdNotifier | None = None
        self._failed = False
        if self._socket_path is not None:
            # sdnotify reads the socket from the environment when it connects.
            saved = os.environ.get("NOTIFY_SOCKET")
            os.environ["NOTIFY_SOCKET"] = self._socket_path
            try:
                self._notifier = sdnotify.SystemdNotifier(debug=True)
            except OSError as err:
                _LOGGER.warning(
                    "systemd notify socket %s unusable (%s); readiness and watchdog "
                    "messages are off",
                    self._socket_path,
                    err,
                )
            finally:
                if saved is None:
                    os.environ.pop("NOTIFY_SOCKET", None)
                else:
                    os.environ["NOTIFY_SOCKET"] = saved

    @property
    def enabled(self) -> bool:
        """True when running under systemd with a notify socket."""
        return self._notifier is not None

    @property
    def watchdog_interval_s(self) -> float | None:
        """Seconds between watchdog pings, or None when the unit has no watchdog."""
        if self._watchdog_usec is None or not self.enabled:
            return None
        return self._watchdog_usec / 1_000_000 * PING_FRACTION

    def ready(self, status: str = "") -> None:
        """Tell systemd that start-up finished (``Type=notify`` units become active)."""
        self._send("READY=1", f"STATUS={status}" if status else "")
        _LOGGER.info(
            "told systemd the service is ready%s", f": {status}" if status else ""
        )

    def status(self, text: str) -> None:
        """Set the one-line status ``systemctl status`` shows."""
        self._send(f"STATUS={text}")

    def stopping(self) -> None:
        """Tell systemd that the service is shutting down on purpose."""
        self._send("STOPPING=1")

    def extend_start(self, seconds: float) -> None:
        """Ask for ``seconds`` more before the start-up times out (slow first start)."""
        self._send(f"EXTEND_TIMEOUT_USEC={int(seconds * 1_000_000)}")

    def ping_watchdog(self) -> None:
        """Reset the watchdog timer once."""
        self._send("WATCHDOG=1")

    async def run_watchdog(self, is_healthy: Callable[[], bool]) -> None:
        """Ping the watchdog at half ``WatchdogSec=`` while ``is_healthy()`` is true.

        Runs until cancelled. Because the pings come from the event loop, a blocked
        loop stops them too; an unhealthy controller (``is_healthy()`` false or
        raising) stops them on purpose, and systemd then kills and restarts the
        service. Returns at once when the unit has no watchdog.
        """
        interval = self.watchdog_interval_s
        if interval is None:
            _LOGGER.debug("no systemd watchdog configured; watchdog task not started")
            return
        _LOGGER.info(
            "pinging the systemd watchdog every %.1f s while healthy", interval
        )
        withholding = False
        while True:
            healthy = _ask(is_healthy)
            if healthy:
                if withholding:
                    _LOGGER.info("controller healthy again; watchdog pings resumed")
                    withholding = False
                self.ping_watchdog()
            elif not withholding:
                _LOGGER.warning(
                    "controller unhealthy; withholding watchdog pings, systemd "
                    "restarts the service if this lasts %.0f s",
                    interval / PING_FRACTION,
                )
                withholding = True
            await asyncio.sleep(interval)

    def _send(self, *lines: str) -> None:
        if self._notifier is None:
            return
        message = "\n".join(line for line in lines if line)
        try:
            self._notifier.notify(message)
        except OSError as err:
            if not self._failed:
                _LOGGER.warning(
                    "cannot send %r to systemd at %s: %s",
                    message,
                    self._socket_path,
                    err,
                )
                self._failed = True
            else:
                _LOGGER.debug("cannot send %r to systemd: %s", message, err)
            return
        self._failed = False


def _watchdog_usec(env: Mapping[str, str]) -> int | None:
    try:
        usec = int(env.get("WATCHDOG_USEC", ""))
    except ValueError:
        return None
    if usec <= 0:
        return None
    # WATCHDOG_PID names the process meant to ping; a child must not take it over.
    pid = env.get("WATCHDOG_PID")
    if pid and pid != str(os.getpid()):
        return None
    return usec


def _ask(is_healthy: Callable[[], bool]) -> bool:
    try:
        return bool(is_healthy())
    except Exception:
        _LOGGER.exception("health check for the systemd watchdog failed")
        return False
