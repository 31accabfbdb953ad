"""lifeline risk

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02

Risk categories, levels, the risk responsibility list, risk point register with review and LEC assessments (schema `lifeline`).
"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None

# The four standard levels (standards §8): level, name, colour name, hex, lower D bound (exclusive by default).
LEVELS = [(1, "重大风险", "红", "#d7191c", 320), (2, "较大风险", "橙", "#fd8d3c", 160),
          (3, "一般风险", "黄", "#fecc5c", 70), (4, "低风险", "蓝", "#2c7bb6", None)]

def upgrade() -> None:
    op.execute('CREATE SCHEMA IF NOT EXISTS lifeline')
    # geo.risk_point stays THE register (the published layer); it gains the R110 attributes.
    op.execute("""
    ALTER TABLE geo.risk_point
        ADD COLUMN region_code varchar(12),
        ADD COLUMN location text,
        ADD COLUMN resp_person varchar(40),
        ADD COLUMN resp_phone varchar(20),
        ADD COLUMN risk_object varchar(120),
        ADD COLUMN risk_source varchar(200),
        ADD COLUMN hazards jsonb NOT NULL DEFAULT '[]',
        ADD COLUMN accident_types jsonb NOT NULL DEFAULT '[]',
        ADD COLUMN photos jsonb NOT NULL DEFAULT '[]',
        ADD COLUMN lec_l numeric(5, 1),
        ADD COLUMN lec_e numeric(5, 1),
        ADD COLUMN lec_c numeric(5, 1),
        ADD COLUMN lec_d numeric(10, 2),
        ADD COLUMN assessed_at timestamptz,
        ADD COLUMN status varchar(10) NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'retired')),
        ADD COLUMN source varchar(10) NOT NULL DEFAULT 'import' CHECK (source IN ('import', 'desk', 'mobile', 'direct')),
        ADD COLUMN created_by integer,
        ADD COLUMN created_by_name varchar(40),
        ADD COLUMN reviewed_by integer,
        ADD COLUMN reviewed_by_name varchar(40),
        ADD COLUMN reviewed_at timestamptz""")
    op.execute("CREATE INDEX ix_risk_point_region_code ON geo.risk_point (region_code)")
    op.execute("CREATE INDEX ix_risk_point_dept_code ON geo.risk_point (dept_code)")
    op.execute("CREATE INDEX ix_risk_point_hazards ON geo.risk_point USING gin (hazards)")

    op.execute("""
    CREATE TABLE lifeline.risk_category (
        code varchar(40) PRIMARY KEY,
        name varchar(60) NOT NULL,
        parent_code varchar(40) REFERENCES lifeline.risk_category (code),
        network varchar(10),
        sort integer NOT NULL DEFAULT 0,
        enabled boolean NOT NULL DEFAULT true,
        version integer NOT NULL DEFAULT 1,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT ck_risk_category_parent CHECK (parent_code IS NULL OR parent_code <> code)
    )""")
    op.execute("""
    CREATE TABLE lifeline.risk_hazard (
        id serial PRIMARY KEY,
        category_code varchar(40) NOT NULL REFERENCES lifeline.risk_category (code),
        name varchar(60) NOT NULL,
        description varchar(200),
        sort integer NOT NULL DEFAULT 0,
        enabled boolean NOT NULL DEFAULT true,
        version integer NOT NULL DEFAULT 1,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT uq_risk_hazard_name UNIQUE (category_code, name)
    )""")
    op.execute("""
    CREATE TABLE lifeline.risk_level (
        level smallint PRIMARY KEY CHECK (level BETWEEN 1 AND 4),
        name varchar(20) NOT NULL,
        colour_name varchar(4) NOT NULL,
        colour varchar(7) NOT NULL CHECK (colour ~ '^#[0-9a-fA-F]{6}$'),
        min_d numeric(10, 2),
        min_inclusive boolean NOT NULL DEFAULT false,
        version integer NOT NULL DEFAULT 1,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT ck_risk_level_min CHECK ((level = 4) = (min_d IS NULL))
    )""")
    for lv, name, cname, hexc, min_d in LEVELS:
        op.execute(sa.text("INSERT INTO lifeline.risk_level (level, name, colour_name, colour, min_d) "
                           "VALUES (:lv, :n, :cn, :c, :m)").bindparams(lv=lv, n=name, cn=cname, c=hexc, m=min_d))
    op.execute("""
    CREATE TABLE lifeline.risk_resp (
        id serial PRIMARY KEY,
        category_code varchar(40) NOT NULL REFERENCES lifeline.risk_category (code),
        hazard_id integer REFERENCES lifeline.risk_hazard (id) ON DELETE CASCADE,
        resp_grid_code varchar(20) NOT NULL REFERENCES geo.resp_grid (code),
        dept_code varchar(20) NOT NULL REFERENCES admin.department (code),
        person varchar(40),
        phone varchar(20),
        remark varchar(200),
        version integer NOT NULL DEFAULT 1,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
    )""")
    # One entry per (category, hazard or the whole category, grid).
    op.execute("CREATE UNIQUE INDEX ux_risk_resp ON lifeline.risk_resp "
               "(category_code, coalesce(hazard_id, 0), resp_grid_code)")
    op.execute("""
    CREATE TABLE lifeline.risk_submission (
        id bigserial PRIMARY KEY,
        status varchar(10) NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'approved', 'rejected')),
        source varchar(10) NOT NULL CHECK (source IN ('desk', 'mobile')),
        risk_code varchar(20) REFERENCES geo.risk_point (code) ON DELETE SET NULL,
        data jsonb NOT NULL,
        geom geometry(Point, 4490) NOT NULL,
        submitted_by integer,
        submitted_by_name varchar(40),
        submitted_at timestamptz NOT NULL DEFAULT now(),
        decided_by integer,
        decided_by_name varchar(40),
        decided_at timestamptz,
        reason varchar(500),
        version integer NOT NULL DEFAULT 1,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
    )""")
    op.execute("CREATE INDEX ix_risk_submission_status ON lifeline.risk_submission (status, submitted_at)")
    op.execute("CREATE INDEX ix_risk_submission_geom ON lifeline.risk_submission USING gist (geom)")
    op.execute("""
    CREATE TABLE lifeline.risk_assessment (
        id bigserial PRIMARY KEY,
        risk_code varchar(20) NOT NULL REFERENCES geo.risk_point (code) ON DELETE CASCADE,
        l numeric(5, 1) NOT NULL,
        e numeric(5, 1) NOT NULL,
        c numeric(5, 1) NOT NULL,
        d numeric(10, 2) NOT NULL,
        level smallint NOT NULL CHECK (level BETWEEN 1 AND 4),
        note varchar(500),
        assessed_by integer,
        assessed_by_name varchar(40),
        assessed_at timestamptz NOT NULL DEFAULT now(),
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
    )""")
    op.execute("CREATE INDEX ix_risk_assessment_code ON lifeline.risk_assessment (risk_code, assessed_at)")
    # Append-only history of decisions and changes (submit, approve, reject, register, edit, assess).
    op.execute("""
    CREATE TABLE lifeline.risk_event (
        id bigserial PRIMARY KEY,
        risk_code varchar(20),
        submission_id bigint REFERENCES lifeline.risk_submission (id) ON DELETE CASCADE,
        action varchar(12) NOT NULL CHECK (action IN ('submit', 'approve', 'reject', 'register', 'edit', 'assess')),
        actor_id integer,
        actor_name varchar(40),
        note varchar(500),
        at timestamptz NOT NULL DEFAULT now(),
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
    )""")
    op.execute("CREATE INDEX ix_risk_event_code ON lifeline.risk_event (risk_code, at)")
    op.execute("CREATE INDEX ix_risk_event_submission ON lifeline.risk_event (submission_id)")


def downgrade() -> None:
    for t in ("risk_event", "risk_assessment", "risk_submission", "risk_resp", "risk_level", "risk_hazard",
              "risk_category"):
        op.execute(f"DROP TABLE IF EXISTS lifeline.{t}")
    op.execute("""
    ALTER TABLE geo.risk_point
        DROP COLUMN region_code, DROP COLUMN location, DROP COLUMN resp_person, DROP COLUMN resp_phone,
        DROP COLUMN risk_object, DROP COLUMN risk_source, DROP COLUMN hazards, DROP COLUMN accident_types,
        DROP COLUMN photos, DROP COLUMN lec_l, DROP COLUMN lec_e, DROP COLUMN lec_c, DROP COLUMN lec_d,
        DROP COLUMN assessed_at, DROP COLUMN status, DROP COLUMN source, DROP COLUMN created_by,
        DROP COLUMN created_by_name, DROP COLUMN reviewed_by, DROP COLUMN reviewed_by_name, DROP COLUMN reviewed_at""")
    op.execute("DROP INDEX IF EXISTS geo.ix_risk_point_dept_code")

