"""Every string the guided tools show is in the `tools` catalogs, translated into Vietnamese.

tests/test_i18n.py finds literal msgids; the tools also pick msgids from tables (the
evidence checklists, the date and amount questions per problem), so those are read here.
"""

from __future__ import annotations

import ast
from pathlib import Path

from bot.i18n import _catalog

ROOT = Path(__file__).resolve().parents[2]
SOURCES = [*sorted((ROOT / "bot" / "tools").glob("*.py")), ROOT / "actions" / "tools.py"]


def _msgids() -> set[str]:
    found: set[str] = set()
    for path in SOURCES:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                name = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", "")
                if name in ("gettext", "_t") and len(node.args) >= 2:
                    arg = node.args[1]
                    if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                        found.add(arg.value)
            if isinstance(node, ast.Assign) and isinstance(node.value, ast.Subscript):
                table = node.value.value
                if isinstance(table, ast.Dict) and any(
                    isinstance(t, ast.Name) and t.id.endswith("msgid") for t in node.targets
                ):
                    found.update(v.value for v in table.values if isinstance(v, ast.Constant))
            if isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == "CHECKLISTS" for t in node.targets
            ):
                for items in node.value.values:  # type: ignore[attr-defined]
                    found.update(item.value for item in items.elts)
    return found


def test_every_tools_string_is_translated_into_vietnamese():
    vietnamese = _catalog("vi", "tools")
    msgids = _msgids()
    assert len(msgids) > 100
    missing = sorted(m for m in msgids if m not in vietnamese)
    assert not missing, missing
    assert all(vietnamese[m] != m or m.startswith("....") for m in msgids if m in vietnamese)


def test_no_catalog_entry_is_left_over():
    assert set(_catalog("vi", "tools")) <= _msgids()
