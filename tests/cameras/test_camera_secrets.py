"""Credentials: kept apart from URLs, encoded when played, redacted everywhere else."""

from __future__ import annotations

import json
import logging
import os
import stat
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

from controller.cameras.registry import CameraRegistry, InvalidCameraError, Sighting
from controller.cameras.secrets import (
    CameraSecrets,
    Credentials,
    redact,
    split_credentials,
    with_credentials,
)
from controller.config.schema import CameraSpec
from controller.errors import RefusedError


def test_password_with_reserved_characters_is_percent_encoded(
    nasty_password: str,
) -> None:
    url = with_credentials(
        "rtsp://10.0.0.5:554/stream?channel=1", Credentials("op er", nasty_password)
    )

    parts = urlsplit(url)
    assert parts.hostname == "10.0.0.5"
    assert parts.port == 554
    assert parts.path == "/stream"
    assert parts.query == "channel=1"
    assert unquote(parts.username or "") == "op er"
    assert unquote(parts.password or "") == nasty_password


def test_empty_password_gives_user_and_colon() -> None:
    url = with_credentials("rtsp://cam:554/s", Credentials("admin", ""))
    assert url == "rtsp://admin:@cam:554/s"


def test_old_userinfo_is_replaced_not_kept() -> None:
    url = with_credentials("rtsp://old:secret@cam/s", Credentials("new", "pw"))
    assert url == "rtsp://new:pw@cam/s"
    assert with_credentials("rtsp://old:secret@cam/s", None) == "rtsp://cam/s"


def test_typed_url_with_userinfo_is_split(nasty_password: str) -> None:
    typed = with_credentials("rtsp://cam:8554/live", Credentials("op", nasty_password))
    clean, credentials = split_credentials(typed)
    assert clean == "rtsp://cam:8554/live"
    assert credentials == Credentials("op", nasty_password)


def test_redact_removes_userinfo_and_known_passwords(
    tmp_path: Path, nasty_password: str
) -> None:
    secrets = CameraSecrets(tmp_path / "s.yaml")
    secrets.set("cam", Credentials("op", nasty_password))
    encoded = with_credentials("rtsp://cam/s", Credentials("op", nasty_password))

    text = redact(f"cannot open {encoded}; raw {nasty_password} seen")

    assert "rtsp://***@cam/s" in text
    assert nasty_password not in text
    assert "p%40ss" not in text


def test_secrets_file_is_written_0600_and_read_back(
    tmp_path: Path, nasty_password: str
) -> None:
    path = tmp_path / "camera-secrets.yaml"
    secrets = CameraSecrets(path)
    secrets.set("junction-1", Credentials("admin", nasty_password))
    secrets.set("junction-2", Credentials("viewer", ""))
    secrets.save()

    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    again = CameraSecrets(path)
    again.load()
    assert again.get("junction-1") == Credentials("admin", nasty_password)
    assert again.get("junction-2") == Credentials("viewer", "")


def test_secrets_file_readable_by_others_is_tightened(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "camera-secrets.yaml"
    path.write_text("cameras:\n  cam: {username: a, password: b}\n")
    os.chmod(path, 0o644)

    CameraSecrets(path).load()

    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert "was readable by others (mode 644); set to 0600" in caplog.text


async def test_camera_added_with_credentials_in_url_keeps_them_apart(
    tmp_path: Path, nasty_password: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    secrets = CameraSecrets(tmp_path / "camera-secrets.yaml")
    registry = CameraRegistry({}, state_dir=tmp_path, secrets=secrets)
    typed = with_credentials(
        "rtsp://10.1.2.3:554/main", Credentials("op", nasty_password)
    )

    camera = await registry.add("Gate 7", typed, location="North gate")

    assert camera.id == "gate-7"
    reply = json.dumps(camera.as_json())
    stored = (tmp_path / "cameras.json").read_text()
    for text in (reply, stored, caplog.text):
        assert nasty_password not in text
        assert "p%40ss" not in text
    assert camera.as_json()["url"] == "rtsp://10.1.2.3:554/main"
    assert camera.as_json()["credentials"] is True
    feed = registry.feed("gate-7")
    assert feed.url is not None
    assert unquote(urlsplit(feed.url).password or "") == nasty_password


async def test_operator_fields_and_added_cameras_survive_a_restart(
    tmp_path: Path,
) -> None:
    specs = {
        "junction-1": CameraSpec(name="Harbour Rd", match={"mac": "02:4f:57:00:00:01"})
    }
    registry = CameraRegistry(specs, state_dir=tmp_path)
    await registry.load()
    await registry.add(
        "Depot", "rtsp://10.0.0.9/s", substream_url="rtsp://10.0.0.9/sub"
    )
    await registry.update("junction-1", name="Quay St", location="J1", hidden=True)
    registry.seen(
        Sighting(
            "mdns:_rtsp._tcp.local.", "instance:Lobby", "Lobby", "rtsp://1.2.3.4/s"
        )
    )
    await registry.update("lobby", location="Town hall")
    await registry.flush()

    again = CameraRegistry(specs, state_dir=tmp_path)
    await again.load()

    j1 = again.get("junction-1")
    assert (j1.name, j1.location, j1.hidden) == ("Quay St", "J1", True)
    depot = again.get("depot")
    assert depot.as_json()["origin"] == "api"
    assert depot.sub_url == "rtsp://10.0.0.9/sub"
    lobby = again.seen(
        Sighting(
            "mdns:_rtsp._tcp.local.", "instance:Lobby", "Lobby", "rtsp://1.2.3.9/s"
        )
    )
    assert (lobby.id, lobby.location) == ("lobby", "Town hall")


async def test_only_cameras_added_by_url_can_be_removed(tmp_path: Path) -> None:
    registry = CameraRegistry(
        {"junction-1": CameraSpec(url="rtsp://1.1.1.1/s")}, state_dir=tmp_path
    )
    await registry.add("Depot", "rtsp://10.0.0.9/s")
    registry.seen(
        Sighting("onvif", "mac:0242ac110002", "Cam", None, address="10.0.0.2")
    )

    await registry.remove("depot")

    assert "depot" not in registry
    with pytest.raises(RefusedError, match="defined in the config file"):
        await registry.remove("junction-1")
    with pytest.raises(RefusedError, match="hide it instead"):
        await registry.remove("mac-0242ac110002")
    again = CameraRegistry({}, state_dir=tmp_path)
    await again.load()
    assert "depot" not in again


async def test_url_that_is_not_a_stream_is_refused_without_echoing_it(
    tmp_path: Path,
) -> None:
    registry = CameraRegistry({}, state_dir=tmp_path)
    with pytest.raises(InvalidCameraError) as caught:
        await registry.add("X", "ftp://user:hunter22@cam/s")
    assert "hunter22" not in str(caught.value)
    assert "got scheme 'ftp'" in str(caught.value)
