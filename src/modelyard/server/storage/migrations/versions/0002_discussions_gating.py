"""0002: discussion events (comments, status and title changes, commits, merges) and gated repositories.

* ``discussion_events``: what happened in a discussion or pull request, in order (``seq``), each with the id
  clients address it by (24 hex characters) and its details as JSON text; the description a discussion was
  opened with becomes its first comment (for discussions written before this revision too).
* ``discussions.merge_commit``: the commit a merged pull request made on its target branch.
* ``repos.gated``: NULL (anyone who may read the repository downloads its files), ``'auto'`` (access
  requests are accepted at once) or ``'manual'`` (an owner accepts each one).
* ``access_requests``: one row per user and gated repository: pending, accepted or rejected.
"""

from __future__ import annotations

import json
import secrets

import sqlalchemy
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

SQLITE = """
ALTER TABLE repos ADD COLUMN gated TEXT CHECK(gated IN ('auto', 'manual'));
ALTER TABLE discussions ADD COLUMN merge_commit TEXT;
CREATE TABLE discussion_events(
    repo_id INTEGER NOT NULL, num INTEGER NOT NULL, seq INTEGER NOT NULL, id TEXT NOT NULL, kind TEXT NOT NULL,
    author TEXT NOT NULL, created_at REAL NOT NULL, data TEXT NOT NULL, PRIMARY KEY(repo_id, num, seq));
CREATE UNIQUE INDEX discussion_events_id ON discussion_events(repo_id, id);
CREATE TABLE access_requests(
    repo_id INTEGER NOT NULL, "user" TEXT NOT NULL COLLATE NOCASE, id TEXT NOT NULL,
    status TEXT NOT NULL CHECK(status IN ('pending', 'accepted', 'rejected')), granted INTEGER NOT NULL,
    reason TEXT, created_at REAL NOT NULL, updated_at REAL NOT NULL, PRIMARY KEY(repo_id, "user"));
CREATE UNIQUE INDEX access_requests_id ON access_requests(repo_id, id);
"""

POSTGRES = """
ALTER TABLE repos ADD COLUMN gated TEXT COLLATE "C" CHECK(gated IN ('auto', 'manual'));
ALTER TABLE discussions ADD COLUMN merge_commit TEXT COLLATE "C";
CREATE TABLE discussion_events(
    repo_id BIGINT NOT NULL, num INTEGER NOT NULL, seq INTEGER NOT NULL, id TEXT COLLATE "C" NOT NULL,
    kind TEXT COLLATE "C" NOT NULL, author TEXT COLLATE "C" NOT NULL, created_at DOUBLE PRECISION NOT NULL,
    data TEXT COLLATE "C" NOT NULL, PRIMARY KEY(repo_id, num, seq));
CREATE UNIQUE INDEX discussion_events_id ON discussion_events(repo_id, id);
CREATE TABLE access_requests(
    repo_id BIGINT NOT NULL, "user" CITEXT NOT NULL, id TEXT COLLATE "C" NOT NULL,
    status TEXT COLLATE "C" NOT NULL CHECK(status IN ('pending', 'accepted', 'rejected')), granted INTEGER NOT NULL,
    reason TEXT COLLATE "C", created_at DOUBLE PRECISION NOT NULL, updated_at DOUBLE PRECISION NOT NULL,
    PRIMARY KEY(repo_id, "user"));
CREATE UNIQUE INDEX access_requests_id ON access_requests(repo_id, id);
"""


def _statements(script: str) -> list[str]:
    return [s.strip() for s in script.split(";") if s.strip()]


def upgrade() -> None:
    bind = op.get_bind()
    for statement in _statements(POSTGRES if bind.dialect.name == "postgresql" else SQLITE):
        op.execute(statement)
    # Each discussion's description becomes its first comment (written as the stores write comments).
    rows = bind.execute(sqlalchemy.text(
        "SELECT repo_id, num, description, author, created_at FROM discussions")).mappings().all()
    insert = sqlalchemy.text("INSERT INTO discussion_events(repo_id, num, seq, id, kind, author, created_at, data) "
                             "VALUES(:repo_id, :num, 1, :id, 'comment', :author, :created_at, :data)")
    for row in rows:
        data = {"raw": row["description"], "hidden": False, "history": [], "editedAt": None, "editor": None}
        bind.execute(insert, {"repo_id": row["repo_id"], "num": row["num"], "id": secrets.token_hex(12),
                              "author": row["author"], "created_at": row["created_at"], "data": json.dumps(data)})


def downgrade() -> None:
    for statement in ("DROP TABLE access_requests", "DROP TABLE discussion_events",
                      "ALTER TABLE discussions DROP COLUMN merge_commit", "ALTER TABLE repos DROP COLUMN gated"):
        op.execute(statement)
