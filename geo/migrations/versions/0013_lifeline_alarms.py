"""lifeline alarms

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02

Alarm rules per datastream (threshold, rate of change, duration, offline,
combination across sensors of one site), alarms (one open alarm per
rule × datastream, lifecycle raised → confirmed | false_alarm → dispatched →
resolved), the append-only alarm history and the alarm ↔ 数字城管 case link.

Default rules are derived from each datastream's thresholds by a trigger, so
devices registered later (by the registry, the simulator or the bench) get
them too; a rule edited by an operator is no longer 'derived' and keeps its
own limits when the datastream's thresholds change.
"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None

OPEN = "('raised', 'confirmed', 'dispatched')"


def upgrade() -> None:
    op.execute("""
    CREATE TABLE lifeline.alarm_rule (
        id serial PRIMARY KEY,
        datastream_id integer NOT NULL REFERENCES lifeline.iot_datastream(id) ON DELETE CASCADE,
        kind varchar(12) NOT NULL CHECK (kind IN ('threshold', 'rate', 'duration', 'offline', 'combination')),
        name varchar(80) NOT NULL,
        -- threshold rules take their level from the limit crossed; the others raise at this level
        level smallint NOT NULL DEFAULT 3 CHECK (level BETWEEN 1 AND 4),
        params jsonb NOT NULL DEFAULT '{}'::jsonb,
        enabled boolean NOT NULL DEFAULT true,
        derived boolean NOT NULL DEFAULT false,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        version integer NOT NULL DEFAULT 1
    )""")
    op.execute("CREATE INDEX alarm_rule_ds ON lifeline.alarm_rule (datastream_id)")
    # at most one derived rule of each kind per datastream (the trigger upserts it)
    op.execute("CREATE UNIQUE INDEX alarm_rule_derived ON lifeline.alarm_rule (datastream_id, kind) WHERE derived")
    op.execute("""
    CREATE TABLE lifeline.alarm (
        id serial PRIMARY KEY,
        rule_id integer NOT NULL REFERENCES lifeline.alarm_rule(id) ON DELETE CASCADE,
        datastream_id integer NOT NULL REFERENCES lifeline.iot_datastream(id) ON DELETE CASCADE,
        thing_id integer NOT NULL REFERENCES lifeline.iot_thing(id) ON DELETE CASCADE,
        network varchar(10) NOT NULL,
        kind varchar(12) NOT NULL,
        level smallint NOT NULL CHECK (level BETWEEN 1 AND 4),
        status varchar(12) NOT NULL DEFAULT 'raised'
            CHECK (status IN ('raised', 'confirmed', 'false_alarm', 'dispatched', 'resolved')),
        message text NOT NULL,
        first_time timestamptz NOT NULL,
        last_time timestamptz NOT NULL,
        first_value double precision,
        last_value double precision,
        peak_value double precision,
        count integer NOT NULL DEFAULT 1,
        case_id bigint,
        hazard_id integer,
        closed_at timestamptz,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        version integer NOT NULL DEFAULT 1
    )""")
    # one open alarm per rule × datastream: repeated crossings update it (no alarm storm)
    op.execute(f"CREATE UNIQUE INDEX alarm_open ON lifeline.alarm (rule_id, datastream_id) WHERE status IN {OPEN}")
    op.execute("CREATE INDEX alarm_list ON lifeline.alarm (last_time DESC)")
    op.execute("CREATE INDEX alarm_status ON lifeline.alarm (status, level)")
    op.execute("CREATE INDEX alarm_case_id ON lifeline.alarm (case_id) WHERE case_id IS NOT NULL")
    op.execute("""
    CREATE TABLE lifeline.alarm_history (
        id bigserial PRIMARY KEY,
        alarm_id integer NOT NULL REFERENCES lifeline.alarm(id) ON DELETE CASCADE,
        action varchar(20) NOT NULL,
        from_status varchar(12),
        to_status varchar(12) NOT NULL,
        comment text,
        actor_id integer,
        actor_name varchar(80),
        detail jsonb,
        at timestamptz NOT NULL DEFAULT now()
    )""")
    op.execute("CREATE INDEX alarm_history_alarm ON lifeline.alarm_history (alarm_id, id)")
    # append-only: history rows are never changed or removed (a cascade from a deleted device
    # is the one exception, flagged by the deleting transaction)
    op.execute("""
    CREATE FUNCTION lifeline.alarm_history_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP = 'DELETE' AND pg_trigger_depth() > 1 THEN
            RETURN OLD;      -- cascade from a removed alarm/device
        END IF;
        RAISE EXCEPTION 'lifeline.alarm_history is append-only';
    END $$""")
    op.execute("""CREATE TRIGGER alarm_history_append_only BEFORE UPDATE OR DELETE ON lifeline.alarm_history
                  FOR EACH ROW EXECUTE FUNCTION lifeline.alarm_history_append_only()""")
    op.execute("""
    CREATE TABLE lifeline.alarm_case (
        alarm_id integer NOT NULL REFERENCES lifeline.alarm(id) ON DELETE CASCADE,
        case_id bigint NOT NULL,
        case_no varchar(20) NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (alarm_id, case_id)
    )""")
    op.execute("CREATE INDEX alarm_case_case ON lifeline.alarm_case (case_id)")
    # default rules from the datastream's thresholds: a threshold rule when it has limits,
    # an offline rule (3 missed sampling periods, 四级 蓝) for every datastream
    op.execute("""
    CREATE FUNCTION lifeline.alarm_rule_defaults() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF NEW.thresholds ? 'high' OR NEW.thresholds ? 'low' THEN
            INSERT INTO lifeline.alarm_rule (datastream_id, kind, name, level, params, derived)
            VALUES (NEW.id, 'threshold', NEW.name || '分级阈值', 1,
                    jsonb_strip_nulls(jsonb_build_object('high', NEW.thresholds -> 'high', 'low', NEW.thresholds -> 'low')),
                    true)
            ON CONFLICT (datastream_id, kind) WHERE derived DO UPDATE SET params = excluded.params,
                updated_at = now(), version = lifeline.alarm_rule.version + 1
            WHERE lifeline.alarm_rule.params IS DISTINCT FROM excluded.params;
        END IF;
        IF TG_OP = 'INSERT' THEN
            INSERT INTO lifeline.alarm_rule (datastream_id, kind, name, level, params, derived)
            VALUES (NEW.id, 'offline', NEW.name || '离线', 4, '{"periods": 3}'::jsonb, true)
            ON CONFLICT (datastream_id, kind) WHERE derived DO NOTHING;
        END IF;
        RETURN NULL;
    END $$""")
    op.execute("""CREATE TRIGGER alarm_rule_defaults AFTER INSERT OR UPDATE OF thresholds ON lifeline.iot_datastream
                  FOR EACH ROW EXECUTE FUNCTION lifeline.alarm_rule_defaults()""")
    # existing datastreams
    op.execute("UPDATE lifeline.iot_datastream SET thresholds = thresholds")
    op.execute("""INSERT INTO lifeline.alarm_rule (datastream_id, kind, name, level, params, derived)
                  SELECT id, 'offline', name || '离线', 4, '{"periods": 3}'::jsonb, true FROM lifeline.iot_datastream
                  ON CONFLICT (datastream_id, kind) WHERE derived DO NOTHING""")


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS alarm_rule_defaults ON lifeline.iot_datastream")
    op.execute("DROP FUNCTION IF EXISTS lifeline.alarm_rule_defaults()")
    op.execute("DROP TABLE IF EXISTS lifeline.alarm_case")
    op.execute("DROP TABLE IF EXISTS lifeline.alarm_history")
    op.execute("DROP FUNCTION IF EXISTS lifeline.alarm_history_append_only()")
    op.execute("DROP TABLE IF EXISTS lifeline.alarm")
    op.execute("DROP TABLE IF EXISTS lifeline.alarm_rule")
