"""Staff hours: the parser, its settings error, and what the user is told."""

from __future__ import annotations

import datetime as _dt
from zoneinfo import ZoneInfo

import pytest

from bot import handoff
from bot.settings import SettingsError, load_settings
from bot.staff_hours import parse_hours

HCM = ZoneInfo("Asia/Ho_Chi_Minh")


def test_ranges_are_open_and_closed_at_the_right_times():
    hours = parse_hours("mon-fri 08:00-12:00, mon-fri 13:30-17:00; sat 08:00-11:00")
    monday = _dt.datetime(2026, 11, 30, tzinfo=HCM)  # a Monday
    assert hours.is_open(monday.replace(hour=9))
    assert not hours.is_open(monday.replace(hour=12, minute=30))
    assert hours.is_open(monday.replace(hour=13, minute=30))
    assert not hours.is_open(monday.replace(hour=17))
    sunday = monday + _dt.timedelta(days=6)
    assert not hours.is_open(sunday.replace(hour=9))
    assert hours.next_opening(sunday.replace(hour=9)) == (monday + _dt.timedelta(days=7)).replace(hour=8)
    saturday_evening = (monday + _dt.timedelta(days=5)).replace(hour=20)
    assert hours.next_opening(saturday_evening).weekday() == 0
    assert parse_hours("always").is_open(sunday)


def test_a_wrapping_day_span_covers_the_weekend():
    assert parse_hours("fri-mon 09:00-10:00").spans[0].weekdays == frozenset({4, 5, 6, 0})


@pytest.mark.parametrize(
    "value, says",
    [
        ("weekdays 8-5", "'weekdays 8-5' is not a range"),
        ("mon-fri 17:00-08:00", "ends before it starts"),
        ("mon-fri 08:00-25:00", "impossible time"),
        ("mon-fry 08:00-17:00", "is not a range"),
    ],
)
def test_a_bad_value_is_a_settings_error_naming_the_part(value, says):
    with pytest.raises(SettingsError) as error:
        load_settings({"HANDOFF_HOURS": value})
    assert "HANDOFF_HOURS" in str(error.value) and says in str(error.value)


def test_a_bad_time_zone_is_a_settings_error():
    with pytest.raises(SettingsError, match="HANDOFF_TIMEZONE"):
        load_settings({"HANDOFF_TIMEZONE": "Mars/Olympus"})


def test_within_hours_the_user_is_told_a_person_answers_and_until_when(monkeypatch):
    monkeypatch.setenv("HANDOFF_HOURS", "mon-fri 08:00-17:00")
    now = _dt.datetime(2026, 11, 30, 3, 0, tzinfo=_dt.timezone.utc)  # Monday 10:00 in Ha Noi
    messages = handoff.availability("vi", now)
    assert len(messages) == 1
    assert "Họ đang làm việc (đến 17:00, giờ Asia/Ho_Chi_Minh)" in messages[0]["text"]


def test_outside_hours_the_user_is_told_when_and_gets_the_urgent_numbers(monkeypatch):
    monkeypatch.setenv("HANDOFF_HOURS", "mon-fri 08:00-17:00")
    now = _dt.datetime(2026, 12, 5, 3, 0, tzinfo=_dt.timezone.utc)  # Saturday 10:00 in Ha Noi
    messages = handoff.availability("en", now)
    assert "from Monday 7/12 08:00 (Asia/Ho_Chi_Minh time)" in messages[0]["text"]
    assert "+84 981 84 84 84" in messages[1]["text"]  # the urgent card, from content/
