"""lifeline emergency resources (R117) and network analysis

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-02

Emergency management (schema `lifeline`): teams by department with a base
location, their people, experts by industry, regulations and emergency plans
by category with their files, materials and equipment with a storage place.
Every location is a Point (EPSG:4490) with a GiST index, so "nearest
resources" is a KNN (`<->`) query. The network analysis needs no tables (it
walks geo.pipe / geo.pipe_node); pgRouting is enabled for ad-hoc analysis
from SQL (pgr_connectedComponents and friends) beside the app's own BFS.
"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401

revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None

_STAMPS = """
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        version integer NOT NULL DEFAULT 1"""


def upgrade() -> None:
    op.execute("CREATE SCHEMA IF NOT EXISTS lifeline")
    op.execute("CREATE EXTENSION IF NOT EXISTS pgrouting")
    op.execute(f"""
    CREATE TABLE lifeline.emergency_team (
        id serial PRIMARY KEY,
        dept_code varchar(20) NOT NULL REFERENCES admin.department(code),
        name varchar(80) NOT NULL UNIQUE,
        leader varchar(40) NOT NULL,
        phone varchar(20) NOT NULL,
        members_count integer NOT NULL DEFAULT 0 CHECK (members_count BETWEEN 0 AND 10000),
        specialty varchar(20) NOT NULL,
        base_name varchar(120) NOT NULL,
        description text,
        geom geometry(Point, 4490) NOT NULL,{_STAMPS}
    )""")
    op.execute("CREATE INDEX emergency_team_geom_gist ON lifeline.emergency_team USING gist (geom)")
    op.execute(f"""
    CREATE TABLE lifeline.emergency_person (
        id serial PRIMARY KEY,
        team_id integer REFERENCES lifeline.emergency_team(id),
        dept_code varchar(20) NOT NULL REFERENCES admin.department(code),
        name varchar(40) NOT NULL,
        role varchar(40) NOT NULL,
        phone varchar(20) NOT NULL,
        skills varchar(200),{_STAMPS}
    )""")
    op.execute("CREATE INDEX emergency_person_team ON lifeline.emergency_person (team_id)")
    op.execute(f"""
    CREATE TABLE lifeline.emergency_expert (
        id serial PRIMARY KEY,
        name varchar(40) NOT NULL,
        industry varchar(20) NOT NULL,
        title varchar(40) NOT NULL,
        org varchar(120) NOT NULL,
        phone varchar(20) NOT NULL,
        speciality varchar(200),
        geom geometry(Point, 4490),{_STAMPS}
    )""")
    op.execute("CREATE INDEX emergency_expert_geom_gist ON lifeline.emergency_expert USING gist (geom)")
    op.execute("CREATE INDEX emergency_expert_industry ON lifeline.emergency_expert (industry)")
    op.execute(f"""
    CREATE TABLE lifeline.emergency_document (
        id serial PRIMARY KEY,
        kind varchar(12) NOT NULL CHECK (kind IN ('regulation', 'plan')),
        category varchar(20) NOT NULL,
        title varchar(200) NOT NULL,
        doc_no varchar(80),
        issuer varchar(120),
        issued_on date,
        summary text,
        file_path varchar(200),
        file_name varchar(200),
        file_size integer,
        file_mime varchar(100),{_STAMPS},
        CHECK ((file_path IS NULL) = (file_name IS NULL))
    )""")
    op.execute("CREATE INDEX emergency_document_kind ON lifeline.emergency_document (kind, category)")
    op.execute(f"""
    CREATE TABLE lifeline.emergency_material (
        id serial PRIMARY KEY,
        name varchar(80) NOT NULL,
        type varchar(12) NOT NULL CHECK (type IN ('material', 'equipment')),
        category varchar(20) NOT NULL,
        quantity numeric(12, 2) NOT NULL CHECK (quantity >= 0),
        unit varchar(10) NOT NULL,
        storage_name varchar(120) NOT NULL,
        dept_code varchar(20) NOT NULL REFERENCES admin.department(code),
        keeper varchar(40),
        phone varchar(20),
        expiry date,
        geom geometry(Point, 4490) NOT NULL,{_STAMPS}
    )""")
    op.execute("CREATE INDEX emergency_material_geom_gist ON lifeline.emergency_material USING gist (geom)")


def downgrade() -> None:
    for t in ("emergency_material", "emergency_document", "emergency_expert", "emergency_person", "emergency_team"):
        op.execute(f"DROP TABLE IF EXISTS lifeline.{t}")
    op.execute("DROP EXTENSION IF EXISTS pgrouting")
