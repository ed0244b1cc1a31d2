"""The directory: Vietnamese missions abroad and referral partners, kept by NGO staff.

Data files under `data/directory/` are loaded into an SQL database (SQLite by default,
PostgreSQL through DATABASE_URL) and read by the conversation actions and the CLI through
the same plain query functions in `bot.directory.queries`.
"""

from __future__ import annotations

from bot.directory.loader import LoadError, LoadReport, ensure_loaded, load_directory

__all__ = ["LoadError", "LoadReport", "ensure_loaded", "ensure_loaded_or_warn", "load_directory"]


def ensure_loaded_or_warn(database_url: str, data_dir: str | None = None) -> str:
    """Load the directory if its files changed; on bad files keep the previous data.

    A typo in a CSV must not take the assistant down: the errors (file:line: reason) go to
    stderr and the database keeps what it had, which the load never touched.
    """
    import sys

    try:
        if data_dir is None:
            from bot.settings import get_settings

            data_dir = str(get_settings().directory_dir)
        return str(ensure_loaded(database_url, data_dir))
    except LoadError as error:
        print("Directory files have errors; serving the previous data:", file=sys.stderr)
        for line in error.errors:
            print(f"  {line}", file=sys.stderr)
        return "previous data kept"
