"""End to end: ``streamlit run dashboard/app.py`` headless, driven by Debian's Chromium via Playwright.

Needs the local stack (InfluxDB, Kafka) and ``apt-get install chromium chromium-driver``.
Signs in through the real form, opens the fleet map and the price page, asserts what a
person sees, and keeps screenshots in ``artifacts/`` (git-ignored).
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from dashboard.users import User, hash_password, save_users
from settings.stack import load_stack_settings
from tests.dashboard.seed import SeedVehicle, crypto_points, delete_where, fleet_points, new_run_id, operator_client, write

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "artifacts"
CHROMIUM = os.environ.get("DASHBOARD_E2E_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_healthy(url: str, proc: subprocess.Popen, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"streamlit exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as resp:
                if resp.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise TimeoutError(f"streamlit not healthy at {url} after {timeout_s} s")


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """Seeded data, a users file with a fresh admin password, and the running app."""
    assert Path(CHROMIUM).exists(), f"{CHROMIUM} missing: apt-get install -y chromium chromium-driver"
    settings = load_stack_settings()
    client = operator_client(settings)
    run = new_run_id()
    fleet, symbol = f"e2e-{run}", f"E{run}/USDT"
    now = datetime.now(UTC)
    write(client, settings.influx_bucket_fleet, settings.influx_org, fleet_points([
        SeedVehicle(f"ev1-{run}", fleet, 48.13, 11.57, 42.0), SeedVehicle(f"ev2-{run}", fleet, 48.14, 11.58, 0.0),
    ], now, history_minutes=30))
    write(client, settings.influx_bucket_crypto, settings.influx_org, crypto_points(symbol, ["exa", "exb", "exc"], now))
    tmp = tmp_path_factory.mktemp("e2e")
    password = secrets.token_urlsafe(12)
    save_users(tmp / "users.json", {
        "admin": User("admin", "admin", hash_password(password, 4)),
        "boss": User("boss", "fleet_manager", hash_password(password, 4), fleets=(fleet,)),
    })
    (tmp / "vehicles.json").write_text(json.dumps([{"id": f"ev1-{run}", "name": "<b>Blue van</b>", "fleet_id": fleet}]))
    port = _free_port()
    env = {**os.environ, "DASHBOARD_USERS_FILE": str(tmp / "users.json"), "DASHBOARD_VEHICLES_FILE": str(tmp / "vehicles.json"),
           "DASHBOARD_GEOFENCES_FILE": str(tmp / "none.geojson"), "DASHBOARD_REFRESH_S": "3"}
    log = (tmp / "streamlit.log").open("w")
    proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", str(REPO / "dashboard" / "app.py"),
                             "--server.headless", "true", "--server.port", str(port), "--server.address", "127.0.0.1",
                             "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"],
                            cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(url, proc)
        yield {"url": url, "password": password, "symbol": symbol, "fleet": fleet, "run": run}
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
        delete_where(client, settings.influx_bucket_fleet, settings.influx_org, f'fleet_id="{fleet}"')
        delete_where(client, settings.influx_bucket_crypto, settings.influx_org, f'symbol="{symbol}"')
        client.close()


def _sign_in(page, url: str, user: str, password: str) -> None:
    page.goto(url)
    page.get_by_label("User name").fill(user)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Sign in").click()


def test_sign_in_fleet_map_and_prices_in_chromium(app: dict[str, str]) -> None:
    from playwright.sync_api import expect, sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.set_default_timeout(30_000)

            # a wrong password is refused
            _sign_in(page, app["url"], "boss", "wrong-password")
            expect(page.get_by_text("Unknown user name or wrong password.")).to_be_visible()

            # the fleet manager sees their two vehicles on the map
            _sign_in(page, app["url"], "boss", app["password"])
            expect(page.get_by_role("heading", name="Fleet map")).to_be_visible()
            vehicles = page.get_by_test_id("stMetric").filter(has_text="Vehicles")
            expect(vehicles).to_contain_text("2")
            expect(page.get_by_test_id("stMetric").filter(has_text="Moving")).to_contain_text("1")
            expect(page.locator(".js-plotly-plot").first).to_be_visible()
            expect(page.get_by_role("link", name="Price spreads")).to_have_count(0)  # not for a fleet manager
            page.wait_for_timeout(1500)  # let the map draw (tiles stay blank offline)
            page.screenshot(path=str(ARTIFACTS / "dashboard-fleet-map.png"), full_page=True)

            # the admin opens the price page from the menu and picks the test symbol
            page.get_by_role("button", name="Sign out").click()
            _sign_in(page, app["url"], "admin", app["password"])
            expect(page.get_by_role("heading", name="Fleet map")).to_be_visible()
            page.get_by_role("link", name="Price spreads").click()
            expect(page.get_by_role("heading", name="Price spreads")).to_be_visible()
            symbol_box = page.get_by_test_id("stSelectbox").filter(has_text="Symbol")
            symbol_box.click()
            page.keyboard.type(app["symbol"])
            page.keyboard.press("Enter")
            expect(page.get_by_role("combobox", name="Symbol")).to_have_value(app["symbol"])
            expect(page.get_by_test_id("stMetric").filter(has_text="Best bid")).to_contain_text("101")
            expect(page.get_by_test_id("stMetric").filter(has_text="Best ask")).to_contain_text("100.5")
            for exchange in ("exa", "exb", "exc"):
                expect(page.get_by_role("tab", name=exchange)).to_be_visible()
            expect(page.locator(".js-plotly-plot")).to_have_count(5)  # best quotes, margin, a candle chart per exchange tab
            page.wait_for_timeout(1000)
            page.screenshot(path=str(ARTIFACTS / "dashboard-prices.png"), full_page=True)
        finally:
            browser.close()
