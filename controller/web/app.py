"""The aiohttp application: routes, error replies as JSON, static files."""

from __future__ import annotations

import json
import logging
import mimetypes
from pathlib import Path
from typing import Any

from aiohttp import web

from controller.access.api import routes as access_routes
from controller.access.middleware import Access, install
from controller.access.secret import find_admin_secret
from controller.buttons.api import BUTTONS_KEY
from controller.buttons.api import routes as button_routes
from controller.displays.api import DISPLAYS_KEY
from controller.displays.api import routes as display_routes
from controller.errors import OpswallError
from controller.service import Service
from controller.web import bad_requests
from controller.web.api import SERVICE_KEY
from controller.web.api import routes as api_routes
from controller.web.config_api import routes as config_routes
from controller.web.tours import routes as tour_routes

_LOGGER = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).parent / "static"
MAX_REQUEST_BYTES = 64 * 1024

mimetypes.add_type("application/manifest+json", ".webmanifest")


@web.middleware
async def json_errors(request: web.Request, handler: Any) -> web.StreamResponse:
    """Our errors become JSON replies with their status; anything else a plain 500."""
    try:
        return await handler(request)
    except OpswallError as err:
        return web.json_response({"error": str(err)}, status=err.http_status)
    except web.HTTPException as err:
        if err.content_type == "application/json" or err.status < 400:
            raise
        reason = err.reason
        if err.status == 413:  # aiohttp's text says the limit; its reason does not
            reason = f"request body too large: at most {MAX_REQUEST_BYTES} bytes"
        return web.json_response(
            {"error": reason},
            status=err.status,
            headers={k: v for k, v in err.headers.items() if k.lower() == "allow"},
        )
    except json.JSONDecodeError as err:
        return web.json_response(
            {"error": f"request body is not valid JSON: {err}"}, status=400
        )


def build_app(service: Service, access: Access | None = None) -> web.Application:
    """The web application of a running service, behind ``access``.

    Without ``access`` the admin secret is looked up as ``opswall run`` does; with none
    found only the accounts in the state dir can log in (nothing is open).
    """
    bad_requests.install()
    app = web.Application(middlewares=[json_errors], client_max_size=MAX_REQUEST_BYTES)
    if access is None:
        config = service.config
        found = find_admin_secret(config.spec.access, config.state_dir)
        access = Access(
            config.spec.access,
            config.state_dir,
            found[0] if found else None,
            tls=config.spec.web.tls,
        )
    install(app, access)
    service.on_action = access.record_service
    app[SERVICE_KEY] = service
    app[DISPLAYS_KEY] = service.displays
    app.add_routes(api_routes)
    app.add_routes(tour_routes)
    app.add_routes(config_routes)
    app.add_routes(display_routes)
    app.add_routes(access_routes)
    if service.buttons is not None:
        app[BUTTONS_KEY] = service.buttons
        app.add_routes(button_routes)
    app.router.add_get("/", _index)
    app.router.add_static("/static/", STATIC_DIR, append_version=True)
    return app


async def _index(request: web.Request) -> web.FileResponse:
    return web.FileResponse(
        STATIC_DIR / "index.html", headers={"Cache-Control": "no-cache"}
    )
