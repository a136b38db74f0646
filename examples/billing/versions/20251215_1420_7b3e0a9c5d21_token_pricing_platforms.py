"""limit token_pricing rows to platforms

On the ``pricing`` branch, after 1d5c8f4e7a92. Some models are only offered
on some clients; ``platforms`` lists them (NULL: every platform).

The column's type is the ``device_platform`` enum created on the other
branch (e2a96b3f0c17). Rather than merging early, this revision names it in
``depends_on``: Alembic then always applies e2a96b3f0c17 before this one
(and downgrades this one first), while the two branches stay separate until
f08b3a5d6e21.

Data loss on downgrade: drops column token_pricing.platforms and its values
(every model becomes available on every platform again).

Revision ID: 7b3e0a9c5d21
Revises: 1d5c8f4e7a92
Create Date: 2025-12-15 14:20:00.000000

"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision: str = "7b3e0a9c5d21"
down_revision: str | Sequence[str] | None = "1d5c8f4e7a92"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = "e2a96b3f0c17"

device_platform = postgresql.ENUM(name="device_platform", create_type=False)


def upgrade() -> None:
    op.add_column(
        "token_pricing",
        sa.Column(
            "platforms",
            postgresql.ARRAY(device_platform),
            nullable=True,
            comment="platforms the model is offered on; NULL means all",
        ),
    )


def downgrade() -> None:
    op.drop_column("token_pricing", "platforms")
