"""change requests keep the key they were filed with

Four-eyes compared actor strings, so one delegating key could file a change without
X-Actor ("key:<prefix>") and approve it with one ("user:x"). The key is the person unless
a delegating key names its user both times; comparing that needs the submitting key.
Existing requests filed without X-Actor get their key back from the prefix in
submitted_by; those filed for a user keep none (the names alone decide for them).

Revision ID: 5b0c7e2d9a41
Revises: 7b1e2c3d4f50
Create Date: 2026-12-07 14:00:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "5b0c7e2d9a41"
down_revision: str | None = "7b1e2c3d4f50"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("change_requests", sa.Column("submitted_by_key_id", sa.Uuid(), nullable=True))
    op.create_foreign_key(
        op.f("fk_change_requests_submitted_by_key_id_api_keys"),
        "change_requests",
        "api_keys",
        ["submitted_by_key_id"],
        ["id"],
        ondelete="SET NULL",
    )
    op.execute(
        "UPDATE change_requests AS r SET submitted_by_key_id = k.id FROM api_keys AS k"
        " WHERE k.tenant_id = r.tenant_id AND r.submitted_by = 'key:' || k.prefix"
    )


def downgrade() -> None:
    op.drop_constraint(
        op.f("fk_change_requests_submitted_by_key_id_api_keys"),
        "change_requests",
        type_="foreignkey",
    )
    op.drop_column("change_requests", "submitted_by_key_id")
