"""The YAML command-table driver, against a hand-written device on a real pty."""

from __future__ import annotations

import asyncio
import os
import tty

import pytest

from controller.displays.drivers import make_driver
from controller.displays.errors import (
    DisplayNakError,
    DisplayNotSupportedError,
    DisplayWrongIdError,
)
from controller.displays.table import TableDriver, load_table
from controller.errors import ConfigError

TABLE = r"""
name: acme-lx
encoding: ascii
baud: 9600
reply_timeout_s: 1.0
reply_end: "\r"
nak: "^ERR (?P<code>\\d+)$"
commands:
  brightness:
    send: "BRT {id:02d} {value:03d}\r"
    reply: "^BRT (?P<id>\\d+) OK (?P<brightness>\\d+)$"
  black:
    send: "MUTE {id:02d} {value}\r"
    values: {"true": "1", "false": "0"}
    reply: "^MUTE (?P<id>\\d+) OK (?P<black>[01])$"
  input:
    send: "INP {id:02d} {value}\r"
    values: {HDMI1: "H1", DVI: "D1"}
    reply: "^INP (?P<id>\\d+) OK (?P<input>\\w+)$"
"""

HEX_TABLE = r"""
name: hexbox
encoding: hex
reply_length: 4
commands:
  brightness:
    send: "A5 {id:02X} 10 {value:02X}"
    reply: "^5A (?P<id>[0-9A-F]{2}) 10 (?P<brightness>[0-9A-F]{2})$"
"""


@pytest.fixture
def table_file(tmp_path):
    path = tmp_path / "acme.yaml"
    path.write_text(TABLE)
    return path


def test_ascii_templates_encode_and_replies_decode(table_file):
    driver = make_driver("table", table_file)
    [brightness] = driver.plan("brightness", 75, 1)
    assert brightness.request == b"BRT 01 075\r"
    assert brightness.parse is not None
    assert brightness.parse(b"BRT 01 OK 075") == {"brightness": 75}

    [black] = driver.plan("black", True, 1)
    assert black.request == b"MUTE 01 1\r"
    assert black.parse is not None
    assert black.parse(b"MUTE 01 OK 1") == {"black": True}

    [source] = driver.plan("input", "dvi", 1)
    assert source.request == b"INP 01 D1\r"
    assert source.parse is not None
    assert source.parse(b"INP 01 OK D1") == {"input": "DVI"}


def test_table_refusals_and_wrong_ids_are_typed(table_file):
    driver = make_driver("table", table_file)
    [brightness] = driver.plan("brightness", 75, 1)
    assert brightness.parse is not None
    with pytest.raises(DisplayNakError, match="refused brightness") as caught:
        brightness.parse(b"ERR 7")
    assert caught.value.code == 7
    with pytest.raises(DisplayWrongIdError):
        brightness.parse(b"BRT 02 OK 075")
    with pytest.raises(DisplayNotSupportedError):
        driver.plan("freeze", True, 1)


def test_hex_table_encodes_bytes_and_frames_by_length(tmp_path):
    path = tmp_path / "hex.yaml"
    path.write_text(HEX_TABLE)
    driver = TableDriver(load_table(path))
    [brightness] = driver.plan("brightness", 100, 3)
    assert brightness.request == bytes.fromhex("A5 03 10 64")
    buffer = bytearray.fromhex("5A 03 10 64 5A")
    frame = driver.take_frame(buffer)
    assert frame is not None and brightness.parse is not None
    assert brightness.parse(frame) == {"brightness": 100}
    assert buffer == bytearray.fromhex("5A")


def test_a_bad_table_is_refused_with_file_and_line(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("name: x\nreply_end: '\\r'\ncommands:\n  dim:\n    send: 'D'\n")
    with pytest.raises(ConfigError, match=r"bad.yaml:\d+.*unknown operations dim"):
        load_table(path)


async def test_table_driver_talks_to_a_device_over_a_pty(table_file, links):
    master, slave = os.openpty()
    tty.setraw(slave)
    os.set_blocking(master, False)
    loop = asyncio.get_running_loop()

    def device() -> None:
        line = os.read(master, 100).decode().strip()
        verb, device_id, value = line.split()
        os.write(master, f"junk\r{verb} {device_id} OK {value}\r".encode())

    loop.add_reader(master, device)
    try:
        driver = make_driver("table", table_file)
        link = await links(os.ttyname(slave), driver)
        [brightness] = driver.plan("brightness", 42, 1)
        result = await link.exchange(brightness.request, brightness.parse, 2.0)
        assert result == {"brightness": 42}
    finally:
        loop.remove_reader(master)
        os.close(master)
        os.close(slave)
