"""Choosing the pin factory: mock pins, or lgpio on the Pi's header GPIO chip."""

from __future__ import annotations

import glob
import importlib.util
from pathlib import Path

import pytest
from gpiozero.pins.mock import MockFactory

from controller.buttons.panel import ButtonPanelError
from controller.buttons.pins import default_pin_factory, find_gpio_chip


def chips(tmp_path: Path, labels: dict[int, str]) -> Path:
    for number in labels:
        (tmp_path / f"gpiochip{number}").touch()
    (tmp_path / "gpiochip-notes").touch()
    return tmp_path


def test_mock_pins_for_the_demo_and_tests() -> None:
    factory = default_pin_factory(mock=True)

    assert isinstance(factory, MockFactory)


def test_pi5_header_chip_is_found_by_its_label_not_its_number(tmp_path: Path) -> None:
    labels = {0: "gpio-brcmstb@107d508500", 4: "pinctrl-rp1", 10: "gpio-brcmstb@aon"}

    chip = find_gpio_chip(labels.__getitem__, chips(tmp_path, labels))

    assert chip == 4


def test_pi4_header_chip_is_found(tmp_path: Path) -> None:
    labels = {0: "pinctrl-bcm2711", 1: "raspberrypi-exp-gpio"}

    assert find_gpio_chip(labels.__getitem__, chips(tmp_path, labels)) == 0


def test_no_header_chip_names_what_was_found(tmp_path: Path) -> None:
    def label(number: int) -> str:
        if number == 1:
            raise PermissionError("permission denied")
        return "gpio-mockup-A"

    with pytest.raises(ButtonPanelError) as caught:
        find_gpio_chip(label, chips(tmp_path, {0: "", 1: ""}))

    assert str(caught.value) == (
        "found gpiochip0 (gpio-mockup-A), gpiochip1 (unreadable: permission denied), "
        "expected a GPIO chip labelled pinctrl-rp1 or pinctrl-bcm2711 or "
        "pinctrl-bcm2835 (is this a Raspberry Pi?)"
    )


def test_no_gpio_chip_at_all(tmp_path: Path) -> None:
    with pytest.raises(ButtonPanelError, match="^found no gpiochip devices in "):
        find_gpio_chip(lambda number: "", tmp_path)


ON_A_PI = importlib.util.find_spec("lgpio") is not None and bool(
    glob.glob("/dev/gpiochip*")
)


@pytest.mark.hardware
@pytest.mark.skipif(not ON_A_PI, reason="needs a Raspberry Pi with lgpio installed")
def test_lgpio_factory_opens_the_header_chip_on_a_pi() -> None:
    factory = default_pin_factory(mock=False)
    try:
        assert factory.chip == find_gpio_chip()
    finally:
        factory.close()
