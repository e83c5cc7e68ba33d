"""mDNS discovery on real multicast DNS over 127.0.0.1, with vendor-shaped records."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from mdns_helpers import LOOPBACK, camera_info, raw_announcement, send_on_loopback
from zeroconf import InterfaceChoice, IPVersion
from zeroconf.asyncio import AsyncZeroconf

from controller.cameras.mdns import AXIS, HTTP, RTSP, MdnsDiscovery
from controller.cameras.registry import CameraRegistry
from controller.config.schema import CameraSpec
from controller.errors import CameraError
from tests.conftest import wait_for

AXIS_TXT = {"macaddress": "ACCC8E0A1B2C", "model": "P1465-LE"}
GENERIC_TXT = {
    "path": "live/ch0",
    "subpath": "live/ch1",
    "vendor": "Acme Encoders",
    "model": "ENC-4",
    "mac": "02:00:5e:10:00:01",
}


@pytest.fixture
async def announcer() -> AsyncIterator[AsyncZeroconf]:
    zc = AsyncZeroconf(interfaces=[LOOPBACK], ip_version=IPVersion.V4Only)
    yield zc
    await zc.async_unregister_all_services()
    await zc.async_close()


@pytest.fixture
async def registry(tmp_path: Path) -> AsyncIterator[CameraRegistry]:
    registry = CameraRegistry(
        {"junction-9": CameraSpec(name="Dock Rd", match={"mac": "ac:cc:8e:0a:1b:2c"})},
        state_dir=tmp_path,
    )
    await registry.load()
    discovery = MdnsDiscovery(registry, [LOOPBACK])
    await discovery.start()
    yield registry
    await discovery.stop()
    await registry.flush()


async def test_axis_and_generic_cameras_appear_with_stable_ids(
    announcer: AsyncZeroconf, registry: CameraRegistry
) -> None:
    axis = camera_info(
        AXIS,
        "AXIS P1465-LE - ACCC8E0A1B2C",
        "192.0.2.10",
        80,
        AXIS_TXT,
        host="axis-accc8e0a1b2c.local.",
    )
    generic = camera_info(RTSP, "Encoder 4 ch0", "192.0.2.20", 8554, GENERIC_TXT)
    await announcer.async_register_service(axis, cooperating_responders=True)
    await announcer.async_register_service(generic, cooperating_responders=True)

    await wait_for(
        lambda: "mac-02005e100001" in registry and registry.get("junction-9").sources,
        5,
        "both cameras",
    )

    junction = registry.get("junction-9").as_json()
    assert junction["url"] == "rtsp://192.0.2.10:554/axis-media/media.amp"
    assert (junction["vendor"], junction["model"]) == ("Axis", "P1465-LE")
    assert junction["name"] == "Dock Rd"
    encoder = registry.get("mac-02005e100001").as_json()
    assert encoder["url"] == "rtsp://192.0.2.20:8554/live/ch0"
    assert encoder["substream_url"] == "rtsp://192.0.2.20:8554/live/ch1"
    assert encoder["name"] == "Encoder 4 ch0"
    assert encoder["vendor"] == "Acme Encoders"
    assert encoder["online"] is True


async def test_http_service_counts_only_when_marked_as_a_camera(
    announcer: AsyncZeroconf, registry: CameraRegistry
) -> None:
    printer = camera_info(HTTP, "Office printer", "192.0.2.30", 80, {"ty": "Laser"})
    camera = camera_info(
        HTTP,
        "Yard cam",
        "192.0.2.31",
        80,
        {"type": "camera", "path": "/h264"},
        host="yard.local.",
    )
    await announcer.async_register_service(printer, cooperating_responders=True)
    await announcer.async_register_service(camera, cooperating_responders=True)

    await wait_for(lambda: "yard-cam" in registry, 5, "the marked camera")
    time_for_printer = time.monotonic() + 0.5
    await wait_for(lambda: time.monotonic() > time_for_printer, 1, "a moment")
    assert "office-printer" not in registry
    assert registry.get("yard-cam").stream_url == "rtsp://192.0.2.31:554/h264"


async def test_address_change_and_rename_keep_the_id(
    announcer: AsyncZeroconf, registry: CameraRegistry
) -> None:
    info = camera_info(RTSP, "Encoder 4 ch0", "192.0.2.20", 8554, GENERIC_TXT)
    await announcer.async_register_service(info, cooperating_responders=True)
    await wait_for(lambda: "mac-02005e100001" in registry, 5, "the camera")

    moved = camera_info(RTSP, "Encoder 4 ch0", "192.0.2.99", 8554, GENERIC_TXT)
    await announcer.async_update_service(moved)
    camera = registry.get("mac-02005e100001")
    await wait_for(
        lambda: camera.stream_url == "rtsp://192.0.2.99:8554/live/ch0", 5, "new address"
    )

    await announcer.async_unregister_service(moved)
    renamed = camera_info(RTSP, "Quay Street", "192.0.2.99", 8554, GENERIC_TXT)
    await announcer.async_register_service(renamed, cooperating_responders=True)
    await wait_for(
        lambda: any(s.instance == "Quay Street" for s in camera.sources.values()),
        5,
        "the renamed announcement",
    )
    await wait_for(lambda: camera.online, 3, "camera online after the rename")
    assert not any(c.name == "Quay Street" for c in registry.all())


async def test_goodbye_takes_the_camera_offline_within_two_seconds(
    announcer: AsyncZeroconf, registry: CameraRegistry
) -> None:
    info = camera_info(RTSP, "Encoder 4 ch0", "192.0.2.20", 8554, GENERIC_TXT)
    await announcer.async_register_service(info, cooperating_responders=True)
    await wait_for(lambda: "mac-02005e100001" in registry, 5, "the camera")
    camera = registry.get("mac-02005e100001")

    said_goodbye = time.monotonic()
    await announcer.async_unregister_service(info)
    await wait_for(lambda: not camera.online, 2.0, "the camera to go offline")

    assert time.monotonic() - said_goodbye < 2.0
    assert camera.as_json()["reason"] == "camera left the network"
    assert registry.feed(camera.id).url is None


async def test_expired_record_takes_the_camera_offline(
    announcer: AsyncZeroconf, registry: CameraRegistry
) -> None:
    info = camera_info(
        RTSP, "Short lived", "192.0.2.40", 554, {"path": "/s"}, host="s.local.", ttl_s=2
    )
    await announcer.async_register_service(info, cooperating_responders=True)
    await wait_for(lambda: "short-lived" in registry, 5, "the camera")

    # The camera dies without a goodbye: its responder simply stops answering.
    announcer.zeroconf.registry.async_remove(info)
    camera = registry.get("short-lived")
    await wait_for(lambda: not camera.online, 7, "the record to expire")


async def test_malformed_records_are_logged_once_and_browsing_goes_on(
    announcer: AsyncZeroconf,
    registry: CameraRegistry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING)
    long_name = (
        ("Kamera Bahnhofstraße Süd ☃ " * 4).encode()[:63].decode("utf-8", "ignore")
    )
    unicode_cam = camera_info(
        RTSP,
        long_name,
        "192.0.2.50",
        554,
        {"path": "/s", "vendor": b"\xff\xfeACME"},
        host="long.local.",
    )
    await announcer.async_register_service(unicode_cam, cooperating_responders=True)
    for _ in range(3):
        send_on_loopback(
            raw_announcement(b"Cam \xff\xfe bad", "192.0.2.51", 554, [b"path=/a"])
        )
        send_on_loopback(
            raw_announcement(b"Bell\x07\x1b[31m cam", "192.0.2.52", 554, [b"path=/b"])
        )
        send_on_loopback(raw_announcement(b"\x01\x02", "192.0.2.53", 554, [b"x"]))
    good = camera_info(
        RTSP, "After the junk", "192.0.2.60", 554, {"path": "/s"}, host="good.local."
    )
    await announcer.async_register_service(good, cooperating_responders=True)

    await wait_for(lambda: "after-the-junk" in registry, 5, "the good camera")
    wanted = {long_name, "Cam \ufffd\ufffd bad"}
    await wait_for(
        lambda: wanted <= {c.name for c in registry.all()}, 5, "the odd names too"
    )

    names = {c.name for c in registry.all()}
    assert long_name in names
    assert "Cam \ufffd\ufffd bad" in names
    assert not any(name.startswith("Bell") for name in names)
    assert registry.get(registry.all()[-1].id).online
    unicode_camera = next(c for c in registry.all() if c.name == long_name)
    assert unicode_camera.as_json()["vendor"] == "\ufffd\ufffdACME"
    warnings = [
        r.getMessage() for r in caplog.records if "\\x01\\x02" in r.getMessage()
    ]
    assert len(warnings) == 1, warnings
    assert "skipping malformed mDNS record" in warnings[0]


async def test_all_interfaces_in_the_config_joins_on_every_interface(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # The appliance's config says interfaces: all (the default). zeroconf refuses the
    # string itself, so it must become InterfaceChoice.All. Recorded, not started: this
    # test must not multicast.
    seen: list[object] = []

    class Recorder:
        def __init__(self, interfaces: object, ip_version: object) -> None:
            seen.append(interfaces)
            raise OSError("not started in this test")

    monkeypatch.setattr("controller.cameras.mdns.AsyncZeroconf", Recorder)
    discovery = MdnsDiscovery(CameraRegistry({}, state_dir=tmp_path), "all")
    with pytest.raises(CameraError, match="cannot join multicast DNS on all"):
        await discovery.start()
    assert seen == [InterfaceChoice.All]
