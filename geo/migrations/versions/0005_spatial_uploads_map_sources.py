"""spatial uploads map sources

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02

Uploaded spatial layers and map sources (R8).
"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def _stamps():
    return [sa.Column('version', sa.Integer(), server_default='1', nullable=False),
            sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
            sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False)]


def upgrade() -> None:
    from sqlalchemy.dialects import postgresql
    # Tables of layers uploaded through the admin page live apart from the
    # shipped model, so dropping one can never touch geo.* data.
    op.execute("CREATE SCHEMA IF NOT EXISTS userdata")
    op.create_table(
        'spatial_layer',
        sa.Column('id', sa.String(40), primary_key=True),
        sa.Column('title', sa.String(80), nullable=False),
        sa.Column('description', sa.Text()),
        sa.Column('table_name', sa.String(80), nullable=False, unique=True),
        sa.Column('source_file', sa.String(255), nullable=False),
        sa.Column('source_path', sa.String(255)),
        sa.Column('source_layer', sa.String(120)),
        sa.Column('format', sa.String(20), nullable=False),
        sa.Column('crs', sa.String(40), nullable=False),
        sa.Column('crs_detected', sa.Boolean(), server_default='false', nullable=False),
        sa.Column('geometry_type', sa.String(20), nullable=False),
        sa.Column('feature_count', sa.Integer(), nullable=False),
        sa.Column('repaired_count', sa.Integer(), server_default='0', nullable=False),
        sa.Column('access', sa.String(10), nullable=False),
        sa.Column('fields', postgresql.JSONB(), server_default='[]', nullable=False),
        sa.Column('style', postgresql.JSONB(), server_default='{}', nullable=False),
        sa.Column('bbox', postgresql.JSONB()),
        sa.Column('created_by', sa.String(40)),
        *_stamps(),
        sa.CheckConstraint("access in ('public','internal')", name='ck_spatial_layer_access'),
        sa.CheckConstraint("format in ('shapefile','gpkg','geojson','csv')", name='ck_spatial_layer_format'),
        schema='admin')
    op.create_table(
        'map_source',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('name', sa.String(60), nullable=False, unique=True),
        sa.Column('kind', sa.String(10), nullable=False),
        sa.Column('url', sa.String(500)),
        sa.Column('wms_layers', sa.String(200)),
        sa.Column('wms_format', sa.String(40)),
        sa.Column('tdt_layer', sa.String(3)),
        sa.Column('tdt_annotation', sa.Boolean(), server_default='true', nullable=False),
        sa.Column('tdt_key', sa.String(32)),
        sa.Column('attribution', sa.String(200)),
        sa.Column('min_zoom', sa.Integer(), server_default='0', nullable=False),
        sa.Column('max_zoom', sa.Integer(), server_default='18', nullable=False),
        sa.Column('crs_note', sa.String(100)),
        sa.Column('enabled', sa.Boolean(), server_default='true', nullable=False),
        sa.Column('is_default', sa.Boolean(), server_default='false', nullable=False),
        sa.Column('sort', sa.Integer(), server_default='0', nullable=False),
        *_stamps(),
        sa.CheckConstraint("kind in ('offline','tianditu','xyz','wms')", name='ck_map_source_kind'),
        sa.CheckConstraint("tdt_layer is null or tdt_layer in ('vec','img','ter')", name='ck_map_source_tdt_layer'),
        sa.CheckConstraint("min_zoom between 0 and 22 and max_zoom between min_zoom and 22",
                           name='ck_map_source_zoom'),
        sa.CheckConstraint("not is_default or enabled", name='ck_map_source_default_enabled'),
        schema='admin')
    # At most one default at the database level; the API keeps exactly one.
    op.create_index('ux_map_source_default', 'map_source', ['is_default'], unique=True, schema='admin',
                    postgresql_where=sa.text('is_default'))


def downgrade() -> None:
    op.drop_index('ux_map_source_default', table_name='map_source', schema='admin')
    op.drop_table('map_source', schema='admin')
    op.drop_table('spatial_layer', schema='admin')
    op.execute("DROP SCHEMA IF EXISTS userdata CASCADE")
