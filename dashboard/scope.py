"""Moved to ``access.scope`` (one scope model for the dashboard and the API).

Kept only so callers written before the move keep importing (tests in flight in the shared
tree); new code imports ``access.scope``. Remove once nothing imports ``dashboard.scope``.
"""

from __future__ import annotations

from access.scope import FLEET_ROLES, PRICE_ROLES, Scope, scope_for

__all__ = ["FLEET_ROLES", "PRICE_ROLES", "Scope", "scope_for"]
