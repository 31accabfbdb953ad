"""Migrations and the embedded cluster: schema shape, round trip, conventions."""
from __future__ import annotations

import psycopg
import pytest
from sqlalchemy import create_engine, text

from geo.migrate import downgrade, upgrade
from geo.settings import Settings
from geo.pgcluster import database_url


@pytest.fixture(scope="module")
def scratch_url(db_url):
    """A second, empty database in the test cluster for migration round trips."""
    base = "postgresql://" + db_url.split("://", 1)[1]
    admin = base.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as c:
        c.execute("DROP DATABASE IF EXISTS mig_scratch")
        c.execute("CREATE DATABASE mig_scratch")
    url = db_url.rsplit("/", 1)[0] + "/mig_scratch"
    yield url
    from geo.db import _engines
    eng = _engines.pop(url, None)
    if eng:
        eng.dispose()
    with psycopg.connect(admin, autocommit=True) as c:
        c.execute("DROP DATABASE IF EXISTS mig_scratch WITH (FORCE)")


def test_upgrade_downgrade_upgrade(scratch_url):
    upgrade(scratch_url)
    downgrade(scratch_url, "base")
    eng = create_engine(scratch_url)
    with eng.connect() as c:
        assert c.execute(text("SELECT count(*) FROM information_schema.tables WHERE table_schema='geo'")).scalar() == 0
    upgrade(scratch_url)
    with eng.connect() as c:
        n = c.execute(text("SELECT count(*) FROM information_schema.tables WHERE table_schema='geo' "
                           "AND table_type='BASE TABLE'")).scalar()
        assert n >= 14
    eng.dispose()


def test_every_geometry_is_4490_with_gist_index(demo_db):
    eng = create_engine(demo_db)
    with eng.connect() as c:
        cols = c.execute(text(
            "SELECT f_table_name, srid FROM geometry_columns WHERE f_table_schema='geo' "
            "AND f_table_name IN (SELECT table_name FROM information_schema.tables "
            "WHERE table_schema='geo' AND table_type='BASE TABLE')")).fetchall()
        assert cols and all(srid == 4490 for _, srid in cols)
        for table, _ in cols:
            idx = c.execute(text("SELECT count(*) FROM pg_indexes WHERE schemaname='geo' AND tablename=:t "
                                 "AND indexdef ILIKE '%USING gist%'"), {"t": table}).scalar()
            assert idx >= 1, table
        # Every business table carries timestamps and a version for optimistic locking.
        for table, _ in cols:
            names = {r[0] for r in c.execute(text(
                "SELECT column_name FROM information_schema.columns WHERE table_schema='geo' AND table_name=:t"),
                {"t": table})}
            assert {"created_at", "updated_at", "version"} <= names, table
    eng.dispose()


def test_dictionaries_seeded_from_domain(demo_db):
    eng = create_engine(demo_db)
    with eng.connect() as c:
        comp = dict(c.execute(text("SELECT code, name FROM geo.dict_item WHERE type_code='component_class'")).fetchall())
        evt = dict(c.execute(text("SELECT code, name FROM geo.dict_item WHERE type_code='event_class'")).fetchall())
        risk = dict(c.execute(text("SELECT code, name FROM geo.dict_item WHERE type_code='risk_level'")).fetchall())
    eng.dispose()
    assert comp["0101"] == "上水井盖" and comp["01"] == "公用设施"
    assert evt["0401"] == "路面塌陷" and evt["04"] == "突发事件"
    assert risk == {"1": "重大风险", "2": "较大风险", "3": "一般风险", "4": "低风险"}


def test_database_url_prefers_environment():
    s = Settings(database_url="postgresql://u:p@db.example:5432/x")
    assert database_url(s, start=False) == "postgresql+psycopg://u:p@db.example:5432/x"
