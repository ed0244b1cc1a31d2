"""The core commands of `python -m bot` (feature packages register their own)."""
