"""Every environment variable the assistant reads, typed, validated and documented once.

Configuration comes from the environment (twelve-factor), and only this module reads it:
other code gets a `Settings` object, from `get_settings()` (cached for the process) or
built by the caller (tests, tools). A bad value stops the program with one line that names
the variable and what it must be ("PORT must be a number, got 'abc'"), never a traceback.
Secrets are `SecretStr`, so they print as `**********` in a repr or a log line, and an
error about a secret never quotes its value.

The README's configuration table is checked against `variables()` by a test, so a
variable cannot be added here without being documented there.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, SecretStr, ValidationError, root_validator, validator

REPO_ROOT = Path(__file__).resolve().parent.parent
VAR_DIR = REPO_ROOT / "var"

_TELEGRAM_SECRET_TOKEN = re.compile(r"^[A-Za-z0-9_-]{1,256}$")


class SettingsError(ValueError):
    """The environment holds a value the assistant cannot use; the message says which and why."""


def valid_telegram_secret_token(token: str | None) -> bool:
    """Telegram accepts 1-256 characters of A-Z a-z 0-9 _ - as a webhook secret token."""
    return bool(_TELEGRAM_SECRET_TOKEN.match(token or ""))


def is_loopback(host: str) -> bool:
    """True for an address only this machine can reach (127.0.0.0/8, ::1, localhost)."""
    import ipaddress

    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def reachable_address(host: str) -> str:
    """Where this machine reaches a server listening on `host` (for URLs): loopback for the
    wildcard addresses, IPv6 in brackets."""
    if host in ("", "0.0.0.0", "::"):
        return "127.0.0.1"
    return f"[{host}]" if ":" in host else host


def _secret(value: SecretStr | None) -> str:
    return value.get_secret_value() if value is not None else ""


def _both_or_neither(values: dict[str, Any], prefix: str, required: tuple[str, ...]) -> None:
    """A channel is on when all its required variables are set; some but not all is an error
    (a half-configured channel would otherwise be silently off, or on without its secret)."""
    present = [name for name in required if values.get(name)]
    missing = [name for name in required if not values.get(name)]
    if present and missing:
        names = ", ".join(prefix + name.upper() for name in present)
        raise ValueError(f"{names} set but {', '.join(prefix + m.upper() for m in missing)} missing")


class TelegramSettings(BaseModel):
    """Telegram (`TELEGRAM_*`): on when the token and the secret token are both set."""

    token: SecretStr | None = Field(default=None, description="the bot token from @BotFather")
    secret_token: SecretStr | None = Field(
        default=None,
        description="webhook secret sent by Telegram with every update: 1-256 of A-Z a-z 0-9 _ -",
    )
    api_base_url: str = Field(
        default="https://api.telegram.org/bot",
        description="Bot API address in python-telegram-bot's form (the token is appended); tests point it at a fake",
    )

    @validator("secret_token")
    def _secret_token_syntax(cls, value: SecretStr | None) -> SecretStr | None:  # noqa: N805
        if value is not None and value.get_secret_value() and not valid_telegram_secret_token(_secret(value)):
            raise ValueError("must be 1-256 characters of A-Z a-z 0-9 _ -")
        return value

    @root_validator(skip_on_failure=True)
    def _complete(cls, values: dict[str, Any]) -> dict[str, Any]:  # noqa: N805
        _both_or_neither(values, "TELEGRAM_", ("token", "secret_token"))
        return values

    @property
    def enabled(self) -> bool:
        return bool(_secret(self.token))


class ZaloSettings(BaseModel):
    """Zalo Official Account (`ZALO_*`): on when the app id and both secrets are set."""

    app_id: str | None = Field(default=None, description="the app's ID on developers.zalo.me")
    app_secret: SecretStr | None = Field(
        default=None, description="the app's secret key, used to refresh tokens"
    )
    oa_secret_key: SecretStr | None = Field(
        default=None, description="the OA secret key that signs webhook events (not the app secret)"
    )
    access_token: SecretStr | None = Field(
        default=None, description="first OA access token; later ones are kept in the database"
    )
    refresh_token: SecretStr | None = Field(
        default=None, description="first OA refresh token (single-use; later ones are kept in the database)"
    )
    api_base_url: str = Field(
        default="https://openapi.zalo.me", description="OA OpenAPI address (tests: a fake)"
    )
    oauth_base_url: str = Field(
        default="https://oauth.zaloapp.com", description="OAuth address (tests: a fake)"
    )
    signature_window_seconds: int = Field(
        default=3600, ge=1, description="events signed further than this from the server clock are rejected"
    )

    @root_validator(skip_on_failure=True)
    def _complete(cls, values: dict[str, Any]) -> dict[str, Any]:  # noqa: N805
        _both_or_neither(values, "ZALO_", ("app_id", "oa_secret_key", "app_secret"))
        return values

    @property
    def enabled(self) -> bool:
        return bool(self.app_id)


class Settings(BaseModel):
    """The assistant's configuration. Field names are the variables in lower case."""

    port: int = Field(
        default=5005, ge=1, le=65535, description="port of the Rasa server (webhooks, web chat)"
    )
    host: str = Field(
        default="127.0.0.1",
        description="address the Rasa server listens on; e.g. `0.0.0.0` behind a reverse proxy (then REST needs REST_TOKEN)",
    )
    actions_port: int = Field(default=5055, ge=1, le=65535, description="port of the action server")
    actions_host: str = Field(
        default="127.0.0.1", description="address the action server listens on (it has no authentication)"
    )
    rest_token: SecretStr | None = Field(
        default=None,
        description="bearer token the REST webhook requires (`Authorization: Bearer …`); unset: REST only on a loopback HOST",
    )
    max_message_chars: int = Field(
        default=2000,
        ge=1,
        description="longest message (characters) the bot reads; longer ones get a polite reply",
    )
    max_body_bytes: int = Field(
        default=1_000_000, ge=1024, description="largest webhook request body (bytes); larger ones get 413"
    )
    rate_limit_per_minute: int = Field(
        default=20, ge=1, description="messages one sender may send per minute; more get a polite reply"
    )
    retention_days: int = Field(
        default=90,
        ge=1,
        description="conversations, pseudonym maps, handoff transcripts, feedback votes and unanswered-queue items older than this are purged (daily, and by `bot privacy purge`)",
    )
    log_format: str = Field(default="text", description="`text` or `json` (one JSON object per log line)")
    database_url: str = Field(
        default=f"sqlite:///{VAR_DIR / 'bot.db'}",
        description="directory, pseudonym, dedupe, button and Zalo token tables; e.g. `postgresql://user@host/db`",
    )
    tracker_store_url: str = Field(
        default=f"sqlite:///{VAR_DIR / 'tracker.db'}",
        description="where conversations are kept (SQLite or PostgreSQL)",
    )
    redis_url: str | None = Field(
        default=None, description="Redis lock store (needed for several replicas) and channel dedupe"
    )
    sender_id_secret: SecretStr | None = Field(
        default=None,
        description="key of the HMAC that turns platform ids into pseudonyms; unset: generated once into `var/pseudonym.key` (0600; SQLite only, required with PostgreSQL)",
    )
    content_dir: Path = Field(default=REPO_ROOT / "content", description="where answer cards are read from")
    topics_file: Path = Field(default=REPO_ROOT / "topics.yml", description="the topic list")
    public_url: str | None = Field(
        default=None, description="the public `https://` address; default of `bot telegram setup --url`"
    )
    log_level: str = Field(
        default="INFO",
        description="level of Rasa's and the action server's logs; keep INFO or above (Rasa's DEBUG logs hold message text)",
    )
    model: Path | None = Field(
        default=None, description="the model archive to serve; unset: the newest in `models/`"
    )
    staff_host: str = Field(
        default="127.0.0.1",
        description="address the staff console listens on; keep 127.0.0.1 behind an HTTPS reverse proxy",
    )
    staff_port: int = Field(default=5080, ge=1, le=65535, description="port of the staff console")
    staff_secure_cookies: bool = Field(
        default=False,
        description="mark the staff console's cookies Secure (set it when staff reach the console over HTTPS)",
    )
    staff_trusted_proxies: str = Field(
        default="",
        description="comma-separated addresses of reverse proxies whose X-Forwarded-For/-Proto the staff console believes",
    )
    webchat_outbox_ttl_hours: int = Field(
        default=24,
        ge=1,
        le=720,
        description="hours a web-chat message sent outside a turn (a staff reply) waits for the page before it is deleted",
    )
    handoff_hours: str = Field(
        default="mon-fri 08:00-17:00",
        description="when staff answer handoffs: `always`, or ranges such as `mon-fri 08:00-12:00, sat 08:00-11:00`",
    )
    handoff_timezone: str = Field(
        default="Asia/Ho_Chi_Minh", description="time zone of HANDOFF_HOURS (an IANA name)"
    )
    staff_telegram_chat_id: int | None = Field(
        default=None,
        description="Telegram supergroup (with topics, the bot an admin) where staff answer handoffs; unset: no bridge",
    )
    # --- directory editing in the staff console (branch staffdir) ---
    directory_dir: Path = Field(
        default=REPO_ROOT / "data" / "directory",
        description="the directory's CSV files: loaded at start, written when the staff console publishes a change",
    )
    # --- fundletter: the complaint letter builder (bot/tools/letter_store.py) ---
    letter_link_minutes: int = Field(
        default=60,
        ge=5,
        le=1440,
        description="minutes a finished complaint letter (PDF) waits for its one-time web-chat download, or for delivery, before it is deleted",
    )
    telegram: TelegramSettings = Field(default_factory=TelegramSettings)
    zalo: ZaloSettings = Field(default_factory=ZaloSettings)
    # --- understanding: training examples, retraining and the live model swap (branch retrain) ---
    models_dir: Path = Field(
        default=REPO_ROOT / "models",
        description="where trained models are kept; the newest is served unless MODEL is set",
    )
    training_data_dir: Path = Field(
        default=REPO_ROOT / "data",
        description="training data (nlu/, rules/, stories/) that a retrain from the staff console reads and adds examples to",
    )
    retrain_held_out_dir: Path = Field(
        default=REPO_ROOT / "tests" / "nlu",
        description="held-out messages a retrain is measured on before a new model is published",
    )
    retrain_conversations_dir: Path = Field(
        default=REPO_ROOT / "tests" / "conversations",
        description="held-out conversations a retrain is measured on before a new model is published",
    )
    model_swap_token: SecretStr | None = Field(
        default=None,
        description="token the staff console sends to make the Rasa server load a new model; `bot run` makes one per start",
    )
    # --- reliability (branch reliab): delivery, degraded mode, in-process actions ---
    actions_in_process: bool = Field(
        default=True,
        description="run the custom actions inside the Rasa server (no action server to lose); false: use the action server on ACTIONS_PORT",
    )
    turn_lease_seconds: int = Field(
        default=60,
        ge=5,
        le=3600,
        description="how long a claimed platform update whose turn has not finished blocks its redelivery (after a crash, the redelivery runs the turn)",
    )
    rasa_workers: int | None = Field(
        default=None,
        ge=1,
        le=64,
        description="Rasa server processes `bot run` starts on PORT (Sanic workers sharing the socket); unset: one per core, at most 2",
    )
    send_retry_seconds: float = Field(
        default=30.0,
        ge=0,
        le=600,
        description="total time a reply to Telegram or Zalo may spend in retries (5xx, network errors, 429) before it is given up",
    )

    class Config:
        validate_assignment = True

    def workers(self) -> int:
        """RASA_WORKERS, else 1. Two workers use the second core (1.9-3x the stock bot's
        throughput against about 1.5x with one, docs/benchmarks.md), but after a crash
        they answered more updates twice (8 of 300 against 0-1, docs/reliability.md), and
        their memory under load is just over 1 GB: opt in where throughput matters more."""
        return self.rasa_workers if self.rasa_workers is not None else 1

    @validator("database_url", "tracker_store_url")
    def _database_url(cls, value: str) -> str:  # noqa: N805
        # Hosting platforms still hand out the scheme SQLAlchemy 1.4 no longer accepts.
        if value.startswith("postgres://"):
            value = "postgresql://" + value[len("postgres://") :]
        if "://" not in value:
            raise ValueError("must be a URL such as sqlite:///var/bot.db or postgresql://user@host/db")
        return value

    @validator("log_level")
    def _log_level(cls, value: str) -> str:  # noqa: N805
        level = value.upper()
        if level not in ("DEBUG", "INFO", "WARNING", "ERROR"):
            raise ValueError("must be one of DEBUG, INFO, WARNING, ERROR")
        return level

    @validator("handoff_hours")
    def _handoff_hours(cls, value: str) -> str:  # noqa: N805
        from bot.staff_hours import parse_hours  # the parser's message is the settings error

        parse_hours(value)
        return value

    @validator("handoff_timezone")
    def _handoff_timezone(cls, value: str) -> str:  # noqa: N805
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError("must be a time zone name such as Asia/Ho_Chi_Minh") from None
        return value

    @validator("log_format")
    def _log_format(cls, value: str) -> str:  # noqa: N805
        if value.lower() not in ("text", "json"):
            raise ValueError("must be text or json")
        return value.lower()

    @property
    def host_is_loopback(self) -> bool:
        """True when the Rasa server is reachable from this machine only."""
        return is_loopback(self.host)

    @property
    def rest_secret(self) -> str:
        return _secret(self.rest_token)

    @validator("redis_url", "public_url")
    def _optional_url(cls, value: str | None) -> str | None:  # noqa: N805
        if value is not None and "://" not in value:
            raise ValueError("must be a URL")
        return value or None

    @property
    def trusted_proxies(self) -> frozenset[str]:
        return frozenset(part.strip() for part in self.staff_trusted_proxies.split(",") if part.strip())

    @property
    def sender_secret(self) -> str:
        return _secret(self.sender_id_secret)

    def enabled_channels(self) -> list[str]:
        return [name for name, group in (("telegram", self.telegram), ("zalo", self.zalo)) if group.enabled]


