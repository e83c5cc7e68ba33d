"""Login throttling: a client address or an account is locked after repeated failures."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

#: Keys remembered at most; the least recently failed are forgotten first.
MAX_KEYS = 4096
#: Failures older than this no longer count.
FAILURE_WINDOW_S = 15 * 60.0
#: Longest lock, however often the lock was earned again.
MAX_LOCKOUT_S = 15 * 60.0


@dataclass
class _Record:
    failures: int
    first_at: float
    locked_until: float


class LoginThrottle:
    """Counts failed logins per key (``ip:…``, ``user:…``) in bounded memory.

    After ``max_failures`` failures within the window the key is locked for
    ``lockout_s``, doubled for each further failure, up to MAX_LOCKOUT_S.
    """

    def __init__(
        self,
        max_failures: int,
        lockout_s: float,
        max_keys: int = MAX_KEYS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_failures = max_failures
        self.lockout_s = lockout_s
        self.max_keys = max_keys
        self._clock = clock
        self._records: OrderedDict[str, _Record] = OrderedDict()

    def __len__(self) -> int:
        return len(self._records)

    def retry_after(self, *keys: str) -> float:
        """Seconds until every key may try again; 0 if none is locked."""
        now = self._clock()
        waits = [
            record.locked_until - now
            for key in keys
            if (record := self._records.get(key)) is not None
        ]
        return max([0.0, *waits])

    def failed(self, *keys: str) -> None:
        """Count a failure against each key."""
        now = self._clock()
        for key in keys:
            record = self._records.pop(key, None)
            if record is None or now - record.first_at > FAILURE_WINDOW_S:
                record = _Record(0, now, 0.0)
            record.failures += 1
            extra = record.failures - self.max_failures
            if extra >= 0:
                lock = min(self.lockout_s * 2 ** min(extra, 16), MAX_LOCKOUT_S)
                record.locked_until = now + lock
            self._records[key] = record
        while len(self._records) > self.max_keys:
            self._records.popitem(last=False)

    def succeeded(self, *keys: str) -> None:
        """Forget the failures of each key."""
        for key in keys:
            self._records.pop(key, None)
