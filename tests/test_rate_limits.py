"""Registering and logging in are rate limited per client address, with a growing wait after
repeated failed logins from one address and a limit on an account's failed logins that holds back
only the addresses that failed; searches and recommendations are limited per address and per
user. Counters are shared through Redis when REDIS_URL is set."""

import asyncio
import math
import os
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from cinelibre.auth.rate_limits import RateLimitPolicy, address_key
from cinelibre.settings import Settings
from tests.conftest import app_on, empty_redis_database
from tests.factories import add_movie

REDIS_URL = os.environ.get("TEST_RATE_LIMIT_REDIS_URL", "redis://127.0.0.1:6379/14")
# Limits high enough to stay out of the way of the one a test is about.
LOOSE = {
    "login_rate_limit": "1000/minute",
    "login_account_rate_limit": "1000/minute",
    "register_rate_limit": "1000/minute",
    "login_backoff_after_failures": 1000,
    "search_rate_limit": "1000/minute",
    "recommendation_rate_limit": "1000/minute",
}


@pytest.fixture
def make_app(settings: Settings, conn, pool, embedder):
    def make(**changes: Any) -> FastAPI:
        return app_on(conn, settings.model_copy(update=LOOSE | changes), pool, embedder)

    return make


@asynccontextmanager
async def client_at(app: FastAPI, address: str = "198.51.100.7") -> AsyncIterator[httpx.AsyncClient]:
    """A client whose requests come from `address`."""
    transport = httpx.ASGITransport(app=app, client=(address, 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        yield http


async def login(http: httpx.AsyncClient, email: str, password: str = "wrong-password") -> httpx.Response:
    return await http.post("/auth/login", json={"email": email, "password": password})


async def register(http: httpx.AsyncClient, email: str, password: str = "the-password") -> httpx.Response:
    return await http.post("/auth/register", json={"email": email, "password": password, "name": "N"})


def assert_rate_limited(response: httpx.Response, *, most: int, least: int = 1) -> None:
    assert response.status_code == 429, response.text
    seconds = int(response.headers["retry-after"])
    assert least <= seconds <= most
    assert response.json() == {
        "error": {"code": "rate_limited", "message": f"Too many attempts; try again in {seconds} s.", "details": []}
    }


async def test_logins_from_one_address_are_limited(make_app) -> None:
    app = make_app(login_rate_limit="3/minute")
    async with client_at(app, "198.51.100.7") as busy, client_at(app, "198.51.100.8") as other:
        answers = [(await login(busy, f"user{n}@example.com")).status_code for n in range(3)]
        over = await login(busy, "user4@example.com")
        elsewhere = await login(other, "user4@example.com")

    assert answers == [401, 401, 401]
    assert_rate_limited(over, least=55, most=60)
    assert elsewhere.status_code == 401


async def test_failed_logins_to_one_account_hold_back_only_the_addresses_that_failed(make_app) -> None:
    app = make_app(login_account_rate_limit="2/minute")
    async with (
        client_at(app, "198.51.100.1") as first,
        client_at(app, "198.51.100.2") as second,
        client_at(app, "198.51.100.3") as third,
    ):
        await register(third, "target@example.com")
        answers = [
            (await login(first, "target@example.com")).status_code,
            (await login(second, "TARGET@example.com")).status_code,
        ]
        failed_before = await login(second, "target@example.com", password="the-password")
        other_account = await login(second, "someone@example.com")
        never_failed = await login(third, "target@example.com", password="the-password")

    assert answers == [401, 401]
    assert_rate_limited(failed_before, least=59, most=60)
    assert other_account.status_code == 401
    assert never_failed.status_code == 200


async def test_an_attacker_failing_at_one_address_never_locks_the_owner_out_at_another(make_app) -> None:
    app = make_app(login_account_rate_limit="5/minute", login_backoff_after_failures=5)
    async with client_at(app, "203.0.113.66") as attacker, client_at(app, "198.51.100.20") as owner:
        await register(owner, "victim@example.com")
        started = time.monotonic()
        guesses = [(await login(attacker, "victim@example.com", f"guess-{n}")).status_code for n in range(50)]
        owners_login = await login(owner, "victim@example.com", password="the-password")
        attacker_with_the_password = await login(attacker, "victim@example.com", password="the-password")
        # Hashing 50 guesses takes seconds on busy cores, and the wait counts from the first failure.
        elapsed = math.ceil(time.monotonic() - started)

    assert guesses == [401] * 5 + [429] * 45
    assert owners_login.status_code == 200
    # The account's failure window (the first failure plus a minute) outlasts the 1 s backoff:
    # the first refusal already names the wait that really applies.
    assert_rate_limited(attacker_with_the_password, least=60 - elapsed, most=60)


async def test_the_first_refusal_states_the_whole_wait(make_app) -> None:
    app = make_app(login_account_rate_limit="2/minute", login_backoff_after_failures=2)
    async with client_at(app) as http:
        failures = [(await login(http, "patient@example.com")).status_code for _ in range(2)]
        first_refusal = await login(http, "patient@example.com")

    assert failures == [401, 401]
    assert_rate_limited(first_refusal, least=60, most=60)


async def test_registrations_from_one_address_are_limited(make_app) -> None:
    app = make_app(register_rate_limit="2/hour")
    async with client_at(app, "2001:db8:1:2::10") as first, client_at(app, "2001:db8:1:2::99") as same_network:
        answers = [
            (await register(first, "a@example.com")).status_code,
            (await register(first, "a@example.com")).status_code,
        ]
        over = await register(same_network, "c@example.com")

    assert answers == [201, 409]  # a taken email counts too: that is what probing for accounts looks like
    assert_rate_limited(over, least=3590, most=3600)


async def test_failed_logins_in_a_row_make_the_account_wait_longer_each_time(make_app) -> None:
    app = make_app(login_backoff_after_failures=2)
    async with client_at(app) as http:
        await register(http, "slow@example.com")
        failures = [(await login(http, "slow@example.com")).status_code for _ in range(2)]
        waiting = await login(http, "slow@example.com", password="the-password")  # even the right password waits
        await asyncio.sleep(1.1)
        third_failure = await login(http, "slow@example.com")
        waiting_longer = await login(http, "slow@example.com")

    assert failures == [401, 401]
    assert_rate_limited(waiting, most=1)
    assert third_failure.status_code == 401
    assert_rate_limited(waiting_longer, least=2, most=2)


async def test_a_successful_login_starts_the_failure_count_again(make_app) -> None:
    app = make_app(login_backoff_after_failures=2)
    async with client_at(app) as http:
        await register(http, "forgetful@example.com")
        first = await login(http, "forgetful@example.com")
        success = await login(http, "forgetful@example.com", password="the-password")
        after = await login(http, "forgetful@example.com")

    assert (first.status_code, success.status_code, after.status_code) == (401, 200, 401)


async def test_unknown_emails_are_limited_exactly_like_registered_ones(make_app) -> None:
    app = make_app(login_backoff_after_failures=2)
    async with client_at(app) as http:
        await register(http, "exists@example.com")
        known = [await login(http, "exists@example.com") for _ in range(3)]
        unknown = [await login(http, "missing@example.com") for _ in range(3)]

    assert [r.status_code for r in known] == [r.status_code for r in unknown] == [401, 401, 429]
    assert [r.content for r in known] == [r.content for r in unknown]


async def test_a_wrong_current_password_counts_as_a_failed_login(make_app) -> None:
    app = make_app(login_backoff_after_failures=2)
    async with client_at(app) as http:
        registered = await register(http, "stolen-token@example.com")
        headers = {"Authorization": f"Bearer {registered.json()['access_token']}"}
        guesses = [
            await http.post(
                "/auth/password", headers=headers, json={"current_password": f"guess-{n}", "new_password": "mine-now"}
            )
            for n in range(3)
        ]

    assert [r.status_code for r in guesses[:2]] == [422, 422]
    assert_rate_limited(guesses[2], most=1)


async def test_rate_limits_off_lets_every_attempt_through(make_app) -> None:
    app = make_app(
        rate_limits="off",
        login_rate_limit="1/minute",
        login_account_rate_limit="1/minute",
        register_rate_limit="1/hour",
        login_backoff_after_failures=1,
    )
    async with client_at(app) as http:
        registered = [(await register(http, f"r{n}@example.com")).status_code for n in range(3)]
        logins = [(await login(http, "r0@example.com")).status_code for _ in range(10)]

    assert registered == [201, 201, 201]
    assert logins == [401] * 10


def test_the_wait_doubles_from_the_threshold_up_to_the_cap(settings: Settings) -> None:
    policy = RateLimitPolicy.from_settings(
        settings.model_copy(update={"login_backoff_after_failures": 3, "login_backoff_max_seconds": 60})
    )

    assert [policy.backoff_seconds(failures) for failures in range(1, 12)] == [0, 0, 1, 2, 4, 8, 16, 32, 60, 60, 60]
    assert policy.backoff_seconds(10_000) == 60


@pytest.mark.parametrize(
    ("address", "counted_as"),
    [
        ("203.0.113.9", "203.0.113.9"),
        ("2001:db8:abcd:12:1:2:3:4", "2001:db8:abcd:12::/64"),
        ("::ffff:203.0.113.9", "203.0.113.9"),
        ("testclient", "testclient"),
    ],
)
def test_ipv6_clients_are_counted_by_their_64_network(address: str, counted_as: str) -> None:
    assert address_key(address) == counted_as


@pytest.fixture
def redis_url() -> str:
    return empty_redis_database(REDIS_URL, "shared rate limits are")


async def test_two_instances_share_the_counters_through_redis(make_app, redis_url: str) -> None:
    first = make_app(redis_url=redis_url, login_rate_limit="3/minute", login_backoff_after_failures=2)
    second = make_app(redis_url=redis_url, login_rate_limit="3/minute", login_backoff_after_failures=2)
    try:
        async with client_at(first) as on_first, client_at(second) as on_second:
            backoff = [
                (await login(on_first, "shared@example.com")).status_code,
                (await login(on_second, "shared@example.com")).status_code,
            ]
            waiting = await login(on_first, "shared@example.com")
            third = await login(on_second, "another@example.com")
            over = await login(on_first, "another@example.com")
    finally:
        for app in (first, second):
            await app.state.rate_limiter.close()
            await app.state.cache.close()

    assert backoff == [401, 401]
    assert_rate_limited(waiting, most=1)  # the two failures were counted together
    assert third.status_code == 401  # a refused login is not counted against the address
    assert_rate_limited(over, least=55, most=60)  # 3 logins counted from the address across both instances


async def test_an_unreachable_redis_lets_logins_through(make_app) -> None:
    app = make_app(redis_url="redis://127.0.0.1:1/0", login_rate_limit="1/minute")
    try:
        async with client_at(app) as http:
            answers = [(await login(http, "patient@example.com")).status_code for _ in range(3)]
    finally:
        await app.state.rate_limiter.close()
        await app.state.cache.close()

    assert answers == [401, 401, 401]


def assert_too_many_requests(response: httpx.Response, kind: str, seconds: int) -> None:
    assert response.status_code == 429, response.text
    assert response.headers["retry-after"] == str(seconds)
    assert response.json() == {
        "error": {
            "code": "rate_limited",
            "message": f"Too many {kind} requests; try again in {seconds} s.",
            "details": [],
        }
    }


async def test_searches_are_limited_per_address(make_app) -> None:
    app = make_app(search_rate_limit="2/minute")
    async with client_at(app, "198.51.100.30") as busy, client_at(app, "198.51.100.31") as other:
        answers = [(await busy.get("/search/status")).status_code for _ in range(2)]
        over = await busy.get("/search/semantic", params={"q": "monsoon"})
        elsewhere = await other.get("/search/status")

    assert answers == [200, 200]
    assert_too_many_requests(over, "search", 60)
    assert elsewhere.status_code == 200


async def test_a_signed_in_user_is_limited_from_any_address(make_app) -> None:
    app = make_app(recommendation_rate_limit="2/minute")
    async with client_at(app, "198.51.100.40") as first, client_at(app, "198.51.100.41") as second:
        token = (await register(first, "reader@example.com")).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        answers = [
            (await first.get("/recommendations/personalized", headers=headers)).status_code,
            (await second.get("/recommendations/popular", headers=headers)).status_code,
        ]
        over = await second.get("/recommendations/popular", headers=headers)
        anonymous_at_the_same_address = await second.get("/recommendations/popular")

    assert answers == [200, 200]
    assert_too_many_requests(over, "recommendations", 60)
    assert anonymous_at_the_same_address.status_code == 200  # that address has counted one request


async def test_every_recommendation_route_counts_towards_one_limit(make_app, conn) -> None:
    movie = await add_movie(conn, title="Charulata")
    app = make_app(recommendation_rate_limit="3/minute")
    async with client_at(app) as http:
        token = (await register(http, "counted@example.com")).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        answers = [
            (await http.get(f"/recommendations/similar/movie/{movie}")).status_code,
            (await http.get(f"/recommendations/predict/movie/{movie}", headers=headers)).status_code,
            (await http.get("/recommendations/popular", params={"window_days": 30})).status_code,
        ]
        over = await http.get("/recommendations/personalized", headers=headers)

    assert answers == [200, 200, 200]
    assert_too_many_requests(over, "recommendations", 60)


async def test_rate_limits_off_lets_every_search_through(make_app) -> None:
    app = make_app(rate_limits="off", search_rate_limit="1/minute")
    async with client_at(app) as http:
        answers = [(await http.get("/search/status")).status_code for _ in range(5)]

    assert answers == [200] * 5
