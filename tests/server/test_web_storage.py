"""Storage added for the web pages: the history index, first-parent chains, sessions, tokens, downloads."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from modelyard.server.gitobjects import FileEntry, git_blob_oid
from modelyard.server.storage import BRANCH, NewCommit, Repo, Storage, changed_paths


def entry(text: str) -> FileEntry:
    return FileEntry(f"{hash(text) & (2**64 - 1):064x}", len(text), git_blob_oid(text.encode()), False)


@pytest.fixture
def storage(tmp_path: Path) -> Storage:
    storage = Storage(tmp_path / "hub.sqlite")
    storage.accounts.add_namespace("alice", "user")
    return storage


def new_repo(storage: Storage, name: str = "m") -> Repo:
    repo = storage.repos.create("model", "alice", name, private=False, author="alice",
                               initial_blob=entry(".gitattributes")[:3])
    assert repo is not None
    return repo


def commit(storage: Storage, repo: Repo, title: str, *, set_: dict[str, str] | None = None,
           delete: tuple[str, ...] = (), ref: str = BRANCH + "main") -> str:
    def build(head: str, manifest: dict[str, FileEntry]) -> NewCommit:
        files = {**manifest, **{p: entry(t) for p, t in (set_ or {}).items()}}
        for path in delete:
            del files[path]
        return NewCommit(files, "alice", title, "")

    return storage.commits.commit(repo, ref, build)[0]


def test_changed_paths_lists_files_their_folders_and_the_root() -> None:
    before = {"a/b/c.txt": entry("1"), "a/d.txt": entry("2"), "e.txt": entry("3")}
    after = {"a/b/c.txt": entry("1"), "a/d.txt": entry("2b"), "f/g.txt": entry("4")}
    assert changed_paths(before, after) == {"", "a", "a/d.txt", "e.txt", "f", "f/g.txt"}
    assert changed_paths(before, before) == {""}


def test_last_changes_follows_the_first_parent_history_of_the_revision(storage: Storage) -> None:
    repo = new_repo(storage)
    c1 = commit(storage, repo, "one", set_={"a/x.txt": "1", "b.txt": "1"})
    c2 = commit(storage, repo, "two", set_={"a/y.txt": "1"})
    storage.refs.create(repo, BRANCH + "dev", c2)
    c3 = commit(storage, repo, "three on dev", set_={"b.txt": "2"}, ref=BRANCH + "dev")
    c4 = commit(storage, repo, "four", delete=("a/y.txt",))
    last = storage.changes.last_changes(repo, c4, ["a", "a/x.txt", "b.txt", ".gitattributes"])
    assert {p: c.oid for p, c in last.items()} == {"a": c4, "a/x.txt": c1, "b.txt": c1,
                                                   ".gitattributes": storage.changes.first_parent_chain(repo, c4)[-1]}
    # On dev, b.txt was changed by the dev commit; main's later commit is not in dev's history.
    dev = storage.changes.last_changes(repo, c3, ["a", "b.txt"])
    assert dev["b.txt"].oid == c3 and dev["a"].oid == c2
    assert storage.changes.commits_touching(repo, "b.txt") == {c1, c3}


def test_first_parent_chain_extends_a_cached_chain(storage: Storage) -> None:
    repo = new_repo(storage)
    heads = [commit(storage, repo, f"c{i}", set_={"f.txt": str(i)}) for i in range(5)]
    chain = storage.changes.first_parent_chain(repo, heads[2])
    assert chain[:3] == heads[2::-1] and len(chain) == 4
    for i in range(5, 80):  # more than the 64 steps the walk looks for a cached chain
        heads.append(commit(storage, repo, f"c{i}", set_={"f.txt": str(i)}))
    near = storage.changes.first_parent_chain(repo, heads[10])
    far = storage.changes.first_parent_chain(repo, heads[-1])
    fresh = Storage(storage.db_path).changes.first_parent_chain(repo, heads[-1])  # a new process: no cache at all
    assert far == fresh and near == fresh[len(heads) - 11:] and len(fresh) == len(heads) + 1


def test_history_index_is_backfilled_and_deleted_with_the_repo(storage: Storage) -> None:
    repo = new_repo(storage)
    c1 = commit(storage, repo, "one", set_={"x.txt": "1"})
    with storage.transaction() as db:
        db.execute("DELETE FROM commit_paths")
    assert Storage(storage.db_path).changes.ensure_indexed(repo) == 2
    assert storage.changes.last_changes(repo, c1, ["x.txt"])["x.txt"].oid == c1
    storage.repos.delete(repo)
    assert storage.conn().execute("SELECT COUNT(*) FROM commit_paths").fetchone()[0] == 0


def test_sessions_end_when_they_expire_or_their_token_is_revoked(storage: Storage) -> None:
    token = storage.tokens.create("alice", "write", "laptop")
    assert storage.sessions.create("myd_wrong", 60) is None
    live = storage.sessions.create(token, 60)
    expired = storage.sessions.create(token, -1)
    session = storage.sessions.get(live)
    assert session is not None and session.identity.name == "alice" and session.identity.token_name == "laptop"
    assert storage.sessions.get(expired) is None
    assert storage.sessions.get(live + "x") is None
    assert storage.conn().execute("SELECT COUNT(*) FROM web_sessions WHERE hash=?", (live,)).fetchone()[0] == 0
    [info] = storage.tokens.owned_by("alice")
    assert (info.name, info.role) == ("laptop", "write")
    assert storage.tokens.revoke_id("bob", info.id) is False  # not hers to revoke
    assert storage.tokens.revoke_id("alice", info.id) is True
    assert storage.sessions.get(live) is None and storage.tokens.identity(token) is None


def test_downloads_count_the_last_30_days(storage: Storage) -> None:
    repo, other = new_repo(storage, "a"), new_repo(storage, "b")
    now = time.time()
    for _ in range(3):
        storage.downloads.record(repo, now)
    storage.downloads.record(repo, now - 29 * 86400)
    storage.downloads.record(repo, now - 31 * 86400)  # too old to count
    storage.downloads.record(other, now)
    assert storage.downloads.counts([repo.id, other.id]) == {repo.id: 4, other.id: 1}
    ranked, total = storage.search.page("model", visible_to=[], sort="downloads")
    assert [r.name for r in ranked] == ["a", "b"] and total == 2


def test_search_repos_hides_private_repos_from_others(storage: Storage) -> None:
    new_repo(storage, "open-model")
    hidden = storage.repos.create("model", "alice", "hidden-model", private=True, author="alice",
                                 initial_blob=entry(".gitattributes")[:3])
    assert hidden is not None
    found, total = storage.search.page("model", visible_to=[], terms=["model"], sort="id")
    assert [r.name for r in found] == ["open-model"] and total == 1
    found, total = storage.search.page("model", visible_to=["ALICE"], terms=["MODEL"], sort="id")
    assert [r.name for r in found] == ["hidden-model", "open-model"] and total == 2
    with pytest.raises(ValueError, match="Unknown sort"):
        storage.search.page("model", visible_to=[], sort="trendingScore")
