"""The metadata stores on a real PostgreSQL server: migrations, the same behaviour as on SQLite, and the
schema check that keeps a server off a database it does not know."""

from __future__ import annotations

import pytest
import sqlalchemy

from modelyard.server.gitobjects import FileEntry
from modelyard.server.storage import BRANCH, NewCommit, Storage
from modelyard.server.storage.database import SchemaError
from modelyard.server.storage.schema import head_revision

BLOB = ("a" * 64, 10, "b" * 40)


@pytest.fixture
def pg_storage(postgres_server) -> Storage:  # noqa: ANN001 - the session fixture
    url = postgres_server.new_database()
    Storage(url, migrate=True).close()
    storage = Storage(url)
    yield storage
    storage.close()


def test_a_fresh_database_is_refused_until_migrated(postgres_server) -> None:  # noqa: ANN001
    url = postgres_server.new_database()
    with pytest.raises(SchemaError, match="modelyard hub migrate"):
        Storage(url)
    Storage(url, migrate=True).close()
    assert Storage(url).url.startswith("postgresql+psycopg://")


def test_a_schema_revision_this_version_does_not_know_is_refused(pg_storage: Storage) -> None:
    with pg_storage.engine.connect() as conn:
        conn.exec_driver_sql("UPDATE alembic_version SET version_num='9999_from_the_future'")
    with pytest.raises(SchemaError, match="does not know"):
        Storage(pg_storage.url)
    with pytest.raises(SchemaError, match="does not know"):
        Storage(pg_storage.url, migrate=True)


def test_sqlite_takes_over_a_database_of_before_migrations(tmp_path) -> None:  # noqa: ANN001
    from modelyard.server.storage.migrations.versions import _baseline_sqlite

    path = tmp_path / "hub.sqlite"
    engine = sqlalchemy.create_engine(f"sqlite:///{path}")
    with engine.begin() as conn:
        for statement in _baseline_sqlite():
            conn.exec_driver_sql(statement)
        conn.exec_driver_sql("INSERT INTO namespaces(name, kind, created_at) VALUES('old', 'user', 0)")
    engine.dispose()
    storage = Storage(path)
    assert storage.accounts.namespace_kind("OLD") == "user"
    with storage.engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar() == head_revision()


def test_names_are_case_insensitive_and_tokens_resolve(pg_storage: Storage) -> None:
    pg_storage.accounts.add_namespace("Alice", "user")
    pg_storage.accounts.add_namespace("acme", "org")
    pg_storage.accounts.add_member("ACME", "alice")
    assert pg_storage.accounts.canonical_namespace("ALICE") == "Alice"
    with pytest.raises(ValueError, match="already taken"):
        pg_storage.accounts.add_namespace("alice", "org")
    token = pg_storage.tokens.create("alice", "write", "laptop")
    who = pg_storage.tokens.identity(token)
    assert who is not None and who.name == "Alice" and who.orgs == ("acme",)
    session = pg_storage.sessions.create(token, ttl=60)
    assert session is not None and pg_storage.sessions.get(session).identity.name == "Alice"
    assert pg_storage.tokens.revoke("alice", "laptop") == 1
    assert pg_storage.tokens.identity(token) is None and pg_storage.sessions.get(session) is None


