from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from rules.fleet.schedule import ScheduleError, parse_schedule

from .helpers import ms

BERLIN = ZoneInfo("Europe/Berlin")


def local(y, mo, d, h, mi=0):
    return ms(datetime(y, mo, d, h, mi, tzinfo=BERLIN))


SCHOOL = parse_schedule({"timezone": "Europe/Berlin",
                         "windows": [{"days": ["mon", "tue", "wed", "thu", "fri"], "start": "07:00", "end": "17:00"}],
                         "except_dates": ["2025-12-22"]})
NIGHT = parse_schedule({"timezone": "Europe/Berlin", "windows": [{"days": ["fri"], "start": "22:00", "end": "06:00"}],
                        "except_dates": ["2025-12-05"]})


@pytest.mark.parametrize("when,active", [
    ((2025, 11, 24, 6, 59), False),  # Monday
    ((2025, 11, 24, 7, 0), True),
    ((2025, 11, 24, 16, 59), True),
    ((2025, 11, 24, 17, 0), False),
    ((2025, 11, 29, 10, 0), False),  # Saturday
    ((2025, 12, 22, 10, 0), False),  # holiday (except_dates)
    ((2025, 12, 23, 10, 0), True),
])
def test_school_days_window(when, active):
    assert SCHOOL.active_at(local(*when)) is active


def test_window_is_read_in_the_schedule_zone_not_utc():
    # 06:30 UTC on a Monday is 07:30 in Berlin (winter): active; 16:30 UTC is 17:30: not active
    assert SCHOOL.active_at(ms(datetime(2025, 11, 24, 6, 30, tzinfo=UTC)))
    assert not SCHOOL.active_at(ms(datetime(2025, 11, 24, 16, 30, tzinfo=UTC)))


@pytest.mark.parametrize("when,active", [
    ((2025, 11, 28, 21, 59), False),  # Friday
    ((2025, 11, 28, 22, 0), True),
    ((2025, 11, 28, 23, 59), True),
    ((2025, 11, 29, 0, 0), True),  # Saturday after midnight: belongs to Friday's window
    ((2025, 11, 29, 5, 59), True),
    ((2025, 11, 29, 6, 0), False),
    ((2025, 11, 29, 22, 30), False),  # Saturday evening: no window starts on Saturday
    ((2025, 11, 24, 3, 0), False),  # Monday early: Sunday is not a start day
    ((2025, 12, 5, 23, 0), False),  # Friday on an except date
    ((2025, 12, 6, 3, 0), False),  # ... and the part of that window after midnight
])
def test_window_spanning_midnight(when, active):
    assert NIGHT.active_at(local(*when)) is active


def test_dst_change_moves_window_with_the_wall_clock():
    sunday = parse_schedule({"timezone": "Europe/Berlin", "windows": [{"days": ["sun"], "start": "07:00", "end": "17:00"}]})
    # 2025-03-30 clocks go 02:00 -> 03:00 (UTC+2): 05:30 UTC is 07:30 local
    assert sunday.active_at(ms(datetime(2025, 3, 30, 5, 30, tzinfo=UTC)))
    assert not sunday.active_at(ms(datetime(2025, 3, 30, 4, 30, tzinfo=UTC)))
    # 2025-10-26 clocks go 03:00 -> 02:00 (UTC+1): 06:30 UTC is 07:30 local, 05:30 UTC is 06:30
    assert sunday.active_at(ms(datetime(2025, 10, 26, 6, 30, tzinfo=UTC)))
    assert not sunday.active_at(ms(datetime(2025, 10, 26, 5, 30, tzinfo=UTC)))


def test_full_day_and_24h_end():
    allday = parse_schedule({"timezone": "UTC", "windows": [{"days": ["sat"], "start": "00:00", "end": "24:00"}]})
    assert allday.active_at(ms(datetime(2025, 11, 29, 23, 59, tzinfo=UTC)))
    assert not allday.active_at(ms(datetime(2025, 11, 30, 0, 0, tzinfo=UTC)))


@pytest.mark.parametrize("doc,words", [
    ({"windows": [{"start": "07:00", "end": "17:00"}]}, "timezone is required"),
    ({"timezone": "Mars/Olympus", "windows": [{"start": "07:00", "end": "17:00"}]}, "not a known IANA"),
    ({"timezone": "UTC", "windows": []}, "non-empty"),
    ({"timezone": "UTC", "windows": [{"start": "7", "end": "17:00"}]}, "windows[0].start"),
    ({"timezone": "UTC", "windows": [{"start": "07:00", "end": "17:60"}]}, "windows[0].end"),
    ({"timezone": "UTC", "windows": [{"days": ["monday"], "start": "07:00", "end": "17:00"}]}, "windows[0].days"),
    ({"timezone": "UTC", "windows": [{"start": "07:00", "end": "17:00"}], "except_dates": ["24.12.2025"]}, "except_dates"),
])
def test_bad_schedules_say_what_is_wrong(doc, words):
    with pytest.raises(ScheduleError, match=words.replace("[", r"\[").replace("]", r"\]")):
        parse_schedule(doc)
