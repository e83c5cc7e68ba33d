"""HTTP API of access: log in and out, the session, users, tokens, the audit log."""

from __future__ import annotations

import asyncio
import hmac
import ipaddress
import logging
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from controller.access.middleware import (
    ACCESS_KEY,
    CALLER_KEY,
    Access,
    Caller,
    retry_after_header,
)
from controller.access.roles import Role
from controller.access.secret import MIN_SECRET_CHARS, save_admin_secret
from controller.access.sessions import CSRF_COOKIE, SESSION_COOKIE
from controller.access.users import AccountError
from controller.errors import invalid_body
from controller.web import strict_json

_LOGGER = logging.getLogger(__name__)

DEFAULT_AUDIT_ENTRIES = 200

routes = web.RouteTableDef()


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class LoginBody(_Body):
    user: str = Field(min_length=1, max_length=64)
    secret: str = Field(min_length=1, max_length=256)


class SetupBody(_Body):
    code: str | None = Field(default=None, max_length=64)
    secret: str = Field(min_length=MIN_SECRET_CHARS, max_length=256)


class UserBody(_Body):
    role: str
    secret: str | None = Field(default=None, max_length=256)


class TokenBody(_Body):
    name: str
    role: str


async def _body(request: web.Request, model: type[_Body]) -> Any:
    if request.content_type != "application/json":
        raise web.HTTPUnsupportedMediaType(
            text='{"error": "send the body as application/json"}',
            content_type="application/json",
        )
    try:
        return model.model_validate(strict_json.loads(await request.text()))
    except ValidationError as err:
        raise AccountError(invalid_body(err.errors())) from None


def _access(request: web.Request) -> Access:
    return request.app[ACCESS_KEY]


def _caller(request: web.Request) -> Caller:
    caller = request.get(CALLER_KEY)
    assert caller is not None, "the access middleware lets no anonymous caller here"
    return caller


def _role(text: str) -> Role:
    try:
        return Role.parse(text)
    except ValueError as err:
        raise AccountError(str(err)) from None


@routes.post("/api/v1/login")
async def login(request: web.Request) -> web.Response:
    """Log in with a user name and PIN or password; sets the session cookie.

    Throttled per client address and per account: 429 with Retry-After when locked.
    """
    access = _access(request)
    body = await _body(request, LoginBody)
    where = access.where(request)
    keys = (f"ip:{request.remote}", f"user:{body.user}")

    wait = access.throttle.retry_after(*keys)
    if wait > 0:
        access.audit.record(
            "login", {"user": body.user}, where, "throttled", status=429
        )
        return web.json_response(
            {"error": f"too many failed logins; try again in {wait:.0f} s"},
            status=429,
            headers=retry_after_header(wait),
        )

    caller = await access.check_login(body.user, body.secret)
    if caller is None:
        access.throttle.failed(*keys)
        wait = access.throttle.retry_after(*keys)
        _LOGGER.info("failed login as %r from %s", body.user[:64], request.remote)
        access.audit.record(
            "login", {"user": body.user}, where, "failed", status=429 if wait else 401
        )
        if wait > 0:
            _LOGGER.warning(
                "logins as %r and from %s locked for %.0f s after repeated failures",
                body.user[:64],
                request.remote,
                wait,
            )
            return web.json_response(
                {"error": f"wrong user or PIN; too many failures, wait {wait:.0f} s"},
                status=429,
                headers=retry_after_header(wait),
            )
        return web.json_response({"error": "wrong user or PIN/password"}, status=401)

    access.throttle.succeeded(*keys)
    previous = request.get(CALLER_KEY)
    if previous is not None and previous.session is not None:
        access.sessions.end(previous.session.id)
        access.close_sockets(session_id=previous.session.id)
    session = access.sessions.start(
        caller.user or "", caller.role, where["ip"] or "", where["agent"]
    )
    access.audit.record("login", caller.who(), where, "ok", status=200)
    _LOGGER.info("user %s logged in from %s", caller.user, request.remote)
    response = web.json_response(_session_reply(access, caller, session.csrf))
    _set_cookies(response, access, session.id, session.csrf)
    return response


@routes.post("/api/v1/logout")
async def logout(request: web.Request) -> web.Response:
    """End this tablet's session (a token caller has none: nothing to end)."""
    access = _access(request)
    caller = _caller(request)
    if caller.session is not None:
        access.sessions.end(caller.session.id)
        access.close_sockets(session_id=caller.session.id)
    response = web.json_response({"logged_out": True})
    for name in (SESSION_COOKIE, CSRF_COOKIE):
        response.del_cookie(name, path="/")
    return response


@routes.get("/api/v1/session")
async def get_session(request: web.Request) -> web.Response:
    """Who this client is (``user`` null when not logged in), and whether setup waits."""
    access = _access(request)
    caller = request.get(CALLER_KEY)
    csrf = caller.session.csrf if caller and caller.session else None
    reply = _session_reply(access, caller, csrf)
    reply["setup_needs_code"] = access.needs_setup and not from_console(request)
    return web.json_response(reply)


