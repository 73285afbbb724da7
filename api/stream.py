"""``/v1/stream``: alerts from Kafka over a WebSocket, filtered by the token's data scope.

One ``api.alert_hub.AlertHub`` per API process consumes ``API_ALERTS_TOPIC`` (no consumer group offsets:
each process starts at the topic's end when it starts) and hands every alert to every
connection; a connection forwards only what its principal's ``Scope.allows`` - the
dashboard's rule. The token arrives in the first message (``{"type": "auth", "access_token":
...}``), never in the URL (URLs end up in logs). The connection closes (1008) on a bad token or a
missing ``fleet:read``, and when its access token expires.

Not yet: positions and spreads on the stream, the ``Sec-WebSocket-Protocol`` token, and resume
from a position after a reconnect (an alert published while disconnected is not replayed).
"""

from __future__ import annotations

import asyncio
import time
from typing import Annotated, Any

from fastapi import APIRouter, Depends, WebSocket, WebSocketDisconnect

from api.alert_hub import QUEUE_SIZE
from api.context import ApiContext, get_ws_context
from api.problems import Problem
from api.security import resolve

router = APIRouter(tags=["stream"])


async def _close(ws: WebSocket, code: int, problem: Problem) -> None:
    await ws.send_json({"type": "error", "status": problem.status, "detail": problem.detail, **problem.extensions})
    await ws.close(code=code)


@router.websocket("/stream")
async def stream(ws: WebSocket, ctx: Annotated[ApiContext, Depends(get_ws_context)]) -> None:
    """First message ``{"type": "auth", "access_token": "..."}``; then ``ready``, then ``alert`` messages."""
    await ws.accept()
    if ctx.hub is None:
        await _close(ws, 1011, Problem(503, "unavailable", "the stream is off (API_STREAM=false)"))
        return
    try:
        first: Any = await asyncio.wait_for(ws.receive_json(), timeout=ctx.settings.stream_auth_timeout_s)
    except (TimeoutError, ValueError, WebSocketDisconnect):
        await _close(ws, 1008, Problem(401, "unauthorized", 'send {"type": "auth", "access_token": "..."} first'))
        return
    token = first.get("access_token") if isinstance(first, dict) and first.get("type") == "auth" else None
    try:
        principal = resolve(ctx, token if isinstance(token, str) else None)
        expires_at = ctx.signer.verify(str(token)).expires_at
    except Problem as problem:
        await _close(ws, 1008, problem)
        return
    if "fleet:read" not in principal.scopes:
        await _close(ws, 1008, Problem(403, "insufficient-scope", "the stream needs the scope fleet:read", required_scope="fleet:read"))
        return
    q = ctx.hub.subscribe()
    try:
        if not await asyncio.to_thread(ctx.hub.ready.wait, 30):
            await _close(ws, 1011, Problem(503, "unavailable", "the alert stream is not connected to Kafka"))
            return
        await ws.send_json({"type": "ready", "scopes": sorted(principal.scopes)})
        while True:
            left = expires_at - time.time()
            if left <= 0:
                await _close(ws, 1008, Problem(401, "unauthorized", "the access token has expired; reconnect with a new one"))
                return
            try:
                alert = await asyncio.wait_for(q.get(), timeout=left)
            except TimeoutError:
                continue
            if alert is None:
                await _close(ws, 1013, Problem(503, "too-slow", f"more than {QUEUE_SIZE} alerts behind; reconnect"))
                return
            if principal.data.allows(alert.vehicle_id, alert.fleet_id):
                await ws.send_json({"type": "alert", "alert": alert.to_dict()})
    except WebSocketDisconnect:
        return
    finally:
        ctx.hub.unsubscribe(q)
