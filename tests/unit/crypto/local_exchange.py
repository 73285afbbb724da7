"""A local HTTP server that answers real ccxt exchange classes from recorded-shape fixtures.

``GET /<exchange>/<path>`` answers ``tests/fixtures/ccxt/<exchange>/<path>.json`` (query strings
ignored), anything else a 404 JSON. Every request is recorded, so tests can assert which
endpoints ccxt called (e.g. the order-book fallback). ``point_at`` rewrites an exchange's
``urls['api']`` so the whole class, markets included, talks to this server.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "ccxt"


@dataclass
class LocalExchangeServer:
    """Serves fixtures; ``requests`` lists ``(path, query)`` of every request seen."""

    base_url: str = ""
    requests: list[tuple[str, str]] = field(default_factory=list)

    async def handle(self, request: web.Request) -> web.Response:
        self.requests.append((request.path, request.query_string))
        target = (FIXTURES / request.path.lstrip("/")).with_suffix(".json")
        if request.path.endswith(".json") or ".." in request.path or not target.is_file():
            return web.json_response({"error": f"no fixture for {request.path}"}, status=404)
        return web.Response(body=target.read_bytes(), content_type="application/json")

    def paths(self, prefix: str = "") -> list[str]:
        return [p for p, _ in self.requests if p.startswith(prefix)]


@asynccontextmanager
async def serve_fixtures() -> AsyncIterator[LocalExchangeServer]:
    """Start the server on a free local port for the duration of the block."""
    server = LocalExchangeServer()
    app = web.Application()
    app.router.add_route("GET", "/{tail:.*}", server.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    server.base_url = f"http://127.0.0.1:{port}"
    try:
        yield server
    finally:
        await runner.cleanup()


def point_at(exchange: Any, server: LocalExchangeServer, fixture_set: str | None = None) -> Any:
    """Send every API family of ``exchange`` to ``server`` under ``/<fixture set>/<family>``.

    ``fixture_set`` defaults to the exchange id; another name serves a variant (e.g. broken data).
    """
    root = f"{server.base_url}/{fixture_set or exchange.id}"
    api = exchange.urls["api"]
    rest = [family for family, url in api.items() if isinstance(url, str) and url.startswith("http")]
    single_host = len({api[f] for f in rest}) <= 2  # kraken/coinbase: one host for all REST families
    for family in rest:  # websocket entries (ccxt.pro) are left alone: they are never opened here
        api[family] = root + ("" if single_host else f"/{family}")
    return exchange


def load_fixture(relative: str) -> Any:
    return json.loads((FIXTURES / relative).read_text())
