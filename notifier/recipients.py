"""Who gets which alert: the recipients file, validated at start, and a pure resolver.

A recipient is named once with its channels and filters; vehicles, fleets and ``all`` refer
to recipients by name, so an address is written in one place. Every mistake (typo in a key,
unknown recipient, bad URL or address) is reported with the file and the key path, at start,
rather than turning into silently lost alerts. See docs/notifications.md for the format.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from contracts.alert import ALERT_TYPES
from notifier.alert import SEVERITY_RANK, severity_rank

WEBHOOK = "webhook"
EMAIL = "email"

_EMAIL_RE = re.compile(r"^[^@\s<>,;\"']+@[^@\s<>,;\"']+\.[^@\s<>,;\"']+$")
_TOP_KEYS = {"recipients", "vehicles", "fleets", "all", "reports"}  # reports: scheduled reports (jobs/fleet_report_schedule.py)
_RECIPIENT_KEYS = {"webhooks", "emails", "min_severity", "types", "exclude_types", "notify_cleared"}
CLEARED = "cleared"  # the incident state of a record that clears its incident (contracts/alert.py)


class RecipientsError(ValueError):
    """The recipients file is missing or invalid; the message names the file and the key."""


@dataclass(frozen=True, order=True)
class Delivery:
    """One message to send: a channel and a target, for one or more named recipients."""

    channel: str
    target: str
    recipients: tuple[str, ...]
    headers: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Recipient:
    """A named recipient: its channels and which alerts it wants."""

    name: str
    webhooks: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = ()  # (url, headers)
    emails: tuple[str, ...] = ()
    min_severity: str | None = None
    types: frozenset[str] | None = None  # None = every type
    exclude_types: frozenset[str] = frozenset()
    notify_cleared: bool = False  # also the records that clear an incident (one message per raise / escalation otherwise)

    def wants(self, alert: Mapping[str, Any]) -> bool:
        """Filters: a cleared record only if asked (and judged by the severity its incident
        reached, ``details.incident_severity``: the clear itself is ``info``), then minimal
        severity, then the type lists."""
        severity = alert.get("severity")
        if alert.get("state") == CLEARED:
            if not self.notify_cleared:
                return False
            details = alert.get("details")
            severity = details.get("incident_severity", severity) if isinstance(details, Mapping) else severity
        if self.min_severity is not None and severity_rank(severity) < SEVERITY_RANK[self.min_severity]:
            return False
        kind = alert.get("type")
        if self.types is not None and kind not in self.types:
            return False
        return kind not in self.exclude_types


@dataclass(frozen=True)
class RecipientsConfig:
    """The whole file: recipients by name and who is subscribed to what."""

    recipients: Mapping[str, Recipient]
    vehicles: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    fleets: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    all: tuple[str, ...] = ()

    def has_channel(self, channel: str) -> bool:
        """Whether any recipient uses ``channel`` (email needs SMTP settings, for instance)."""
        return any(r.emails if channel == EMAIL else r.webhooks for r in self.recipients.values())


def resolve(config: RecipientsConfig, alert: Mapping[str, Any]) -> list[Delivery]:
    """Deliveries for one alert: ``all`` + its fleet + its vehicle, filtered, one per target.

    Pure. A target reached through several recipients is sent once; the result is sorted so
    the same alert always gives the same list.
    """
    names: list[str] = list(config.all)
    fleet_id = alert.get("fleet_id")
    if isinstance(fleet_id, str):
        names += config.fleets.get(fleet_id, ())
    vehicle_id = alert.get("vehicle_id")
    if isinstance(vehicle_id, str):
        names += config.vehicles.get(vehicle_id, ())
    merged: dict[tuple[str, str], tuple[list[str], tuple[tuple[str, str], ...]]] = {}
    for name in dict.fromkeys(names):
        rec = config.recipients[name]
        if not rec.wants(alert):
            continue
        targets = [(WEBHOOK, url, headers) for url, headers in rec.webhooks] + [(EMAIL, addr, ()) for addr in rec.emails]
        for channel, target, headers in targets:
            who, _ = merged.setdefault((channel, target), ([], headers))
            who.append(name)
    return sorted(Delivery(ch, tgt, tuple(who), hdr) for (ch, tgt), (who, hdr) in merged.items())


# --- loading --------------------------------------------------------------------------------


def load_recipients(path: Path) -> RecipientsConfig:
    """Read and validate the recipients file; RecipientsError names the file and key."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise RecipientsError(f"{path}: recipients file not found (set NOTIFIER_RECIPIENTS_FILE)") from None
    except OSError as exc:
        raise RecipientsError(f"{path}: cannot read: {exc}") from None
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise RecipientsError(f"{path}: not valid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}") from None
    try:
        return parse_recipients(doc)
    except RecipientsError as exc:
        raise RecipientsError(f"{path}: {exc}") from None


