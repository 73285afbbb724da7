"""The telemetry contract: what OBD devices publish on ``fleet/{vehicle_id}/telemetry``.

``parse_telemetry`` turns one MQTT message into a validated ``Telemetry`` record or raises
``InvalidTelemetry`` with a reason a person can act on. The full contract is documented in
``docs/telemetry-contract.md``; the Avro form is ``schemas/telemetry.avsc``.
"""

from __future__ import annotations

import math
import time
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic_core import from_json

TOPIC_PREFIX = "fleet/"
TOPIC_SUFFIX = "/telemetry"
MAX_PAYLOAD_BYTES = 64 * 1024
DAY_MS = 86_400_000
# A fix older than this (relative to its arrival) would fall outside the fleet bucket's
# retention (services/stack.sh FLEET_RETENTION_DAYS, 90 days): InfluxDB would refuse it later.
MAX_TS_AGE_MS = 90 * DAY_MS
# A fix stamped further ahead of its arrival cannot have been measured yet: a wrong device clock.
# Same margin as the analytics' ordering (rules/fleet/ordering.py MAX_FUTURE_S).
MAX_TS_FUTURE_MS = 5 * 60_000
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)
_MAX_EPOCH_MS = 32_503_680_000_000  # year 3000: beyond it the number is not a time


