"""HTTP API of the desk buttons: their state, and simulated presses in the demo."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from controller.buttons.panel import MAX_PRESS_S, ButtonPanel
from controller.errors import OpswallError
from controller.web import strict_json

#: Press length when the request gives none: a short press.
DEFAULT_PRESS_S = 0.1

BUTTONS_KEY = web.AppKey("buttons", ButtonPanel)

routes = web.RouteTableDef()


class PressRequestError(OpswallError, ValueError):
    """A press request's body is not what the API accepts."""

    http_status = 400


@routes.get("/api/v1/buttons")
async def list_buttons(request: web.Request) -> web.Response:
    """Every button with its action, pin and lamp; ``mock`` says presses can be sent."""
    panel = request.app[BUTTONS_KEY]
    return web.json_response(
        {
            "mock": panel.is_mock,
            "buttons": [status.as_dict() for status in panel.status()],
        }
    )


@routes.post("/api/v1/buttons/{name}/press")
async def press_button(request: web.Request) -> web.Response:
    """Press a button on its mock pin for ``hold_s`` seconds; answer once released.

    The reply holds the ``event`` the press caused (null if it was too short for a
    hold button) and the button's state afterwards. Unknown button: 404; real GPIO: 409.
    """
    hold_s = _hold_of(await request.text())
    panel = request.app[BUTTONS_KEY]
    name = request.match_info["name"]
    event = await panel.press(name, hold_s)
    return web.json_response(
        {
            "event": None if event is None else event.as_dict(),
            "button": panel.status_of(name).as_dict(),
        }
    )


def _hold_of(body: str) -> float:
    if not body.strip():
        return DEFAULT_PRESS_S
    # Strict like every other route: NaN, Infinity, duplicate keys and deep nesting
    # are refused with a 400 that says why.
    data: Any = strict_json.loads(body)
    if not isinstance(data, dict) or set(data) - {"hold_s"}:
        raise PressRequestError(
            f"found {body.strip()[:80]}, expected " + '{"hold_s": seconds} or no body'
        )
    hold_s = data.get("hold_s", DEFAULT_PRESS_S)
    if isinstance(hold_s, bool) or not isinstance(hold_s, int | float):
        raise PressRequestError(
            f"found hold_s {hold_s!r}, expected a number of seconds"
        )
    if not 0 <= hold_s <= MAX_PRESS_S:
        raise PressRequestError(
            f"found hold_s {hold_s}, expected 0 to {MAX_PRESS_S:g} seconds"
        )
    return float(hold_s)
