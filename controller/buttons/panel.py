"""The desk's button panel: GPIO buttons that trigger presets, and their lamps."""

from __future__ import annotations

import asyncio
import inspect
import logging
import time
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from gpiozero import LED, DigitalInputDevice
from gpiozero.pins.mock import MockFactory

from controller.buttons.config import ButtonSpec, check_buttons, gpio_name
from controller.buttons.presses import Press, PressDetector
from controller.config.loader import BUTTON_ACTIONS
from controller.config.yamlfile import format_key
from controller.errors import NotFoundError, OpswallError, RefusedError

_LOGGER = logging.getLogger(__name__)

#: Hold of a button whose action is an emergency preset and whose spec sets none.
EMERGENCY_HOLD_S = 1.0
#: Half period of a blinking lamp.
BLINK_S = 0.5
#: Longest simulated press :meth:`ButtonPanel.press` accepts.
MAX_PRESS_S = 30.0
#: How long a simulated press waits for the release to be debounced, past debounce_s.
SETTLE_MARGIN_S = 2.0


class ButtonPanelError(OpswallError):
    """The button panel could not be set up on its GPIO pins."""


class LampState(Enum):
    """What a button's lamp shows."""

    OFF = "off"
    ON = "on"
    BLINKING = "blinking"


@dataclass(frozen=True)
class ButtonEvent:
    """A button acted: its action is to be carried out."""

    button: str
    action: str
    #: How long the button had been held when it acted (about debounce_s for a short
    #: press, about the hold time for a hold button).
    held_s: float
    #: Panel clock time (time.monotonic by default) at which the press was decided.
    at: float

    def as_dict(self) -> dict[str, Any]:
        """The event as the API returns it."""
        return {
            "button": self.button,
            "action": self.action,
            "held_s": round(self.held_s, 3),
            "at": self.at,
        }


@dataclass(frozen=True)
class ButtonStatus:
    """One button as the API shows it."""

    name: str
    action: str
    pin: str
    hold_s: float | None
    pressed: bool
    lamp_pin: str | None
    lamp: LampState | None
    last_event: ButtonEvent | None

    def as_dict(self) -> dict[str, Any]:
        """The status as the API returns it."""
        return {
            "name": self.name,
            "action": self.action,
            "pin": self.pin,
            "hold_s": self.hold_s,
            "pressed": self.pressed,
            "lamp_pin": self.lamp_pin,
            "lamp": None if self.lamp is None else self.lamp.value,
            "last_event": None
            if self.last_event is None
            else self.last_event.as_dict(),
        }


def lamp_state(
    action: str, *, active_preset: str | None, emergency: bool, blackout: bool = False
) -> LampState:
    """What the lamp of a button with ``action`` shows in the given wall state.

    During an emergency the active preset's lamp and RETURN's lamp blink and the others
    are dark, blackout or not. Otherwise the active preset's lamp is on (off during a
    blackout) and BLACKOUT's lamp is on while the wall is blacked out.
    """
    if emergency:
        if action == "return" or action == active_preset:
            return LampState.BLINKING
        return LampState.OFF
    if action == "blackout":
        return LampState.ON if blackout else LampState.OFF
    if not blackout and action == active_preset:
        return LampState.ON
    return LampState.OFF


@dataclass(eq=False)
class _Button:
    name: str
    spec: ButtonSpec
    pin: str
    lamp_pin: str | None
    hold_s: float | None
    detector: PressDetector | None = None
    device: Any = None
    led: Any = None
    lamp: LampState = LampState.OFF
    timer: asyncio.TimerHandle | None = None
    last_event: ButtonEvent | None = None
    presses: int = 0
    simulating: bool = False
    idle: asyncio.Event = field(default_factory=asyncio.Event)