# --- reading the environment ----------------------------------------------------------------

_GROUPS: dict[str, tuple[str, type[BaseModel]]] = {
    "telegram": ("TELEGRAM_", TelegramSettings),
    "zalo": ("ZALO_", ZaloSettings),
}


def variables() -> Iterator[tuple[str, Any, str, bool]]:
    """(variable name, default, description, secret) for every variable, in declaration order."""
    for name, field in Settings.__fields__.items():
        if name in _GROUPS:
            prefix, model = _GROUPS[name]
            for sub_name, sub_field in model.__fields__.items():
                yield (
                    prefix + sub_name.upper(),
                    sub_field.default,
                    sub_field.field_info.description or "",
                    sub_field.outer_type_ is SecretStr,
                )
        else:
            yield (
                name.upper(),
                field.default,
                field.field_info.description or "",
                field.outer_type_ is SecretStr,
            )


def _values(env: Mapping[str, str]) -> dict[str, Any]:
    """The raw values for `Settings`: set, non-empty variables only (empty means unset)."""
    values: dict[str, Any] = {}
    for name in Settings.__fields__:
        if name in _GROUPS:
            prefix, model = _GROUPS[name]
            values[name] = {
                sub: env[prefix + sub.upper()] for sub in model.__fields__ if env.get(prefix + sub.upper())
            }
        elif env.get(name.upper()):
            values[name] = env[name.upper()]
    return values


