"""Every test vector of the display-protocol notes (section 10), byte for byte."""

from __future__ import annotations

import pytest

from controller.displays import lg, nec, novastar, samsung
from controller.displays.base import StaleReply
from controller.displays.errors import (
    DisplayChecksumError,
    DisplayNakError,
    DisplayWrongIdError,
)
from controller.displays.lg import LgDriver
from controller.displays.nec import NecDriver
from controller.displays.novastar import NovaStarDriver
from controller.displays.samsung import SamsungMdcDriver


def h(text: str) -> bytes:
    return bytes.fromhex(text)


def frames(driver_take, data: bytes) -> list[bytes]:
    buffer = bytearray(data)
    found = []
    while (frame := driver_take(buffer)) is not None:
        found.append(frame)
    return found


# --- NovaStar -------------------------------------------------------------------------

N1_REQ = h("55 AA 00 00 FE 00 00 00 00 00 00 00 02 00 00 00 02 00 57 56")
N1_REP = h("AA 55 00 00 00 FE 00 00 00 00 00 00 02 00 00 00 02 00 06 61 BE 56")
N2_REQ = h("55 AA 00 00 FE 00 00 00 00 00 01 00 2D 00 20 02 01 00 10 B4 56")
N2_REP = h("AA 55 00 00 00 FE 00 00 00 00 01 00 2D 00 20 02 00 00 A3 56")
N3_REQ = h("55 AA 00 00 FE 00 00 00 00 00 01 00 50 00 20 02 01 00 01 C8 56")
N3_REP = h("AA 55 00 00 00 FE 00 00 00 00 01 00 50 00 20 02 00 00 C6 56")
N4_REQ = h("55 AA 00 00 FE FF 01 FF FF FF 01 00 01 00 00 02 01 00 80 D5 5A")
N4_REP = h("AA 55 00 00 FF FE 01 FF FF FF 01 00 01 00 00 02 00 00 54 5A")
N5_REQ = h("55 AA 00 14 FE 00 01 00 00 00 00 00 01 00 00 02 05 00 70 56")
N5_REP = h("AA 55 00 14 00 FE 01 00 00 00 00 00 01 00 00 02 05 00 FF FF FF FF FF 6B 5B")
N6_REQ = h("55 AA 00 15 FE 00 01 00 00 00 01 00 01 00 00 02 01 00 80 EE 56")
N6_REP = h("AA 55 00 15 00 FE 01 00 00 00 01 00 01 00 00 02 00 00 6D 56")
N7_REQ = h("55 AA 00 80 FE 00 01 00 FF FF 01 00 01 01 00 02 01 00 02 DA 58")
N7_REP = h("AA 55 00 80 00 FE 01 00 FF FF 01 00 01 01 00 02 00 00 D7 58")
N8_REQ = h("55 AA 00 80 FE 00 01 00 FF FF 01 00 00 01 00 02 01 00 FF D6 59")
N8_REP = h("AA 55 00 80 00 FE 01 00 FF FF 01 00 00 01 00 02 00 00 D6 58")
N9_REQ = h("55 AA 00 15 FE 00 01 FF FF FF 01 00 11 00 00 01 01 00 11 8B 59")
N9_REP = h("AA 55 00 15 00 FE 01 FF FF FF 01 00 11 00 00 01 00 00 79 59")
N10_REQ = h("55 AA 00 16 FE 00 00 00 00 00 00 00 17 00 00 02 01 00 83 56")
N10_REP = h("AA 55 00 16 00 FE 00 00 00 00 00 00 17 00 00 02 01 00 00 83 56")
N11_REQ = h("55 AA 00 00 FE 00 00 00 00 00 01 00 00 01 51 13 01 00 00 BA 56")
N11_REP = h("AA 55 00 00 00 FE 00 00 00 00 01 00 00 01 51 13 00 00 B9 56")
N13_REP = h("AA 55 00 00 00 FE 00 00 00 00 01 00 50 00 20 02 00 00 C6 57")

