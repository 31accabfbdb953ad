"""cases core

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02

Cases, their append-only event log, work items and attachments (schema `cases`).
"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    from geoalchemy2 import Geometry
    from sqlalchemy.dialects import postgresql
    op.execute("CREATE SCHEMA IF NOT EXISTS cases")
    ts = [sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
          sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
          sa.Column('version', sa.Integer(), server_default='1', nullable=False)]
    op.create_table(
        'case',
        sa.Column('id', sa.BigInteger(), primary_key=True),
        sa.Column('case_no', sa.String(20), nullable=False, unique=True),
        sa.Column('source', sa.String(20), nullable=False),
        sa.Column('kind', sa.String(10), nullable=False),
        sa.Column('class_code', sa.String(4), nullable=False),
        sa.Column('class_name', sa.String(60)),
        sa.Column('description', sa.Text(), nullable=False),
        sa.Column('address', sa.String(200)),
        sa.Column('geom', Geometry('POINT', srid=4490, spatial_index=False), nullable=False),
        sa.Column('input_crs', sa.String(20), nullable=False),
        sa.Column('street_code', sa.String(12)),
        sa.Column('community_code', sa.String(12)),
        sa.Column('grid_code', sa.String(15)),
        sa.Column('resp_grid_code', sa.String(20)),
        sa.Column('component_code', sa.String(16)),
        sa.Column('component_distance_m', sa.Float()),
        sa.Column('reporter_id', sa.Integer(), sa.ForeignKey('admin.user.id', name='fk_case_reporter_id_user')),
        sa.Column('reporter_name', sa.String(40)),
        sa.Column('reporter_phone', sa.String(20)),
        sa.Column('reported_at', sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column('status', sa.String(10), server_default='open', nullable=False),
        sa.Column('stage', sa.String(20)),
        sa.Column('dept_code', sa.String(20), sa.ForeignKey('admin.department.code', name='fk_case_dept_code_department')),
        sa.Column('duplicate_of', sa.BigInteger(), sa.ForeignKey('cases.case.id', name='fk_case_duplicate_of_case')),
        sa.Column('urgent', sa.Boolean(), server_default='false', nullable=False),
        sa.Column('difficult', sa.Boolean(), server_default='false', nullable=False),
        sa.Column('urged', sa.Integer(), server_default='0', nullable=False),
        sa.Column('returns', sa.Integer(), server_default='0', nullable=False),
        sa.Column('reworks', sa.Integer(), server_default='0', nullable=False),
        sa.Column('process_key', sa.String(80), nullable=False),
        sa.Column('process_version', sa.Integer(), nullable=False),
        sa.Column('wf_state', postgresql.JSONB(), nullable=False),
        sa.Column('handle_deadline', sa.DateTime(timezone=True)),
        sa.Column('suspended_at', sa.DateTime(timezone=True)),
        sa.Column('closed_at', sa.DateTime(timezone=True)),
        sa.Column('search', postgresql.TSVECTOR()),
        *ts,
        sa.CheckConstraint("kind in ('component','event')", name='ck_case_kind'),
        sa.CheckConstraint("status in ('open','closed','cancelled','suspended')", name='ck_case_status'),
        schema='cases')
    for name, cols, kw in [('ix_case_geom', ['geom'], {'postgresql_using': 'gist'}),
                           ('ix_case_search', ['search'], {'postgresql_using': 'gin'}),
                           ('ix_case_status_stage', ['status', 'stage'], {}),
                           ('ix_case_reported_at', ['reported_at'], {}),
                           ('ix_case_street_code', ['street_code'], {}),
                           ('ix_case_community_code', ['community_code'], {}),
                           ('ix_case_grid_code', ['grid_code'], {}),
                           ('ix_case_reporter_id', ['reporter_id'], {}),
                           ('ix_case_dept_code', ['dept_code'], {})]:
        op.create_index(name, 'case', cols, schema='cases', **kw)
    op.create_table(
        'case_event',
        sa.Column('id', sa.BigInteger(), primary_key=True),
        sa.Column('case_id', sa.BigInteger(), sa.ForeignKey('cases.case.id', name='fk_case_event_case_id_case'),
                  nullable=False),
        sa.Column('seq', sa.Integer(), nullable=False),
        sa.Column('at', sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column('actor_id', sa.Integer()),
        sa.Column('actor_name', sa.String(40)),
        sa.Column('role', sa.String(30)),
        sa.Column('action', sa.String(30), nullable=False),
        sa.Column('stage', sa.String(20)),
        sa.Column('to_stage', sa.String(20)),
        sa.Column('task_id', sa.BigInteger()),
        sa.Column('dept_code', sa.String(20)),
        sa.Column('comment', sa.Text()),
        sa.Column('data', postgresql.JSONB()),
        sa.Column('deadline', sa.DateTime(timezone=True)),
        sa.Column('on_time', sa.Boolean()),
        sa.UniqueConstraint('case_id', 'seq', name='uq_case_event_case_id_seq'),
        schema='cases')
    op.create_index('ix_case_event_at', 'case_event', ['at'], schema='cases')
    op.create_index('ix_case_event_action', 'case_event', ['action', 'at'], schema='cases')
    # The history is append-only: the database itself refuses changes and deletions.
    op.execute("""
        CREATE FUNCTION cases.case_event_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN RAISE EXCEPTION 'cases.case_event is append-only' USING ERRCODE = 'insufficient_privilege'; END $$;
        CREATE TRIGGER case_event_append_only BEFORE UPDATE OR DELETE ON cases.case_event
            FOR EACH ROW EXECUTE FUNCTION cases.case_event_append_only();
        CREATE TRIGGER case_event_no_truncate BEFORE TRUNCATE ON cases.case_event
            FOR EACH STATEMENT EXECUTE FUNCTION cases.case_event_append_only();
    """)
    op.create_table(
        'case_task',
        sa.Column('id', sa.BigInteger(), primary_key=True),
        sa.Column('case_id', sa.BigInteger(), sa.ForeignKey('cases.case.id', name='fk_case_task_case_id_case'),
                  nullable=False),
        sa.Column('spiff_id', sa.String(40), nullable=False),
        sa.Column('stage', sa.String(30), nullable=False),
        sa.Column('name', sa.String(40), nullable=False),
        sa.Column('role', sa.String(30), nullable=False),
        sa.Column('dept_code', sa.String(20)),
        sa.Column('assignee_id', sa.Integer()),
        sa.Column('status', sa.String(10), server_default='open', nullable=False),
        sa.Column('opened_at', sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column('deadline', sa.DateTime(timezone=True)),
        sa.Column('warn_at', sa.DateTime(timezone=True)),
        sa.Column('natural_time', sa.Boolean(), server_default='false', nullable=False),
        sa.Column('done_at', sa.DateTime(timezone=True)),
        sa.Column('done_by', sa.Integer()),
        sa.Column('paused_at', sa.DateTime(timezone=True)),
        *[c.copy() for c in ts],
        sa.CheckConstraint("status in ('open','done','cancelled')", name='ck_case_task_status'),
        schema='cases')
    op.create_index('ix_case_task_open', 'case_task', ['status', 'stage', 'role'], schema='cases')
    op.create_index('ix_case_task_case', 'case_task', ['case_id'], schema='cases')
    op.create_table(
        'case_media',
        sa.Column('id', sa.BigInteger(), primary_key=True),
        sa.Column('case_id', sa.BigInteger(), sa.ForeignKey('cases.case.id', name='fk_case_media_case_id_case'),
                  nullable=False),
        sa.Column('event_seq', sa.Integer()),
        sa.Column('kind', sa.String(10), nullable=False),
        sa.Column('relpath', sa.String(200), nullable=False),
        sa.Column('thumb_relpath', sa.String(200)),
        sa.Column('sha256', sa.String(64), nullable=False),
        sa.Column('mime', sa.String(80), nullable=False),
        sa.Column('size', sa.BigInteger(), nullable=False),
        sa.Column('original_name', sa.String(200), nullable=False),
        sa.Column('uploaded_by', sa.Integer()),
        sa.Column('at', sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        schema='cases')
    op.create_index('ix_case_media_case', 'case_media', ['case_id'], schema='cases')
    op.create_table(
        'case_no_counter',
        sa.Column('day', sa.Date(), primary_key=True),
        sa.Column('last', sa.Integer(), nullable=False),
        schema='cases')


def downgrade() -> None:
    op.drop_table('case_no_counter', schema='cases')
    op.drop_table('case_media', schema='cases')
    op.drop_table('case_task', schema='cases')
    op.execute("DROP TABLE cases.case_event")
    op.execute("DROP FUNCTION cases.case_event_append_only()")
    op.drop_table('case', schema='cases')
