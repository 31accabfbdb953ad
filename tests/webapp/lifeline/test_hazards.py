"""Hazard handling (R115) and the hazard ledger (R116) against the demo PostGIS
and the real SpiffWorkflow engine: the full path dispatch → handle → feedback
→ check fail → handle → feedback → check pass → rectified with its history;
409 on a stale version; data scope; 挂牌督办 / 摘牌; ledger counts and the
Excel export against SQL; refusals that change nothing."""
from __future__ import annotations

import io
import json

import pytest
from sqlalchemy import create_engine, text

from tests.conftest import assert_error, json_api

PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000"
                    "1f15c4890000000d49444154789c6360f80f000001010000050018dd8db40000000049454e44ae426082")


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
    """The module's demo records (the demo load calls the same function)."""
    from sqlalchemy.orm import Session
    from geo.db import get_engine
    from webapp.lifeline.hazards import seed_demo
    with app.app_context(), Session(get_engine(demo_db)) as s:
        seed_demo(s, log=lambda *_: None)
        s.commit()
        seed_demo(s, log=lambda *_: None)  # idempotent
        s.commit()
    return True


@pytest.fixture(scope="module")
def apis(app, passwords, seeded):
    return {u: json_api(app, u, passwords["admin" if u == "admin" else "demo"])
            for u in ("admin", "leader", "monitor", "handler", "acceptor", "supervisor")}


def inside_point(sql):
    lon, lat = sql("SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_PointOnSurface(geom) p FROM geo.resp_grid "
                   "ORDER BY code LIMIT 1) x")[0]
    return float(lon), float(lat)


def new_hazard(api, sql, **kw):
    lon, lat = inside_point(sql)
    body = {"title": "测试隐患：阀门井盖缺失", "description": "人工登记", "level": 2, "lon": lon, "lat": lat, **kw}
    r = api.post("/api/lifeline/hazards", body)
    assert r.status_code == 201, r.get_json()
    return r.get_json()


def act(api, h, task, decision, comment="办理", photos=0, **extra):
    body = {"task": task, "decision": decision, "comment": comment, "version": h["version"], **extra}
    if photos:
        data = {"data": json.dumps(body), "photo": [(io.BytesIO(PNG), f"p{i}.png") for i in range(photos)]}
        return api.c.post(f"/api/lifeline/hazards/{h['id']}/act", data=data, headers=api.headers,
                          content_type="multipart/form-data")
    return api.post(f"/api/lifeline/hazards/{h['id']}/act", body)


def snapshot(sql, hid):
    return sql("SELECT status, version, stage, wf_state::text, supervised, plan_deadline, dept_code, "
               "(SELECT count(*) FROM lifeline.hazard_event WHERE hazard_id = :h) FROM lifeline.hazard WHERE id = :h",
               h=hid)[0]


def test_full_workflow_to_rectified(apis, sql):
    mon, han = apis["monitor"], apis["handler"]
    h = new_hazard(mon, sql)
    assert h["status"] == "pending" and h["stage"] == "dispatch"
    assert [t["stage"] for t in h["tasks"]] == ["dispatch"] and h["tasks"][0]["mine"]
    assert h["process"]["key"] == "hazard" and h["process"]["version"] >= 1
    # The handler cannot dispatch (monitor lane) and does not see it yet (other department).
    assert han.get(f"/api/lifeline/hazards/{h['id']}").status_code == 404
    r = act(mon, h, "dispatch", "dispatch", "请限期整改", dept_code="D010", deadline="2099-12-31")
    assert r.status_code == 200, r.get_json()
    h = r.get_json()
    assert (h["status"], h["stage"], h["dept_code"], h["plan"]["deadline"]) == ("rectifying", "handle", "D010",
                                                                                  "2099-12-31")
    assert act(mon, h, "handle", "done", "x").status_code == 403          # monitor is not the department
    h = han.get(f"/api/lifeline/hazards/{h['id']}").get_json()
    assert h["tasks"][0]["mine"]
    h = act(han, h, "handle", "done", "已处置").get_json()
    assert h["stage"] == "feedback"
    before = snapshot(sql, h["id"])
    assert_error(act(han, h, "feedback", "done", "反馈"), 400, "photos_missing")   # feedback needs photos
    assert snapshot(sql, h["id"]) == before
    r = act(han, h, "feedback", "done", "整改完毕", photos=2)
    assert r.status_code == 200, r.get_json()
    h = r.get_json()
    assert (h["status"], h["stage"]) == ("checking", "check") and len(h["photos"]) == 2
    assert_error(act(mon, h, "check", "fail", ""), 400, "comment_invalid")      # a failed check says why
    h = act(mon, h, "check", "fail", "整改不到位").get_json()
    assert (h["status"], h["stage"]) == ("rectifying", "handle")
    h = act(han, h, "handle", "done", "重新处置").get_json()
    h = act(han, h, "feedback", "done", "复查完毕", photos=1).get_json()
    h = act(mon, h, "check", "pass", "核查通过").get_json()
    assert (h["status"], h["stage"], h["tasks"]) == ("rectified", None, []) and h["closed_at"]
    assert [e["action"] for e in h["history"]] == ["create", "dispatch", "handle", "feedback", "check_fail", "handle",
                                                   "feedback", "check_pass"]
    assert [e["actor_name"] for e in h["history"]][1:3] == ["周值守", "刘处置"]
    # The history in the database matches, is append-only, and the hazard is closed for further actions.
    rows = sql("SELECT action FROM lifeline.hazard_event WHERE hazard_id = :h ORDER BY at, id", h=h["id"])
    assert [r[0] for r in rows] == [e["action"] for e in h["history"]]
    with pytest.raises(Exception, match="append-only"):
        sql("UPDATE lifeline.hazard_event SET comment = 'x' WHERE hazard_id = :h", h=h["id"])
    assert_error(act(mon, h, "check", "pass"), 409, "hazard_closed")
    # The process diagram of the version it ran on.
    r = mon.get(f"/api/lifeline/hazards/{h['id']}/process.bpmn")
    assert r.status_code == 200 and b'id="hazard"' in r.data