def test_repos_commits_refs_and_search(pg_storage: Storage) -> None:
    pg_storage.accounts.add_namespace("alice", "user")
    repo = pg_storage.repos.create("model", "alice", "Tiny_Model", private=False, author="alice", initial_blob=BLOB)
    assert repo is not None and repo.id > 0
    assert pg_storage.repos.create("model", "ALICE", "tiny_model", private=False, author="alice",
                                   initial_blob=BLOB) is None

    def build(head, manifest):  # noqa: ANN001, ANN202
        files = dict(manifest)
        files["w.bin"] = FileEntry("c" * 64, 5, "d" * 40, True)
        return NewCommit(files, "alice", "add w", "", {"c" * 64})

    oid, _ = pg_storage.commits.commit(repo, BRANCH + "main", build)
    assert pg_storage.refs.resolve(repo, "main") == oid and pg_storage.refs.resolve(repo, oid[:8]) == oid
    assert [c.title for c in pg_storage.commits.history(repo, oid)] == ["add w", "initial commit"]
    assert pg_storage.blobs.is_linked(repo, "c" * 64)
    assert pg_storage.refs.create(repo, "refs/tags/v1", oid) and not pg_storage.refs.create(repo, "refs/tags/v1", oid)
    num = pg_storage.discussions.create(repo, "look", "", "alice", is_pr=True)
    assert num == 1 and pg_storage.refs.target(repo, "refs/pr/1") == oid
    pg_storage.blobs.put_scan("c" * 64, "pickle", "safe", {"n": 1})
    pg_storage.blobs.put_scan("c" * 64, "pickle", "unsafe", {"n": 2})
    assert pg_storage.blobs.scan("c" * 64, "pickle") == {"status": "unsafe", "n": 2}
    pg_storage.downloads.record(repo)
    pg_storage.downloads.record(repo)
    assert pg_storage.downloads.counts([repo.id]) == {repo.id: 2}
    found = pg_storage.search.matching("model", visible_to=[], terms=["tiny_"], sort="downloads")
    assert [r.name for r in found] == ["Tiny_Model"]
    assert pg_storage.search.matching("model", visible_to=[], terms=["tinyx"]) == []
    moved = pg_storage.repos.move(repo, "alice", "renamed")
    assert moved is not None and pg_storage.repos.moved("model", "alice", "tiny_model").id == repo.id
    assert pg_storage.changes.last_changes(moved, oid, ["w.bin"])["w.bin"].oid == oid
    pg_storage.repos.delete(moved)
    assert pg_storage.repos.all() == []


def test_a_ref_moved_under_a_commit_fails_the_swap_and_the_commit_is_rebuilt(pg_storage: Storage) -> None:
    """The ref update is a compare-and-swap: a writer that moved the branch meanwhile (here one that bypasses
    the write lock, as a buggy or foreign client would) makes the swap fail, and the commit is built again on
    the new head instead of overwriting it."""
    import psycopg

    pg_storage.accounts.add_namespace("alice", "user")
    repo = pg_storage.repos.create("model", "alice", "cas", private=False, author="alice", initial_blob=BLOB)

    def adding(name: str):  # noqa: ANN202
        def build(head, manifest):  # noqa: ANN001, ANN202
            return NewCommit({**manifest, name: FileEntry("c" * 64, 5, "d" * 40, False)}, "alice", name, "")
        return build

    other, _ = pg_storage.commits.commit(repo, BRANCH + "main", adding("other.txt"), create_pr=True)
    heads_seen = []
    plain = pg_storage.url.replace("postgresql+psycopg://", "postgresql://")

    def racing(head, manifest):  # noqa: ANN001, ANN202
        heads_seen.append(head)
        if len(heads_seen) == 1:  # someone moves main to the PR's commit while this commit is being built
            with psycopg.connect(plain, autocommit=True) as outside:
                outside.execute("UPDATE refs SET target=%s WHERE repo_id=%s AND name=%s",
                                (other, repo.id, BRANCH + "main"))
        return adding("mine.txt")(head, manifest)

    oid, _ = pg_storage.commits.commit(repo, BRANCH + "main", racing)
    assert len(heads_seen) == 2 and heads_seen[1] == other
    assert pg_storage.commits.get(repo, oid).parent == other  # built on the moved head: nothing lost
    assert set(pg_storage.commits.manifest_of(oid, repo=repo)) == {".gitattributes", "other.txt", "mine.txt"}


def test_hub_migrate_and_the_admin_commands_act_on_the_configured_database(
        postgres_server, tmp_path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:  # noqa: ANN001
    from modelyard.cli.main import main

    url = postgres_server.new_database()
    monkeypatch.setenv("MODELYARD_HUB_DATABASE_URL", url)
    data = ["--data-dir", str(tmp_path / "unused")]
    assert main(["hub", "user", "add", "erin", *data]) != 0  # refused: the schema is not there yet
    assert "modelyard hub migrate" in capsys.readouterr().err
    assert main(["hub", "migrate", *data]) == 0
    out = capsys.readouterr().out
    assert f"from schema revision (none) to {head_revision()}" in out
    assert main(["hub", "migrate", *data]) == 0
    assert "nothing to do" in capsys.readouterr().out
    assert main(["hub", "user", "add", "erin", *data]) == 0
    assert Storage(url).accounts.namespace_kind("erin") == "user"
    assert not (tmp_path / "unused" / "hub.sqlite").exists()  # --data-dir named no database