class ButtonPanel:
    """The buttons on the operators' desk, each on a GPIO pin, and their lamps.

    Every button triggers its action once per press: a short press for most buttons,
    a hold of ``hold_s`` for those that set it, and of ``emergency_hold_s`` for buttons
    whose action is in ``emergency_actions`` when they set none. Debounce and holds are
    decided here (see :class:`PressDetector`), not by the pin library, on the clock
    ``clock``.

    gpiozero reports edges from its own thread; they are timestamped there and handed
    to the event loop, which owns all state. ``on_press`` is called on the loop with a
    :class:`ButtonEvent`; if it returns an awaitable, that runs as a task. Its errors
    are logged, never raised into the panel.

    Build it, then ``await start()`` on the loop and ``await close()`` when done (or use
    ``async with``). ``pin_factory`` is gpiozero's: a ``MockFactory`` in tests and the
    demo (where :meth:`press` simulates a press), lgpio on a Pi (see
    :func:`controller.buttons.pins.default_pin_factory`).
    """

    def __init__(
        self,
        buttons: Mapping[str, ButtonSpec],
        on_press: Callable[[ButtonEvent], object],
        *,
        pin_factory: Any,
        emergency_actions: Collection[str] = (),
        emergency_hold_s: float = EMERGENCY_HOLD_S,
        blink_s: float = BLINK_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        problems = check_buttons(buttons)
        if problems:
            raise ButtonPanelError(
                "buttons refused: "
                + "; ".join(
                    f"{format_key(key)}: {message}" for key, message in problems
                )
            )
        self._on_press = on_press
        self._factory = pin_factory
        self._blink_s = blink_s
        self._clock = clock
        self._loop: asyncio.AbstractEventLoop | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._shown: tuple[str | None, bool, bool] = (None, False, False)
        self._buttons = {
            name: _Button(
                name=name,
                spec=spec,
                pin=gpio_name(spec.pin),
                lamp_pin=None if spec.lamp is None else gpio_name(spec.lamp),
                hold_s=(
                    emergency_hold_s
                    if spec.hold_s is None and spec.action in emergency_actions
                    else spec.hold_s
                ),
            )
            for name, spec in buttons.items()
        }

    @property
    def is_mock(self) -> bool:
        """Whether the pins are gpiozero's mock pins (presses can be simulated)."""
        return isinstance(self._factory, MockFactory)

    async def start(self) -> None:
        """Open every button and lamp pin; lamps show what :meth:`show` last set."""
        if self._loop is not None:
            raise RuntimeError("the button panel is already started")
        self._loop = asyncio.get_running_loop()
        try:
            for button in self._buttons.values():
                self._open(button)
        except BaseException:
            self._close_devices()
            self._loop = None
            raise
        self.show(*self._shown)
        _LOGGER.info(
            "button panel ready on %s: %s",
            "mock pins" if self.is_mock else type(self._factory).__name__,
            ", ".join(f"{b.name!r} on {b.pin}" for b in self._buttons.values())
            or "no buttons",
        )

    async def close(self) -> None:
        """Stop reacting to buttons, switch the lamps off and release the pins."""
        self._close_devices()
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        self._loop = None

    async def __aenter__(self) -> ButtonPanel:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    def status(self) -> list[ButtonStatus]:
        """Every button, in config order."""
        return [self._status(button) for button in self._buttons.values()]

    def status_of(self, name: str) -> ButtonStatus:
        """One button; NotFoundError if there is no such button."""
        return self._status(self._get(name))

    def show(
        self, active_preset: str | None, emergency: bool, blackout: bool = False
    ) -> None:
        """Set every lamp for the wall's state (see :func:`lamp_state`).

        Lamps already showing the right thing are left alone, so a blinking lamp keeps
        its rhythm. Call it on the loop after every change of the wall's state; before
        :meth:`start` it is remembered and applied when the lamps are opened.
        """
        self._shown = (active_preset, emergency, blackout)
        for button in self._buttons.values():
            state = lamp_state(
                button.spec.action,
                active_preset=active_preset,
                emergency=emergency,
                blackout=blackout,
            )
            if button.led is None or state is button.lamp:
                continue
            if state is LampState.ON:
                button.led.on()
            elif state is LampState.BLINKING:
                button.led.blink(on_time=self._blink_s, off_time=self._blink_s)
            else:
                button.led.off()
            button.lamp = state
            _LOGGER.debug(
                "lamp of button %r (%s) %s", button.name, button.lamp_pin, state.value
            )

    async def press(self, name: str, hold_s: float = 0.1) -> ButtonEvent | None:
        """Simulate pressing button ``name`` for ``hold_s`` seconds on its mock pin.

        Returns once the release is debounced, with the event the press caused, or None
        (too short, or a hold button released early). Only with mock pins: refused on
        real GPIO. NotFoundError for an unknown button.
        """
        button = self._get(name)
        if not self.is_mock or button.device is None:
            raise RefusedError(
                f"button {name!r} cannot be pressed from software: "
                "presses are simulated only on mock pins (the demo), and this panel "
                + ("uses real GPIO" if not self.is_mock else "is not started")
            )
        if not 0 <= hold_s <= MAX_PRESS_S:
            raise ValueError(
                f"hold of {hold_s} s refused, expected 0 to {MAX_PRESS_S} s"
            )
        if button.simulating:
            raise RefusedError(f"button {name!r} is already being pressed")

        pin = button.device.pin
        down, up = (pin.drive_low, pin.drive_high)
        if not button.spec.pull_up:
            down, up = up, down
        presses = button.presses
        button.simulating = True
        try:
            _LOGGER.info(
                "simulating a %.2f s press of button %r (%s)", hold_s, name, button.pin
            )
            down()
            await asyncio.sleep(hold_s)
        finally:
            up()
            button.simulating = False
        button.idle.clear()
        await asyncio.wait_for(
            button.idle.wait(), timeout=button.spec.debounce_s + SETTLE_MARGIN_S
        )
        return button.last_event if button.presses > presses else None

    def _get(self, name: str) -> _Button:
        try:
            return self._buttons[name]
        except KeyError:
            raise NotFoundError("button", name, self._buttons) from None

    def _status(self, button: _Button) -> ButtonStatus:
        return ButtonStatus(
            name=button.name,
            action=button.spec.action,
            pin=button.pin,
            hold_s=button.hold_s,
            pressed=button.detector is not None and button.detector.pressed,
            lamp_pin=button.lamp_pin,
            lamp=None if button.lamp_pin is None else button.lamp,
            last_event=button.last_event,
        )

    def _open(self, button: _Button) -> None:
        # lgpio's own error class cannot be named without lgpio installed: anything
        # the pin library raises while claiming a pin is reported as a panel error.
        try:
            button.device = DigitalInputDevice(
                button.pin,
                pull_up=button.spec.pull_up,
                bounce_time=None,
                pin_factory=self._factory,
            )
            if button.lamp_pin is not None:
                button.led = LED(button.lamp_pin, pin_factory=self._factory)
        except Exception as err:
            pins = (
                button.pin
                if button.lamp_pin is None
                else f"{button.pin}, lamp {button.lamp_pin}"
            )
            raise ButtonPanelError(
                f"button {button.name!r}: cannot claim its pins ({pins}): {err}"
            ) from err

        pressed = bool(button.device.is_active)
        button.detector = PressDetector(
            debounce_s=button.spec.debounce_s,
            hold_s=button.hold_s,
            pressed=pressed,
            now=self._clock(),
        )
        button.lamp = LampState.OFF
        button.idle.set()
        if pressed:
            _LOGGER.warning(
                "button %r (%s) is held down at start; it acts only after a release",
                button.name,
                button.pin,
            )
        button.device.when_activated = lambda: self._from_gpio(button, True)
        button.device.when_deactivated = lambda: self._from_gpio(button, False)

    def _close_devices(self) -> None:
        for button in self._buttons.values():
            if button.timer is not None:
                button.timer.cancel()
                button.timer = None
            if button.led is not None:
                button.led.off()
            for device in (button.device, button.led):
                if device is not None:
                    device.close()
            button.device = button.led = button.detector = None
            button.lamp = LampState.OFF

    def _from_gpio(self, button: _Button, active: bool) -> None:
        """Called from gpiozero's thread: timestamp the edge and hand it to the loop."""
        at = self._clock()
        loop = self._loop
        if loop is None:
            return
        try:
            loop.call_soon_threadsafe(self._edge, button, active, at)
        except RuntimeError:
            _LOGGER.debug("button %r edge after the loop closed, ignored", button.name)

    def _edge(self, button: _Button, active: bool, at: float) -> None:
        if button.detector is None:
            return
        self._decided(button, button.detector.feed(active, at))

    def _timer(self, button: _Button) -> None:
        button.timer = None
        if button.detector is None:
            return
        self._decided(button, button.detector.advance(self._clock()))

    def _decided(self, button: _Button, presses: list[Press]) -> None:
        for press in presses:
            self._act(button, press)

        detector = button.detector
        assert detector is not None and self._loop is not None
        if button.timer is not None:
            button.timer.cancel()
            button.timer = None
        deadline = detector.deadline
        if deadline is not None:
            delay = max(0.0, deadline - self._clock())
            button.timer = self._loop.call_later(delay, self._timer, button)
        if detector.settled and not detector.pressed:
            button.idle.set()
        else:
            button.idle.clear()

    def _act(self, button: _Button, press: Press) -> None:
        event = ButtonEvent(button.name, button.spec.action, press.held_s, press.at)
        button.last_event = event
        button.presses += 1
        action = event.action
        target = action if action in BUTTON_ACTIONS else f"preset {action!r}"
        if button.hold_s is None:
            _LOGGER.info("button %r (%s) pressed → %s", button.name, button.pin, target)
        else:
            _LOGGER.info(
                "button %r (%s) held %.2f s → %s",
                button.name,
                button.pin,
                event.held_s,
                target,
            )

        try:
            result = self._on_press(event)
        except Exception:
            _LOGGER.exception(
                "button %r → %s: handling the press failed", button.name, target
            )
            return
        if inspect.isawaitable(result):
            task = asyncio.ensure_future(result)
            task.set_name(f"button {button.name} → {action}")
            self._tasks.add(task)
            task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            _LOGGER.error(
                "%s: handling the press failed",
                task.get_name(),
                exc_info=task.exception(),
            )
