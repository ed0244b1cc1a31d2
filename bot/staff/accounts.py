"""Staff accounts, passwords, sessions and the login rate limit, over `bot.db`'s tables.

- Passwords are hashed with Argon2id (argon2-cffi's defaults, re-hashed when they change).
  A new account gets a random one-time password that must be changed at first login.
- A session is a random token in an HttpOnly cookie; the database keeps only its SHA-256,
  with a CSRF token for the session's forms. Sessions end after IDLE minutes without a
  request, after ABSOLUTE hours in any case, at logout, on a password change (all the
  account's sessions) and when the account is disabled.
- Failed logins are counted per account and per address: after LOGIN_LIMIT failures within
  LOGIN_WINDOW, further attempts are refused (even with the right password) until the
  window has passed. Unknown e-mails count too, so the limit does not reveal which exist.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import secrets
from dataclasses import dataclass

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.engine import Engine

from bot.db import staff_login_failures, staff_sessions, staff_users
from bot.staff.roles import valid_role

IDLE = _dt.timedelta(minutes=30)
ABSOLUTE = _dt.timedelta(hours=12)
LOGIN_LIMIT = 5
LOGIN_WINDOW = _dt.timedelta(minutes=15)
MIN_PASSWORD_LENGTH = 12
# Writing last_seen_at on every request would make each page a write; once a minute is
# precise enough for a 30-minute idle limit.
_TOUCH_EVERY = _dt.timedelta(minutes=1)

_hasher = PasswordHasher()
_dummy: tuple[PasswordHasher, str] | None = None


def _dummy_hash() -> str:
    """Verified against when the e-mail is unknown, so a login takes as long either way
    (made on first use with the current hasher's cost, not at import)."""
    global _dummy
    if _dummy is None or _dummy[0] is not _hasher:
        _dummy = (_hasher, _hasher.hash(secrets.token_urlsafe(16)))
    return _dummy[1]


class AccountError(ValueError):
    """A request about accounts that cannot be done; the message is an English msgid."""


@dataclass(frozen=True)
class User:
    id: int
    email: str
    role: str
    must_change_password: bool
    disabled: bool
    created_at: _dt.datetime


@dataclass(frozen=True)
class Session:
    user: User
    csrf_token: str
    token_hash: str


def now() -> _dt.datetime:
    """UTC, naive, as the tables store it."""
    return _dt.datetime.now(_dt.timezone.utc).replace(tzinfo=None)


def normalize_email(email: str) -> str:
    return email.strip().lower()


def _user(row: sa.engine.Row) -> User:
    return User(
        id=row.id,
        email=row.email,
        role=row.role,
        must_change_password=bool(row.must_change_password),
        disabled=bool(row.disabled),
        created_at=row.created_at,
    )


def _hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


# --- accounts -------------------------------------------------------------------------------


def create_user(engine: Engine, email: str, role: str) -> tuple[User, str]:
    """A new account and its one-time password (shown once, never stored in clear)."""
    email = normalize_email(email)
    if "@" not in email or len(email) > 254:
        raise AccountError("Enter an e-mail address.")
    if not valid_role(role):
        raise AccountError("Unknown role.")
    password = secrets.token_urlsafe(12)
    with engine.begin() as conn:
        if conn.execute(sa.select(staff_users.c.id).where(staff_users.c.email == email)).first():
            raise AccountError("An account with this e-mail already exists.")
        conn.execute(
            sa.insert(staff_users).values(
                email=email,
                role=role,
                password_hash=_hasher.hash(password),
                must_change_password=True,
                disabled=False,
                created_at=now(),
            )
        )
    user = get_user(engine, email)
    assert user is not None
    return user, password


def get_user(engine: Engine, email: str) -> User | None:
    with engine.connect() as conn:
        row = conn.execute(
            sa.select(staff_users).where(staff_users.c.email == normalize_email(email))
        ).first()
    return _user(row) if row else None


def list_users(engine: Engine) -> list[User]:
    with engine.connect() as conn:
        rows = conn.execute(sa.select(staff_users).order_by(staff_users.c.email)).all()
    return [_user(row) for row in rows]


def _update(engine: Engine, email: str, **values: object) -> User:
    with engine.begin() as conn:
        result = conn.execute(
            sa.update(staff_users).where(staff_users.c.email == normalize_email(email)).values(**values)
        )
        if result.rowcount == 0:
            raise AccountError("No account with this e-mail.")
    user = get_user(engine, email)
    assert user is not None
    return user


def set_role(engine: Engine, email: str, role: str) -> User:
    if not valid_role(role):
        raise AccountError("Unknown role.")
    return _update(engine, email, role=role)


def set_disabled(engine: Engine, email: str, disabled: bool = True) -> User:
    """Disable (or enable again) an account; disabling ends its sessions at once."""
    user = _update(engine, email, disabled=disabled)
    if disabled:
        end_sessions(engine, user.id)
    return user


def reset_password(engine: Engine, email: str) -> str:
    """A new one-time password for the account; its sessions end."""
    password = secrets.token_urlsafe(12)
    user = _update(
        engine,
        email,
        password_hash=_hasher.hash(password),
        must_change_password=True,
        password_changed_at=now(),
    )
    end_sessions(engine, user.id)
    return password


def change_password(engine: Engine, user: User, current: str, new: str, confirm: str) -> None:
    """Check the current password and set the new one; raises AccountError with the reason."""
    with engine.connect() as conn:
        stored = conn.execute(
            sa.select(staff_users.c.password_hash).where(staff_users.c.id == user.id)
        ).scalar_one()
    if not _verify(stored, current):
        raise AccountError("The current password is wrong.")
    if new != confirm:
        raise AccountError("The two new passwords differ.")
    if len(new) < MIN_PASSWORD_LENGTH:
        raise AccountError("The new password must have at least 12 characters.")
    if new == current:
        raise AccountError("The new password must differ from the current one.")
    with engine.begin() as conn:
        conn.execute(
            sa.update(staff_users)
            .where(staff_users.c.id == user.id)
            .values(password_hash=_hasher.hash(new), must_change_password=False, password_changed_at=now())
        )
    end_sessions(engine, user.id)


def _verify(stored: str, password: str) -> bool:
    try:
        return _hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


# --- login and its rate limit ---------------------------------------------------------------


def login_blocked(engine: Engine, email: str, ip: str, at: _dt.datetime | None = None) -> bool:
    """True when the account or the address had LOGIN_LIMIT failures within LOGIN_WINDOW."""
    since = (at or now()) - LOGIN_WINDOW
    table = staff_login_failures
    with engine.connect() as conn:
        by_email = conn.execute(
            sa.select(sa.func.count())
            .select_from(table)
            .where(table.c.email == normalize_email(email), table.c.at > since)
        ).scalar_one()
        by_ip = conn.execute(
            sa.select(sa.func.count()).select_from(table).where(table.c.ip == ip, table.c.at > since)
        ).scalar_one()
    return by_email >= LOGIN_LIMIT or by_ip >= LOGIN_LIMIT


def _record_failure(engine: Engine, email: str, ip: str) -> None:
    with engine.begin() as conn:
        conn.execute(
            sa.insert(staff_login_failures).values(email=normalize_email(email)[:254], ip=ip[:64], at=now())
        )
        conn.execute(
            sa.delete(staff_login_failures).where(staff_login_failures.c.at < now() - _dt.timedelta(days=1))
        )


def authenticate(engine: Engine, email: str, password: str, ip: str) -> User:
    """The user for a correct e-mail and password, else AccountError (rate limit first)."""
    if login_blocked(engine, email, ip):
        raise AccountError("Too many failed logins. Wait 15 minutes and try again.")
    with engine.connect() as conn:
        row = conn.execute(
            sa.select(staff_users).where(staff_users.c.email == normalize_email(email))
        ).first()
    ok = _verify(row.password_hash if row else _dummy_hash(), password) and row is not None
    if not ok or row is None or row.disabled:
        _record_failure(engine, email, ip)
        raise AccountError("Wrong e-mail or password.")
    if _hasher.check_needs_rehash(row.password_hash):
        with engine.begin() as conn:
            conn.execute(
                sa.update(staff_users)
                .where(staff_users.c.id == row.id)
                .values(password_hash=_hasher.hash(password))
            )
    return _user(row)


# --- sessions -------------------------------------------------------------------------------


def start_session(engine: Engine, user: User) -> str:
    """A new session for the user; returns the cookie token (stored only hashed)."""
    token = secrets.token_urlsafe(32)
    at = now()
    with engine.begin() as conn:
        conn.execute(
            sa.delete(staff_sessions).where(
                sa.or_(staff_sessions.c.last_seen_at < at - IDLE, staff_sessions.c.created_at < at - ABSOLUTE)
            )
        )
        conn.execute(
            sa.insert(staff_sessions).values(
                token_hash=_hash_token(token),
                user_id=user.id,
                csrf_token=secrets.token_urlsafe(32),
                created_at=at,
                last_seen_at=at,
            )
        )
    return token


def load_session(engine: Engine, token: str | None, at: _dt.datetime | None = None) -> Session | None:
    """The live session for a cookie token, or None (unknown, expired, or account disabled)."""
    if not token:
        return None
    at = at or now()
    token_hash = _hash_token(token)
    with engine.connect() as conn:
        row = conn.execute(
            sa.select(
                staff_sessions.c.user_id,
                staff_sessions.c.csrf_token,
                staff_sessions.c.created_at.label("session_created_at"),
                staff_sessions.c.last_seen_at,
                staff_users.c.email,
                staff_users.c.role,
                staff_users.c.must_change_password,
                staff_users.c.disabled,
                staff_users.c.created_at,
            )
            .join(staff_users, staff_users.c.id == staff_sessions.c.user_id)
            .where(staff_sessions.c.token_hash == token_hash)
        ).first()
    if row is None:
        return None
    if row.disabled or row.last_seen_at < at - IDLE or row.session_created_at < at - ABSOLUTE:
        end_session(engine, token)
        return None
    if at - row.last_seen_at > _TOUCH_EVERY:
        with engine.begin() as conn:
            conn.execute(
                sa.update(staff_sessions)
                .where(staff_sessions.c.token_hash == token_hash)
                .values(last_seen_at=at)
            )
    user = User(
        id=row.user_id,
        email=row.email,
        role=row.role,
        must_change_password=bool(row.must_change_password),
        disabled=bool(row.disabled),
        created_at=row.created_at,
    )
    return Session(user=user, csrf_token=row.csrf_token, token_hash=token_hash)


def end_session(engine: Engine, token: str) -> None:
    with engine.begin() as conn:
        conn.execute(sa.delete(staff_sessions).where(staff_sessions.c.token_hash == _hash_token(token)))


def end_sessions(engine: Engine, user_id: int) -> None:
    with engine.begin() as conn:
        conn.execute(sa.delete(staff_sessions).where(staff_sessions.c.user_id == user_id))
