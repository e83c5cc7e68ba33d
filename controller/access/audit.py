"""The audit log: who did what to the wall, from where, and what came of it.

Append-only JSON lines in ``<state_dir>/audit.jsonl``, rotated by size into
``audit.jsonl.1`` … ``.N``. Writes run on one worker thread, in order, never on the loop.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from controller.cameras.secrets import redact as redact_camera_secrets

_LOGGER = logging.getLogger(__name__)

AUDIT_FILE = "audit.jsonl"
#: Most entries one read of the log returns.
MAX_TAIL = 1000
#: Keys whose values never reach the log.
SECRET_KEYS = re.compile(r"pass|secret|pin|token|code", re.IGNORECASE)


def redact(value: Any) -> Any:
    """``value`` with secrets masked: secret-named keys, URL userinfo, camera passwords."""
    if isinstance(value, dict):
        return {
            key: "***" if SECRET_KEYS.search(str(key)) and item else redact(item)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [redact(item) for item in value]
    if isinstance(value, str):
        return redact_camera_secrets(value)[:500]
    return value


class AuditLog:
    """Records entries to the audit file; reads the latest back for admins."""

    def __init__(self, path: Path, max_bytes: int, keep: int) -> None:
        self.path = path
        self.max_bytes = max_bytes
        self.keep = keep
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="audit")
        self._failing = False

    def record(
        self,
        action: str,
        who: dict[str, Any],
        where: dict[str, Any],
        result: str,
        target: str | None = None,
        details: dict[str, Any] | None = None,
        status: int | None = None,
        error: str | None = None,
    ) -> dict[str, Any]:
        """Append one entry (written in the background, in order); the entry."""
        now = time.time()
        entry: dict[str, Any] = {
            "at": now,
            "time": datetime.fromtimestamp(now, UTC).isoformat(timespec="milliseconds"),
            "action": action,
            "target": target,
            "who": who,
            "from": where,
            "result": result,
        }
        if details:
            entry["details"] = redact(details)
        if status is not None:
            entry["status"] = status
        if error:
            entry["error"] = redact(error)
        line = json.dumps(entry, sort_keys=True, default=str)
        self._writer.submit(self._append, line)
        return entry

    async def tail(self, limit: int) -> list[dict[str, Any]]:
        """The latest ``limit`` entries, newest first (after every pending write)."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(
            self._writer, self._tail, min(limit, MAX_TAIL)
        )

    def close(self) -> None:
        """Write what is pending, then stop the writer."""
        self._writer.shutdown(wait=True)

    def _append(self, line: str) -> None:
        try:
            data = (line + "\n").encode()
            try:
                size = self.path.stat().st_size
            except FileNotFoundError:
                size = 0
            if size and size + len(data) > self.max_bytes:
                self._rotate()
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                os.write(fd, data)
                os.fsync(fd)
            finally:
                os.close(fd)
            if self._failing:
                _LOGGER.info("audit log %s is written again", self.path)
                self._failing = False
        except OSError as err:
            if not self._failing:
                _LOGGER.error("cannot write the audit log %s: %s", self.path, err)
                self._failing = True

    def _rotate(self) -> None:
        oldest = self._numbered(self.keep)
        oldest.unlink(missing_ok=True)
        for number in range(self.keep - 1, 0, -1):
            source = self._numbered(number)
            if source.exists():
                os.replace(source, self._numbered(number + 1))
        os.replace(self.path, self._numbered(1))
        _LOGGER.info(
            "audit log %s rotated (keeping %d old files)", self.path, self.keep
        )

    def _numbered(self, number: int) -> Path:
        return self.path.with_name(f"{self.path.name}.{number}")

    def _tail(self, limit: int) -> list[dict[str, Any]]:
        entries: list[dict[str, Any]] = []
        for path in [self.path, *(self._numbered(n) for n in range(1, self.keep + 1))]:
            try:
                lines = path.read_text(encoding="utf-8").splitlines()
            except FileNotFoundError:
                continue
            except OSError as err:
                _LOGGER.warning("cannot read the audit log %s: %s", path, err)
                continue
            for line in reversed(lines):
                try:
                    entries.append(json.loads(line))
                except ValueError:
                    continue
                if len(entries) >= limit:
                    return entries
        return entries
