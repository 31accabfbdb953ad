"""Risk model API (R106–R110, R118) against the demo PostGIS: LEC scores and
level boundaries, threshold validation, collection → review → register,
direct registration, history, data scope, filters, the hazard-grouped list
against SQL, the OGC collection's new fields, and refusals that change nothing."""
from __future__ import annotations

import io
import uuid
from decimal import Decimal

import pytest
from sqlalchemy import create_engine, text

from tests.conftest import assert_error, json_api
from webapp.lifeline.risk_lec import check_levels, compute, level_of

LEVELS = [{"level": 1, "min_d": 320, "min_inclusive": False}, {"level": 2, "min_d": 160, "min_inclusive": False},
          {"level": 3, "min_d": 70, "min_inclusive": False}, {"level": 4, "min_d": None, "min_inclusive": False}]
# A point inside the built-up area (柏城街道) and a 1x1 PNG.
PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000"
                    "1f15c4890000000d49444154789c6360f80f000001010000050018dd8db40000000049454e44ae426082")


@pytest.fixture(scope="module")
def sql(demo_db):
    eng = create_engine(demo_db.replace("postgresql://", "postgresql+psycopg://", 1)
                        if demo_db.startswith("postgresql://") else demo_db)
    yield lambda q, **p: eng.connect().__enter__().execute(text(q), p).all()
    eng.dispose()


def one(sql, q, **p):
    return sql(q, **p)[0][0]


@pytest.fixture(scope="module")
def apis(app, passwords):
    return {u: json_api(app, u, passwords["admin" if u == "admin" else "demo"])
            for u in ("admin", "leader", "monitor", "supervisor", "handler", "acceptor")}


def inside_point(sql, street="411721001"):
    lon, lat = sql("SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_PointOnSurface(geom) p FROM geo.resp_grid g "
                   "WHERE ST_Intersects(g.geom, (SELECT geom FROM geo.region WHERE code = :s)) "
                   "ORDER BY code LIMIT 1) x", s=street)[0]
    return float(lon), float(lat)


def body(sql, **kw):
    lon, lat = inside_point(sql)
    b = {"name": "测试风险点" + uuid.uuid4().hex[:6], "category": "燃气管网", "hazards": ["管道腐蚀泄漏"],
         "accident_types": ["爆炸"], "risk_object": "中压燃气管道", "risk_source": "钢管腐蚀", "lon": lon, "lat": lat,
         "l": 3, "e": 6, "c": 15}
    b.update(kw)
    return b


# -- LEC ---------------------------------------------------------------------------
def test_lec_scores_and_level_boundaries():
    assert compute(3, 6, 15)[3] == Decimal("270.00")
    assert compute("0.1", 10, 100)[3] == Decimal("100.00")   # exact, no float drift
    cases = [((10, 6, 7), 420, 1), ((6, 6, 15), 540, 1), ((1, 10, 40), 400, 1),
             ((0.5, 6, 100), 300, 2), ((1, 2, 100), 200, 2), ((1, 10, 15), 150, 3), ((1, 10, 7), 70, 4),
             ((3, 6, 3), 54, 4), ((6, 6, 7), 252, 2), ((0.5, 10, 100), 500, 1), ((1, 1, 1), 1, 4)]
    for (L, E, C), d, lv in cases:
        D = compute(L, E, C)[3]
        assert D == d and level_of(D, LEVELS) == lv, (L, E, C, D)
    # Boundaries: exactly 320 / 160 / 70 belong to the lower level by default, to the higher one when inclusive.
    for d, lv in ((320, 2), (Decimal("320.01"), 1), (160, 3), (Decimal("160.5"), 2), (70, 4), (71, 3)):
        assert level_of(Decimal(d), LEVELS) == lv
    inclusive = [dict(r, min_inclusive=True) for r in LEVELS]
    for d, lv in ((320, 1), (160, 2), (70, 3), (69, 4)):
        assert level_of(Decimal(d), inclusive) == lv