_KIND = {
    "type_error.integer": "a number",
    "value_error.number.not_ge": "at least {limit_value}",
    "value_error.number.not_le": "at most {limit_value}",
}


def _message(error: Mapping[str, Any], env: Mapping[str, str]) -> str:
    loc = [str(part) for part in error["loc"] if part != "__root__"]
    if not loc:
        return error["msg"]
    if loc[0] in _GROUPS:
        prefix = _GROUPS[loc[0]][0]
        if len(loc) == 1:  # a whole-group rule: the message names the variables
            return error["msg"]
        variable = prefix + loc[1].upper()
    else:
        variable = loc[0].upper()
    secret = any(variable == name and is_secret for name, _, _, is_secret in variables())
    kind = _KIND.get(error["type"])
    what = kind.format(**error.get("ctx", {})) if kind else error["msg"]
    shown = "" if secret or variable not in env else f", got {env[variable]!r}"
    return f"{variable} must be {what}{shown}" if kind else f"{variable}: {what}{shown}"


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Settings from `env` (default: the process environment); SettingsError says what is wrong."""
    env = os.environ if env is None else env
    try:
        return Settings(**_values(env))
    except ValidationError as error:
        raise SettingsError("; ".join(_message(e, env) for e in error.errors())) from None


def get_settings() -> Settings:
    """The process's settings: read once, and again only if a variable changed (tests).

    Called several times per answer, so the check for a changed variable must be cheap:
    `os.environ.get` encodes each name and decodes each value (about 0.1 ms for the ~50
    variables, 0.7 ms of a turn's actions, measured); on POSIX the encoded names are looked
    up in CPython's dict behind `os.environ` (`_data`, the mapping every change to
    `os.environ` writes to) in a few microseconds. Elsewhere, the plain way."""
    data = getattr(os.environ, "_data", None)
    if isinstance(data, dict) and _ENCODED_NAMES is not None:
        return _settings_for_encoded(tuple(map(data.get, _ENCODED_NAMES)))
    return _settings_for(tuple(os.environ.get(name) for name in _NAMES))


@lru_cache(maxsize=8)
def _settings_for_encoded(values: tuple[bytes | None, ...]) -> Settings:
    return _settings_for(tuple(None if value is None else os.fsdecode(value) for value in values))


@lru_cache(maxsize=8)
def _settings_for(values: tuple[str | None, ...]) -> Settings:
    return load_settings(
        {name: value for name, value in zip(_NAMES, values, strict=True) if value is not None}
    )


def sanic_workers() -> int:
    """The Sanic workers Rasa starts in this process: Rasa's own variable SANIC_WORKERS
    (`bot run` sets it from RASA_WORKERS, `Settings.workers`); 1 when unset or invalid, as
    Rasa then starts one (`rasa.core.utils.number_of_sanic_workers`)."""
    try:
        return max(1, int(os.environ.get("SANIC_WORKERS", "1")))
    except ValueError:
        return 1


def set_in_this_process(values: Mapping[str, str]) -> None:
    """Set variables in this process's environment, so `get_settings` reads them from now on
    (and children get them): `bot run` gives the staff console it serves in its own process
    the ports and the model-swap token of this start, as it gives them to Rasa."""
    os.environ.update(values)


def child_environment(extra: Mapping[str, str] | None = None, quiet: bool = False) -> dict[str, str]:
    """The environment for a child process (action server, Rasa): ours plus `extra`, with the
    repository on PYTHONPATH so Rasa finds `bot.*` and `actions`.

    `quiet` hides the libraries' deprecation warnings (TensorFlow, SQLAlchemy 2.0 notices,
    pkg_resources, pyparsing: dozens of lines at every start that nobody here can act on),
    unless PYTHONWARNINGS is set. Errors and other warnings still show.
    """
    env = {**os.environ, "RASA_TELEMETRY_ENABLED": "false", **(extra or {})}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
    if quiet:
        env.setdefault("PYTHONWARNINGS", "ignore::DeprecationWarning")
        env.setdefault("SQLALCHEMY_SILENCE_UBER_WARNING", "1")
    return env


_NAMES = tuple(name for name, _, _, _ in variables())
# How `os.environ` stores the names on POSIX (bytes keys); None where it stores them otherwise.
_ENCODED_NAMES = tuple(os.fsencode(name) for name in _NAMES) if os.name == "posix" else None


def library_defaults() -> None:
    """Quiet defaults for libraries that read their own variables, set before they load.

    TensorFlow's C++ logging and python-telegram-bot's timedelta opt-in (instead of a
    deprecation warning on every flood-control reply); the user's own values win.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("PTB_TIMEDELTA", "true")
    os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")
