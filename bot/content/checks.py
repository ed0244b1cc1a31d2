"""Whole-library content checks, run by `python -m bot content check` and the tests.

What is checked, and why (people act on these cards):

1. Every card file loads (front matter present, `title`, `sources`, `last_reviewed`).
2. Every topic in `topics.yml` has a card in Vietnamese and in English.
3. Every `follow_up` id is a card in the same language (a dead button otherwise).
4. The body keeps to the Markdown subset (no headings, `[text](url)` links, HTML or
   tables) and to a length that reads on a small phone.
5. Every phone number in a body is in `content/phone_numbers.yml`, whose entries each
   give `number`, `place`, `need`, `confidence` (HIGH, MEDIUM, LOW, UNCONFIRMED),
   `source_date`, `purpose` and `source`; numbers are written with spaces between digit
   groups (no hyphens or dots). The rule for uncertain numbers (reference notes,
   "Corrections of 2026-11-30"): an UNCONFIRMED number is never shown; a LOW number is
   shown only if no HIGH/MEDIUM number has the same need and place, on a line marked
   "chưa kiểm tra"/"unchecked" with the year of its source, in a card that also shows the
   MOFA citizen-protection hotline.
6. The Vietnamese and English versions of a card state the same figures: the sets of
   digit groups in the two bodies must be equal, phone numbers reported on their own;
   and they tag the same countries (see `bot.content.render`).
7. The urgent-help card, as shown to someone in one country, stays short enough to read
   in seconds (`URGENT_LIMIT` characters).
8. A Vietnamese answer carries no English staff notes ("source", "LOW", "confirm").

Normalisation for check 6, so that equivalent figures compare equal:

- phone numbers are found first (see `find_phone_numbers`) and each counts as one
  figure, its digits only, with a leading `+` kept: "+84 981 84 84 84" and
  "+84 981.84.84.84" are both "+84981848484";
- a number with thousand separators counts as one figure whatever the separator:
  "100.000.000" (vi), "100,000,000" (en) and "100 000 000" are all 100000000;
- English month names next to a day or year count as their number, so
  "1 July 2025" gives 1, 7, 2025 like "1/7/2025" or "ngày 1 tháng 7 năm 2025";
- every other run of digits is a figure compared by value, so "09:00" equals "9:00",
  and a decimal "8,3%" / "8.3%" gives 8 and 3 on both sides.
Dates in the front matter (`last_reviewed`) are not part of the body and do not count.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import yaml

from bot.content.cards import (
    DEFAULT_CONTENT_DIR,
    LANGUAGES,
    Card,
    CardError,
    load_card,
)
from bot.content.render import body_for_country, line_countries
from bot.content.topics import topic_ids

BODY_LIMIT = 1500  # characters; the target is ~1,200, this is the hard stop
ALLOW_LIST = "phone_numbers.yml"
# The urgent-help card as one user sees it (their country's lines only): read in seconds.
URGENT_CARDS = ("emergency_help",)
URGENT_LIMIT = 650  # shown to someone in one country
URGENT_LIMIT_ALL = 1200  # country unknown: every country's line
CONFIDENCE = ("HIGH", "MEDIUM", "LOW", "UNCONFIRMED")
MOFA_HOTLINE = "+84981848484"
UNCHECKED_MARKERS = ("chưa kiểm tra", "unchecked")
_SOURCE_DATE = re.compile(r"^\d{4}(-\d{2}(-\d{2})?)?$")

Problem = CardError | str

# A phone-like run: optional "+country", then digit groups joined by one space, dot,
# hyphen or parentheses. Amounts ("100.000.000") match too and are filtered out below.
_PHONE_CANDIDATE = re.compile(r"(?<![\w+])(?:\+\s?)?\(?\d+\)?(?:[ .\-]\d+)*(?![\w])")
_AMOUNT = re.compile(r"^\d{1,3}(?:([.,\u00a0\u202f])\d{3})(?:\1\d{3})*$")
# Short service numbers (111, 1955, 1345) only count as phones right after a word that
# says so; otherwise "180 days" or "1955" would be ambiguous.
_SHORT_AFTER_CUE = re.compile(
    r"(?i)(?:gọi|goi|call|dial|hotline|tổng đài|đường dây nóng|đường dây|điện thoại|phone|tel\.?|☎"
    r"|cảnh sát|police|cấp cứu|ambulance)"
    r"(?:\s+(?:số|so|điện|ngay|the|number|tới|đến))*[\s*:]*(\d{3,5})(?![\d/.,]\d)"
)
# A 3-4 digit number in bold is a service number ("**1955**"), unless it is a year.
_SHORT_BOLD = re.compile(r"\*\*(?!(?:19|20)\d\d\*\*)(\d{3,4})\*\*")
_MONTHS = {
    name: number
    for number, names in enumerate(
        [
            ("January", "Jan"),
            ("February", "Feb"),
            ("March", "Mar"),
            ("April", "Apr"),
            ("May",),
            ("June", "Jun"),
            ("July", "Jul"),
            ("August", "Aug"),
            ("September", "Sep", "Sept"),
            ("October", "Oct"),
            ("November", "Nov"),
            ("December", "Dec"),
        ],
        start=1,
    )
    for name in names
}
_MONTH_NAMES = "|".join(sorted(_MONTHS, key=len, reverse=True))
_DAY_MONTH = re.compile(rf"(?<=\d)(\s+)({_MONTH_NAMES})\b\.?")
_MONTH_YEAR = re.compile(rf"\b({_MONTH_NAMES})\b\.?(?=\s+\d)")


def _phone_key(raw: str) -> str:
    digits = re.sub(r"\D", "", raw)
    return ("+" + digits) if raw.lstrip().startswith("+") else digits


def find_phone_numbers(text: str, cue_short: bool = True) -> list[str]:
    """Phone numbers in free text, as written.

    A phone is a run of digit groups (separated by a space, dot, hyphen or brackets)
    that starts with "+" or has at least 7 digits and is not a thousand-separated
    amount; or a 3-5 digit service number written right after "gọi", "call",
    "hotline", "tổng đài", "cảnh sát", "police" and the like, or a 3-4 digit number in
    bold that is not a year (with `cue_short`).
    """
    found: list[tuple[int, str]] = []
    spans: list[range] = []
    for match in _PHONE_CANDIDATE.finditer(text):
        raw = match.group(0).strip(" .-")
        digits = re.sub(r"\D", "", raw)
        if raw.startswith("+") or (len(digits) >= 7 and not _AMOUNT.match(raw)):
            found.append((match.start(), raw))
            spans.append(range(match.start(), match.end()))
    if cue_short:
        for pattern in (_SHORT_AFTER_CUE, _SHORT_BOLD):
            for match in pattern.finditer(text):
                start = match.start(1)
                if not any(start in span for span in spans):
                    found.append((start, match.group(1)))
                    spans.append(range(start, match.end(1)))
    return [raw for _, raw in sorted(found)]


def same_phone(a: str, b: str) -> bool:
    """Whether two written numbers are the same line: equal digits, or equal once a
    country code (up to 3 digits) and the national trunk "0" are set aside."""
    da, db = re.sub(r"\D", "", a), re.sub(r"\D", "", b)
    if not da or not db:
        return False
    if da == db:
        return True
    sa, sb = da.lstrip("0"), db.lstrip("0")
    short, long_ = sorted((sa, sb), key=len)
    return len(short) >= 3 and long_.endswith(short) and len(long_) - len(short) <= 3


def figures(text: str) -> set[str]:
    """The normalised set of figures in a body (see the module docstring)."""
    result: set[str] = set()
    phones = find_phone_numbers(text)
    for phone in sorted(phones, key=len, reverse=True):
        if phone in text:
            result.add("tel:" + _phone_key(phone))
            text = text.replace(phone, " ")
    text = _DAY_MONTH.sub(lambda m: f"{m.group(1)}{_MONTHS[m.group(2)]}", text)
    text = _MONTH_YEAR.sub(lambda m: str(_MONTHS[m.group(1)]), text)

    def amount(match: re.Match) -> str:
        result.add(str(int(re.sub(r"\D", "", match.group(0)))))
        return " "

    text = re.sub(r"(?<![\d.,])\d{1,3}(?:([.,\u00a0\u202f])\d{3})(?:\1\d{3})*(?![\d]|[.,]\d)", amount, text)
    result.update(str(int(group)) for group in re.findall(r"\d+", text))
    return result


@dataclass(frozen=True)
class KnownNumber:
    """One entry of `content/phone_numbers.yml`."""

    number: str
    places: tuple[str, ...]
    need: str
    confidence: str
    source_date: str
    line: int

    def serves(self, other: KnownNumber) -> bool:
        """Same need in at least one shared place ("*" is everywhere)."""
        if self.need != other.need:
            return False
        return "*" in self.places or "*" in other.places or bool(set(self.places) & set(other.places))


def _load_allow_list(path: Path) -> tuple[list[KnownNumber], list[Problem]]:
    """Entries of the allow-list, and problems with them (file:line for each)."""
    shown = "/".join(path.parts[-2:])
    if not path.exists():
        return [], []
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        return [], [
            CardError(
                path, mark.line + 1 if mark else 1, f"not valid YAML: {getattr(exc, 'problem', exc)}", shown
            )
        ]
    entries = data
    if isinstance(data, dict):
        lists = [value for value in data.values() if isinstance(value, list)]
        entries = lists[0] if len(lists) == 1 else None
    if not isinstance(entries, list):
        return [], [CardError(path, 1, "must be a list of entries with number, purpose and source", shown)]
    lines = _entry_lines(path)
    known: list[KnownNumber] = []
    problems: list[Problem] = []
    for index, entry in enumerate(entries):
        line = lines[index] if index < len(lines) else 1
        if not isinstance(entry, dict):
            problems.append(CardError(path, line, "each entry must have number, purpose and source", shown))
            continue
        number = entry.get("number")
        if number in (None, ""):
            problems.append(CardError(path, line, "entry without 'number'", shown))
            continue
        number = str(number)
        for key in ("purpose", "source", "need"):
            if not str(entry.get(key) or "").strip():
                problems.append(CardError(path, line, f"entry {number}: missing '{key}'", shown))
        confidence = str(entry.get("confidence") or "").strip().upper()
        if confidence not in CONFIDENCE:
            problems.append(
                CardError(
                    path,
                    line,
                    f"entry {number}: 'confidence' must be one of {', '.join(CONFIDENCE)} "
                    "(see the rule at the top of the file)",
                    shown,
                )
            )
        source_date = str(entry.get("source_date") or "").strip()
        if not _SOURCE_DATE.match(source_date):
            problems.append(
                CardError(
                    path,
                    line,
                    f"entry {number}: 'source_date' missing or not YYYY, YYYY-MM or YYYY-MM-DD "
                    "(the date of the newest source that gives this number)",
                    shown,
                )
            )
        place = entry.get("place")
        places = tuple(str(p).strip().upper() for p in (place if isinstance(place, list) else [place]) if p)
        if not places:
            problems.append(
                CardError(path, line, f"entry {number}: missing 'place' (country code, or \"*\")", shown)
            )
        known.append(
            KnownNumber(
                number=number,
                places=places,
                need=str(entry.get("need") or "").strip(),
                confidence=confidence,
                source_date=source_date,
                line=line,
            )
        )
    return known, problems


def _entry_lines(path: Path) -> list[int]:
    """1-based line of each allow-list entry, for error messages."""
    try:
        node = yaml.compose(path.read_text(encoding="utf-8"))
    except yaml.YAMLError:
        return []
    if isinstance(node, yaml.MappingNode):
        seqs = [value for _, value in node.value if isinstance(value, yaml.SequenceNode)]
        node = seqs[0] if seqs else None
    if not isinstance(node, yaml.SequenceNode):
        return []
    return [item.start_mark.line + 1 for item in node.value]


# Staff notes in English ("source 2014, LOW, please confirm") once leaked into Vietnamese
# answers; the Vietnamese reader cannot use them. Notes belong in `sources`.
_ENGLISH_NOTE = re.compile(r"\b(?:sources?|unchecked|unconfirmed|confirm(?:ed)?|LOW|MEDIUM|HIGH)\b")


def _markup_problems(card: Card) -> list[Problem]:
    problems: list[Problem] = []
    body_start = _body_first_line(card.path)
    if card.lang == "vi":
        for offset, line in enumerate(card.body.splitlines()):
            note = _ENGLISH_NOTE.search(line)
            if note:
                problems.append(
                    CardError(
                        card.path,
                        body_start + offset,
                        f"English note '{note.group(0)}' in a Vietnamese answer: write it in Vietnamese "
                        "or move it to 'sources'",
                    )
                )
    checks = [
        (re.compile(r"^\s{0,3}#{1,6}\s"), "headings are not shown by chat apps; use **bold** instead"),
        (re.compile(r"\[[^\]]+\]\([^)]+\)"), "write URLs out plainly, not as [text](url)"),
        (re.compile(r"<[a-zA-Z/][^>]*>"), "HTML is not allowed in cards"),
        (re.compile(r"^\s*\|.*\|\s*$"), "tables do not fit a phone screen; use a list"),
    ]
    for offset, line in enumerate(card.body.splitlines()):
        for pattern, reason in checks:
            if pattern.search(line):
                problems.append(CardError(card.path, body_start + offset, reason))
    if len(card.body) > BODY_LIMIT:
        problems.append(
            CardError(
                card.path,
                1,
                f"body is {len(card.body)} characters; keep it under {BODY_LIMIT} (aim for 1,200) and move details to a follow-up card",
            )
        )
    return problems


def _body_first_line(path: Path) -> int:
    """Line number of the first non-blank body line (for markup messages)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    closing = next((i for i in range(1, len(lines)) if lines[i].strip() == "---"), 0)
    index = closing + 1
    while index < len(lines) and not lines[index].strip():
        index += 1
    return index + 1


