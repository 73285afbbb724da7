"""Every wallet setting, declared once, typed, with its default (env prefix ``WALLET_``).

The database URL is SQLAlchemy's: the default is an SQLite file in ``var/`` (WAL journal);
``postgresql+psycopg://user@host/db`` works too once a driver is installed (docs/wallets.md).
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy import make_url
from sqlalchemy.exc import ArgumentError

from rules.crypto.config import CryptoSettings
from settings.errors import load_settings
from settings.stack import REPO_ROOT
from settings.topics import CRYPTO_POINTS, CRYPTO_SPREADS
from wallets.store import WalletStore


class WalletSettings(BaseSettings):
    """Where wallets are stored, the valuation currency and the valuation writer's pace."""

    model_config = SettingsConfigDict(env_prefix="WALLET_", extra="ignore", frozen=True)

    db_url: str = Field("sqlite:///var/wallets.sqlite", validate_default=True,
                        description="SQLAlchemy URL of the wallet database (accounts, ledger, encrypted API keys); "
                                    "a relative SQLite path is under the checkout")
    key_file: Path = Field(Path("var/wallet-secrets.key"), validate_default=True,
                           description="Fernet key that encrypts exchange API keys at rest, made mode 600 on first use; relative: under the checkout")
    currency: str = Field("USDT", min_length=1, description="valuation currency: every trade is against it, every value is in it")
    valuation_interval_s: float = Field(60.0, gt=0, description="s between two valuations written by jobs.wallet_valuation")
    price_max_age_s: float = Field(120.0, gt=0, description="s; a spread older than this prices nothing (the asset shows unpriced)")
    spreads_topic: str = Field(CRYPTO_SPREADS, description="Kafka topic of spread records the valuation writer prices with")
    points_topic: str = Field(CRYPTO_POINTS, description="Kafka topic the valuation writer puts its points on (the crypto store writes them)")


    @field_validator("db_url")
    @classmethod
    def _sqlite_under_checkout(cls, value: str) -> str:
        try:
            url = make_url(value)
        except ArgumentError as exc:
            raise ValueError(f"not an SQLAlchemy URL: {exc}") from None
        if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:" and not Path(url.database).is_absolute():
            return url.set(database=str(REPO_ROOT / url.database)).render_as_string(hide_password=False)
        return value

    @field_validator("key_file")
    @classmethod
    def _key_under_checkout(cls, value: Path) -> Path:
        return value if value.is_absolute() else REPO_ROOT / value


def load_wallet_settings() -> WalletSettings:
    """Settings from the environment; a bad value stops the command naming ``WALLET_<KEY>``."""
    return load_settings(WalletSettings)


def known_assets(crypto: CryptoSettings, currency: str) -> frozenset[str]:
    """Assets a ledger may hold: the bases of the collected symbols quoted in ``currency``, and ``currency``."""
    return frozenset({s.split("/")[0] for s in crypto.symbols if s.endswith("/" + currency)} | {currency})


def open_wallet_store(settings: WalletSettings | None = None, crypto: CryptoSettings | None = None) -> WalletStore:
    """The store of the configured database, migrated, with the configured currency and assets."""
    from settings.rules_env import load_crypto_settings

    ws = settings or load_wallet_settings()
    cs = crypto or load_crypto_settings()
    return WalletStore.open(ws.db_url, ws.currency, known_assets(cs, ws.currency))
