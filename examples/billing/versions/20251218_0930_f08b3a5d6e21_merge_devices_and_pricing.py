"""merge devices and pricing branches

Merge point: ``down_revision`` is a tuple of the two heads (e2a96b3f0c17 on
``devices``, 7b3e0a9c5d21 on ``pricing``), the revision ``alembic merge
heads`` writes. After it the project has one head again, and
``alembic upgrade head`` works without naming a branch.

Merges usually carry no schema change. This one adds the view that needed
both sides: which active model can be used from which platform, at what
price and in what currency.

Revision ID: f08b3a5d6e21
Revises: e2a96b3f0c17, 7b3e0a9c5d21
Create Date: 2025-12-18 09:30:00.000000

"""
from collections.abc import Sequence

from alembic import op

# revision identifiers, used by Alembic.
revision: str = "f08b3a5d6e21"
down_revision: str | Sequence[str] | None = ("e2a96b3f0c17", "7b3e0a9c5d21")
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        """
        CREATE VIEW model_availability AS
        SELECT p.model_id, p.model_name, pl.platform, p.credit_per_token, p.currency
          FROM token_pricing AS p
         CROSS JOIN unnest(enum_range(NULL::device_platform)) AS pl(platform)
         WHERE p.is_active
           AND (p.platforms IS NULL OR pl.platform = ANY (p.platforms))
        """
    )


def downgrade() -> None:
    op.execute("DROP VIEW model_availability")
