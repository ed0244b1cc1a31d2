"""The load part of `make bench` (bot/load_bench.py): the closed loop against a fake REST
webhook (replies, errors, warm-up), the percentiles, and the report section that replaces
its own part of docs/benchmarks.md and survives `bot bench` rewriting the rest."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from bot import load_bench
from bot.load_bench import BEGIN, END, BotRun, Level


@pytest.fixture
def rest_webhook():
    """A REST webhook that answers one reply, or 500 for the message "fail"."""
    received: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:  # noqa: N802
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            received.append(body)
            status = 500 if body["message"] == "fail" else 200
            replies = [] if body["message"] == "silence" else [{"recipient_id": body["sender"], "text": "ok"}]
            data = json.dumps(replies).encode()
            self.send_response(status)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/webhooks/rest/webhook", received
    server.shutdown()
    server.server_close()


async def test_closed_loop_counts_replies_and_errors_after_the_warm_up(rest_webhook):
    url, received = rest_webhook
    level = await load_bench.closed_loop(url, ["xin chào"], users=3, seconds=0.6, warm_up=0.2)
    assert level.errors == 0 and level.latencies
    assert len(received) > len(level.latencies)  # the warm-up's replies are not counted
    senders = {body["sender"] for body in received}
    assert len(senders) >= 3  # one conversation per user at least, never shared
    per_sender = max(sum(1 for body in received if body["sender"] == s) for s in senders)
    assert per_sender <= load_bench.MESSAGES_PER_CONVERSATION
    failing = await load_bench.closed_loop(url, ["fail"], users=2, seconds=0.3, warm_up=0.0)
    assert failing.errors > 0 and not failing.latencies
    silent = await load_bench.closed_loop(url, ["silence"], users=1, seconds=0.3, warm_up=0.0)
    assert silent.errors > 0 and not silent.latencies  # this assistant must never stay silent
    stock = await load_bench.closed_loop(
        url, ["silence"], users=1, seconds=0.3, warm_up=0.0, reply_required=False
    )
    assert stock.errors == 0 and stock.latencies


def test_percentiles_and_throughput():
    level = Level(20, seconds=10.0, latencies=[i / 1000 for i in range(1, 101)])
    assert level.throughput == 10.0
    assert level.percentile(0.5) == pytest.approx(50)
    assert level.percentile(0.95) == pytest.approx(95)
    assert Level(1, 1.0).percentile(0.95) == 0.0


def _run(
    name: str, throughput: float, p95_ms: float, errors: int = 0, rss: float = 500, pss: float = 400
) -> BotRun:
    levels = [
        Level(users, 10.0, latencies=[p95_ms / 1000] * int(throughput * 10), errors=errors)
        for users in (1, 20, 50)
    ]
    return BotRun(name, levels, rss, pss)


def test_section_shows_the_ratio_and_marks_missed_targets():
    met = load_bench.section(_run("stock", 10, 400), _run("ours", 30, 200), "test machine", (0.5, 0.7))
    assert "20 users: **3.00×**" in met and "**missed**" not in met
    missed = load_bench.section(
        _run("stock", 10, 400),
        _run("ours", 20, 900, errors=1, rss=2000, pss=2000),
        "test machine",
        (0.5, 0.7),
    )
    assert missed.count("**missed**") == 4


def test_memory_is_judged_by_pss_and_both_figures_are_shown():
    """Forked workers share pages: the resident sizes add up to more than the memory taken,
    so the target is checked against PSS, and RSS is shown beside it."""
    shared = load_bench.section(
        _run("stock", 10, 400), _run("ours", 30, 200, rss=1700, pss=850), "test machine", (0.5, 0.7)
    )
    assert "peak PSS 850 MB, sum of resident sizes 1700 MB" in shared and "**missed**" not in shared
    over = load_bench.section(
        _run("stock", 10, 400), _run("ours", 30, 200, rss=900, pss=1100), "test machine", (0.5, 0.7)
    )
    assert over.count("**missed**") == 1


def test_pss_of_a_process_tree_counts_a_forked_child_s_shared_pages_once():
    import os
    import time

    ballast = bytearray(64 * 1024 * 1024)  # 64 MB, touched below, shared with the child after fork
    for offset in range(0, len(ballast), 4096):
        ballast[offset] = 1
    child = os.fork()
    if child == 0:  # the child only sleeps: its pages stay shared with the parent
        time.sleep(30)
        os._exit(0)
    try:
        time.sleep(0.5)
        pid = os.getpid()
        own_rss, own_pss = load_bench.rss_mb(pid), load_bench.pss_mb(pid)
        assert own_rss - own_pss > 25  # half of the 64 MB counted for each process
        assert own_pss < own_rss
    finally:
        os.kill(child, 9)
        os.waitpid(child, 0)


def test_the_section_replaces_its_own_part_only_and_survives_the_rewrite(tmp_path, monkeypatch):
    report = tmp_path / "benchmarks.md"
    report.write_text("# Benchmarks\n\n## Intent\n\nfigures\n", encoding="utf-8")
    first = load_bench.replace_section(report.read_text(), f"{BEGIN}\nold\n{END}")
    assert first.startswith("# Benchmarks\n\n## Intent\n\nfigures\n") and first.endswith(f"{END}\n")
    second = load_bench.replace_section(first + "\n## After\n", f"{BEGIN}\nnew\n{END}")
    assert "old" not in second and "new" in second and "## Intent" in second and "## After" in second
    report.write_text(second, encoding="utf-8")
    assert load_bench.kept_section(report) == f"{BEGIN}\nnew\n{END}"


def test_the_ratio_is_taken_against_the_better_of_the_stock_runs_at_each_level():
    slow, fast = _run("stock rasa init (before)", 10, 400), _run("stock rasa init (after)", 15, 300)
    text = load_bench.section([slow, fast], _run("ours", 30, 200), "test machine", (0.5, 0.7))
    assert "20 users: **2.00×**" in text and "**missed**" in text  # 30 / 15, under 2.5
    assert (
        "| stock rasa init (before) | 20 | 10.0 |" in text
        and "| stock rasa init (after) | 20 | 15.0 |" in text
    )
    assert [level.throughput for level in load_bench.best_levels([fast, slow])] == [15.0] * 3
