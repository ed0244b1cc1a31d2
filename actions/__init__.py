"""Custom actions served by the rasa-sdk action server (`rasa run actions --actions actions`).

One module per action family: answer.py (topic cards), fallback.py, language.py,
privacy.py, lookup.py (directory), urgent.py (local help after the urgent card), tools.py
(the guided tools: the Fund checker and the complaint letter builder). Every
answering action derives from conversation.py, which first asks dialogue.py (plain
Python) whether the message answers a pending question or follows up on the last topic;
replies.py writes the answers. The logic they call lives in `bot/`.
"""
