"""Regions API (R90): tree, detail, children, boundary edits validated in
PostGIS (every refusal leaves the database unchanged), a border moved between
two neighbouring communities together with the unit grids along it,
optimistic locking, rename, the operation log and permissions.

Every successful edit is undone at the end of its test, so the shared demo
database keeps its geometry for the other test modules."""
from __future__ import annotations

import re

import pytest
import shapely
from pyproj import Transformer
from shapely.geometry import MultiPolygon, Polygon, mapping, shape
from sqlalchemy import text

from tests.conftest import login

STREET, COMMUNITY = "411721001", "411721001001"
TO_M = Transformer.from_crs("EPSG:4490", "EPSG:4547", always_xy=True)
TO_DEG = Transformer.from_crs("EPSG:4547", "EPSG:4490", always_xy=True)


def token(client) -> str:
    page = client.get("/admin/regions").get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


@pytest.fixture()
def admin(admin_client):
    admin_client.environ_base["HTTP_X_CSRFTOKEN"] = token(admin_client)
    return admin_client


@pytest.fixture()
def leader(app, passwords):
    c = app.test_client()
    assert login(c, "leader", passwords["demo"]).status_code == 302
    c.environ_base["HTTP_X_CSRFTOKEN"] = token(c)
    return c


@pytest.fixture()
def sql(app):
    with app.extensions["cityops.sessions"]() as db:
        yield db


def err(r):
    return r.get_json()["error"]


def metres(g):
    return shapely.transform(g, lambda xy: __import__("numpy").column_stack(TO_M.transform(xy[:, 0], xy[:, 1])))


def degrees(g):
    return shapely.transform(g, lambda xy: __import__("numpy").column_stack(TO_DEG.transform(xy[:, 0], xy[:, 1])))


def area_m2(g) -> float:
    return metres(g).area


def buffer_m(g, d: float):
    return degrees(metres(g).buffer(d, join_style="mitre"))


def geom_of(client, code: str):
    r = client.get(f"/api/admin/regions/{code}")
    assert r.status_code == 200, r.get_json()
    d = r.get_json()
    return shape(d["geometry"]), d["version"], d


def multi(g):
    return g if isinstance(g, MultiPolygon) else MultiPolygon([g])


def state(sql) -> str:
    """A digest of every boundary, name and version, and the number of log rows about them."""
    return sql.execute(text("""
        SELECT md5(string_agg(code || name || version || encode(ST_AsEWKB(geom), 'hex'), ',' ORDER BY code))
               || (SELECT count(*) FROM admin.operation_log WHERE target_table IN ('geo.region', 'geo.unit_grid'))
          FROM (SELECT code, name, version, geom FROM geo.region
                UNION ALL SELECT code, name, version, geom FROM geo.unit_grid) n""")).scalar()


def refused(client, sql, method: str, url: str, body: dict, status: int, code: str):
    before = state(sql)
    r = client.open(url, method=method, json=body)
    assert r.status_code == status, r.get_json()
    e = err(r)
    assert e["code"] == code, e
    assert re.search(r"[\u4e00-\u9fff]", e["message"]), e["message"]
    sql.rollback()
    assert state(sql) == before, "a refused request changed the database"
    return e


def border_pair(sql):
    """Two unit grids of two neighbouring communities (same street) sharing an edge of 40 m or more."""
    row = sql.execute(text("""
        SELECT a.code AS ga, b.code AS gb, a.community_code AS ca, b.community_code AS cb
          FROM geo.unit_grid a JOIN geo.unit_grid b
            ON a.street_code = b.street_code AND a.community_code < b.community_code AND ST_Touches(a.geom, b.geom)
         WHERE ST_Length(ST_Transform(ST_Intersection(a.geom, b.geom), 4547)) > 40
           AND ST_NumPoints(ST_LineMerge(ST_Intersection(a.geom, b.geom))) = 2
         ORDER BY a.code, b.code LIMIT 1""")).first()
    assert row is not None
    return row


