"""How a desk button and its lamp are written in the appliance config, and checked."""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import Any

from gpiozero.pins.pi import pi_info
from pydantic import Field

from controller.config.base import Spec

#: The 40-pin header every supported Pi (3, 4, 5) shares; pin names are checked on it.
HEADER = "J8"
#: A Raspberry Pi 5 revision code; its J8 header is the same as the Pi 3's and 4's.
HEADER_BOARD_REVISION = "c04170"
DEFAULT_DEBOUNCE_S = 0.05
PIN_NAMES_EXPECTED = (
    "a GPIO of the Raspberry Pi's 40-pin header: a BCM number 0-27, "
    "or a name like 'GPIO17', 'BCM17', 'BOARD11' or 'J8:11'"
)

KeyPath = tuple[str | int, ...]


class ButtonSpec(Spec):
    """One button on a GPIO pin, the preset or action it triggers, and its lamp."""

    pin: int | str = Field(
        description="BCM number, or a name such as GPIO17 or BOARD11"
    )
    action: str = Field(description="a preset name, or one of: return, next, blackout")
    hold_s: float | None = Field(
        default=None,
        ge=0,
        description="hold this long to act (fires once, when the hold completes); "
        "none acts on a short press, or after the panel's emergency hold for "
        "emergency presets",
    )
    debounce_s: float = Field(
        default=DEFAULT_DEBOUNCE_S,
        ge=0,
        le=1,
        description="a level must stay this long to count; shorter glitches do nothing",
    )
    lamp: int | str | None = Field(
        default=None, description="GPIO of the button's lamp (LED, lit when high)"
    )
    pull_up: bool = Field(
        default=True,
        description="true: wired to ground, pressed reads low (internal pull-up); "
        "false: wired to 3V3, pressed reads high (pull-down)",
    )


def gpio_name(pin: int | str) -> str:
    """The header GPIO's primary name (``"GPIO17"``) for ``pin``; ValueError if none."""
    info = _header_pins().get(pin.upper() if isinstance(pin, str) else pin)
    if info is None or not info.name.startswith("GPIO"):
        raise ValueError(f"{pin!r} is not a GPIO pin of the header")
    return str(info.name)


def check_buttons(buttons: Mapping[str, ButtonSpec]) -> list[tuple[KeyPath, str]]:
    """Problems with the ``buttons:`` section: unknown pin names, pins used twice.

    Each problem is ``(key path from the config's root, message)``; an empty list means
    the buttons can be built. Preset names in ``action`` are checked by the loader.
    """
    problems: list[tuple[KeyPath, str]] = []
    users: dict[str, str] = {}
    for name, button in buttons.items():
        for key, pin in (("pin", button.pin), ("lamp", button.lamp)):
            if pin is None:
                continue
            where: KeyPath = ("buttons", name, key)
            message = _pin_problem(pin)
            if message is not None:
                problems.append((where, message))
                continue
            gpio = gpio_name(pin)
            user = (
                f"button {name!r}" if key == "pin" else f"the lamp of button {name!r}"
            )
            if gpio in users:
                problems.append(
                    (
                        where,
                        f"found pin {_named(pin, gpio)}, "
                        f"already used by {users[gpio]}; expected each pin used once",
                    )
                )
            else:
                users[gpio] = user
        if button.hold_s is not None and button.hold_s < button.debounce_s:
            problems.append(
                (
                    ("buttons", name, "hold_s"),
                    f"found hold_s {button.hold_s} shorter than debounce_s "
                    f"{button.debounce_s}, "
                    "expected a hold of at least the debounce time",
                )
            )
    return problems


def _named(pin: int | str, gpio: str) -> str:
    return repr(pin) if pin == gpio else f"{pin!r} ({gpio})"


def _pin_problem(pin: int | str) -> str | None:
    info = _header_pins().get(pin.upper() if isinstance(pin, str) else pin)
    if info is None:
        return f"found pin {pin!r}, expected {PIN_NAMES_EXPECTED}"
    if not info.name.startswith("GPIO"):
        return (
            f"found pin {pin!r}, which is header pin {info.number} ({info.name}), "
            f"expected {PIN_NAMES_EXPECTED}"
        )
    return None


@cache
def _header_pins() -> dict[int | str, Any]:
    pins: dict[int | str, Any] = {}
    for info in pi_info(HEADER_BOARD_REVISION).headers[HEADER].pins.values():
        for name in info.names:
            pins[name] = info
    return pins
