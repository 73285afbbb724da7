"""Email channel: one plain-text message per alert and address, over SMTP.

Everything in an alert that a device or the flows produced (vehicle id, message, details)
is untrusted text: control characters are replaced and lengths capped, so it can neither
inject mail headers nor turn into markup. Subject: ``[ticktrack] <severity> <type> <vehicle>``,
with `` (escalated)`` / `` (cleared)`` for those records of an incident; headers
``X-Ticktrack-Incident-Id`` / ``X-Ticktrack-Incident-State`` say which incident and what happened.
A stable Message-ID per (alert, address) lets mail systems drop a rare duplicate.
"""

from __future__ import annotations

import json
import re
import smtplib
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import formatdate
from typing import Any, Literal

from notifier.recipients import EMAIL, Delivery
from notifier.retry import AttemptResult, Outcome

TlsMode = Literal["none", "starttls", "ssl"]
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


@dataclass(frozen=True)
class SmtpConfig:
    """Where and how to hand mail over; the password never appears in logs or errors."""

    host: str
    port: int = 587
    user: str | None = None
    password: str | None = None
    tls: TlsMode = "starttls"
    sender: str = "ticktrack@localhost"
    timeout_s: float = 15.0


def text(value: object, limit: int = 200) -> str:
    """One line of untrusted text: control characters become spaces, capped at ``limit``."""
    s = _CONTROL.sub(" ", "" if value is None else str(value)).strip()
    return s if len(s) <= limit else s[: limit - 1] + "…"


def incident(alert: Mapping[str, Any]) -> tuple[str, str]:
    """(incident id, state) of the record; older records without them raise their own incident."""
    return text(alert.get("incident_id") or alert.get("alert_id"), 100), text(alert.get("state") or "raised", 20)


def subject(alert: Mapping[str, Any]) -> str:
    _, state = incident(alert)
    suffix = "" if state == "raised" else f" ({state})"
    return text(f"[ticktrack] {text(alert.get('severity'), 20)} {text(alert.get('type'), 40)} {text(alert.get('vehicle_id'), 80)}{suffix}", 200)


def body(alert: Mapping[str, Any]) -> str:
    """The plain-text body: the human message first, then the facts, then the ids."""
    lines = [text(alert.get("message"), 2000) or text(alert.get("type")), ""]

    def row(label: str, value: object) -> None:
        if value not in (None, "", {}):
            lines.append(f"{label + ':':<11}{text(value, 500)}")

    fleet = alert.get("fleet_id")
    row("Vehicle", f"{text(alert.get('vehicle_id'))}" + (f" (fleet {text(fleet)})" if fleet else ""))
    row("Alert", f"{text(alert.get('type'))}, severity {text(alert.get('severity'))}")
    ts = alert.get("ts")
    if isinstance(ts, int | float) and not isinstance(ts, bool):
        try:
            row("Time", datetime.fromtimestamp(ts / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S UTC"))
        except (OverflowError, OSError, ValueError):
            row("Time", ts)
    value, threshold = alert.get("value"), alert.get("threshold")
    if value is not None:
        row("Value", f"{text(value)}" + (f" (threshold {text(threshold)})" if threshold is not None else ""))
    lat, lon = alert.get("lat"), alert.get("lon")
    if all(isinstance(x, int | float) and not isinstance(x, bool) for x in (lat, lon)):
        row("Location", f"{lat:.6f}, {lon:.6f}  https://www.openstreetmap.org/?mlat={lat:.6f}&mlon={lon:.6f}#map=16/{lat:.6f}/{lon:.6f}")
    row("Geofence", alert.get("geofence_id"))
    details = alert.get("details")
    if isinstance(details, dict) and details:
        lines.append("Details:")
        lines += [f"  {text(k, 60)}: {text(json.dumps(v, ensure_ascii=False) if not isinstance(v, str) else v, 300)}"
                  for k, v in list(details.items())[:30]]
    incident_id, state = incident(alert)
    lines += ["", f"Incident: {incident_id} ({state})", f"Alert id: {text(alert.get('alert_id'), 100)}", "-- ", "ticktrack notifier"]
    return "\n".join(lines) + "\n"


def build_message(alert: Mapping[str, Any], to: str, sender: str, delivery_id: str) -> EmailMessage:
    msg = EmailMessage()
    msg["Subject"] = subject(alert)
    msg["From"] = sender
    msg["To"] = to
    msg["Date"] = formatdate(usegmt=True)
    domain = sender.rpartition("@")[2] or "ticktrack"
    msg["Message-ID"] = f"<{delivery_id}@{domain}>"
    msg["X-Ticktrack-Alert-Id"] = text(alert.get("alert_id"), 100)
    msg["X-Ticktrack-Incident-Id"], msg["X-Ticktrack-Incident-State"] = incident(alert)
    msg.set_content(body(alert))
    return msg


def classify_smtp_error(exc: BaseException) -> AttemptResult:
    """SMTP reply 4xx = try later, 5xx = permanent; network trouble = try later."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in exc.recipients.values()]
        transient = any(400 <= c < 500 for c in codes)
        return AttemptResult(Outcome.RETRY if transient else Outcome.PERMANENT, f"recipient refused: {codes}")
    if isinstance(exc, smtplib.SMTPResponseException):
        code = exc.smtp_code
        msg = exc.smtp_error.decode("utf-8", "replace") if isinstance(exc.smtp_error, bytes) else str(exc.smtp_error)
        detail = f"SMTP {code}: {text(msg, 200)}"
        return AttemptResult(Outcome.PERMANENT if 500 <= code < 600 else Outcome.RETRY, detail)
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        return AttemptResult(Outcome.PERMANENT, f"server does not support: {exc}")
    return AttemptResult(Outcome.RETRY, f"{type(exc).__name__}: {text(exc, 200)}")


class EmailChannel:
    """One SMTP session per message: simple, and a broken connection cannot leak into the next."""

    name = EMAIL

    def __init__(self, config: SmtpConfig) -> None:
        self._config = config

    def send(self, alert: Mapping[str, Any], delivery: Delivery, delivery_id: str) -> AttemptResult:
        c = self._config
        return send_message(c, build_message(alert, delivery.target, c.sender, delivery_id), delivery.target)


def send_message(c: SmtpConfig, msg: EmailMessage, to: str) -> AttemptResult:
    """One SMTP session handing ``msg`` to ``to`` (alerts here; the scheduled reports of
    ``jobs.fleet_report_schedule`` too); errors classified, never raised."""
    smtp: smtplib.SMTP | None = None
    try:
        if c.tls == "ssl":
            smtp = smtplib.SMTP_SSL(c.host, c.port, timeout=c.timeout_s, context=ssl.create_default_context())
        else:
            smtp = smtplib.SMTP(c.host, c.port, timeout=c.timeout_s)
        if c.tls == "starttls":
            smtp.starttls(context=ssl.create_default_context())
        if c.user:
            smtp.login(c.user, c.password or "")
        refused = smtp.send_message(msg, from_addr=c.sender, to_addrs=[to])
    except (smtplib.SMTPException, OSError) as exc:
        return classify_smtp_error(exc)
    finally:
        if smtp is not None:
            _quit(smtp)
    if refused:
        return classify_smtp_error(smtplib.SMTPRecipientsRefused(refused))
    return AttemptResult(Outcome.SENT, "accepted")


def _quit(smtp: smtplib.SMTP) -> None:
    """Say goodbye; the message is already accepted (or not), so errors here change nothing."""
    try:
        smtp.quit()
    except (smtplib.SMTPException, OSError):
        smtp.close()
