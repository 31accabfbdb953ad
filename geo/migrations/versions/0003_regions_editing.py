"""regions editing

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02

Region boundary editing (R90).
"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Nothing to create: boundary edits reuse geo.region / geo.unit_grid (their
    # `version` column is the optimistic lock) and every edit is kept, with the
    # geometry before and after, in admin.operation_log (action update_boundary).
    pass


def downgrade() -> None:
    pass