@pytest.mark.parametrize("l,e,c,code", [(4, 6, 15, "lec_l_invalid"), (3, 7, 15, "lec_e_invalid"),
                                        (3, 6, 20, "lec_c_invalid"), ("x", 6, 15, "lec_l_invalid"),
                                        (None, 6, 15, "lec_l_invalid"), (True, 6, 15, "lec_l_invalid")])
def test_invalid_lec_refused_and_nothing_changes(apis, sql, l, e, c, code):
    before = sql("SELECT version, lec_d, level, (SELECT count(*) FROM lifeline.risk_assessment WHERE risk_code='RP0001')"
                 " FROM geo.risk_point WHERE code = 'RP0001'")
    r = apis["monitor"].post("/api/lifeline/risk/points/RP0001/assessments", {"l": l, "e": e, "c": c})
    assert_error(r, 400, code)
    assert sql("SELECT version, lec_d, level, (SELECT count(*) FROM lifeline.risk_assessment "
               "WHERE risk_code='RP0001') FROM geo.risk_point WHERE code = 'RP0001'") == before


def test_threshold_validation(apis, sql):
    admin = apis["admin"]
    cur = admin.get("/api/lifeline/risk/config").get_json()["levels"]
    assert [r["name"] for r in cur] == ["重大风险", "较大风险", "一般风险", "低风险"]
    assert [r["min_d"] for r in cur] == [320, 160, 70, None]
    before = sql("SELECT * FROM lifeline.risk_level ORDER BY level")
    bad = [dict(r) for r in cur]
    bad[1]["min_d"] = 400  # level 2 above level 1
    assert_error(admin.put("/api/lifeline/risk/levels", {"levels": bad}), 400, "level_threshold_order")
    bad = [dict(r) for r in cur]
    bad[2]["min_d"] = -5
    assert_error(admin.put("/api/lifeline/risk/levels", {"levels": bad}), 400, "level_threshold_invalid")
    bad = [dict(r) for r in cur]
    bad[3]["name"] = "重大风险"
    assert_error(admin.put("/api/lifeline/risk/levels", {"levels": bad}), 400, "level_name_duplicate")
    bad = [dict(r) for r in cur]
    bad[0]["colour"] = "red"
    assert_error(admin.put("/api/lifeline/risk/levels", {"levels": bad}), 400, "level_colour_invalid")
    assert_error(admin.put("/api/lifeline/risk/levels", {"levels": cur[:3]}), 400, "levels_invalid")
    stale = [dict(r, version=r["version"] - 1) for r in cur]
    assert_error(admin.put("/api/lifeline/risk/levels", {"levels": stale}), 409, "version_conflict")
    assert_error(apis["leader"].put("/api/lifeline/risk/levels", {"levels": cur}), 403, "forbidden")
    assert sql("SELECT * FROM lifeline.risk_level ORDER BY level") == before
    # A valid rename (R108) with inclusive bounds, then back to the standard.
    new = [dict(r) for r in cur]
    new[3]["name"] = "低风险（蓝）"
    new[0]["min_inclusive"] = True
    r = admin.put("/api/lifeline/risk/levels", {"levels": check_levels_input(new)})
    assert r.status_code == 200, r.get_json()
    got = r.get_json()["levels"]
    assert got[3]["name"] == "低风险（蓝）" and got[0]["min_inclusive"] is True
    back = [dict(g, name=o["name"], min_inclusive=o["min_inclusive"]) for g, o in zip(got, cur)]
    assert admin.put("/api/lifeline/risk/levels", {"levels": check_levels_input(back)}).status_code == 200
    check_levels([{k: v for k, v in r.items() if k != "version"} for r in cur])


def check_levels_input(rows):
    return [{k: r[k] for k in ("level", "name", "colour", "colour_name", "min_d", "min_inclusive", "version")}
            for r in rows]


