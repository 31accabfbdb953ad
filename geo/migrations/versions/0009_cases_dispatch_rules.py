"""cases dispatch rules

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02

Auto-registration rules and the responsibility list (权责清单).
"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
