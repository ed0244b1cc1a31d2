"""Fakes of the outside world for unit and end-to-end tests: the Telegram Bot API
(`telegram.py`), the Zalo OA API (`zalo.py`), both real HTTP servers, and a stand-in for
Rasa's message handler (`rasa.py`)."""
