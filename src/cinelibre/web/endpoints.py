"""/ws: live updates of the caller's recommendations (the protocol is described in docs/web.md).

The token travels in the first message, never in the URL, so that it stays out of access logs,
proxies' logs and browser history. Browsers send no credentials of their own on a WebSocket here
(no cookies are used), so a page of another origin that opens one can do nothing without a token."""

import asyncio
import json
import time
from contextlib import suppress

import jwt
from fastapi import APIRouter, WebSocket, WebSocketDisconnect, status

from cinelibre.auth import service as auth_service
from cinelibre.errors import AuthenticationError
from cinelibre.web.live import SEND_TIMEOUT_SECONDS, LiveUpdates, Outbox, SlowClientError

router = APIRouter(tags=["live updates"])
AUTH_TIMEOUT_SECONDS = 5.0
# An auth message with a token is a few hundred characters; anything longer is not one.
MAX_AUTH_MESSAGE_CHARACTERS = 8192
READY_MESSAGE = '{"type":"ready"}'
# Sockets one account may hold on one instance: a tab each, with room to spare. Its list is made
# once per change whatever the count, but each socket holds a connection and a message waiting.
MAX_SOCKETS_PER_USER = 20


class _Refused(Exception):
    """Close the socket with 1008 and this reason."""


@router.websocket("/ws")
async def live_updates(websocket: WebSocket) -> None:
    await websocket.accept()
    try:
        user_id, expires_at = await _authenticate(websocket)
    except _Refused as refused:
        await _close(websocket, str(refused))
        return
    except WebSocketDisconnect:
        return
    hub: LiveUpdates = websocket.app.state.live_updates
    if hub.sockets_of(user_id) >= MAX_SOCKETS_PER_USER:
        await _close(websocket, f"at most {MAX_SOCKETS_PER_USER} live-update sockets per account are kept open")
        return
    outbox = Outbox(websocket.send_text)
    hub.subscribe(user_id, outbox)
    try:
        await websocket.send_text(READY_MESSAGE)
        reason = await _serve(websocket, outbox, expires_at)
    finally:
        hub.unsubscribe(user_id, outbox)
    if reason is not None:
        await _close(websocket, reason)


async def _authenticate(websocket: WebSocket) -> tuple[int, float]:
    """The user named by the first message's token, and when that token expires."""
    try:
        async with asyncio.timeout(AUTH_TIMEOUT_SECONDS):
            text = await websocket.receive_text()
    except TimeoutError:
        raise _Refused(f"send {{'type': 'auth', 'token': ...}} within {AUTH_TIMEOUT_SECONDS:g} s") from None
    except KeyError:  # a binary message: receive_text finds no text in it
        raise _Refused("the first message must be a JSON text message") from None
    if len(text) > MAX_AUTH_MESSAGE_CHARACTERS:
        raise _Refused("the first message is too long to be an auth message")
    try:
        message = json.loads(text)
    except ValueError:
        raise _Refused("the first message must be JSON") from None
    token = message.get("token") if isinstance(message, dict) and message.get("type") == "auth" else None
    if not isinstance(token, str) or not token:
        raise _Refused("the first message must be {'type': 'auth', 'token': '<access token>'}")
    try:
        async with websocket.app.state.pool.connection() as conn, conn.transaction():
            user = await auth_service.user_for_token(conn, token=token, tokens=websocket.app.state.token_codec)
    except AuthenticationError:
        raise _Refused("the access token is invalid or has expired") from None
    # Checked above (signature, issuer, audience, expiry); read again only for its expiry.
    expires_at = float(jwt.decode(token, options={"verify_signature": False})["exp"])
    return user.id, expires_at


async def _serve(websocket: WebSocket, outbox: Outbox, expires_at: float) -> str | None:
    """Deliver updates until the client leaves (None), or the reason to close: the token expired
    or the client does not keep up."""
    delivering = asyncio.create_task(outbox.deliver_forever())
    listening = asyncio.create_task(_until_client_leaves(websocket))
    expiring = asyncio.create_task(asyncio.sleep(max(0.0, expires_at - time.time())))
    tasks = (delivering, listening, expiring)
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    if expiring.done() and not expiring.cancelled():
        return "the access token has expired: connect again with a new one"
    if delivering.done() and not delivering.cancelled() and isinstance(delivering.exception(), SlowClientError):
        return "the client did not take its messages in time"
    return None


async def _until_client_leaves(websocket: WebSocket) -> None:
    """Read (and ignore) what the client sends after authenticating, until it closes."""
    while (await websocket.receive())["type"] != "websocket.disconnect":
        pass


async def _close(websocket: WebSocket, reason: str) -> None:
    # The client may already have gone; nothing is left to tell it then. A client that reads
    # nothing never takes the close frame either: the handler ends all the same, and the server
    # closes the connection after it.
    with suppress(RuntimeError, WebSocketDisconnect, TimeoutError):
        async with asyncio.timeout(SEND_TIMEOUT_SECONDS):
            await websocket.close(code=status.WS_1008_POLICY_VIOLATION, reason=reason)