# -- demo data ----------------------------------------------------------------------------
def test_demo_points_assessed_consistently(sql):
    assert one(sql, "SELECT count(*) FROM geo.risk_point WHERE lec_d IS NULL") == 0
    bad = sql("""SELECT code FROM geo.risk_point WHERE level <> CASE WHEN lec_d > 320 THEN 1 WHEN lec_d > 160 THEN 2
                 WHEN lec_d > 70 THEN 3 ELSE 4 END OR round(lec_l * lec_e * lec_c, 2) <> lec_d""")
    assert bad == []
    assert one(sql, "SELECT count(DISTINCT risk_code) FROM lifeline.risk_assessment") == \
        one(sql, "SELECT count(*) FROM geo.risk_point")
    assert one(sql, "SELECT count(*) FROM geo.risk_point WHERE jsonb_array_length(hazards) = 0") == 0
    assert one(sql, "SELECT count(*) FROM geo.risk_point WHERE region_code IS NULL") == 0
    assert one(sql, "SELECT count(*) FROM lifeline.risk_hazard WHERE category_code = '燃气管网'") >= 3
    assert one(sql, "SELECT count(*) FROM lifeline.risk_resp") > 0


# -- collection, review, direct registration ------------------------------------------------
def test_submit_approve_register_with_history(apis, sql):
    b = body(sql, name="测试-人民路阀门井" + uuid.uuid4().hex[:4], source="mobile")
    import json
    r = apis["monitor"].c.post("/api/lifeline/risk/submissions", data={
        "data": json.dumps(b, ensure_ascii=False), "photo": (io.BytesIO(PNG), "scene.png")},
        headers=apis["monitor"].headers, content_type="multipart/form-data")
    assert r.status_code == 201, r.get_json()
    s = r.get_json()
    assert s["status"] == "pending" and s["data"]["d"] == 270 and s["data"]["level"] == 2
    assert s["data"]["dept_code"]  # prefilled from the responsibility list
    assert len(s["data"]["photos"]) == 1
    # Not in the register yet.
    assert one(sql, "SELECT count(*) FROM geo.risk_point WHERE name = :n", n=b["name"]) == 0
    # A collector may not decide.
    assert_error(apis["monitor"].post(f"/api/lifeline/risk/submissions/{s['id']}/approve", {}), 403, "forbidden")
    queue = apis["leader"].get("/api/lifeline/risk/submissions?status=pending").get_json()["items"]
    assert s["id"] in [x["id"] for x in queue]
    r = apis["leader"].post(f"/api/lifeline/risk/submissions/{s['id']}/approve", {"note": "情况属实"})
    assert r.status_code == 200, r.get_json()
    p = r.get_json()["point"]
    assert p["code"].startswith("RP") and p["level"] == 2 and p["d"] == 270 and p["source"] == "mobile"
    assert p["reviewed_by_name"] == "王主任" and p["photos"] == s["data"]["photos"]
    row = sql("SELECT name, level, lec_d, created_by_name, region_code FROM geo.risk_point WHERE code = :c", c=p["code"])
    assert row[0][:4] == (b["name"], 2, Decimal("270.00"), "周值守") and row[0][4].startswith("411721001")
    detail = apis["leader"].get(f"/api/lifeline/risk/points/{p['code']}").get_json()
    assert [h["action"] for h in detail["history"]] == ["approve", "submit"]
    assert len(detail["assessments"]) == 1 and detail["assessments"][0]["assessed_by_name"] == "周值守"
    photo = apis["handler"].get("/api/lifeline/risk/photos/" + p["photos"][0])
    assert photo.status_code == 200 and photo.data == PNG
    # Decided once only.
    assert_error(apis["leader"].post(f"/api/lifeline/risk/submissions/{s['id']}/approve", {}), 409,
                 "submission_decided")
    # A new assessment: history kept, latest written to the register row.
    r = apis["monitor"].post(f"/api/lifeline/risk/points/{p['code']}/assessments", {"l": 6, "e": 6, "c": 15,
                                                                                    "note": "复评"})
    assert r.status_code == 201 and r.get_json()["level"] == 1 and r.get_json()["d"] == 540
    detail = apis["leader"].get(f"/api/lifeline/risk/points/{p['code']}").get_json()
    assert [a["d"] for a in detail["assessments"]] == [540, 270]
    assert detail["level"] == 1 and detail["d"] == 540 and detail["history"][0]["action"] == "assess"


