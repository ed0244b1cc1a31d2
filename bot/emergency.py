"""Recognise a message that expresses danger, in Vietnamese (any spelling) or English.

The urgent-help answer must win over everything else when someone is in danger, even when
the classifier is unsure, so this check is plain rules over the folded text: explainable,
fast, and independent of the trained model, the action server and the database. It looks
for situations (beaten, locked in, trafficked, passport taken with threats, sexual abuse,
self-harm, detention, kidnapping, a cry for rescue), not single words, so that ordinary
questions ("mệt chết đi được", "trợ cấp tử tuất", "dead tired") do not trigger it.
"""

from __future__ import annotations

import re
import unicodedata

from bot.vietnamese.text import fold

# Each category: patterns over the folded, lowercased text ("bi danh" for "bị đánh").
_VI = {
    "violence": [
        r"\b(bi|no|chu|ong chu|ba chu|quan ly|sep|bon no|chung no|bo|chong)\s+(\w+\s+){0,2}(danh|dap|dam|chem|tat|hanh hung|bop co)(?!\s*(gia|thue|so|may|dau|bai|con|ca|vi|bong|chu))\b",
        r"\b(danh dap|hanh hung|bao hanh|bao luc|dam chem)\b",
        r"\bdanh\s+(em|toi|tui|minh|chau|con|vo|ban em)\b(?!\s*(gia|thue|so|may))",
        r"\b(doa|de doa|đe doa|dam doa)\s+(\w+\s+){0,3}(giet|danh|chem|dam|hai)\b",
        r"\b(bi|dang bi)\s+(de doa|uy hiep|kho?ng bo)\b",
        r"\b(doa giet|giet em|giet toi|giet chet)\b",
        r"\b(cam|rut|chia|dung)\s+(dao|sung|bua|gay)\s+(\w+\s+){0,2}(doa|de doa|chem|dam|ban|danh|vao|voi)\b",
        r"\b(doa|de doa)\s+(\w+\s+){0,3}(gia dinh|bo me|vo con|con cai|nguoi nha)\b",
        r"\b(dang tron|phai tron|tron ra|bo tron khoi nha)\b.*\b(tim|duoi|bat lai|so)\b",
    ],
    "confinement": [
        r"\b(bi|no|chu|ho)\s+(\w+\s+){0,2}(nhot|giam long|khoa trong|khoa cua nhot)\b",
        r"\b(khong|ko|k|hok|kh|ch?ang)\s+cho\s+(\w+\s+){0,2}(ra ngoai|ra khoi|di dau|ra khoi nha|ra khoi phong|roi khoi)\b",
        r"\bcam\s+(\w+\s+){0,2}ra khoi\b",
        r"\bnhot\s+(em|toi|tui|minh|chung em|chung toi|trong)\b",
        r"\bkhoa\s+(\w+\s+){0,2}trong\s+(phong|nha|xuong|kho)\b",
    ],
    "trafficking": [
        r"\b(buon ban nguoi|buon nguoi|mua ban nguoi|mua ban phu nu)\b",
        r"\b(bi|da bi)\s+(lua\s+)?ban\s+(sang|cho|vao|qua|di|lam)\b",
        r"\bban\s+(em|toi|tui|minh|chung em|chung toi|co ay|no)\s+(cho|sang|vao|qua)\b",
        r"\blua ban\b",
        r"\b(cuong buc lao dong|lao dong cuong buc|lao dong khong cong|lam no le|nhu no le|bi bat lam no le)\b",
        r"\bbat coc\b",
    ],
    "sexual_abuse": [
        r"\b(hiep dam|cuong hiep|cuong dam|xam hai|lam nhuc|quay roi tinh duc|so soang|sam so|dam o)\b",
        r"\b(bi|no|chu|ong chu|sep|quan ly)\s+(\w+\s+){0,2}quay roi\b",
        r"\bep\s+(\w+\s+){0,2}(quan he|ngu voi|lam gai|lm gai|ban dam|tiep khach|ban than)\b",
        r"\b(so mo|so soat|sam so|dung cham)\s+(\w+\s+){0,1}(em|toi|tui|minh|nguoi|vao nguoi|co the)\b",
    ],
    "self_harm": [
        r"\b(muon|mun|mon|dinh|se|nghi den|nghi toi|chi muon|chi mun|thay muon)\s+(\w+\s+){0,1}(chet|tu tu|tu sat|ket lieu|chet quach)\b",
        r"\b(khong|ko|k|hok|ch?ang|chang)\s+(con\s+)?(muon|mun)\s+song\b",
        r"\b(chan song|het muon song|ket lieu doi|nhay lau|nhay cau|treo co|cat tay|uong thuoc ngu|uong thuoc chuot)\b",
    ],
    "detention": [
        r"\b(bi|da bi|vua bi|dang bi)\s+(\w+\s+){0,2}(bat giu|bat giam|tam giu|giam giu|giam|bat)\b(?!\s*(lam|phai|di lam|nop|dong|tra|o lai|hoc))",
        r"\b(cong an|canh sat|police)\s+(\w+\s+){0,2}bat\b(?!\s*(lam|phai))",
    ],
    "passport_threat": [
        r"(giu|thu|lay|tich thu|cam)\s+(\w+\s+){0,2}ho chieu.*\b(doa|de doa|danh|nhot|giet|khong cho ve|ko cho ve|k cho ve|khong cho ra)\b",
        r"\b(doa|de doa|danh|nhot)\b.*(giu|thu|lay|tich thu|cam)\s+(\w+\s+){0,2}ho chieu",
    ],
    "rescue": [
        r"\bcuu\s+(em|toi|tui|minh|chung em|chung toi|voi|ban em|chau|con|me)\b",
        r"\b(dang gap nguy hiem|dang nguy hiem|gap nguy hiem|nguy hiem den tinh mang|nguy den tinh mang|tinh mang bi de doa)\b",
    ],
}

