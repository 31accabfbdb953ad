"""lifeline iot

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02

SensorThings-style IoT model (schema `lifeline`): things, sensors, observed
properties, features of interest, datastreams (unit, valid range, thresholds
per level), observations partitioned by month, per-minute ingest counters and
raw threshold crossings (alarm_event) for the alarm module to build on.
"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("CREATE SCHEMA IF NOT EXISTS lifeline")
    op.execute("""
    CREATE TABLE lifeline.iot_thing (
        id serial PRIMARY KEY,
        code varchar(40) NOT NULL UNIQUE,
        name varchar(120) NOT NULL,
        network varchar(10) NOT NULL CHECK (network IN ('gas', 'water', 'drainage', 'heating', 'bridge')),
        kind varchar(20) NOT NULL CHECK (kind IN ('gas_detector', 'pressure_station', 'flow_meter', 'level_gauge',
                                                  'heating_station', 'bridge_monitor', 'camera', 'other')),
        pipe_code varchar(20),
        node_code varchar(20),
        bridge_code varchar(20),
        risk_point_code varchar(20),
        dept_code varchar(20) REFERENCES admin.department(code),
        hls_url varchar(500),
        status varchar(10) NOT NULL DEFAULT 'offline' CHECK (status IN ('online', 'offline')),
        last_seen timestamptz,
        description text,
        geom geometry(Point, 4490) NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        version integer NOT NULL DEFAULT 1,
        CHECK (kind <> 'camera' OR hls_url IS NOT NULL)
    )""")
    op.execute("CREATE INDEX iot_thing_geom_gist ON lifeline.iot_thing USING gist (geom)")
    op.execute("CREATE INDEX iot_thing_network ON lifeline.iot_thing (network, kind)")
    op.execute("""
    CREATE TABLE lifeline.iot_sensor (
        id serial PRIMARY KEY,
        code varchar(40) NOT NULL UNIQUE,
        model varchar(80) NOT NULL,
        vendor varchar(80),
        serial varchar(80),
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        version integer NOT NULL DEFAULT 1
    )""")
    op.execute("""
    CREATE TABLE lifeline.iot_observed_property (
        id serial PRIMARY KEY,
        code varchar(40) NOT NULL UNIQUE,
        name varchar(80) NOT NULL,
        definition text,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
    )""")
    op.execute("""
    CREATE TABLE lifeline.iot_feature_of_interest (
        id serial PRIMARY KEY,
        code varchar(40) NOT NULL UNIQUE,
        name varchar(120) NOT NULL,
        kind varchar(40) NOT NULL,
        ref_code varchar(20),
        geom geometry(Geometry, 4490) NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
    )""")
    op.execute("CREATE INDEX iot_foi_geom_gist ON lifeline.iot_feature_of_interest USING gist (geom)")
    op.execute("""
    CREATE TABLE lifeline.iot_datastream (
        id serial PRIMARY KEY,
        thing_id integer NOT NULL REFERENCES lifeline.iot_thing(id) ON DELETE CASCADE,
        sensor_id integer REFERENCES lifeline.iot_sensor(id),
        property_id integer NOT NULL REFERENCES lifeline.iot_observed_property(id),
        foi_id integer REFERENCES lifeline.iot_feature_of_interest(id),
        code varchar(40) NOT NULL,
        name varchar(120) NOT NULL,
        unit varchar(20) NOT NULL,
        valid_min double precision NOT NULL,
        valid_max double precision NOT NULL,
        -- {"high": {"1": 50, "2": 25}, "low": {"2": 0.1}}: level 1 (red) is the most severe
        thresholds jsonb NOT NULL DEFAULT '{}'::jsonb,
        sampling_s integer NOT NULL DEFAULT 60 CHECK (sampling_s > 0),
        last_value double precision,
        last_time timestamptz,
        alarm_level smallint NOT NULL DEFAULT 0 CHECK (alarm_level BETWEEN 0 AND 4),
        status varchar(10) NOT NULL DEFAULT 'offline' CHECK (status IN ('online', 'offline')),
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        version integer NOT NULL DEFAULT 1,
        UNIQUE (thing_id, code),
        CHECK (valid_min < valid_max)
    )""")
    # Observations: no foreign key (the ingester validates against its catalogue;
    # an FK check per row halves COPY throughput), primary key = idempotency key.
    op.execute("""
    CREATE TABLE lifeline.iot_observation (
        datastream_id integer NOT NULL,
        phenomenon_time timestamptz NOT NULL,
        result double precision NOT NULL,
        quality smallint NOT NULL DEFAULT 0,
        received_at timestamptz NOT NULL DEFAULT now(),
        message_id varchar(64),
        PRIMARY KEY (datastream_id, phenomenon_time)
    ) PARTITION BY RANGE (phenomenon_time)""")
    # Monthly partitions (Asia/Shanghai months) for [from, to]; returns how many it created.
    op.execute("""
    CREATE FUNCTION lifeline.iot_ensure_partitions(t_from timestamptz, t_to timestamptz) RETURNS integer
    LANGUAGE plpgsql AS $$
    DECLARE
        m date := date_trunc('month', t_from AT TIME ZONE 'Asia/Shanghai')::date;
        last_m date := date_trunc('month', t_to AT TIME ZONE 'Asia/Shanghai')::date;
        n integer := 0;
        part text;
    BEGIN
        WHILE m <= last_m LOOP
            part := format('iot_observation_y%sm%s', to_char(m, 'YYYY'), to_char(m, 'MM'));
            IF to_regclass('lifeline.' || part) IS NULL THEN
                -- concurrent ingesters may race: the loser's error is caught
                BEGIN
                    EXECUTE format('CREATE TABLE lifeline.%I PARTITION OF lifeline.iot_observation '
                                   'FOR VALUES FROM (%L) TO (%L)', part,
                                   (m::timestamp AT TIME ZONE 'Asia/Shanghai'),
                                   ((m + interval '1 month')::timestamp AT TIME ZONE 'Asia/Shanghai'));
                    n := n + 1;
                EXCEPTION WHEN duplicate_table THEN NULL;
                END;
            END IF;
            m := (m + interval '1 month')::date;
        END LOOP;
        RETURN n;
    END $$""")
    # this month and the next two exist from the start; the ingester and
    # `cityops iot maintain` create later ones ahead of time
    op.execute("SELECT lifeline.iot_ensure_partitions(now() - interval '1 month', now() + interval '2 months')")
    op.execute("""
    CREATE TABLE lifeline.iot_ingest_counter (
        source varchar(60) NOT NULL,
        minute timestamptz NOT NULL,
        accepted integer NOT NULL DEFAULT 0,
        duplicate integer NOT NULL DEFAULT 0,
        malformed integer NOT NULL DEFAULT 0,
        out_of_range integer NOT NULL DEFAULT 0,
        unknown_device integer NOT NULL DEFAULT 0,
        PRIMARY KEY (source, minute)
    )""")
    # Raw threshold crossings; the alarm module turns them into alarms.
    op.execute("""
    CREATE TABLE lifeline.alarm_event (
        id bigserial PRIMARY KEY,
        datastream_id integer NOT NULL REFERENCES lifeline.iot_datastream(id) ON DELETE CASCADE,
        thing_id integer NOT NULL REFERENCES lifeline.iot_thing(id) ON DELETE CASCADE,
        phenomenon_time timestamptz NOT NULL,
        value double precision NOT NULL,
        level smallint NOT NULL CHECK (level BETWEEN 0 AND 4),
        previous_level smallint NOT NULL CHECK (previous_level BETWEEN 0 AND 4),
        rule varchar(60) NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        UNIQUE (datastream_id, phenomenon_time, rule)
    )""")
    op.execute("CREATE INDEX alarm_event_time ON lifeline.alarm_event (phenomenon_time DESC)")


def downgrade() -> None:
    op.execute("DROP TABLE IF EXISTS lifeline.alarm_event")
    op.execute("DROP TABLE IF EXISTS lifeline.iot_ingest_counter")
    op.execute("DROP TABLE IF EXISTS lifeline.iot_observation")
    op.execute("DROP FUNCTION IF EXISTS lifeline.iot_ensure_partitions(timestamptz, timestamptz)")
    op.execute("DROP TABLE IF EXISTS lifeline.iot_datastream")
    op.execute("DROP TABLE IF EXISTS lifeline.iot_feature_of_interest")
    op.execute("DROP TABLE IF EXISTS lifeline.iot_observed_property")
    op.execute("DROP TABLE IF EXISTS lifeline.iot_sensor")
    op.execute("DROP TABLE IF EXISTS lifeline.iot_thing")
