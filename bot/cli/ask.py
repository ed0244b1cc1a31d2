"""`python -m bot ask`: how the trained bot answers one message or a list of them."""

from __future__ import annotations

import argparse
import json
import sys

from bot.services import ServiceError

# The --jsonl output contract (README "Checking answers"): these keys, in this order.
JSONL_FIELDS = ("text", "intent", "confidence", "topic", "entities", "lang", "answer")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "ask",
        help="answer messages with the trained bot (each one a new conversation)",
        description=(
            "Answer one message, or with --jsonl one message per line of standard input, "
            "writing one JSON object per line: text, intent, confidence, topic, entities, "
            "lang, answer. The model is loaded once."
        ),
    )
    parser.add_argument("message", nargs="?", help="the message to answer")
    parser.add_argument("--jsonl", action="store_true", help="read messages from stdin, write JSON lines")
    parser.add_argument("--model", help="model archive (default: the newest in models/)")
    parser.add_argument(
        "--lang", choices=["vi", "en"], help="answer in this language (as a channel locale would)"
    )
    parser.set_defaults(func=run_ask)


def run_ask(args: argparse.Namespace) -> int:
    if not args.jsonl and not args.message:
        print("error: give a message, or --jsonl with messages on stdin", file=sys.stderr)
        return 2
    from bot.assistant import Assistant

    metadata = {"locale": args.lang} if args.lang else None
    try:
        with Assistant.running(args.model) as assistant:
            if not args.jsonl:
                print(assistant.ask(args.message, metadata)["answer"])
                return 0
            lines = [line.strip() for line in sys.stdin if line.strip()]
            for line in lines:
                result = assistant.ask(line, metadata)
                row = {key: result[key] for key in JSONL_FIELDS}
                print(json.dumps(row, ensure_ascii=False), flush=True)
    except ServiceError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0
