"""``/v1/stream``: alerts, positions and spreads from Kafka over a WebSocket, filtered by the token's scopes, resumable.

The token comes in the first message (``{"type": "subscribe", "access_token": ...}``) or in the
``Sec-WebSocket-Protocol`` header as ``bearer.<token>`` next to ``ticktrack.v1`` (the server answers
``ticktrack.v1``, never the token) - never in the URL, which ends up in logs. The first message
is always sent; it may name ``channels`` and ``resume`` (the last ``cursor`` offsets received per
channel and partition). Every delivered message carries its ``cursor``; after a reconnect the
records after the sent offsets are replayed from Kafka, then live ones follow, without a gap
(unless Kafka no longer holds them, or more than ``API_STREAM_MAX_REPLAY`` per partition: a
``gap`` message says which) and without a repeat.

Alerts and positions need ``fleet:read`` and are delivered only for vehicles in the data scope
(``Scope.allows``, the dashboard's rule; a position's fleet comes from the registry); spreads
need ``crypto:read``. The connection closes with 1008 on a bad token, a channel the token may not
have, or when the access token expires (reconnect with a new one and the last cursors).
"""

from __future__ import annotations

import asyncio
import time
from typing import Annotated, Any

from fastapi import APIRouter, Depends, WebSocket, WebSocketDisconnect

from api.context import ApiContext, get_ws_context
from api.problems import Problem
from api.security import Principal, resolve
from api.stream_hub import CHANNELS, QUEUE_SIZE, Event, StreamHub

router = APIRouter(tags=["stream"])
SUBPROTOCOL = "ticktrack.v1"
BEARER_PREFIX = "bearer."
NEEDS = {"alerts": "fleet:read", "positions": "fleet:read", "spreads": "crypto:read"}


async def _close(ws: WebSocket, code: int, problem: Problem) -> None:
    await ws.send_json({"type": "error", "status": problem.status, "detail": problem.detail, **problem.extensions})
    await ws.close(code=code)


def _header_token(ws: WebSocket) -> tuple[str | None, str | None]:
    """(token, subprotocol to answer) from ``Sec-WebSocket-Protocol: ticktrack.v1, bearer.<token>``."""
    offered = [p.strip() for p in ws.headers.get("sec-websocket-protocol", "").split(",") if p.strip()]
    token = next((p[len(BEARER_PREFIX):] for p in offered if p.startswith(BEARER_PREFIX)), None)
    return token, (SUBPROTOCOL if SUBPROTOCOL in offered else None)


def allowed(principal: Principal, e: Event) -> bool:
    """May this principal see this event: the channel's scope, then the vehicle's data scope."""
    if NEEDS[e.channel] not in principal.scopes:
        return False
    if e.channel == "spreads":
        return principal.data.prices
    return e.vehicle_id is not None and principal.data.allows(e.vehicle_id, e.fleet_id)


def channels_of(principal: Principal, asked: Any) -> frozenset[str]:
    """The requested channels (default: all the token may have); a channel it may not have is a 403 problem."""
    if asked is None:
        chosen = frozenset(c for c in CHANNELS if NEEDS[c] in principal.scopes)
    elif isinstance(asked, list) and asked and all(c in CHANNELS for c in asked):
        chosen = frozenset(asked)
    else:
        raise Problem(400, "invalid-request", f"channels must be a non-empty list of {', '.join(CHANNELS)}")
    for c in sorted(chosen):
        if NEEDS[c] not in principal.scopes:
            raise Problem(403, "insufficient-scope", f"the {c} channel needs the scope {NEEDS[c]}", required_scope=NEEDS[c])
    if not chosen:
        raise Problem(403, "insufficient-scope", "the stream needs the scope fleet:read or crypto:read", required_scope="fleet:read")
    return chosen


def resume_offsets(asked: Any, channels: frozenset[str]) -> dict[str, dict[int, int]]:
    """``{"alerts": {"0": 17}}`` -> {"alerts": {0: 17}}; anything else is a 400 problem."""
    if asked is None:
        return {}
    try:
        if not isinstance(asked, dict) or not set(asked) <= channels:
            raise ValueError
        return {str(c): {int(p): int(o) for p, o in parts.items()} for c, parts in asked.items()}
    except (ValueError, TypeError, AttributeError) as exc:
        raise Problem(400, "invalid-request", 'resume must be {"<channel>": {"<partition>": <last offset received>}} '
                                              "for channels of this connection") from exc


