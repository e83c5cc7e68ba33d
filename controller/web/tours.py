"""HTTP API of tours: list them, start one, stop the running one."""

from __future__ import annotations

from aiohttp import web

from controller.web.api import SERVICE_KEY
from controller.web.api import _origin as origin_of

routes = web.RouteTableDef()


@routes.get("/api/v1/tours")
async def list_tours(request: web.Request) -> web.Response:
    service = request.app[SERVICE_KEY]
    return web.json_response(
        {
            "running": service.tour,
            "tours": [
                {
                    "name": tour.name,
                    "title": tour.title,
                    "steps": [{"preset": p, "dwell_s": d} for p, d in tour.steps],
                }
                for tour in service.config.tours.values()
            ],
        }
    )


@routes.post("/api/v1/tours/{name}/start")
async def start_tour(request: web.Request) -> web.Response:
    service = request.app[SERVICE_KEY]
    state = await service.start_tour(request.match_info["name"], origin_of(request))
    return web.json_response(state)


@routes.post("/api/v1/tours/stop")
async def stop_tour(request: web.Request) -> web.Response:
    service = request.app[SERVICE_KEY]
    return web.json_response(service.stop_tour(origin_of(request)))