def test_reject_needs_reason_and_keeps_register_unchanged(apis, sql):
    s = apis["supervisor"].post("/api/lifeline/risk/submissions", body(sql)).get_json()
    n = one(sql, "SELECT count(*) FROM geo.risk_point")
    assert_error(apis["leader"].post(f"/api/lifeline/risk/submissions/{s['id']}/reject", {}), 400, "reason_missing")
    r = apis["leader"].post(f"/api/lifeline/risk/submissions/{s['id']}/reject", {"reason": "位置与现场不符"})
    assert r.status_code == 200 and r.get_json()["status"] == "rejected"
    assert one(sql, "SELECT count(*) FROM geo.risk_point") == n
    assert sql("SELECT action, note FROM lifeline.risk_event WHERE submission_id = :i ORDER BY id", i=s["id"])[-1] == \
        ("reject", "位置与现场不符")
    assert_error(apis["supervisor"].get("/api/lifeline/risk/submissions"), 403, "forbidden")
    mine = apis["supervisor"].get("/api/lifeline/risk/submissions/mine").get_json()["items"]
    assert s["id"] in [x["id"] for x in mine] and all(x["submitted_by_name"] == "陈监督" for x in mine)
    assert_error(apis["leader"].post(f"/api/lifeline/risk/submissions/{s['id']}/approve", {}), 409,
                 "submission_decided")


def test_direct_registration_by_auditor_only(apis, sql):
    b = body(sql, category="排水管网", hazards=["内涝积水"], accident_types=["淹溺"], l=1, e=6, c=15)
    assert_error(apis["monitor"].post("/api/lifeline/risk/points", b), 403, "forbidden")
    r = apis["leader"].post("/api/lifeline/risk/points", b)
    assert r.status_code == 201, r.get_json()
    p = r.get_json()
    assert p["source"] == "direct" and p["d"] == 90 and p["level"] == 3 and p["network"] == "rain"
    assert p["dept_code"] == "D016" and p["resp_person"]   # from the responsibility list
    ev = sql("SELECT action FROM lifeline.risk_event WHERE risk_code = :c", c=p["code"])
    assert ev == [("register",)]
    # Edit with optimistic locking.
    r = apis["leader"].patch(f"/api/lifeline/risk/points/{p['code']}", {"risk_object": "下穿通道", "version": 0})
    assert_error(r, 409, "version_conflict")
    r = apis["leader"].patch(f"/api/lifeline/risk/points/{p['code']}", {"risk_object": "下穿通道",
                                                                       "version": p["version"]})
    assert r.status_code == 200 and r.get_json()["risk_object"] == "下穿通道"


@pytest.mark.parametrize("patch,code", [
    ({"category": "不存在的类别"}, "category_unknown"), ({"hazards": ["爆管"]}, "hazards_invalid"),
    ({"accident_types": ["地震"]}, "accident_types_invalid"), ({"lon": 116.4, "lat": 39.9}, None),
    ({"name": ""}, "name_invalid"), ({"lon": "x"}, "location_missing"), ({"foo": 1}, "field_unknown"),
    ({"source": "fax"}, "source_invalid"), ({"resp_phone": "abc"}, "resp_phone_invalid")])
