"""``build_flow()`` only builds: no thread, no connection, no wait, no change to logging.

Every flow is built against a Kafka and an MQTT broker that do not exist (port 1): a build that
started the registry consumer would wait for it (60 s) or leave its thread behind.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

import pytest
import structlog
from bytewax.dataflow import Dataflow

from dataflows import crypto_exchange_health, crypto_forecasts, crypto_prices, crypto_store, fleet_analytics, fleet_ingest, fleet_store
from rules.crypto.config import CryptoSettings
from rules.fleet.config import FleetSettings
from settings.crypto_flows import CryptoFlowSettings, CryptoStoreSettings
from settings.exchange_health_flow import ExchangeHealthSettings
from settings.flows import AnalyticsSettings, IngestSettings, StoreSettings
from settings.forecast_flow import ForecastFlowSettings
from settings.stack import REPO_ROOT, StackSettings

NOWHERE = StackSettings(mqtt_url="mqtt://127.0.0.1:1", kafka_bootstrap="127.0.0.1:1", influx_url="http://127.0.0.1:1",
                        influx_token="unused")
VEHICLES = str(REPO_ROOT / "config" / "vehicles.json")
GEOFENCES = str(REPO_ROOT / "config" / "geofences.geojson")

BUILDS: dict[str, Callable[[], Dataflow]] = {
    "fleet_ingest": lambda: fleet_ingest.build_flow(IngestSettings(), NOWHERE),
    "fleet_store": lambda: fleet_store.build_flow(StoreSettings(vehicles_file=VEHICLES), NOWHERE),
    "fleet_analytics": lambda: fleet_analytics.build_flow(
        AnalyticsSettings(vehicles_file=VEHICLES, geofences_file=GEOFENCES), NOWHERE, FleetSettings()),
    "crypto_prices": lambda: crypto_prices.build_flow(CryptoFlowSettings(), NOWHERE, CryptoSettings()),
    "crypto_store": lambda: crypto_store.build_flow(CryptoStoreSettings(), NOWHERE),
    "crypto_forecasts": lambda: crypto_forecasts.build_flow(ForecastFlowSettings(), NOWHERE),
    "crypto_exchange_health": lambda: crypto_exchange_health.build_flow(ExchangeHealthSettings(), NOWHERE),
}


@pytest.mark.parametrize("name", sorted(BUILDS))
def test_build_flow_has_no_side_effects(name: str) -> None:
    threads = {t.ident for t in threading.enumerate()}
    handlers = list(logging.getLogger().handlers)
    structlog_config = structlog.get_config()
    started = time.monotonic()
    flow = BUILDS[name]()
    assert isinstance(flow, Dataflow) and flow.flow_id == name
    # no wait for a service (the registry's catch-up waited up to 60 s): only CPU work (e.g. ccxt's fee
    # tables for 45 exchanges, seconds on a loaded 2-core machine); the bound is far from both
    assert time.monotonic() - started < 30.0
    assert {t.ident for t in threading.enumerate()} - threads == set()
    assert logging.getLogger().handlers == handlers
    assert structlog.get_config() == structlog_config
