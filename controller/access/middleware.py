"""The gate of the API: who is calling, may they, and what came of it (audited).

One middleware looks up each /api route's rule in ``policy.ROUTES``, identifies the
caller (bearer token or session cookie), checks CSRF and Origin for changes, refuses
what the caller's role does not allow, and records every change in the audit log.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import math
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web

from controller.access.audit import AUDIT_FILE, AuditLog
from controller.access.config import AccessSpec
from controller.access.policy import Rule, rule_for
from controller.access.roles import Role
from controller.access.sessions import (
    CSRF_HEADER,
    SESSION_COOKIE,
    Session,
    SessionStore,
)
from controller.access.throttle import LoginThrottle
from controller.access.tokens import TOKENS_FILE, TokenStore
from controller.access.users import ADMIN_USER, USERS_FILE, UserStore, hash_secret
from controller.access.users import verify_secret as _verify
from controller.errors import OpswallError
from controller.web import strict_json

_LOGGER = logging.getLogger(__name__)

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
EVENTS_PATH = "/api/v1/events"
#: Routes that answer while the one-time setup is pending.
SETUP_PATHS = frozenset({"/api/v1/setup", "/api/v1/session"})
#: The admin secret used as a bearer token appears in the audit log under this name.
ADMIN_SECRET_TOKEN = "admin-secret"
MAX_AGENT_CHARS = 200
#: Close code of an event socket whose credential ended (logout, revoked, user changed).
CREDENTIAL_ENDED_CLOSE = 4401
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; "
    "img-src 'self' data: blob:; connect-src 'self'; object-src 'none'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


@dataclass(frozen=True)
class Caller:
    """Who made a request: a user (by session or login) or a named API token."""

    role: Role
    user: str | None = None
    token: str | None = None
    session: Session | None = None

    @property
    def label(self) -> str:
        """``user NAME`` or ``token NAME``, as origins and messages say it."""
        return f"user {self.user}" if self.user else f"token {self.token}"

    def who(self) -> dict[str, Any]:
        """The audit log's ``who``."""
        who: dict[str, Any] = {"role": self.role.label}
        if self.user:
            who["user"] = self.user
        if self.token:
            who["token"] = self.token
        return who


CALLER_KEY = web.RequestKey("caller", Caller)


class _Denied(Exception):
    def __init__(self, status: int, message: str, **headers: str) -> None:
        super().__init__(message)
        self.status = status
        self.headers = headers

    def response(self) -> web.Response:
        return web.json_response(
            {"error": str(self)}, status=self.status, headers=self.headers
        )


