"""workflow defs mobile

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02

Workflow definitions (R92) and mobile app versions (R93).
"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def _stamps():
    return [sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
            sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False)]


def upgrade() -> None:
    op.create_table(
        'process_definition',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('process_key', sa.String(100), nullable=False),
        sa.Column('name', sa.String(200), nullable=False),
        sa.Column('category', sa.String(40), nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('bpmn_xml', sa.Text(), nullable=False),
        sa.Column('sha256', sa.String(64), nullable=False),
        sa.Column('status', sa.String(12), nullable=False),
        sa.Column('remark', sa.String(500)),
        sa.Column('deployed_by', sa.String(40)),
        sa.Column('deployed_at', sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        *_stamps(),
        sa.UniqueConstraint('process_key', 'version', name='uq_process_definition_process_key_version'),
        sa.CheckConstraint("status in ('active','superseded','suspended')", name='ck_process_definition_status'),
        sa.CheckConstraint('version >= 1', name='ck_process_definition_version_positive'),
        schema='admin')
    # At most one version per key serves new cases.
    op.create_index('ux_process_definition_active', 'process_definition', ['process_key'], unique=True,
                    postgresql_where=sa.text("status = 'active'"), schema='admin')
    op.create_index('ix_process_definition_category', 'process_definition', ['category'], schema='admin')

    op.create_table(
        'app_version',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('app_code', sa.String(20), nullable=False),
        sa.Column('platform', sa.String(10), nullable=False),
        sa.Column('version_name', sa.String(40), nullable=False),
        sa.Column('version_code', sa.Integer(), nullable=False),
        sa.Column('package_relpath', sa.String(200), nullable=False),
        sa.Column('package_name', sa.String(200), nullable=False),
        sa.Column('package_size', sa.BigInteger(), nullable=False),
        sa.Column('package_sha256', sa.String(64), nullable=False),
        sa.Column('release_notes', sa.Text(), server_default='', nullable=False),
        sa.Column('force_update', sa.Boolean(), server_default='false', nullable=False),
        sa.Column('min_supported_code', sa.Integer(), server_default='0', nullable=False),
        sa.Column('status', sa.String(12), server_default='draft', nullable=False),
        sa.Column('published_at', sa.DateTime(timezone=True)),
        sa.Column('created_by', sa.String(40)),
        sa.Column('version', sa.Integer(), server_default='1', nullable=False),
        *_stamps(),
        sa.UniqueConstraint('app_code', 'platform', 'version_code', name='uq_app_version_app_code_platform_version_code'),
        sa.CheckConstraint("app_code in ('chengguantong','handler','public')", name='ck_app_version_app_code'),
        sa.CheckConstraint("platform in ('android','ios','harmony')", name='ck_app_version_platform'),
        sa.CheckConstraint("status in ('draft','published','withdrawn')", name='ck_app_version_status'),
        sa.CheckConstraint('version_code >= 1 AND min_supported_code >= 0 AND min_supported_code <= version_code',
                           name='ck_app_version_codes'),
        schema='admin')


def downgrade() -> None:
    op.drop_table('app_version', schema='admin')
    op.drop_index('ix_process_definition_category', table_name='process_definition', schema='admin')
    op.drop_index('ux_process_definition_active', table_name='process_definition', schema='admin')
    op.drop_table('process_definition', schema='admin')
