"""The HTTP API under /api/v1: state, cameras, layouts, presets, wall picture, events."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import sys
import time
from functools import lru_cache
from typing import Any

from aiohttp import WSMsgType, web
from PIL import Image, ImageDraw, ImageFont
from pydantic import BaseModel, ConfigDict, ValidationError

from controller.access.middleware import ACCESS_KEY, CALLER_KEY
from controller.errors import NotFoundError, OpswallError, invalid_body
from controller.service import Service
from controller.wall.xserver import capture
from controller.web import strict_json

_LOGGER = logging.getLogger(__name__)

SERVICE_KEY = web.AppKey("service", Service)
WALL_JPEG_MAX_AGE_S = 0.25
JPEG_QUALITY = 75
THUMBNAIL_WIDTH_PX = 320
THUMBNAIL_HEIGHT_PX = 180
#: Topics a new WebSocket client gets a snapshot of, in this order, before any change.
EVENT_TOPICS = ("state", "cameras", "displays", "buttons", "presets")
PLACEHOLDER_FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"

routes = web.RouteTableDef()


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class AssignBody(_Body):
    camera: str | None


class SavePresetBody(_Body):
    name: str
    title: str


class BlackoutBody(_Body):
    black: bool


class CameraPatchBody(_Body):
    name: str | None = None
    location: str | None = None
    hidden: bool | None = None
    url: str | None = None
    substream_url: str | None = None
    username: str | None = None
    password: str | None = None


class CameraAddBody(_Body):
    name: str
    url: str
    id: str | None = None
    location: str = ""
    substream_url: str | None = None
    username: str | None = None
    password: str | None = None


def _service(request: web.Request) -> Service:
    return request.app[SERVICE_KEY]


def _origin(request: web.Request) -> str:
    """Who asked, as activations and logs say it: ``web user NAME 10.0.0.7``."""
    client = "".join(
        c
        for c in request.headers.get("X-Opswall-Client", "api")[:32]
        if c.isprintable()
    )
    caller = request.get(CALLER_KEY)
    who = f" {caller.label}" if caller is not None else ""
    return f"{client}{who} {request.remote or ''}".strip()


async def _body(request: web.Request, model: type[_Body]) -> Any:
    try:
        return model.model_validate(strict_json.loads(await request.text()))
    except ValidationError as err:
        # json.dumps: the names in the message may be the client's own keys.
        raise web.HTTPBadRequest(
            text=json.dumps({"error": invalid_body(err.errors())}),
            content_type="application/json",
        ) from None


@routes.get("/api/v1/state")
async def get_state(request: web.Request) -> web.Response:
    return web.json_response(_service(request).state())


@routes.get("/api/v1/cameras")
async def get_cameras(request: web.Request) -> web.Response:
    return web.json_response({"cameras": _service(request).cameras()})


@routes.post("/api/v1/cameras")
async def add_camera(request: web.Request) -> web.Response:
    """Add a static camera by URL; credentials go to the secrets file, not the reply."""
    body = await _body(request, CameraAddBody)
    camera = await _service(request).registry.add(
        body.name,
        body.url,
        camera_id=body.id,
        location=body.location,
        substream_url=body.substream_url,
        username=body.username,
        password=body.password,
    )
    return web.json_response(_camera_entry(request, camera.id), status=201)


@routes.patch("/api/v1/cameras/{camera}")
async def patch_camera(request: web.Request) -> web.Response:
    """Rename, label, hide a camera; set a stream URL or credentials."""
    service = _service(request)
    body = await _body(request, CameraPatchBody)
    changes = body.model_dump(exclude_unset=True)
    for key in ("name", "location", "hidden", "username"):
        if key in changes and changes[key] is None:
            del changes[key]
    camera = await service.registry.update(request.match_info["camera"], **changes)
    return web.json_response(_camera_entry(request, camera.id))


@routes.delete("/api/v1/cameras/{camera}")
async def delete_camera(request: web.Request) -> web.Response:
    """Remove a camera that was added by URL."""
    camera_id = request.match_info["camera"]
    await _service(request).registry.remove(camera_id)
    return web.json_response({"deleted": camera_id})


def _camera_entry(request: web.Request, camera_id: str) -> dict[str, Any]:
    cameras = _service(request).cameras()
    return next(entry for entry in cameras if entry["id"] == camera_id)


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
    return web.json_response({"presets": _service(request).presets()})


@routes.post("/api/v1/presets")
async def save_preset(request: web.Request) -> web.Response:
    """Keep the wall's current view as a new normal preset ``{name, title}``; 201."""
    body = await _body(request, SavePresetBody)
    service = _service(request)
    preset = await service.save_preset(body.name, body.title, _origin(request))
    return web.json_response(
        {
            "name": preset.name,
            "title": preset.title,
            "layout": preset.layout.name,
            "priority": preset.priority,
            "cameras": dict(preset.cameras),
            "saved": True,
        },
        status=201,
    )