def test_cancel_at_dispatch(apis, sql):
    mon = apis["monitor"]
    h = new_hazard(mon, sql)
    assert_error(act(mon, h, "dispatch", "cancel", ""), 400, "comment_invalid")
    h = act(mon, h, "dispatch", "cancel", "误报").get_json()
    assert h["status"] == "cancelled" and h["history"][-1]["action"] == "cancel"


def test_stale_version_is_409_and_changes_nothing(apis, sql):
    mon = apis["monitor"]
    h = new_hazard(mon, sql)
    ok = act(mon, h, "dispatch", "dispatch", "派遣", dept_code="D010")
    assert ok.status_code == 200
    before = snapshot(sql, h["id"])
    e = assert_error(act(mon, h, "dispatch", "dispatch", "再次派遣", dept_code="D007"), 409, "version_conflict")
    assert e["details"]["current"] == ok.get_json()["version"]
    assert snapshot(sql, h["id"]) == before
    # Right version, wrong task: also 409, also nothing changed.
    h2 = ok.get_json()
    assert_error(act(mon, h2, "check", "pass", "x"), 409, "task_not_ready")
    assert snapshot(sql, h["id"]) == before


def test_concurrent_actions_one_wins(apis, sql, app, passwords):
    """Two monitors submit 派遣 at the same moment with the same version: one 200, one 409."""
    import threading
    mon = apis["monitor"]
    h = new_hazard(mon, sql)
    other = json_api(app, "monitor", passwords["demo"])
    results = []
    barrier = threading.Barrier(2)

    def go(api, dept):
        barrier.wait()
        results.append(act(api, h, "dispatch", "dispatch", "并发派遣", dept_code=dept).status_code)
    ts = [threading.Thread(target=go, args=(mon, "D010")), threading.Thread(target=go, args=(other, "D007"))]
    [t.start() for t in ts]
    [t.join() for t in ts]
    assert sorted(results) == [200, 409]
    assert sql("SELECT count(*) FROM lifeline.hazard_event WHERE hazard_id = :h AND action = 'dispatch'",
               h=h["id"])[0][0] == 1


def test_scope_department_sees_own_hazards(apis, sql):
    han, mon = apis["handler"], apis["monitor"]
    items = han.get("/api/lifeline/hazards?size=200").get_json()
    depts = {i["dept_code"] for i in items["items"]}
    assert depts <= {"D010"} and items["total"] == sql(
        "SELECT count(*) FROM lifeline.hazard WHERE dept_code = 'D010'")[0][0]
    assert mon.get("/api/lifeline/hazards?size=1").get_json()["total"] == sql(
        "SELECT count(*) FROM lifeline.hazard")[0][0]
    other = sql("SELECT id FROM lifeline.hazard WHERE dept_code <> 'D010' LIMIT 1")[0][0]
    assert_error(han.get(f"/api/lifeline/hazards/{other}"), 404, "hazard_unknown")
    # Roles without lifeline:hazard:handle cannot act, register or plan.
    assert apis["leader"].post("/api/lifeline/hazards", {"title": "x"}).status_code == 403