def notch(client, sql, depth_m: float = 8.0):
    """A triangle inside grid gb on its shared edge with ga: moving it across moves the A/B border."""
    pair = border_pair(sql)
    ga, va, _ = geom_of(client, pair.ga)
    gb, vb, _ = geom_of(client, pair.gb)
    edge = shapely.line_merge(ga.intersection(gb))
    p, q = edge.coords[0], edge.coords[-1]
    mid = ((p[0] + q[0]) / 2, (p[1] + q[1]) / 2)
    mx, my = TO_M.transform(*mid)
    cx, cy = TO_M.transform(gb.centroid.x, gb.centroid.y)
    k = depth_m / ((cx - mx) ** 2 + (cy - my) ** 2) ** .5
    tip = TO_DEG.transform(mx + (cx - mx) * k, my + (cy - my) * k)
    tri = Polygon([p, tip, q, p])
    assert tri.within(gb.buffer(1e-9)) and area_m2(tri) > 50
    return pair, tri


# ------------------------------------------------------------------ reads

def test_tree_levels_areas_and_counts(admin):
    d = admin.get("/api/admin/regions").get_json()
    assert d["count"] == 25
    county = d["tree"][0]
    assert county["code"] == "411721" and county["name"] == "西平县" and county["level"] == "county"
    assert not county["editable"] and "geometry" not in county
    streets = county["children"]
    assert [s["name"] for s in streets] == ["柏城街道", "柏亭街道", "柏苑街道"]
    assert sum(len(s["children"]) for s in streets) == 21
    assert county["counts"] == {"street": 3, "community": 21, "grid": 2083}
    bc = streets[0]
    assert bc["counts"]["community"] == len(bc["children"]) == 8
    assert bc["counts"]["grid"] == sum(c["counts"]["grid"] for c in bc["children"])
    # Areas in km² on EPSG:4547: the streets' areas add up to their communities'.
    assert 5 < bc["area_km2"] < 9
    assert abs(bc["area_m2"] - sum(c["area_m2"] for c in bc["children"])) < 5
    assert all(c["children"] == [] for c in bc["children"])          # unit grids are loaded lazily


def test_detail_children_and_features(admin):
    g, version, d = geom_of(admin, COMMUNITY)
    assert d["name"] == "健康路社区" and d["level"] == "community" and d["parent_name"] == "柏城街道"
    assert d["geometry"]["type"] == "MultiPolygon" and isinstance(version, int)
    x, y = d["geometry"]["coordinates"][0][0][0]
    assert 113.7 < x < 114.3 and 33.1 < y < 33.6                      # lon/lat order
    assert abs(d["area_m2"] - area_m2(g)) < 1
    assert d["bbox"] == pytest.approx(list(g.bounds))

    kids = admin.get(f"/api/admin/regions/{COMMUNITY}/children").get_json()
    assert kids["count"] == d["counts"]["grid"] == 78
    assert all(k["level"] == "grid" and k["code"].startswith(COMMUNITY) and "geometry" not in k
               for k in kids["items"])
    grid, _, gd = geom_of(admin, kids["items"][0]["code"])
    assert gd["level"] == "grid" and gd["parent_code"] == COMMUNITY

    fc = admin.get(f"/api/admin/regions/{STREET}/features").get_json()
    assert fc["type"] == "FeatureCollection" and len(fc["features"]) == 8
    union = shapely.union_all([shape(f["geometry"]) for f in fc["features"]])
    street, _, _ = geom_of(admin, STREET)
    assert area_m2(union.symmetric_difference(street)) < 1            # the demo communities tile the street
    assert admin.get("/api/admin/regions/999999999").status_code == 404
    assert err(admin.get("/api/admin/regions/abc/children"))["code"] == "region_unknown"


# ------------------------------------------------------------------ refusals

