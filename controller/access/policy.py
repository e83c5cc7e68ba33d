"""Which role each API route needs, and the audit action of each change.

Every route under /api must be in ROUTES: the middleware refuses a route it does not
find here (500), and a test enumerates the app's routes, so a new route cannot ship
without a decision.
"""

from __future__ import annotations

from dataclasses import dataclass

from controller.access.roles import Role

VIEWER, OPERATOR, ADMIN = Role.VIEWER, Role.OPERATOR, Role.ADMIN


@dataclass(frozen=True)
class Rule:
    """What a route needs: a role (None: anyone) and, for changes, the audit action.

    ``body`` False means the route takes no request body: any other than ``{}`` is
    refused with 400, as an unknown field would be.
    """

    role: Role | None
    action: str | None = None
    body: bool = True


ROUTES: dict[tuple[str, str], Rule] = {
    # Seeing the wall.
    ("GET", "/api/v1/state"): Rule(VIEWER),
    ("GET", "/api/v1/cameras"): Rule(VIEWER),
    ("GET", "/api/v1/cameras/{camera}/thumbnail.jpg"): Rule(VIEWER),
    ("GET", "/api/v1/layouts"): Rule(VIEWER),
    ("GET", "/api/v1/presets"): Rule(VIEWER),
    ("GET", "/api/v1/displays"): Rule(VIEWER),
    ("GET", "/api/v1/displays/{id}/choices"): Rule(VIEWER),
    ("GET", "/api/v1/buttons"): Rule(VIEWER),
    ("GET", "/api/v1/tours"): Rule(VIEWER),
    ("GET", "/api/v1/wall.jpg"): Rule(VIEWER),
    ("GET", "/api/v1/events"): Rule(VIEWER),
    # Operating the wall.
    ("POST", "/api/v1/presets/{name}/activate"): Rule(
        OPERATOR, "preset.activate", body=False
    ),
    ("POST", "/api/v1/return"): Rule(OPERATOR, "preset.return", body=False),
    ("PUT", "/api/v1/tiles/{tile}"): Rule(OPERATOR, "tile.assign"),
    ("POST", "/api/v1/blackout"): Rule(OPERATOR, "wall.blackout"),
    ("POST", "/api/v1/displays/{id}/{operation}"): Rule(OPERATOR, "display.operate"),
    ("POST", "/api/v1/buttons/{name}/press"): Rule(OPERATOR, "button.press"),
    ("POST", "/api/v1/tours/{name}/start"): Rule(OPERATOR, "tour.start", body=False),
    ("POST", "/api/v1/tours/stop"): Rule(OPERATOR, "tour.stop", body=False),
    # Changing what the wall can show.
    ("POST", "/api/v1/presets"): Rule(ADMIN, "preset.save"),
    ("DELETE", "/api/v1/presets/{name}"): Rule(ADMIN, "preset.delete", body=False),
    ("POST", "/api/v1/cameras"): Rule(ADMIN, "camera.add"),
    ("PATCH", "/api/v1/cameras/{camera}"): Rule(ADMIN, "camera.edit"),
    ("DELETE", "/api/v1/cameras/{camera}"): Rule(ADMIN, "camera.delete", body=False),
    ("POST", "/api/v1/config/reload"): Rule(ADMIN, "config.reload", body=False),
    # Access itself.
    ("POST", "/api/v1/login"): Rule(None, "login"),
    ("GET", "/api/v1/session"): Rule(None),
    ("POST", "/api/v1/setup"): Rule(None, "setup"),
    ("POST", "/api/v1/logout"): Rule(VIEWER, "logout", body=False),
    ("GET", "/api/v1/users"): Rule(ADMIN),
    ("PUT", "/api/v1/users/{name}"): Rule(ADMIN, "user.set"),
    ("DELETE", "/api/v1/users/{name}"): Rule(ADMIN, "user.delete", body=False),
    ("GET", "/api/v1/tokens"): Rule(ADMIN),
    ("POST", "/api/v1/tokens"): Rule(ADMIN, "token.create"),
    ("DELETE", "/api/v1/tokens/{name}"): Rule(ADMIN, "token.revoke", body=False),
    ("GET", "/api/v1/audit"): Rule(ADMIN),
}


def rule_for(method: str, path: str) -> Rule | None:
    """The rule of a route (HEAD as GET); None if the route has none."""
    return ROUTES.get(("GET" if method == "HEAD" else method, path))
