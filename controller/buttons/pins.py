"""Which gpiozero pin factory the button panel runs on: mock pins, or lgpio on a Pi."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from gpiozero.pins.mock import MockFactory

from controller.buttons.panel import ButtonPanelError

_LOGGER = logging.getLogger(__name__)

#: Labels of the kernel GPIO chip that drives the 40-pin header, newest Pi first:
#: Pi 5 (RP1), Pi 4, then Pi 3 and Zero. Chip numbers changed between kernels.
HEADER_CHIP_LABELS = ("pinctrl-rp1", "pinctrl-bcm2711", "pinctrl-bcm2835")


def default_pin_factory(mock: bool) -> Any:
    """gpiozero's mock pins if ``mock``, else lgpio on the header's GPIO chip.

    ButtonPanelError when lgpio is missing or no header GPIO chip is found.
    """
    if mock:
        return MockFactory()
    try:
        from gpiozero.pins.lgpio import LGPIOFactory
    except ImportError as err:
        raise ButtonPanelError(
            f"cannot use the Pi's GPIO: lgpio is not installed ({err}); "
            "install the 'pi' extra (pip install 'opswall[pi]')"
        ) from err

    chip = find_gpio_chip()
    try:
        factory = LGPIOFactory(chip=chip)
    except Exception as err:
        raise ButtonPanelError(
            f"cannot open /dev/gpiochip{chip} with lgpio: {err}; the service's user "
            "needs read and write access to it (group gpio)"
        ) from err
    _LOGGER.info("buttons use lgpio on /dev/gpiochip%d", chip)
    return factory


def find_gpio_chip(
    chip_label: Callable[[int], str] | None = None, dev_dir: Path = Path("/dev")
) -> int:
    """Number of the GPIO chip that drives the 40-pin header, found by its label.

    ``chip_label`` reads a chip's label (lgpio by default); ButtonPanelError when no
    chip in ``dev_dir`` has one of :data:`HEADER_CHIP_LABELS`.
    """
    read_label = _lgpio_chip_label if chip_label is None else chip_label
    labels: dict[int, str] = {}
    for number in _chip_numbers(dev_dir.glob("gpiochip*")):
        try:
            labels[number] = read_label(number)
        except Exception as err:
            labels[number] = f"unreadable: {err}"

    for wanted in HEADER_CHIP_LABELS:
        for number, label in labels.items():
            if label == wanted:
                return number
    found = (
        ", ".join(f"gpiochip{number} ({label})" for number, label in labels.items())
        or f"no gpiochip devices in {dev_dir}"
    )
    raise ButtonPanelError(
        f"found {found}, expected a GPIO chip labelled "
        f"{' or '.join(HEADER_CHIP_LABELS)} (is this a Raspberry Pi?)"
    )


def _chip_numbers(paths: Iterable[Path]) -> list[int]:
    suffixes = (path.name.removeprefix("gpiochip") for path in paths)
    return sorted(int(suffix) for suffix in suffixes if suffix.isdigit())


def _lgpio_chip_label(number: int) -> str:
    import lgpio

    handle = lgpio.gpiochip_open(number)
    try:
        return str(lgpio.gpio_get_chip_info(handle)[3])
    finally:
        lgpio.gpiochip_close(handle)
