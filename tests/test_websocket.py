"""Live updates over /ws, against two real `cinelibre serve` processes on one database: the socket
authenticates with its first message, and a rating stored through either instance brings the
user's new recommendations within 2 s. A client that never reads holds at most one message."""

import asyncio
import json
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path

import httpx
import jwt
import psycopg
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from cinelibre.web.live import LiveUpdates, Outbox, SlowClientError, recommendations_message
from tests.live_server import Server, stop_leftover_database
from tests.test_scale_out import database_url_of

SECRET = "websocket-test-secret-that-is-long-enough"
# Without Redis each instance keeps its own popular list for POPULAR_CACHE_SECONDS, and a list
# starts from it: one instance's live list equals another's HTTP answer only if both read the
# popularity the ratings have now, so these instances do not cache it.
SETTINGS = {
    "JWT_SECRET_KEY": SECRET,
    "RETRAIN_AFTER_NEW_RATINGS": "0",
    "LOG_FORMAT": "json",
    "POPULAR_CACHE_SECONDS": "0",
}
DELIVERY_SECONDS = 2.0
POLICY_VIOLATION = 1008
get = partial(httpx.get, timeout=30)
post = partial(httpx.post, timeout=30)


class Instances:
    def __init__(self, first: Server, second: Server) -> None:
        self.first, self.second = first, second


@pytest.fixture(scope="module")
def instances(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Instances]:
    first_dir = tmp_path_factory.mktemp("first") / "data"
    first = Server(first_dir, env=SETTINGS)
    try:
        second = Server(
            tmp_path_factory.mktemp("second") / "data", env=SETTINGS | {"DATABASE_URL": database_url_of(first_dir)}
        )
        try:
            yield Instances(first, second)
        finally:
            assert second.interrupt() == 0
    finally:
        first.interrupt()
        stop_leftover_database(first_dir)


def socket_url(server: Server) -> str:
    return server.base_url.replace("http://", "ws://") + "/ws"


def register(server: Server) -> tuple[int, str]:
    email = f"live-{uuid.uuid4().hex[:8]}@example.com"
    response = post(server.base_url + "/auth/register", json={"email": email, "password": "long enough", "name": "L"})
    assert response.status_code == 201, response.text
    token = response.json()["access_token"]
    return int(jwt.decode(token, options={"verify_signature": False})["sub"]), token


def rate(server: Server, token: str, movie_id: int, stars: float) -> None:
    response = post(
        server.base_url + "/ratings",
        headers={"Authorization": f"Bearer {token}"},
        json={"item_id": movie_id, "item_type": "movie", "rating": stars},
    )
    assert response.status_code in (200, 201), response.text


def delete_rating(server: Server, token: str, rating_id: int) -> None:
    response = httpx.delete(
        f"{server.base_url}/ratings/{rating_id}", headers={"Authorization": f"Bearer {token}"}, timeout=30
    )
    assert response.status_code == 204, response.text


def log_of(server: Server) -> str:
    return Path(server.log.name).read_text()


