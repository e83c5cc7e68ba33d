"""``opswall run``, ``opswall demo``, ``opswall check-config`` and ``simulate-cameras``."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import logging
import os
import secrets
import signal
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiohttp import web

from controller.access.secret import (
    MIN_SECRET_CHARS,
    AdminSecretError,
    find_admin_secret,
    missing_secret_message,
    new_setup_code,
)
from controller.config.loader import Config, load_config
from controller.errors import ConfigError, OpswallError

_LOGGER = logging.getLogger(__name__)

DEMO_CONFIG = Path(__file__).resolve().parent.parent / "config" / "demo.yaml"
#: The demo's admin token when set; otherwise it makes a random one.
ADMIN_TOKEN_ENV = "OPSWALL_ADMIN_TOKEN"
DEMO_OPERATOR = "operator"


@dataclass(frozen=True)
class Credentials:
    """How the service is entered: the admin secret or a setup code, the demo's PIN."""

    admin_secret: str | None
    setup_code: str | None = None
    operator_pin: str | None = None
    secret_from_env: bool = False


def add_parser(subparsers: Any) -> None:
    """Add the service's subcommands."""
    run = subparsers.add_parser("run", help="run the wall controller service")
    run.add_argument("--config", required=True, type=Path, help="appliance config file")
    run.add_argument(
        "--setup",
        action="store_true",
        help="with no admin secret set: print a one-time code to set it from the remote",
    )
    run.set_defaults(func=_run)

    demo = subparsers.add_parser(
        "demo", help="run the service on the demo config with 8 simulated cameras"
    )
    demo.add_argument("--config", type=Path, default=DEMO_CONFIG)
    demo.add_argument(
        "--port", type=int, default=None, help="web port (default: config)"
    )
    demo.set_defaults(func=_demo)

    check = subparsers.add_parser(
        "check-config", help="validate a config, layouts, presets"
    )
    check.add_argument("config", type=Path)
    check.set_defaults(func=_check)

    sim = subparsers.add_parser(
        "simulate-cameras", help="run simulated RTSP cameras announced over mDNS"
    )
    sim.add_argument("--count", type=int, default=8)
    sim.add_argument("--address", default="127.0.0.1")
    sim.set_defaults(func=_simulate)


def _load(path: Path) -> Config | None:
    try:
        return load_config(path)
    except ConfigError as err:
        print(err, file=sys.stderr)
        return None


def _check(args: argparse.Namespace) -> int:
    config = _load(args.config)
    if config is None:
        return 1
    print(
        f"{args.config}: OK ({len(config.layouts)} layouts, {len(config.presets)} presets, "
        f"{len(config.spec.cameras)} cameras, {len(config.spec.displays)} displays, "
        f"{len(config.spec.buttons)} buttons)"
    )
    return 0


def _run(args: argparse.Namespace) -> int:
    config = _load(args.config)
    if config is None:
        return 1
    try:
        found = find_admin_secret(config.spec.access, config.state_dir)
    except AdminSecretError as err:
        print(f"opswall run: {err}", file=sys.stderr)
        return 1
    if found is not None:
        _LOGGER.info("admin secret from %s", found[1])
        return _serve(config, Credentials(found[0]))
    if not args.setup:
        print(
            "opswall run: " + missing_secret_message(args.config, config.spec.access),
            file=sys.stderr,
        )
        return 1
    return _serve(config, Credentials(None, setup_code=new_setup_code()))


def _demo(args: argparse.Namespace) -> int:
    config = _load(args.config)
    if config is None:
        return 1
    if args.port is not None:
        spec = config.spec.model_copy(
            update={"web": config.spec.web.model_copy(update={"port": args.port})}
        )
        config = dataclasses.replace(config, spec=spec)
    # An empty variable (``OPSWALL_ADMIN_TOKEN= make demo``) means unset, as in shells.
    token = os.environ.get(ADMIN_TOKEN_ENV, "").strip() or None
    if token is not None and len(token) < MIN_SECRET_CHARS:
        print(
            f"opswall demo: ${ADMIN_TOKEN_ENV} has {len(token)} characters; expected "
            f"at least {MIN_SECRET_CHARS}",
            file=sys.stderr,
        )
        return 1
    credentials = Credentials(
        token or secrets.token_urlsafe(24),
        operator_pin=f"{secrets.randbelow(10**6):06d}",
        secret_from_env=token is not None,
    )
    return _serve(config, credentials, simulate=True)


