"""add users.email_normalized

Expand step of an expand/contract change: logins compare e-mail addresses
case- and width-insensitively, so the application will look users up by a
normalised copy. The column is nullable and has no default, so adding it is
a catalog-only change that does not rewrite or long-lock ``users``. The next
revision fills it in batches; c41d7e2a9b53 indexes it.

No data loss on downgrade: it drops a derived column, whose values the
next revision recomputes from ``email``.

Revision ID: 5b8e1d07a3c6
Revises: 3f1c9a2b7d40
Create Date: 2025-12-02 09:10:00.000000

"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "5b8e1d07a3c6"
down_revision: str | Sequence[str] | None = "3f1c9a2b7d40"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "users",
        sa.Column(
            "email_normalized",
            sa.String(),
            nullable=True,
            comment="NFKC-normalised, trimmed, lower-cased email; filled by 9c0f4a6e2d18",
        ),
    )


def downgrade() -> None:
    op.drop_column("users", "email_normalized")