def test_malformed_invalid_swapped_outside_county(admin, sql):
    g, v, _ = geom_of(admin, COMMUNITY)
    url = f"/api/admin/regions/{COMMUNITY}"
    refused(admin, sql, "PUT", url, {"geometry": {"type": "Polygon", "coordinates": "x"}, "version": v},
            400, "geometry_malformed")
    refused(admin, sql, "PUT", url, {"geometry": {"type": "Point", "coordinates": [114, 33.4]}, "version": v},
            400, "geometry_type_not_allowed")
    x0, y0, x1, y1 = g.bounds
    bowtie = Polygon([(x0, y0), (x1, y1), (x1, y0), (x0, y1), (x0, y0)])
    e = refused(admin, sql, "PUT", url, {"geometry": mapping(bowtie), "version": v}, 400, "geometry_invalid")
    assert "自相交" in e["message"] and "健康路社区" in e["message"]
    swapped = shapely.transform(g, lambda xy: xy[:, ::-1])
    refused(admin, sql, "PUT", url, {"geometry": mapping(swapped), "version": v}, 400, "latlon_swapped")
    far = shapely.affinity.translate(g, xoff=2.0)
    refused(admin, sql, "PUT", url, {"geometry": mapping(far), "version": v}, 400, "outside_county")
    refused(admin, sql, "PUT", url, {"geometry": mapping(g)}, 400, "version_missing")
    refused(admin, sql, "PUT", url, {"geometry": mapping(g), "version": v, "name": "x"}, 400, "field_unknown")
    refused(admin, sql, "PUT", "/api/admin/regions/411721", {"geometry": mapping(g), "version": 1},
            400, "county_not_editable")
    refused(admin, sql, "PUT", "/api/admin/regions/411721099099", {"geometry": mapping(g), "version": 1},
            404, "region_unknown")


def test_outside_parent(admin, sql):
    g, v, _ = geom_of(admin, COMMUNITY)
    street, _, _ = geom_of(admin, STREET)
    beyond = buffer_m(g, 30).difference(street)          # the strip that leaves 柏城街道
    assert area_m2(beyond) > 100
    grown = multi(g.union(beyond))
    e = refused(admin, sql, "PUT", f"/api/admin/regions/{COMMUNITY}", {"geometry": mapping(grown), "version": v},
                400, "outside_parent")
    first = e["details"]["problems"][0]
    assert first["parent_name"] == "柏城街道" and first["geometry"]["type"] in ("Polygon", "MultiPolygon")
    assert first["area_m2"] == pytest.approx(area_m2(grown.difference(street)), rel=0.02)


def test_overlapping_a_sibling_names_it_with_the_area(admin, sql):
    g, v, _ = geom_of(admin, COMMUNITY)
    fc = admin.get(f"/api/admin/regions/{STREET}/features").get_json()
    neighbour = next(f for f in fc["features"] if f["id"] != COMMUNITY and shape(f["geometry"]).touches(g))
    n_geom = shape(neighbour["geometry"])
    bite = buffer_m(g, 20).intersection(n_geom)
    grown = multi(g.union(bite))
    e = refused(admin, sql, "PUT", f"/api/admin/regions/{COMMUNITY}", {"geometry": mapping(grown), "version": v},
                400, "overlaps_sibling")
    p = next(p for p in e["details"]["problems"] if p["code"] == "overlaps_sibling")
    assert p["sibling_code"] == neighbour["id"] and neighbour["properties"]["name"] in e["message"]
    assert p["area_m2"] == pytest.approx(area_m2(grown.intersection(n_geom)), rel=0.02)
    assert "平方米" in e["message"]


def test_moving_a_border_alone_leaves_unit_grids_outside(admin, sql):
    pair, tri = notch(admin, sql)
    a, va, _ = geom_of(admin, pair.ca)
    b, vb, _ = geom_of(admin, pair.cb)
    body = {"regions": [{"code": pair.ca, "geometry": mapping(multi(a.union(tri))), "version": va},
                        {"code": pair.cb, "geometry": mapping(multi(b.difference(tri))), "version": vb}]}
    e = refused(admin, sql, "PUT", "/api/admin/regions", body, 400, "child_outside")
    p = e["details"]["problems"][0]
    assert p["child_code"] == pair.gb and p["area_m2"] == pytest.approx(area_m2(tri), rel=0.02)
    # Only one of the two neighbours: an overlap (A grows into B) …
    refused(admin, sql, "PUT", f"/api/admin/regions/{pair.ca}",
            {"geometry": mapping(multi(a.union(tri))), "version": va}, 400, "overlaps_sibling")