def test_bad_submission_changes_nothing(apis, sql, patch, code):
    before = sql("SELECT (SELECT count(*) FROM lifeline.risk_submission), (SELECT count(*) FROM lifeline.risk_event),"
                 " (SELECT count(*) FROM geo.risk_point)")
    r = apis["monitor"].post("/api/lifeline/risk/submissions", body(sql, **patch))
    assert 400 <= r.status_code < 500, r.get_json()
    if code:
        assert_error(r, 400, code)
    assert sql("SELECT (SELECT count(*) FROM lifeline.risk_submission), (SELECT count(*) FROM lifeline.risk_event),"
               " (SELECT count(*) FROM geo.risk_point)") == before


# -- map, scope, filters, list ------------------------------------------------------------
def test_map_filters_and_counts_match_sql(apis, sql):
    fc = apis["admin"].get("/api/lifeline/risk/points").get_json()
    assert fc["numberMatched"] == one(sql, "SELECT count(*) FROM geo.risk_point")
    assert fc["counts"] == {str(lv): n for lv, n in sql("SELECT level, count(*) FROM geo.risk_point GROUP BY 1")} | \
        {k: v for k, v in fc["counts"].items() if v == 0}
    props = fc["features"][0]["properties"]
    for k in ("name", "dept_name", "resp_person", "location", "photos", "risk_object", "risk_source", "hazards",
              "accident_types", "l", "e", "c", "d", "level_name", "colour"):
        assert k in props
    n1 = apis["admin"].get("/api/lifeline/risk/points?level=1").get_json()["numberMatched"]
    assert n1 == one(sql, "SELECT count(*) FROM geo.risk_point WHERE level = 1")
    gas = apis["admin"].get("/api/lifeline/risk/points?category=gas").get_json()["numberMatched"]
    assert gas == one(sql, "SELECT count(*) FROM geo.risk_point WHERE category = '燃气管网'") > 0
    st = apis["admin"].get("/api/lifeline/risk/points?street=411721002").get_json()["numberMatched"]
    assert st == one(sql, "SELECT count(*) FROM geo.risk_point p JOIN geo.region r ON r.code = '411721002' "
                          "AND ST_Intersects(p.geom, r.geom)")
    dept = apis["admin"].get("/api/lifeline/risk/points?dept=D003").get_json()["numberMatched"]
    assert dept == one(sql, "SELECT count(*) FROM geo.risk_point WHERE dept_code IN ('D003','D013','D014','D015','D016')")
    for q, code in (("level=9", "level_invalid"), ("level=a", "level_invalid"), ("street=12", "street_invalid"),
                    ("community=x", "community_invalid")):
        assert_error(apis["admin"].get("/api/lifeline/risk/points?" + q), 400, code)


@pytest.fixture(scope="module")
def region_api(app, passwords):
    """A user whose only role sees risk points of street 411721001 (region data scope)."""
    from tests.conftest import new_user
    admin = json_api(app, "admin", passwords["admin"])
    code = "riskregion" + uuid.uuid4().hex[:6]
    r = admin.post("/api/admin/roles", {"code": code, "name": "街道风险员" + code[-6:], "data_scope": "region",
                                         "permissions": ["lifeline:view", "lifeline:risk:edit"]})
    assert r.status_code == 201, r.get_json()
    return new_user(app, admin, [code], region_code="411721001")[1]


