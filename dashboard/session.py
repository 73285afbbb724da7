"""What every page starts with: settings, the signed-in user and their scope, or a refusal.

Pages call ``require_page("fleet" | "prices" | "admin")`` first. ``app.py`` already hides
pages a role may not open; this check is the second lock, for a page reached any other way.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import streamlit as st

from access.scope import Scope, scope_for
from access.users import User
from dashboard.auth import current_user
from dashboard.config import DashboardSettings, load_dashboard_settings

PageKind = Literal["fleet", "prices", "admin"]


@dataclass(frozen=True)
class PageContext:
    """Everything a page needs besides the data functions."""

    settings: DashboardSettings
    user: User
    scope: Scope


def allowed(scope: Scope, kind: PageKind) -> bool:
    """May a user of this scope open a page of this kind?"""
    if kind == "admin":
        return scope.admin
    if kind == "prices":
        return scope.prices
    return scope.sees_fleet_data


def require_page(kind: PageKind) -> PageContext:
    """The page context, or an error and ``st.stop()`` when signed out or not allowed."""
    settings = load_dashboard_settings()
    user = current_user(settings)
    if user is None:
        st.error("Please sign in.")
        st.stop()
    scope = scope_for(user)
    if not allowed(scope, kind):
        st.error("You do not have access to this page.")
        st.stop()
    return PageContext(settings=settings, user=user, scope=scope)
