"""Inspection (R111–R114) against the demo PostGIS: plans by point / line /
area; GPS track validation (inside the county, time order, speed, future
times, retries); mileage equal to the route's length on EPSG:4547 computed
independently; duration; on-duty from the last 10 minutes; a reported problem
becoming a hazard; statistics and exports against SQL; refusals that change
nothing."""
from __future__ import annotations

import datetime as dt
import io
import json

import pytest
from shapely.geometry import LineString
from sqlalchemy import create_engine, text

from geo import crs as gcrs
from tests.conftest import assert_error, json_api

PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000"
                    "1f15c4890000000d49444154789c6360f80f000001010000050018dd8db40000000049454e44ae426082")
UTC = dt.timezone.utc


@pytest.fixture(scope="module")
def sql(demo_db):
    eng = create_engine(demo_db.replace("postgresql://", "postgresql+psycopg://", 1)
                        if demo_db.startswith("postgresql://") else demo_db)

    def run(q, **p):
        with eng.begin() as c:
            res = c.execute(text(q), p)
            return res.all() if res.returns_rows else []
    yield run
    eng.dispose()


@pytest.fixture(scope="module")
def seeded(app, demo_db):
    from sqlalchemy.orm import Session
    from geo.db import get_engine
    from webapp.lifeline.hazards import seed_demo
    with app.app_context(), Session(get_engine(demo_db)) as s:
        seed_demo(s, log=lambda *_: None)
        s.commit()
    return True


@pytest.fixture(scope="module")
def apis(app, passwords, seeded):
    return {u: json_api(app, u, passwords["admin" if u == "admin" else "demo"])
            for u in ("admin", "leader", "monitor", "handler", "supervisor")}


def centre(sql):
    lon, lat = sql("SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_PointOnSurface(geom) p FROM geo.region "
                   "WHERE level = 'street' ORDER BY code LIMIT 1) x")[0]
    return float(lon), float(lat)


def walk(lon, lat, start: dt.datetime, n=12, step_s=8, dlon=0.00012, dlat=0.00005):
    """n points, step_s seconds apart, ~12 m per step (about 1.5 m/s): a walking inspector."""
    return [{"t": (start + dt.timedelta(seconds=i * step_s)).isoformat(), "lon": lon + i * dlon,
             "lat": lat + (i % 3) * dlat, "accuracy": 5} for i in range(n)]


def open_record(api, sql, who="handler"):
    uid = sql("SELECT id FROM admin.\"user\" WHERE username = :u", u=who)[0][0]
    sql("UPDATE lifeline.inspection_record SET ended_at = greatest(now(), coalesce(last_point_at, started_at)) "
        "WHERE user_id = :u AND ended_at IS NULL", u=uid)
    r = api.post("/api/lifeline/inspection/records", {})
    assert r.status_code == 201, r.get_json()
    return r.get_json()


def npoints(sql, rid):
    return sql("SELECT count(*) FROM lifeline.inspection_point WHERE record_id = :r", r=rid)[0][0]