@router.websocket("/stream")
async def stream(ws: WebSocket, ctx: Annotated[ApiContext, Depends(get_ws_context)]) -> None:
    """First message ``{"type": "subscribe", "access_token": "...", "channels": [...], "resume": {...}}``; then ``ready`` and events."""
    header_token, subprotocol = _header_token(ws)
    await ws.accept(subprotocol=subprotocol)
    hub = ctx.hub
    if hub is None:
        await _close(ws, 1011, Problem(503, "unavailable", "the stream is off (API_STREAM=false)"))
        return
    try:
        first: Any = await asyncio.wait_for(ws.receive_json(), timeout=ctx.settings.stream_auth_timeout_s)
    except (TimeoutError, ValueError, WebSocketDisconnect):
        await _close(ws, 1008, Problem(401, "unauthorized", 'send {"type": "subscribe", "access_token": "..."} first'))
        return
    if not isinstance(first, dict) or first.get("type") not in ("subscribe", "auth"):
        first = {}
    token = first.get("access_token", header_token)
    try:
        principal = resolve(ctx, token if isinstance(token, str) else None)
        ctx.limits.client_request(principal.subject)
        expires_at = ctx.signer.verify(str(token)).expires_at
        channels = channels_of(principal, first.get("channels"))
        resume = resume_offsets(first.get("resume"), channels)
    except Problem as problem:
        await _close(ws, 1008, problem)
        return
    sub = hub.subscribe(channels)  # before the end offsets are taken: nothing after them is missed
    try:
        if not await asyncio.to_thread(hub.ready.wait, 30):
            await _close(ws, 1011, Problem(503, "unavailable", "the stream is not connected to Kafka"))
            return
        await _serve(ws, ctx, hub, principal, channels, resume, sub.queue, expires_at)
    except WebSocketDisconnect:
        return
    finally:
        hub.unsubscribe(sub)


async def _serve(ws: WebSocket, ctx: ApiContext, hub: StreamHub, principal: Principal, channels: frozenset[str],
                 resume: dict[str, dict[int, int]], queue: asyncio.Queue[list[Event] | None], expires_at: float) -> None:
    marks = await asyncio.to_thread(hub.watermarks, sorted(channels))
    # last[channel][partition]: the offset delivered (or passed over) last; live events at or below it are not sent again
    last = {c: {p: high - 1 for p, (_, high) in parts.items()} for c, parts in marks.items()}
    gaps: list[dict[str, Any]] = []
    ranges: dict[str, dict[int, tuple[int, int]]] = {}
    for c, parts in resume.items():
        ranges[c] = {}
        for p, sent in parts.items():
            if p not in marks[c]:
                continue
            low, high = marks[c][p]
            start = max(sent + 1, low, high - ctx.settings.stream_max_replay)
            if start > sent + 1:
                gaps.append({"type": "gap", "channel": c, "partition": p, "missing_from": sent + 1, "resumed_at": start})
            ranges[c][p] = (start, high)
            last[c][p] = start - 1
    await ws.send_json({"type": "ready", "scopes": sorted(principal.scopes), "channels": sorted(channels),
                        "cursors": {c: {str(p): o for p, o in parts.items()} for c, parts in last.items()}})
    for gap in gaps:
        await ws.send_json(gap)

    async def deliver(events: list[Event]) -> None:
        for e in events:
            seen = last[e.channel].get(e.partition, -1)
            if e.offset <= seen:
                continue
            last[e.channel][e.partition] = e.offset
            if allowed(principal, e):
                await ws.send_json(e.message())

    for c, parts_ranges in ranges.items():
        await deliver(await asyncio.to_thread(hub.replay, c, parts_ranges))
    closed = asyncio.create_task(_until_closed(ws))  # the live loop never reads: this notices the client leaving
    try:
        while True:
            left = expires_at - time.time()
            if left <= 0:
                await _close(ws, 1008, Problem(401, "unauthorized", "the access token has expired; reconnect with a new one"))
                return
            get = asyncio.create_task(queue.get())
            done, _ = await asyncio.wait({get, closed}, timeout=left, return_when=asyncio.FIRST_COMPLETED)
            if get not in done:
                get.cancel()
                if closed in done:
                    return
                continue
            batch = get.result()
            if batch is None:
                await _close(ws, 1013, Problem(503, "too-slow", f"more than {QUEUE_SIZE} batches behind; reconnect with the last cursors"))
                return
            await deliver(batch)
    finally:
        closed.cancel()


async def _until_closed(ws: WebSocket) -> None:
    """Returns when the client disconnects; what it sends after the first message is ignored."""
    while (await ws.receive())["type"] != "websocket.disconnect":
        pass
