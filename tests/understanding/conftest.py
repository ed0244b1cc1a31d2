"""A small copy of the training data and held-out set, so tests write nowhere in the repository."""

from __future__ import annotations

from pathlib import Path

import pytest

RETURN_YML = """version: "3.1"
nlu:
- intent: deposit_refund
  examples: |
    - lấy lại tiền ký quỹ ở đâu
    - rút tiền ký quỹ
- intent: early_return
  examples: |
    - về nước trước hạn hợp đồng
"""
COMPLAINTS_YML = """version: "3.1"
nlu:
- intent: complaint_agency
  examples: |
    - khiếu nại công ty môi giới
"""
HELD_OUT_YML = """version: "3.1"
nlu:
- intent: deposit_refund
  examples: |
    - tiền ký quỹ bao giờ được trả lại
"""


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    data = tmp_path / "data"
    (data / "nlu").mkdir(parents=True)
    (data / "nlu" / "return.yml").write_text(RETURN_YML, encoding="utf-8")
    (data / "nlu" / "complaints.yml").write_text(COMPLAINTS_YML, encoding="utf-8")
    return data


@pytest.fixture
def held_out_dir(tmp_path: Path) -> Path:
    held = tmp_path / "held_out"
    held.mkdir()
    (held / "accented.yml").write_text(HELD_OUT_YML, encoding="utf-8")
    return held