def test_data_scope(apis, sql, region_api):
    # 专业部门 (dept scope, D010 环卫): only its department's points; a region-scoped role: its street.
    h = apis["handler"].get("/api/lifeline/risk/points").get_json()["numberMatched"]
    assert h == one(sql, "SELECT count(*) FROM geo.risk_point WHERE dept_code = 'D010'")
    s = region_api.get("/api/lifeline/risk/points").get_json()
    assert s["numberMatched"] == one(sql, "SELECT count(*) FROM geo.risk_point WHERE region_code LIKE '411721001%'")
    assert 0 < s["numberMatched"] < one(sql, "SELECT count(*) FROM geo.risk_point")
    outside = one(sql, "SELECT code FROM geo.risk_point WHERE region_code NOT LIKE '411721001%' ORDER BY code LIMIT 1")
    assert_error(region_api.get(f"/api/lifeline/risk/points/{outside}"), 404, "risk_unknown")
    assert_error(region_api.post(f"/api/lifeline/risk/points/{outside}/assessments",
                                         {"l": 1, "e": 1, "c": 1}), 404, "risk_unknown")
    assert apis["acceptor"].get("/api/lifeline/risk/points").status_code == 403
    # Without lifeline:view (受理员) the desk prefill is refused; collectors use the collector's route.
    lon, lat = inside_point(sql)
    assert apis["acceptor"].get(f"/api/lifeline/risk/prefill?lon={lon}&lat={lat}").status_code == 403
    r = apis["supervisor"].get(f"/api/lifeline/risk/collect/prefill?lon={lon}&lat={lat}&category=燃气管网")
    assert r.status_code == 200 and r.get_json()["dept_code"] == "D014"


def test_list_groups_match_sql(apis, sql):
    g = apis["admin"].get("/api/lifeline/risk/groups").get_json()
    want = dict(sql("SELECT x, count(*) FROM geo.risk_point, jsonb_array_elements_text(hazards) x GROUP BY x"))
    got = {x["hazard"]: x["count"] for x in g["groups"] if x["hazard"] != "__none__"}
    assert got == want and len(got) >= 10
    for x in g["groups"]:
        assert sum(x["levels"].values()) == x["count"]
    # Clicking a group: the map shows exactly its points.
    name = g["groups"][0]["hazard"]
    fc = apis["admin"].get("/api/lifeline/risk/points", query_string={"hazard": name}).get_json()
    assert fc["numberMatched"] == want[name] and all(name in f["properties"]["hazards"] for f in fc["features"])
    lv1 = apis["admin"].get("/api/lifeline/risk/groups?level=1").get_json()
    assert sum(x["count"] for x in lv1["groups"]) == one(
        sql, "SELECT count(*) FROM geo.risk_point, jsonb_array_elements_text(hazards) WHERE level = 1")
    r = apis["admin"].c.get("/api/lifeline/risk/export.xlsx")
    assert r.status_code == 200
    from openpyxl import load_workbook
    wb = load_workbook(io.BytesIO(r.data))
    rows = list(wb["风险清单"].iter_rows(min_row=2, values_only=True))
    assert {row[0]: row[2] for row in rows if row[0] != "未关联隐患"} == want
    assert wb["风险点明细"].max_row - 1 == one(sql, "SELECT count(*) FROM geo.risk_point")


def test_ogc_collection_publishes_new_fields(admin_client, sql):
    r = admin_client.get("/ogc/collections/risk-points/items?f=json&limit=3")
    assert r.status_code == 200, r.get_data(as_text=True)[:300]
    p = r.get_json()["features"][0]["properties"]
    for k in ("resp_person", "location", "risk_object", "risk_source", "hazards", "accident_types", "lec_l", "lec_e",
              "lec_c", "lec_d", "status"):
        assert k in p, k
    code = r.get_json()["features"][0]["id"]
    assert float(p["lec_d"]) == float(one(sql, "SELECT lec_d FROM geo.risk_point WHERE code = :c", c=code))


