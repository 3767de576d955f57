"""The shape of the hub's metadata database: versioned Alembic migrations, applied and checked here.

The tables live in one database so a commit, the refs it moves and the pull request it opens are one
transaction; their definitions are the migrations under ``migrations/versions`` (the first one, ``0001``, is the
schema as SQLite hubs have always created it, and a PostgreSQL rendering of it). ``modelyard hub migrate``
applies them (:func:`upgrade_schema`); a server refuses a database whose revision it does not know, or (on
PostgreSQL, where migrating is an operator's step) one that is behind (:func:`check_schema`).

``REPO_TABLES`` lists the tables whose rows belong to one repository (``repo_id``), which deleting a repository
clears.
"""

from __future__ import annotations

from pathlib import Path

import sqlalchemy
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

MIGRATIONS = Path(__file__).with_name("migrations")
MIGRATION_LOCK_KEY = 0x6D6967726174696F6E & 0x7FFFFFFFFFFFFFFF  # "migration": the advisory lock of `hub migrate`

# Tables with a repo_id column: a deleted repository leaves no row in any of them.
REPO_TABLES = ("refs", "commits", "repo_blobs", "discussions", "moved", "commit_paths", "downloads",
               "xet_xorb_repos", "xet_file_repos", "discussion_events", "access_requests", "likes")


class SchemaError(RuntimeError):
    """The database's schema is not the one this version of the hub reads."""


def _config(connection: sqlalchemy.Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    """The newest schema revision this version of the hub knows."""
    head = ScriptDirectory.from_config(_config()).get_current_head()
    assert head is not None  # noqa: S101 - the package ships its migrations
    return head


def current_revision(connection: sqlalchemy.Connection) -> str | None:
    """The schema revision the database is at; None for an empty database or a SQLite file of before
    migrations (both are brought to the head by :func:`upgrade_schema`)."""
    return MigrationContext.configure(connection).get_current_revision()


def upgrade_schema(engine: sqlalchemy.Engine) -> tuple[str | None, str]:
    """Apply every migration the database lacks; returns (revision before, revision after)."""
    from alembic import command

    postgres = engine.dialect.name == "postgresql"
    # A transaction per migration on PostgreSQL (the engine's own connections are in autocommit mode).
    options = {"isolation_level": "READ COMMITTED"} if postgres else {}
    with engine.connect().execution_options(**options) as connection:
        if postgres:  # two replicas started at once: one migrates, the other waits and finds nothing to do
            connection.exec_driver_sql(f"SELECT pg_advisory_lock({MIGRATION_LOCK_KEY})")
            connection.commit()
        try:
            before = current_revision(connection)
            _refuse_unknown(before, engine.url.render_as_string(hide_password=False))
            if postgres:
                connection.commit()
            command.upgrade(_config(connection), "head")
        finally:
            if postgres:
                connection.rollback()
                connection.exec_driver_sql(f"SELECT pg_advisory_unlock({MIGRATION_LOCK_KEY})")
                connection.commit()
    return before, head_revision()


def check_schema(engine: sqlalchemy.Engine) -> None:
    """Raise :class:`SchemaError` unless the database is at this version's head revision."""
    url = engine.url.render_as_string(hide_password=False)
    with engine.connect() as connection:
        current = current_revision(connection)
    _refuse_unknown(current, url)
    head = head_revision()
    if current != head:
        raise SchemaError(
            f"The hub database {_safe(url)} is at schema revision {current or '(none)'}, this modelyard needs "
            f"{head}; run `modelyard hub migrate` (with the same MODELYARD_HUB_DATABASE_URL) first.")


def _refuse_unknown(revision: str | None, url: str) -> None:
    if revision is None:
        return
    script = ScriptDirectory.from_config(_config())
    known = {rev.revision for rev in script.walk_revisions()}
    if revision not in known:
        raise SchemaError(
            f"The hub database {_safe(url)} is at schema revision {revision!r}, which this modelyard does not know "
            f"(known: {', '.join(sorted(known))}): it was written by a newer version. Upgrade modelyard; never "
            "serve it with this one.")


def _safe(url: str) -> str:
    """The URL without its password (for messages and logs)."""
    try:
        return sqlalchemy.make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - a message helper never fails
        return "(database)"
