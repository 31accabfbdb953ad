"""lifeline docking

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-03

Utility data docking (R120–R124): one source per utility system (GIS file
import, OPC UA SCADA poller, CSV/HTTP push) with its settings, saved GIS
field mapping and sync state, and a log of runs (with the rejected rows of
each run, downloadable as CSV).
"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401

revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("CREATE SCHEMA IF NOT EXISTS lifeline")
    op.execute("""
    CREATE TABLE lifeline.dock_source (
        id serial PRIMARY KEY,
        code varchar(40) NOT NULL UNIQUE,
        name varchar(120) NOT NULL,
        network varchar(10) NOT NULL CHECK (network IN ('heating', 'water', 'drainage', 'gas', 'bridge')),
        kind varchar(12) NOT NULL CHECK (kind IN ('gis_file', 'opcua', 'csv_push', 'http_push')),
        dept_code varchar(20) REFERENCES admin.department(code),
        settings jsonb NOT NULL DEFAULT '{}',
        gis_mapping jsonb NOT NULL DEFAULT '{}',
        api_key_id varchar(40) REFERENCES admin.api_key(key_id) ON DELETE SET NULL,
        enabled boolean NOT NULL DEFAULT true,
        last_run_at timestamptz,
        last_success_at timestamptz,
        last_error text,
        last_data_time timestamptz,
        rows_in bigint NOT NULL DEFAULT 0,
        rows_rejected bigint NOT NULL DEFAULT 0,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        version integer NOT NULL DEFAULT 1
    )""")
    op.execute("""
    CREATE TABLE lifeline.dock_run (
        id bigserial PRIMARY KEY,
        source_id integer NOT NULL REFERENCES lifeline.dock_source(id) ON DELETE CASCADE,
        kind varchar(12) NOT NULL CHECK (kind IN ('gis_import', 'poll', 'push', 'csv_upload')),
        started_at timestamptz NOT NULL DEFAULT now(),
        finished_at timestamptz,
        ok boolean NOT NULL DEFAULT false,
        rows_in integer NOT NULL DEFAULT 0,
        rows_rejected integer NOT NULL DEFAULT 0,
        inserted integer NOT NULL DEFAULT 0,
        updated integer NOT NULL DEFAULT 0,
        unchanged integer NOT NULL DEFAULT 0,
        error text,
        detail jsonb NOT NULL DEFAULT '{}',
        username varchar(40)
    )""")
    op.execute("CREATE INDEX dock_run_source ON lifeline.dock_run (source_id, started_at DESC)")


def downgrade() -> None:
    op.execute("DROP TABLE IF EXISTS lifeline.dock_run")
    op.execute("DROP TABLE IF EXISTS lifeline.dock_source")
