"""Camera credentials: kept apart from URLs in a file only the service can read.

The secrets file is YAML, mode 0600, one entry per camera id::

    cameras:
      junction-1: {username: admin, password: "p@ss:w/rd?#%€"}

URLs elsewhere (config, API, state files) never carry userinfo. The password is
percent-encoded into the URL only when a player opens the stream, and :func:`redact`
takes it back out of any text that could reach a log, an error or an API reply.
"""

from __future__ import annotations

import logging
import os
import re
import stat
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit, urlunsplit

import yaml

from controller.errors import CameraError

_LOGGER = logging.getLogger(__name__)

SECRETS_FILE = "camera-secrets.yaml"
FILE_MODE = 0o600
REDACTED = "***"

_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.\-]*://)[^\s/?#]*@")
_known_lock = threading.Lock()
_known_secrets: set[str] = set()


@dataclass(frozen=True)
class Credentials:
    """A user name and password for one camera (the password never shows in repr)."""

    username: str
    password: str = field(repr=False)


def with_credentials(url: str, credentials: Credentials | None) -> str:
    """``url`` with the credentials percent-encoded as its userinfo (any old one dropped).

    Every reserved character (``@ # : % / ?``) and non-ASCII text is encoded, so the
    RTSP client splits the URL where we meant; an empty password gives ``user:@host``.
    """
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    if credentials is None:
        return urlunsplit(parts._replace(netloc=host))
    userinfo = (
        f"{quote(credentials.username, safe='')}:{quote(credentials.password, safe='')}"
    )
    return urlunsplit(parts._replace(netloc=f"{userinfo}@{host}"))


def split_credentials(url: str) -> tuple[str, Credentials | None]:
    """Take userinfo out of a URL someone typed: the clean URL and the credentials."""
    parts = urlsplit(url)
    userinfo, at, host = parts.netloc.rpartition("@")
    if not at:
        return url, None
    username, _, password = userinfo.partition(":")
    clean = urlunsplit(parts._replace(netloc=host))
    return clean, Credentials(unquote(username), unquote(password))


def redact(text: str) -> str:
    """``text`` without URL userinfo and without any password this process knows."""
    text = _USERINFO.sub(rf"\1{REDACTED}@", text)
    with _known_lock:
        secrets = sorted(_known_secrets, key=len, reverse=True)
    for secret in secrets:
        text = text.replace(secret, REDACTED)
    return text


def _remember(password: str) -> None:
    # Passwords of three characters or fewer would blank out ordinary words.
    if len(password) > 3:
        with _known_lock:
            _known_secrets.update({password, quote(password, safe="")})


class CameraSecrets:
    """The credentials of every camera, loaded from and saved to the secrets file.

    ``load`` and ``save`` do blocking file I/O: call them in an executor thread.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._entries: dict[str, Credentials] = {}

    def get(self, camera_id: str) -> Credentials | None:
        """The credentials of ``camera_id``, if any were given."""
        return self._entries.get(camera_id)

    def set(self, camera_id: str, credentials: Credentials | None) -> None:
        """Give ``camera_id`` new credentials (None removes them); call save after."""
        if credentials is None:
            self._entries.pop(camera_id, None)
            return
        _remember(credentials.password)
        self._entries[camera_id] = credentials

    def load(self) -> None:
        """Read the secrets file (missing is empty); tighten its mode to 0600."""
        try:
            mode = stat.S_IMODE(self.path.stat().st_mode)
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return
        except OSError as err:
            raise CameraError(
                f"cannot read the camera secrets file {self.path}: {err.strerror}"
            ) from err
        if mode & 0o077:
            _LOGGER.warning(
                "camera secrets file %s was readable by others (mode %o); set to 0600",
                self.path,
                mode,
            )
            os.chmod(self.path, FILE_MODE)
        try:
            data = yaml.safe_load(text) or {}
        except yaml.YAMLError as err:
            mark = getattr(err, "problem_mark", None)
            where = f" line {mark.line + 1}" if mark is not None else ""
            # The parser's message may quote the offending line, password included.
            raise CameraError(
                f"camera secrets file {self.path}{where} is not valid YAML; "
                "fix or remove it"
            ) from None
        cameras = data.get("cameras", {}) if isinstance(data, dict) else None
        if not isinstance(cameras, dict):
            raise CameraError(
                f"camera secrets file {self.path}: expected a 'cameras' mapping of "
                "camera id to {username, password}"
            )
        for camera_id, entry in cameras.items():
            if not isinstance(entry, dict) or "username" not in entry:
                _LOGGER.warning(
                    "camera secrets file %s: entry for camera %r has no username; "
                    "ignored",
                    self.path,
                    camera_id,
                )
                continue
            password = entry.get("password")
            self.set(
                str(camera_id),
                Credentials(
                    str(entry["username"]), "" if password is None else str(password)
                ),
            )

    def save(self) -> None:
        """Write the secrets file atomically with mode 0600 from the first byte."""
        data = {
            "cameras": {
                camera_id: {"username": c.username, "password": c.password}
                for camera_id, c in sorted(self._entries.items())
            }
        }
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(
            prefix=f".{self.path.name}.", suffix=".tmp", dir=self.path.parent
        )
        try:
            os.fchmod(fd, FILE_MODE)
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                yaml.safe_dump(data, handle, allow_unicode=True, sort_keys=True)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise
