"""Weekly schedule of a geofence, in the schedule's own time zone (parental control windows).

A geofence with a schedule only exists while a window is active: "allowed zone school,
mon-fri 07:00-17:00" alerts when the car is outside it on a school day at 10:00, and says
nothing on Saturday. Windows with ``end <= start`` span midnight and belong to the day they
start on (``fri 22:00-06:00`` is active Saturday 03:00). ``except_dates`` (local dates, e.g.
school holidays) switch off the windows that start on those dates. Wall-clock times are read
in the zone with zoneinfo, so DST changes move the window with the clock as people expect.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MEMO_MINUTES = 4096  # minutes remembered per schedule (then forgotten at once)


class ScheduleError(ValueError):
    """A schedule that cannot be understood; the message says which part."""


@dataclass(frozen=True)
class Window:
    days: frozenset[int]  # 0 = Monday, the day the window starts on
    start_min: int  # minutes after local midnight
    end_min: int  # 1..1440; end <= start spans midnight

    def contains(self, weekday: int, minute: int, excluded_today: bool, excluded_yesterday: bool) -> bool:
        if self.start_min < self.end_min:
            return weekday in self.days and not excluded_today and self.start_min <= minute < self.end_min
        if weekday in self.days and not excluded_today and minute >= self.start_min:
            return True
        return (weekday - 1) % 7 in self.days and not excluded_yesterday and minute < self.end_min


@dataclass(frozen=True)
class WeeklySchedule:
    tz: str
    windows: tuple[Window, ...]
    except_dates: frozenset[date] = frozenset()

    def active_at(self, ts_ms: int) -> bool:
        """Is a window active at this event time?

        Memoised per UTC minute (every zone is checked per fix: the local time conversion was
        ~8 us of it, issue 11), but only for a UTC minute that is one local minute: a zone offset of
        whole minutes, not changing within it. Any other minute is computed every time."""
        minute = ts_ms // 60_000
        memo: dict[int, bool] | None = self.__dict__.get("_by_minute")
        if memo is None:
            memo = {}
            object.__setattr__(self, "_by_minute", memo)  # a cache, not a field: not compared, hashed or shown
        found = memo.get(minute)
        if found is not None:
            return found
        active = self._active_at(ts_ms)
        if self._one_local_minute(minute):
            if len(memo) >= MEMO_MINUTES:
                memo.clear()
            memo[minute] = active
        return active

    def _one_local_minute(self, minute: int) -> bool:
        """The UTC minute ``minute`` (minutes since the epoch) is one local minute of the zone."""
        zone = ZoneInfo(self.tz)
        start = datetime.fromtimestamp(minute * 60, tz=UTC)
        local_start, local_end = start.astimezone(zone), (start + timedelta(minutes=1)).astimezone(zone)
        return (local_start.second == 0 and local_start.microsecond == 0
                and local_end.replace(tzinfo=None) - local_start.replace(tzinfo=None) == timedelta(minutes=1))

    def _active_at(self, ts_ms: int) -> bool:
        local = datetime.fromtimestamp(ts_ms / 1000, tz=UTC).astimezone(ZoneInfo(self.tz))
        today = local.date()
        minute = local.hour * 60 + local.minute
        ex_today = today in self.except_dates
        ex_yday = (today - timedelta(days=1)) in self.except_dates
        return any(w.contains(local.weekday(), minute, ex_today, ex_yday) for w in self.windows)


def _minutes(text: Any, what: str) -> int:
    if not isinstance(text, str) or len(text.split(":")) != 2:
        raise ScheduleError(f"{what} must be 'HH:MM', got {text!r}")
    hh, mm = text.split(":")
    if not (hh.isdigit() and mm.isdigit()) or not (0 <= int(mm) < 60) or not (0 <= int(hh) <= 24):
        raise ScheduleError(f"{what} must be 'HH:MM', got {text!r}")
    total = int(hh) * 60 + int(mm)
    if total > 1440:
        raise ScheduleError(f"{what} is after 24:00: {text!r}")
    return total


def parse_schedule(doc: Any) -> WeeklySchedule:
    """``{"timezone": "Europe/Berlin", "windows": [{"days": [...], "start": "07:00", "end": "17:00"}],
    "except_dates": ["2025-12-24"]}`` -> WeeklySchedule; raises ScheduleError."""
    if not isinstance(doc, dict):
        raise ScheduleError("schedule must be an object")
    tz = doc.get("timezone")
    if not isinstance(tz, str):
        raise ScheduleError("schedule.timezone is required (IANA name such as 'Europe/Berlin')")
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise ScheduleError(f"schedule.timezone {tz!r} is not a known IANA time zone") from None
    raw_windows = doc.get("windows")
    if not isinstance(raw_windows, list) or not raw_windows:
        raise ScheduleError("schedule.windows must be a non-empty list")
    windows = []
    for i, w in enumerate(raw_windows):
        where = f"schedule.windows[{i}]"
        if not isinstance(w, dict):
            raise ScheduleError(f"{where} must be an object")
        days = w.get("days", list(DAYS))
        if not isinstance(days, list) or not days or any(d not in DAYS for d in days):
            raise ScheduleError(f"{where}.days must be a list of {', '.join(DAYS)}; got {days!r}")
        start, end = _minutes(w.get("start"), f"{where}.start"), _minutes(w.get("end"), f"{where}.end")
        if start == 1440:
            raise ScheduleError(f"{where}.start cannot be 24:00")
        windows.append(Window(frozenset(DAYS.index(d) for d in days), start, end if end else 1440 if start == 0 else end))
    excepts = set()
    for d in doc.get("except_dates", []) or []:
        try:
            excepts.add(date.fromisoformat(d))
        except (TypeError, ValueError):
            raise ScheduleError(f"schedule.except_dates: {d!r} is not a YYYY-MM-DD date") from None
    return WeeklySchedule(tz, tuple(windows), frozenset(excepts))