def test_track_mileage_matches_epsg4547_length(apis, sql):
    han = apis["handler"]
    rec = open_record(han, sql)
    assert_error(han.post("/api/lifeline/inspection/records", {}), 409, "record_open")
    lon, lat = centre(sql)
    start = dt.datetime.fromisoformat(rec["started_at"]) + dt.timedelta(seconds=1)
    pts = walk(lon, lat, start)
    r = han.post("/api/lifeline/inspection/tracks", {"record_id": rec["id"], "crs": "EPSG:4490", "points": pts[:6]})
    assert r.status_code == 200, r.get_json()
    r = han.post("/api/lifeline/inspection/tracks", {"record_id": rec["id"], "crs": "EPSG:4490", "points": pts[6:]})
    assert r.get_json()["accepted"] == 6
    expected = gcrs.length_m(LineString([(p["lon"], p["lat"]) for p in pts]))
    assert 100 < expected < 200
    got = sql("SELECT length_m, ST_Length(ST_Transform(route, 4547)), ST_NPoints(route) FROM lifeline.inspection_record "
              "WHERE id = :r", r=rec["id"])[0]
    assert got[0] == pytest.approx(expected, rel=1e-6) and got[1] == pytest.approx(expected, rel=1e-6) and got[2] == 12
    assert r.get_json()["km"] == round(expected / 1000, 3)
    # A retried batch is idempotent.
    r = han.post("/api/lifeline/inspection/tracks", {"record_id": rec["id"], "crs": "EPSG:4490", "points": pts[6:]})
    assert r.get_json()["accepted"] == 0 and r.get_json()["duplicates"] == 6 and npoints(sql, rec["id"]) == 12
    # WGS84 input (what phones send) is converted to CGCS2000 and stored.
    han.post(f"/api/lifeline/inspection/records/{rec['id']}/stop", {})


def test_track_validation_refuses_and_changes_nothing(apis, sql):
    han = apis["handler"]
    rec = open_record(han, sql)
    lon, lat = centre(sql)
    start = dt.datetime.fromisoformat(rec["started_at"]) + dt.timedelta(seconds=1)
    url = "/api/lifeline/inspection/tracks"

    def post(points, **kw):
        return han.post(url, {"record_id": rec["id"], "points": points, **kw})
    good = walk(lon, lat, start, n=4)
    e = assert_error(post(good[:1] + [{**good[1], "lon": 116.4, "lat": 39.9}]), 400, "track_outside_county")
    assert e["details"]["index"] == 1
    assert_error(post([good[1], good[0]]), 400, "track_time_order")
    assert_error(post([good[0], {**good[1], "lon": good[0]["lon"] + 0.02}]), 400, "track_speed")  # ~1.9 km in 8 s
    future = (dt.datetime.now(UTC) + dt.timedelta(hours=1)).isoformat()
    assert_error(post([{**good[0], "t": future}]), 400, "track_time_future")
    assert_error(post([{**good[0], "t": "昨天"}]), 400, "track_point_invalid")
    assert_error(post([{**good[0], "t": "2026-01-01T10:00:00"}]), 400, "track_point_invalid")   # no zone
    assert_error(post([{**good[0], "lon": "114"}]), 400, "track_point_invalid")
    assert_error(post([{**good[0], "accuracy": -1}]), 400, "track_point_invalid")
    assert_error(post([]), 400, "track_points_invalid")
    assert_error(post(good, crs="EPSG:3857"), 400, "crs_unsupported")
    assert_error(han.post(url, {"record_id": "x", "points": good}), 400, "record_invalid")
    assert_error(han.post(url, [1]), 400, "body_invalid")
    old = (dt.datetime.fromisoformat(rec["started_at"]) - dt.timedelta(hours=2)).isoformat()
    assert_error(post([{**good[0], "t": old}]), 400, "track_time_order")
    assert npoints(sql, rec["id"]) == 0
    # Someone else's record is not theirs to write.
    assert_error(apis["monitor"].post(url, {"record_id": rec["id"], "points": good}), 404, "record_unknown")
    # A good batch, then an older point after it is refused.
    assert post(good[2:]).status_code == 200
    assert_error(post(good[:1]), 400, "track_time_order")
    assert npoints(sql, rec["id"]) == 2
    # WGS84 from a phone: stored in EPSG:4490 after conversion.
    r = post([{"t": (start + dt.timedelta(seconds=40)).isoformat(), "lon": good[3]["lon"] + 0.0001,
               "lat": good[3]["lat"], "accuracy": 8}], crs="EPSG:4326")
    assert r.status_code == 200, r.get_json()
    assert sql("SELECT ST_SRID(geom) FROM lifeline.inspection_point WHERE record_id = :r ORDER BY t DESC LIMIT 1",
               r=rec["id"])[0][0] == 4490
    r = han.post(f"/api/lifeline/inspection/records/{rec['id']}/stop", {})
    assert r.status_code == 200 and not r.get_json()["open"]
    assert_error(post([{**good[3], "t": (start + dt.timedelta(seconds=60)).isoformat()}]), 409, "record_closed")