def parse_recipients(doc: object) -> RecipientsConfig:
    """Validate a decoded recipients document (keys starting with ``$`` are comments)."""
    obj = _obj(doc, "(top level)")
    _no_unknown(obj, _TOP_KEYS, "")
    raw_recipients = _obj(obj.get("recipients", {}), "recipients")
    recipients = {name: _recipient(name, value) for name, value in raw_recipients.items() if not name.startswith("$")}

    def refs(value: object, key: str) -> tuple[str, ...]:
        items = [value] if isinstance(value, str) else value
        if not isinstance(items, list):
            raise RecipientsError(f"{key}: expected a recipient name or a list of names")
        for i, name in enumerate(items):
            if not isinstance(name, str):
                raise RecipientsError(f"{key}[{i}]: expected a recipient name, got {type(name).__name__}")
            if name not in recipients:
                known = ", ".join(sorted(recipients)) or "none defined"
                raise RecipientsError(f"{key}[{i}]: unknown recipient {name!r} (known: {known})")
        return tuple(dict.fromkeys(items))

    def mapping(key: str) -> dict[str, tuple[str, ...]]:
        raw = _obj(obj.get(key, {}), key)
        return {k: refs(v, f"{key}.{k}") for k, v in raw.items() if not k.startswith("$")}

    return RecipientsConfig(recipients=recipients, vehicles=mapping("vehicles"), fleets=mapping("fleets"),
                            all=refs(obj.get("all", []), "all"))


def _recipient(name: str, value: object) -> Recipient:
    key = f"recipients.{name}"
    obj = _obj(value, key)
    _no_unknown(obj, _RECIPIENT_KEYS, key)
    webhooks = tuple(_webhook(w, f"{key}.webhooks[{i}]") for i, w in enumerate(_list(obj.get("webhooks", []), f"{key}.webhooks")))
    emails = tuple(_email(e, f"{key}.emails[{i}]") for i, e in enumerate(_list(obj.get("emails", []), f"{key}.emails")))
    if not webhooks and not emails:
        raise RecipientsError(f"{key}: has neither webhooks nor emails")
    min_severity = obj.get("min_severity")
    if min_severity is not None and min_severity not in SEVERITY_RANK:
        raise RecipientsError(f"{key}.min_severity: {min_severity!r} is not one of {', '.join(SEVERITY_RANK)}")
    types = obj.get("types")
    return Recipient(
        name=name,
        webhooks=webhooks,
        emails=emails,
        min_severity=min_severity,
        types=None if types is None else _type_set(types, f"{key}.types"),
        exclude_types=_type_set(obj.get("exclude_types", []), f"{key}.exclude_types"),
        notify_cleared=_bool(obj.get("notify_cleared", False), f"{key}.notify_cleared"),
    )


def _webhook(value: object, key: str) -> tuple[str, tuple[tuple[str, str], ...]]:
    headers: dict[str, str] = {}
    if isinstance(value, dict):
        _no_unknown(value, {"url", "headers"}, key)
        raw_headers = _obj(value.get("headers", {}), f"{key}.headers")
        for h, v in raw_headers.items():
            if not isinstance(v, str) or any(c in h + v for c in "\r\n"):
                raise RecipientsError(f"{key}.headers.{h}: expected a one-line string")
            headers[h] = v
        value = value.get("url")
    if not isinstance(value, str):
        raise RecipientsError(f"{key}: expected a URL or {{\"url\": ..., \"headers\": {{...}}}}")
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise RecipientsError(f"{key}: {value!r} is not an http(s) URL")
    return value, tuple(sorted(headers.items()))


def _email(value: object, key: str) -> str:
    if not isinstance(value, str) or not _EMAIL_RE.match(value):
        raise RecipientsError(f"{key}: {value!r} is not an email address")
    return value


def _bool(value: object, key: str) -> bool:
    if not isinstance(value, bool):
        raise RecipientsError(f"{key}: expected true or false, got {value!r}")
    return value


def _type_set(value: object, key: str) -> frozenset[str]:
    items = _list(value, key)
    for i, t in enumerate(items):
        if not isinstance(t, str) or not t:
            raise RecipientsError(f"{key}[{i}]: expected an alert type name")
        if t not in ALERT_TYPES:  # a misspelt type would silently filter everything out (or nothing)
            raise RecipientsError(f"{key}[{i}]: unknown alert type {t!r} (known: {', '.join(ALERT_TYPES)})")
    return frozenset(items)


def _obj(value: object, key: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise RecipientsError(f"{key}: expected an object, got {type(value).__name__}")
    return value


def _list(value: object, key: str) -> list[Any]:
    if not isinstance(value, list):
        raise RecipientsError(f"{key}: expected a list, got {type(value).__name__}")
    return value


def _no_unknown(obj: Mapping[str, Any], allowed: set[str], key: str) -> None:
    for k in obj:
        if k not in allowed and not k.startswith("$"):
            where = f"{key}.{k}" if key else k
            raise RecipientsError(f"{where}: unknown key (expected one of {', '.join(sorted(allowed))})")
