"""The wall's displays as the service sees them: state, health and operations."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from controller.displays.base import (
    Command,
    FaultLog,
    State,
    normalise,
    validate_action,
)
from controller.displays.config import SIMULATED_PORT, DisplaySpec
from controller.displays.drivers import make_driver
from controller.displays.errors import (
    DisplayError,
    DisplayNotSupportedError,
    DisplayOfflineError,
    DisplayTimeoutError,
)
from controller.displays.simulator import PtySimulator, make_simulator
from controller.displays.transport import SerialLink
from controller.errors import NotFoundError

__all__ = ["Display", "DisplayController", "validate_action"]

_LOGGER = logging.getLogger(__name__)


class Display:
    """One configured display: its driver, serial link, panel IDs and last known state.

    After the port opens it reads the full status once, then polls the heartbeat every
    ``poll_interval_s``. State only ever holds what a device answered or acknowledged.
    """

    def __init__(
        self,
        name: str,
        spec: DisplaySpec,
        on_change: Callable[[], None],
        base_dir: Path | None = None,
    ) -> None:
        self.name = name
        self.spec = spec
        table = spec.table
        if table is not None and base_dir is not None:
            table = str(base_dir / table)
        self.driver = make_driver(spec.protocol, table)
        self.reply_timeout_s = spec.reply_timeout_s or self.driver.reply_timeout_s
        self.ids: tuple[int, ...] = spec.panels or (
            spec.id if spec.id is not None else self.driver.default_id,
        )
        self.state: dict[int, State] = {device_id: {} for device_id in self.ids}
        self.responding = False
        self.error: str | None = None
        self.updated: datetime | None = None
        self.link: SerialLink | None = None
        self.simulator: PtySimulator | None = None
        self._on_change = on_change
        self._faults = FaultLog(_LOGGER)
        self._poll_task: asyncio.Task[None] | None = None
        self._reconnected = asyncio.Event()
        self._signature: Any = None

    @property
    def operations(self) -> frozenset[str]:
        """The operations this display's protocol offers (status included)."""
        return self.driver.operations | {"status"}

    async def start(self) -> None:
        """Open the port in the background (a simulator first for 'simulated')."""
        port = self.spec.port
        if port == SIMULATED_PORT:
            self.simulator = make_simulator(self.spec.protocol, self.ids)
            await self.simulator.start()
            port = self.simulator.path
            _LOGGER.info(
                'display "%s" uses a simulated %s on %s',
                self.name,
                self.spec.protocol,
                port,
            )
        self.link = SerialLink(
            port,
            self.spec.baud or self.driver.baud_rate,
            self.driver.take_frame,
            name=f'display "{self.name}"',
            on_online=self._link_changed,
        )
        await self.link.start()
        self._poll_task = asyncio.create_task(
            self._poll(), name=f'display poll "{self.name}"'
        )

    async def stop(self) -> None:
        """Stop polling, close the port, then the simulator (reverse of start)."""
        if self._poll_task is not None:
            self._poll_task.cancel()
            try:
                await self._poll_task
            except asyncio.CancelledError:
                pass
            self._poll_task = None
        if self.link is not None:
            await self.link.stop()
        if self.simulator is not None:
            await self.simulator.stop()

    async def perform(self, operation: str, value: Any = None) -> dict[str, Any]:
        """Carry out ``operation`` on every panel; the display's entry afterwards.

        Every panel is tried even when one fails; the first failure is raised after.
        """
        plans = [
            (device_id, self.driver.plan(operation, value, device_id))
            for device_id in self.ids
        ]

        failures: list[DisplayError] = []
        for device_id, commands in plans:
            try:
                await self._run(device_id, commands)
            except DisplayError as err:
                failures.append(err)

        if failures:
            self._failed(failures[0])
            raise failures[0]
        self._answered()
        _LOGGER.info(
            'display "%s": %s %s done',
            self.name,
            operation,
            "" if value is None else value,
        )
        return self.entry()

    def entry(self) -> dict[str, Any]:
        """The JSON-able snapshot of this display."""
        return {
            "name": self.name,
            "protocol": self.spec.protocol,
            "port": self.spec.port,
            "device": self.link.port if self.link is not None else None,
            "simulated": self.simulator is not None,
            "port_open": self.link is not None and self.link.online,
            "online": self.link is not None and self.link.online and self.responding,
            "state": _agreed(list(self.state.values())),
            "panels": {
                str(device_id): dict(state) for device_id, state in self.state.items()
            },
            "operations": sorted(self.operations),
            "error": self.error,
            "updated": self.updated.isoformat() if self.updated else None,
        }

    async def _poll(self) -> None:
        assert self.link is not None
        while True:
            await self.link.wait_online()
            self._reconnected.clear()
            await self._refresh(full=True)
            while self.link.online and not self._reconnected.is_set():
                try:
                    async with asyncio.timeout(self.spec.poll_interval_s):
                        await self._reconnected.wait()
                except TimeoutError:
                    if self.link.online:
                        await self._refresh(full=False)

    async def _refresh(self, full: bool) -> None:
        for device_id in self.ids:
            try:
                await self._run(
                    device_id,
                    self.driver.status_commands(device_id, full),
                    skip_unsupported=True,
                )
            except DisplayError as err:
                self._failed(err)
                return
        self._answered()

    async def _run(
        self, device_id: int, commands: list[Command], skip_unsupported: bool = False
    ) -> None:
        if self.link is None:
            raise DisplayOfflineError(f'display "{self.name}" has not been started')
        for command in commands:
            try:
                result = await self.link.exchange(
                    command.request,
                    command.parse,
                    command.timeout_s or self.reply_timeout_s,
                    f'{command.what} (display "{self.name}", ID {device_id})',
                )
            except DisplayNotSupportedError:
                if not skip_unsupported:
                    raise
                _LOGGER.debug(
                    'display "%s" ID %d cannot report %s',
                    self.name,
                    device_id,
                    command.what,
                )
                continue
            if result:
                self.state[device_id].update(result)
                self.updated = datetime.now(UTC)
        self._notify()

    def _answered(self) -> None:
        self.responding = True
        self.error = None
        self._faults.recovered(
            "silent", 'display "%s" on %s is answering again', self.name, self.spec.port
        )
        self._notify()

    def _failed(self, err: DisplayError) -> None:
        self.error = str(err)
        if isinstance(err, DisplayTimeoutError | DisplayOfflineError):
            self.responding = False
            if isinstance(err, DisplayTimeoutError):
                self._faults.fault(
                    "silent",
                    'display "%s" on %s is not answering (%s); '
                    "polling again every %g s",
                    self.name,
                    self.spec.port,
                    err,
                    self.spec.poll_interval_s,
                )
        else:
            _LOGGER.warning('display "%s" on %s: %s', self.name, self.spec.port, err)
        self._notify()

    def _link_changed(self, online: bool) -> None:
        if online:
            self._reconnected.set()
        else:
            self.responding = False
            if self.link is not None:
                self.error = (
                    f"display control offline: serial port {self.link.port} is not open"
                    + (f" ({self.link.last_error})" if self.link.last_error else "")
                )
        self._notify()

    def _notify(self) -> None:
        entry = self.entry()
        entry.pop("updated")
        if entry != self._signature:
            self._signature = entry
            try:
                self._on_change()
            except Exception:
                _LOGGER.exception(
                    'display "%s": state-change callback failed', self.name
                )