def test_opening_a_gap(admin, sql):
    pair, tri = notch(admin, sql)
    gb, vgb, _ = geom_of(admin, pair.gb)
    # A unit grid shrinks: its community is no longer covered by its grids.
    e = refused(admin, sql, "PUT", f"/api/admin/regions/{pair.gb}",
                {"geometry": mapping(multi(gb.difference(tri))), "version": vgb}, 400, "gap_opened")
    p = e["details"]["problems"][0]
    assert p["region_code"] == pair.cb and p["area_m2"] == pytest.approx(area_m2(tri), rel=0.02)
    assert shape(p["geometry"]).area > 0
    # A community shrinks with its grid: now the street has a hole.
    b, vb, _ = geom_of(admin, pair.cb)
    e = refused(admin, sql, "PUT", "/api/admin/regions",
                {"regions": [{"code": pair.cb, "geometry": mapping(multi(b.difference(tri))), "version": vb},
                             {"code": pair.gb, "geometry": mapping(multi(gb.difference(tri))), "version": vgb}]},
                400, "gap_opened")
    street_of_b = pair.cb[:9]
    assert [p["region_code"] for p in e["details"]["problems"]] == [street_of_b]
    # A street shrinks: its communities stick out.
    s, vs, _ = geom_of(admin, STREET)
    c, _, _ = geom_of(admin, COMMUNITY)
    e = refused(admin, sql, "PUT", f"/api/admin/regions/{STREET}",
                {"geometry": mapping(multi(s.difference(buffer_m(c, -1).buffer(0)))), "version": vs},
                400, "child_outside")
    assert e["details"]["problems"][0]["child_code"] == COMMUNITY


def test_batch_body_errors(admin, sql):
    g, v, _ = geom_of(admin, COMMUNITY)
    refused(admin, sql, "PUT", "/api/admin/regions", {"regions": []}, 400, "body_invalid")
    refused(admin, sql, "PUT", "/api/admin/regions", {"regions": [{"code": COMMUNITY, "version": v}]},
            400, "geometry_missing")
    item = {"code": COMMUNITY, "geometry": mapping(g), "version": v}
    refused(admin, sql, "PUT", "/api/admin/regions", {"regions": [item, item]}, 400, "region_duplicate")
    refused(admin, sql, "PUT", "/api/admin/regions", {"regions": [item], "x": 1}, 400, "field_unknown")


# ------------------------------------------------------------------ successful edits

def test_move_border_between_two_communities_with_their_grids(admin, sql):
    pair, tri = notch(admin, sql)
    olds = {c: geom_of(admin, c) for c in (pair.ca, pair.cb, pair.ga, pair.gb)}
    a, b, ga, gb = (olds[c][0] for c in (pair.ca, pair.cb, pair.ga, pair.gb))
    new = {pair.ca: multi(a.union(tri)), pair.cb: multi(b.difference(tri)),
           pair.ga: multi(ga.union(tri)), pair.gb: multi(gb.difference(tri))}
    log_before = sql.execute(text("SELECT coalesce(max(id), 0) FROM admin.operation_log")).scalar()
    r = admin.put("/api/admin/regions", json={"regions": [
        {"code": c, "geometry": mapping(g), "version": olds[c][1]} for c, g in new.items()]})
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["count"] == 4
    try:
        for c, g in new.items():
            got, version, d = geom_of(admin, c)
            assert version == olds[c][1] + 1
            assert area_m2(got.symmetric_difference(g)) < 0.01
        moved = area_m2(tri)
        assert geom_of(admin, pair.ca)[2]["area_m2"] == pytest.approx(olds[pair.ca][2]["area_m2"] + moved, abs=1)
        assert geom_of(admin, pair.cb)[2]["area_m2"] == pytest.approx(olds[pair.cb][2]["area_m2"] - moved, abs=1)
        # The unit grid's stored area follows its boundary.
        stored = sql.execute(text("SELECT area_m2 FROM geo.unit_grid WHERE code = :c"), {"c": pair.ga}).scalar()
        assert stored == pytest.approx(area_m2(new[pair.ga]), abs=1)
        logs = sql.execute(text("SELECT target_table, target_id, username, before, after, detail "
                                "FROM admin.operation_log WHERE id > :i AND action = 'update_boundary' "
                                "ORDER BY target_id"), {"i": log_before}).all()
        assert sorted(x.target_id for x in logs) == sorted(new)
        assert {x.username for x in logs} == {"admin"}
        la = next(x for x in logs if x.target_id == pair.ca)
        assert la.target_table == "geo.region" and la.after["version"] == la.before["version"] + 1
        assert la.after["area_m2"] == pytest.approx(la.before["area_m2"] + moved, abs=1)
        assert shape(la.before["geometry"]).equals(a) and "一并修改" in la.detail
    finally:
        sql.rollback()
        back = admin.put("/api/admin/regions", json={"regions": [
            {"code": c, "geometry": mapping(olds[c][0]), "version": olds[c][1] + 1} for c in new]})
        assert back.status_code == 200, back.get_json()
    for c in new:
        assert area_m2(geom_of(admin, c)[0].symmetric_difference(olds[c][0])) < 0.01