#: (vector, request, reply, serial, destination, device type, port, board, register,
#:  data or None for a read, read length)
NOVASTAR_FRAMES = [
    ("N1", N1_REQ, N1_REP, 0x00, 0x00, 0x00, 0x00, 0x0000, 0x00000002, None, 2),
    ("N2", N2_REQ, N2_REP, 0x00, 0x00, 0x00, 0x00, 0x0000, 0x0220002D, b"\x10", 0),
    ("N3", N3_REQ, N3_REP, 0x00, 0x00, 0x00, 0x00, 0x0000, 0x02200050, b"\x01", 0),
    ("N4", N4_REQ, N4_REP, 0x00, 0xFF, 0x01, 0xFF, 0xFFFF, 0x02000001, b"\x80", 0),
    ("N5", N5_REQ, N5_REP, 0x14, 0x00, 0x01, 0x00, 0x0000, 0x02000001, None, 5),
    ("N6", N6_REQ, N6_REP, 0x15, 0x00, 0x01, 0x00, 0x0000, 0x02000001, b"\x80", 0),
    ("N7", N7_REQ, N7_REP, 0x80, 0x00, 0x01, 0x00, 0xFFFF, 0x02000101, b"\x02", 0),
    ("N8", N8_REQ, N8_REP, 0x80, 0x00, 0x01, 0x00, 0xFFFF, 0x02000100, b"\xff", 0),
    ("N9", N9_REQ, N9_REP, 0x15, 0x00, 0x01, 0xFF, 0xFFFF, 0x01000011, b"\x11", 0),
    ("N10", N10_REQ, N10_REP, 0x16, 0x00, 0x00, 0x00, 0x0000, 0x02000017, None, 1),
    ("N11", N11_REQ, N11_REP, 0x00, 0x00, 0x00, 0x00, 0x0000, 0x13510100, b"\x00", 0),
]


@pytest.mark.parametrize(
    "vector, sent, reply, serial, dest, dtype, port, board, register, data, length",
    NOVASTAR_FRAMES,
    ids=[row[0] for row in NOVASTAR_FRAMES],
)
def test_novastar_frame_builder_encodes_the_vector_exactly(
    vector, sent, reply, serial, dest, dtype, port, board, register, data, length
):
    built = novastar.build_request(
        serial=serial,
        destination=dest,
        device_type=dtype,
        port=port,
        board=board,
        register=register,
        data=data,
        read_length=length,
    )
    assert built.hex(" ") == sent.hex(" ")


@pytest.mark.parametrize("vector, reply", [(row[0], row[2]) for row in NOVASTAR_FRAMES])
def test_novastar_reply_of_the_vector_frames_and_checks(vector, reply):
    assert frames(novastar.take_frame, reply) == [reply]
    decoded = novastar.decode_frame(reply)
    assert decoded.result == 0x00


def novastar_op(operation, value, device_id, serial):
    driver = NovaStarDriver(first_serial=serial)
    return driver.plan(operation, value, device_id)


def test_n1_model_id_read_is_the_heartbeat_and_decodes_vx4s():
    command = NovaStarDriver(first_serial=0).status_commands(0, full=False)[0]
    assert command.request == N1_REQ
    assert command.parse is not None
    assert command.parse(N1_REP) == {"model": "VX4S", "model_id": "0661"}


def test_n2_input_dvi_encodes_and_is_acknowledged():
    [command] = novastar_op("input", "dvi", 0, 0x00)
    assert command.request == N2_REQ
    assert command.parse is not None
    assert command.parse(N2_REP) == {"input": "DVI"}


def test_n4_brightness_50_percent_is_0x80_to_all_cards():
    write, read_back = novastar_op("brightness", 50, 0xFF, 0x00)
    assert write.request == N4_REQ
    assert write.parse is not None
    assert write.parse(N4_REP) == {"brightness": 50}


def test_n5_brightness_read_decodes_100_percent():
    driver = NovaStarDriver(first_serial=0x12)
    brightness = driver.status_commands(0, full=False)[2]
    assert brightness.request == N5_REQ
    assert brightness.parse is not None
    assert brightness.parse(N5_REP) == {"brightness": 100}


def test_n6_reply_acknowledges_the_card_write():
    frame = novastar.decode_frame(N6_REP)
    assert (frame.serial, frame.write, frame.length, frame.register) == (
        0x15,
        True,
        0,
        0x02000001,
    )


def test_n9_save_to_flash_encodes_exactly():
    [command] = novastar_op("save", None, 0, 0x15)
    assert command.request == N9_REQ
    assert command.parse is not None
    assert command.parse(N9_REP) == {"saved": True}


def test_n10_signal_query_decodes_no_signal():
    driver = NovaStarDriver(first_serial=0x15)
    signal = driver.status_commands(0, full=False)[1]
    assert signal.request == N10_REQ
    assert signal.parse is not None
    assert signal.parse(N10_REP) == {"signal": False}


