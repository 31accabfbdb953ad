"""lifeline hazards and inspection

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-04

Hazard handling (R115) and the hazard ledger (R116): lifeline.hazard with the
rectification plan, 挂牌督办 and the serialized BPMN workflow; the append-only
lifeline.hazard_event history (a trigger refuses UPDATE). Inspection
(R111–R114): plans, inspectors, records with their route and GPS track points.
"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401

revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("CREATE SCHEMA IF NOT EXISTS lifeline")
    op.execute("""
    CREATE TABLE lifeline.inspection_plan (
        id serial PRIMARY KEY,
        name varchar(120) NOT NULL,
        kind varchar(6) NOT NULL CHECK (kind IN ('point', 'line', 'area')),
        category_code varchar(40) REFERENCES lifeline.risk_category(code),
        dept_code varchar(20) REFERENCES admin.department(code),
        people jsonb NOT NULL DEFAULT '[]',
        frequency varchar(8) NOT NULL CHECK (frequency IN ('daily', 'weekly', 'monthly')),
        times integer NOT NULL DEFAULT 1 CHECK (times BETWEEN 1 AND 100),
        valid_from date NOT NULL,
        valid_to date CHECK (valid_to IS NULL OR valid_to >= valid_from),
        targets jsonb NOT NULL DEFAULT '{}',
        geom geometry(Geometry, 4490) NOT NULL,
        note varchar(500),
        enabled boolean NOT NULL DEFAULT true,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        version integer NOT NULL DEFAULT 1
    )""")
    op.execute("CREATE INDEX ix_inspection_plan_geom ON lifeline.inspection_plan USING gist (geom)")
    op.execute("""
    CREATE TABLE lifeline.inspector (
        user_id integer PRIMARY KEY REFERENCES admin."user"(id) ON DELETE CASCADE,
        phone varchar(20),
        active boolean NOT NULL DEFAULT true,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        version integer NOT NULL DEFAULT 1
    )""")
    op.execute("""
    CREATE TABLE lifeline.inspection_record (
        id bigserial PRIMARY KEY,
        user_id integer NOT NULL REFERENCES lifeline.inspector(user_id),
        plan_id integer REFERENCES lifeline.inspection_plan(id) ON DELETE SET NULL,
        started_at timestamptz NOT NULL,
        ended_at timestamptz CHECK (ended_at IS NULL OR ended_at >= started_at),
        last_point_at timestamptz,
        route geometry(LineString, 4490),
        length_m double precision NOT NULL DEFAULT 0 CHECK (length_m >= 0),
        site_watch integer NOT NULL DEFAULT 0 CHECK (site_watch BETWEEN 0 AND 1000),
        note varchar(500),
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        version integer NOT NULL DEFAULT 1
    )""")
    op.execute("CREATE INDEX ix_inspection_record_user ON lifeline.inspection_record (user_id, started_at)")
    op.execute("CREATE INDEX ix_inspection_record_route ON lifeline.inspection_record USING gist (route)")
    # At most one open record per inspector.
    op.execute("CREATE UNIQUE INDEX ux_inspection_record_open ON lifeline.inspection_record (user_id) "
               "WHERE ended_at IS NULL")
    op.execute("""
    CREATE TABLE lifeline.inspection_point (
        id bigserial PRIMARY KEY,
        record_id bigint NOT NULL REFERENCES lifeline.inspection_record(id) ON DELETE CASCADE,
        t timestamptz NOT NULL,
        accuracy double precision CHECK (accuracy IS NULL OR accuracy >= 0),
        geom geometry(Point, 4490) NOT NULL,
        received_at timestamptz NOT NULL DEFAULT now(),
        UNIQUE (record_id, t)
    )""")
    op.execute("CREATE INDEX ix_inspection_point_t ON lifeline.inspection_point (t)")
    op.execute("""
    CREATE TABLE lifeline.hazard (
        id bigserial PRIMARY KEY,
        code varchar(20) NOT NULL UNIQUE,
        title varchar(120) NOT NULL,
        source varchar(12) NOT NULL CHECK (source IN ('inspection', 'alarm', 'risk', 'manual', 'case')),
        risk_code varchar(20) REFERENCES geo.risk_point(code) ON DELETE SET NULL,
        category_code varchar(40) REFERENCES lifeline.risk_category(code),
        hazard_type_id integer REFERENCES lifeline.risk_hazard(id) ON DELETE SET NULL,
        description text,
        address varchar(200),
        region_code varchar(12),
        resp_grid_code varchar(40),
        geom geometry(Point, 4490) NOT NULL,
        photos jsonb NOT NULL DEFAULT '[]',
        level smallint NOT NULL CHECK (level BETWEEN 1 AND 4),
        dept_code varchar(20) REFERENCES admin.department(code),
        status varchar(12) NOT NULL DEFAULT 'pending'
            CHECK (status IN ('pending', 'rectifying', 'checking', 'rectified', 'cancelled')),
        found_at timestamptz NOT NULL DEFAULT now(),
        reported_by integer,
        reported_by_name varchar(40),
        plan_measures text,
        plan_funds numeric(12, 2) CHECK (plan_funds IS NULL OR plan_funds >= 0),
        plan_person varchar(40),
        plan_phone varchar(20),
        plan_deadline date,
        supervised boolean NOT NULL DEFAULT false,
        supervise_level varchar(10),
        supervise_by varchar(40),
        supervise_at timestamptz,
        supervise_deadline date,
        supervise_note varchar(500),
        supervise_lifted_by varchar(40),
        supervise_lifted_at timestamptz,
        alarm_id bigint,
        case_id bigint,
        record_id bigint REFERENCES lifeline.inspection_record(id) ON DELETE SET NULL,
        process_key varchar(100) NOT NULL DEFAULT 'hazard',
        process_version integer NOT NULL,
        wf_state jsonb NOT NULL,
        stage varchar(40),
        closed_at timestamptz,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        version integer NOT NULL DEFAULT 1,
        CHECK (NOT supervised OR supervise_level IS NOT NULL)
    )""")
    op.execute("CREATE INDEX ix_hazard_geom ON lifeline.hazard USING gist (geom)")
    op.execute("CREATE INDEX ix_hazard_status ON lifeline.hazard (status, supervised)")
    op.execute("CREATE INDEX ix_hazard_dept ON lifeline.hazard (dept_code)")
    op.execute("CREATE INDEX ix_hazard_record ON lifeline.hazard (record_id)")
    op.execute("CREATE INDEX ix_hazard_alarm ON lifeline.hazard (alarm_id)")
    op.execute("""
    CREATE TABLE lifeline.hazard_event (
        id bigserial PRIMARY KEY,
        hazard_id bigint NOT NULL REFERENCES lifeline.hazard(id) ON DELETE CASCADE,
        action varchar(20) NOT NULL,
        task varchar(40),
        actor_id integer,
        actor_name varchar(40),
        comment varchar(1000),
        photos jsonb NOT NULL DEFAULT '[]',
        data jsonb NOT NULL DEFAULT '{}',
        at timestamptz NOT NULL DEFAULT now(),
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
    )""")
    op.execute("CREATE INDEX ix_hazard_event_hazard ON lifeline.hazard_event (hazard_id, at)")
    # The process record is append-only.
    op.execute("""
    CREATE FUNCTION lifeline.hazard_event_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN RAISE EXCEPTION 'lifeline.hazard_event is append-only'; END $$""")
    op.execute("CREATE TRIGGER hazard_event_no_update BEFORE UPDATE ON lifeline.hazard_event "
               "FOR EACH ROW EXECUTE FUNCTION lifeline.hazard_event_immutable()")


def downgrade() -> None:
    op.execute("DROP TABLE IF EXISTS lifeline.hazard_event")
    op.execute("DROP FUNCTION IF EXISTS lifeline.hazard_event_immutable()")
    for t in ("hazard", "inspection_point", "inspection_record", "inspector", "inspection_plan"):
        op.execute(f"DROP TABLE IF EXISTS lifeline.{t}")