def test_duration_on_duty_and_problem_to_hazard(apis, sql):
    han = apis["handler"]
    uid = sql("SELECT id FROM admin.\"user\" WHERE username = 'handler'")[0][0]
    rec = open_record(han, sql)
    lon, lat = centre(sql)
    start = dt.datetime.fromisoformat(rec["started_at"]) + dt.timedelta(seconds=1)
    assert han.post("/api/lifeline/inspection/tracks",
                    {"record_id": rec["id"], "crs": "EPSG:4490", "points": walk(lon, lat, start, n=5)}).status_code == 200
    stats = apis["monitor"].get(f"/api/lifeline/inspection/stats?user={uid}").get_json()
    assert stats["items"][0]["on_duty"] is True
    # A problem with a photo becomes a hazard (source inspection) linked to the record.
    url = f"/api/lifeline/inspection/records/{rec['id']}/problems"
    body = {"title": "燃气管线上方违规开挖", "description": "施工单位未办理手续", "level": 2, "lon": lon, "lat": lat,
            "crs": "EPSG:4490"}
    n = sql("SELECT count(*) FROM lifeline.hazard")[0][0]
    assert_error(han.post(url, body), 400, "photos_missing")
    r = han.c.post(url, data={"data": json.dumps({**body, "level": 9}), "photo": (io.BytesIO(PNG), "a.png")},
                   headers=han.headers, content_type="multipart/form-data")
    assert_error(r, 400, "level_invalid")
    assert sql("SELECT count(*) FROM lifeline.hazard")[0][0] == n
    r = han.c.post(url, data={"data": json.dumps(body), "photo": (io.BytesIO(PNG), "a.png")}, headers=han.headers,
                   content_type="multipart/form-data")
    assert r.status_code == 201, r.get_json()
    h = r.get_json()
    assert (h["source"], h["record_id"], h["status"], len(h["photos"])) == ("inspection", rec["id"], "pending", 1)
    assert han.post(f"/api/lifeline/inspection/records/{rec['id']}/site-watch", {}).get_json()["site_watch"] == 1
    detail = apis["monitor"].get(f"/api/lifeline/inspection/records/{rec['id']}").get_json()
    assert detail["problems"] == 1 and detail["problem_items"][0]["id"] == h["id"]
    assert [i["id"] for i in apis["monitor"].get(f"/api/lifeline/hazards?record={rec['id']}").get_json()["items"]] == [h["id"]]
    # Duration = end − start after stopping.
    r = han.post(f"/api/lifeline/inspection/records/{rec['id']}/stop", {}).get_json()
    s, e = dt.datetime.fromisoformat(r["started_at"]), dt.datetime.fromisoformat(r["ended_at"])
    assert r["hours"] == round((e - s).total_seconds() / 3600, 2)
    # On duty = a point within the last 10 minutes of an open record.
    stats = apis["monitor"].get(f"/api/lifeline/inspection/stats?user={uid}").get_json()
    assert stats["items"][0]["on_duty"] is False
    rec2 = open_record(han, sql)
    t = dt.datetime.fromisoformat(rec2["started_at"]) + dt.timedelta(seconds=1)
    han.post("/api/lifeline/inspection/tracks", {"record_id": rec2["id"], "crs": "EPSG:4490", "points": walk(lon, lat, t, 2)})
    assert apis["monitor"].get(f"/api/lifeline/inspection/stats?user={uid}").get_json()["items"][0]["on_duty"] is True
    sql("UPDATE lifeline.inspection_record SET last_point_at = now() - interval '11 minutes' WHERE id = :r", r=rec2["id"])
    assert apis["monitor"].get(f"/api/lifeline/inspection/stats?user={uid}").get_json()["items"][0]["on_duty"] is False
    han.post(f"/api/lifeline/inspection/records/{rec2['id']}/stop", {})


