"""The buttons section of the config: fields, pin names, pins used once."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from controller.buttons.config import ButtonSpec, check_buttons, gpio_name

EXPECTED = (
    "expected a GPIO of the Raspberry Pi's 40-pin header: a BCM number 0-27, "
    "or a name like 'GPIO17', 'BCM17', 'BOARD11' or 'J8:11'"
)


def test_button_defaults_to_a_short_press_wired_to_ground() -> None:
    button = ButtonSpec(pin=17, action="overview")

    assert button.hold_s is None
    assert button.debounce_s == 0.05
    assert button.pull_up is True
    assert button.lamp is None


def test_button_refuses_unknown_keys_and_negative_hold() -> None:
    with pytest.raises(ValidationError):
        ButtonSpec.model_validate({"pin": 17, "action": "x", "colour": "red"})
    with pytest.raises(ValidationError):
        ButtonSpec.model_validate({"pin": 17, "action": "x", "hold_s": -1})


@pytest.mark.parametrize(
    "pin", [17, "17", "GPIO17", "gpio17", "BCM17", "BOARD11", "J8:11", "j8:11"]
)
def test_every_name_of_a_header_gpio_is_accepted(pin: int | str) -> None:
    assert gpio_name(pin) == "GPIO17"
    assert check_buttons({"b": ButtonSpec(pin=pin, action="x")}) == []


def test_unknown_pin_name_says_what_is_expected() -> None:
    buttons = {"flood": ButtonSpec(pin="GPIO28", action="flood")}

    assert check_buttons(buttons) == [
        (("buttons", "flood", "pin"), f"found pin 'GPIO28', {EXPECTED}")
    ]


def test_bcm_number_off_the_header_is_refused() -> None:
    buttons = {"flood": ButtonSpec(pin=40, action="flood")}

    assert check_buttons(buttons) == [
        (("buttons", "flood", "pin"), f"found pin 40, {EXPECTED}")
    ]


def test_header_pin_that_is_not_a_gpio_names_what_it_is() -> None:
    buttons = {"flood": ButtonSpec(pin=17, action="flood", lamp="BOARD6")}

    assert check_buttons(buttons) == [
        (
            ("buttons", "flood", "lamp"),
            f"found pin 'BOARD6', which is header pin 6 (GND), {EXPECTED}",
        )
    ]


def test_pin_used_by_two_buttons_is_refused_under_any_name() -> None:
    buttons = {
        "flood": ButtonSpec(pin=17, action="flood"),
        "return": ButtonSpec(pin="BOARD11", action="return"),
    }

    assert check_buttons(buttons) == [
        (
            ("buttons", "return", "pin"),
            "found pin 'BOARD11' (GPIO17), already used by button 'flood'; "
            "expected each pin used once",
        )
    ]


def test_lamp_on_a_button_pin_is_refused() -> None:
    buttons = {
        "flood": ButtonSpec(pin=17, action="flood", lamp=27),
        "return": ButtonSpec(pin="GPIO27", action="return"),
    }

    assert check_buttons(buttons) == [
        (
            ("buttons", "return", "pin"),
            "found pin 'GPIO27', already used by the lamp of button 'flood'; "
            "expected each pin used once",
        )
    ]


def test_hold_shorter_than_the_debounce_is_refused() -> None:
    buttons = {"flood": ButtonSpec(pin=17, action="flood", hold_s=0.02)}

    assert check_buttons(buttons) == [
        (
            ("buttons", "flood", "hold_s"),
            "found hold_s 0.02 shorter than debounce_s 0.05, "
            "expected a hold of at least the debounce time",
        )
    ]


def test_every_problem_is_reported_at_once() -> None:
    buttons = {
        "a": ButtonSpec(pin="nope", action="x", lamp="BOARD1"),
        "b": ButtonSpec(pin=5, action="y", lamp=5),
    }

    assert [key for key, _ in check_buttons(buttons)] == [
        ("buttons", "a", "pin"),
        ("buttons", "a", "lamp"),
        ("buttons", "b", "lamp"),
    ]
