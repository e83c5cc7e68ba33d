"""A request aiohttp's parser refuses is one warning line, not an error traceback."""

from __future__ import annotations

import asyncio
import logging

import pytest
from aiohttp import web

from controller.web import bad_requests


async def _ok(_request: web.Request) -> web.Response:
    return web.Response(text="ok")


async def test_an_overlong_url_is_logged_as_one_warning(caplog):
    bad_requests.install()
    bad_requests.install()  # once is enough, however often the app is built
    assert len(logging.getLogger("aiohttp.server").filters) == 1
    app = web.Application()
    app.router.add_get("/", _ok)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        with caplog.at_level(logging.DEBUG, logger="aiohttp.server"):
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(b"GET /" + b"a" * 20_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n")
            await writer.drain()
            reply = await asyncio.wait_for(reader.read(100), 5)
            writer.close()
    finally:
        await runner.cleanup()

    assert reply.startswith(b"HTTP/1.0 400")
    records = [r for r in caplog.records if r.name == "aiohttp.server"]
    assert len(records) == 1, [r.getMessage() for r in records]
    record = records[0]
    assert record.levelno == logging.WARNING and record.exc_info is None
    message = record.getMessage()
    assert message.startswith("Error handling request from 127.0.0.1: refused with 400")
    assert "Got more than 8190 bytes" in message and len(message) < 300


@pytest.fixture(autouse=True)
def _no_filter_left_behind():
    yield
    logger = logging.getLogger("aiohttp.server")
    for found in list(logger.filters):
        if isinstance(found, bad_requests.MalformedRequestFilter):
            logger.removeFilter(found)
