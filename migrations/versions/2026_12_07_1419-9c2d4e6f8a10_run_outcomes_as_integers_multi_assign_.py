"""run outcomes as integers (multi-assign masks)

A multi-assign tree's outcome is a set of categories, kept as a bit mask of up to 31
categories (and of up to 31 rules), which needs integers; a smallint holds 15 bits.

Revision ID: 9c2d4e6f8a10
Revises: 5b0c7e2d9a41
Create Date: 2026-12-07 14:19:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "9c2d4e6f8a10"
down_revision: str | None = "5b0c7e2d9a41"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.alter_column(
        "run_results",
        "outcome",
        existing_type=postgresql.ARRAY(sa.SmallInteger()),
        type_=postgresql.ARRAY(sa.Integer()),
        existing_nullable=False,
    )


def downgrade() -> None:
    # Masks above 15 bits do not fit back: such runs' results must be pruned first.
    op.alter_column(
        "run_results",
        "outcome",
        existing_type=postgresql.ARRAY(sa.Integer()),
        type_=postgresql.ARRAY(sa.SmallInteger()),
        existing_nullable=False,
    )