def _simulate(args: argparse.Namespace) -> int:
    from controller.simulate.cameras import run_forever

    asyncio.run(run_forever(args.count, args.address))
    return 0


def _reload_on_signal(service: Any) -> None:
    async def reload() -> None:
        result = "failed"
        try:
            await service.reload("SIGHUP")
            result = "ok"
        except OpswallError as err:
            result = "refused"
            _LOGGER.error("config reload (SIGHUP) refused: %s", err)
        finally:
            if service.on_action is not None:
                service.on_action("SIGHUP", "config.reload", "", result, None)

    task = asyncio.get_running_loop().create_task(reload(), name="reload on SIGHUP")
    _reload_tasks.add(task)
    task.add_done_callback(_reload_tasks.discard)


_reload_tasks: set[asyncio.Task[None]] = set()


def _serve(config: Config, credentials: Credentials, simulate: bool = False) -> int:
    try:
        asyncio.run(serve(config, credentials, simulate))
    except OpswallError as err:
        _LOGGER.error("%s", err)
        return 1
    return 0


async def serve(
    config: Config, credentials: Credentials, simulate: bool = False
) -> None:
    """Run the service until SIGINT or SIGTERM."""
    from controller.access.middleware import Access
    from controller.access.roles import Role
    from controller.access.tls import server_context
    from controller.service import Service
    from controller.web.app import build_app

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)

    cameras = None
    if simulate:
        from controller.simulate.cameras import SimulatedCameraSet

        cameras = SimulatedCameraSet(address="127.0.0.1")
        await cameras.start()
    service = Service(config)
    runner: web.AppRunner | None = None
    try:
        await service.start()
        web_spec = config.spec.web
        access = Access(
            config.spec.access,
            config.state_dir,
            credentials.admin_secret,
            tls=web_spec.tls,
            setup_code=credentials.setup_code,
        )
        runner = web.AppRunner(build_app(service, access), access_log=None)
        await runner.setup()
        if credentials.operator_pin is not None:
            await loop.run_in_executor(
                None,
                access.users.set,
                DEMO_OPERATOR,
                Role.OPERATOR,
                credentials.operator_pin,
                "demo",
            )
        ssl_context = None
        if web_spec.tls:
            ssl_context = await loop.run_in_executor(
                None, server_context, config.state_dir, web_spec.host
            )
        site = web.TCPSite(
            runner, web_spec.host, web_spec.port, ssl_context=ssl_context
        )
        await site.start()
        scheme = "https" if web_spec.tls else "http"
        # Port 0 (tests, a second wall on one box) is the port the kernel chose.
        port = runner.addresses[0][1] if runner.addresses else web_spec.port
        url = f"{scheme}://{web_spec.host}:{port}/"
        _LOGGER.info(
            "wall on X display %s; web remote and API at %s", service.display_name, url
        )
        if simulate:
            print(_demo_banner(url, credentials), flush=True)
        elif credentials.setup_code is not None:
            print(
                f"\nOpswall needs an admin secret. Open {url} and enter the one-time "
                f"setup code {credentials.setup_code} with the new secret (at least "
                f"{MIN_SECRET_CHARS} characters). Opened on this "
                "device itself (localhost), the page needs no code.\n",
                flush=True,
            )
        loop.add_signal_handler(signal.SIGHUP, _reload_on_signal, service)
        service.notifier.ready(f"showing the wall at {url}")
        await stop.wait()
    finally:
        if runner is not None:
            await runner.cleanup()
        await service.stop()
        if cameras is not None:
            await cameras.stop()
        _LOGGER.info("opswall stopped")


def _demo_banner(url: str, credentials: Credentials) -> str:
    token = (
        f"${ADMIN_TOKEN_ENV}"
        if credentials.secret_from_env
        else credentials.admin_secret
    )
    source = " (from the environment)" if credentials.secret_from_env else ""
    return (
        f"\nOpswall demo is running.  Web remote: {url}   "
        f"Wall picture: {url}api/v1/wall.jpg   Stop: Ctrl-C\n"
        f"  Log in on the remote:  user {DEMO_OPERATOR}, PIN {credentials.operator_pin}"
        f"   (or user admin with the admin token as password)\n"
        f"  Admin token{source}:  {token}\n"
        f'  API:  curl -H "Authorization: Bearer {token}" {url}api/v1/state\n'
        + (
            ""
            if credentials.secret_from_env
            else f"  Desk buttons:  export {ADMIN_TOKEN_ENV}={token}; "
            "opswall button emergency --hold 1.5\n"
        )
    )
