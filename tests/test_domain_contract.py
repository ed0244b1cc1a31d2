"""The topic contract: every topic id in topics.yml is an intent, has a rule and is trained."""

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
TOPICS = [t["id"] for t in yaml.safe_load((ROOT / "topics.yml").read_text())["topics"]]


def _yaml(path):
    return yaml.safe_load((ROOT / path).read_text(encoding="utf-8"))


def test_topics_file_is_the_shared_contract():
    shared = ROOT.parent / "shared" / "topics.yml"
    if shared.exists():
        shared_ids = [t["id"] for t in yaml.safe_load(shared.read_text())["topics"]]
        assert set(shared_ids) <= set(TOPICS), "a shared topic id is missing from topics.yml"


def test_every_topic_is_an_intent_of_the_domain():
    intents = set(_yaml("domain.yml")["intents"])
    assert set(TOPICS) <= intents


def test_every_topic_has_exactly_one_rule():
    rules = _yaml("data/rules/topics.yml")["rules"]
    first_intents = [r["steps"][0]["intent"] for r in rules]
    for topic in TOPICS:
        assert first_intents.count(topic) == 1, topic


def test_emergency_is_answered_in_process_and_lookups_by_their_actions():
    rules = {
        r["steps"][0]["intent"]: r["steps"][1]["action"] for r in _yaml("data/rules/topics.yml")["rules"]
    }
    assert rules["emergency_help"] == "utter_emergency_help"
    assert rules["consular_contact"] == "action_lookup_consular_contact"
    assert rules["referral_partner"] == "action_lookup_referral_partner"
    assert rules["deposit_refund"] == "action_answer_topic"


def test_every_topic_has_30_vietnamese_and_10_english_training_examples():
    from rasa.shared.nlu.training_data.loading import load_data

    from bot.language import detect_language
    from bot.vietnamese.text import has_vietnamese_diacritics

    data = load_data(str(ROOT / "data" / "nlu"))
    counts = {}
    for message in data.intent_examples:
        text = message.get("text")
        lang = detect_language(text)
        per_topic = counts.setdefault(message.get("intent"), {"vi": 0, "en": 0, "unaccented_vi": 0})
        per_topic[lang] += 1
        if lang == "vi" and not has_vietnamese_diacritics(text):
            per_topic["unaccented_vi"] += 1
    for topic in TOPICS:
        found = counts.get(topic, {"vi": 0, "en": 0, "unaccented_vi": 0})
        assert found["vi"] >= 30 and found["en"] >= 10, f"{topic}: {found}"
        assert found["unaccented_vi"] >= 10, f"{topic}: too few examples typed without diacritics: {found}"


def test_emergency_fallback_response_names_the_citizen_protection_hotline():
    variations = _yaml("domain.yml")["responses"]["utter_emergency_help"]
    assert all("+84 981 84 84 84" in v["text"] for v in variations)
