"""`python -m bot chat`: a conversation with the trained bot in the terminal."""

from __future__ import annotations

import argparse
import sys
import uuid

from bot.services import ServiceError


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "chat",
        help="talk to the trained bot in this terminal",
        description="An interactive conversation; buttons are shown as numbered choices. "
        "Type a number to press a button, or /quit to stop.",
    )
    parser.add_argument("--model", help="model archive (default: the newest in models/)")
    parser.set_defaults(func=run_chat)


def run_chat(args: argparse.Namespace) -> int:
    from bot.assistant import Assistant

    sender = f"chat-{uuid.uuid4().hex}"
    buttons: list = []
    try:
        with Assistant.running(args.model) as assistant:
            print("Xin chào! Hãy nhập câu hỏi (/quit để thoát). Type your question (/quit to stop).")
            while True:
                try:
                    text = input("> ").strip()
                except EOFError:
                    return 0
                if text in ("/quit", "/exit"):
                    return 0
                if text.isdigit() and 0 < int(text) <= len(buttons):
                    text = buttons[int(text) - 1]["payload"]
                if not text:
                    continue
                result = assistant.ask(text, sender_id=sender)
                buttons = []
                for message in result["messages"]:
                    if message.get("text"):
                        print(message["text"].replace("**", ""))
                    for button in message.get("buttons") or []:
                        buttons.append(button)
                        print(f"  [{len(buttons)}] {button['title']}")
    except ServiceError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