def test_stats_and_exports_match_sql(apis, sql):
    from openpyxl import load_workbook
    mon = apis["monitor"]
    today = dt.datetime.now(dt.timezone(dt.timedelta(hours=8))).date()
    q = f"from={today - dt.timedelta(days=7)}&to={today}"
    s = mon.get(f"/api/lifeline/inspection/stats?{q}").get_json()
    t0 = dt.datetime.combine(today - dt.timedelta(days=7), dt.time(), dt.timezone(dt.timedelta(hours=8)))
    want = {r[0]: r[1:] for r in sql(
        "SELECT r.user_id, count(*), sum(r.length_m), sum(r.site_watch), "
        "sum(extract(epoch FROM coalesce(r.ended_at, r.last_point_at, r.started_at) - r.started_at)), "
        "(SELECT count(*) FROM lifeline.hazard h JOIN lifeline.inspection_record x ON x.id = h.record_id "
        " WHERE x.user_id = r.user_id AND x.started_at >= :t0) "
        "FROM lifeline.inspection_record r WHERE r.started_at >= :t0 GROUP BY r.user_id", t0=t0)}
    assert len(s["items"]) >= 2
    for row in s["items"]:
        n, length, watch, secs, probs = want[row["user_id"]]
        assert row["records"] == n and row["site_watch"] == watch and row["problems"] == probs
        assert row["km"] == round(length / 1000, 3) and row["hours"] == round(float(secs) / 3600, 2)
    assert s["totals"]["problems"] == sum(r["problems"] for r in s["items"]) > 0
    assert s["totals"]["records"] >= 14   # a week of demo rounds for two inspectors
    r = mon.get(f"/api/lifeline/inspection/stats.xlsx?{q}")
    ws = load_workbook(io.BytesIO(r.data))["巡检统计"]
    rows = list(ws.iter_rows(min_row=2, values_only=True))
    by_name = {x[0]: x for x in rows}
    for row in s["items"]:
        assert by_name[row["display_name"]][2:6] == (row["records"], row["problems"], row["site_watch"], row["km"])
    assert by_name["合计"][3] == s["totals"]["problems"]
    r = mon.get(f"/api/lifeline/inspection/records.xlsx?{q}")
    ws = load_workbook(io.BytesIO(r.data))["巡查记录"]
    assert ws.max_row - 1 == sql("SELECT count(*) FROM lifeline.inspection_record WHERE started_at >= :t0", t0=t0)[0][0]
    assert_error(mon.get("/api/lifeline/inspection/stats?from=2026-13-01"), 400, "period_invalid")
    assert_error(mon.get("/api/lifeline/inspection/stats?from=2026-02-01&to=2026-01-01"), 400, "period_invalid")
    # A department sees its own inspectors only.
    items = apis["handler"].get(f"/api/lifeline/inspection/stats?{q}").get_json()["items"]
    assert {i["username"] for i in items} == {"handler"}