def test_n11_preset_1_loads_register_13510100_with_zero():
    [command] = novastar_op("preset", 1, 0, 0x00)
    assert command.request == N11_REQ
    assert command.parse is not None
    assert command.parse(N11_REP) == {"preset": 1}


def test_n12_reply_in_three_reads_is_reassembled_into_the_n5_frame():
    buffer = bytearray()
    pieces = [
        h("AA 55 00 14 00 FE 01 00"),
        h("00 00 00 00 01 00 00 02 05 00 FF"),
        h("FF FF FF FF 6B 5B"),
    ]
    found = []
    for piece in pieces:
        buffer += piece
        while (frame := novastar.take_frame(buffer)) is not None:
            found.append(frame)
    assert found == [N5_REP]


def test_n13_bad_checksum_is_an_integrity_error_not_success():
    [command] = novastar_op("input", "DVI", 0, 0x00)
    frame = frames(novastar.take_frame, N13_REP)[0]
    assert command.parse is not None
    with pytest.raises(DisplayChecksumError, match="checksum"):
        command.parse(frame)


def test_m3_errata_model_request_checksum_is_89_56_not_87_56():
    built = novastar.build_request(
        serial=0,
        destination=0,
        device_type=0,
        port=0,
        board=0,
        register=2,
        read_length=2,
    )
    assert built[-2:] == h("57 56")  # VX4S framing; the M3 print's 87 56 is wrong too
    assert novastar.checksum(built[2:-2]) != 0x5687


def test_novastar_result_01_is_a_nak():
    [command] = novastar_op("input", "DVI", 0, 0x00)
    body = bytes([0x01]) + N2_REP[3:-2]
    reply = novastar.REPLY_HEADER + body + novastar.checksum(body).to_bytes(2, "little")
    assert command.parse is not None
    with pytest.raises(DisplayNakError, match="timed out reaching the receiving cards"):
        command.parse(reply)


def test_novastar_reply_from_another_address_is_a_wrong_id_error():
    [command] = novastar_op("input", "DVI", 1, 0x00)
    assert command.parse is not None
    with pytest.raises(DisplayWrongIdError, match="address 0, expected 1"):
        command.parse(N2_REP)


def test_novastar_reply_with_another_serial_is_skipped_as_late():
    [command] = novastar_op("input", "DVI", 0, 0x07)
    assert command.parse is not None
    with pytest.raises(StaleReply):
        command.parse(N2_REP)


@pytest.mark.parametrize("percent", range(101))
def test_brightness_percent_round_trips_through_the_0_255_level(percent):
    from controller.displays.base import brightness_to_byte, byte_to_brightness

    level = brightness_to_byte(percent)
    assert 0 <= level <= 255
    assert byte_to_brightness(level) == percent


def test_brightness_ends_are_exact():
    from controller.displays.base import brightness_to_byte

    assert (brightness_to_byte(0), brightness_to_byte(50), brightness_to_byte(100)) == (
        0,
        0x80,
        0xFF,
    )


# --- Samsung MDC ----------------------------------------------------------------------


def samsung_op(operation, value, device_id=1):
    return SamsungMdcDriver().plan(operation, value, device_id)


def test_s1_power_on_id_1_is_acknowledged_on():
    [command] = samsung_op("power", True)
    assert command.request == h("AA 11 01 01 01 14")
    assert command.parse is not None
    assert command.parse(h("AA FF 01 03 41 11 01 56")) == {"power": True}


def test_s2_power_off_is_acknowledged_off():
    [command] = samsung_op("power", False)
    assert command.request == h("AA 11 01 01 00 13")
    assert command.parse is not None
    assert command.parse(h("AA FF 01 03 41 11 00 55")) == {"power": False}


def test_s3_broadcast_power_on_expects_no_reply():
    [command] = samsung_op("power", True, device_id=0xFE)
    assert command.request == h("AA 11 FE 01 01 11")
    assert command.parse is None


def test_s4_manual_example_id_ff_truncates_the_checksum():
    assert samsung.build_request(0x11, 0xFF, b"\x01") == h("AA 11 FF 01 01 12")


