"""Answer cards: loading, validating and serving `content/<lang>/<card_id>.md`.

A card is a Markdown file with a YAML front matter block (between `---` lines) that
says where its facts come from and when they were last checked. NGO staff edit these
files directly, so:

- every problem is reported as a `CardError` that names the file and the line of the
  offending front-matter key ("content/vi/x.md:3: reason"), in words a non-developer
  can act on;
- `ContentLibrary` re-reads a file when its modification time, size or inode changes
  (every process that answers, Rasa's and the action server's, checks on each read), so
  an edit, or a card published from the staff console, is live at the next answer,
  without retraining or restarting the bot; while a file is broken the library keeps
  serving the last version that loaded, and logs the error.
"""

from __future__ import annotations

import datetime as _dt
import logging
import threading
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from bot.vietnamese.needs import NEEDS  # the directory's fixed vocabulary

logger = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_CONTENT_DIR = REPO_ROOT / "content"
LANGUAGES = ("vi", "en")

LOOKUPS = ("consular_contact", "referral_partner")
REQUIRED_KEYS = ("title", "sources", "last_reviewed")
KNOWN_KEYS = REQUIRED_KEYS + ("verified", "follow_up", "lookup", "lookup_need")


class CardError(ValueError):
    """A card (or content data file) that cannot be used, with where and why."""

    def __init__(self, path: Path, line: int, reason: str, display: str | None = None):
        self.path = Path(path)
        self.line = line
        self.reason = reason
        self.display = display or display_path(self.path)
        super().__init__(f"{self.display}:{line}: {reason}")


def display_path(path: Path) -> str:
    """The path as an editor sees it: "content/vi/x.md" (root folder, language, file)."""
    return "/".join(Path(path).parts[-3:])


@dataclass(frozen=True)
class Card:
    """One answer card in one language; `body` is in the small Markdown subset."""

    id: str
    lang: str
    title: str
    body: str
    sources: tuple[str, ...]
    last_reviewed: _dt.date
    verified: bool
    follow_up: tuple[str, ...]
    lookup: str | None
    lookup_need: str | None
    path: Path


def _split_front_matter(path: Path, text: str) -> tuple[str, str, int]:
    """(front matter, body, body's first line number) or CardError."""
    lines = text.splitlines(keepends=True)
    if not lines or lines[0].strip() != "---":
        raise CardError(path, 1, "missing front matter: the file must start with a line '---'")
    for index in range(1, len(lines)):
        if lines[index].strip() == "---":
            front = "".join(lines[1:index])
            body = "".join(lines[index + 1 :])
            return front, body, index + 2
    raise CardError(path, 1, "front matter is not closed: add a line '---' after the last key")


def _key_lines(front: str) -> dict[str, int]:
    """File line number (1-based) of each top-level front-matter key."""
    try:
        node = yaml.compose(front)
    except yaml.YAMLError:
        return {}
    if not isinstance(node, yaml.MappingNode):
        return {}
    # +2: line 1 of the file is the opening '---', and marks are 0-based.
    return {str(key.value): key.start_mark.line + 2 for key, _ in node.value}


def _string_list(value: Any) -> tuple[str, ...] | None:
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        return None
    return tuple(v.strip() for v in value)


