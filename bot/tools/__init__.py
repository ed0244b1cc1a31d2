"""The guided tools: the Overseas Employment Support Fund checker and the complaint letter builder.

Why a package of their own: each tool is a short conversation (a form in Rasa's sense:
one question at a time, the pending one in `requested_slot`) whose logic is plain Python
here, so every rule and every re-ask is tested without a Rasa server. The actions
(actions/tools.py) only carry a turn in and the replies out; the channels only deliver
the finished letter (bot/channels/*).

- `parsing`: dates and money as people type them ("tháng 3/2025", "5tr", "$1,200").
- `guided`: what both tools share: leaving ("thôi", "huỷ", "cancel"), yes/no answers, the
  step result.
- `fund` with `fund_rules.yml`: which support case of Decision 34/2025/QĐ-TTg fits.
- `letter`, `letter_pdf`, `letter_store`: the complaint conversation, the PDF, and the
  drafts and one-time files kept for it.
"""
