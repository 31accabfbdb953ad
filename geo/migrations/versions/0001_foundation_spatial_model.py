"""foundation spatial model

Revision ID: 0001
Revises: 
Create Date: 2026-11-24

Extensions, schemas `geo` and `admin`, the spatial model, GiST indexes on
every geometry, a trigram index for address search and one view per pipe
network (published as separate collections).
"""
from alembic import op
import sqlalchemy as sa
from geoalchemy2 import Geometry
from sqlalchemy.dialects import postgresql

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


SPATIAL = ["region", "unit_grid", "resp_grid", "component", "road", "river", "address", "poi",
           "pipe_node", "pipe", "bridge", "risk_point"]
NETWORKS = ["water", "rain", "sewage", "gas", "heating"]


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    op.execute("CREATE SCHEMA IF NOT EXISTS geo")
    op.execute("CREATE SCHEMA IF NOT EXISTS admin")
    op.create_table('department',
    sa.Column('code', sa.String(length=20), nullable=False),
    sa.Column('name', sa.String(length=80), nullable=False),
    sa.Column('parent_code', sa.String(length=20), nullable=True),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('region_code', sa.String(length=12), nullable=True),
    sa.Column('sort', sa.Integer(), server_default='0', nullable=False),
    sa.Column('version', sa.Integer(), server_default='1', nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['parent_code'], ['admin.department.code'], name=op.f('fk_department_parent_code_department')),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_department')),
    schema='admin'
    )
    op.create_table('login_log',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('username', sa.String(length=40), nullable=False),
    sa.Column('success', sa.Boolean(), nullable=False),
    sa.Column('reason', sa.String(length=80), nullable=True),
    sa.Column('ip', sa.String(length=64), nullable=True),
    sa.Column('user_agent', sa.String(length=300), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_login_log')),
    schema='admin'
    )
    op.create_table('operation_log',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('username', sa.String(length=40), nullable=True),
    sa.Column('action', sa.String(length=40), nullable=False),
    sa.Column('target_table', sa.String(length=80), nullable=True),
    sa.Column('target_id', sa.String(length=80), nullable=True),
    sa.Column('before', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('after', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('ip', sa.String(length=64), nullable=True),
    sa.Column('detail', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_operation_log')),
    schema='admin'
    )
    op.create_index(op.f('ix_operation_log_at'), 'operation_log', ['at'], unique=False, schema='admin')
    op.create_table('role',
    sa.Column('code', sa.String(length=30), nullable=False),
    sa.Column('name', sa.String(length=40), nullable=False),
    sa.Column('data_scope', sa.String(length=10), server_default='all', nullable=False),
    sa.Column('permissions', postgresql.ARRAY(sa.String(length=80)), server_default='{}', nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_role')),
    schema='admin'
    )
    op.create_geospatial_table('address',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('road_code', sa.String(length=20), nullable=True),
    sa.Column('road_name', sa.String(length=80), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('full_address', sa.String(length=200), nullable=False),
    sa.Column('community_code', sa.String(length=12), nullable=True),
    sa.Column('geom', Geometry(geometry_type='POINT', srid=4490, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry', nullable=False), nullable=False),
    sa.Column('version', sa.Integer(), server_default='1', nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_address')),
    sa.UniqueConstraint('code', name=op.f('uq_address_code')),
    schema='geo'
    )
    op.create_index(op.f('ix_address_road_code'), 'address', ['road_code'], unique=False, schema='geo')
    op.create_table('dict_type',
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=80), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_dict_type')),
    schema='geo'
    )
    op.create_geospatial_table('pipe_node',
    sa.Column('code', sa.String(length=20), nullable=False),
    sa.Column('network', sa.String(length=10), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('depth_m', sa.Float(), nullable=True),
    sa.Column('status', sa.String(length=10), server_default='正常', nullable=False),
    sa.Column('geom', Geometry(geometry_type='POINT', srid=4490, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry', nullable=False), nullable=False),
    sa.Column('version', sa.Integer(), server_default='1', nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("network in ('water', 'rain', 'sewage', 'gas', 'heating')", name=op.f('ck_pipe_node_network')),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_pipe_node')),
    schema='geo'
    )
    op.create_index(op.f('ix_pipe_node_network'), 'pipe_node', ['network'], unique=False, schema='geo')
    op.create_geospatial_table('poi',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('category', sa.String(length=40), nullable=False),
    sa.Column('address', sa.String(length=200), nullable=True),
    sa.Column('geom', Geometry(geometry_type='POINT', srid=4490, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry', nullable=False), nullable=False),
    sa.Column('version', sa.Integer(), server_default='1', nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_poi')),
    sa.UniqueConstraint('code', name=op.f('uq_poi_code')),
    schema='geo'
    )
    op.create_index(op.f('ix_poi_category'), 'poi', ['category'], unique=False, schema='geo')
    op.create_geospatial_table('region',
    sa.Column('code', sa.String(length=12), nullable=False),
    sa.Column('name', sa.String(length=80), nullable=False),
    sa.Column('level', sa.String(length=12), nullable=False),
    sa.Column('parent_code', sa.String(length=12), nullable=True),
    sa.Column('demo_code', sa.Boolean(), server_default='false', nullable=False),
    sa.Column('geom', Geometry(geometry_type='MULTIPOLYGON', srid=4490, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry', nullable=False), nullable=False),
    sa.Column('version', sa.Integer(), server_default='1', nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("level in ('county','street','community')", name=op.f('ck_region_level')),
    sa.ForeignKeyConstraint(['parent_code'], ['geo.region.code'], name=op.f('fk_region_parent_code_region')),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_region')),
    schema='geo'
    )
    op.create_geospatial_table('river',
    sa.Column('code', sa.String(length=20), nullable=False),
    sa.Column('name', sa.String(length=80), nullable=False),
    sa.Column('geom', Geometry(geometry_type='MULTILINESTRING', srid=4490, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry', nullable=False), nullable=False),
    sa.Column('version', sa.Integer(), server_default='1', nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_river')),
    schema='geo'
    )
    op.create_geospatial_table('road',
    sa.Column('code', sa.String(length=20), nullable=False),
    sa.Column('name', sa.String(length=80), nullable=False),
    sa.Column('grade', sa.String(length=10), nullable=False),
    sa.Column('width_m', sa.Float(), nullable=True),
    sa.Column('geom', Geometry(geometry_type='MULTILINESTRING', srid=4490, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry', nullable=False), nullable=False),
    sa.Column('version', sa.Integer(), server_default='1', nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_road')),
    schema='geo'
    )
    op.create_index(op.f('ix_road_name'), 'road', ['name'], unique=False, schema='geo')
    op.create_table('user',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('username', sa.String(length=40), nullable=False),
    sa.Column('display_name', sa.String(length=40), nullable=False),
    sa.Column('password_hash', sa.String(length=256), nullable=False),
    sa.Column('dept_code', sa.String(length=20), nullable=True),
    sa.Column('region_code', sa.String(length=12), nullable=True),
    sa.Column('phone', sa.String(length=20), nullable=True),
    sa.Column('enabled', sa.Boolean(), server_default='true', nullable=False),
    sa.Column('failed_logins', sa.Integer(), server_default='0', nullable=False),
    sa.Column('locked_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_login_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('version', sa.Integer(), server_default='1', nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['dept_code'], ['admin.department.code'], name=op.f('fk_user_dept_code_department')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_user')),
    sa.UniqueConstraint('username', name=op.f('uq_user_username')),
    schema='admin'
    )
    op.create_geospatial_table('bridge',
    sa.Column('code', sa.String(length=20), nullable=False),
    sa.Column('name', sa.String(length=80), nullable=False),
    sa.Column('structure', sa.String(length=20), nullable=True),
    sa.Column('length_m', sa.Float(), nullable=True),
    sa.Column('width_m', sa.Float(), nullable=True),
    sa.Column('spans', sa.SmallInteger(), nullable=True),
    sa.Column('build_year', sa.SmallInteger(), nullable=True),
    sa.Column('road_code', sa.String(length=20), nullable=True),
    sa.Column('river', sa.String(length=80), nullable=True),
    sa.Column('maintainer_dept', sa.String(length=20), nullable=True),
    sa.Column('geom', Geometry(geometry_type='LINESTRING', srid=4490, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry', nullable=False), nullable=False),
    sa.Column('version', sa.Integer(), server_default='1', nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['maintainer_dept'], ['admin.department.code'], name=op.f('fk_bridge_maintainer_dept_department')),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_bridge')),
    schema='geo'
    )
    op.create_geospatial_table('component',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('code', sa.String(length=16), nullable=False),
    sa.Column('class_code', sa.String(length=4), nullable=False),
    sa.Column('name', sa.String(length=80), nullable=False),
    sa.Column('status', sa.String(length=10), server_default='完好', nullable=False),
    sa.Column('owner_dept', sa.String(length=20), nullable=True),
    sa.Column('maintainer_dept', sa.String(length=20), nullable=True),
    sa.Column('grid_code', sa.String(length=15), nullable=True),
    sa.Column('address', sa.String(length=200), nullable=True),
    sa.Column('source', sa.String(length=10), server_default='实测', nullable=False),
    sa.Column('geom', Geometry(geometry_type='POINT', srid=4490, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry', nullable=False), nullable=False),
    sa.Column('version', sa.Integer(), server_default='1', nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['maintainer_dept'], ['admin.department.code'], name=op.f('fk_component_maintainer_dept_department')),
    sa.ForeignKeyConstraint(['owner_dept'], ['admin.department.code'], name=op.f('fk_component_owner_dept_department')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_component')),
    sa.UniqueConstraint('code', name=op.f('uq_component_code')),
    schema='geo'
    )
    op.create_index(op.f('ix_component_class_code'), 'component', ['class_code'], unique=False, schema='geo')
    op.create_index(op.f('ix_component_grid_code'), 'component', ['grid_code'], unique=False, schema='geo')
    op.create_table('dict_item',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('type_code', sa.String(length=40), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('parent_code', sa.String(length=40), nullable=True),
    sa.Column('sort', sa.Integer(), server_default='0', nullable=False),
    sa.Column('enabled', sa.Boolean(), server_default='true', nullable=False),
    sa.Column('extra', postgresql.JSONB(astext_type=sa.Text()), server_default='{}', nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['type_code'], ['geo.dict_type.code'], name=op.f('fk_dict_item_type_code_dict_type')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_dict_item')),
    sa.UniqueConstraint('type_code', 'code', name=op.f('uq_dict_item_type_code_code')),
    schema='geo'
    )
    op.create_geospatial_table('pipe',
    sa.Column('code', sa.String(length=20), nullable=False),
    sa.Column('network', sa.String(length=10), nullable=False),
    sa.Column('diameter_mm', sa.Integer(), nullable=False),
    sa.Column('material', sa.String(length=20), nullable=False),
    sa.Column('pressure_class', sa.String(length=20), nullable=True),
    sa.Column('depth_m', sa.Float(), nullable=True),
    sa.Column('install_year', sa.SmallInteger(), nullable=True),
    sa.Column('from_node', sa.String(length=20), nullable=False),
    sa.Column('to_node', sa.String(length=20), nullable=False),
    sa.Column('owner_dept', sa.String(length=20), nullable=True),
    sa.Column('road_code', sa.String(length=20), nullable=True),
    sa.Column('geom', Geometry(geometry_type='LINESTRING', srid=4490, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry', nullable=False), nullable=False),
    sa.Column('version', sa.Integer(), server_default='1', nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("network in ('water', 'rain', 'sewage', 'gas', 'heating')", name=op.f('ck_pipe_network')),
    sa.ForeignKeyConstraint(['from_node'], ['geo.pipe_node.code'], name=op.f('fk_pipe_from_node_pipe_node')),
    sa.ForeignKeyConstraint(['owner_dept'], ['admin.department.code'], name=op.f('fk_pipe_owner_dept_department')),
    sa.ForeignKeyConstraint(['to_node'], ['geo.pipe_node.code'], name=op.f('fk_pipe_to_node_pipe_node')),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_pipe')),
    schema='geo'
    )
    op.create_index(op.f('ix_pipe_from_node'), 'pipe', ['from_node'], unique=False, schema='geo')
    op.create_index(op.f('ix_pipe_network'), 'pipe', ['network'], unique=False, schema='geo')
    op.create_index(op.f('ix_pipe_to_node'), 'pipe', ['to_node'], unique=False, schema='geo')
    op.create_geospatial_table('resp_grid',
    sa.Column('code', sa.String(length=20), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('community_code', sa.String(length=12), nullable=False),
    sa.Column('dept_code', sa.String(length=20), nullable=True),
    sa.Column('people', postgresql.JSONB(astext_type=sa.Text()), server_default='[]', nullable=False),
    sa.Column('geom', Geometry(geometry_type='MULTIPOLYGON', srid=4490, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry', nullable=False), nullable=False),
    sa.Column('version', sa.Integer(), server_default='1', nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['community_code'], ['geo.region.code'], name=op.f('fk_resp_grid_community_code_region')),
    sa.ForeignKeyConstraint(['dept_code'], ['admin.department.code'], name=op.f('fk_resp_grid_dept_code_department')),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_resp_grid')),
    schema='geo'
    )
    op.create_index(op.f('ix_resp_grid_community_code'), 'resp_grid', ['community_code'], unique=False, schema='geo')
    op.create_index(op.f('ix_resp_grid_dept_code'), 'resp_grid', ['dept_code'], unique=False, schema='geo')
    op.create_geospatial_table('risk_point',
    sa.Column('code', sa.String(length=20), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('category', sa.String(length=40), nullable=False),
    sa.Column('network', sa.String(length=10), nullable=True),
    sa.Column('level', sa.SmallInteger(), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('dept_code', sa.String(length=20), nullable=True),
    sa.Column('geom', Geometry(geometry_type='POINT', srid=4490, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry', nullable=False), nullable=False),
    sa.Column('version', sa.Integer(), server_default='1', nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint('level between 1 and 4', name=op.f('ck_risk_point_level')),
    sa.ForeignKeyConstraint(['dept_code'], ['admin.department.code'], name=op.f('fk_risk_point_dept_code_department')),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_risk_point')),
    schema='geo'
    )
    op.create_index(op.f('ix_risk_point_category'), 'risk_point', ['category'], unique=False, schema='geo')
    op.create_geospatial_table('unit_grid',
    sa.Column('code', sa.String(length=15), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('community_code', sa.String(length=12), nullable=False),
    sa.Column('street_code', sa.String(length=12), nullable=False),
    sa.Column('area_m2', sa.Float(), nullable=False),
    sa.Column('land_use', sa.String(length=20), nullable=True),
    sa.Column('mgmt_level', sa.String(length=10), nullable=True),
    sa.Column('valid_from', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=True),
    sa.Column('valid_to', sa.DateTime(timezone=True), nullable=True),
    sa.Column('geom', Geometry(geometry_type='MULTIPOLYGON', srid=4490, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry', nullable=False), nullable=False),
    sa.Column('version', sa.Integer(), server_default='1', nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['community_code'], ['geo.region.code'], name=op.f('fk_unit_grid_community_code_region')),
    sa.ForeignKeyConstraint(['street_code'], ['geo.region.code'], name=op.f('fk_unit_grid_street_code_region')),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_unit_grid')),
    schema='geo'
    )
    op.create_index(op.f('ix_unit_grid_community_code'), 'unit_grid', ['community_code'], unique=False, schema='geo')
    op.create_index(op.f('ix_unit_grid_street_code'), 'unit_grid', ['street_code'], unique=False, schema='geo')
    op.create_table('api_key',
    sa.Column('key_id', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=80), nullable=False),
    sa.Column('secret_hash', sa.String(length=256), nullable=False),
    sa.Column('secret', sa.String(length=80), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('enabled', sa.Boolean(), server_default='true', nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['admin.user.id'], name=op.f('fk_api_key_user_id_user')),
    sa.PrimaryKeyConstraint('key_id', name=op.f('pk_api_key')),
    schema='admin'
    )
    op.create_table('user_role',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('role_code', sa.String(length=30), nullable=False),
    sa.ForeignKeyConstraint(['role_code'], ['admin.role.code'], name=op.f('fk_user_role_role_code_role'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['admin.user.id'], name=op.f('fk_user_role_user_id_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', 'role_code', name=op.f('pk_user_role')),
    schema='admin'
    )
    for table in SPATIAL:
        op.execute(f"CREATE INDEX ix_{table}_geom ON geo.{table} USING gist (geom)")
    op.execute("CREATE INDEX ix_address_full_trgm ON geo.address USING gin (full_address gin_trgm_ops)")
    op.execute("CREATE INDEX ix_poi_name_trgm ON geo.poi USING gin (name gin_trgm_ops)")
    op.execute("CREATE INDEX ix_road_name_trgm ON geo.road USING gin (name gin_trgm_ops)")
    for level in ("county", "street", "community"):
        op.execute(f"CREATE VIEW geo.region_{level} AS SELECT * FROM geo.region WHERE level = '{level}'")
    for net in NETWORKS:
        op.execute(f"CREATE VIEW geo.pipe_{net} AS SELECT * FROM geo.pipe WHERE network = '{net}'")
        op.execute(f"CREATE VIEW geo.pipe_node_{net} AS SELECT * FROM geo.pipe_node WHERE network = '{net}'")


def downgrade() -> None:
    for level in ("county", "street", "community"):
        op.execute(f"DROP VIEW IF EXISTS geo.region_{level}")
    for net in NETWORKS:
        op.execute(f"DROP VIEW IF EXISTS geo.pipe_{net}")
        op.execute(f"DROP VIEW IF EXISTS geo.pipe_node_{net}")
    op.drop_table('user_role', schema='admin')
    op.drop_table('api_key', schema='admin')
    op.drop_index(op.f('ix_unit_grid_street_code'), table_name='unit_grid', schema='geo')
    op.drop_index(op.f('ix_unit_grid_community_code'), table_name='unit_grid', schema='geo')
    op.drop_geospatial_table('unit_grid', schema='geo')
    op.drop_index(op.f('ix_risk_point_category'), table_name='risk_point', schema='geo')
    op.drop_geospatial_table('risk_point', schema='geo')
    op.drop_index(op.f('ix_resp_grid_dept_code'), table_name='resp_grid', schema='geo')
    op.drop_index(op.f('ix_resp_grid_community_code'), table_name='resp_grid', schema='geo')
    op.drop_geospatial_table('resp_grid', schema='geo')
    op.drop_index(op.f('ix_pipe_to_node'), table_name='pipe', schema='geo')
    op.drop_index(op.f('ix_pipe_network'), table_name='pipe', schema='geo')
    op.drop_index(op.f('ix_pipe_from_node'), table_name='pipe', schema='geo')
    op.drop_geospatial_table('pipe', schema='geo')
    op.drop_table('dict_item', schema='geo')
    op.drop_index(op.f('ix_component_grid_code'), table_name='component', schema='geo')
    op.drop_index(op.f('ix_component_class_code'), table_name='component', schema='geo')
    op.drop_geospatial_table('component', schema='geo')
    op.drop_geospatial_table('bridge', schema='geo')
    op.drop_table('user', schema='admin')
    op.drop_index(op.f('ix_road_name'), table_name='road', schema='geo')
    op.drop_geospatial_table('road', schema='geo')
    op.drop_geospatial_table('river', schema='geo')
    op.drop_geospatial_table('region', schema='geo')
    op.drop_index(op.f('ix_poi_category'), table_name='poi', schema='geo')
    op.drop_geospatial_table('poi', schema='geo')
    op.drop_index(op.f('ix_pipe_node_network'), table_name='pipe_node', schema='geo')
    op.drop_geospatial_table('pipe_node', schema='geo')
    op.drop_table('dict_type', schema='geo')
    op.drop_index(op.f('ix_address_road_code'), table_name='address', schema='geo')
    op.drop_geospatial_table('address', schema='geo')
    op.drop_table('role', schema='admin')
    op.drop_index(op.f('ix_operation_log_at'), table_name='operation_log', schema='admin')
    op.drop_table('operation_log', schema='admin')
    op.drop_table('login_log', schema='admin')
    op.drop_table('department', schema='admin')