@routes.delete("/api/v1/presets/{name}")
async def delete_preset(request: web.Request) -> web.Response:
    """Delete a preset saved from the remote (config presets: 409)."""
    await _service(request).delete_preset(request.match_info["name"], _origin(request))
    return web.Response(status=204)


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


@routes.post("/api/v1/blackout")
async def set_blackout(request: web.Request) -> web.Response:
    """Black out every display (``{"black": true}``) or restore them; the new state."""
    service = _service(request)
    body = await _body(request, BlackoutBody)
    await service.set_blackout(body.black, _origin(request))
    return web.json_response(service.state())


@routes.get("/api/v1/displays/{id}/choices")
async def display_choices(request: web.Request) -> web.Response:
    """What the remote offers for a display: input names, processor preset count."""
    displays = _service(request).displays.displays
    display_id = request.match_info["id"]
    if display_id not in displays:
        raise NotFoundError("display", display_id, displays)
    display = displays[display_id]
    driver = display.driver
    # TODO: drivers keep their input tables as module constants; a Driver.inputs
    # attribute would let every driver (command tables too) say what it offers.
    module = sys.modules.get(type(driver).__module__)
    inputs = getattr(module, "SETTABLE_INPUTS", None) or getattr(module, "INPUTS", {})
    presets = 10 if display.spec.protocol == "novastar" else 0
    return web.json_response(
        {
            "inputs": sorted(inputs) if "input" in display.operations else [],
            "presets": presets if "preset" in display.operations else 0,
            "operations": sorted(display.operations),
        }
    )


@routes.get("/api/v1/cameras/{camera}/thumbnail.jpg")
async def camera_thumbnail(request: web.Request) -> web.Response:
    """A small JPEG of the camera cut from the wall; a placeholder when not shown.

    Never opens a stream of its own: a camera that is not on the wall gets a drawn
    card saying so (``X-Opswall-Thumbnail: wall`` or ``placeholder`` tells which).
    """
    service = _service(request)
    camera = service.registry.get(request.match_info["camera"])
    tile = next(
        (t for t in service.state()["tiles"] if t.get("camera") == camera.id), None
    )
    source = "placeholder"
    if tile is not None:
        try:
            image = await _wall_image(service)
            data = await asyncio.get_running_loop().run_in_executor(
                None, _thumbnail, image, tuple(tile["rect"])
            )
            source = "wall"
        except OpswallError as err:
            _LOGGER.debug("thumbnail of camera %s: %s", camera.id, err)
    if source == "placeholder":
        reason = "OFFLINE" if not camera.online else "NOT ON THE WALL"
        data = _placeholder(camera.name or camera.id, reason)
    return web.Response(
        body=data,
        content_type="image/jpeg",
        headers={"Cache-Control": "no-store", "X-Opswall-Thumbnail": source},
    )


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
        raise web.HTTPBadRequest(
            reason="width must be 1 to 7680 pixels (0 or none: full size)"
        )
    data = await _wall_picture(service, width)
    return web.Response(
        body=data, content_type="image/jpeg", headers={"Cache-Control": "no-store"}
    )


