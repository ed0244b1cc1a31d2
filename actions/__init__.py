"""Custom actions served by the rasa-sdk action server (`rasa run actions --actions actions`).

One module per action family: answer.py (topic cards), fallback.py, language.py,
privacy.py, lookup.py (directory). The logic they call lives in `bot/`.
"""