class DisplayController:
    """Every display of the config, started together; what the service and API use.

    ``on_change`` is called on the event loop whenever a display's state or health
    changes. A missing port never blocks ``start``: that display reports offline while
    its link keeps retrying in the background.
    """

    def __init__(
        self,
        specs: Mapping[str, DisplaySpec],
        on_change: Callable[[], None] | None = None,
        *,
        base_dir: Path | None = None,
    ) -> None:
        self._on_change = on_change
        self._displays = {
            name: Display(name, spec, self._changed, base_dir)
            for name, spec in specs.items()
        }
        self._started: list[Display] = []

    @property
    def displays(self) -> Mapping[str, Display]:
        return self._displays

    async def start(self) -> None:
        """Start each display's link and poll, in config order; never waits for one."""
        for display in self._displays.values():
            try:
                await display.start()
            except (OSError, ValueError) as err:
                display.error = f"cannot start: {err}"
                _LOGGER.error('display "%s" cannot start: %s', display.name, err)
                continue
            self._started.append(display)

    async def stop(self) -> None:
        """Stop every display, in reverse order of starting."""
        while self._started:
            await self._started.pop().stop()

    def snapshot(self) -> dict[str, dict[str, Any]]:
        """Per display name: protocol, port, online, state, panels, error, updated."""
        return {name: display.entry() for name, display in self._displays.items()}

    async def perform(
        self, display_id: str | None, operation: str, value: Any = None
    ) -> dict[str, dict[str, Any]]:
        """Carry out ``operation`` and return the entries of the displays it reached.

        ``display_id`` None means every display whose protocol has the operation (the
        others are skipped); all are tried even when one fails, then the first failure
        is raised. NotFoundError for an unknown display.
        """
        if display_id is not None:
            display = self._displays.get(display_id)
            if display is None:
                raise NotFoundError("display", display_id, self._displays)
            return {display_id: await display.perform(operation, value)}

        normalise(operation, value)
        targets = [d for d in self._displays.values() if operation in d.operations]
        if not targets:
            raise DisplayNotSupportedError(
                f"no configured display has a {operation!r} operation"
            )
        results = await asyncio.gather(
            *(display.perform(operation, value) for display in targets),
            return_exceptions=True,
        )
        for result in results:
            if isinstance(result, BaseException):
                raise result
        return {display.name: display.entry() for display in targets}

    def _changed(self) -> None:
        if self._on_change is not None:
            self._on_change()


def _agreed(states: list[State]) -> State:
    """The values all panels agree on (None where they differ or one does not know)."""
    if len(states) == 1:
        return dict(states[0])
    keys = {key for state in states for key in state}
    merged: State = {}
    for key in sorted(keys):
        values = [state.get(key) for state in states]
        merged[key] = values[0] if all(v == values[0] for v in values) else None
    return merged