class Access:
    """Accounts, sessions, tokens, throttle and audit log of one service."""

    def __init__(
        self,
        spec: AccessSpec,
        state_dir: Path,
        admin_secret: str | None,
        tls: bool = False,
        setup_code: str | None = None,
    ) -> None:
        self.spec = spec
        self.state_dir = state_dir
        self.tls = tls
        self.users = UserStore(state_dir / USERS_FILE)
        self.tokens = TokenStore(state_dir / TOKENS_FILE)
        self.sessions = SessionStore(spec.session_idle_s)
        self.throttle = LoginThrottle(spec.login_max_failures, spec.login_lockout_s)
        self.audit = AuditLog(
            state_dir / AUDIT_FILE, spec.audit_max_bytes, spec.audit_keep
        )
        self.setup_code = setup_code if admin_secret is None else None
        self._admin_digest: bytes | None = None
        self._admin_hash: str | None = None
        self._admin_secret = admin_secret
        self._sockets: dict[web.WebSocketResponse, Caller] = {}
        self._closing: set[asyncio.Task[bool]] = set()

    @property
    def needs_setup(self) -> bool:
        """True while the one-time setup has not set an admin secret."""
        return self.setup_code is not None

    async def start(self) -> None:
        """Read the users and tokens files; hash the admin secret."""
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, self.users.read)
        await loop.run_in_executor(None, self.tokens.read)
        if self._admin_secret is not None:
            await self.set_admin_secret(self._admin_secret)
        self._admin_secret = None

    async def set_admin_secret(self, secret: str) -> None:
        """Use ``secret`` as the admin's password and bearer token from now on."""
        loop = asyncio.get_running_loop()
        self._admin_hash = await loop.run_in_executor(None, hash_secret, secret)
        self._admin_digest = hashlib.sha256(secret.encode()).digest()
        self.setup_code = None

    def close(self) -> None:
        """Write the audit entries still pending."""
        self.audit.close()

    async def check_login(self, name: str, secret: str) -> Caller | None:
        """The caller if ``secret`` is the PIN or password of ``name``, else None."""
        loop = asyncio.get_running_loop()
        if name == ADMIN_USER:
            admin_hash = self._admin_hash
            if admin_hash is None:
                return None
            ok = await loop.run_in_executor(None, _verify, admin_hash, secret)
            return Caller(Role.ADMIN, user=ADMIN_USER) if ok else None
        user = await loop.run_in_executor(None, self.users.verify, name, secret)
        return Caller(user.role, user=user.name) if user else None

    def bearer(self, secret: str) -> Caller | None:
        """The caller a bearer token stands for, or None if unknown or revoked."""
        digest = hashlib.sha256(secret.encode()).digest()
        if self._admin_digest is not None and hmac.compare_digest(
            digest, self._admin_digest
        ):
            return Caller(Role.ADMIN, token=ADMIN_SECRET_TOKEN)
        token = self.tokens.find(secret)
        return Caller(token.role, token=token.name) if token else None

    def identify(self, request: web.Request) -> Caller | None:
        """The caller of ``request``; None if anonymous; _Denied for a bad token."""
        header = request.headers.get("Authorization")
        if header is not None:
            scheme, _, value = header.strip().partition(" ")
            if scheme.lower() != "bearer" or not value.strip():
                raise _Denied(
                    401,
                    "the Authorization header must be 'Bearer TOKEN'",
                    **{"WWW-Authenticate": 'Bearer realm="opswall"'},
                )
            caller = self.bearer(value.strip())
            if caller is None:
                raise _Denied(
                    401,
                    "unknown or revoked API token",
                    **{
                        "WWW-Authenticate": 'Bearer realm="opswall", error="invalid_token"'
                    },
                )
            return caller
        session = self.sessions.get(request.cookies.get(SESSION_COOKIE))
        if session is None:
            return None
        return Caller(session.role, user=session.user, session=session)

    @contextmanager
    def watching(
        self, ws: web.WebSocketResponse, caller: Caller | None
    ) -> Iterator[None]:
        """Keep ``ws`` known while it is open, so ending its credential closes it."""
        if caller is None:
            yield
            return
        self._sockets[ws] = caller
        try:
            yield
        finally:
            self._sockets.pop(ws, None)

    def close_sockets(
        self,
        *,
        token: str | None = None,
        session_id: str | None = None,
        user: str | None = None,
    ) -> int:
        """Close the event sockets opened with this token, session or user's sessions.

        A revoked token or an ended session stops receiving the wall's state at once,
        not at the next request. Returns how many sockets are being closed.
        """
        closing = [
            ws
            for ws, caller in self._sockets.items()
            if (token is not None and caller.token == token)
            or (
                session_id is not None
                and caller.session is not None
                and caller.session.id == session_id
            )
            or (user is not None and caller.session is not None and caller.user == user)
        ]
        for ws in closing:
            del self._sockets[ws]
            task = asyncio.get_running_loop().create_task(
                ws.close(code=CREDENTIAL_ENDED_CLOSE, message=b"credential ended"),
                name="close event socket",
            )
            self._closing.add(task)
            task.add_done_callback(self._closing.discard)
        return len(closing)

    @staticmethod
    def where(request: web.Request) -> dict[str, Any]:
        """The audit log's ``from``: client address and user agent."""
        return {
            "ip": request.remote,
            "agent": request.headers.get("User-Agent", "")[:MAX_AGENT_CHARS],
        }

    def record_request(
        self,
        request: web.Request,
        action: str,
        caller: Caller | None,
        status: int,
        error: str | None = None,
        details: dict[str, Any] | None = None,
        who: dict[str, Any] | None = None,
    ) -> None:
        """Audit one HTTP request that changes (or tried to change) something."""
        target = "/".join(request.match_info.values()) or None
        result = (
            "ok"
            if status < 400
            else "denied"
            if status in (401, 403, 429)
            else "failed"
            if status >= 500
            else "refused"
        )
        self.audit.record(
            action,
            who
            if who is not None
            else (caller.who() if caller else {"anonymous": True}),
            self.where(request),
            result,
            target=target,
            details=details,
            status=status,
            error=error,
        )

    def record_service(
        self,
        origin: str,
        action: str,
        target: str,
        result: str,
        started_by: str | None = None,
    ) -> None:
        """Audit an action the service took without a request: a desk button, SIGHUP,
        a tour's step (done by the tour; ``started_by`` says who started the tour)."""
        if origin.startswith("button "):
            who: dict[str, Any] = {
                "button": origin[len("button ") :],
                "role": "operator",
            }
            where = {"ip": None, "agent": "desk panel"}
        elif origin.startswith("tour "):
            who = {"tour": origin[len("tour ") :], "started_by": started_by}
            where = {"ip": None, "agent": "tour"}
        else:
            who = {"system": origin}
            where = {"ip": None, "agent": "console"}
        self.audit.record(action, who, where, result, target=target)


ACCESS_KEY = web.AppKey("access", Access)