def test_s5_status_decodes_power_volume_mute_input():
    command = SamsungMdcDriver().status_commands(1, full=False)[0]
    assert command.request == h("AA 00 01 00 01")
    assert command.parse is not None
    reply = h("AA FF 01 09 41 00 01 32 00 21 10 00 00 AE")
    assert frames(samsung.take_frame, reply) == [reply]
    assert command.parse(reply) == {
        "power": True,
        "volume": 50,
        "mute": False,
        "input": "HDMI1",
    }


def test_s6_input_hdmi1():
    [command] = samsung_op("input", "HDMI1")
    assert command.request == h("AA 14 01 01 21 37")
    assert command.parse is not None
    assert command.parse(h("AA FF 01 03 41 14 21 79")) == {"input": "HDMI1"}


def test_s7_brightness_50():
    [command] = samsung_op("brightness", 50)
    assert command.request == h("AA 25 01 01 32 59")
    assert command.parse is not None
    assert command.parse(h("AA FF 01 03 41 25 32 9B")) == {"brightness": 50}


def test_s8_video_wall_on():
    [command] = samsung_op("video_wall", True)
    assert command.request == h("AA 84 01 01 01 87")
    assert command.parse is not None
    assert command.parse(h("AA FF 01 03 41 84 01 C9")) == {"video_wall": True}


def test_s9_nak_raises_with_error_code_1():
    [command] = samsung_op("power", True)
    assert command.parse is not None
    with pytest.raises(DisplayNakError, match="NAK, error code 1") as caught:
        command.parse(h("AA FF 01 03 4E 11 01 63"))
    assert caught.value.code == 1


def test_s10_bad_checksum_is_rejected():
    [command] = samsung_op("power", True)
    assert command.parse is not None
    with pytest.raises(DisplayChecksumError, match="checksum"):
        command.parse(h("AA FF 01 03 41 11 01 57"))


def test_samsung_reply_from_another_id_is_a_wrong_id_error():
    [command] = samsung_op("power", True, device_id=2)
    assert command.parse is not None
    with pytest.raises(DisplayWrongIdError, match="from ID 1, expected ID 2"):
        command.parse(h("AA FF 01 03 41 11 01 56"))


# --- LG -------------------------------------------------------------------------------


def lg_op(operation, value, device_id=1):
    return LgDriver().plan(operation, value, device_id)


def test_l1_power_query_reads_on():
    command = LgDriver().status_commands(1, full=False)[0]
    assert command.request == h("6B 61 20 30 31 20 66 66 0D")
    reply = h("61 20 30 31 20 4F 4B 30 31 78")
    assert frames(lg.take_frame, reply) == [reply]
    assert command.parse is not None
    assert command.parse(reply) == {"power": True}


def test_l2_power_on_acknowledged():
    [command] = lg_op("power", True)
    assert command.request == b"ka 01 01\r"
    assert command.parse is not None
    assert command.parse(b"a 01 OK01x") == {"power": True}


def test_l3_input_hdmi2():
    [command] = lg_op("input", "HDMI2")
    assert command.request == b"xb 01 91\r"
    assert command.parse is not None
    assert command.parse(b"b 01 OK91x") == {"input": "HDMI2"}


def test_l4_volume_25_percent_is_hex_19():
    assert lg.build_request("kf", 1, f"{25:02x}") == b"kf 01 19\r"


def test_l5_ng_is_a_nak():
    [command] = lg_op("brightness", 25)
    assert command.request == b"kh 01 19\r"
    assert command.parse is not None
    with pytest.raises(DisplayNakError, match="NGff"):
        command.parse(b"h 01 NGffx")
    volume = lg.decode_reply(b"f 01 NGffx")
    assert volume == ("f", 1, False, "ff")


def test_l6_l7_tile_2_by_2_at_position_3():
    mode, position = lg_op("tile", {"columns": 2, "rows": 2, "position": 3})
    assert (mode.request, position.request) == (b"dd 01 22\r", b"di 01 03\r")
    assert mode.parse is not None and position.parse is not None
    assert mode.parse(b"d 01 OK22x") == {"tile_columns": 2, "tile_rows": 2}
    assert position.parse(b"i 01 OK03x") == {"tile_position": 3}


def test_l8_set_id_00_is_everyone_and_expects_no_reply():
    [command] = lg_op("power", False, device_id=0)
    assert command.request == b"ka 00 00\r"
    assert command.parse is None


def test_lg_set_id_goes_out_in_hex():
    [command] = lg_op("power", True, device_id=10)
    assert command.request == b"ka 0a 01\r"


