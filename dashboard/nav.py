"""Which pages exist and which roles see them (a table, so it is testable without Streamlit)."""

from __future__ import annotations

from dataclasses import dataclass

from access.scope import Scope
from dashboard.session import PageKind, allowed


@dataclass(frozen=True)
class PageSpec:
    """One page: its file (relative to app.py), title, icon, URL path and who may open it."""

    path: str
    title: str
    icon: str
    url_path: str
    kind: PageKind


PAGES: tuple[PageSpec, ...] = (
    PageSpec("pages/fleet_map.py", "Fleet map", ":material/map:", "fleet-map", "fleet"),
    PageSpec("pages/vehicle.py", "Vehicle", ":material/directions_car:", "vehicle", "fleet"),
    PageSpec("pages/alerts.py", "Alerts", ":material/notifications:", "alerts", "fleet"),
    PageSpec("pages/trips.py", "Trips & safety", ":material/route:", "trips", "fleet"),
    PageSpec("pages/reports.py", "Reports", ":material/summarize:", "reports", "fleet"),
    PageSpec("pages/replay.py", "Route replay", ":material/replay:", "replay", "fleet"),
    PageSpec("pages/admin.py", "Fleet admin", ":material/admin_panel_settings:", "admin", "admin"),
    PageSpec("pages/operations.py", "Operations", ":material/monitoring:", "operations", "admin"),
    PageSpec("pages/prices.py", "Price spreads", ":material/candlestick_chart:", "prices", "prices"),
    PageSpec("pages/forecasts.py", "Forecasts", ":material/insights:", "forecasts", "prices"),
    PageSpec("pages/wallet.py", "Wallet", ":material/account_balance_wallet:", "wallet", "prices"),
    PageSpec("pages/exchanges.py", "Exchange health", ":material/monitor_heart:", "exchanges", "prices"),
)


def pages_for(scope: Scope) -> list[PageSpec]:
    """The pages a user of this scope may open, in menu order."""
    return [p for p in PAGES if allowed(scope, p.kind)]
