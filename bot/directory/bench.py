"""Directory figures for `make bench` and docs/benchmarks.md: look-up latency and coverage.

Latency: partner look-ups at 10,000 rows. The rows are synthetic (marked `synthetic`,
named "SYNTHETIC partner N", no contact details) and live only in a temporary SQLite file
that is deleted afterwards.

Coverage: how far the real data files reach (host countries with a mission, provinces
with an employment service centre and legal aid, rows by confidence), read from the files
so that staff see the gaps that remain; tests/directory/test_directory_coverage.py keeps
these figures from dropping unnoticed.
"""

from __future__ import annotations

import datetime as dt
import random
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from sqlalchemy import insert

from bot.directory import db
from bot.directory.loader import DEFAULT_DATA_DIR, read_directory
from bot.directory.models import CONFIDENCE_LEVELS, Partner, PartnerArea, PartnerCoverage, PartnerService
from bot.directory.queries import find_partners
from bot.vietnamese.needs import NEEDS
from bot.vietnamese.provinces import CURRENT_PROVINCES

TARGET_MS = 5.0


def _fill(url: str, rows: int, rng: random.Random) -> None:
    engine = db.create_tables(url)
    partners: list[dict] = []
    services: list[dict] = []
    areas: list[dict] = []
    coverage: list[dict] = []
    checked = dt.date(2026, 1, 1)
    for n in range(rows):
        pid = f"synthetic-{n:05d}"
        partners.append(
            {
                "id": pid,
                "kind": "ngo",
                "name_vi": f"SYNTHETIC partner {n}",
                "name_en": f"SYNTHETIC partner {n}",
                "source": "synthetic benchmark row",
                "last_checked": checked,
                "confidence": rng.choice(("high", "medium", "low")),
                "synthetic": True,
            }
        )
        needs = rng.sample(NEEDS, rng.randint(1, 3))
        roll = rng.random()
        if roll < 0.1:
            places = [("nationwide", "")]
        elif roll < 0.2:
            places = [("country", rng.choice(("KR", "JP", "TW", "MY", "SA", "AE", "DE")))]
        else:
            places = [("province", p) for p in rng.sample(CURRENT_PROVINCES, rng.randint(1, 2))]
        services += [{"partner_id": pid, "service": need} for need in needs]
        areas += [{"partner_id": pid, "scope": s, "value": v} for s, v in places]
        coverage += [
            {"service": need, "scope": s, "value": v, "partner_id": pid} for need in needs for s, v in places
        ]
    with engine.begin() as conn:
        conn.execute(insert(Partner.__table__), partners)
        conn.execute(insert(PartnerService.__table__), services)
        conn.execute(insert(PartnerArea.__table__), areas)
        conn.execute(insert(PartnerCoverage.__table__), coverage)


def run_bench(rows: int = 10_000, queries: int = 200, seed: int = 7) -> dict[str, object]:
    """Median and p95 of `find_partners` (session open to results) over random requests."""
    rng = random.Random(seed)
    with tempfile.TemporaryDirectory(prefix="dir-bench-") as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        _fill(url, rows, rng)
        requests = [(rng.choice(NEEDS), rng.choice(CURRENT_PROVINCES)) for _ in range(queries)]
        with db.session_scope(url) as session:  # warm the connection pool and the caches
            find_partners(session, NEEDS[0], province=CURRENT_PROVINCES[0], include_synthetic=True)
        timings: list[float] = []
        found = 0
        for need, province in requests:
            start = time.perf_counter()
            with db.session_scope(url) as session:
                page = find_partners(session, need, province=province, include_synthetic=True)
            timings.append((time.perf_counter() - start) * 1000)
            found += len(page.items)
        db.get_engine(url).dispose()
    timings.sort()
    p95 = timings[min(len(timings) - 1, int(round(0.95 * len(timings))) - 1)]
    return {
        "partner rows": rows,
        "look-ups timed": queries,
        "median ms": round(statistics.median(timings), 3),
        "p95 ms": round(p95, 3),
        "target ms": TARGET_MS,
        "meets target": p95 < TARGET_MS,
        "results per look-up (mean)": round(found / max(1, queries), 2),
        "database": "SQLite (temporary file)",
    }


def _provinces_with(parsed, wanted) -> list[str]:
    """Current provinces named (not "nationwide") by a partner row that `wanted` accepts."""
    found = {
        area["value"]
        for area in parsed.areas.values()
        if area["scope"] == "province" and wanted(area["partner_id"])
    }
    return sorted(found & set(CURRENT_PROVINCES))


def directory_coverage(data_dir: Path | str = DEFAULT_DATA_DIR) -> dict[str, Any]:
    """Coverage of the data files (read and checked as a load would, nothing written)."""
    parsed = read_directory(data_dir)
    partners = {key[0]: rec for key, rec in parsed.partners.items()}
    services: dict[str, set[str]] = {}
    for partner_id, service in parsed.services:
        services.setdefault(partner_id, set()).add(service)
    countries = {rec["code"]: rec for rec in parsed.countries.values()}
    with_mission = sorted({rec["country_code"] for rec in parsed.offices.values()})
    employment = _provinces_with(parsed, lambda pid: partners[pid]["kind"] == "employment_service_centre")
    legal_aid = _provinces_with(
        parsed,
        lambda pid: partners[pid]["kind"] == "legal_aid_centre" or "legal_aid" in services.get(pid, ()),
    )
    state_legal_aid = _provinces_with(parsed, lambda pid: partners[pid]["kind"] == "legal_aid_centre")
    rows = [*parsed.offices.values(), *parsed.partners.values()]
    by_level = {level: sum(1 for r in rows if r["confidence"] == level) for level in CONFIDENCE_LEVELS}
    return {
        "countries in countries.csv": len(countries),
        "countries with a mission row": len(with_mission),
        "countries without a mission row": sorted(set(countries) - set(with_mission)),
        "main host countries without a mission row": sorted(
            code for code, rec in countries.items() if rec["main_host"] and code not in with_mission
        ),
        "provinces": len(CURRENT_PROVINCES),
        "provinces with an employment service centre row": len(employment),
        "provinces with a legal aid row": len(legal_aid),
        "provinces with a State legal aid centre row": len(state_legal_aid),
        "rows": len(rows),
        "rows by confidence": {
            level: (count, round(100 * count / max(1, len(rows)))) for level, count in by_level.items()
        },
    }


def directory_coverage_report(data_dir: Path | str = DEFAULT_DATA_DIR) -> dict[str, str]:
    """The coverage as one line per figure, for docs/benchmarks.md."""
    cov = directory_coverage(data_dir)
    shares = ", ".join(f"{level} {n} ({pct}%)" for level, (n, pct) in cov["rows by confidence"].items())
    missing = ", ".join(cov["countries without a mission row"]) or "none"
    return {
        "coverage: host countries with a mission row": (
            f"{cov['countries with a mission row']} of {cov['countries in countries.csv']} (missing: {missing})"
        ),
        "coverage: provinces with an employment service centre row": (
            f"{cov['provinces with an employment service centre row']} of {cov['provinces']}"
        ),
        "coverage: provinces with a legal aid row": (
            f"{cov['provinces with a legal aid row']} of {cov['provinces']} "
            f"({cov['provinces with a State legal aid centre row']} with a State legal aid centre row; "
            "a nationwide row covers the rest)"
        ),
        "coverage: rows by confidence": f"{cov['rows']} rows: {shares}",
    }
