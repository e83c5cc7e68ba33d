"""The protocol drivers by name, and how a display's spec picks one."""

from __future__ import annotations

from pathlib import Path

from controller.displays.base import Driver
from controller.displays.errors import DisplayValueError
from controller.displays.lg import LgDriver
from controller.displays.nec import NecDriver
from controller.displays.novastar import NovaStarDriver
from controller.displays.samsung import SamsungMdcDriver
from controller.displays.table import TableDriver, load_table

DRIVERS: dict[str, type[Driver]] = {
    "novastar": NovaStarDriver,
    "samsung-mdc": SamsungMdcDriver,
    "lg": LgDriver,
    "nec": NecDriver,
}

PROTOCOLS = (*DRIVERS, "table")


def make_driver(protocol: str, table: str | Path | None = None) -> Driver:
    """A fresh driver for ``protocol`` (``table``: the command table of 'table')."""
    if protocol == "table":
        if table is None:
            raise DisplayValueError("protocol 'table' needs a command table file")
        return TableDriver(load_table(table))
    try:
        return DRIVERS[protocol]()
    except KeyError:
        raise DisplayValueError(
            f"found unknown display protocol {protocol!r}, expected one of: "
            f"{', '.join(PROTOCOLS)}"
        ) from None