def test_supervise_and_lift(apis, sql):
    mon, lead = apis["monitor"], apis["leader"]
    h = new_hazard(mon, sql)
    body = {"level": "county", "deadline": "2099-01-31", "note": "县级挂牌督办", "version": h["version"]}
    assert mon.post(f"/api/lifeline/hazards/{h['id']}/supervise", body).status_code == 403   # leader only
    before = snapshot(sql, h["id"])
    assert_error(lead.post(f"/api/lifeline/hazards/{h['id']}/supervise", {**body, "level": "nation"}), 400,
                 "supervise_level_invalid")
    assert_error(lead.post(f"/api/lifeline/hazards/{h['id']}/supervise", {**body, "deadline": "2001-01-01"}), 400,
                 "deadline_invalid")
    assert snapshot(sql, h["id"]) == before
    r = lead.post(f"/api/lifeline/hazards/{h['id']}/supervise", body)
    assert r.status_code == 200, r.get_json()
    h = r.get_json()
    assert h["supervised"] and h["supervise"]["by"] == "王主任" and h["due"] == "2099-01-31"
    assert h["status"] == "pending"   # 挂牌督办 coexists with the open status
    assert_error(lead.post(f"/api/lifeline/hazards/{h['id']}/supervise", {**body, "version": h["version"]}), 409,
                 "already_supervised")
    h = lead.post(f"/api/lifeline/hazards/{h['id']}/unsupervise", {"note": "已落实", "version": h["version"]}).get_json()
    assert not h["supervised"] and h["supervise"]["lifted_by"] == "王主任"
    assert [e["action"] for e in h["history"]][-2:] == ["supervise", "unsupervise"]


def test_plan_and_overdue(apis, sql):
    mon = apis["monitor"]
    h = new_hazard(mon, sql)
    body = {"measures": "更换井盖，设置警示", "funds": 1.5, "person": "张三", "phone": "0396-1234567",
            "deadline": "2030-06-30", "version": h["version"]}
    before = snapshot(sql, h["id"])
    assert_error(mon.put(f"/api/lifeline/hazards/{h['id']}/plan", {**body, "funds": -1}), 400, "funds_invalid")
    assert_error(mon.put(f"/api/lifeline/hazards/{h['id']}/plan", {**body, "deadline": "明天"}), 400, "deadline_invalid")
    assert_error(mon.put(f"/api/lifeline/hazards/{h['id']}/plan", {**body, "measures": ""}), 400, "measures_invalid")
    assert snapshot(sql, h["id"]) == before
    h = mon.put(f"/api/lifeline/hazards/{h['id']}/plan", body).get_json()
    assert h["plan"] == {"measures": "更换井盖，设置警示", "funds": 1.5, "person": "张三", "phone": "0396-1234567",
                         "deadline": "2030-06-30"} and not h["overdue"]
    # A deadline in the past makes it overdue (set directly: the API refuses past deadlines on dispatch).
    sql("UPDATE lifeline.hazard SET plan_deadline = DATE '2020-01-01' WHERE id = :h RETURNING id", h=h["id"])
    h = mon.get(f"/api/lifeline/hazards/{h['id']}").get_json()
    assert h["overdue"]
    ids = {i["id"] for i in mon.get("/api/lifeline/hazards?overdue=1&size=200").get_json()["items"]}
    assert h["id"] in ids


def test_ledger_counts_and_export_match_sql(apis, sql):
    from openpyxl import load_workbook
    mon = apis["monitor"]
    data = mon.get("/api/lifeline/hazards?size=5").get_json()
    want = dict(sql("SELECT status, count(*) FROM lifeline.hazard GROUP BY status"))
    for s in ("pending", "rectifying", "checking", "rectified", "cancelled"):
        assert data["counts"][s] == want.get(s, 0), s
    assert data["counts"]["open"] == sql("SELECT count(*) FROM lifeline.hazard WHERE status IN "
                                         "('pending','rectifying','checking')")[0][0]
    assert data["counts"]["supervised"] == sql("SELECT count(*) FROM lifeline.hazard WHERE supervised AND status IN "
                                               "('pending','rectifying','checking')")[0][0]
    assert data["counts"]["supervised"] >= 1   # the demo's 挂牌督办 (an e2e run may have lifted one)
    assert all(want.get(s, 0) > 0 for s in ("pending", "rectifying", "checking", "rectified", "cancelled"))
    assert len(data["items"]) == 5 and data["total"] == sum(want.values())
    # Filters: level and 挂牌督办 against SQL.
    sup = mon.get("/api/lifeline/hazards?supervised=1&size=200").get_json()
    assert sup["total"] == sql("SELECT count(*) FROM lifeline.hazard WHERE supervised")[0][0]
    lv = mon.get("/api/lifeline/hazards?level=3&status=open&size=200").get_json()
    assert lv["total"] == sql("SELECT count(*) FROM lifeline.hazard WHERE level = 3 AND status IN "
                              "('pending','rectifying','checking')")[0][0]
    # Export: one row per hazard in the filter, codes equal to SQL.
    r = mon.get("/api/lifeline/hazards/export.xlsx?status=open")
    assert r.status_code == 200
    wb = load_workbook(io.BytesIO(r.data))
    ws = wb["隐患治理台账"]
    codes = sorted(row[0] for row in ws.iter_rows(min_row=2, values_only=True))
    assert codes == sorted(c for (c,) in sql("SELECT code FROM lifeline.hazard WHERE status IN "
                                              "('pending','rectifying','checking')"))
    counts = {row[0]: row[1] for row in wb["状态统计"].iter_rows(min_row=2, values_only=True)}
    assert counts["完成整改"] == want.get("rectified", 0)
    fc = mon.get("/api/lifeline/hazards/map?status=rectified").get_json()
    assert len(fc["features"]) == want.get("rectified", 0)


