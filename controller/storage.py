"""State on disk: JSON files written atomically, so a power cut never leaves half a file."""

from __future__ import annotations

import json
import logging
import os
import tempfile
from pathlib import Path
from typing import Any

_LOGGER = logging.getLogger(__name__)


def write_json_atomic(path: Path, data: Any) -> None:
    """Write ``data`` to ``path`` via write, fsync, rename; keep the previous copy as .bak."""
    text = json.dumps(data, indent=2, sort_keys=True)
    write_text_atomic(path, text, keep_backup=True)


def write_text_atomic(
    path: Path, text: str, mode: int | None = None, keep_backup: bool = False
) -> None:
    """Replace ``path`` so that a power cut leaves either the old or the new file.

    The text goes to a private temporary file beside it (mode 0600 unless ``mode``
    says otherwise), is synced, and is renamed over ``path``; then the directory is
    synced. With ``keep_backup`` the file it replaces stays as ``<name>.bak``.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        if mode is not None:
            try:
                os.chmod(tmp, mode)
            except PermissionError:
                pass  # FAT has no modes: its mount options decide.
    except BaseException:
        os.unlink(tmp)
        raise
    if keep_backup and path.exists():
        os.replace(path, path.with_suffix(path.suffix + ".bak"))
    os.replace(tmp, path)
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


def read_json(path: Path) -> Any | None:
    """The content of ``path``, or of its .bak copy when it is missing or corrupt.

    A corrupt file is moved aside to ``<name>.corrupt`` (for whoever looks into it),
    so that the next write does not make it the backup of the good copy.
    """
    for candidate in (path, path.with_suffix(path.suffix + ".bak")):
        try:
            return json.loads(candidate.read_text(encoding="utf-8"))
        except FileNotFoundError:
            continue
        except (OSError, ValueError) as err:
            aside = candidate.with_suffix(candidate.suffix + ".corrupt")
            _LOGGER.warning(
                "state file %s is unreadable (%s); moved to %s, trying the last good copy",
                candidate,
                err,
                aside.name,
            )
            try:
                os.replace(candidate, aside)
            except OSError as move_err:
                _LOGGER.warning("cannot move %s aside: %s", candidate, move_err)
    return None
