"""Access tests: the web app over a service that is built but not started (no wall).

Refusals are decided before any handler runs, so these tests need no X display, no
players and no cameras; what a handler then does is tested with the running service.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from controller.access.config import AccessSpec
from controller.access.middleware import Access
from controller.access.roles import Role
from controller.buttons.api import routes as button_routes
from tests.conftest import demo_config

ADMIN_SECRET = "the-admin-secret-for-tests"
VIEWER_PIN = "246810"
OPERATOR_PIN = "135790"


@dataclass
class Gate:
    """The app, a client, and a token per role."""

    client: TestClient
    access: Access
    tokens: dict[str, str]

    def auth(self, role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[role]}"}

    async def login(self, user: str, secret: str) -> Any:
        return await self.client.post(
            "/api/v1/login", json={"user": user, "secret": secret}
        )


def build(
    tmp_path: Any,
    admin_secret: str | None = ADMIN_SECRET,
    setup_code: str | None = None,
    **spec: Any,
) -> tuple[web.Application, Access]:
    from controller.service import Service
    from controller.web.app import build_app

    config = demo_config(tmp_path / "state")
    service = Service(config)
    access_spec = AccessSpec(admin_secret_file=str(tmp_path / "none"), **spec)
    access = Access(access_spec, config.state_dir, admin_secret, setup_code=setup_code)
    app = build_app(service, access)
    if service.buttons is None:
        app.add_routes(button_routes)
    return app, access


@pytest.fixture
async def gate(tmp_path) -> AsyncIterator[Gate]:
    app, access = build(tmp_path, login_max_failures=3, login_lockout_s=30)
    async with TestClient(TestServer(app)) as client:
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(
            None, access.users.set, "vera", Role.VIEWER, VIEWER_PIN, "tests"
        )
        await loop.run_in_executor(
            None, access.users.set, "otto", Role.OPERATOR, OPERATOR_PIN, "tests"
        )
        tokens = {"admin": ADMIN_SECRET}
        for role in (Role.VIEWER, Role.OPERATOR):
            _, tokens[role.label] = access.tokens.create(
                f"{role.label}-token", role, "tests"
            )
        yield Gate(client, access, tokens)