def check_content(root: Path = DEFAULT_CONTENT_DIR, topics_file: Path | None = None) -> list[Problem]:
    """All problems in a content root; an empty list means the content is fit to serve.

    `topics_file` defaults to `<root>/../topics.yml`, i.e. the repository layout.
    Directory rows carry their own confidence and are checked by the directory loader.
    """
    root = Path(root)
    topics_file = Path(topics_file) if topics_file else root.parent / "topics.yml"
    problems: list[Problem] = []
    cards: dict[str, dict[str, Card]] = {lang: {} for lang in LANGUAGES}

    for lang in LANGUAGES:
        folder = root / lang
        for path in sorted(folder.glob("*.md")) if folder.is_dir() else []:
            try:
                cards[lang][path.stem] = load_card(path, lang)
            except CardError as exc:
                problems.append(exc)

    for topic in topic_ids(topics_file):
        for lang in LANGUAGES:
            if not (root / lang / f"{topic}.md").exists():
                problems.append(f"{root.name}/{lang}/{topic}.md: missing card for topic '{topic}' in {lang}")

    for lang in LANGUAGES:
        for card in cards[lang].values():
            for target in card.follow_up:
                if not (root / lang / f"{target}.md").exists():
                    problems.append(
                        CardError(
                            card.path,
                            _follow_up_line(card.path),
                            f"follow_up '{target}' has no card in {lang}",
                        )
                    )
            problems.extend(_markup_problems(card))

    known, allow_problems = _load_allow_list(root / ALLOW_LIST)
    problems.extend(allow_problems)
    for lang in LANGUAGES:
        for card in cards[lang].values():
            problems.extend(_phone_problems(card, known, root.name))

    for card_id in sorted(set(cards["vi"]) & set(cards["en"])):
        problems.extend(_pair_problems(cards["vi"][card_id], cards["en"][card_id]))
    return problems


