"""Shared test helpers: waiting for conditions, and the wall service on real parts."""

from __future__ import annotations

import asyncio
import dataclasses
import secrets
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from controller.config.loader import Config, load_config

REPO = Path(__file__).resolve().parents[1]
DEMO_CONFIG = REPO / "config" / "demo.yaml"


async def wait_for(
    predicate: Callable[[], Any | Awaitable[Any]],
    timeout: float,
    what: str,
    interval: float = 0.05,
) -> Any:
    """Poll ``predicate`` until it returns something truthy; fail with ``what``."""
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        await asyncio.sleep(interval)


def demo_config(state_dir: Path, **changes: Any) -> Config:
    """The demo config with its state in ``state_dir``, web on a free port."""
    config = load_config(DEMO_CONFIG)
    spec = config.spec.model_copy(
        update={
            "state_dir": str(state_dir),
            "web": config.spec.web.model_copy(update={"port": 0}),
            **changes,
        }
    )
    return dataclasses.replace(config, spec=spec)


@dataclass
class RunningService:
    """A started service with its web API on a free loopback port.

    ``http`` sends an admin API token with every request; ``access`` makes others.
    """

    service: Any
    url: str
    http: aiohttp.ClientSession
    access: Any
    admin_secret: str
    token: str

    async def get(self, path: str) -> Any:
        async with self.http.get(self.url + path) as reply:
            assert reply.status == 200, await reply.text()
            return await reply.json()

    async def post(self, path: str, body: Any = None) -> tuple[int, Any]:
        async with self.http.post(self.url + path, json=body) as reply:
            return reply.status, await reply.json()


@asynccontextmanager
async def running_service(config: Config) -> AsyncIterator[RunningService]:
    """Start the service and its web app; stop both afterwards."""
    from controller.access.middleware import Access
    from controller.access.roles import Role
    from controller.service import Service
    from controller.web.app import build_app

    service = Service(config)
    await service.start()
    admin_secret = secrets.token_urlsafe(24)
    access = Access(config.spec.access, config.state_dir, admin_secret)
    runner = web.AppRunner(build_app(service, access))
    try:
        await runner.setup()
        _, token = await asyncio.get_running_loop().run_in_executor(
            None, access.tokens.create, "test-harness", Role.ADMIN, "tests"
        )
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        host, port = runner.addresses[0][:2]
        headers = {"Authorization": f"Bearer {token}"}
        async with aiohttp.ClientSession(headers=headers) as http:
            yield RunningService(
                service, f"http://{host}:{port}", http, access, admin_secret, token
            )
    finally:
        await runner.cleanup()
        await service.stop()
