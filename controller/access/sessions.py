"""Sessions of the web remote: a cookie per tablet, its CSRF token, idle expiry."""

from __future__ import annotations

import hmac
import secrets
import time
from collections import OrderedDict
from dataclasses import dataclass, field

from controller.access.roles import Role

SESSION_COOKIE = "opswall_session"
CSRF_COOKIE = "opswall_csrf"
CSRF_HEADER = "X-CSRF-Token"
#: Sessions kept at most; the least recently used is ended first.
MAX_SESSIONS = 1024


@dataclass
class Session:
    """A logged-in tablet: who, with which role, since when, its CSRF token."""

    id: str
    user: str
    role: Role
    ip: str
    agent: str
    csrf: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    created_at: float = field(default_factory=time.time)
    last_seen: float = field(default_factory=time.monotonic)

    def csrf_matches(self, token: str | None) -> bool:
        """True if ``token`` is this session's CSRF token (constant time)."""
        return token is not None and hmac.compare_digest(token, self.csrf)


class SessionStore:
    """Sessions in memory (a restart logs every tablet out), ended after idling."""

    def __init__(self, idle_s: float, max_sessions: int = MAX_SESSIONS) -> None:
        self.idle_s = idle_s
        self.max_sessions = max_sessions
        self._sessions: OrderedDict[str, Session] = OrderedDict()

    def __len__(self) -> int:
        return len(self._sessions)

    def start(self, user: str, role: Role, ip: str, agent: str) -> Session:
        """A new session for ``user``."""
        session = Session(secrets.token_urlsafe(32), user, role, ip, agent)
        self._sessions[session.id] = session
        while len(self._sessions) > self.max_sessions:
            self._sessions.popitem(last=False)
        return session

    def get(self, session_id: str | None) -> Session | None:
        """The live session with this id, marked as used; None if unknown or idle."""
        if not session_id:
            return None
        session = self._sessions.get(session_id)
        if session is None:
            return None
        now = time.monotonic()
        if now - session.last_seen > self.idle_s:
            del self._sessions[session_id]
            return None
        session.last_seen = now
        self._sessions.move_to_end(session_id)
        return session

    def end(self, session_id: str) -> None:
        """Log out."""
        self._sessions.pop(session_id, None)

    def end_user(self, user: str) -> int:
        """End every session of ``user`` (deleted, or role changed); how many."""
        ids = [sid for sid, session in self._sessions.items() if session.user == user]
        for sid in ids:
            del self._sessions[sid]
        return len(ids)