@routes.post("/api/v1/setup")
async def setup(request: web.Request) -> web.Response:
    """Set the admin secret with the one-time code printed on the console.

    From the controller itself (see ``from_console``) the code may be left out; a code
    that is given must be right, wherever it comes from.
    """
    access = _access(request)
    if not access.needs_setup or access.setup_code is None:
        return web.json_response(
            {"error": "the admin secret is already set"}, status=409
        )
    body = await _body(request, SetupBody)
    keys = (f"ip:{request.remote}", "setup")
    where = access.where(request)
    wait = access.throttle.retry_after(*keys)
    if wait > 0:
        return web.json_response(
            {"error": f"too many wrong codes; try again in {wait:.0f} s"},
            status=429,
            headers=retry_after_header(wait),
        )
    code = (body.code or "").strip().upper()
    if not code and not from_console(request):
        access.audit.record("setup", {"anonymous": True}, where, "denied", status=403)
        return web.json_response(
            {
                "error": "enter the setup code printed on the controller's console; "
                "only the controller itself (localhost) may set up without it"
            },
            status=403,
        )
    if code and not hmac.compare_digest(code, access.setup_code):
        access.throttle.failed(*keys)
        access.audit.record("setup", {"anonymous": True}, where, "failed", status=403)
        return web.json_response({"error": "wrong setup code"}, status=403)
    path = await _in_executor(save_admin_secret, access.state_dir, body.secret)
    await access.set_admin_secret(body.secret)
    how = "setup code" if code else "console"
    access.audit.record(
        "setup", {"user": "admin"}, where, "ok", details={"by": how}, status=200
    )
    _LOGGER.info(
        "admin secret set from the setup page (%s, by %s); saved in %s",
        request.remote,
        how,
        path,
    )
    return web.json_response({"setup": "done", "user": "admin"})


@routes.get("/api/v1/users")
async def list_users(request: web.Request) -> web.Response:
    """Every account (never a hash); ``admin`` is built in, its password the secret."""
    users = [user.as_json() for user in _access(request).users.all()]
    return web.json_response({"users": users, "built_in": ["admin"]})


@routes.put("/api/v1/users/{name}")
async def set_user(request: web.Request) -> web.Response:
    """Add an account or change its role or secret; its sessions end when either does."""
    access = _access(request)
    body = await _body(request, UserBody)
    name = request.match_info["name"]
    role = _role(body.role)
    user = await _in_executor(
        access.users.set, name, role, body.secret, _caller(request).label
    )
    ended = access.sessions.end_user(name)
    access.close_sockets(user=name)
    if ended:
        _LOGGER.info("user %s changed: %d session(s) ended", name, ended)
    return web.json_response(user.as_json())


@routes.delete("/api/v1/users/{name}")
async def delete_user(request: web.Request) -> web.Response:
    """Delete an account and end its sessions."""
    access = _access(request)
    name = request.match_info["name"]
    await _in_executor(access.users.remove, name)
    access.sessions.end_user(name)
    access.close_sockets(user=name)
    return web.Response(status=204)


@routes.get("/api/v1/tokens")
async def list_tokens(request: web.Request) -> web.Response:
    """Every API token by name and role (never the token)."""
    tokens = [token.as_json() for token in _access(request).tokens.all()]
    return web.json_response({"tokens": tokens})


@routes.post("/api/v1/tokens")
async def create_token(request: web.Request) -> web.Response:
    """A new token ``{name, role}``: 201 with ``token``, shown this once only."""
    access = _access(request)
    body = await _body(request, TokenBody)
    token, secret = await _in_executor(
        access.tokens.create, body.name, _role(body.role), _caller(request).label
    )
    reply = token.as_json()
    reply["token"] = secret
    reply["note"] = "shown once: keep it now; send it as 'Authorization: Bearer TOKEN'"
    return web.json_response(reply, status=201)


@routes.delete("/api/v1/tokens/{name}")
async def revoke_token(request: web.Request) -> web.Response:
    """Revoke a token at once: refused from the next request, its sockets closed."""
    access = _access(request)
    name = request.match_info["name"]
    await _in_executor(access.tokens.revoke, name)
    access.close_sockets(token=name)
    return web.Response(status=204)


@routes.get("/api/v1/audit")
async def get_audit(request: web.Request) -> web.Response:
    """The latest audit entries, newest first (``?limit=N``, at most 1000)."""
    try:
        limit = int(request.query.get("limit", DEFAULT_AUDIT_ENTRIES))
    except ValueError:
        raise AccountError("limit must be a whole number of entries") from None
    if limit < 1:
        raise AccountError("limit must be at least 1")
    entries = await _access(request).audit.tail(limit)
    return web.json_response({"entries": entries})


def from_console(request: web.Request) -> bool:
    """True for a request from the controller itself: its kiosk or a local shell.

    The peer must be a loopback address and the Host a loopback name, so a web page
    whose DNS name was rebound to 127.0.0.1 in a browser on the controller is not it.
    """
    try:
        peer = ipaddress.ip_address(request.remote or "")
    except ValueError:
        return False
    if isinstance(peer, ipaddress.IPv6Address) and peer.ipv4_mapped is not None:
        peer = peer.ipv4_mapped
    host = urlsplit(f"//{request.host}").hostname or ""
    try:
        host_is_loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        host_is_loopback = host == "localhost"
    return peer.is_loopback and host_is_loopback


def _session_reply(
    access: Access, caller: Caller | None, csrf: str | None
) -> dict[str, Any]:
    return {
        "user": caller.user if caller else None,
        "token": caller.token if caller else None,
        "role": caller.role.label if caller else None,
        "csrf": csrf,
        "setup": access.needs_setup,
        "idle_s": access.spec.session_idle_s,
    }


def _set_cookies(
    response: web.Response, access: Access, session_id: str, csrf: str
) -> None:
    common: dict[str, Any] = {
        "path": "/",
        "secure": access.tls,
        "samesite": "Strict",
    }
    response.set_cookie(SESSION_COOKIE, session_id, httponly=True, **common)
    response.set_cookie(CSRF_COOKIE, csrf, httponly=False, **common)


async def _in_executor(func: Any, *args: Any) -> Any:
    return await asyncio.get_running_loop().run_in_executor(None, func, *args)
