"""ONVIF WS-Discovery: scope parsing, and a real probe between two network namespaces.

WSDiscovery ignores loopback, so the probe runs in one namespace and two simulated
cameras answer from another, joined by a veth pair with private addresses. Nothing
is sent on this machine's own interfaces.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from controller.cameras.onvif import parse_scopes, sighting_from_probe
from controller.cameras.registry import NO_STREAM_REASON, CameraRegistry, Sighting

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
PROBER, RESPONDER = "10.77.0.1", "10.77.0.2"
RUN_TIMEOUT_S = 40


def test_scopes_give_name_model_location_and_hardware_keys() -> None:
    sighting = sighting_from_probe(
        "urn:uuid:1",
        [
            "http://[fe80::1]/onvif/device_service",
            "http://10.0.0.7/onvif/device_service",
        ],
        [
            "onvif://www.onvif.org/name/Junction%203%20Market",
            "onvif://www.onvif.org/hardware/DS-2CD2143G2-I",
            "onvif://www.onvif.org/location/city/Leeds",
            "onvif://www.onvif.org/MAC/02:AA:00:00:00:03",
            "onvif://www.onvif.org/serial/XYZ1",
            "http://example.invalid/not-onvif",
        ],
    )
    assert sighting is not None
    assert sighting.address == "10.0.0.7"
    assert sighting.instance == "Junction 3 Market"
    assert sighting.model == "DS-2CD2143G2-I"
    assert sighting.location == "city Leeds"
    assert (sighting.key, sighting.aliases) == ("mac:02aa00000003", ("serial:XYZ1",))
    assert sighting.url is None


def test_control_characters_in_scopes_are_dropped() -> None:
    assert parse_scopes(["onvif://www.onvif.org/name/Cam%07%1B1"]) == {"name": "Cam1"}


def test_device_without_a_mac_or_serial_is_known_by_its_endpoint() -> None:
    sighting = sighting_from_probe("urn:uuid:abc", ["http://10.0.0.8/"], [])
    assert sighting is not None
    assert (sighting.key, sighting.instance) == ("onvif:urn:uuid:abc", "10.0.0.8")
    assert sighting_from_probe("urn:uuid:abc", [], []) is None


def test_onvif_candidate_merges_with_mdns_by_serial_and_gets_a_reason() -> None:
    registry = CameraRegistry({})
    onvif = sighting_from_probe(
        "urn:uuid:9",
        ["http://10.0.0.9/onvif/device_service"],
        ["onvif://www.onvif.org/serial/SN-9", "onvif://www.onvif.org/name/Yard"],
    )
    assert onvif is not None
    camera = registry.seen(onvif)
    assert camera.candidate and camera.reason == NO_STREAM_REASON
    assert registry.feed(camera.id).url is None

    same = registry.seen(
        Sighting(
            "mdns:_rtsp._tcp.local.",
            "serial:SN-9",
            "Yard cam",
            "rtsp://10.0.0.9:554/s",
            service_type="_rtsp._tcp.local.",
        )
    )

    assert same is camera
    assert len(registry.all()) == 1
    assert camera.as_json()["sources"] == ["mdns:_rtsp._tcp.local.", "onvif"]
    assert not camera.candidate and camera.reason == ""


@pytest.fixture
def namespace_pair() -> Iterator[tuple[str, str]]:
    """Two network namespaces joined by a veth pair; skipped where not permitted."""
    tag = f"ow{os.getpid() % 100000}"
    prober, responder = f"{tag}a", f"{tag}b"
    setup = [
        ["ip", "netns", "add", prober],
        ["ip", "netns", "add", responder],
        [
            "ip",
            "link",
            "add",
            f"{tag}x",
            "netns",
            prober,
            "type",
            "veth",
            "peer",
            "name",
            f"{tag}y",
            "netns",
            responder,
        ],
        ["ip", "-n", prober, "addr", "add", f"{PROBER}/24", "dev", f"{tag}x"],
        ["ip", "-n", responder, "addr", "add", f"{RESPONDER}/24", "dev", f"{tag}y"],
        ["ip", "-n", prober, "link", "set", f"{tag}x", "up", "multicast", "on"],
        ["ip", "-n", responder, "link", "set", f"{tag}y", "up", "multicast", "on"],
        ["ip", "-n", prober, "link", "set", "lo", "up"],
        ["ip", "-n", responder, "link", "set", "lo", "up"],
        ["ip", "-n", prober, "route", "add", "224.0.0.0/4", "dev", f"{tag}x"],
        ["ip", "-n", responder, "route", "add", "224.0.0.0/4", "dev", f"{tag}y"],
    ]
    try:
        for command in setup:
            result = subprocess.run(command, capture_output=True, text=True, timeout=10)
            if result.returncode != 0:
                pytest.skip(
                    f"cannot build a network namespace pair ({' '.join(command)}: "
                    f"{result.stderr.strip()}); ONVIF probe needs root and ip netns"
                )
        yield prober, responder
    finally:
        for name in (prober, responder):
            subprocess.run(
                ["ip", "netns", "del", name], capture_output=True, timeout=10
            )


def test_probe_finds_onvif_cameras_in_another_namespace(
    namespace_pair: tuple[str, str],
) -> None:
    prober, responder = namespace_pair
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    cameras = subprocess.Popen(
        [
            "ip",
            "netns",
            "exec",
            responder,
            sys.executable,
            str(HERE / "onvif_responder.py"),
            RESPONDER,
        ],
        stdout=subprocess.PIPE,
        env=env,
        text=True,
    )
    try:
        assert cameras.stdout is not None
        assert cameras.stdout.readline().strip() == "READY"
        probe = subprocess.run(
            [
                "ip",
                "netns",
                "exec",
                prober,
                sys.executable,
                str(HERE / "onvif_probe.py"),
                PROBER,
            ],
            capture_output=True,
            env=env,
            text=True,
            timeout=RUN_TIMEOUT_S,
        )
    finally:
        cameras.terminate()
        cameras.wait(10)
    assert probe.returncode == 0, probe.stderr
    found = {camera["id"]: camera for camera in json.loads(probe.stdout)}

    assert set(found) == {"mac-02aa00000007", "serial-7g0abcd123"}
    bridge = found["mac-02aa00000007"]
    assert bridge["sources"] == ["mdns:_rtsp._tcp.local.", "onvif"]
    assert bridge["url"] == "rtsp://10.77.0.2:554/stream"
    assert bridge["model"] == "DS-2CD2143G2-I"
    dahua = found["serial-7g0abcd123"]
    assert dahua["candidate"] is True
    assert dahua["reason"] == NO_STREAM_REASON
    assert (dahua["name"], dahua["address"]) == ("IPC", RESPONDER)
    assert dahua["online"] is True
