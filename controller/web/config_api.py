"""HTTP API of the configuration: reload it from disk without a restart."""

from __future__ import annotations

from aiohttp import web

from controller.errors import ConfigError
from controller.web.api import SERVICE_KEY
from controller.web.api import _origin as origin_of

routes = web.RouteTableDef()


@routes.post("/api/v1/config/reload")
async def reload_config(request: web.Request) -> web.Response:
    """Apply the config file as it is now; 422 with every problem if it is invalid."""
    service = request.app[SERVICE_KEY]
    try:
        result = await service.reload(origin_of(request))
    except ConfigError as err:
        return web.json_response(
            {
                "error": "config refused; nothing changed",
                "problems": [str(problem) for problem in err.problems],
            },
            status=err.http_status,
        )
    return web.json_response(result)
