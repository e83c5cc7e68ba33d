"""Login throttling: per client address and per account (3 failures in these tests)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import aiohttp

from tests.access.conftest import OPERATOR_PIN, VIEWER_PIN, Gate


def _from(gate: Gate) -> Callable[[str], AsyncIterator[aiohttp.ClientSession]]:
    """Clients on other loopback addresses (127.0.0.2 …) than the test client's."""

    @asynccontextmanager
    async def client(address: str) -> AsyncIterator[aiohttp.ClientSession]:
        connector = aiohttp.TCPConnector(local_addr=(address, 0))
        async with aiohttp.ClientSession(
            base_url=gate.client.make_url("/"), connector=connector
        ) as session:
            yield session

    return client


async def _login(http, user: str, secret: str) -> aiohttp.ClientResponse:
    async with http.post("/api/v1/login", json={"user": user, "secret": secret}) as r:
        await r.read()
        return r


async def test_account_is_locked_after_repeated_failures_from_anywhere(gate: Gate):
    client = _from(gate)
    async with client("127.0.0.2") as first, client("127.0.0.3") as second:
        assert (await _login(first, "otto", "000000")).status == 401
        assert (await _login(second, "otto", "111111")).status == 401
        third = await _login(first, "otto", "222222")
        assert third.status == 429
        assert 1 <= int(third.headers["Retry-After"]) <= 30

        # The right PIN, from an address that never failed, waits as well.
        async with client("127.0.0.4") as fresh:
            reply = await fresh.post(
                "/api/v1/login", json={"user": "otto", "secret": OPERATOR_PIN}
            )
            assert reply.status == 429
            assert (await reply.json())["error"].startswith(
                "too many failed logins; try again in "
            )
            # Another account from there is not affected.
            assert (await _login(fresh, "vera", VIEWER_PIN)).status == 200


async def test_client_is_locked_after_failures_across_accounts(gate: Gate):
    client = _from(gate)
    async with client("127.0.0.5") as guesser:
        for name in ("ann", "bob", "carl"):
            await _login(guesser, name, "123456")
        reply = await _login(guesser, "vera", VIEWER_PIN)
        assert reply.status == 429

    async with client("127.0.0.6") as other:
        assert (await _login(other, "vera", VIEWER_PIN)).status == 200


async def test_success_forgets_earlier_failures(gate: Gate):
    client = _from(gate)
    async with client("127.0.0.7") as tablet:
        for _ in range(2):
            assert (await _login(tablet, "otto", "999999")).status == 401
        assert (await _login(tablet, "otto", OPERATOR_PIN)).status == 200
        for _ in range(2):
            assert (await _login(tablet, "otto", "999999")).status == 401
        assert (await _login(tablet, "otto", OPERATOR_PIN)).status == 200


def test_lock_doubles_with_each_further_failure_up_to_the_limit():
    from controller.access.throttle import MAX_LOCKOUT_S, LoginThrottle

    now = [1000.0]
    throttle = LoginThrottle(3, 30.0, clock=lambda: now[0])
    for _ in range(2):
        throttle.failed("user:otto")
    assert throttle.retry_after("user:otto") == 0
    throttle.failed("user:otto")
    assert throttle.retry_after("user:otto") == 30
    throttle.failed("user:otto")
    assert throttle.retry_after("user:otto") == 60
    for _ in range(10):
        throttle.failed("user:otto")
    assert throttle.retry_after("user:otto") == MAX_LOCKOUT_S
    now[0] += MAX_LOCKOUT_S + 1
    assert throttle.retry_after("user:otto") == 0


def test_throttle_remembers_a_bounded_number_of_keys():
    from controller.access.throttle import LoginThrottle

    throttle = LoginThrottle(3, 30.0, max_keys=100)
    for number in range(1000):
        throttle.failed(f"ip:10.0.{number // 256}.{number % 256}")
    assert len(throttle) == 100
