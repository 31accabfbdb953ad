"""roles menus settings

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02

Roles editable with data scope, the menu tree (web and mobile), settings
and the user's forced password change.
"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    from sqlalchemy.dialects import postgresql
    op.add_column('role', sa.Column('remark', sa.String(200)), schema='admin')
    op.add_column('role', sa.Column('sort', sa.Integer(), server_default='0', nullable=False), schema='admin')
    op.add_column('role', sa.Column('builtin', sa.Boolean(), server_default='false', nullable=False), schema='admin')
    op.add_column('user', sa.Column('must_change_password', sa.Boolean(), server_default='false', nullable=False),
                  schema='admin')
    op.add_column('user', sa.Column('password_changed_at', sa.DateTime(timezone=True)), schema='admin')
    op.create_table(
        'menu',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('parent_id', sa.Integer(), sa.ForeignKey('admin.menu.id', name='fk_menu_parent_id_menu')),
        sa.Column('platform', sa.String(10), server_default='web', nullable=False),
        sa.Column('kind', sa.String(10), nullable=False),
        sa.Column('name', sa.String(40), nullable=False),
        sa.Column('endpoint', sa.String(120)),
        sa.Column('permission', sa.String(80)),
        sa.Column('icon', sa.String(40)),
        sa.Column('sort', sa.Integer(), server_default='0', nullable=False),
        sa.Column('visible', sa.Boolean(), server_default='true', nullable=False),
        sa.Column('version', sa.Integer(), server_default='1', nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.CheckConstraint("kind in ('dir','page','button')", name='ck_menu_kind'),
        sa.CheckConstraint("platform in ('web','mobile')", name='ck_menu_platform'),
        schema='admin')
    op.create_index('ix_menu_parent_id', 'menu', ['parent_id'], schema='admin')
    op.create_table(
        'setting',
        sa.Column('key', sa.String(60), primary_key=True),
        sa.Column('value', postgresql.JSONB(), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column('updated_by', sa.String(40)),
        schema='admin')


def downgrade() -> None:
    op.drop_table('setting', schema='admin')
    op.drop_index('ix_menu_parent_id', table_name='menu', schema='admin')
    op.drop_table('menu', schema='admin')
    op.drop_column('user', 'password_changed_at', schema='admin')
    op.drop_column('user', 'must_change_password', schema='admin')
    op.drop_column('role', 'builtin', schema='admin')
    op.drop_column('role', 'sort', schema='admin')
    op.drop_column('role', 'remark', schema='admin')
