"""``opswall run``, ``opswall demo``, ``opswall check-config`` and ``simulate-cameras``."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import logging
import signal
import sys
from pathlib import Path
from typing import Any

from aiohttp import web

from controller.config.loader import Config, load_config
from controller.errors import ConfigError, OpswallError

_LOGGER = logging.getLogger(__name__)

DEMO_CONFIG = Path(__file__).resolve().parent.parent / "config" / "demo.yaml"


def add_parser(subparsers: Any) -> None:
    """Add the service's subcommands."""
    run = subparsers.add_parser("run", help="run the wall controller service")
    run.add_argument("--config", required=True, type=Path, help="appliance config file")
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
    return _serve(config)


def _demo(args: argparse.Namespace) -> int:
    config = _load(args.config)
    if config is None:
        return 1
    if args.port is not None:
        spec = config.spec.model_copy(
            update={"web": config.spec.web.model_copy(update={"port": args.port})}
        )
        config = dataclasses.replace(config, spec=spec)
    return _serve(config, simulate=True)


def _simulate(args: argparse.Namespace) -> int:
    from controller.simulate.cameras import run_forever

    asyncio.run(run_forever(args.count, args.address))
    return 0


def _reload_on_signal(service: Any) -> None:
    async def reload() -> None:
        try:
            await service.reload("SIGHUP")
        except OpswallError as err:
            _LOGGER.error("config reload (SIGHUP) refused: %s", err)

    task = asyncio.get_running_loop().create_task(reload(), name="reload on SIGHUP")
    _reload_tasks.add(task)
    task.add_done_callback(_reload_tasks.discard)


_reload_tasks: set[asyncio.Task[None]] = set()


def _serve(config: Config, simulate: bool = False) -> int:
    try:
        asyncio.run(serve(config, simulate))
    except OpswallError as err:
        _LOGGER.error("%s", err)
        return 1
    return 0


async def serve(config: Config, simulate: bool = False) -> None:
    """Run the service until SIGINT or SIGTERM."""
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
        runner = web.AppRunner(build_app(service), access_log=None)
        await runner.setup()
        web_spec = config.spec.web
        site = web.TCPSite(runner, web_spec.host, web_spec.port)
        await site.start()
        url = f"http://{web_spec.host}:{web_spec.port}/"
        _LOGGER.info(
            "wall on X display %s; web remote and API at %s", service.display_name, url
        )
        if simulate:
            print(
                f"\nOpswall demo is running.  Web remote: {url}   "
                f"Wall picture: {url}api/v1/wall.jpg   Stop: Ctrl-C\n",
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
