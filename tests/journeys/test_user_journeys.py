"""What each user sees, with the system started the way ``make demo`` starts it.

The flows run as scripts/demo.sh runs them (ingest ``-w 2``; store, analytics, crypto and crypto
store with recovery, each in its own fresh recovery directory), on this test's own Kafka topics,
MQTT shared-subscription group and client ids, registry and geofence files, and the session's own
buckets. Vehicles publish through the real Mosquitto; the simulated market goes through the real
collector (``--simulated yes``). Then every role is asked through the dashboard's own code
(``dashboard.views`` / ``dashboard.data`` with that user's scope, as the pages build it), and
the answers are counted exactly:

- fleet manager: exactly the three vans of their fleet on the map, each at its last published
  position with its fleet, the status and alert count the rules give; exactly the alerts the pure
  engine gives for those fixes (same ids); every fix in the vehicle page's signals;
- parent: exactly their car, in its fleet, with the geofence of that fleet and no other;
- admin: all four vehicles of this run, every alert of the run, and prices too;
- trader: spreads of the two simulated symbols, from the three exchanges (the market's
  "other coin" excluded as an outlier), exactly as many spreads stored as the prices flow
  produced, starting with the collector's first quotes although the prices flows were started
  after them; and no fleet data.

Every wait polls the data layer (caches cleared) until the expected answer or a generous
deadline, and stops early with the flow's log when a flow died.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from access.scope import scope_for
from access.users import User, hash_password
from contracts import avro
from contracts.quote import from_json
from contracts.telemetry import parse_telemetry
from dashboard import data
from dashboard.config import DashboardSettings
from dashboard.session import PageContext
from dashboard.views import fleet_overview
from rules.crypto.config import CryptoSettings
from rules.crypto.pipeline import SymbolRules
from settings.rules_env import load_fleet_settings
from settings.stack import REPO_ROOT, StackSettings
from tests.support.expected import expected_alerts
from tests.support.services import FlowProcess, consume, kafka_topics, publish, require_stack, running_flow, unique, write_registry

pytestmark = pytest.mark.integration
EXCHANGES = ("binance", "kraken", "coinbaseexchange")
ALIAS_EXCHANGE = EXCHANGES[1]  # the simulated market's "other coin" exchange for the last symbol (simulators/market.py)
SECONDS = 40  # of driving per vehicle, one fix a second, ending when the test publishes
COLLECT_S = 30  # the collector runs this long (the market's stale exchange goes quiet only after 60 s)
EARLY_QUOTES_MS = 3000  # the collector's quotes span this long before the prices flows start
DEADLINE_S = 240.0  # per wait: generous for a loaded 2-core machine
HASH = hash_password("journey-password", 4)  # the users are built as the users file builds them


@dataclass(frozen=True)
class Journey:
    run: str
    fleet: str
    family: str
    vans: tuple[str, ...]
    car: str
    symbols: tuple[str, str]
    geofence_fleet: str  # targets the vans' fleet
    geofence_family: str  # targets the car's fleet
    last: dict[str, tuple[float, float]]  # last published position per vehicle
    alerts: dict[str, dict[str, Any]]  # alert id -> alert the pure engine gives for the published fixes
    settings: DashboardSettings
    started: datetime
    topics: dict[str, str]
    fleet_flows: tuple[FlowProcess, ...]
    crypto_flows: tuple[FlowProcess, ...]
    collector: subprocess.Popen
    crypto_started_ms: int  # when the prices flows were started, after the collector's first quotes
    stack: StackSettings

    @property
    def vehicles(self) -> set[str]:
        return {*self.vans, self.car}

    def alert_ids(self, vehicles: set[str]) -> set[str]:
        return {i for i, a in self.alerts.items() if a["vehicle_id"] in vehicles}

    def alerting(self, vehicle_id: str) -> int:
        """Warning / critical alerts of a vehicle: what the map counts (all recent: the window is 15 min)."""
        return sum(1 for a in self.alerts.values() if a["vehicle_id"] == vehicle_id and a["severity"] in ("warning", "critical"))


def drive(vid: str, i: int, end_ms: int, overspeed: bool) -> list[tuple[str, bytes]]:
    """``SECONDS`` fixes, one a second, heading east at 50 km/h (130 for 15 s when ``overspeed``)."""
    msgs, lon = [], 13.30
    for t in range(SECONDS):
        speed = 130.0 if overspeed and 10 <= t < 25 else 50.0
        lon += speed / 3.6 / 68_000
        doc = {"vehicle_id": vid, "ts": end_ms - (SECONDS - t) * 1000, "lat": round(52.40 + i * 0.01, 6),
               "lon": round(lon, 7), "speed_kmh": speed, "ignition": True, "fuel_level_pct": 60.0, "battery_v": 14.1}
        msgs.append((f"fleet/{vid}/telemetry", json.dumps(doc).encode()))
    return msgs


def _span_ms(msgs: list) -> int:
    """Receive-time span of the quotes read from the tickers topic."""
    ts = [json.loads(m.value())["recv_ts_ms"] for m in msgs]
    return max(ts) - min(ts) if ts else 0


def _dead(flows: tuple[FlowProcess, ...]) -> str | None:
    for f in flows:
        if f.proc.poll() is not None:
            tail = f.log_path.read_text(errors="replace")[-3000:]
            return f"flow {f.proc.args[3]} exited with {f.proc.returncode}; log {f.log_path}:\n{tail}"
    return None


def wait_for(what: str, probe: Callable[[], Any], ok: Callable[[Any], bool], flows: tuple[FlowProcess, ...],
             timeout_s: float = DEADLINE_S, explain: Callable[[Any], str] | None = None) -> Any:
    """Poll the data layer (caches cleared) until ``ok(result)``; fail with the last answer, or
    at once with the log when one of ``flows`` died."""
    deadline, got = time.monotonic() + timeout_s, None
    while time.monotonic() < deadline:
        data._run_live.clear()
        data.run_history.clear()
        got = probe()
        if ok(got):
            return got
        if (died := _dead(flows)) is not None:
            raise AssertionError(f"{what}: {died}")
        time.sleep(1.0)
    shown = explain(got) if explain is not None else got.to_dict("records") if hasattr(got, "to_dict") else got
    raise AssertionError(f"{what}: not seen within {timeout_s:.0f} s; last answer: {shown!r}")


def explain_alerts(j: Journey, got: Any, want: set[str]) -> str:
    """Why the stored alerts differ from the engine's: both sides (type, ts) and, per vehicle that
    differs, its fixes in Kafka order with their record times (arrival) - a fix that reached Kafka
    more than the reorder hold after a newer one is skipped as late, which moves an event."""
    stored = {r["alert_id"]: r for r in got.to_dict("records")}
    missing, extra = want - set(stored), set(stored) - want
    lines = [f"missing {[(j.alerts[i]['vehicle_id'], j.alerts[i]['type'], j.alerts[i]['ts'], j.alerts[i]['message']) for i in sorted(missing)]}",
             f"extra {[(stored[i]['vehicle_id'], stored[i]['type'], str(stored[i]['time']), stored[i]['message']) for i in sorted(extra)]}"]
    vehicles = {j.alerts[i]["vehicle_id"] for i in missing} | {stored[i]["vehicle_id"] for i in extra}
    records = consume(j.stack, j.topics["telemetry"], until=lambda m: len(m) >= SECONDS * len(j.vehicles), timeout_s=30.0, settle_s=1.0)
    for vid in sorted(vehicles):
        mine = [(m, avro.decode("telemetry", m.value())["ts_ms"]) for m in records if m.key() == vid.encode()]
        t0, a0 = (min(ts for _, ts in mine), min(m.timestamp()[1] for m, _ in mine)) if mine else (0, 0)
        lines.append(f"{vid}: (offset, fix ts - first fix ts, arrival - first arrival) in Kafka order "
                     + str([(m.offset(), ts - t0, m.timestamp()[1] - a0) for m, ts in mine]))
    return "; ".join(lines)


def context(j: Journey, user: User) -> PageContext:
    """What ``dashboard.session.require_page`` gives a page for this user."""
    return PageContext(j.settings, user, scope_for(user))


def _geofences(path: Path, fences: dict[str, str]) -> Path:
    """Forbidden squares near Frankfurt (nobody drives there: no geofence alert), one per fleet."""
    features = []
    for k, (gid, fleet) in enumerate(fences.items()):
        x, y = 8.60 + k * 0.1, 50.10
        square = [[x, y], [x + 0.05, y], [x + 0.05, y + 0.05], [x, y + 0.05], [x, y]]
        features.append({"type": "Feature", "geometry": {"type": "Polygon", "coordinates": [square]},
                         "properties": {"id": gid, "name": f"Yard of {fleet}", "kind": "forbidden", "fleets": [fleet]}})
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    return path


@pytest.fixture(scope="module")
def journey(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Journey]:
    s = require_stack()
    tmp = tmp_path_factory.mktemp("journey")
    run = unique("jr")
    fleet, family = f"{run}-logistics", f"{run}-family"
    vans, car = tuple(f"{run}-van{i}" for i in range(3)), f"{run}-car"
    tag = run.split("-")[1].upper()
    symbols = (f"J{tag}/USDT", f"K{tag}/USDT")  # run-unique: other tests' quotes never mix in
    vehicles_file = write_registry(tmp / "vehicles.json", {fleet: list(vans), family: [car]})
    geofence_fleet, geofence_family = f"{run}-yard", f"{run}-home"
    geofences_file = _geofences(tmp / "geofences.geojson", {geofence_fleet: fleet, geofence_family: family})
    t = {k: f"{run}.{k}" for k in ("telemetry", "deadletter", "alerts", "trips", "points", "tickers", "spreads",
                                   "crypto-alerts", "crypto-deadletter", "crypto-points")}
    config_topic = f"{run}.config"
    env = {"INGEST_TELEMETRY_TOPIC": t["telemetry"], "INGEST_DEADLETTER_TOPIC": t["deadletter"],
           "INGEST_MQTT_GROUP": run, "INGEST_MQTT_CLIENT_ID_PREFIX": run,
           "STORE_TELEMETRY_TOPIC": t["telemetry"], "STORE_POINTS_TOPIC": t["points"], "STORE_DEADLETTER_TOPIC": t["deadletter"],
           "STORE_CONFIG_TOPIC": config_topic, "STORE_VEHICLES_FILE": str(vehicles_file),
           "ANALYTICS_TELEMETRY_TOPIC": t["telemetry"], "ANALYTICS_POINTS_TOPIC": t["points"],
           "ANALYTICS_ALERTS_TOPIC": t["alerts"], "ANALYTICS_TRIPS_TOPIC": t["trips"],
           "ANALYTICS_DEADLETTER_TOPIC": t["deadletter"], "ANALYTICS_CONFIG_TOPIC": config_topic,
           "ANALYTICS_VEHICLES_FILE": str(vehicles_file), "ANALYTICS_GEOFENCES_FILE": str(geofences_file),
           "CRYPTO_EXCHANGES": ",".join(EXCHANGES), "CRYPTO_SYMBOLS": ",".join(symbols),
           "CRYPTO_FLOW_TICKERS_TOPIC": t["tickers"], "CRYPTO_FLOW_SPREADS_TOPIC": t["spreads"],
           "CRYPTO_FLOW_ALERTS_TOPIC": t["crypto-alerts"], "CRYPTO_FLOW_DEADLETTER_TOPIC": t["crypto-deadletter"],
           "CRYPTO_FLOW_POINTS_TOPIC": t["crypto-points"], "CRYPTO_STORE_TICKERS_TOPIC": t["tickers"],
           "CRYPTO_STORE_POINTS_TOPIC": t["crypto-points"], "CRYPTO_STORE_DEADLETTER_TOPIC": t["crypto-deadletter"]}

    def recovery(name: str) -> Path:
        """A fresh recovery store, initialised as scripts/demo.sh does (``python -m bytewax.recovery <dir> 1``)."""
        d = tmp / f"recovery-{name}"
        d.mkdir()
        subprocess.run([sys.executable, "-m", "bytewax.recovery", str(d), "1"], check=True, cwd=REPO_ROOT,
                       capture_output=True)
        return d

    started = datetime.now(UTC)
    end_ms = int(time.time() * 1000)
    messages = [m for i, v in enumerate((*vans, car)) for m in drive(v, i, end_ms, overspeed=(v == vans[1]))]
    fixes = sorted((parse_telemetry(topic, payload, end_ms) for topic, payload in messages), key=lambda f: f.ts_ms)
    alerts = {i: json.loads(a) for i, a in expected_alerts(fixes, str(vehicles_file), load_fleet_settings()).items()}
    last = {f.vehicle_id: (f.lat, f.lon) for f in fixes}
    settings = DashboardSettings(vehicles_file=vehicles_file, geofences_file=geofences_file, live_config=False)
    with ExitStack() as stack:
        stack.enter_context(kafka_topics(s, *t.values()))
        stack.enter_context(kafka_topics(s, config_topic, partitions=1, config={"cleanup.policy": "compact"}))
        ingest = stack.enter_context(running_flow("dataflows.fleet_ingest:build_flow()", env, workers=2))
        flows = {name: stack.enter_context(running_flow(f"dataflows.{flow}:build_flow()", env, recovery_dir=recovery(name)))
                 for name, flow in (("store", "fleet_store"), ("analytics", "fleet_analytics"))}
        ingest.wait_for_log('"event": "mqtt_subscribed"', count=2, timeout_s=DEADLINE_S)  # both workers' sessions
        # The collector starts first, as the demo of the first round started it and as a restarted prices
        # flow finds it: the flows must take the quotes that reached Kafka before them (a flow reading from
        # the end of the topic loses them, and the trader's first spreads with them).
        collector = subprocess.Popen(
            [sys.executable, "-m", "collectors.ccxt_collector", "--simulated", "yes", "--out", "kafka",
             "--exchanges", ",".join(EXCHANGES), "--symbols", ",".join(symbols), "--poll-interval", "1",
             "--duration", str(COLLECT_S), "--tickers-topic", t["tickers"], "--deadletter-topic", t["crypto-deadletter"]],
            cwd=REPO_ROOT, env={**os.environ, **env}, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        stack.callback(lambda: collector.poll() is None and collector.kill())
        early = consume(s, t["tickers"], until=lambda m: _span_ms(m) >= EARLY_QUOTES_MS, timeout_s=DEADLINE_S, settle_s=0)
        assert _span_ms(early) >= EARLY_QUOTES_MS, f"the collector sent {len(early)} quotes in {DEADLINE_S} s"
        crypto_started_ms = int(time.time() * 1000)
        flows |= {name: stack.enter_context(running_flow(f"dataflows.{flow}:build_flow()", env, recovery_dir=recovery(name)))
                  for name, flow in (("crypto", "crypto_prices"), ("crypto-store", "crypto_store"))}
        publish(s.mqtt_url, messages)
        yield Journey(run, fleet, family, vans, car, symbols, geofence_fleet, geofence_family, last, alerts, settings,
                      started, t, (ingest, flows["store"], flows["analytics"]), (flows["crypto"], flows["crypto-store"]),
                      collector, crypto_started_ms, s)


def test_fleet_manager_sees_exactly_their_fleet_with_positions_status_and_alerts(journey: Journey) -> None:
    j = journey
    manager = User("manager", "fleet_manager", HASH, fleets=(j.fleet,))
    want_counts = {v: j.alerting(v) for v in j.vans}
    assert want_counts[j.vans[1]] >= 1 and want_counts[j.vans[0]] == want_counts[j.vans[2]] == 0, want_counts

    def settled(df) -> bool:
        return set(df["vehicle_id"]) == set(j.vans) and all(
            (round(r.lat, 6), round(r.lon, 7)) == j.last[r.vehicle_id] and r.alerts == want_counts[r.vehicle_id]
            for r in df.itertuples())

    df = wait_for(f"manager's map (want positions {j.last}, warning/critical alerts {want_counts})",
                  lambda: fleet_overview(context(j, manager))[0], settled, j.fleet_flows)
    assert len(df) == 3
    assert dict(zip(df["vehicle_id"], df["fleet_id"], strict=True)) == {v: j.fleet for v in j.vans}
    # fresh fixes at 50 km/h: moving, and the overspeeding van alerting (status precedence: alerting > moving)
    assert dict(zip(df["vehicle_id"], df["status"], strict=True)) == {
        j.vans[0]: "moving", j.vans[1]: "alerting", j.vans[2]: "moving"}

    want = j.alert_ids(set(j.vans))
    alerts = wait_for(f"manager's alerts (want {len(want)})",
                      lambda: data.alerts(scope_for(manager), j.started - timedelta(minutes=5), None, 5000),
                      lambda a: set(a["alert_id"]) >= want, j.fleet_flows,
                      explain=lambda a: explain_alerts(j, a, want))
    assert len(alerts) == len(want) and set(alerts["alert_id"]) == want, explain_alerts(j, alerts, want)  # the engine's, none twice

    # the vehicle page's signals: every fix of the van, raw (an hour is below the raw-range limit)
    series, source = data.vehicle_series(scope_for(manager), j.vans[0], timedelta(hours=1), None,
                                         timedelta(hours=2), 100_000)
    assert source == "telemetry" and len(series) == SECONDS


def test_parent_sees_exactly_their_car_with_its_fleets_geofence(journey: Journey) -> None:
    j = journey
    parent = User("parent", "parent", HASH, vehicles=(j.car,))

    def settled(df) -> bool:
        return list(df["vehicle_id"]) == [j.car] and (round(df["lat"][0], 6), round(df["lon"][0], 7)) == j.last[j.car]

    df = wait_for("parent's map", lambda: fleet_overview(context(j, parent))[0], settled, j.fleet_flows)
    overview, registry = fleet_overview(context(j, parent))
    assert list(overview["fleet_id"]) == [j.family]  # the fleet of the car, as stored with its fixes
    assert list(df["status"]) == ["moving"]
    assert set(registry.geofences) == {j.geofence_family}  # their fleet's zone on the map, not the vans' yard
    series, _ = data.vehicle_series(scope_for(parent), j.car, timedelta(hours=1), None, timedelta(hours=2), 100_000)
    assert len(series) == SECONDS
    want = j.alert_ids({j.car})  # the car's own events (e.g. it started moving), none of the vans'
    alerts = wait_for(f"parent's alerts (want {len(want)})",
                      lambda: data.alerts(scope_for(parent), j.started - timedelta(minutes=5), None, 5000),
                      lambda a: set(a["alert_id"]) >= want, j.fleet_flows,
                      explain=lambda a: explain_alerts(j, a, want))
    assert len(alerts) == len(want) and set(alerts["alert_id"]) == want, explain_alerts(j, alerts, want)
    assert set(alerts["vehicle_id"]) <= {j.car}


def test_admin_sees_every_vehicle_and_alert(journey: Journey) -> None:
    j = journey
    admin = User("admin", "admin", HASH)

    def ours(df):
        return df[df["vehicle_id"].isin(j.vehicles)]

    df = wait_for("admin's map", lambda: ours(fleet_overview(context(j, admin))[0]),
                  lambda d: len(d) == 4 and all(r.alerts == j.alerting(r.vehicle_id) for r in d.itertuples()),
                  j.fleet_flows)
    assert dict(zip(df["vehicle_id"], df["fleet_id"], strict=True)) == {**{v: j.fleet for v in j.vans}, j.car: j.family}
    _, registry = fleet_overview(context(j, admin))
    assert {j.geofence_fleet, j.geofence_family} <= set(registry.geofences)
    want = j.alert_ids(j.vehicles)
    alerts = wait_for("admin's alerts", lambda: ours(data.alerts(scope_for(admin), j.started - timedelta(minutes=5), None, 5000)),
                      lambda a: set(a["alert_id"]) >= want, j.fleet_flows,
                      explain=lambda a: explain_alerts(j, a, want))
    assert len(alerts) == len(want) and set(alerts["alert_id"]) == want, explain_alerts(j, alerts, want)
    assert set(j.symbols) <= set(wait_for("admin's symbols", lambda: data.symbols(scope_for(admin), timedelta(hours=1)),
                                          lambda x: set(j.symbols) <= set(x), j.crypto_flows))


def test_trader_sees_spreads_of_the_simulated_symbols_and_no_fleet_data(journey: Journey) -> None:
    j = journey
    trader = scope_for(User("trader", "trader", HASH))
    assert j.collector.wait(timeout=COLLECT_S + 120) == 0, j.collector.stderr.read().decode()[-2000:]

    def produced_and_stored() -> tuple[dict[str, int], dict[str, int]]:
        """Spread records the prices flow produced (distinct book times per symbol) and rows stored."""
        produced: dict[str, set[int]] = {sym: set() for sym in j.symbols}
        for m in consume(j.stack, j.topics["spreads"], until=lambda msgs: bool(msgs), timeout_s=60.0, settle_s=3.0):
            rec = json.loads(m.value())
            produced[rec["symbol"]].add(int(rec["ts"]))
        stored = {sym: len(data.spreads(trader, sym, j.started - timedelta(minutes=1), None, 1_000_000)) for sym in j.symbols}
        return {k: len(v) for k, v in produced.items()}, stored

    # stored = produced, exactly (the store flow is the only writer; a spread is one point per book time)
    counts = wait_for("spreads stored = produced", produced_and_stored,
                      lambda c: c[0] == c[1] and all(c[0].values()), j.crypto_flows)
    assert all(n >= 10 for n in counts[0].values()), counts  # COLLECT_S of one poll a second

    # the trader's spreads are exactly what the rules give for every quote in the topic, in topic order
    # (one partition per symbol), although the prices flow came up seconds after the collector's first
    # quotes: a flow that read from the topic's end, or judged a backlog stale, would miss the first ones
    quotes = [from_json(m.value()) for m in consume(j.stack, j.topics["tickers"], until=lambda msgs: bool(msgs),
                                                    timeout_s=60.0, settle_s=3.0)]
    rules = SymbolRules.from_settings(CryptoSettings(exchanges=list(EXCHANGES), symbols=list(j.symbols)))
    expected: dict[str, set[int]] = {sym: set() for sym in j.symbols}
    books: dict[str, Any] = {}
    for q in quotes:
        books[q.symbol], update = rules.update(books.get(q.symbol), q)
        if update is not None and update.spread is not None:
            expected[q.symbol].add(update.spread.ts)
    assert min(expected[j.symbols[0]]) < j.crypto_started_ms - EARLY_QUOTES_MS // 2, "spreads from before the flow started"
    for symbol in j.symbols:
        sp = data.spreads(trader, symbol, j.started - timedelta(minutes=1), None, 1_000_000)
        assert {int(t.timestamp() * 1000) for t in sp["time"]} == expected[symbol], symbol

    got = wait_for("trader's symbols", lambda: data.symbols(trader, timedelta(hours=1)),
                   lambda x: set(j.symbols) <= set(x), j.crypto_flows)
    assert [x for x in got if x in j.symbols] == sorted(j.symbols)
    for symbol, counted in ((j.symbols[0], len(EXCHANGES)), (j.symbols[1], len(EXCHANGES) - 1)):
        sp = data.spreads(trader, symbol, j.started - timedelta(minutes=1), None, 1_000_000)
        assert len(sp) == counts[0][symbol]
        last = sp.iloc[-1]
        # every exchange quotes the first symbol; the last one is a different coin on the alias exchange
        assert (int(last["exchanges_counted"]), int(last["exchanges_excluded"])) == (counted, len(EXCHANGES) - counted)
        assert {last["best_bid_exchange"], last["best_ask_exchange"]} <= set(EXCHANGES) - (
            {ALIAS_EXCHANGE} if counted < len(EXCHANGES) else set())
        # each record accounts for the exchanges quoted so far: counted in the best bid / ask, or excluded
        # by a rule (stale, outlier); the first records of a run may hold fewer than all three
        assert ((sp["exchanges_counted"] + sp["exchanges_excluded"]) <= len(EXCHANGES)).all()
        assert (sp["exchanges_counted"] >= 2).all() and (sp["best_bid"] > 0).all() and (sp["best_ask"] > 0).all()
        quotes = data.latest_quotes(trader, symbol, timedelta(hours=1))
        assert sorted(quotes["exchange"]) == sorted(EXCHANGES)
    assert data.latest_positions(trader, timedelta(hours=1)).empty  # a trader reaches no fleet data
    assert not trader.sees_fleet_data
