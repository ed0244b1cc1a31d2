"""The commands of `python -m bot`: one module per command group, named as it is typed
(`bot/cli/directory.py` is `python -m bot directory ...`)."""
