"""Real ccxt exchange classes (binance, kraken, coinbase exchange) against locally served native responses."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from collectors.clients import make_client
from collectors.poller import ExchangePoller, PollResult
from contracts.quote import Quote
from tests.unit.crypto.local_exchange import point_at, serve_fixtures

RECV = 1_767_225_601_000
FAST = {"rateLimit": 5}  # ccxt's limiter stays on, with a local-server pace (kraken's default is 3 s)
SYMBOLS = ["BTC/USDT", "ETH/USDT", "DOGE/USDT"]  # DOGE is listed nowhere: filtered after load_markets


async def _poll(exchange_id: str, fixture_set: str | None = None, rounds: int = 1,
                **options: Any) -> tuple[list[PollResult], list[tuple[str, str]], ExchangePoller]:
    async with serve_fixtures() as server:
        client = make_client(exchange_id, websocket=False, **FAST, **options)
        point_at(client, server, fixture_set)
        poller = ExchangePoller(client, SYMBOLS, asyncio.Semaphore(4), timeout_s=5, clock=lambda: RECV)
        try:
            results = [await poller.poll_once() for _ in range(rounds)]
        finally:
            await client.close()
        return results, server.requests, poller


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def test_binance_tickers_normalized_exactly() -> None:
    (result,), requests, poller = run(_poll("binance", options={"fetchMarkets": {"types": ["spot"]}}))
    assert poller.listed == ["BTC/USDT", "ETH/USDT"]
    assert result.dead == [] and result.missing == []
    assert result.quotes == [
        Quote("binance", "BTC/USDT", 64950.0, 64950.01, 64950.01, 3.214, 1.05, 18234.512, 1767225600123, RECV, "ccxt"),
        Quote("binance", "ETH/USDT", 3201.49, 3201.5, 3201.5, 41.2, 12.77, 402331.1, 1767225600456, RECV, "ccxt"),
    ]
    assert [p for p, _ in requests] == ["/binance/public/exchangeInfo", "/binance/public/ticker/24hr"]
    assert requests[1][1] == 'symbols=["BTCUSDT","ETHUSDT"]'


def test_kraken_missing_bid_ask_falls_back_to_order_book_top() -> None:
    (first, second), requests, poller = run(_poll("kraken", rounds=2))
    expected = [
        Quote("kraken", "BTC/USDT", 64950.9, 64951.2, 64951.0, 2.5, 1.0, 1843.90210001, None, RECV, "ccxt"),
        Quote("kraken", "ETH/USDT", 3201.35, 3201.55, 3201.4, 1.75, 4.2, 9021.0, None, RECV, "ccxt"),
    ]
    assert first.quotes == expected and second.quotes == expected
    paths = [p for p, _ in requests]
    # round 1: bulk Ticker, then fetch_ticker (same endpoint, still no book), then Depth
    # round 2: the poller remembers that kraken's ticker lacks the book for ETH and goes to Depth
    assert paths == [
        "/kraken/0/public/Assets", "/kraken/0/public/AssetPairs",
        "/kraken/0/public/Ticker", "/kraken/0/public/Ticker", "/kraken/0/public/Depth",
        "/kraken/0/public/Ticker", "/kraken/0/public/Depth",
    ]  # fmt: skip
    assert ("/kraken/0/public/Depth", "pair=ETHUSDT&count=5") in requests
    assert poller.ticker_lacks_book == {"ETH/USDT"}


def test_coinbaseexchange_bulk_without_book_falls_back_to_fetch_ticker() -> None:
    (result,), requests, _ = run(_poll("coinbaseexchange"))
    assert result.quotes == [
        Quote("coinbaseexchange", "BTC/USDT", 64952.49, 64952.51, 64952.5, None, None, 1234.56789012, 1767225600250, RECV, "ccxt"),
        Quote("coinbaseexchange", "ETH/USDT", 3201.18, 3201.25, 3201.2, None, None, 23456.789, 1767225601500, RECV, "ccxt"),
    ]
    assert [p for p, _ in requests][2:] == [
        "/coinbaseexchange/products/spark-lines",
        "/coinbaseexchange/products/BTC-USDT/ticker",
        "/coinbaseexchange/products/ETH-USDT/ticker",
    ]


def test_broken_binance_tickers_go_to_dead_letters_with_reasons() -> None:
    (result,), _, _ = run(_poll("binance", "binance-broken", options={"fetchMarkets": {"types": ["spot"]}}))
    assert result.quotes == []
    assert [(d["reason"], d["source_topic"], json.loads(d["payload"])["symbol"]) for d in result.dead] == [
        ("crossed book: bid 64960.0 > ask 64950.01", "ccxt:binance", "BTC/USDT"),
        ("ask: price must be positive, got -3201.5", "ccxt:binance", "ETH/USDT"),
    ]
    assert result.dead[0]["received_at"] == "2026-01-01T00:00:01.000Z"
    assert "info" not in json.loads(result.dead[0]["payload"])


def test_pro_class_polls_the_same_rest_endpoints() -> None:
    async def go() -> list[Quote]:
        async with serve_fixtures() as server:
            client = make_client("kraken", websocket=True, **FAST)
            assert type(client).__module__.startswith("ccxt.pro")
            point_at(client, server)
            poller = ExchangePoller(client, ["BTC/USDT"], asyncio.Semaphore(1), clock=lambda: RECV)
            try:
                return (await poller.poll_once()).quotes
            finally:
                await client.close()

    assert [(q.exchange, q.bid, q.ask) for q in run(go())] == [("kraken", 64950.9, 64951.2)]
