"""What a signed-in user may see, computed once per run from the user and passed to every query.

A ``Scope`` is data, not a check scattered through pages: ``data.py`` turns it into a Flux
predicate, the registry and geofence lists are filtered with ``allows`` / ``sees_geofence``.
Admins see every fleet; fleet managers their fleets (plus any vehicles listed); viewers and
parents only their vehicles; traders no fleet data at all, only prices.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from access.users import User

FLEET_ROLES = frozenset({"admin", "fleet_manager", "viewer", "parent"})
PRICE_ROLES = frozenset({"admin", "trader"})


@dataclass(frozen=True)
class Scope:
    """Fleet ids and vehicle ids a user may see; ``all_fleets`` for admins."""

    all_fleets: bool = False
    fleets: frozenset[str] = frozenset()
    vehicles: frozenset[str] = frozenset()
    prices: bool = False
    admin: bool = False

    @property
    def sees_fleet_data(self) -> bool:
        """False for traders (and for a manager or parent with nothing assigned)."""
        return self.all_fleets or bool(self.fleets) or bool(self.vehicles)

    def allows(self, vehicle_id: str, fleet_id: str | None) -> bool:
        """May this user see this vehicle (of this fleet)?"""
        if self.all_fleets:
            return True
        return vehicle_id in self.vehicles or (fleet_id is not None and fleet_id in self.fleets)

    def sees_geofence(self, vehicles: Iterable[str], fleets: Iterable[str], fleet_of: Mapping[str, str | None]) -> bool:
        """A geofence is shown when it names a fleet or vehicle in scope; untargeted ones only to admins.

        ``fleet_of`` maps the vehicles the user sees to their fleet, so a parent also sees a
        geofence that targets the fleet of their car.
        """
        if self.all_fleets:
            return True
        fleets = set(fleets)
        visible_fleets = set(self.fleets) | {f for v, f in fleet_of.items() if f and self.allows(v, f)}
        return bool(fleets & visible_fleets) or any(self.allows(v, fleet_of.get(v)) for v in vehicles)

    def key(self) -> tuple[bool, tuple[str, ...], tuple[str, ...], bool]:
        """Hashable, order-independent form used as part of every cache key."""
        return (self.all_fleets, tuple(sorted(self.fleets)), tuple(sorted(self.vehicles)), self.prices)


def scope_for(user: User) -> Scope:
    """The scope of a user's role; unknown roles see nothing."""
    if user.role == "admin":
        return Scope(all_fleets=True, prices=True, admin=True)
    if user.role == "fleet_manager":
        return Scope(fleets=frozenset(user.fleets), vehicles=frozenset(user.vehicles))
    if user.role in ("viewer", "parent"):
        return Scope(vehicles=frozenset(user.vehicles))
    if user.role == "trader":
        return Scope(prices=True)
    return Scope()
