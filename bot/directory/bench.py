"""Partner look-up latency at 10,000 rows, for `make bench` and docs/benchmarks.md.

The rows are synthetic (marked `synthetic`, named "SYNTHETIC partner N", no contact
details) and live only in a temporary SQLite file that is deleted afterwards.
"""

from __future__ import annotations

import datetime as dt
import random
import statistics
import tempfile
import time
from pathlib import Path

from sqlalchemy import insert

from bot.directory import db
from bot.directory.models import Partner, PartnerArea, PartnerCoverage, PartnerService
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