# -- configuration ---------------------------------------------------------------------------
def test_categories_hazards_and_responsibility_list(apis, sql):
    admin = apis["admin"]
    cfg = admin.get("/api/lifeline/risk/config").get_json()
    roots = {c["code"] for c in cfg["categories"] if c["parent_code"] is None}
    assert {"gas", "water", "drainage", "heating", "bridge", "other"} <= roots
    gas = next(c for c in cfg["categories"] if c["code"] == "燃气管网")
    assert gas["parent_code"] == "gas" and "第三方施工破坏" in [h["name"] for h in gas["hazards"]]
    code = "T" + uuid.uuid4().hex[:6]
    assert admin.post("/api/lifeline/risk/categories", {"code": code, "name": "综合管廊", "parent_code": "other"}
                      ).status_code == 201
    assert_error(admin.post("/api/lifeline/risk/categories", {"code": code, "name": "x"}), 409, "category_code_taken")
    assert_error(admin.post("/api/lifeline/risk/categories", {"code": "a b", "name": "x"}), 400,
                 "category_code_invalid")
    assert_error(admin.patch(f"/api/lifeline/risk/categories/{code}", {"parent_code": code, "version": 1}), 400,
                 "category_parent_unknown" if False else "category_cycle")
    h = admin.post("/api/lifeline/risk/hazards", {"category_code": code, "name": "氧气不足"}).get_json()
    assert_error(admin.delete(f"/api/lifeline/risk/categories/{code}"), 409, "category_in_use")
    # Rename a hazard that points use: the points follow.
    hz = next(x for x in gas["hazards"] if x["name"] == "调压设施故障")
    n = one(sql, "SELECT count(*) FROM geo.risk_point WHERE hazards ? '调压设施故障'")
    assert n > 0
    r = admin.patch(f"/api/lifeline/risk/hazards/{hz['id']}", {"name": "调压设备故障", "version": hz["version"]})
    assert r.status_code == 200
    assert one(sql, "SELECT count(*) FROM geo.risk_point WHERE hazards ? '调压设备故障'") == n
    r = admin.patch(f"/api/lifeline/risk/hazards/{hz['id']}", {"name": "调压设施故障", "version": hz["version"] + 1})
    assert r.status_code == 200
    assert_error(admin.delete(f"/api/lifeline/risk/hazards/{hz['id']}"), 409, "hazard_in_use")
    assert admin.delete(f"/api/lifeline/risk/hazards/{h['id']}").status_code == 204
    assert admin.delete(f"/api/lifeline/risk/categories/{code}").status_code == 204
    # Responsibility list: a hazard-specific entry wins over the category's for prefill.
    lon, lat = inside_point(sql)
    grid = one(sql, "SELECT code FROM geo.resp_grid WHERE ST_Intersects(geom, ST_SetSRID(ST_MakePoint(:x, :y), 4490))",
               x=lon, y=lat)
    hz2 = next(x for x in gas["hazards"] if x["name"] == "第三方施工破坏")
    r = admin.post("/api/lifeline/risk/resp", {"category_code": "燃气管网", "hazard_id": hz2["id"],
                                                "resp_grid_code": grid, "dept_code": "D002", "person": "测试责任人",
                                                "phone": "0396-6221234"})
    assert r.status_code == 201, r.get_json()
    rid = r.get_json()["id"]
    assert_error(admin.post("/api/lifeline/risk/resp", {"category_code": "燃气管网", "hazard_id": hz2["id"],
                                                         "resp_grid_code": grid, "dept_code": "D002"}), 409,
                 "resp_duplicate")
    assert_error(admin.post("/api/lifeline/risk/resp", {"category_code": "燃气管网", "resp_grid_code": "NOPE",
                                                         "dept_code": "D002"}), 400, "resp_grid_unknown")
    pre = admin.get("/api/lifeline/risk/prefill", query_string={"lon": lon, "lat": lat, "category": "燃气管网",
                                                                "hazard": "第三方施工破坏"}).get_json()
    assert pre["dept_code"] == "D002" and pre["resp_person"] == "测试责任人" and pre["from_resp_list"]
    pre = admin.get("/api/lifeline/risk/prefill", query_string={"lon": lon, "lat": lat, "category": "燃气管网",
                                                                "hazard": "管道腐蚀泄漏"}).get_json()
    assert pre["dept_code"] == "D014"
    assert admin.delete(f"/api/lifeline/risk/resp/{rid}").status_code == 204
    assert_error(apis["leader"].post("/api/lifeline/risk/categories", {"code": "x", "name": "x"}), 403, "forbidden")
