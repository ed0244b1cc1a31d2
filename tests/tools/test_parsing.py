"""Dates and amounts as people type them: read when clear, refused (None) when vague."""

from __future__ import annotations

import datetime as _dt

import pytest

from bot.tools.parsing import Day, Money, parse_day, parse_money

TODAY = _dt.date(2026, 11, 30)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("15/3/2025", Day(2025, 3, 15)),
        ("2025-03-15", Day(2025, 3, 15)),
        ("3/2025", Day(2025, 3)),
        ("tháng 3/2025", Day(2025, 3)),
        ("thang 3 nam 2025", Day(2025, 3)),
        ("em về hồi tháng 10 năm 2024 ạ", Day(2024, 10)),
        ("ngày 15 tháng 3 năm 2025", Day(2025, 3, 15)),
        ("March 2025", Day(2025, 3)),
        ("15 March 2025", Day(2025, 3, 15)),
        ("15.3.25", Day(2025, 3, 15)),
    ],
)
def test_clear_dates_are_read(text, expected):
    assert parse_day(text, TODAY) == expected


@pytest.mark.parametrize(
    "text",
    [
        "tháng trước",
        "thang truoc",
        "last month",
        "hôm qua",
        "năm ngoái",
        "32/1/2025",
        "3/2030",
        "13/2025",
        "",
        "🙂" * 50,
    ],
)
def test_vague_impossible_or_future_dates_are_refused(text):
    assert parse_day(text, TODAY) is None


@pytest.mark.parametrize(
    "text, expected",
    [
        ("5 triệu", Money(5_000_000, "VND")),
        ("5tr", Money(5_000_000, "VND")),
        ("5 trieu dong", Money(5_000_000, "VND")),
        ("5.000.000 đồng", Money(5_000_000, "VND")),
        ("1,5 triệu", Money(1_500_000, "VND")),
        ("300k", Money(300_000, "VND")),
        ("chừng 7 củ", Money(7_000_000, "VND")),
        ("$1,200", Money(1200, "USD")),
        ("1200 USD", Money(1200, "USD")),
        ("2.000.000 won", Money(2_000_000, "KRW")),
        ("150000 yen", Money(150_000, "JPY")),
    ],
)
def test_clear_amounts_are_read_with_their_currency(text, expected):
    assert parse_money(text) == expected


def test_a_bare_large_number_takes_the_host_country_currency():
    assert parse_money("2000000", default_currency="KRW") == Money(2_000_000, "KRW")


@pytest.mark.parametrize("text", ["mấy triệu", "5", "nhiều lắm", "", "không nhớ", "1,500 triệu"])
def test_vague_or_ambiguous_amounts_are_refused(text):
    assert parse_money(text) is None


def test_iso_round_trip():
    assert Day.from_iso(Day(2025, 3).iso()) == Day(2025, 3)
    assert Day.from_iso(Day(2025, 3, 9).iso()) == Day(2025, 3, 9)
    assert Day.from_iso("garbage") is None