_EN = {
    "violence": [
        r"\b(beat|beats|beating|beaten|punch(ed|es|ing)?|kick(ed|s|ing)?|slap(ped|s|ping)?|hit(s|ting)?)\s+(me|us|her|him|my)\b",
        r"\b(was|got|been|being|am|is|are|were)\s+(beaten|attacked|assaulted|stabbed|hurt by)\b",
        r"\b(threat(en|ens|ened|ening)?)\s+(\w+\s+){0,3}(kill|hurt|beat|harm)\b",
        r"\b(will|would|gonna|going to)\s+(kill|hurt|harm|beat)\s+(my|me|us|our)\b",
        r"\b(pulled|pointed|held|waved|threatened me with)\s+(a\s+|his\s+|her\s+)?(knife|gun|weapon)\b|\b(knife|gun)\s+(at|to)\s+(me|my)\b",
        r"\b(escaped|ran away|hiding)\b.*\b(looking for me|chasing|after me|find me|catch me)\b",
        r"\b(going to|gonna|will|want to|wants to)\s+kill\s+(me|us|her|him)\b",
        r"\bviolen(t|ce)\s+(boss|employer|against|at work|to me)\b|\bdomestic violence\b",
    ],
    "confinement": [
        r"\block(ed|s|ing)?\s+(me|us|her|him)?\s*(in|up|inside)\b",
        r"\b(not allowed|isn'?t allowing|won'?t let|doesn'?t let|don'?t let|do not let|does not let)\s+(me|us|her|him)?\s*(to\s+)?(go out|leave|get out|out)\b",
        r"\b(can'?t|cannot|unable to)\s+(leave|get out|escape)\b",
        r"\b(held|kept|keep(ing)?)\s+(me|us|her|him)?\s*(against|captive|prisoner|locked)\b",
        r"\bimprison(ed)?\b|\bconfined\b",
    ],
    "trafficking": [
        r"\btraffick(ed|ing|er|ers)?\b",
        r"\b(sold|selling)\s+(me|us|her|him|to)\b|\bbeing sold\b",
        r"\bforced (labou?r|to work|work)\b|\bslave(ry)?\b|\bdebt bondage\b",
        r"\bkidnap(ped|ping)?\b|\babduct(ed|ion)?\b",
    ],
    "sexual_abuse": [
        r"\brap(e|ed|ing)\b",
        r"\bsexual(ly)?\s+(abus|assault|harass|attack|exploit)\w*",
        r"\bmolest(ed|ing|s)?\b|\bgrop(e|ed|ing)\b",
        r"\b(touch(es|ed|ing)?)\s+(me|my body|her)\b.*\b(without|against|force|won'?t stop)\b",
        r"\bforc(e|ed|es|ing)\s+(me|us|her)\s+(to\s+)?(have sex|sleep with|into sex|prostitut)",
    ],
    "self_harm": [
        r"\bkill(ing)?\s+my\s*self\b|\bsuicid(e|al)\b|\bend(ing)? my life\b|\btake my own life\b",
        r"\b(don'?t|do not|no longer)\s+want\s+to\s+(live|be alive)\b|\bwant to die\b|\bwish i (was|were) dead\b",
        r"\b(hurt(ing)?|harm(ing)?|cut(ting)?)\s+my\s*self\b|\bself[- ]harm\b",
    ],
    "detention": [
        r"\b(was|got|been|am|is|were|being)\s+(arrested|detained|jailed)\b|\bin (\w+\s+)?(jail|detention|custody|prison)\b",
        r"\bpolice (took|arrested|detained|are holding)\b",
    ],
    "passport_threat": [
        r"passport.*\b(threat\w*|beat\w*|hit|kill|lock\w*|won'?t let me (go|leave))\b",
        r"\b(threat\w*)\b.*passport",
    ],
    "rescue": [
        r"\b(please\s+)?(help|save|rescue)\s+(me|us)\b.*\b(danger|please|now|quick|hurry|scared|afraid)\b",
        r"\b(rescue|save)\s+(me|us)\b",
        r"\b(i am|i'?m|we are|we'?re)\s+in danger\b|\bmy life is in danger\b|\bsos\b",
    ],
}

_COMPILED = [
    (category, re.compile(pattern))
    for table in (_VI, _EN)
    for category, patterns in table.items()
    for pattern in patterns
]

# Idioms that contain an alarming word but express no danger.
_HARMLESS = re.compile(
    r"\b(met chet|nong chet|lanh chet|doi chet|buon cuoi chet|chet cuoi|cuoi chet|so chet"
    r"|dead tired|kill(ing)? time|to die for)\b"
)


def detect_danger(text: str) -> str | None:
    """The kind of danger a message expresses ("violence", "self_harm", ...), or None."""
    if not text:
        return None
    folded = fold(unicodedata.normalize("NFC", text))
    folded = re.sub(r"[^\w\s']", " ", folded)
    folded = re.sub(r"\s+", " ", folded).strip()
    cleaned = _HARMLESS.sub(" ", folded)
    for category, pattern in _COMPILED:
        if pattern.search(cleaned):
            return category
    return None


def expresses_danger(text: str) -> bool:
    return detect_danger(text) is not None