_picture_cache: dict[tuple[str, int], tuple[float, bytes]] = {}
_image_cache: dict[str, tuple[float, Image.Image]] = {}
_picture_lock = asyncio.Lock()
_image_lock = asyncio.Lock()


async def _wall_picture(service: Service, width: int) -> bytes:
    key = (service.display_name, width)
    async with _picture_lock:
        cached = _picture_cache.get(key)
        if cached and time.monotonic() - cached[0] < WALL_JPEG_MAX_AGE_S:
            return cached[1]
        image = await _wall_image(service)
        loop = asyncio.get_running_loop()
        data = await loop.run_in_executor(None, _encode, image, width)
        _picture_cache[key] = (time.monotonic(), data)
        return data


async def _wall_image(service: Service) -> Image.Image:
    """The wall as captured at most WALL_JPEG_MAX_AGE_S ago (shared by all pictures)."""
    async with _image_lock:
        cached = _image_cache.get(service.display_name)
        if cached and time.monotonic() - cached[0] < WALL_JPEG_MAX_AGE_S:
            return cached[1]
        loop = asyncio.get_running_loop()
        try:
            image = await loop.run_in_executor(None, capture, service.display_name)
        except Exception as err:  # Xlib raises many kinds when the display is gone
            raise OpswallError(f"cannot capture the wall: {err}") from err
        _image_cache[service.display_name] = (time.monotonic(), image)
        return image


def _encode(image: Image.Image, width: int) -> bytes:
    if width and width < image.width:
        image = image.resize((width, round(image.height * width / image.width)))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=JPEG_QUALITY)
    return out.getvalue()


def _thumbnail(image: Image.Image, rect: tuple[int, int, int, int]) -> bytes:
    x, y, w, h = rect
    tile = image.crop((x, y, x + w, y + h))
    tile.thumbnail((THUMBNAIL_WIDTH_PX, THUMBNAIL_HEIGHT_PX))
    out = io.BytesIO()
    tile.save(out, "JPEG", quality=JPEG_QUALITY)
    return out.getvalue()


@lru_cache(maxsize=64)
def _placeholder(name: str, reason: str) -> bytes:
    image = Image.new("RGB", (THUMBNAIL_WIDTH_PX, THUMBNAIL_HEIGHT_PX), "#161d26")
    draw = ImageDraw.Draw(image)
    try:
        font: Any = ImageFont.truetype(PLACEHOLDER_FONT, 18)
    except OSError:
        font = ImageFont.load_default()
    colour = "#e5534b" if reason == "OFFLINE" else "#7d8a99"
    draw.rectangle(
        (0, 0, THUMBNAIL_WIDTH_PX - 1, THUMBNAIL_HEIGHT_PX - 1), outline="#2a3644"
    )
    draw.text((THUMBNAIL_WIDTH_PX / 2, 80), reason, fill=colour, font=font, anchor="mm")
    draw.text(
        (THUMBNAIL_WIDTH_PX / 2, 112), name[:32], fill="#56657a", font=font, anchor="mm"
    )
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
    access = request.app[ACCESS_KEY]
    try:
        with access.watching(ws, request.get(CALLER_KEY)):
            for topic in EVENT_TOPICS:
                await ws.send_str(service.events.snapshot(topic))
            receiver = asyncio.create_task(_drain(ws), name="websocket receive")
            while not ws.closed:
                getter = asyncio.create_task(queue.get())
                done, _ = await asyncio.wait(
                    {getter, receiver}, return_when=asyncio.FIRST_COMPLETED
                )
                if getter not in done:
                    getter.cancel()
                    break
                await ws.send_str(getter.result())
            receiver.cancel()
    finally:
        service.events.unsubscribe(queue)
    return ws


async def _drain(ws: web.WebSocketResponse) -> None:
    async for message in ws:
        if message.type == WSMsgType.ERROR:
            break
