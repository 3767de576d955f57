"""Users and organisations (namespaces) and who belongs to which organisation."""

from __future__ import annotations

import time

from modelyard.server.storage.database import Database
from modelyard.server.storage.sql import Row


class Accounts:
    def __init__(self, db: Database) -> None:
        self._db = db

    def namespace_kind(self, name: str) -> str | None:
        """``"user"``, ``"org"``, or None when nobody holds ``name`` (case-insensitive)."""
        row = self._db.conn().execute("SELECT kind FROM namespaces WHERE name=?", (name,)).fetchone()
        return row["kind"] if row else None

    def canonical_namespace(self, name: str) -> str | None:
        """``name`` as it was registered (case-insensitive lookup)."""
        row = self._db.conn().execute("SELECT name FROM namespaces WHERE name=?", (name,)).fetchone()
        return row["name"] if row else None

    def add_namespace(self, name: str, kind: str, fullname: str = "") -> None:
        with self._db.transaction() as db:
            taken = db.execute("SELECT kind FROM namespaces WHERE name=?", (name,)).fetchone()
            if taken:
                raise ValueError(f"The name {name!r} is already taken by a {taken['kind']}; choose another name.")
            db.execute("INSERT INTO namespaces(name, kind, fullname, created_at) VALUES(?,?,?,?)",
                       (name, kind, fullname, time.time()))

    def default_private(self, name: str) -> bool:
        """Whether repositories created in namespace ``name`` without a visibility are private."""
        row = self._db.conn().execute("SELECT default_private FROM namespaces WHERE name=?", (name,)).fetchone()
        return bool(row and row["default_private"])

    def set_default_private(self, org: str, private: bool) -> None:
        if self.namespace_kind(org) != "org":
            raise ValueError(f"Organisation {org!r} does not exist; create it with `modelyard hub org add {org}`.")
        with self._db.transaction() as db:
            db.execute("UPDATE namespaces SET default_private=? WHERE name=?", (int(private), org))

    def fullname(self, name: str) -> str:
        row = self._db.conn().execute("SELECT fullname FROM namespaces WHERE name=?", (name,)).fetchone()
        return row["fullname"] if row else ""

    def add_member(self, org: str, user: str) -> None:
        if self.namespace_kind(org) != "org":
            raise ValueError(f"Organisation {org!r} does not exist; create it with `modelyard hub org add {org}`.")
        if self.namespace_kind(user) != "user":
            raise ValueError(f"User {user!r} does not exist; create it with `modelyard hub user add {user}`.")
        with self._db.transaction() as db:
            db.execute('INSERT INTO members(org, "user") VALUES(?,?) ON CONFLICT DO NOTHING', (org, user))

    def user_orgs(self, user: str) -> tuple[str, ...]:
        rows = self._db.conn().execute(
            "SELECT n.name FROM members m JOIN namespaces n ON n.name = m.org WHERE m.\"user\"=? ORDER BY n.name",
            (user,)).fetchall()
        return tuple(r["name"] for r in rows)

    def org_members(self, org: str) -> list[str]:
        rows = self._db.conn().execute('SELECT "user" FROM members WHERE org=? ORDER BY lower("user")', (org,)).fetchall()
        return [r["user"] for r in rows]

    def list_namespaces(self) -> list[Row]:
        return self._db.conn().execute("SELECT * FROM namespaces ORDER BY kind, name").fetchall()
