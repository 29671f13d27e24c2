"""webhook_endpoints.listening_snapshot: events go to an endpoint only from transactions
that had not committed when it was created enabled or last enabled

Re-enabling moved the tenant's dispatch position to the oldest running transaction,
which another session's long transaction can hold behind events committed while the
endpoint was off: those were then delivered.

Revision ID: 9e2b7c4d1a08
Revises: 8d4a6e1f2c57
Create Date: 2026-12-07 23:45:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "9e2b7c4d1a08"
down_revision: str | None = "8d4a6e1f2c57"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("webhook_endpoints", sa.Column("listening_snapshot", sa.Text(), nullable=True))


def downgrade() -> None:
    op.drop_column("webhook_endpoints", "listening_snapshot")
