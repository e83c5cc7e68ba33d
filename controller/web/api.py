"""The HTTP API under /api/v1: state, cameras, layouts, presets, wall picture, events."""

from __future__ import annotations

import asyncio
import io
import logging
import time
from typing import Any

from aiohttp import WSMsgType, web
from pydantic import BaseModel, ConfigDict, ValidationError

from controller.errors import OpswallError
from controller.service import Service
from controller.wall.xserver import capture

_LOGGER = logging.getLogger(__name__)

SERVICE_KEY = web.AppKey("service", Service)
WALL_JPEG_MAX_AGE_S = 0.25
JPEG_QUALITY = 75

routes = web.RouteTableDef()


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class AssignBody(_Body):
    camera: str | None


class CameraPatchBody(_Body):
    name: str | None = None
    location: str | None = None
    hidden: bool | None = None


def _service(request: web.Request) -> Service:
    return request.app[SERVICE_KEY]


def _origin(request: web.Request) -> str:
    client = request.headers.get("X-Opswall-Client", "api")
    return f"{client} {request.remote or ''}".strip()


async def _body(request: web.Request, model: type[_Body]) -> Any:
    try:
        return model.model_validate(await request.json())
    except ValidationError as err:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'body'}: {e['msg']}"
            for e in err.errors()
        )
        raise web.HTTPBadRequest(
            text=f'{{"error": "invalid request body: {problems}"}}',
            content_type="application/json",
        ) from None


@routes.get("/api/v1/state")
async def get_state(request: web.Request) -> web.Response:
    return web.json_response(_service(request).state())


@routes.get("/api/v1/cameras")
async def get_cameras(request: web.Request) -> web.Response:
    return web.json_response({"cameras": _service(request).cameras()})


@routes.patch("/api/v1/cameras/{camera}")
async def patch_camera(request: web.Request) -> web.Response:
    service = _service(request)
    body = await _body(request, CameraPatchBody)
    changes = body.model_dump(exclude_none=True)
    camera = service.registry.update(request.match_info["camera"], **changes)
    return web.json_response(camera.as_json())


@routes.get("/api/v1/layouts")
async def get_layouts(request: web.Request) -> web.Response:
    layouts = _service(request).config.layouts
    return web.json_response(
        {
            "layouts": [
                {
                    "name": layout.name,
                    "title": layout.title,
                    "tiles": [
                        {"id": t.id, "rect": list(t.rect), "fit": t.fit}
                        for t in layout.tiles
                    ],
                }
                for layout in layouts.values()
            ]
        }
    )


@routes.get("/api/v1/presets")
async def get_presets(request: web.Request) -> web.Response:
    service = _service(request)
    active = service.switcher.view.preset if service.switcher.view else None
    return web.json_response(
        {
            "presets": [
                {
                    "name": preset.name,
                    "title": preset.title,
                    "layout": preset.layout.name,
                    "priority": preset.priority,
                    "cameras": dict(preset.cameras),
                    "active": preset.name == active,
                }
                for preset in service.config.presets.values()
            ]
        }
    )


@routes.post("/api/v1/presets/{name}/activate")
async def activate_preset(request: web.Request) -> web.Response:
    service = _service(request)
    state = await service.activate(request.match_info["name"], _origin(request))
    return web.json_response(state)


@routes.post("/api/v1/return")
async def return_from_emergency(request: web.Request) -> web.Response:
    return web.json_response(
        await _service(request).return_from_emergency(_origin(request))
    )


@routes.put("/api/v1/tiles/{tile}")
async def assign_tile(request: web.Request) -> web.Response:
    body = await _body(request, AssignBody)
    state = await _service(request).assign(
        request.match_info["tile"], body.camera, _origin(request)
    )
    return web.json_response(state)


@routes.get("/api/v1/wall.jpg")
async def wall_jpeg(request: web.Request) -> web.Response:
    """A JPEG of what the wall shows now (``?width=N`` scales it down)."""
    service = _service(request)
    try:
        width = int(request.query.get("width", "0"))
    except ValueError:
        raise web.HTTPBadRequest(
            reason="width must be a whole number of pixels"
        ) from None
    if not 0 <= width <= 7680:
        raise web.HTTPBadRequest(reason="width must be between 1 and 7680 pixels")
    data = await _wall_picture(service, width)
    return web.Response(
        body=data, content_type="image/jpeg", headers={"Cache-Control": "no-store"}
    )


_picture_cache: dict[tuple[str, int], tuple[float, bytes]] = {}
_picture_lock = asyncio.Lock()


async def _wall_picture(service: Service, width: int) -> bytes:
    key = (service.display_name, width)
    async with _picture_lock:
        cached = _picture_cache.get(key)
        if cached and time.monotonic() - cached[0] < WALL_JPEG_MAX_AGE_S:
            return cached[1]
        loop = asyncio.get_running_loop()
        try:
            data = await loop.run_in_executor(
                None, _encode, service.display_name, width
            )
        except Exception as err:  # Xlib raises many kinds when the display is gone
            raise OpswallError(f"cannot capture the wall: {err}") from err
        _picture_cache[key] = (time.monotonic(), data)
        return data


def _encode(display_name: str, width: int) -> bytes:
    image = capture(display_name)
    if width and width < image.width:
        image = image.resize((width, round(image.height * width / image.width)))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=JPEG_QUALITY)
    return out.getvalue()


@routes.get("/api/v1/events")
async def events(request: web.Request) -> web.WebSocketResponse:
    """WebSocket: the full state at once, then every change as it happens."""
    service = _service(request)
    ws = web.WebSocketResponse(heartbeat=20)
    await ws.prepare(request)
    queue = service.events.subscribe()
    try:
        for topic in ("state", "cameras", "displays", "buttons"):
            await ws.send_json(service.events.snapshot(topic))
        receiver = asyncio.create_task(_drain(ws), name="websocket receive")
        while not ws.closed:
            getter = asyncio.create_task(queue.get())
            done, _ = await asyncio.wait(
                {getter, receiver}, return_when=asyncio.FIRST_COMPLETED
            )
            if getter not in done:
                getter.cancel()
                break
            await ws.send_json(getter.result())
        receiver.cancel()
    finally:
        service.events.unsubscribe(queue)
    return ws


async def _drain(ws: web.WebSocketResponse) -> None:
    async for message in ws:
        if message.type == WSMsgType.ERROR:
            break