@web.middleware
async def access_control(request: web.Request, handler: Any) -> web.StreamResponse:
    """Allow each /api request its rule permits; audit every change."""
    resource = request.match_info.route.resource
    if resource is None or not resource.canonical.startswith("/api/"):
        return await handler(request)
    access = request.app[ACCESS_KEY]
    path = resource.canonical
    rule = rule_for(request.method, path)
    if rule is None:
        _LOGGER.error("route %s %s has no access rule; refused", request.method, path)
        return _Denied(500, "this route has no access rule; refused").response()

    unsafe = request.method not in SAFE_METHODS
    caller: Caller | None = None
    try:
        if access.needs_setup and path not in SETUP_PATHS:
            raise _Denied(
                503,
                "setup needed: set the admin secret with the code printed on the "
                "controller's console",
            )
        if unsafe or path == EVENTS_PATH:
            _check_origin(request)
        caller = access.identify(request)
        if caller is not None and caller.session is not None and unsafe:
            if not caller.session.csrf_matches(request.headers.get(CSRF_HEADER)):
                raise _Denied(403, f"missing or wrong {CSRF_HEADER} header")
        _check_role(rule, caller)
        if not rule.body:
            await _refuse_body(request)
    except _Denied as denied:
        if unsafe and rule.action and rule.action not in ("login", "setup"):
            access.record_request(
                request, rule.action, caller, denied.status, str(denied)
            )
        return denied.response()

    if caller is not None:
        request[CALLER_KEY] = caller
    if not unsafe or rule.action in (None, "login", "setup"):
        return await handler(request)
    return await _audited(request, handler, access, rule, caller)


def _check_origin(request: web.Request) -> None:
    origin = request.headers.get("Origin")
    if origin is None:
        return
    parts = urlsplit(origin)
    if parts.scheme != request.scheme or parts.netloc != request.host:
        raise _Denied(
            403, f"requests from {origin[:100]} are not allowed; same origin only"
        )


def _check_role(rule: Rule, caller: Caller | None) -> None:
    if rule.role is None:
        return
    if caller is None:
        raise _Denied(
            401,
            "log in, or send an API token as 'Authorization: Bearer TOKEN'",
            **{"WWW-Authenticate": 'Bearer realm="opswall"'},
        )
    if caller.role < rule.role:
        raise _Denied(
            403,
            f"{caller.label} has the role {caller.role.label}; "
            f"this needs {rule.role.label}",
        )


async def _refuse_body(request: web.Request) -> None:
    if not request.body_exists:
        return
    text = (await request.text()).strip()
    if text in ("", "{}", "null"):
        return
    raise _Denied(400, f"found a request body {text[:80]!r}; this request takes none")


async def _audited(
    request: web.Request,
    handler: Any,
    access: Access,
    rule: Rule,
    caller: Caller | None,
) -> web.StreamResponse:
    assert rule.action is not None
    started = time.monotonic()
    try:
        response = await handler(request)
    except web.HTTPException as err:
        details = await _details(request)
        access.record_request(
            request, rule.action, caller, err.status, _error_of(err), details
        )
        raise
    except OpswallError as err:
        details = await _details(request)
        access.record_request(
            request, rule.action, caller, err.http_status, str(err), details
        )
        raise
    except Exception as err:
        access.record_request(request, rule.action, caller, 500, type(err).__name__)
        raise
    details = await _details(request)
    if details is not None:
        details["duration_ms"] = round((time.monotonic() - started) * 1000)
    error = _error_of(response) if response.status >= 400 else None
    access.record_request(request, rule.action, caller, response.status, error, details)
    return response


async def _details(request: web.Request) -> dict[str, Any] | None:
    details: dict[str, Any] = dict(request.match_info)
    try:
        if request.body_exists:
            text = await request.text()
            # Strict: a NaN written to the audit log made it unreadable as JSON.
            body = strict_json.loads(text) if text.strip() else None
            if body is not None:
                details["body"] = body
    except (ValueError, web.HTTPException):
        details["body"] = "(unreadable)"
    return details


def _error_of(response: web.StreamResponse | web.HTTPException) -> str | None:
    body = getattr(response, "body", None) or getattr(response, "text", None)
    if isinstance(body, bytes | bytearray):
        body = body.decode("utf-8", "replace")
    if not isinstance(body, str):
        return getattr(response, "reason", None)
    try:
        data = json.loads(body)
        return str(data.get("error")) if isinstance(data, dict) else body[:300]
    except ValueError:
        return body[:300]


async def security_headers(request: web.Request, response: web.StreamResponse) -> None:
    """Headers every reply carries: CSP without inline code, no framing, no sniffing."""
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CSP)
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Referrer-Policy", "no-referrer")
    headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    headers.setdefault("Cross-Origin-Resource-Policy", "same-origin")
    if request.path.startswith("/api/"):
        headers.setdefault("Cache-Control", "no-store")
    if request.secure:
        headers.setdefault("Strict-Transport-Security", "max-age=31536000")


def retry_after_header(seconds: float) -> dict[str, str]:
    """A Retry-After header for a wait of ``seconds``."""
    return {"Retry-After": str(max(1, math.ceil(seconds)))}


def install(app: web.Application, access: Access) -> None:
    """Put ``access`` in front of every /api route of ``app``."""
    app[ACCESS_KEY] = access
    app.middlewares.append(access_control)
    app.on_response_prepare.append(security_headers)

    async def start(app: web.Application) -> None:
        await access.start()

    async def close(app: web.Application) -> None:
        await asyncio.get_running_loop().run_in_executor(None, access.close)

    app.on_startup.append(start)
    app.on_cleanup.append(close)
