"""sd_notify messages over a real datagram socket, as systemd receives them."""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from controller.appliance.systemd import SystemdNotifier


@pytest.fixture
def notify_socket(tmp_path: Path) -> Iterator[tuple[socket.socket, str]]:
    path = str(tmp_path / "notify")
    server = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    server.bind(path)
    server.setblocking(False)
    yield server, path
    server.close()


def received(server: socket.socket) -> list[str]:
    messages = []
    while True:
        try:
            messages.append(server.recv(4096).decode())
        except BlockingIOError:
            return messages


def test_ready_status_and_stopping_reach_the_socket(
    notify_socket: tuple[socket.socket, str],
) -> None:
    server, path = notify_socket
    notifier = SystemdNotifier({"NOTIFY_SOCKET": path})
    notifier.ready("wall up, 4 tiles")
    notifier.status("preset overview")
    notifier.stopping()
    assert received(server) == [
        "READY=1\nSTATUS=wall up, 4 tiles",
        "STATUS=preset overview",
        "STOPPING=1",
    ]


def test_abstract_socket_names_are_understood() -> None:
    name = f"opswall-test-{os.getpid()}"
    server = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    server.bind("\0" + name)
    try:
        SystemdNotifier({"NOTIFY_SOCKET": "@" + name}).ready()
        assert server.recv(100) == b"READY=1"
    finally:
        server.close()


def test_without_systemd_everything_is_a_no_op() -> None:
    notifier = SystemdNotifier({})
    notifier.ready("x")
    notifier.stopping()
    assert not notifier.enabled
    assert notifier.watchdog_interval_s is None


def test_watchdog_interval_is_half_of_watchdog_usec(
    notify_socket: tuple[socket.socket, str],
) -> None:
    _, path = notify_socket
    env = {"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "20000000"}
    assert SystemdNotifier(env).watchdog_interval_s == 10.0
    other_process = dict(env, WATCHDOG_PID=str(os.getpid() + 1))
    assert SystemdNotifier(other_process).watchdog_interval_s is None


async def test_watchdog_pings_only_while_healthy(
    notify_socket: tuple[socket.socket, str],
) -> None:
    server, path = notify_socket
    healthy = True
    notifier = SystemdNotifier({"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "100000"})
    task = asyncio.create_task(notifier.run_watchdog(lambda: healthy), name="watchdog")

    await asyncio.sleep(0.28)
    pings_healthy = received(server)
    healthy = False
    await asyncio.sleep(0.05)
    received(server)
    await asyncio.sleep(0.3)
    pings_unhealthy = received(server)
    healthy = True
    await asyncio.sleep(0.12)
    pings_again = received(server)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

    assert len(pings_healthy) >= 4
    assert set(pings_healthy) == {"WATCHDOG=1"}
    assert pings_unhealthy == []
    assert pings_again and set(pings_again) == {"WATCHDOG=1"}


async def test_a_raising_health_check_stops_the_pings(
    notify_socket: tuple[socket.socket, str],
) -> None:
    server, path = notify_socket

    def broken() -> bool:
        raise RuntimeError("player table corrupt")

    notifier = SystemdNotifier({"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "100000"})
    task = asyncio.create_task(notifier.run_watchdog(broken), name="watchdog")
    await asyncio.sleep(0.2)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert received(server) == []


async def test_watchdog_task_returns_at_once_without_watchdog_usec(
    notify_socket: tuple[socket.socket, str],
) -> None:
    _, path = notify_socket
    notifier = SystemdNotifier({"NOTIFY_SOCKET": path})
    await asyncio.wait_for(notifier.run_watchdog(lambda: True), timeout=1)