def test_single_put_and_stale_version(admin, leader, sql):
    code = sql.execute(text("SELECT code FROM geo.unit_grid WHERE community_code = :c ORDER BY code LIMIT 1"),
                       {"c": COMMUNITY}).scalar()
    g, v, _ = geom_of(admin, code)
    r = admin.put(f"/api/admin/regions/{code}", json={"geometry": mapping(g), "version": v})
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["version"] == v + 1 and r.get_json()["geometry"]["type"] == "MultiPolygon"
    # The same stale version again: someone else saved in between.
    e = refused(admin, sql, "PUT", f"/api/admin/regions/{code}", {"geometry": mapping(g), "version": v},
                409, "version_conflict")
    assert e["details"]["current_version"] == v + 1
    e = refused(admin, sql, "PATCH", f"/api/admin/regions/{code}", {"name": "新名称", "version": v},
                409, "version_conflict")


def test_rename_logged_and_validated(admin, sql):
    _, v, d = geom_of(admin, COMMUNITY)
    url = f"/api/admin/regions/{COMMUNITY}"
    refused(admin, sql, "PATCH", url, {"name": "  ", "version": v}, 400, "name_invalid")
    refused(admin, sql, "PATCH", url, {"name": "x", "version": v, "level": "street"}, 400, "field_unknown")
    refused(admin, sql, "PATCH", url, {"name": "西关社区", "version": v}, 409, "name_taken")
    r = admin.patch(url, json={"name": "健康路社区（试）", "version": v})
    assert r.status_code == 200 and r.get_json()["name"] == "健康路社区（试）" and r.get_json()["version"] == v + 1
    row = sql.execute(text("SELECT before, after, username FROM admin.operation_log WHERE action = 'rename' "
                           "AND target_id = :c ORDER BY id DESC LIMIT 1"), {"c": COMMUNITY}).first()
    assert row.before["name"] == "健康路社区" and row.after["name"] == "健康路社区（试）" and row.username == "admin"
    back = admin.patch(url, json={"name": d["name"], "version": v + 1})
    assert back.status_code == 200 and back.get_json()["name"] == "健康路社区"


# ------------------------------------------------------------------ permissions

def test_leader_reads_but_cannot_edit(leader, sql):
    assert leader.get("/admin/regions").status_code == 200
    assert leader.get("/api/admin/regions").status_code == 200
    g, v, _ = geom_of(leader, COMMUNITY)
    for method, url, body in (("PUT", f"/api/admin/regions/{COMMUNITY}", {"geometry": mapping(g), "version": v}),
                              ("PUT", "/api/admin/regions", {"regions": [{"code": COMMUNITY,
                                                                          "geometry": mapping(g), "version": v}]}),
                              ("PATCH", f"/api/admin/regions/{COMMUNITY}", {"name": "x", "version": v})):
        e = refused(leader, sql, method, url, body, 403, "forbidden")
        assert "权限" in e["message"]
    page = leader.get("/admin/regions").get_data(as_text=True)
    assert 'data-can-edit="0"' in page and "btn-edit" not in page


def test_roles_without_region_view(user_client, admin):
    assert user_client.get("/api/admin/regions", headers={"Accept": "application/json"}).status_code == 403
    assert user_client.get(f"/api/admin/regions/{COMMUNITY}/features",
                           headers={"Accept": "application/json"}).status_code == 403
    assert user_client.get("/admin/regions").status_code == 403
    page = admin.get("/admin/regions").get_data(as_text=True)
    assert 'data-can-edit="1"' in page and "leaflet-geoman" in page
