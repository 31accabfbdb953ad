"""cases calendar time limits

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02

Working calendar, working hours and time limits per class and stage.
"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def _stamps():
    return [sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
            sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False)]


def upgrade() -> None:
    op.execute('CREATE SCHEMA IF NOT EXISTS cases')  # 0007 may have created it already
    # Exceptions to the default week (Mon–Fri): statutory holidays and 调休 make-up workdays.
    op.create_table(
        'calendar_day',
        sa.Column('day', sa.Date(), primary_key=True),
        sa.Column('is_workday', sa.Boolean(), nullable=False),
        sa.Column('note', sa.String(100), server_default='', nullable=False),
        *_stamps(),
        schema='cases')
    op.create_table(
        'work_period',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('start_time', sa.Time(), nullable=False),
        sa.Column('end_time', sa.Time(), nullable=False),
        *_stamps(),
        sa.CheckConstraint('end_time > start_time', name='ck_work_period_order'),
        schema='cases')
    op.create_table(
        'time_limit',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('kind', sa.String(10), nullable=False),
        sa.Column('class_code', sa.String(4), nullable=False),
        sa.Column('stage', sa.String(12), nullable=False),
        sa.Column('hours', sa.Numeric(7, 2), nullable=False),
        sa.Column('natural_time', sa.Boolean(), server_default='false', nullable=False),
        sa.Column('warn_ratio', sa.Numeric(3, 2), server_default='0.20', nullable=False),
        sa.Column('note', sa.String(200), server_default='', nullable=False),
        sa.Column('version', sa.Integer(), server_default='1', nullable=False),
        *_stamps(),
        sa.UniqueConstraint('kind', 'class_code', 'stage', name='uq_time_limit_kind_class_code_stage'),
        sa.CheckConstraint("kind in ('component','event')", name='ck_time_limit_kind'),
        sa.CheckConstraint("class_code = '*' OR class_code ~ '^[0-9]{2}([0-9]{2})?$'", name='ck_time_limit_class_code'),
        sa.CheckConstraint("stage in ('accept','verify','file','dispatch','handle','check','close')",
                           name='ck_time_limit_stage'),
        sa.CheckConstraint('hours > 0 AND hours <= 2000', name='ck_time_limit_hours'),
        sa.CheckConstraint('warn_ratio > 0 AND warn_ratio < 1', name='ck_time_limit_warn_ratio'),
        schema='cases')


def downgrade() -> None:
    op.drop_table('time_limit', schema='cases')
    op.drop_table('work_period', schema='cases')
    op.drop_table('calendar_day', schema='cases')
    # The schema stays: 0007's tables live there too.
