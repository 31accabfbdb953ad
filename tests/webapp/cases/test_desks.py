"""Command-centre desks, the due summary and the big screen's statistics against
the real PostGIS: who may open which page and endpoint, counts equal to SQL
over cases.case / case_task / case_event, a task made overdue with SQL shows
up in the due summary, the drill-down figures per street, grid and
supervisor, and bad input refused with a stable code and nothing changed."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import text

from tests.conftest import assert_error, json_api
from tests.webapp.cases.test_case_lifecycle import act, open_task, report, spot  # noqa: F401 (fixture)

DESK_PAGES = {"/cases/desk/accept": "case:accept", "/cases/desk/file": "case:file",
              "/cases/desk/dispatch": "case:dispatch", "/cases/desk/dept": "case:handle",
              "/cases/desk/check": "case:check", "/cases/due": "case:view", "/cases/bigscreen": "case:bigscreen"}
ROLE_PERMS = {"acceptor": {"case:accept", "case:view"}, "shift_chief": {"case:file", "case:view", "case:bigscreen"},
              "dispatcher": {"case:dispatch", "case:view"}, "handler": {"case:handle", "case:view"},
              "supervisor": {"case:check", "case:view"}, "leader": {"case:view", "case:bigscreen"},
              "monitor": {"case:view", "case:bigscreen"}}
STATS = ["/api/cases/stats/overview", "/api/cases/stats/live", "/api/cases/stats/regions",
         "/api/cases/stats/supervisors"]


@pytest.fixture(scope="module")
def apis(app, passwords):
    out = {u: json_api(app, u, passwords["demo"]) for u in ROLE_PERMS}
    out["admin"] = json_api(app, "admin", passwords["admin"])
    return out


def sql(app, q, **params):
    with app.extensions["cityops.sessions"]() as db:
        return db.execute(text(q), params).all()


def scalar(app, q, **params):
    return sql(app, q, **params)[0][0]


def history_size(app):
    return scalar(app, "SELECT (SELECT count(*) FROM cases.case_event) + (SELECT count(*) FROM cases.case_task)"
                       " + (SELECT count(*) FROM cases.\"case\")")


def new_case_at(apis, spot, stage, **over):  # noqa: F811
    """A case reported by the acceptor and driven to `stage` (accept, verify, file, dispatch, handle, check).
    Smart dispatch may skip the dispatch desk; a department's return (回退) approved by the shift chief
    brings the case back to the dispatcher, as in real work."""
    c = report(apis["acceptor"], spot, source="hotline", description=over.pop("description", "市民来电：路面有积水"),
               **over).get_json()
    cid = c["id"]
    for _ in range(12):
        cur = apis["admin"].get(f"/api/cases/{cid}").get_json()
        stages = [t["stage"] for t in cur["tasks"] if t["status"] == "open"]
        if stage in stages:
            return cur
        st = stages[0]
        handler = apis["handler"] if cur["dept_code"] == "D010" else apis["admin"]
        who, action, kw = {
            "accept": (apis["acceptor"], "verify", {}),
            "verify": (apis["supervisor"], "confirm", {"comment": "属实"}),
            "file": (apis["shift_chief"], "file", {}),
            "dispatch": (apis["dispatcher"], "dispatch", {"data": {"dept_code": "D010"}}),
            "handle": (handler, "return", {"comment": "不属本部门职责"}) if stage == "dispatch"
            else (handler, "done", {"comment": "已处理"}),
            "approve_return": (apis["shift_chief"], "approve", {}),
        }[st]
        r = act(who, cid, st, action, **kw)
        assert r.status_code == 200, r.get_json()
    raise AssertionError(f"case {cid} did not reach {stage}")


# ---------------------------------------------------------------- guards

@pytest.mark.parametrize("username", list(ROLE_PERMS))
def test_pages_and_stats_per_role(apis, username):
    api = apis[username]
    perms = ROLE_PERMS[username]
    for path, perm in DESK_PAGES.items():
        r = api.c.get(path)
        if perm in perms:
            assert r.status_code == 200, (username, path, r.status_code)
            assert "text/html" in r.content_type
        else:
            assert r.status_code == 403, (username, path, r.status_code)
    for path in STATS:
        r = api.get(path)
        if "case:bigscreen" in perms:
            assert r.status_code == 200, (username, path, r.get_data(as_text=True)[:300])
        else:
            assert r.status_code == 403 and "权限" in r.get_json()["error"]["message"], (username, path)
    assert api.get("/api/cases/due-summary").status_code == 200


def test_desk_pages_carry_their_stages(apis):
    page = apis["shift_chief"].c.get("/cases/desk/file").get_data(as_text=True)
    for name in ("值班长审批台", "立案", "结案", "回退审批", "延期审批", "挂账审批"):
        assert name in page
    page = apis["supervisor"].c.get("/cases/desk/check").get_data(as_text=True)
    assert "核实" in page and "核查" in page and "desk.js" in page
    big = apis["leader"].c.get("/cases/bigscreen").get_data(as_text=True)
    assert "/assets/vendor/echarts/dist/echarts.min.js" in big and "leaflet.markercluster" in big


def test_anonymous_refused(app):
    c = app.test_client()
    for path in ["/api/cases/due-summary", "/api/cases/desk-extras", "/api/cases/1/dispatch-candidates"] + STATS:
        assert c.get(path).status_code == 401, path
    assert c.get("/cases/bigscreen").status_code == 302


# ---------------------------------------------------------------- work list counts and extras

def test_work_list_counts_match_database(apis, spot, app):  # noqa: F811
    new_case_at(apis, spot, "accept")
    body = apis["acceptor"].get("/api/cases/tasks", query_string={"stage": "accept", "size": 200}).get_json()
    n = scalar(app, "SELECT count(*) FROM cases.case_task WHERE status='open' AND stage='accept'")
    assert n >= 1 and body["counts"]["accept"] == n and body["total"] == n
    # the department desk sees only D010's handling tasks (the API's scope)
    new_case_at(apis, spot, "handle")
    hb = apis["handler"].get("/api/cases/tasks", query_string={"stage": "handle", "size": 200}).get_json()
    n = scalar(app, "SELECT count(*) FROM cases.case_task t WHERE t.status='open' AND t.stage='handle' "
                    "AND t.dept_code IN (WITH RECURSIVE d AS (SELECT code FROM admin.department WHERE code='D010' "
                    "UNION SELECT x.code FROM admin.department x JOIN d ON x.parent_code=d.code) SELECT code FROM d)")
    assert n >= 1 and hb["counts"].get("handle", 0) == n


def test_desk_extras_time_left_and_position(apis, spot, app):  # noqa: F811
    c = new_case_at(apis, spot, "accept", description="市民来电：垃圾桶满溢")
    task = next(t for t in c["tasks"] if t["status"] == "open")
    r = apis["acceptor"].get("/api/cases/desk-extras", query_string={"tasks": str(task["id"])})
    assert r.status_code == 200
    x = r.get_json()["items"][str(task["id"])]
    assert abs(x["lon"] - c["location"]["lon"]) < 1e-9 and abs(x["lat"] - c["location"]["lat"]) < 1e-9
    assert x["due"] == task["due"] and x["left_hours"] is not None
    # push the deadline into the past: the time left turns negative, the status overdue
    with app.extensions["cityops.sessions"]() as db:
        db.execute(text("UPDATE cases.case_task SET deadline = now() - interval '3 days', "
                        "warn_at = now() - interval '4 days' WHERE id=:t"), {"t": task["id"]})
        db.commit()
    x = apis["acceptor"].get("/api/cases/desk-extras", query_string={"tasks": str(task["id"])}).get_json()["items"]
    assert x[str(task["id"])]["due"] == "overdue" and x[str(task["id"])]["left_hours"] < 0
    # a handler (department scope) does not see a case outside its department
    assert apis["handler"].get("/api/cases/desk-extras",
                               query_string={"tasks": str(task["id"])}).get_json()["items"] == {}


def test_desk_extras_bad_input(apis, app):
    before = history_size(app)
    assert_error(apis["acceptor"].get("/api/cases/desk-extras", query_string={"tasks": "1,x"}), 400,
                 "parameter_invalid")
    assert_error(apis["acceptor"].get("/api/cases/desk-extras", query_string={"tasks": ",".join(["1"] * 201)}), 400,
                 "parameter_invalid")
    assert_error(apis["acceptor"].get("/api/cases/desk-extras", query_string={"ids": "1"}), 400, "parameter_unknown")
    assert history_size(app) == before


def test_dispatch_candidates(apis, spot, app):  # noqa: F811
    c = new_case_at(apis, spot, "dispatch", description="市民来电：绿地缺株")
    r = apis["dispatcher"].get(f"/api/cases/{c['id']}/dispatch-candidates")
    assert r.status_code == 200, r.get_json()
    got = r.get_json()
    from webapp.cases import automation, dispatch_rules
    from webapp.cases.models import Case
    with app.app_context(), app.extensions["cityops.sessions"]() as db:
        case = db.get(Case, c["id"])
        want = dispatch_rules.dispatch_decision(db, case.kind, case.class_code, automation.place_of(case)).to_dict()
    assert got["candidates"] == want["candidates"] and got["explanation"] == want["explanation"]
    assert got["case_no"] == c["case_no"]
    before = history_size(app)
    assert_error(apis["acceptor"].get(f"/api/cases/{c['id']}/dispatch-candidates"), 403, "forbidden")
    assert_error(apis["dispatcher"].get("/api/cases/999999999/dispatch-candidates"), 404, "case_not_found")
    assert_error(apis["dispatcher"].get(f"/api/cases/{c['id']}/dispatch-candidates", query_string={"x": 1}), 400,
                 "parameter_unknown")
    assert history_size(app) == before


# ---------------------------------------------------------------- due summary

DUE_SQL = """
SELECT t.stage, CASE WHEN t.deadline < now() THEN 'overdue' ELSE 'warning' END AS due,
       coalesce(t.dept_code, c.dept_code) AS dept, count(*)
  FROM cases.case_task t JOIN cases."case" c ON c.id = t.case_id
 WHERE t.status = 'open' AND t.deadline IS NOT NULL AND (t.deadline < now() OR t.warn_at <= now())
 GROUP BY 1, 2, 3"""


def test_due_summary_counts_a_task_made_overdue(apis, spot, app):  # noqa: F811
    c = new_case_at(apis, spot, "handle", description="市民来电：井盖缺失")
    task = next(t for t in c["tasks"] if t["status"] == "open" and t["stage"] == "handle")
    with app.extensions["cityops.sessions"]() as db:
        db.execute(text("UPDATE cases.case_task SET deadline = now() - interval '2 hours', "
                        "warn_at = now() - interval '5 hours' WHERE id=:t"), {"t": task["id"]})
        db.commit()
    body = apis["admin"].get("/api/cases/due-summary").get_json()
    want = {(s, d, dept): n for s, d, dept, n in sql(app, DUE_SQL)}
    got = {(r["stage"], r["due"], r["dept_code"]): r["count"] for r in body["counts"]}
    assert got == want
    assert ("handle", "overdue", c["dept_code"]) in got
    item = next(i for i in body["items"] if i["task_id"] == task["id"])
    # a deadline seconds ago rounds to -0.0 working hours
    assert item["due"] == "overdue" and item["left_hours"] <= 0 and item["case_no"] == c["case_no"]
    assert body["totals"]["overdue"] == sum(n for (s, d, _), n in want.items() if d == "overdue")
    # filters
    only = apis["admin"].get("/api/cases/due-summary", query_string={"due": "overdue", "stage": "handle"}).get_json()
    assert {(r["stage"], r["due"]) for r in only["counts"]} == {("handle", "overdue")}
    assert all(i["stage"] == "handle" and i["due"] == "overdue" for i in only["items"])
    # the department's own summary: only its department's tasks
    mine = apis["handler"].get("/api/cases/due-summary").get_json()
    assert mine["counts"] and all(r["dept_code"] == "D010" for r in mine["counts"])
    # a warning task (warning time passed, deadline ahead)
    with app.extensions["cityops.sessions"]() as db:
        db.execute(text("UPDATE cases.case_task SET deadline = now() + interval '2 hours', "
                        "warn_at = now() - interval '1 hour' WHERE id=:t"), {"t": task["id"]})
        db.commit()
    body = apis["admin"].get("/api/cases/due-summary", query_string={"due": "warning"}).get_json()
    assert next(i for i in body["items"] if i["task_id"] == task["id"])["due"] == "warning"


def test_due_summary_bad_input(apis, app):
    before = history_size(app)
    assert_error(apis["leader"].get("/api/cases/due-summary", query_string={"due": "late"}), 400, "parameter_invalid")
    assert_error(apis["leader"].get("/api/cases/due-summary", query_string={"stage": "lunch"}), 400,
                 "parameter_invalid")
    assert_error(apis["leader"].get("/api/cases/due-summary", query_string={"dept": "D010"}), 400,
                 "parameter_unknown")
    assert history_size(app) == before


# ---------------------------------------------------------------- big screen statistics

def test_overview_matches_sql(apis, spot, app):  # noqa: F811
    new_case_at(apis, spot, "accept", description="市民来电：夜间施工噪音")
    o = apis["leader"].get("/api/cases/stats/overview").get_json()
    today = "date_trunc('day', now() AT TIME ZONE 'Asia/Shanghai') AT TIME ZONE 'Asia/Shanghai'"
    src = dict(sql(app, f'SELECT source, count(*) FROM cases."case" WHERE reported_at >= {today} GROUP BY 1'))
    assert {r["source"]: r["count"] for r in o["today_by_source"]} == src
    stage = dict(sql(app, "SELECT stage, count(*) FROM cases.\"case\" WHERE status='open' GROUP BY 1"))
    assert {r["stage"]: r["count"] for r in o["open_by_stage"]} == stage
    od = dict(sql(app, "SELECT coalesce(t.dept_code, c.dept_code), count(*) FROM cases.case_task t "
                       "JOIN cases.\"case\" c ON c.id=t.case_id WHERE t.status='open' AND t.deadline < now() GROUP BY 1"))
    assert {r["dept_code"]: r["count"] for r in o["overdue_by_dept"]} == od
    assert o["totals"]["open"] == scalar(app, "SELECT count(*) FROM cases.\"case\" WHERE status='open'")
    assert o["totals"]["reported_today"] == sum(src.values())
    top = sql(app, f"SELECT class_code, count(*) FROM cases.\"case\" WHERE reported_at >= {today} - interval '29 days'"
                   " GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 10")
    assert [(r["class_code"], r["count"]) for r in o["top_classes"]] == [tuple(t) for t in top]


def test_live_cases_are_open_cases(apis, app):
    fc = apis["monitor"].get("/api/cases/stats/live").get_json()
    ids = {f["properties"]["id"] for f in fc["features"]}
    assert ids == {r[0] for r in sql(app, "SELECT id FROM cases.\"case\" WHERE status='open'")}
    overdue = {r[0] for r in sql(app, "SELECT DISTINCT case_id FROM cases.case_task WHERE status='open' "
                                      "AND deadline < now()")}
    assert {f["properties"]["id"] for f in fc["features"] if f["properties"]["due"] == "overdue"} == overdue & ids


def test_region_drill_down_matches_sql(apis, spot, app):  # noqa: F811
    streets = apis["leader"].get("/api/cases/stats/regions").get_json()
    assert streets["level"] == "street" and streets["features"]
    want = dict(sql(app, "SELECT street_code, count(*) FROM cases.\"case\" WHERE status='open' GROUP BY 1"))
    got = {f["properties"]["code"]: f["properties"]["open"] for f in streets["features"]}
    assert {k: v for k, v in got.items() if v} == {k: v for k, v in want.items() if k}
    assert all(f["geometry"]["type"] in ("Polygon", "MultiPolygon") for f in streets["features"])
    street = spot["community"][:9]
    comms = apis["leader"].get("/api/cases/stats/regions", query_string={"level": "community", "parent": street})
    comms = comms.get_json()
    assert comms["features"] and all(f["properties"]["code"].startswith(street) for f in comms["features"])
    want = dict(sql(app, "SELECT community_code, count(*) FROM cases.\"case\" WHERE status='open' "
                         "AND street_code=:s GROUP BY 1", s=street))
    assert {f["properties"]["code"]: f["properties"]["open"] for f in comms["features"]
            if f["properties"]["open"]} == want
    grids = apis["leader"].get("/api/cases/stats/regions",
                               query_string={"level": "grid", "parent": spot["community"]}).get_json()
    n_grids = scalar(app, "SELECT count(*) FROM geo.unit_grid WHERE community_code=:c AND "
                          "(valid_to IS NULL OR valid_to > now())", c=spot["community"])
    assert len(grids["features"]) == n_grids > 0
    want = dict(sql(app, "SELECT grid_code, count(*) FROM cases.\"case\" WHERE status='open' "
                         "AND community_code=:c GROUP BY 1", c=spot["community"]))
    got = {f["properties"]["code"]: f["properties"]["open"] for f in grids["features"] if f["properties"]["open"]}
    assert got == want and sum(want.values()) >= 1
    overdue = dict(sql(app, "SELECT c.grid_code, count(DISTINCT c.id) FROM cases.\"case\" c JOIN cases.case_task t "
                            "ON t.case_id=c.id AND t.status='open' AND t.deadline < now() WHERE c.status='open' "
                            "AND c.community_code=:c GROUP BY 1", c=spot["community"]))
    assert {f["properties"]["code"]: f["properties"]["overdue"] for f in grids["features"]
            if f["properties"]["overdue"]} == overdue


def test_region_bad_input(apis, app):
    before = history_size(app)
    for qs, status, code in [({"level": "city"}, 400, "parameter_invalid"),
                             ({"level": "grid"}, 400, "parameter_invalid"),
                             ({"level": "grid", "parent": "41172100"}, 400, "parameter_invalid"),
                             ({"level": "community", "parent": "411721001001"}, 400, "parameter_invalid"),
                             ({"level": "grid", "parent": "999999999"}, 404, "region_not_found"),
                             ({"zoom": "3"}, 400, "parameter_unknown")]:
        assert_error(apis["leader"].get("/api/cases/stats/regions", query_string=qs), status, code)
    assert_error(apis["leader"].get("/api/cases/stats/supervisors", query_string={"region": "abc"}), 400,
                 "parameter_invalid")
    assert_error(apis["leader"].get("/api/cases/stats/live", query_string={"street_code": "1"}), 400,
                 "parameter_invalid")
    assert_error(apis["leader"].get("/api/cases/stats/overview", query_string={"day": "1"}), 400,
                 "parameter_unknown")
    assert history_size(app) == before


def test_supervisor_figures_match_sql(apis, spot, app):  # noqa: F811
    r = report(apis["supervisor"], spot, description="监督员巡查：占道经营")
    assert r.status_code == 201
    c = new_case_at(apis, spot, "file", description="市民来电：违章搭建")  # the supervisor verified it
    assert c
    uid = scalar(app, "SELECT id FROM admin.\"user\" WHERE username='supervisor'")
    body = apis["leader"].get("/api/cases/stats/supervisors", query_string={"region": spot["community"][:9]})
    me = next(s for s in body.get_json()["items"] if s["user_id"] == uid)
    now = dt.datetime.now(dt.timezone(dt.timedelta(hours=8)))
    week = (now - dt.timedelta(days=now.weekday())).replace(hour=0, minute=0, second=0, microsecond=0)
    today = now.replace(hour=0, minute=0, second=0, microsecond=0)
    assert me["reports_today"] == scalar(app, "SELECT count(*) FROM cases.\"case\" WHERE reporter_id=:u "
                                              "AND source='supervisor' AND reported_at >= :d", u=uid, d=today) >= 1
    assert me["reports_week"] == scalar(app, "SELECT count(*) FROM cases.\"case\" WHERE reporter_id=:u "
                                             "AND source='supervisor' AND reported_at >= :d", u=uid, d=week)
    done, on_time = sql(app, "SELECT count(*), count(*) FILTER (WHERE on_time) FROM cases.case_event "
                             "WHERE actor_id=:u AND stage IN ('verify','check') AND at >= :d", u=uid, d=week)[0]
    assert (me["tasks_done_week"], me["tasks_on_time_week"]) == (done, on_time) and done >= 1
    # a region with no supervisor lists nobody; the whole county lists every enabled supervisor
    assert apis["leader"].get("/api/cases/stats/supervisors",
                              query_string={"region": "411721999"}).get_json()["items"] == []
    every = apis["leader"].get("/api/cases/stats/supervisors").get_json()["items"]
    assert len(every) == scalar(app, "SELECT count(*) FROM admin.\"user\" u JOIN admin.user_role r ON r.user_id=u.id "
                                     "WHERE r.role_code='supervisor' AND u.enabled")
