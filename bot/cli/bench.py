"""`python -m bot bench`: measure, and write docs/benchmarks.md."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "bench",
        help="held-out NLU accuracy, training time and directory speed -> docs/benchmarks.md",
        description="Evaluate the trained model on tests/nlu/, time a full training run, "
        "benchmark directory look-ups, and write the figures to docs/benchmarks.md.",
    )
    parser.add_argument("--no-train-timing", action="store_true", help="skip timing a full training run")
    parser.set_defaults(func=run_bench)


def run_bench(args: argparse.Namespace) -> int:
    from bot.bench import run

    print(run(time_train=not args.no_train_timing))
    return 0
