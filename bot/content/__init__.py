"""Answer cards: the Markdown files in `content/<lang>/` that the bot answers with.

- `cards`: load and validate a card (`load_card`, `CardError`) and serve cards that
  stay current when NGO staff edit the files (`ContentLibrary`, `default_library`).
- `render`: a card as reply text plus follow-up and look-up buttons (`render_card`).
- `checks`: the library-wide checks behind `python -m bot content check`.
- `topics`: the topic ids and groups from `topics.yml`.
- `revisions`: draft -> review -> live, history, restore, export/import (the staff console
  and `python -m bot content export|import`).
- `verification`: the verification queue and "verified on DATE from SOURCE".
- `preview`: a card as Telegram, Zalo and the web chat will show it.
"""

from bot.content.cards import Card, CardError, ContentLibrary, default_library, load_card
from bot.content.checks import check_content
from bot.content.render import render_card
from bot.content.topics import load_topics, topic_groups, topic_ids

__all__ = [
    "Card",
    "CardError",
    "ContentLibrary",
    "check_content",
    "default_library",
    "load_card",
    "load_topics",
    "render_card",
    "topic_groups",
    "topic_ids",
]
