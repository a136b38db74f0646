"""backfill users.email_normalized in batches

Data migration. Fills ``users.email_normalized`` with the form the
application compares logins with: Unicode NFKC (so a full-width
``Ａlice@example.com`` typed on a phone matches), surrounding spaces
stripped, lower-cased. The rule is Python's, so the values are computed here
rather than in SQL.

Why batches: one ``UPDATE users SET ...`` would hold row locks on every user
and write the whole table in a single transaction for as long as it runs.
Instead:

1. read the next batch of users still to fill, by key:
   ``WHERE user_id > :cursor AND email_normalized IS NULL ORDER BY user_id LIMIT n``;
2. normalise their e-mails in Python;
3. write the batch with one UPDATE ... FROM unnest(...) statement, which
   commits on its own (the loop runs inside ``autocommit_block()``);
4. move the cursor to the batch's last ``user_id`` and repeat until empty.

Each batch commits, so a run that dies part-way keeps what it wrote and a
rerun continues with the rows still NULL. Batch size: ``-x batch_size=N``
(default 1000).

In offline mode (``--sql``) nothing can be read, so the script gets one
set-based UPDATE using PostgreSQL's ``normalize(..., NFKC)``; run it in a
quiet window or split it by hand.

The downgrade empties the column again (in batches as well); 5b8e1d07a3c6
drops it.

Revision ID: 9c0f4a6e2d18
Revises: 5b8e1d07a3c6
Create Date: 2025-12-02 09:25:00.000000

"""
import logging
import unicodedata
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import context, op

# revision identifiers, used by Alembic.
revision: str = "9c0f4a6e2d18"
down_revision: str | Sequence[str] | None = "5b8e1d07a3c6"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DEFAULT_BATCH_SIZE = 1000
log = logging.getLogger("alembic.runtime.migration")

# A lightweight table: the migration must not depend on application models.
users = sa.table(
    "users",
    sa.column("user_id", sa.String()),
    sa.column("email", sa.String()),
    sa.column("email_normalized", sa.String()),
)

WRITE_BATCH = sa.text(
    "UPDATE users AS u SET email_normalized = v.email_normalized"
    " FROM unnest(CAST(:user_ids AS text[]), CAST(:normalized AS text[])) AS v(user_id, email_normalized)"
    " WHERE u.user_id = v.user_id AND u.email_normalized IS NULL"
)
CLEAR_BATCH = sa.text(
    "UPDATE users SET email_normalized = NULL WHERE user_id IN"
    " (SELECT user_id FROM users WHERE email_normalized IS NOT NULL ORDER BY user_id LIMIT :n)"
)


def normalize_email(email: str) -> str:
    """The application's comparison form of an address.

    >>> normalize_email("  Ａlice@Example.COM ")
    'alice@example.com'
    """
    return unicodedata.normalize("NFKC", email).strip().lower()


def batch_size() -> int:
    size = int(context.get_x_argument(as_dictionary=True).get("batch_size", DEFAULT_BATCH_SIZE))
    if size < 1:
        raise ValueError(f"batch_size must be at least 1, not {size}")
    return size


def upgrade() -> None:
    if context.is_offline_mode():
        op.execute(
            users.update()
            .where(users.c.email_normalized.is_(None), users.c.email.is_not(None))
            .values(email_normalized=sa.func.lower(sa.func.btrim(sa.func.normalize(users.c.email, sa.text("NFKC")))))
        )
        return
    size, cursor, done = batch_size(), None, 0
    with op.get_context().autocommit_block():
        bind = op.get_bind()
        while True:
            query = (
                sa.select(users.c.user_id, users.c.email)
                .where(users.c.email_normalized.is_(None), users.c.email.is_not(None))
                .order_by(users.c.user_id)
                .limit(size)
            )
            if cursor is not None:
                query = query.where(users.c.user_id > cursor)
            rows = bind.execute(query).all()
            if not rows:
                break
            bind.execute(
                WRITE_BATCH,
                {"user_ids": [r.user_id for r in rows], "normalized": [normalize_email(r.email) for r in rows]},
            )
            cursor, done = rows[-1].user_id, done + len(rows)
            log.info("email_normalized: %d users filled (batch of %d)", done, len(rows))


def downgrade() -> None:
    if context.is_offline_mode():
        op.execute(users.update().where(users.c.email_normalized.is_not(None)).values(email_normalized=None))
        return
    size = batch_size()
    with op.get_context().autocommit_block():
        bind = op.get_bind()
        cleared = size
        while cleared:
            cleared = bind.execute(CLEAR_BATCH, {"n": size}).rowcount
