"""add token_pricing.currency

Second side of the branch that starts at c41d7e2a9b53 (the other side is
e2a96b3f0c17); merged by f08b3a5d6e21. Label: ``pricing``, so
``alembic upgrade pricing`` applies this revision without the devices side.

The currency the provider bills the model in, ISO 4217. With a constant
default, PostgreSQL 11+ adds the column without rewriting the table, and
every existing price reads as USD, which is what they were.

Data loss on downgrade: drops column token_pricing.currency and its values;
prices entered in other currencies are then indistinguishable from USD ones.

Revision ID: 1d5c8f4e7a92
Revises: c41d7e2a9b53
Create Date: 2025-12-11 10:40:00.000000

"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "1d5c8f4e7a92"
down_revision: str | Sequence[str] | None = "c41d7e2a9b53"
branch_labels: str | Sequence[str] | None = ("pricing",)
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "token_pricing",
        sa.Column("currency", sa.CHAR(3), nullable=False, server_default="USD", comment="ISO 4217 code"),
    )
    # NOT VALID, then VALIDATE: the scan of existing rows runs under a lock
    # that lets reads and writes go on, instead of ACCESS EXCLUSIVE.
    op.create_check_constraint(
        "ck_token_pricing_currency_iso4217", "token_pricing", "currency ~ '^[A-Z]{3}$'", postgresql_not_valid=True
    )
    op.execute("ALTER TABLE token_pricing VALIDATE CONSTRAINT ck_token_pricing_currency_iso4217")


def downgrade() -> None:
    op.drop_constraint("ck_token_pricing_currency_iso4217", "token_pricing", type_="check")
    op.drop_column("token_pricing", "currency")
