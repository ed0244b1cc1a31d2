"""`python -m bot bench`: measure, and write docs/benchmarks.md."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "bench",
        help="held-out accuracy, places, conversations, danger, training time -> docs/benchmarks.md",
        description="Evaluate the trained assistant on tests/nlu/ (intents per form, wrong-language "
        "replies, places, danger) and tests/conversations/, time a full training run, benchmark "
        "directory look-ups, and write the figures to docs/benchmarks.md. Refuses to run while a "
        "held-out message is a training example once diacritics are removed.",
    )
    parser.add_argument("--no-train-timing", action="store_true", help="skip timing a full training run")
    parser.add_argument(
        "--load",
        action="store_true",
        help="only the load part: throughput and latency against a stock `rasa init` bot (bot/load_bench.py)",
    )
    parser.set_defaults(func=run_bench)


def run_bench(args: argparse.Namespace) -> int:
    import sys

    from bot.bench import HeldOutLeak, run

    if args.load:
        from bot.load_bench import run as run_load

        print(run_load())
        return 0
    try:
        print(run(time_train=not args.no_train_timing))
    except HeldOutLeak as leak:
        print(f"error: {leak}", file=sys.stderr)
        return 1
    return 0
