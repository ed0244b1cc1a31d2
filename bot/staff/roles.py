"""Staff roles, least to most privileged: each role can do everything the ones before it can.

agent: the inbox (answer people, flag a fact for review). editor: also the unanswered queue,
editing answer cards and sending them for review, the verification queue. reviewer: also
approves, sends back and restores cards (never their own change) and verifies facts.
admin: also accounts and the audit log.
"""

from __future__ import annotations

ROLES = ("agent", "editor", "reviewer", "admin")


def valid_role(role: str) -> bool:
    return role in ROLES


def at_least(role: str | None, minimum: str) -> bool:
    """True when `role` is `minimum` or above it (an unknown role is below everything)."""
    if role not in ROLES:
        return False
    return ROLES.index(role) >= ROLES.index(minimum)
