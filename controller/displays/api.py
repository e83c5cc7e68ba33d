"""HTTP API of display control: the displays' state, and operations on them."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from controller.displays.controller import DisplayController
from controller.errors import OpswallError
from controller.web import strict_json

DISPLAYS_KEY = web.AppKey("displays", DisplayController)

routes = web.RouteTableDef()


@routes.get("/api/v1/displays")
async def list_displays(request: web.Request) -> web.Response:
    """Every display with its last known state and health."""
    controller = request.app[DISPLAYS_KEY]
    return web.json_response({"displays": controller.snapshot()})


@routes.post("/api/v1/displays/{id}/{operation}")
async def perform(request: web.Request) -> web.Response:
    """Run an operation (JSON body ``{"value": ...}``); the display's new entry."""
    controller = request.app[DISPLAYS_KEY]
    display_id = request.match_info["id"]
    operation = request.match_info["operation"]
    try:
        value = await _value(request)
        result = await controller.perform(display_id, operation, value)
    except OpswallError as err:
        return web.json_response({"error": str(err)}, status=err.http_status)
    return web.json_response(result[display_id])


async def _value(request: web.Request) -> Any:
    if not request.can_read_body:
        return None
    text = await request.text()
    if not text.strip():
        return None
    body = strict_json.loads(text)
    if not isinstance(body, dict) or set(body) - {"value"}:
        raise _BadRequest(f'found body {text!r}, expected {{"value": ...}}')
    return body.get("value")


class _BadRequest(OpswallError):
    http_status = 400
