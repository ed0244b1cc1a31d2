"""Whole-library content checks, run by `python -m bot content check` and the tests.

What is checked, and why (people act on these cards):

1. Every card file loads (front matter present, `title`, `sources`, `last_reviewed`).
2. Every topic in `topics.yml` has a card in Vietnamese and in English.
3. Every `follow_up` id is a card in the same language (a dead button otherwise).
4. The body keeps to the Markdown subset (no headings, `[text](url)` links, HTML or
   tables) and to a length that reads on a small phone.
5. Every phone number in a body is known: it appears in the directory data (any file
   under `data/directory/`) or in the allow-list `content/phone_numbers.yml`, whose
   entries must each give `number`, `purpose` and `source`.
6. The Vietnamese and English versions of a card state the same figures: the sets of
   digit groups in the two bodies must be equal.

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
from collections.abc import Iterable
from pathlib import Path

import yaml

from bot.content.cards import (
    DEFAULT_CONTENT_DIR,
    LANGUAGES,
    Card,
    CardError,
    load_card,
)
from bot.content.topics import topic_ids

BODY_LIMIT = 1500  # characters; the target is ~1,200, this is the hard stop
ALLOW_LIST = "phone_numbers.yml"

Problem = CardError | str

# A phone-like run: optional "+country", then digit groups joined by one space, dot,
# hyphen or parentheses. Amounts ("100.000.000") match too and are filtered out below.
_PHONE_CANDIDATE = re.compile(r"(?<![\w+])(?:\+\s?)?\(?\d+\)?(?:[ .\-]\(?\d+\)?)*(?![\w])")
_AMOUNT = re.compile(r"^\d{1,3}(?:([.,\u00a0\u202f])\d{3})(?:\1\d{3})*$")
# Short service numbers (111, 1955, 1345) only count as phones right after a word that
# says so; otherwise "180 days" or "1955" would be ambiguous.
_SHORT_AFTER_CUE = re.compile(
    r"(?i)(?:gọi|goi|call|dial|hotline|tổng đài|đường dây nóng|đường dây|điện thoại|phone|tel\.?|☎)"
    r"(?:\s+(?:số|so|điện|ngay|the|number|tới|đến))*[\s*:]*(\d{3,5})(?![\d/.,]\d)"
)
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
    "hotline", "tổng đài" and the like (with `cue_short`).
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
        for match in _SHORT_AFTER_CUE.finditer(text):
            if not any(match.start(1) in span for span in spans):
                found.append((match.start(1), match.group(1)))
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


def _load_allow_list(path: Path) -> tuple[list[str], list[Problem]]:
    """Numbers in the allow-list, and problems with its entries."""
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
    numbers: list[str] = []
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
        numbers.append(str(number))
        for key in ("purpose", "source"):
            if not str(entry.get(key) or "").strip():
                problems.append(CardError(path, line, f"entry {number}: missing '{key}'", shown))
    return numbers, problems


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


def _directory_numbers(directory_dir: Path) -> list[str]:
    """Every phone-like string in any file under the directory data, whatever its format.

    Short numbers in data files have no cue word, so every standalone 3-5 digit run
    counts too: generous on purpose, since the data was checked when it was written.
    """
    numbers: list[str] = []
    if not directory_dir.is_dir():
        return numbers
    for file in sorted(directory_dir.rglob("*")):
        if not file.is_file():
            continue
        try:
            text = file.read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            continue
        numbers.extend(find_phone_numbers(text))
        numbers.extend(re.findall(r"(?<!\d)\d{3,5}(?!\d)", text))
    return numbers


def _markup_problems(card: Card) -> list[Problem]:
    problems: list[Problem] = []
    body_start = _body_first_line(card.path)
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


def check_content(
    root: Path = DEFAULT_CONTENT_DIR,
    topics_file: Path | None = None,
    directory_dir: Path | None = None,
) -> list[Problem]:
    """All problems in a content root; an empty list means the content is fit to serve.

    `topics_file` defaults to `<root>/../topics.yml` and `directory_dir` to
    `<root>/../data/directory`, i.e. the repository layout.
    """
    root = Path(root)
    topics_file = Path(topics_file) if topics_file else root.parent / "topics.yml"
    directory_dir = Path(directory_dir) if directory_dir else root.parent / "data" / "directory"
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

    allowed, allow_problems = _load_allow_list(root / ALLOW_LIST)
    problems.extend(allow_problems)
    allowed += _directory_numbers(directory_dir)
    for lang in LANGUAGES:
        for card in cards[lang].values():
            for phone in find_phone_numbers(card.body):
                if not any(same_phone(phone, known) for known in allowed):
                    problems.append(
                        CardError(
                            card.path,
                            _body_first_line(card.path),
                            f"phone number {phone} is not in data/directory/ nor in {root.name}/{ALLOW_LIST}",
                        )
                    )

    for card_id in sorted(set(cards["vi"]) & set(cards["en"])):
        vi, en = figures(cards["vi"][card_id].body), figures(cards["en"][card_id].body)
        if vi != en:
            detail = _difference(vi, en)
            problems.append(
                CardError(cards["en"][card_id].path, 1, f"figures differ from the vi card: {detail}")
            )
    return problems


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