def load_card(path: Path, lang: str) -> Card:
    """Read and validate one card file; raise CardError saying what to fix and where."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise CardError(path, 1, "the file is not UTF-8 text; save it as UTF-8") from None
    except OSError as exc:
        raise CardError(path, 1, f"cannot read the file ({exc.strerror})") from None
    return parse_card(text, path, lang)


def parse_card(text: str, path: Path, lang: str) -> Card:
    """Validate a card's whole text as if it were the file at `path` (the staff console
    checks a draft this way before it is ever written); raise CardError like `load_card`."""
    path = Path(path)
    front, body, _ = _split_front_matter(path, text.lstrip("\ufeff"))
    try:
        meta = yaml.safe_load(front)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        line = mark.line + 2 if mark is not None else 1
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise CardError(path, line, f"front matter is not valid YAML: {problem}") from None
    if meta is None:
        meta = {}
    if not isinstance(meta, dict):
        raise CardError(path, 2, "front matter must be 'key: value' lines")
    lines = _key_lines(front)

    def fail(key: str, reason: str) -> CardError:
        return CardError(path, lines.get(key, 1), reason)

    for key in meta:
        if key not in KNOWN_KEYS:
            raise fail(str(key), f"unknown key '{key}' (allowed: {', '.join(KNOWN_KEYS)})")

    title = meta.get("title")
    if not isinstance(title, str) or not title.strip():
        raise fail("title", "missing or empty 'title'")
    sources = meta.get("sources")
    if "sources" not in meta or sources in (None, [], ""):
        raise fail("sources", "missing or empty 'sources': list where each fact comes from")
    sources_t = _string_list(sources)
    if sources_t is None:
        raise fail("sources", "'sources' must be a list of texts (law and article, or URL)")
    reviewed = meta.get("last_reviewed")
    if reviewed is None:
        raise fail("last_reviewed", "missing 'last_reviewed' (a date like 2026-11-24)")
    if isinstance(reviewed, _dt.datetime) or not isinstance(reviewed, _dt.date):
        raise fail("last_reviewed", "'last_reviewed' must be a date written YYYY-MM-DD")
    verified = meta.get("verified", False)
    if not isinstance(verified, bool):
        raise fail("verified", "'verified' must be true or false")
    follow_up: tuple[str, ...] = ()
    if meta.get("follow_up") is not None:
        follow = _string_list(meta["follow_up"])
        if follow is None:
            raise fail("follow_up", "'follow_up' must be a list of card ids, e.g. [deposit_refund]")
        follow_up = follow
    lookup = meta.get("lookup")
    if lookup is not None and lookup not in LOOKUPS:
        raise fail("lookup", f"'lookup' must be one of: {', '.join(LOOKUPS)}")
    need = meta.get("lookup_need")
    if need is not None:
        if lookup != "referral_partner":
            raise fail("lookup_need", "'lookup_need' is only used with 'lookup: referral_partner'")
        if need not in NEEDS:
            raise fail("lookup_need", f"unknown need '{need}' (allowed: {', '.join(NEEDS)})")
    body = body.strip()
    if not body:
        raise CardError(path, 1, "the card has no text after the front matter")
    return Card(
        id=path.stem,
        lang=lang,
        title=title.strip(),
        body=body,
        sources=sources_t,
        last_reviewed=reviewed,
        verified=verified,
        follow_up=follow_up,
        lookup=lookup,
        lookup_need=need,
        path=path,
    )


def _other_language(lang: str) -> str:
    return "en" if lang == "vi" else "vi"


class ContentLibrary:
    """All cards under one content root, re-read when a file changes on disk.

    Each `get` costs one `stat` per file; a file is parsed again only when its
    modification time or size changed. A lock keeps the cache consistent when the
    action server answers several conversations at once.
    """

    def __init__(self, root: Path = DEFAULT_CONTENT_DIR):
        self.root = Path(root)
        self._lock = threading.Lock()
        # (lang, card_id) -> (stat signature, last good card or None, last error or None)
        self._cache: dict[tuple[str, str], tuple[tuple[int, int, int], Card | None, CardError | None]] = {}

    def _path(self, card_id: str, lang: str) -> Path:
        return self.root / lang / f"{card_id}.md"

    def _load(self, card_id: str, lang: str) -> tuple[Card | None, CardError | None]:
        """The current card (or the last good one while the file is broken) and its error."""
        if not card_id or "/" in card_id or "\\" in card_id or card_id.startswith("."):
            return None, None
        path = self._path(card_id, lang)
        try:
            stat = path.stat()
        except OSError:
            with self._lock:
                self._cache.pop((lang, card_id), None)
            return None, None
        # The inode too: a card published by the console replaces the file (os.replace), so
        # even a same-size rewrite within the clock's resolution is seen as a change.
        signature = (stat.st_mtime_ns, stat.st_size, stat.st_ino)
        key = (lang, card_id)
        with self._lock:
            cached = self._cache.get(key)
        if cached is not None and cached[0] == signature:
            return cached[1], cached[2]
        previous = cached[1] if cached is not None else None
        try:
            card: Card | None = load_card(path, lang)
            error: CardError | None = None
        except CardError as exc:
            logger.error(
                "Card not usable, %s: %s",
                "serving the last good version" if previous else "no version to serve",
                exc,
            )
            card, error = previous, exc
        with self._lock:
            self._cache[key] = (signature, card, error)
        return card, error

    def get(self, card_id: str, lang: str) -> Card | None:
        """The card in `lang`; the other language's card only if this one is missing."""
        card, _ = self._load(card_id, lang)
        if card is not None:
            return card
        other = _other_language(lang)
        fallback, _ = self._load(card_id, other)
        if fallback is not None:
            logger.warning("Card %r has no usable %s version; answering in %s", card_id, lang, other)
        return fallback

    def card_ids(self, lang: str) -> list[str]:
        """Ids of all card files in one language, sorted."""
        folder = self.root / lang
        if not folder.is_dir():
            return []
        return sorted(p.stem for p in folder.glob("*.md") if p.is_file())

    def errors(self) -> list[CardError]:
        """Problems in any card file, in both languages (re-reading changed files)."""
        found: list[CardError] = []
        for lang in LANGUAGES:
            for card_id in self.card_ids(lang):
                _, error = self._load(card_id, lang)
                if error is not None:
                    found.append(error)
        return found


@lru_cache(maxsize=4)
def _library_for(root: str) -> ContentLibrary:
    return ContentLibrary(Path(root))


def default_library() -> ContentLibrary:
    """The shared library for the running bot: `$CONTENT_DIR`, else `<repo>/content`."""
    from bot.settings import get_settings

    return _library_for(str(get_settings().content_dir))