def test_bad_input_is_refused_and_changes_nothing(apis, sql):
    mon = apis["monitor"]
    n = sql("SELECT count(*) FROM lifeline.hazard")[0][0]
    lon, lat = inside_point(sql)
    ok = {"title": "测试", "level": 2, "lon": lon, "lat": lat}
    assert_error(mon.post("/api/lifeline/hazards", {**ok, "title": ""}), 400, "title_invalid")
    assert_error(mon.post("/api/lifeline/hazards", {**ok, "level": 7}), 400, "level_invalid")
    assert_error(mon.post("/api/lifeline/hazards", {**ok, "lon": None, "lat": None}), 400, "location_missing")
    assert_error(mon.post("/api/lifeline/hazards", {**ok, "lon": 116.4, "lat": 39.9}), 400, "outside_county")
    assert_error(mon.post("/api/lifeline/hazards", {**ok, "category_code": "没有"}), 400, "category_unknown")
    assert_error(mon.post("/api/lifeline/hazards", {**ok, "dept_code": "X"}), 400, "dept_unknown")
    assert_error(mon.post("/api/lifeline/hazards", {**ok, "risk_code": "RP99999"}), 400, "risk_unknown")
    assert_error(mon.post("/api/lifeline/hazards", {**ok, "evil": 1}), 400, "field_unknown")
    assert_error(mon.post("/api/lifeline/hazards", [1, 2]), 400, "body_invalid")
    assert_error(mon.get("/api/lifeline/hazards?status=bogus"), 400, "status_invalid")
    assert_error(mon.get("/api/lifeline/hazards?level=9"), 400, "level_invalid")
    assert_error(mon.get("/api/lifeline/hazards?size=100000"), 400, "size_invalid")
    assert sql("SELECT count(*) FROM lifeline.hazard")[0][0] == n
    h = new_hazard(mon, sql)
    before = snapshot(sql, h["id"])
    assert_error(act(mon, h, "dispatch", "nope"), 400, "decision_invalid")
    assert_error(act(mon, h, "dispatch", "dispatch", dept_code="NOPE"), 400, "dept_unknown")
    assert_error(act(mon, h, "dispatch", "dispatch", deadline="2001-01-01"), 400, "deadline_invalid")
    assert_error(mon.post(f"/api/lifeline/hazards/{h['id']}/act", {"task": "dispatch", "decision": "dispatch"}), 400,
                 "version_missing")
    assert_error(mon.post(f"/api/lifeline/hazards/{h['id']}/act", {"task": ["x"], "decision": 1, "version": h["version"]}),
                 409, "task_not_ready")
    assert_error(mon.post("/api/lifeline/hazards/999999999/act", {"version": 1}), 404, "hazard_unknown")
    assert snapshot(sql, h["id"]) == before


def test_pages_render(apis, sql):
    mon = apis["monitor"]
    r = mon.c.get("/lifeline/hazards")
    assert r.status_code == 200 and "隐患治理台账" in r.get_data(as_text=True)
    hid = sql("SELECT id FROM lifeline.hazard ORDER BY id LIMIT 1")[0][0]
    r = mon.c.get(f"/lifeline/hazards/{hid}")
    assert r.status_code == 200 and "处置过程记录" in r.get_data(as_text=True)
    assert apis["handler"].c.get(f"/lifeline/hazards/{sql('SELECT id FROM lifeline.hazard WHERE dept_code <> :d LIMIT 1', d='D010')[0][0]}").status_code == 404