def personalized_items(server: Server, token: str) -> list[dict]:
    response = get(server.base_url + "/recommendations/personalized", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.text
    return response.json()["items"]


def first_movie_ids(server: Server, count: int) -> list[int]:
    response = get(server.base_url + "/movies", params={"limit": count})
    return [movie["id"] for movie in response.json()["items"]]


async def authenticated(server: Server, token: str) -> ClientConnection:
    socket = await connect(socket_url(server))
    await socket.send(json.dumps({"type": "auth", "token": token}))
    assert json.loads(await socket.recv()) == {"type": "ready"}
    return socket


async def close_of(socket: ClientConnection) -> tuple[int, str]:
    with pytest.raises(ConnectionClosed) as closed:
        await asyncio.wait_for(socket.recv(), timeout=10)
    assert closed.value.rcvd is not None
    return closed.value.rcvd.code, closed.value.rcvd.reason


async def test_a_rating_brings_the_list_the_api_answers(instances: Instances) -> None:
    server = instances.first
    _, token = register(server)
    socket = await authenticated(server, token)
    try:
        started = time.monotonic()
        rate(server, token, first_movie_ids(server, 1)[0], 5)
        message = json.loads(await asyncio.wait_for(socket.recv(), timeout=DELIVERY_SECONDS))
        waited = time.monotonic() - started
    finally:
        await socket.close()

    assert message["type"] == "recommendations"
    assert message["items"] == personalized_items(server, token)
    assert len(message["items"]) == 20
    assert waited < DELIVERY_SECONDS


async def test_a_rating_taken_by_the_other_instance_arrives_within_two_seconds(instances: Instances) -> None:
    _, token = register(instances.second)
    socket = await authenticated(instances.first, token)
    try:
        started = time.monotonic()
        rate(instances.second, token, first_movie_ids(instances.second, 2)[1], 4.5)
        message = json.loads(await asyncio.wait_for(socket.recv(), timeout=DELIVERY_SECONDS))
        waited = time.monotonic() - started
    finally:
        await socket.close()

    assert message["type"] == "recommendations"
    assert message["items"] == personalized_items(instances.second, token)
    assert waited < DELIVERY_SECONDS


async def test_deleting_a_rating_brings_a_new_list_too(instances: Instances) -> None:
    server = instances.first
    _, token = register(server)
    auth = {"Authorization": f"Bearer {token}"}
    first, second = first_movie_ids(server, 2)
    rate(server, token, first, 5)
    rate(server, token, second, 1)
    rating_id = get(server.base_url + "/ratings/my", headers=auth).json()["items"][0]["id"]
    socket = await authenticated(server, token)
    try:
        delete_rating(server, token, rating_id)
        message = json.loads(await asyncio.wait_for(socket.recv(), timeout=DELIVERY_SECONDS))
    finally:
        await socket.close()

    assert message["items"] == personalized_items(server, token)


async def test_another_users_rating_sends_nothing(instances: Instances) -> None:
    server = instances.first
    _, token = register(server)
    _, someone_else = register(server)
    socket = await authenticated(server, token)
    try:
        rate(server, someone_else, first_movie_ids(server, 1)[0], 3)
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(socket.recv(), timeout=DELIVERY_SECONDS)
    finally:
        await socket.close()


@pytest.mark.parametrize(
    ("first_message", "reason"),
    [
        ('{"type": "auth", "token": "not-a-token"}', "the access token is invalid or has expired"),
        ('{"type": "auth"}', "the first message must be {'type': 'auth', 'token': '<access token>'}"),
        ('{"type": "subscribe"}', "the first message must be {'type': 'auth', 'token': '<access token>'}"),
        ("hello", "the first message must be JSON"),
    ],
)
async def test_a_socket_without_a_good_token_is_closed_as_a_policy_violation(
    instances: Instances, first_message: str, reason: str
) -> None:
    async with connect(socket_url(instances.first)) as socket:
        await socket.send(first_message)
        assert await close_of(socket) == (POLICY_VIOLATION, reason)


async def test_an_expired_token_is_refused(instances: Instances) -> None:
    user_id, _ = register(instances.first)
    past = datetime.now(UTC) - timedelta(minutes=5)
    claims = {"sub": str(user_id), "ver": 0, "iat": past, "nbf": past, "exp": past + timedelta(minutes=1)}
    expired = jwt.encode(claims | {"iss": "cinelibre", "aud": "cinelibre-api"}, SECRET, algorithm="HS256")

    async with connect(socket_url(instances.first)) as socket:
        await socket.send(json.dumps({"type": "auth", "token": expired}))
        assert await close_of(socket) == (POLICY_VIOLATION, "the access token is invalid or has expired")


async def test_a_socket_is_closed_when_its_token_expires(instances: Instances) -> None:
    user_id, _ = register(instances.first)
    now = datetime.now(UTC)
    claims = {"sub": str(user_id), "ver": 0, "iat": now, "nbf": now, "exp": now + timedelta(seconds=3)}
    short_lived = jwt.encode(claims | {"iss": "cinelibre", "aud": "cinelibre-api"}, SECRET, algorithm="HS256")

    socket = await authenticated(instances.first, short_lived)
    code, reason = await close_of(socket)

    assert (code, reason) == (POLICY_VIOLATION, "the access token has expired: connect again with a new one")
    assert datetime.now(UTC) >= now + timedelta(seconds=2)


async def test_an_account_keeps_at_most_twenty_sockets_open_on_an_instance(instances: Instances) -> None:
    _, token = register(instances.first)
    sockets = [await authenticated(instances.first, token) for _ in range(20)]
    try:
        async with connect(socket_url(instances.first)) as one_more:
            await one_more.send(json.dumps({"type": "auth", "token": token}))
            refused = await close_of(one_more)
        await sockets.pop().close()
        await asyncio.sleep(0.2)  # the server's handler lets go of it just after the close handshake
        replacement = await authenticated(instances.first, token)  # a closed one makes room
        sockets.append(replacement)
    finally:
        for socket in sockets:
            await socket.close()

    assert refused == (POLICY_VIOLATION, "at most 20 live-update sockets per account are kept open")


async def test_a_socket_that_never_authenticates_is_closed(instances: Instances) -> None:
    async with connect(socket_url(instances.first)) as socket:
        started = time.monotonic()
        code, reason = await close_of(socket)

    assert (code, reason) == (POLICY_VIOLATION, "send {'type': 'auth', 'token': ...} within 5 s")
    # The server's 5 s start when it accepts the socket, a little before the client's clock does.
    assert 4.5 <= time.monotonic() - started < 7


async def test_the_token_is_never_logged(instances: Instances) -> None:
    _, token = register(instances.first)
    socket = await authenticated(instances.first, token)
    await socket.close()

    assert token not in log_of(instances.first)


async def test_a_client_that_never_reads_holds_one_message_at_most() -> None:
    never_taken = asyncio.Event()
    sent: list[str] = []

    async def send_to_a_client_that_never_reads(message: str) -> None:
        sent.append(message)
        await never_taken.wait()

    lists = iter(range(1000))

    async def next_list(user_id: int) -> str:
        return recommendations_message([{"id": next(lists), "user": user_id}])

    hub = LiveUpdates(next_list)
    outbox = Outbox(send_to_a_client_that_never_reads, send_timeout=0.5)
    hub.subscribe(7, outbox)
    delivering = asyncio.create_task(outbox.deliver_forever())
    hub.user_changed(7)
    await asyncio.sleep(0.05)  # the first list is being sent, and never taken
    for _ in range(50):
        hub.user_changed(7)
        await asyncio.sleep(0)
        assert hub.pending_messages <= 1
    await asyncio.sleep(0.05)

    assert len(sent) == 1
    assert hub.pending_messages == 1
    assert json.loads(outbox.pending or "")["items"][0]["id"] > 1  # the newest list, not the second
    with pytest.raises(SlowClientError):
        await asyncio.wait_for(delivering, timeout=2)
    hub.unsubscribe(7, outbox)
    assert hub.sockets == 0


async def test_the_listener_listens_again_after_its_connection_drops_and_catches_up(database_url: str) -> None:
    refreshed: list[int] = []
    delivered: list[str] = []

    async def list_for(user_id: int) -> str:
        refreshed.append(user_id)
        return recommendations_message([{"refresh": len(refreshed)}])

    async def take(message: str) -> None:
        delivered.append(message)

    hub = LiveUpdates(list_for)
    outbox = Outbox(take)
    hub.subscribe(42, outbox)
    delivering = asyncio.create_task(outbox.deliver_forever())
    listening = asyncio.create_task(hub.listen_forever(database_url))
    async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as admin:
        try:
            first = await listener_pid(admin, other_than=None)
            await admin.execute("SELECT pg_terminate_backend(%s)", (first,))
            await listener_pid(admin, other_than=first)
            await asyncio.sleep(0.1)
            assert refreshed == [42]  # what changed while it was down is made up for at once
            await admin.execute("SELECT pg_notify('cinelibre_user_activity', '42')")
            await admin.execute("SELECT pg_notify('cinelibre_user_activity', '43')")  # no socket here
            await asyncio.sleep(0.3)
        finally:
            listening.cancel()
            delivering.cancel()
            await asyncio.gather(listening, delivering, return_exceptions=True)

    assert refreshed == [42, 42]
    assert [json.loads(message)["items"] for message in delivered] == [[{"refresh": 1}], [{"refresh": 2}]]


async def listener_pid(admin: psycopg.AsyncConnection, *, other_than: int | None) -> int:
    """The backend of the hub's LISTEN connection, once there is one (a new one: not `other_than`)."""
    for _ in range(100):
        cursor = await admin.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND query LIKE 'LISTEN %%'"
        )
        pids = [pid for (pid,) in await cursor.fetchall() if pid != other_than]
        if pids:
            return pids[0]
        await asyncio.sleep(0.05)
    raise AssertionError("the hub never listened")
