"""Accounts of the web remote: a name, a role and a PIN or password hashed with Argon2id.

The users file lives in the state dir. Every method that hashes or writes blocks for tens
of milliseconds: callers on the event loop run them in an executor.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from controller.access.roles import Role
from controller.errors import NotFoundError, OpswallError
from controller.storage import read_json, write_json_atomic

_LOGGER = logging.getLogger(__name__)

AccountT = TypeVar("AccountT")

USERS_FILE = "users.json"
#: The built-in account whose password is the appliance's admin secret.
ADMIN_USER = "admin"
MIN_PIN_DIGITS = 6
MIN_PASSWORD_CHARS = 10
USER_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,31}$")

# Argon2id at the OWASP minimum (19 MiB, 2 passes): about 30 ms on a Raspberry Pi 4.
_HASHER = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)


class AccountError(OpswallError, ValueError):
    """A user name, role or secret the users file does not accept."""

    http_status = 400


def hash_secret(secret: str) -> str:
    """The Argon2id hash of a PIN or password (blocks ~30 ms)."""
    return _HASHER.hash(secret)


def verify_secret(hashed: str, secret: str) -> bool:
    """True if ``secret`` matches ``hashed`` (blocks ~30 ms)."""
    try:
        return _HASHER.verify(hashed, secret)
    except (VerificationError, InvalidHashError):
        return False


def check_secret(secret: str) -> None:
    """Refuse a PIN shorter than 6 digits or a password shorter than 10 characters."""
    if secret.isdigit() and len(secret) >= MIN_PIN_DIGITS:
        return
    if len(secret) >= MIN_PASSWORD_CHARS:
        return
    raise AccountError(
        f"found a secret of {len(secret)} characters; expected a PIN of at least "
        f"{MIN_PIN_DIGITS} digits or a password of at least {MIN_PASSWORD_CHARS} "
        "characters"
    )


@dataclass(frozen=True)
class User:
    """An account: its name, role and the hash of its PIN or password."""

    name: str
    role: Role
    hash: str
    created_at: float
    created_by: str

    def as_json(self) -> dict[str, Any]:
        """The account as the API shows it (never the hash)."""
        return {
            "name": self.name,
            "role": self.role.label,
            "created_at": self.created_at,
            "created_by": self.created_by,
        }


class UserStore:
    """The accounts in ``<state_dir>/users.json``; thread-safe, blocking."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._users: dict[str, User] = {}
        self._lock = threading.Lock()
        self._dummy_hash = hash_secret("not a real secret at all")

    def read(self) -> None:
        """Load the users file; a missing file means no accounts yet."""
        users = read_accounts(self.path, "users", "hash", User)
        with self._lock:
            self._users = users

    def all(self) -> list[User]:
        """Every account, by name."""
        with self._lock:
            return sorted(self._users.values(), key=lambda user: user.name)

    def get(self, name: str) -> User:
        """The account ``name``; NotFoundError if there is none."""
        with self._lock:
            if name not in self._users:
                raise NotFoundError("user", name, self._users)
            return self._users[name]

    def set(self, name: str, role: Role, secret: str | None, by: str) -> User:
        """Add the account or change its role and (when given) its secret; saved."""
        if name == ADMIN_USER or not USER_NAME.match(name):
            raise AccountError(
                f"found user name {name!r}; expected 1 to 32 of a-z 0-9 . _ - "
                f"starting with a letter or digit, and not {ADMIN_USER!r} (built in)"
            )
        with self._lock:
            old = self._users.get(name)
        if old is None and secret is None:
            raise AccountError(f"user {name!r} is new: a PIN or password is needed")
        if secret is not None:
            check_secret(secret)
        hashed = hash_secret(secret) if secret is not None else old.hash  # type: ignore[union-attr]
        user = User(
            name,
            role,
            hashed,
            old.created_at if old else time.time(),
            old.created_by if old else by,
        )
        with self._lock:
            self._users[name] = user
            self._write()
        return user

    def remove(self, name: str) -> None:
        """Delete the account ``name``; saved."""
        with self._lock:
            if name not in self._users:
                raise NotFoundError("user", name, self._users)
            del self._users[name]
            self._write()

    def verify(self, name: str, secret: str) -> User | None:
        """The account if ``secret`` is its PIN or password, else None.

        An unknown name costs a hash as well, so timing does not tell names apart.
        """
        with self._lock:
            user = self._users.get(name)
        if user is None:
            verify_secret(self._dummy_hash, secret)
            return None
        return user if verify_secret(user.hash, secret) else None

    def _write(self) -> None:
        write_json_atomic(
            self.path,
            {
                "users": {
                    user.name: {
                        "role": user.role.label,
                        "hash": user.hash,
                        "created_at": user.created_at,
                        "created_by": user.created_by,
                    }
                    for user in self._users.values()
                }
            },
        )
        self.path.chmod(0o600)


def read_accounts(
    path: Path, section: str, secret_key: str, make: Callable[..., AccountT]
) -> dict[str, AccountT]:
    """The accounts in ``section`` of the JSON file at ``path`` (users or API tokens),
    each made as ``make(name, role, secret, created_at, created_by)``. A missing
    file means none; an entry that cannot be read is logged and skipped, the others
    kept."""
    data = read_json(path) or {}
    accounts = {}
    for name, entry in (data.get(section) or {}).items():
        try:
            accounts[name] = make(
                name,
                Role.parse(entry["role"]),
                entry[secret_key],
                float(entry.get("created_at", 0)),
                str(entry.get("created_by", "")),
            )
        except (KeyError, TypeError, ValueError) as err:
            _LOGGER.warning("%s file %s: skipping %r (%s)", section, path, name, err)
    return accounts