def _pair_problems(vi_card: Card, en_card: Card) -> list[Problem]:
    """Check 6: the two languages state the same figures, phone numbers and country lines."""
    problems: list[Problem] = []
    vi, en = figures(vi_card.body), figures(en_card.body)
    vi_phones = {f for f in vi if f.startswith("tel:")}
    en_phones = {f for f in en if f.startswith("tel:")}
    if vi_phones != en_phones:
        detail = _difference({f[4:] for f in vi_phones}, {f[4:] for f in en_phones})
        problems.append(CardError(en_card.path, 1, f"phone numbers differ from the vi card: {detail}"))
    if vi - vi_phones != en - en_phones:
        detail = _difference(vi - vi_phones, en - en_phones)
        problems.append(CardError(en_card.path, 1, f"figures differ from the vi card: {detail}"))
    vi_tags, en_tags = _country_tags(vi_card.body), _country_tags(en_card.body)
    if vi_tags != en_tags:
        detail = _difference(vi_tags, en_tags)
        problems.append(CardError(en_card.path, 1, f"country lines differ from the vi card: {detail}"))
    return problems


def check_card_texts(card_id: str, texts: dict[str, str], root: Path = DEFAULT_CONTENT_DIR) -> list[Problem]:
    """Every check above that concerns one card, run on texts not yet written (a draft in
    the staff console): each language loads, its follow-ups exist in `root`, markup,
    length, phone numbers by `root`'s allow-list, and the same figures in vi and en.

    The texts are written to a private temporary copy so that every check runs exactly as
    `check_content` runs it on files (line numbers included); problems name the card as
    "content/<lang>/<card_id>.md:line". Card texts are published content, not user data.
    """
    root = Path(root)
    problems: list[Problem] = []
    cards: dict[str, Card] = {}
    known, allow_problems = _load_allow_list(root / ALLOW_LIST)
    problems.extend(allow_problems)
    with tempfile.TemporaryDirectory(prefix="card-check-") as tmp:
        copy = Path(tmp) / root.name
        for lang in LANGUAGES:
            text = texts.get(lang)
            if text is None:
                problems.append(f"{root.name}/{lang}/{card_id}.md: missing card in {lang}")
                continue
            path = copy / lang / f"{card_id}.md"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            try:
                cards[lang] = load_card(path, lang)
            except CardError as exc:
                problems.append(exc)
        for lang, card in cards.items():
            for target in card.follow_up:
                if target != card_id and not (root / lang / f"{target}.md").exists():
                    problems.append(
                        CardError(
                            card.path,
                            _follow_up_line(card.path),
                            f"follow_up '{target}' has no card in {lang}",
                        )
                    )
            problems.extend(_markup_problems(card))
            problems.extend(_phone_problems(card, known, root.name))
        if len(cards) == len(LANGUAGES):
            problems.extend(_pair_problems(cards["vi"], cards["en"]))
    return problems


