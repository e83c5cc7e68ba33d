"""The buttons' HTTP API and ``opswall button``, on a real loopback server."""

from __future__ import annotations

import argparse
import asyncio
import socket
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from aiohttp import ClientSession, web
from gpiozero.pins.mock import MockFactory

from controller.buttons import cli
from controller.buttons.api import BUTTONS_KEY, routes
from controller.buttons.config import ButtonSpec
from controller.buttons.panel import ButtonEvent, ButtonPanel
from controller.errors import OpswallError

BUTTONS = {
    "emergency": ButtonSpec(pin=17, action="flood", lamp=27),
    "overview": ButtonSpec(pin=5, action="overview", lamp=6),
    "next": ButtonSpec(pin=13, action="next"),
}

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def errors_as_json(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Stands in for the service's middleware that turns our errors into JSON."""
    try:
        return await handler(request)
    except OpswallError as err:
        return web.json_response({"error": str(err)}, status=err.http_status)


class Service:
    """The panel behind a real HTTP server on 127.0.0.1."""

    def __init__(self, panel: ButtonPanel, url: str) -> None:
        self.panel = panel
        self.url = url
        self.events: list[ButtonEvent] = []
        self.authorization: list[str | None] = []


@pytest.fixture
async def service(mock_factory: MockFactory) -> AsyncIterator[Service]:
    events: list[ButtonEvent] = []
    panel = ButtonPanel(
        BUTTONS,
        events.append,
        pin_factory=mock_factory,
        emergency_actions={"flood"},
        emergency_hold_s=0.3,
    )

    @web.middleware
    async def remember_authorization(
        request: web.Request, handler: Handler
    ) -> web.StreamResponse:
        service.authorization.append(request.headers.get("Authorization"))
        return await handler(request)

    app = web.Application(middlewares=[remember_authorization, errors_as_json])
    app.add_routes(routes)
    app[BUTTONS_KEY] = panel
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    await panel.start()
    service = Service(panel, f"http://127.0.0.1:{port}")
    service.events = events
    yield service
    await panel.close()
    await runner.cleanup()


async def test_buttons_are_listed_with_pin_and_lamp(service: Service) -> None:
    service.panel.show("overview", emergency=False)

    async with ClientSession() as session:
        async with session.get(f"{service.url}/api/v1/buttons") as response:
            body = await response.json()

    assert response.status == 200
    assert body["mock"] is True
    assert [
        (b["name"], b["action"], b["pin"], b["lamp_pin"], b["lamp"], b["hold_s"])
        for b in body["buttons"]
    ] == [
        ("emergency", "flood", "GPIO17", "GPIO27", "off", 0.3),
        ("overview", "overview", "GPIO5", "GPIO6", "on", None),
        ("next", "next", "GPIO13", None, None, None),
    ]


async def test_press_without_body_is_a_short_press(service: Service) -> None:
    async with ClientSession() as session:
        url = f"{service.url}/api/v1/buttons/overview/press"
        async with session.post(url) as response:
            body = await response.json()

    assert response.status == 200
    assert body["event"]["button"] == "overview"
    assert body["event"]["action"] == "overview"
    assert body["button"]["pressed"] is False
    assert [e.button for e in service.events] == ["overview"]


@pytest.mark.parametrize(("hold_s", "fired"), [(0.1, False), (0.5, True)])
async def test_press_with_hold_reaches_the_hold_button(
    service: Service, hold_s: float, fired: bool
) -> None:
    async with ClientSession() as session:
        url = f"{service.url}/api/v1/buttons/emergency/press"
        async with session.post(url, json={"hold_s": hold_s}) as response:
            body = await response.json()

    assert response.status == 200
    assert (body["event"] is not None) is fired
    assert len(service.events) == int(fired)


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ('{"hold_s": "long"}', "found hold_s 'long', expected a number of seconds"),
        ('{"hold_s": 99}', "found hold_s 99, expected 0 to 30 seconds"),
        ('{"hold_s": true}', "found hold_s True, expected a number of seconds"),
        ('{"hold": 1}', 'found {"hold": 1}, expected {"hold_s": seconds} or no body'),
        # Strict JSON, as on every other route (deep nesting was a 500 here).
        ("[" * 30000, "request body is nested too deeply"),
        ('{"hold_s": NaN}', "request body is not valid JSON: NaN is not a JSON number"),
        (
            '{"hold_s": 0.1, "hold_s": 5}',
            "request body is not valid JSON here: key 'hold_s' appears twice",
        ),
    ],
    ids=["text", "too-long", "bool", "unknown-key", "nested", "nan", "duplicate-key"],
)
async def test_bad_press_body_is_refused(
    service: Service, payload: str, message: str
) -> None:
    async with ClientSession() as session:
        url = f"{service.url}/api/v1/buttons/emergency/press"
        async with session.post(url, data=payload) as response:
            body = await response.json()

    assert response.status == 400
    assert body == {"error": message}
    assert service.events == []


