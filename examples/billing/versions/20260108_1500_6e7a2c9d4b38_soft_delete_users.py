"""soft-delete users

Deleting a user cascades to their devices, credits, balances and
transactions (3f1c9a2b7d40), which erases the ledger that accounting must
keep. From now on the application sets ``users.deleted_at`` instead and
filters on it.

Data loss on downgrade: drops column users.deleted_at and its values;
soft-deleted users become active again, and which ones were deleted (and
when) is lost. Export ``SELECT user_id, deleted_at FROM users WHERE
deleted_at IS NOT NULL`` first if that must be kept.

Revision ID: 6e7a2c9d4b38
Revises: f08b3a5d6e21
Create Date: 2026-01-08 15:00:00.000000

"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "6e7a2c9d4b38"
down_revision: str | Sequence[str] | None = "f08b3a5d6e21"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "users",
        sa.Column(
            "deleted_at",
            sa.DateTime(timezone=True),
            nullable=True,
            comment="set instead of deleting the row; NULL means active",
        ),
    )


def downgrade() -> None:
    op.drop_column("users", "deleted_at")