class InvalidTelemetry(ValueError):
    """A message that breaks the contract; ``reason`` goes to the dead-letter record."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Wheels(BaseModel):
    """Tire pressure per wheel, kPa."""

    model_config = ConfigDict(extra="ignore", frozen=True, strict=True, allow_inf_nan=False)
    fl: float | None = Field(None, ge=0, le=1000)
    fr: float | None = Field(None, ge=0, le=1000)
    rl: float | None = Field(None, ge=0, le=1000)
    rr: float | None = Field(None, ge=0, le=1000)


class Accel(BaseModel):
    """Accelerometer, m/s^2; x = forward (negative when braking), y = left, z = up."""

    model_config = ConfigDict(extra="ignore", frozen=True, strict=True, allow_inf_nan=False)
    x: float | None = Field(None, ge=-200, le=200)
    y: float | None = Field(None, ge=-200, le=200)
    z: float | None = Field(None, ge=-200, le=200)


class Telemetry(BaseModel):
    """One validated fix of one vehicle. ``ts_ms`` is the event time, epoch milliseconds UTC."""

    model_config = ConfigDict(extra="ignore", frozen=True, allow_inf_nan=False, strict=True)

    vehicle_id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")
    ts_ms: int
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    speed_kmh: float = Field(ge=0, le=1000)
    heading_deg: float | None = Field(None, ge=0, le=360)
    altitude_m: float | None = Field(None, ge=-1000, le=20000)
    ignition: bool | None = None
    rpm: float | None = Field(None, ge=0, le=20000)
    engine_load_pct: float | None = Field(None, ge=0, le=100)
    coolant_temp_c: float | None = Field(None, ge=-60, le=200)
    fuel_level_pct: float | None = Field(None, ge=0, le=100)
    battery_v: float | None = Field(None, ge=0, le=60)
    odometer_km: float | None = Field(None, ge=0, le=10_000_000)
    engine_hours: float | None = Field(None, ge=0, le=1_000_000)
    oil_life_pct: float | None = Field(None, ge=0, le=100)
    tire_pressure_kpa: Wheels | None = None
    accel_ms2: Accel | None = None
    dtc: tuple[str, ...] = ()
    alarm: str | None = Field(None, min_length=1, max_length=32, pattern=r"^[A-Za-z][A-Za-z0-9_ -]*$",
                              description="device alarm as reported (sos, tow, power_cut, ...); rules/fleet/alarms.py")
    hdop: float | None = Field(None, ge=0, le=99.99, description="horizontal dilution of precision of the fix; widens the geofence margin")
    accuracy_m: float | None = Field(None, ge=0, le=10_000, description="estimated horizontal error, m (1 sigma, as Android reports it); widens "
                                                                        "the geofence margin")
    received_at_ms: int = Field(0, description="set by the ingest when the message arrived; never from the device")

    @field_validator("ignition", mode="before")
    @classmethod
    def _strict_bool(cls, value: Any) -> Any:
        if value is not None and not isinstance(value, bool):
            raise ValueError("must be true or false")
        return value

    @field_validator("dtc", mode="before")
    @classmethod
    def _dtc_codes(cls, value: Any) -> Any:
        if value is None:
            return ()
        if not isinstance(value, list) or len(value) > 64:
            raise ValueError("must be a list of at most 64 codes")
        for code in value:
            if not isinstance(code, str) or not (4 <= len(code) <= 8) or not code.isalnum():
                raise ValueError(f"invalid DTC code {code!r}")
        return tuple(c.upper() for c in value)


def vehicle_id_from_topic(topic: str) -> str:
    """``fleet/{vehicle_id}/telemetry`` -> ``vehicle_id``; raises on any other topic."""
    if not (topic.startswith(TOPIC_PREFIX) and topic.endswith(TOPIC_SUFFIX)):
        raise InvalidTelemetry(f"topic {topic!r} is not fleet/{{vehicle_id}}/telemetry")
    vid = topic[len(TOPIC_PREFIX) : -len(TOPIC_SUFFIX)]
    if not vid or "/" in vid:
        raise InvalidTelemetry(f"topic {topic!r} is not fleet/{{vehicle_id}}/telemetry")
    return vid


def parse_timestamp_ms(value: Any) -> int:
    """ISO 8601 with a zone, or epoch milliseconds -> epoch milliseconds UTC (1970..3000).

    Only the form is checked here; ``check_timestamp`` bounds it against the arrival time."""
    if isinstance(value, bool):
        raise InvalidTelemetry("ts: must be ISO 8601 with zone or epoch milliseconds")
    if isinstance(value, (int, float)):
        # Compared as they are: an int beyond any float must not reach math.isfinite (OverflowError).
        if (isinstance(value, float) and not math.isfinite(value)) or not (0 <= value < _MAX_EPOCH_MS):
            raise InvalidTelemetry(f"ts: epoch milliseconds out of range: {str(value)[:80]}")
        return int(value)
    if isinstance(value, str):
        if len(value) > 64:
            raise InvalidTelemetry(f"ts: not ISO 8601: {value[:64]!r}...")
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
        except ValueError:
            raise InvalidTelemetry(f"ts: not ISO 8601: {value!r}") from None
        if parsed.tzinfo is None:
            raise InvalidTelemetry(f"ts: ISO 8601 without a time zone: {value!r}")
        # Aware subtraction is exact and cannot overflow (astimezone() does, for year 1 with an offset).
        ms = (parsed - _EPOCH) // _MS
        if not (0 <= ms < _MAX_EPOCH_MS):
            raise InvalidTelemetry(f"ts: {value!r} is outside 1970..3000")
        return ms
    raise InvalidTelemetry("ts: must be ISO 8601 with zone or epoch milliseconds")


def iso_ms(ms: int) -> str:
    """Epoch milliseconds as ISO 8601 UTC, for reasons a person reads."""
    try:
        return (_EPOCH + ms * _MS).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    except OverflowError:
        return f"{ms} ms"


def check_timestamp(ts_ms: int, now_ms: int, max_age_ms: int = MAX_TS_AGE_MS,
                    max_future_ms: int = MAX_TS_FUTURE_MS) -> int:
    """``ts_ms`` if it lies in [now - max_age, now + max_future], else ``InvalidTelemetry``.

    ``now_ms`` is the arrival time: a fix older than the retention would be refused by
    InfluxDB later, one from the future comes from a wrong device clock."""
    if ts_ms < now_ms - max_age_ms:
        hint = " (epoch seconds? ts is in milliseconds)" if 1e9 <= ts_ms < 1e10 else ""
        raise InvalidTelemetry(f"ts: {iso_ms(ts_ms)} is more than {max_age_ms / DAY_MS:g} days before "
                               f"arrival {iso_ms(now_ms)}{hint}")
    if ts_ms > now_ms + max_future_ms:
        raise InvalidTelemetry(f"ts: {iso_ms(ts_ms)} is more than {max_future_ms / 1000:g} s after "
                               f"arrival {iso_ms(now_ms)} (device clock wrong?)")
    return ts_ms


def _first_error(exc: ValidationError) -> str:
    err = exc.errors()[0]
    where = ".".join(str(p) for p in err["loc"]) or "payload"
    return f"{where}: {err['msg']}"


def parse_telemetry(topic: str, payload: bytes, received_at_ms: int = 0, *, max_age_ms: int = MAX_TS_AGE_MS,
                    max_future_ms: int = MAX_TS_FUTURE_MS) -> Telemetry:
    """Validate one MQTT message against the contract; raise ``InvalidTelemetry`` with a reason.

    ``ts`` is bounded against ``received_at_ms`` (the wall clock when that is 0): at most
    ``max_age_ms`` older, at most ``max_future_ms`` ahead."""
    topic_vid = vehicle_id_from_topic(topic)
    if len(payload) > MAX_PAYLOAD_BYTES:
        raise InvalidTelemetry(f"payload of {len(payload)} bytes exceeds {MAX_PAYLOAD_BYTES}")
    try:
        payload.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidTelemetry("payload is not UTF-8") from None
    try:
        # pydantic's Rust parser: a third of json.loads' cost (bench/fleet_stages.py), same documents
        # but for lone surrogate escapes and nesting deeper than 200, both refused (as not JSON) here.
        doc = from_json(payload)
    except (ValueError, RecursionError) as exc:
        raise InvalidTelemetry(f"payload is not JSON: {str(exc)[:120]}") from None
    if not isinstance(doc, dict):
        raise InvalidTelemetry("payload is not a JSON object")
    for key in ("vehicle_id", "ts", "lat", "lon", "speed_kmh"):
        if key not in doc:
            raise InvalidTelemetry(f"{key}: required field missing")
    if doc["vehicle_id"] != topic_vid:
        raise InvalidTelemetry(f"vehicle_id {str(doc['vehicle_id'])[:64]!r} does not match topic vehicle {topic_vid!r}")
    fields = dict(doc)
    fields["ts_ms"] = parse_timestamp_ms(fields.pop("ts"))
    fields["received_at_ms"] = received_at_ms
    for key in ("lat", "lon", "speed_kmh"):
        if isinstance(fields[key], bool) or not isinstance(fields[key], (int, float)):
            raise InvalidTelemetry(f"{key}: must be a number")
    try:
        t = Telemetry.model_validate(fields)
    except ValidationError as exc:
        raise InvalidTelemetry(_first_error(exc)) from None
    # Last: a well-formed fix is then rejected only for its time, with that reason.
    check_timestamp(t.ts_ms, received_at_ms or int(time.time() * 1000), max_age_ms, max_future_ms)
    return t


def to_avro_record(t: Telemetry) -> dict[str, Any]:
    """The ``schemas/telemetry.avsc`` form of a record."""
    rec = t.model_dump()
    rec["dtc"] = list(t.dtc)
    return rec


_M = TypeVar("_M", bound=BaseModel)
_setattr = object.__setattr__


def _trusted(cls: type[_M], values: dict[str, Any]) -> _M:
    """An instance of ``cls`` holding ``values`` as they are, without validation: what pydantic's
    ``model_construct`` sets, at a tenth of its cost (it resolves every field and default anew)."""
    obj = object.__new__(cls)
    _setattr(obj, "__dict__", values)
    _setattr(obj, "__pydantic_fields_set__", set(values))
    _setattr(obj, "__pydantic_extra__", None)
    _setattr(obj, "__pydantic_private__", None)
    return obj


def from_avro_record(rec: dict[str, Any]) -> Telemetry:
    """Back from the Avro form, trusted: not validated again. Validation is the ingest's, once, at
    the edge (``parse_telemetry``); the telemetry topic carries only what it produced, and the Avro
    reader gives every field of the schema, whose fields are the model's (tests/unit/test_trusted_decode.py).
    Half the cost of validating again (bench/fleet_stages.py), in the analytics flow and in the
    store. Records from anyone else must go through ``parse_telemetry`` or ``Telemetry.model_validate``."""
    fields = dict(rec)
    wheels, accel = fields["tire_pressure_kpa"], fields["accel_ms2"]
    fields["dtc"] = tuple(fields["dtc"])
    if wheels is not None:
        fields["tire_pressure_kpa"] = _trusted(Wheels, wheels)
    if accel is not None:
        fields["accel_ms2"] = _trusted(Accel, accel)
    return _trusted(Telemetry, fields)
