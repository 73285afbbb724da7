"""Settings of the notifier, from the environment (prefix ``NOTIFIER_``), each with unit and default.

Kafka connection settings are the stack's (``settings.stack``); relative paths are taken from
the repository root, so the service finds its files from any working directory.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from notifier.channels.email import SmtpConfig
from notifier.retry import RetryPolicy
from settings import topics
from settings.stack import REPO_ROOT


def repo_path(value: str) -> Path:
    """A configured path: absolute as given, relative = from the repository root."""
    p = Path(value).expanduser()
    return p if p.is_absolute() else REPO_ROOT / p


class NotifierSettings(BaseSettings):
    """Alert notifier (python -m notifier): fleet.alerts -> webhooks and email. Env prefix ``NOTIFIER_``."""

    model_config = SettingsConfigDict(env_prefix="NOTIFIER_", extra="ignore")

    recipients_file: str = Field("config/recipients.json", description="recipients file (JSON, docs/notifications.md); relative = from the repo root")
    deliveries_db: str = Field("var/notifier/deliveries.sqlite",
                         description="SQLite delivery log that prevents double sends; relative = from the repo root")
    topic: str = Field(topics.FLEET_ALERTS, description="Kafka topic of alerts (JSON)")
    group_id: str = Field("ticktrack-notifier", description="Kafka consumer group; offsets are committed only after delivery")
    start_from: Literal["earliest", "latest"] = Field("earliest",
                         description="where a new consumer group starts (old alerts are then cut by max_alert_age_s)")
    max_alert_age_s: float = Field(86400.0, ge=0,
                         description="alerts older than this (event time) are recorded as expired, not sent, seconds; 0 = no limit")
    session_timeout_s: float = Field(45.0, ge=6, le=300,
                         description="Kafka group session timeout: how soon partitions of a killed notifier move to another, seconds")
    max_attempts: int = Field(5, ge=1, description="attempts per delivery before it is dead-lettered (status failed)")
    backoff_initial_s: float = Field(1.0, ge=0, description="wait before the 2nd attempt, seconds")
    backoff_multiplier: float = Field(2.0, ge=1, description="each further wait is this many times longer")
    backoff_max_s: float = Field(60.0, ge=0, description="longest wait between two attempts (also caps Retry-After), seconds")
    workers: int = Field(8, ge=1, description="deliveries attempted in parallel (threads)")
    max_in_flight: int = Field(500, ge=1, description="alerts read but not yet settled before reading pauses")
    commit_interval_s: float = Field(1.0, gt=0, description="how often settled offsets are committed, seconds")
    shutdown_grace_s: float = Field(10.0, ge=0, description="on SIGINT/SIGTERM, wait this long for running attempts, seconds")
    dedupe_retention_days: float = Field(60.0, gt=0,
                         description="forget finished deliveries after this many days; keep above the topic retention (30 d)")
    webhook_timeout_s: float = Field(10.0, gt=0, description="timeout of one webhook POST, seconds")
    smtp_host: str = Field("", description="SMTP server; required when any recipient has emails")
    smtp_port: int = Field(587, ge=1, le=65535, description="SMTP port (587 STARTTLS, 465 SSL, 25 plain)")
    smtp_user: str | None = Field(None, description="SMTP login user; none = no login")
    smtp_password: SecretStr | None = Field(None, description="SMTP login password")
    smtp_tls: Literal["none", "starttls", "ssl"] = Field("starttls", description="none, starttls or ssl (implicit TLS)")
    smtp_from: str = Field("ticktrack@localhost", description="sender address of alert emails")
    smtp_timeout_s: float = Field(15.0, gt=0, description="timeout of one SMTP session step, seconds")
    stats_interval_s: float = Field(60.0, gt=0, description="how often counters are logged, seconds")

    def retry_policy(self) -> RetryPolicy:
        return RetryPolicy(self.max_attempts, self.backoff_initial_s, self.backoff_multiplier, self.backoff_max_s)

    def smtp(self) -> SmtpConfig:
        return SmtpConfig(host=self.smtp_host, port=self.smtp_port, user=self.smtp_user,
                          password=self.smtp_password.get_secret_value() if self.smtp_password else None,
                          tls=self.smtp_tls, sender=self.smtp_from, timeout_s=self.smtp_timeout_s)
