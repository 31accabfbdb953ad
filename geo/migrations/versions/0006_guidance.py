"""guidance

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02

Business guidance articles and attachments (R1).
"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def _stamps():
    return [sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
            sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False)]


def upgrade() -> None:
    from sqlalchemy.dialects import postgresql
    op.execute('CREATE SCHEMA IF NOT EXISTS guidance')
    op.create_table(
        'category',
        sa.Column('code', sa.String(32), primary_key=True),
        sa.Column('name', sa.String(40), nullable=False),
        sa.Column('parent_code', sa.String(32),
                  sa.ForeignKey('guidance.category.code', name='fk_category_parent_code_category')),
        sa.Column('sort', sa.Integer(), server_default='0', nullable=False),
        sa.Column('version', sa.Integer(), server_default='1', nullable=False),
        *_stamps(),
        schema='guidance')
    op.create_index('ix_category_parent_code', 'category', ['parent_code'], schema='guidance')
    op.create_table(
        'article',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('category_code', sa.String(32),
                  sa.ForeignKey('guidance.category.code', name='fk_article_category_code_category'), nullable=False),
        sa.Column('title', sa.String(200), nullable=False),
        sa.Column('summary', sa.String(1000)),
        sa.Column('body', sa.Text(), server_default='', nullable=False),
        sa.Column('source', sa.String(100)),
        sa.Column('doc_no', sa.String(80)),
        sa.Column('effective_date', sa.Date()),
        sa.Column('status', sa.String(12), server_default='draft', nullable=False),
        sa.Column('pinned', sa.Boolean(), server_default='false', nullable=False),
        sa.Column('published_at', sa.DateTime(timezone=True)),
        sa.Column('author_id', sa.Integer(),
                  sa.ForeignKey('admin.user.id', name='fk_article_author_id_user', ondelete='SET NULL')),
        sa.Column('author_name', sa.String(40)),
        sa.Column('dept_code', sa.String(20),
                  sa.ForeignKey('admin.department.code', name='fk_article_dept_code_department')),
        sa.Column('view_count', sa.Integer(), server_default='0', nullable=False),
        sa.Column('visible_roles', postgresql.ARRAY(sa.String(30)), server_default='{}', nullable=False),
        sa.Column('visible_regions', postgresql.ARRAY(sa.String(12)), server_default='{}', nullable=False),
        sa.Column('search_vec', postgresql.TSVECTOR()),
        sa.Column('version', sa.Integer(), server_default='1', nullable=False),
        *_stamps(),
        sa.CheckConstraint("status in ('draft','published','withdrawn')", name='ck_article_status'),
        schema='guidance')
    op.create_index('ix_article_category_code', 'article', ['category_code'], schema='guidance')
    # The list's order: pinned first, newest first.
    op.create_index('ix_article_list', 'article', ['status', sa.text('pinned DESC'), sa.text('published_at DESC')],
                    schema='guidance')
    op.create_index('ix_article_search_vec', 'article', ['search_vec'], schema='guidance', postgresql_using='gin')
    op.create_table(
        'attachment',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('article_id', sa.Integer(),
                  sa.ForeignKey('guidance.article.id', name='fk_attachment_article_id_article', ondelete='CASCADE'),
                  nullable=False),
        sa.Column('filename', sa.String(255), nullable=False),
        sa.Column('relpath', sa.String(300), nullable=False),
        sa.Column('sha256', sa.String(64), nullable=False),
        sa.Column('size', sa.BigInteger(), nullable=False),
        sa.Column('mime', sa.String(120), nullable=False),
        sa.Column('uploaded_by', sa.String(40)),
        sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        schema='guidance')
    op.create_index('ix_attachment_article_id', 'attachment', ['article_id'], schema='guidance')


def downgrade() -> None:
    op.drop_table('attachment', schema='guidance')
    op.drop_table('article', schema='guidance')
    op.drop_table('category', schema='guidance')
    op.execute('DROP SCHEMA IF EXISTS guidance')
