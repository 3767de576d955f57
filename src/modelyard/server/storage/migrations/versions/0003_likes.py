"""0003: likes (a user's like of a repository) and an organisation's private-by-default setting.

``likes`` rows belong to a repository (``repo_id``; deleting it clears them) and to a user; ``created_at`` orders
a user's list of likes. ``namespaces.default_private``: repositories an organisation creates without saying
``private`` or ``visibility`` are private when it is 1 (the Hugging Face Hub's organisation setting).
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

SQLITE = (
    'CREATE TABLE IF NOT EXISTS likes("user" TEXT NOT NULL COLLATE NOCASE, repo_id INTEGER NOT NULL, '
    'created_at REAL NOT NULL, PRIMARY KEY("user", repo_id))',
    "CREATE INDEX IF NOT EXISTS likes_repo ON likes(repo_id)",
    "ALTER TABLE namespaces ADD COLUMN default_private INTEGER NOT NULL DEFAULT 0",
)
POSTGRES = (
    'CREATE TABLE likes("user" CITEXT NOT NULL, repo_id BIGINT NOT NULL, created_at DOUBLE PRECISION NOT NULL, '
    'PRIMARY KEY("user", repo_id))',
    "CREATE INDEX likes_repo ON likes(repo_id)",
    "ALTER TABLE namespaces ADD COLUMN default_private INTEGER NOT NULL DEFAULT 0",
)


def upgrade() -> None:
    statements = POSTGRES if op.get_bind().dialect.name == "postgresql" else SQLITE
    for statement in statements:
        op.execute(statement)


def downgrade() -> None:
    op.execute("DROP TABLE likes")
    op.execute("ALTER TABLE namespaces DROP COLUMN default_private")
