"""Schema revision 0003 (likes, an organisation's private-by-default) on SQLite and PostgreSQL: a database
at 0002 with repositories is upgraded in place, works, goes back down to 0002 and up again."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy
from alembic import command

from modelyard.server.storage import Storage
from modelyard.server.storage.schema import _config, head_revision

BLOB = ("a" * 64, 10, "b" * 40)


def _migrate(url: str, target: str, *, down: bool = False) -> None:
    engine = sqlalchemy.create_engine(url)
    try:
        with engine.begin() as connection:
            (command.downgrade if down else command.upgrade)(_config(connection), target)
    finally:
        engine.dispose()


def _revision(url: str) -> str:
    engine = sqlalchemy.create_engine(url)
    try:
        with engine.connect() as connection:
            return str(connection.exec_driver_sql("SELECT version_num FROM alembic_version").scalar())
    finally:
        engine.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'hub.sqlite'}"
    return str(request.getfixturevalue("postgres_server").new_database())


def _with_storage(url: str, check: Callable[[Storage], None]) -> None:
    storage = Storage(url, migrate=True)
    try:
        check(storage)
    finally:
        storage.close()


def test_0003_upgrades_a_0002_database_and_goes_back_down(database_url: str) -> None:
    _migrate(database_url, "0002")
    engine = sqlalchemy.create_engine(database_url)
    with engine.begin() as conn:  # what a hub of schema 0002 wrote: an organisation and one of its repositories
        conn.exec_driver_sql("INSERT INTO namespaces(name, kind, fullname, created_at) VALUES('team', 'org', "
                             "'The Team', 0)")
        conn.exec_driver_sql("INSERT INTO repos(type, namespace, name, private, created_at, last_modified) "
                             "VALUES('model', 'team', 'net', 0, 0, 0)")
    engine.dispose()

    def works(storage: Storage) -> None:
        assert storage.accounts.default_private("team") is False
        storage.accounts.set_default_private("team", True)
        assert storage.accounts.default_private("team") is True
        repo = storage.repos.get("model", "team", "net")
        assert repo is not None
        storage.likes.like("Alice", repo)
        storage.likes.like("alice", repo)  # user names ignore case on both backends: still one like
        assert storage.likes.counts([repo.id]) == {repo.id: 1}
        new = storage.repos.create("model", "team", "fresh", private=False, author="alice", initial_blob=BLOB)
        assert new is not None and [r.repo_id for r, _ in storage.likes.liked_by("ALICE")] == ["team/net"]

    _with_storage(database_url, works)
    assert _revision(database_url) == head_revision()
    _migrate(database_url, "0002", down=True)  # 0003 undone
    engine = sqlalchemy.create_engine(database_url)
    inspector = sqlalchemy.inspect(engine)
    assert "likes" not in inspector.get_table_names()
    assert "default_private" not in {c["name"] for c in inspector.get_columns("namespaces")}
    engine.dispose()

    def up_again(storage: Storage) -> None:  # the setting starts over at its default, the repositories stay
        assert storage.accounts.default_private("team") is False
        assert storage.repos.get("model", "team", "fresh") is not None

    _with_storage(database_url, up_again)