def test_lg_reply_variants_frame_one_digit_ids_and_trailing_cr():
    assert frames(lg.take_frame, b"ka 01 ff\ra 1 OK01x\r\n") == [b"a 1 OK01x"]


def test_lg_reply_from_another_set_is_a_wrong_id_error():
    [command] = lg_op("power", True, device_id=2)
    assert command.parse is not None
    with pytest.raises(DisplayWrongIdError, match="Set ID 1, expected 2"):
        command.parse(b"a 01 OK01x")


# --- NEC ------------------------------------------------------------------------------

E1_REQ = h("01 30 41 30 41 30 36 02 30 31 44 36 03 74 0D")
E1_REP = h(
    "01 30 30 41 42 31 32 02 30 32 30 30 44 36 30 30 30 30 30 34 30 30 30 34 03 71 0D"
)
E2_REQ = h("01 30 41 30 43 30 36 02 30 30 36 30 03 03 0D")
E2_REP = h(
    "01 30 30 41 44 31 32 02 30 30 30 30 36 30 30 30 30 30 31 31 30 30 30 33 03 02 0D"
)
E3_REQ = h("01 30 41 30 43 30 36 02 30 30 36 32 03 01 0D")
E4_REQ = h("01 30 41 30 41 30 43 02 43 32 30 33 44 36 30 30 30 31 03 73 0D")
E4_REP = h("01 30 30 41 42 30 45 02 30 30 43 32 30 33 44 36 30 30 30 31 03 76 0D")
E5_REQ = h("01 30 41 30 45 30 41 02 30 30 31 30 30 30 33 32 03 74 0D")
E5_REP = h(
    "01 30 30 41 46 31 32 02 30 30 30 30 31 30 30 30 30 30 36 34 30 30 33 32 03 07 0D"
)
E6_REQ = h("01 30 41 30 45 30 41 02 30 32 44 30 30 30 30 33 03 01 0D")
E11_REQ = h("01 30 2A 30 41 30 43 02 43 32 30 33 44 36 30 30 30 31 03 18 0D")


def nec_op(operation, value, device_id=1):
    return NecDriver().plan(operation, value, device_id)


def test_e1_power_status_reads_off():
    command = NecDriver().status_commands(1, full=False)[0]
    assert command.request == E1_REQ
    assert frames(nec.take_frame, E1_REP) == [E1_REP]
    assert command.parse is not None
    assert command.parse(E1_REP) == {"power": False}


def test_e2_input_get_reads_dvi():
    command = NecDriver().status_commands(1, full=True)[1]
    assert command.request == E2_REQ
    assert command.parse is not None
    assert command.parse(E2_REP) == {"input": "DVI"}


def test_e3_volume_get_encodes():
    assert nec.build_frame(nec.destination(1), "C", "0062") == E3_REQ


def test_e4_power_on_is_acknowledged():
    [command] = nec_op("power", True)
    assert command.request == E4_REQ
    assert command.parse is not None
    assert command.parse(E4_REP) == {"power": True}


def test_e5_backlight_50_of_100():
    [command] = nec_op("backlight", 50)
    assert command.request == E5_REQ
    assert command.parse is not None
    assert command.parse(E5_REP) == {"backlight": 50}


def test_e6_tile_matrix_three_monitors_across():
    columns, _rows, _position = nec_op("tile", {"columns": 3, "rows": 1, "position": 1})
    assert columns.request == E6_REQ


def test_e11_power_on_all_monitors_expects_no_reply():
    [command] = nec_op("power", True, device_id=0)
    assert command.request == E11_REQ
    assert command.parse is None


def test_nec_null_message_is_a_nak():
    [command] = nec_op("power", True)
    null = h("01 30 30 41 41 30 34 02 42 45 03 02 0D")
    assert nec.build_frame(nec.destination(1), "A", "BE", to=nec.CONTROLLER) == null
    assert command.parse is not None
    with pytest.raises(DisplayNakError, match="null message"):
        command.parse(null)


def test_nec_bad_check_code_is_rejected():
    [command] = nec_op("power", True)
    assert command.parse is not None
    with pytest.raises(DisplayChecksumError, match="check code"):
        command.parse(E4_REP[:-2] + b"\x77\x0d")


def test_nec_reply_from_another_monitor_is_a_wrong_id_error():
    [command] = nec_op("power", True, device_id=2)
    assert command.parse is not None
    with pytest.raises(DisplayWrongIdError, match="monitor ID 1, expected 2"):
        command.parse(E4_REP)
