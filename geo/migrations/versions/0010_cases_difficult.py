"""cases difficult

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02

Difficult-case conditions, ownership confirmation (确权) and case search.
"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None

# dictionary `difficult_type`: code, name, R22 category (处置部门不明确 / 处置多次不到位)
TYPES = [("unclear_owner", "权属不清", "dept_unclear"), ("buck_passing", "多部门推诿", "dept_unclear"),
         ("rework", "反复返工", "poor_handling"), ("long_overdue", "长期超期", "poor_handling"),
         ("legacy", "历史遗留", "other"), ("other", "其他", "other")]
# Default conditions (editable in the UI): name, kind, threshold, type, enabled
RULES = [("两个及以上部门回退", "returns_depts", 2, "buck_passing", True),
         ("返工两次及以上", "reworks", 2, "rework", True),
         ("处置超期超过16个工作小时", "overdue_hours", 16, "long_overdue", True),
         ("督办三次及以上", "urged", 3, "long_overdue", False),
         ("办理超过60天未结案", "open_days", 60, "legacy", False)]


def upgrade() -> None:
    op.execute('CREATE SCHEMA IF NOT EXISTS cases')
    op.execute("""
    CREATE TABLE cases.difficult_rule (
        id serial PRIMARY KEY,
        name varchar(80) NOT NULL,
        kind varchar(20) NOT NULL CHECK (kind IN ('returns_depts', 'reworks', 'overdue_hours', 'urged',
                                                  'open_days', 'classes')),
        threshold numeric(10, 2),
        class_codes varchar(4)[] NOT NULL DEFAULT '{}',
        type_code varchar(40) NOT NULL,
        enabled boolean NOT NULL DEFAULT true,
        sort integer NOT NULL DEFAULT 0,
        remark varchar(200),
        version integer NOT NULL DEFAULT 1,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT ck_difficult_rule_threshold CHECK ((kind = 'classes') = (threshold IS NULL)),
        CONSTRAINT ck_difficult_rule_classes CHECK (kind <> 'classes' OR cardinality(class_codes) > 0)
    )""")
    op.execute("""
    CREATE TABLE cases.difficult_mark (
        id bigserial PRIMARY KEY,
        case_id bigint NOT NULL REFERENCES cases."case" (id),
        type_code varchar(40) NOT NULL,
        reason text NOT NULL,
        source varchar(10) NOT NULL CHECK (source IN ('auto', 'manual')),
        rule_id integer REFERENCES cases.difficult_rule (id) ON DELETE SET NULL,
        marked_by integer,
        marked_by_name varchar(40),
        marked_at timestamptz NOT NULL DEFAULT now(),
        status varchar(12) NOT NULL DEFAULT 'pending'
            CHECK (status IN ('pending', 'confirmed', 'resolved', 'cancelled')),
        responsible_dept varchar(20) REFERENCES admin.department (code),
        confirmed_at timestamptz,
        resolved_at timestamptz,
        resolution text,
        cancelled_by integer,
        cancelled_at timestamptz,
        version integer NOT NULL DEFAULT 1,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
    )""")
    # One live mark per case; the history of earlier (cancelled) marks stays.
    op.execute("CREATE UNIQUE INDEX ux_difficult_mark_live ON cases.difficult_mark (case_id) "
               "WHERE status <> 'cancelled'")
    op.execute("CREATE INDEX ix_difficult_mark_at ON cases.difficult_mark (marked_at)")
    op.execute("""
    CREATE TABLE cases.ownership_round (
        id bigserial PRIMARY KEY,
        mark_id bigint NOT NULL REFERENCES cases.difficult_mark (id),
        case_id bigint NOT NULL REFERENCES cases."case" (id),
        status varchar(10) NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'decided', 'cancelled')),
        deadline timestamptz NOT NULL,
        comment text,
        opened_by integer,
        opened_by_name varchar(40),
        opened_at timestamptz NOT NULL DEFAULT now(),
        decided_dept varchar(20) REFERENCES admin.department (code),
        decided_by integer,
        decided_by_name varchar(40),
        decided_at timestamptz,
        decision_comment text,
        version integer NOT NULL DEFAULT 1,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
    )""")
    op.execute("CREATE UNIQUE INDEX ux_ownership_round_open ON cases.ownership_round (case_id) WHERE status = 'open'")
    op.execute("""
    CREATE TABLE cases.ownership_answer (
        id bigserial PRIMARY KEY,
        round_id bigint NOT NULL REFERENCES cases.ownership_round (id) ON DELETE CASCADE,
        dept_code varchar(20) NOT NULL REFERENCES admin.department (code),
        answer varchar(3) CHECK (answer IN ('yes', 'no')),
        reason text,
        answered_by integer,
        answered_by_name varchar(40),
        answered_at timestamptz,
        version integer NOT NULL DEFAULT 1,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT uq_ownership_answer UNIQUE (round_id, dept_code)
    )""")
    op.execute("CREATE INDEX ix_ownership_answer_dept ON cases.ownership_answer (dept_code) WHERE answer IS NULL")
    # Quick search (R21) on a million cases: case-number prefixes (LIKE 'XP2025…%') need a
    # pattern-ops btree, and the difficult-case search a GIN index over difficult cases only
    # (its predicate is the list query's `difficult IS true`, so the planner can use it).
    op.execute('CREATE INDEX IF NOT EXISTS ix_case_case_no_prefix ON cases."case" (case_no varchar_pattern_ops)')
    op.execute('CREATE INDEX IF NOT EXISTS ix_case_search_difficult ON cases."case" USING gin (search) '
               'WHERE difficult IS TRUE')
    op.execute('CREATE INDEX IF NOT EXISTS ix_case_case_no_difficult ON cases."case" (case_no varchar_pattern_ops) '
               'WHERE difficult IS TRUE')
    # The dictionary of difficulty types and the default conditions.
    op.execute("INSERT INTO geo.dict_type (code, name, description) VALUES ('difficult_type', '疑难案件类型', "
               "'疑难案件的认定类型；extra.category 为分析口径（dept_unclear 处置部门不明确、poor_handling 处置多次不到位）') "
               "ON CONFLICT (code) DO NOTHING")
    for sort, (code, name, cat) in enumerate(TYPES, start=1):
        op.execute(sa.text("INSERT INTO geo.dict_item (type_code, code, name, sort, enabled, extra) "
                           "VALUES ('difficult_type', :c, :n, :s, true, CAST(:e AS jsonb)) "
                           "ON CONFLICT (type_code, code) DO NOTHING")
                   .bindparams(c=code, n=name, s=sort, e='{"category": "%s"}' % cat))
    for sort, (name, kind, threshold, type_code, enabled) in enumerate(RULES, start=1):
        op.execute(sa.text("INSERT INTO cases.difficult_rule (name, kind, threshold, type_code, enabled, sort) "
                           "VALUES (:n, :k, :t, :ty, :e, :s)")
                   .bindparams(n=name, k=kind, t=threshold, ty=type_code, e=enabled, s=sort))


def downgrade() -> None:
    op.execute('DROP INDEX IF EXISTS cases.ix_case_case_no_difficult')
    op.execute('DROP INDEX IF EXISTS cases.ix_case_search_difficult')
    op.execute('DROP INDEX IF EXISTS cases.ix_case_case_no_prefix')
    op.execute('DROP TABLE IF EXISTS cases.ownership_answer')
    op.execute('DROP TABLE IF EXISTS cases.ownership_round')
    op.execute('DROP TABLE IF EXISTS cases.difficult_mark')
    op.execute('DROP TABLE IF EXISTS cases.difficult_rule')
    op.execute("DELETE FROM geo.dict_item WHERE type_code = 'difficult_type'")
    op.execute("DELETE FROM geo.dict_type WHERE code = 'difficult_type'")