async def test_press_of_unknown_button_is_404(service: Service) -> None:
    async with ClientSession() as session:
        url = f"{service.url}/api/v1/buttons/lights/press"
        async with session.post(url) as response:
            body = await response.json()

    assert response.status == 404
    assert body == {
        "error": "unknown button 'lights'; known: emergency, next, overview"
    }


def run_cli(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="opswall")
    cli.add_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return int(args.func(args))


async def test_cli_prints_the_action_of_a_held_button(
    service: Service, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["button", "emergency", "--hold", "0.5", "--url", service.url]

    code = await asyncio.to_thread(run_cli, argv)

    out = capsys.readouterr().out
    assert code == 0
    # Pressed for as long as asked; it acted once the 0.3 s hold was reached.
    assert out.startswith(
        "button 'emergency' (GPIO17) pressed for 0.50 s → preset 'flood' (acted 0.3"
    )
    assert out.endswith(" s into the press)\nlamp: off\n")
    assert [e.action for e in service.events] == ["flood"]


async def test_cli_says_when_a_hold_was_too_short(
    service: Service, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["button", "emergency", "--url", service.url]

    code = await asyncio.to_thread(run_cli, argv)

    assert code == 0
    assert capsys.readouterr().out == (
        "button 'emergency' (GPIO17) pressed for 0.10 s: nothing happened "
        "(needs a 0.3 s hold)\nlamp: off\n"
    )


async def test_cli_sends_the_admin_token(
    service: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPSWALL_ADMIN_TOKEN", "s3cret")

    code = await asyncio.to_thread(run_cli, ["button", "next", "--url", service.url])

    assert code == 0
    assert service.authorization == ["Bearer s3cret"]


async def test_cli_fails_clearly_for_an_unknown_button(
    service: Service, capsys: pytest.CaptureFixture[str]
) -> None:
    code = await asyncio.to_thread(run_cli, ["button", "lights", "--url", service.url])

    assert code == 1
    assert capsys.readouterr().err == (
        "opswall button: 'lights' not pressed: unknown button 'lights'; "
        "known: emergency, next, overview (HTTP 404)\n"
    )


def test_cli_fails_clearly_when_the_service_is_down(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}"

    code = run_cli(["button", "emergency", "--url", url])

    err = capsys.readouterr().err
    assert code == 1
    assert err.startswith(
        f"opswall button: cannot reach the Opswall service at {url} ("
    )
    assert err.endswith("); is it running? (--url or $OPSWALL_URL)\n")


@pytest.mark.parametrize("token", [None, "wrong"])
async def test_cli_refused_for_want_of_a_token_says_how_to_give_one(
    token: str | None, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    async def refuse(_request: web.Request) -> web.Response:
        return web.json_response({"error": "log in"}, status=401)

    monkeypatch.delenv("OPSWALL_ADMIN_TOKEN", raising=False)
    app = web.Application()
    app.router.add_post("/api/v1/buttons/{name}/press", refuse)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    argv = ["button", "next", "--url", f"http://127.0.0.1:{port}"]
    try:
        code = await asyncio.to_thread(
            run_cli, argv + (["--token", token] if token else [])
        )
    finally:
        await runner.cleanup()

    assert code == 1
    assert capsys.readouterr().err == (
        "opswall button: 'next' not pressed: log in (HTTP 401); give the admin token "
        "(or an operator's API token) with --token TOKEN or $OPSWALL_ADMIN_TOKEN"
        + (" (the one given was refused)" if token else "")
        + "\n"
    )


@pytest.mark.parametrize(
    ("hold", "message"),
    [
        ("nan", "nan s is out of range: a press lasts 0 to 30 s"),
        ("inf", "inf s is out of range: a press lasts 0 to 30 s"),
        ("-1", "-1 s is out of range: a press lasts 0 to 30 s"),
        ("long", "'long' is not a number of seconds"),
    ],
)
def test_cli_refuses_a_hold_that_is_not_a_press(
    hold: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        run_cli(["button", "emergency", "--hold", hold, "--url", "http://127.0.0.1:9"])

    assert exited.value.code == 2
    assert f"argument --hold: {message}" in capsys.readouterr().err
