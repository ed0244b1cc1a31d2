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
    rules = {r["steps"][0]["intent"]: r["steps"][1]["action"] for r in _yaml("data/rules/topics.yml")["rules"]}
    assert rules["emergency_help"] == "utter_emergency_help"
    assert rules["consular_contact"] == "action_lookup_consular_contact"
    assert rules["referral_partner"] == "action_lookup_referral_partner"
    assert rules["deposit_refund"] == "action_answer_topic"


def test_every_topic_has_enough_training_examples():
    from rasa.shared.nlu.training_data.loading import load_data

    data = load_data(str(ROOT / "data" / "nlu"))
    counts = {}
    for message in data.intent_examples:
        counts[message.get("intent")] = counts.get(message.get("intent"), 0) + 1
    for topic in TOPICS:
        assert counts.get(topic, 0) >= 40, f"{topic}: {counts.get(topic, 0)} examples"


def test_emergency_fallback_response_names_the_citizen_protection_hotline():
    variations = _yaml("domain.yml")["responses"]["utter_emergency_help"]
    assert all("+84 981 84 84 84" in v["text"] for v in variations)
