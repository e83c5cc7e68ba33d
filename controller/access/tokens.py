"""API tokens for integrations: named, scoped to a role, shown once, stored hashed."""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import secrets
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from controller.access.roles import Role
from controller.access.users import AccountError, read_accounts
from controller.errors import NotFoundError, RefusedError
from controller.storage import write_json_atomic

_LOGGER = logging.getLogger(__name__)

TOKENS_FILE = "tokens.json"
TOKEN_PREFIX = "owt_"
TOKEN_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,47}$")


def digest(token: str) -> str:
    """SHA-256 of a token: tokens are 256 random bits, so a fast hash is enough."""
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class ApiToken:
    """A token as stored: its name, role and digest, never the token itself."""

    name: str
    role: Role
    digest: str
    created_at: float
    created_by: str

    def as_json(self) -> dict[str, Any]:
        """The token as the API lists it."""
        return {
            "name": self.name,
            "role": self.role.label,
            "created_at": self.created_at,
            "created_by": self.created_by,
        }


class TokenStore:
    """The tokens in ``<state_dir>/tokens.json``; thread-safe, blocking on writes."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._tokens: dict[str, ApiToken] = {}
        self._lock = threading.Lock()

    def read(self) -> None:
        """Load the tokens file; a missing file means no tokens."""
        tokens = read_accounts(self.path, "tokens", "digest", ApiToken)
        with self._lock:
            self._tokens = tokens

    def all(self) -> list[ApiToken]:
        """Every token, by name."""
        with self._lock:
            return sorted(self._tokens.values(), key=lambda token: token.name)

    def create(self, name: str, role: Role, by: str) -> tuple[ApiToken, str]:
        """A new token ``name``: its record and the token, which is never shown again."""
        if not TOKEN_NAME.match(name):
            raise AccountError(
                f"found token name {name!r}; expected 1 to 48 of a-z 0-9 . _ - "
                "starting with a letter or digit"
            )
        secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
        token = ApiToken(name, role, digest(secret), time.time(), by)
        with self._lock:
            if name in self._tokens:
                raise RefusedError(
                    f"a token named {name!r} exists; revoke it first or pick another name"
                )
            self._tokens[name] = token
            self._write()
        return token, secret

    def revoke(self, name: str) -> ApiToken:
        """Revoke the token ``name`` at once; saved."""
        with self._lock:
            if name not in self._tokens:
                raise NotFoundError("token", name, self._tokens)
            token = self._tokens.pop(name)
            self._write()
        return token

    def find(self, secret: str) -> ApiToken | None:
        """The token whose secret this is, or None."""
        wanted = digest(secret)
        with self._lock:
            tokens = list(self._tokens.values())
        found = None
        for token in tokens:
            if hmac.compare_digest(token.digest, wanted):
                found = token
        return found

    def _write(self) -> None:
        write_json_atomic(
            self.path,
            {
                "tokens": {
                    token.name: {
                        "role": token.role.label,
                        "digest": token.digest,
                        "created_at": token.created_at,
                        "created_by": token.created_by,
                    }
                    for token in self._tokens.values()
                }
            },
        )
