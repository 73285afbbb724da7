"""CSV of trades and transfers -> ledger entries, imported in one transaction (columns: docs/wallets.md).

Header row required; columns by name, any order: ``time`` (ISO 8601 with an offset, or epoch
milliseconds), ``account``, ``type`` (deposit, withdrawal, buy, sell), ``asset``, ``quantity``,
and optional ``price``, ``quote``, ``fee``, ``fee_asset``, ``ref``, ``note``. A bad row stops the
import with ``WalletError("line N: ...")``: N is the file's line (the header is line 1).
"""

from __future__ import annotations

import csv
import io
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from contracts.wallet import LedgerEntry
from wallets.store import WalletError, WalletStore

REQUIRED = ("time", "account", "type", "asset", "quantity")
OPTIONAL = ("price", "quote", "fee", "fee_asset", "ref", "note")


class CsvRow(BaseModel):
    """One row, typed; empty optional cells are None."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    time: int
    account: str = Field(min_length=1)
    type: Literal["deposit", "withdrawal", "buy", "sell"]
    asset: str = Field(min_length=1)
    quantity: float = Field(gt=0, allow_inf_nan=False)
    price: float | None = Field(None, gt=0, allow_inf_nan=False)
    quote: str | None = None
    fee: float = Field(0.0, ge=0, allow_inf_nan=False)
    fee_asset: str | None = None
    ref: str | None = None
    note: str = ""

    @field_validator("time", mode="before")
    @classmethod
    def _time(cls, value: object) -> object:
        if isinstance(value, str) and not value.strip().isdigit():
            t = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
            if t.tzinfo is None:
                raise ValueError("needs a UTC offset (e.g. 2026-12-01T09:00:00Z)")
            return int(t.timestamp() * 1000)
        return value

    @field_validator("asset", "quote", "fee_asset", mode="after")
    @classmethod
    def _upper(cls, value: str | None) -> str | None:
        return value.upper() if value else None

    def entry(self) -> LedgerEntry:
        return LedgerEntry(ts_ms=self.time, kind=self.type, asset=self.asset, quantity=self.quantity, price=self.price,
                           quote=self.quote, fee=self.fee, fee_asset=self.fee_asset, ref=self.ref, note=self.note)


def _reason(exc: ValidationError) -> str:
    return "; ".join(f"{'.'.join(str(p) for p in err['loc']) or 'row'}: {err['msg']}" for err in exc.errors())


def parse_csv(text: str) -> list[tuple[str, str, LedgerEntry]]:
    """``(account, 'line N', entry)`` per data row; the first bad row raises ``WalletError`` naming its line."""
    reader = csv.DictReader(io.StringIO(text))
    header = [h.strip() for h in reader.fieldnames or []]
    missing = [c for c in REQUIRED if c not in header]
    unknown = [c for c in header if c not in REQUIRED + OPTIONAL]
    if missing or unknown:
        raise WalletError(f"line 1: header {'misses ' + ', '.join(missing) if missing else ''}"
                          f"{'; ' if missing and unknown else ''}{'has unknown columns ' + ', '.join(unknown) if unknown else ''}"
                          f" (columns: {', '.join(REQUIRED + OPTIONAL)})")
    rows = []
    for raw in reader:
        line = f"line {reader.line_num}"
        if None in raw:
            raise WalletError(f"{line}: more cells than the header has columns")
        cells = {k.strip(): v for k, v in raw.items() if k is not None and v is not None and v.strip() != ""}
        try:
            row = CsvRow.model_validate(cells)
        except ValidationError as exc:
            raise WalletError(f"{line}: {_reason(exc)}") from None
        rows.append((row.account, line, row.entry()))
    if not rows:
        raise WalletError("the CSV has no data rows")
    return rows


def import_csv(store: WalletStore, owner: str, text: str, source: str, create_accounts: bool = False) -> int:
    """Parse and import ``text`` for ``owner`` in one transaction; the number of entries added."""
    return store.import_rows(owner, parse_csv(text), source, create_accounts)
