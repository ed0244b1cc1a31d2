"""`python -m bot retrain`: train on data/, measure on the held-out set, publish live or refuse.

The staff console starts `python -m bot retrain --job N` for the job it created (so the
job outlives the page); an operator can run `python -m bot retrain` in a terminal to do
the same with the same checks, against the assistant `bot run` serves (the process needs
the MODEL_SWAP_TOKEN that `bot run` gave its children, or one set for both).
"""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "retrain",
        help="retrain, compare held-out figures, and swap the model into the running assistant",
        description="Train a model on TRAINING_DATA_DIR, measure it and the served model on the held-out "
        "set (accuracy per form, conversation success), refuse it when a figure drops by more than one "
        "point, else publish it into MODELS_DIR and swap it into the running Rasa server. One at a time.",
    )
    parser.add_argument("--job", type=int, default=None, help="run this job created by the staff console")
    parser.set_defaults(func=run_retrain)


def run_retrain(args: argparse.Namespace) -> int:
    import sys

    from bot import db, training
    from bot.settings import get_settings

    settings = get_settings()
    engine = db.get_engine(settings.database_url)
    db.ensure_schema(engine)
    training.lower_priority()
    if args.job is None:
        try:
            job = training.start_job(engine, "command line")
        except training.JobRunning as running:
            print(f"error: {running}", file=sys.stderr)
            return 1
    else:
        found = training.get_job(engine, args.job)
        if found is None or not found.running:
            print(f"error: job {args.job} is not a running retrain", file=sys.stderr)
            return 1
        job = found
    job = training.run_job(engine, job.id, settings)
    print(f"retrain {job.id}: {job.state}" + (f" ({job.reason})" if job.reason else ""))
    return 0 if job.state == training.PUBLISHED else 1
