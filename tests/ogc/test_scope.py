"""Data scope on /ogc: a street-level user sees only their street's internal
data, a department user only their department's; public layers stay whole."""
from __future__ import annotations

import pytest

from tests.conftest import basic
from sqlalchemy import create_engine, text


@pytest.fixture(scope="module")
def sql(demo_db):
    eng = create_engine(demo_db)
    with eng.connect() as conn:
        yield conn
    eng.dispose()


def hits(client, cid, headers):
    r = client.get(f"/ogc/collections/{cid}/items?f=json&resulttype=hits", headers=headers)
    assert r.status_code == 200
    return r.get_json()["numberMatched"]


def test_region_scope_limits_internal_layers(client, sql, passwords):
    sup = basic("supervisor", passwords["demo"])  # role 监督员 (region scope), street 411721001
    inside = sql.execute(text(
        "SELECT count(*) FROM geo.component c JOIN geo.region r ON r.code='411721001' "
        "AND ST_Intersects(c.geom, r.geom)")).scalar()
    total = sql.execute(text("SELECT count(*) FROM geo.component")).scalar()
    assert 0 < inside < total
    assert hits(client, "components", sup) == inside
    assert hits(client, "components", basic("admin", passwords["admin"])) == total
    fc = client.get("/ogc/collections/components/items?f=json&limit=200", headers=sup).get_json()
    assert all(f["properties"]["grid_code"].startswith("411721001") for f in fc["features"])
    outside = sql.execute(text(
        "SELECT c.code FROM geo.component c JOIN geo.region r ON r.code='411721003' "
        "AND ST_Within(c.geom, r.geom) ORDER BY c.code LIMIT 1")).scalar()
    assert client.get(f"/ogc/collections/components/items/{outside}?f=json", headers=sup).status_code == 404
    admin_item = client.get(f"/ogc/collections/components/items/{outside}?f=json",
                            headers=basic("admin", passwords["admin"]))
    assert admin_item.status_code == 200


def test_region_scope_does_not_touch_public_layers(client, sql, passwords):
    sup = basic("supervisor", passwords["demo"])
    assert hits(client, "unit-grids", sup) == sql.execute(text("SELECT count(*) FROM geo.unit_grid")).scalar()


def test_dept_scope(client, sql, passwords):
    handler = basic("handler", passwords["demo"])  # 专业部门 (dept scope), D010 环境卫生服务中心
    mine = sql.execute(text(
        "SELECT count(*) FROM geo.component WHERE owner_dept='D010' OR maintainer_dept='D010'")).scalar()
    assert mine > 0
    assert hits(client, "components", handler) == mine
    fc = client.get("/ogc/collections/components/items?f=json&limit=100", headers=handler).get_json()
    assert all("D010" in (f["properties"]["owner_dept"], f["properties"]["maintainer_dept"]) for f in fc["features"])


def test_scope_applies_to_tiles(client, passwords):
    url = "/ogc/collections/components/tiles/WebMercatorQuad/14/6578/13381?f=mvt"
    full = client.get(url, headers=basic("admin", passwords["admin"])).data
    handler = client.get(url, headers=basic("handler", passwords["demo"])).data
    assert 0 < len(handler) < len(full) / 3
