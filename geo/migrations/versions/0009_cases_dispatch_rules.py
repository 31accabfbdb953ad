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
    # IF NOT EXISTS throughout: the case core (0007) creates the schema too.
    op.execute('CREATE SCHEMA IF NOT EXISTS cases')
    op.execute("""
    CREATE TABLE IF NOT EXISTS cases.register_rule (
        id serial PRIMARY KEY,
        name varchar(80) NOT NULL,
        sources varchar(20)[] NOT NULL DEFAULT '{}',
        kind varchar(10) CHECK (kind IN ('component', 'event')),
        class_prefix varchar(4) CHECK (class_prefix ~ '^[0-9]{2}([0-9]{2})?$'),
        region_prefix varchar(15) CHECK (region_prefix ~ '^[0-9]{6,15}$'),
        time_from time,
        time_to time,
        actions varchar(20)[] NOT NULL CHECK (cardinality(actions) > 0
            AND actions <@ ARRAY['auto_accept', 'auto_file', 'auto_dispatch']::varchar(20)[]),
        enabled boolean NOT NULL DEFAULT true,
        sort integer NOT NULL DEFAULT 0,
        remark varchar(200),
        version integer NOT NULL DEFAULT 1,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT ck_register_rule_window CHECK ((time_from IS NULL) = (time_to IS NULL))
    )""")
    op.execute('CREATE INDEX IF NOT EXISTS ix_register_rule_sort ON cases.register_rule (sort, id)')
    op.execute("""
    CREATE TABLE IF NOT EXISTS cases.resp_entry (
        id serial PRIMARY KEY,
        kind varchar(10) CHECK (kind IN ('component', 'event')),
        class_code varchar(4) CHECK (class_code ~ '^[0-9]{2}([0-9]{2})?$'),
        area_level varchar(10) NOT NULL DEFAULT 'county'
            CHECK (area_level IN ('county', 'street', 'community', 'resp_grid', 'grid')),
        area_code varchar(20),
        dept_code varchar(20) NOT NULL REFERENCES admin.department (code),
        post varchar(40),
        user_id integer REFERENCES admin."user" (id) ON DELETE SET NULL,
        priority integer NOT NULL DEFAULT 0,
        valid_from date,
        valid_to date,
        enabled boolean NOT NULL DEFAULT true,
        remark varchar(200),
        version integer NOT NULL DEFAULT 1,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT ck_resp_entry_dates CHECK (valid_to IS NULL OR valid_from IS NULL OR valid_from <= valid_to),
        CONSTRAINT ck_resp_entry_area CHECK ((area_level = 'county') = (area_code IS NULL))
    )""")
    # One entry per kind × class × area × department × post (NULLs compare equal here).
    op.execute("""CREATE UNIQUE INDEX IF NOT EXISTS ux_resp_entry_key ON cases.resp_entry
        (coalesce(kind, ''), coalesce(class_code, ''), coalesce(area_code, ''), dept_code, coalesce(post, ''))""")
    # The dispatch lookup filters by class first.
    op.execute('CREATE INDEX IF NOT EXISTS ix_resp_entry_class ON cases.resp_entry (class_code) WHERE enabled')
    op.execute('CREATE INDEX IF NOT EXISTS ix_resp_entry_dept ON cases.resp_entry (dept_code)')
    op.execute('CREATE INDEX IF NOT EXISTS ix_resp_entry_user ON cases.resp_entry (user_id)')


def downgrade() -> None:
    op.execute('DROP TABLE IF EXISTS cases.resp_entry')
    op.execute('DROP TABLE IF EXISTS cases.register_rule')
