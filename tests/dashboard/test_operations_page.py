"""The operations page: admins only; service health from the stack's Prometheus; the log search
finds a line shipped into a private VictoriaLogs (the demo's log store is not written)."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from dashboard import ops_data
from settings.log_shipping import LogShipper, LogShippingSettings
from tests.dashboard.conftest import World, open_page, sign_in
from tests.support.private_stack import STACK, free_port
from tests.support.services import unique

pytestmark = pytest.mark.integration


@pytest.fixture
def log_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A private VictoriaLogs; the page reads it through LOGS_URL."""
    env = {**os.environ, "TICKTRACK_VAR": str(tmp_path / "var"), "LOGS_PORT": str(free_port())}
    subprocess.run([str(STACK), "up", "victorialogs"], env=env, check=True, capture_output=True, timeout=600)
    url = f"http://127.0.0.1:{env['LOGS_PORT']}"
    monkeypatch.setenv("LOGS_URL", url)
    try:
        yield url
    finally:
        subprocess.run([str(STACK), "down", "victorialogs"], env=env, capture_output=True, timeout=120)


def table(at, column: str):  # noqa: ANN001, ANN201 - AppTest's dataframes carry no key
    """The first dataframe of the page with this column."""
    return next(d.value for d in at.dataframe if column in d.value.columns)


def test_admin_sees_services_and_finds_a_log_line(world: World, log_store: str) -> None:
    event = unique("ops-page-line")
    shipper = LogShipper(LogShippingSettings(url=log_store, flush_interval_s=0.1))
    shipper.put(f'{{"event": "{event}", "level": "error", "service": "ops-page-test", "flow": "f1", "vehicle_id": "{world.v1}",'
                f' "timestamp": "{time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}"}}')
    shipper.close(timeout_s=5)
    assert shipper.sent == 1
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and ops_data.search_logs(event).empty:
        time.sleep(0.3)

    at = open_page(sign_in(world, "admin"), "pages/operations.py")
    assert [t.value for t in at.title] == ["Operations"]
    services = table(at, "job")
    assert set(services["job"]) >= {"influxdb", "prometheus", "victorialogs", "ops-exporter"}
    assert dict(zip(services["job"], services["up"], strict=True))["influxdb"] == "up"
    at.text_input(key="ops_logs_query").set_value(event).run()
    assert not at.exception
    found = table(at, "fields")
    assert len(found) == 1 and found.iloc[0]["service"] == "ops-page-test" and found.iloc[0]["level"] == "error"
    assert world.v1 in found.iloc[0]["fields"]
    at.multiselect(key="ops_logs_services").set_value(["ops-page-test"]).run()
    assert len(table(at, "fields")) == 1


def test_operations_page_is_for_admins_only(world: World) -> None:
    for role in ("manager", "parent", "trader"):
        at = sign_in(world, role)
        with pytest.raises(ValueError, match="Could not find a navigation page"):  # not in their menu at all
            at.switch_page("pages/operations.py")