def test_plans_point_line_area(apis, sql):
    mon = apis["monitor"]
    uid = sql("SELECT user_id FROM lifeline.inspector ORDER BY user_id LIMIT 1")[0][0]
    lon, lat = centre(sql)
    base = {"name": "测试巡查线", "kind": "line", "people": [uid], "frequency": "daily", "valid_from": "2026-01-01",
            "dept_code": "D007", "geometry": {"type": "LineString", "coordinates": [[lon, lat], [lon + 0.005, lat]]}}
    n = sql("SELECT count(*) FROM lifeline.inspection_plan")[0][0]
    assert_error(mon.post("/api/lifeline/inspection/plans", {**base, "kind": "area"}), 400, "geometry_type_not_allowed")
    assert_error(mon.post("/api/lifeline/inspection/plans", {**base, "people": [999999]}), 400, "people_invalid")
    assert_error(mon.post("/api/lifeline/inspection/plans", {**base, "frequency": "hourly"}), 400, "frequency_invalid")
    assert_error(mon.post("/api/lifeline/inspection/plans", {**base, "valid_to": "2025-01-01"}), 400, "valid_to_invalid")
    assert_error(mon.post("/api/lifeline/inspection/plans", {**base, "geometry": {"type": "LineString", "coordinates": [
        [116.4, 39.9], [116.5, 39.9]]}}), 400, "outside_county")
    assert_error(mon.post("/api/lifeline/inspection/plans", {**base, "geometry": None}), 400, "geometry_missing")
    assert_error(mon.post("/api/lifeline/inspection/plans", {**base, "kind": "point", "geometry": None,
                                                            "targets": {"risk_points": ["RP-none"]}}), 400,
                 "targets_unknown")
    assert apis["leader"].post("/api/lifeline/inspection/plans", base).status_code == 403
    assert sql("SELECT count(*) FROM lifeline.inspection_plan")[0][0] == n
    r = mon.post("/api/lifeline/inspection/plans", base)
    assert r.status_code == 201, r.get_json()
    p = r.get_json()
    assert p["geometry"]["type"] == "LineString" and p["people_names"]
    length = sql("SELECT ST_Length(ST_Transform(geom, 4547)) FROM lifeline.inspection_plan WHERE id = :i", i=p["id"])[0][0]
    assert length == pytest.approx(gcrs.length_m(LineString(base["geometry"]["coordinates"])), rel=1e-6)
    codes = [c for (c,) in sql("SELECT code FROM geo.risk_point ORDER BY code LIMIT 3")]
    r = mon.post("/api/lifeline/inspection/plans", {**base, "name": "测试巡查点", "kind": "point", "geometry": None,
                                                    "targets": {"risk_points": codes}})
    assert r.status_code == 201 and r.get_json()["geometry"]["type"] == "MultiPoint"
    assert len(r.get_json()["geometry"]["coordinates"]) == 3
    region = sql("SELECT code FROM geo.region WHERE level = 'community' ORDER BY code LIMIT 1")[0][0]
    r = mon.post("/api/lifeline/inspection/plans", {**base, "name": "测试巡查面", "kind": "area", "geometry": None,
                                                    "targets": {"regions": [region]}})
    assert r.status_code == 201 and r.get_json()["geometry"]["type"] == "MultiPolygon"
    # Optimistic locking on edit, then delete.
    r2 = mon.put(f"/api/lifeline/inspection/plans/{p['id']}", {**base, "name": "改名", "version": p["version"]})
    assert r2.status_code == 200 and r2.get_json()["version"] == p["version"] + 1
    assert_error(mon.put(f"/api/lifeline/inspection/plans/{p['id']}", {**base, "version": p["version"]}), 409,
                 "version_conflict")
    assert mon.delete(f"/api/lifeline/inspection/plans/{p['id']}?version={p['version'] + 1}").status_code == 200


def test_start_requires_inspector_and_pages(apis, sql):
    assert_error(apis["admin"].post("/api/lifeline/inspection/records", {}), 403, "not_inspector")
    for path in ("/lifeline/inspection/plans", "/lifeline/inspection/inspectors", "/lifeline/inspection/records",
                 "/lifeline/inspection/stats", "/lifeline/inspection/run"):
        r = apis["monitor"].c.get(path)
        assert r.status_code == 200, path
    assert apis["leader"].c.get("/lifeline/inspection/run").status_code == 403
    cur = apis["monitor"].get("/api/lifeline/inspection/records/current").get_json()
    assert cur["inspector"] is True and len(cur["plans"]) >= 3
