"""index users.email_normalized concurrently

A plain CREATE INDEX blocks every INSERT, UPDATE and DELETE on ``users``
while it builds. CREATE INDEX CONCURRENTLY does not, but PostgreSQL refuses
to run it inside a transaction block, so it runs inside
``autocommit_block()``: Alembic commits the revisions before it, runs the
statement on its own, and carries on. In ``--sql`` output this shows up as a
COMMIT before the statement and a BEGIN after it.

A concurrent build that fails (a deadlock, a cancel) leaves an INVALID index
behind, and a second CREATE would then fail on the name; the upgrade drops
such a leftover first so that a rerun succeeds.

Revision ID: c41d7e2a9b53
Revises: 9c0f4a6e2d18
Create Date: 2025-12-03 11:00:00.000000

"""
from collections.abc import Sequence

from alembic import op

# revision identifiers, used by Alembic.
revision: str = "c41d7e2a9b53"
down_revision: str | Sequence[str] | None = "9c0f4a6e2d18"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEX = "ix_users_email_normalized"


def upgrade() -> None:
    with op.get_context().autocommit_block():
        op.drop_index(INDEX, table_name="users", postgresql_concurrently=True, if_exists=True)
        op.create_index(INDEX, "users", ["email_normalized"], postgresql_concurrently=True)


def downgrade() -> None:
    with op.get_context().autocommit_block():
        op.drop_index(INDEX, table_name="users", postgresql_concurrently=True, if_exists=True)
