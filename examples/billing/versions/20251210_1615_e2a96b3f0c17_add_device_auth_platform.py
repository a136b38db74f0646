"""add device_auth.platform

First side of a branch: this revision and 1d5c8f4e7a92 were written in
parallel by two teams, both on top of c41d7e2a9b53, so the project had two
heads ("Multiple head revisions are present") until f08b3a5d6e21 merged
them. Label: ``devices``.

Records which kind of client a device is, as a PostgreSQL enum type
``device_platform`` that the pricing side (7b3e0a9c5d21) reuses. NULL means
the device registered before the column existed.

Data loss on downgrade: drops column device_auth.platform and its values,
and the device_platform type.

Revision ID: e2a96b3f0c17
Revises: c41d7e2a9b53
Create Date: 2025-12-10 16:15:00.000000

"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision: str = "e2a96b3f0c17"
down_revision: str | Sequence[str] | None = "c41d7e2a9b53"
branch_labels: str | Sequence[str] | None = ("devices",)
depends_on: str | Sequence[str] | None = None

device_platform = postgresql.ENUM(
    "ios", "android", "web", "desktop", name="device_platform", create_type=False
)


def upgrade() -> None:
    device_platform.create(op.get_bind(), checkfirst=False)
    op.add_column("device_auth", sa.Column("platform", device_platform, nullable=True))


def downgrade() -> None:
    op.drop_column("device_auth", "platform")
    device_platform.drop(op.get_bind(), checkfirst=False)