def _country_tags(body: str) -> set[str]:
    return {code for line in body.splitlines() for code in line_countries(line)}


def _phone_problems(card: Card, known: list[KnownNumber], root_name: str) -> list[Problem]:
    """Every number known, written with spaces, and shown by the confidence rule."""
    problems: list[Problem] = []
    lines = card.path.read_text(encoding="utf-8").splitlines()
    body_start = _body_first_line(card.path)
    shown = [_phone_key(p) for p in find_phone_numbers(card.body)]
    has_mofa = MOFA_HOTLINE in shown

    seen: dict[str, int] = {}

    def line_of(phone: str) -> int:
        """File line of this occurrence of `phone` (the n-th time it is written)."""
        wanted = seen[phone] = seen.get(phone, 0) + 1
        count = 0
        for number in range(body_start, len(lines) + 1):
            count += lines[number - 1].count(phone)
            if count >= wanted:
                return number
        return body_start

    for phone in find_phone_numbers(card.body):
        at = line_of(phone)
        entry = _find_known(phone, known)
        if entry is None:
            problems.append(
                CardError(
                    card.path,
                    at,
                    f"phone number {phone} is not in {root_name}/{ALLOW_LIST}: add it there with "
                    "place, need, confidence and source_date, or remove it",
                )
            )
            continue
        if re.search(r"\d[-.]\d", phone) or re.search(r"[()]", phone):
            problems.append(
                CardError(
                    card.path, at, f"write {phone} as {entry.number} (digit groups separated by spaces)"
                )
            )
        if entry.confidence == "UNCONFIRMED":
            problems.append(
                CardError(
                    card.path,
                    at,
                    f"phone number {phone} is UNCONFIRMED in {ALLOW_LIST} (line {entry.line}): "
                    "it must never be shown; remove it",
                )
            )
        elif entry.confidence == "LOW":
            better = [
                other.number
                for other in known
                if other.confidence in ("HIGH", "MEDIUM") and other.serves(entry)
            ]
            if better:
                problems.append(
                    CardError(
                        card.path,
                        at,
                        f"phone number {phone} is LOW confidence and {', '.join(better)} "
                        f"(HIGH/MEDIUM) serves the same need ({entry.need}) there: show that instead",
                    )
                )
            text = lines[at - 1].lower() if at <= len(lines) else ""
            year = entry.source_date[:4]
            if not any(marker in text for marker in UNCHECKED_MARKERS) or year not in text:
                problems.append(
                    CardError(
                        card.path,
                        at,
                        f"phone number {phone} is LOW confidence: on the same line say "
                        f'"chưa kiểm tra" (vi) / "unchecked" (en) and the year of its source ({year})',
                    )
                )
            if not has_mofa:
                problems.append(
                    CardError(
                        card.path,
                        at,
                        f"phone number {phone} is LOW confidence: the card must also show the MOFA "
                        "citizen-protection hotline +84 981 84 84 84",
                    )
                )
    if card.id in URGENT_CARDS:
        for country in ["", *sorted(_country_tags(card.body))]:
            length = len(body_for_country(card.body, country or None))
            limit = URGENT_LIMIT if country else URGENT_LIMIT_ALL
            if length > limit:
                problems.append(
                    CardError(
                        card.path,
                        body_start,
                        f"the urgent card shown to someone in {country or 'no known country'} is "
                        f"{length} characters; keep it under {limit} so it reads in seconds",
                    )
                )
    return problems


def _find_known(phone: str, known: list[KnownNumber]) -> KnownNumber | None:
    """The allow-list entry for a written number: same digits first, then same line."""
    key = re.sub(r"\D", "", phone)
    for entry in known:
        if re.sub(r"\D", "", entry.number) == key:
            return entry
    return next((entry for entry in known if same_phone(phone, entry.number)), None)


def _difference(vi: set[str], en: set[str]) -> str:
    parts = []
    if vi - en:
        parts.append("only in vi: " + ", ".join(sorted(vi - en)))
    if en - vi:
        parts.append("only in en: " + ", ".join(sorted(en - vi)))
    return "; ".join(parts)


def _follow_up_line(path: Path) -> int:
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if line.startswith("follow_up"):
            return number
    return 1


def format_problems(problems: Iterable[Problem]) -> list[str]:
    """One line per problem, "content/vi/x.md:3: reason"."""
    return [str(problem) for problem in problems]
