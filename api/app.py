"""The FastAPI application: ``create_app()`` builds it; nothing happens at import.

At startup (the lifespan) the settings are read, the signing key is loaded or created, and
one InfluxDB client is opened with the read-only token; requests run the shared
``access.reads`` on it directly (no cache: an integrator asks for what it needs, when it needs it).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace

import pandas as pd
from fastapi import APIRouter, FastAPI
from fastapi.middleware.cors import CORSMiddleware
from influxdb_client import InfluxDBClient

from access import reads
from access.flux import Params
from access.reads import Reads
from api import crypto, devices, fleet, geodata, oauth, problems, registry, stream, wallets
from api.config import ApiSettings, load_api_settings
from api.context import ApiContext, limiter_for
from api.keys import load_or_create_key
from api.refresh import RefreshStore
from api.stream_hub import StreamHub
from api.tokens import TokenSigner
from settings.stack import StackSettings, load_stack_settings

QUERY_TIMEOUT_MS = 30_000
API_VERSION = "1.0.0"


def build_context(settings: ApiSettings, stack: StackSettings, client: InfluxDBClient) -> ApiContext:
    """Everything the handlers use, from settings and one InfluxDB client."""
    api = client.query_api()

    def run(query: str, params: Params) -> pd.DataFrame:
        return reads.execute(api, query, params)

    signer = TokenSigner(load_or_create_key(settings.signing_key_file), settings.issuer, settings.audience,
                         settings.access_token_ttl_s)
    return ApiContext(settings=settings, signer=signer, refresh=RefreshStore(settings.refresh_tokens_file, settings.refresh_token_ttl_s),
                      limiter=limiter_for(settings),
                      reads=Reads(live=run, history=run, fleet_bucket=stack.influx_bucket_fleet, crypto_bucket=stack.influx_bucket_crypto))


def create_app(settings: ApiSettings | None = None, stack: StackSettings | None = None) -> FastAPI:
    """The app; settings default to the environment's, read when the app starts."""
    chosen = settings or load_api_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        s = stack or load_stack_settings()
        client = InfluxDBClient(url=s.influx_url, org=s.influx_org, token=s.reader_token(chosen.allow_operator_token),
                                timeout=QUERY_TIMEOUT_MS)
        hub = StreamHub(s.kafka_config(), {"alerts": chosen.alerts_topic, "positions": chosen.positions_topic,
                                           "spreads": chosen.spreads_topic},
                        chosen.config_topic, chosen.vehicles_file, chosen.geofences_file) if chosen.stream else None
        try:
            app.state.ctx = replace(build_context(chosen, s, client), hub=hub, kafka=s.kafka_config())
            if hub is not None:
                hub.start(asyncio.get_running_loop())
            yield
        finally:
            if hub is not None:
                hub.stop()
            client.close()

    app = FastAPI(title="ticktrack API", version=API_VERSION, lifespan=lifespan,
                  description="Fleet telematics and crypto spreads for integrators. OAuth 2.0 tokens; see docs/api.md.")
    problems.install(app)
    if chosen.cors_origins:
        app.add_middleware(CORSMiddleware, allow_origins=chosen.cors_origins, allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
                           allow_headers=["Authorization", "Content-Type"])
    v1 = APIRouter(prefix="/v1")
    v1.include_router(oauth.router)
    v1.include_router(fleet.router)
    v1.include_router(registry.router)
    v1.include_router(devices.router)
    v1.include_router(crypto.router)
    v1.include_router(stream.router)
    v1.include_router(wallets.router)
    v1.include_router(geodata.router)

    @v1.get("/health", tags=["service"], summary="The API process is up (no token needed)")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    app.include_router(v1)
    return app
