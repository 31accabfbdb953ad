"""Difficult cases (R18–R22) through the JSON API against the real PostGIS
and the real BPMN engine: each automatic condition on cases driven through
the API, manual marking, a 确权 round end to end ending in a dispatch, the
quick search, the analysis checked against SQL, bad input and permissions."""
from __future__ import annotations

import datetime as dt
import io

import pytest
from openpyxl import load_workbook
from sqlalchemy import text

from tests.conftest import assert_error, new_user
from tests.webapp.cases.test_case_lifecycle import act, apis, report, spot, to_handle  # noqa: F401 (fixtures)

CST = dt.timezone(dt.timedelta(hours=8))


def sql(app, q, **kw):
    with app.extensions["cityops.sessions"]() as db:
        rows = db.execute(text(q), kw).all()
        db.commit()
        return rows


def run(app, q, **kw):
    with app.extensions["cityops.sessions"]() as db:
        db.execute(text(q), kw)
        db.commit()


def only_rule(app, kind):
    """Enable exactly the default rule of `kind` (the sweep then has one reason to mark)."""
    run(app, "UPDATE cases.difficult_rule SET enabled = (kind = :k)", k=kind)


def live_mark(app, case_id):
    rows = sql(app, "SELECT id, type_code, source, status, rule_id FROM cases.difficult_mark "
                    "WHERE case_id=:c AND status <> 'cancelled'", c=case_id)
    return rows[0] if rows else None


def history(apis, case_id):  # noqa: F811
    return apis["admin"].get(f"/api/cases/{case_id}").get_json()["events"]


@pytest.fixture(scope="module")
def other_handler(app, apis):  # noqa: F811
    """A department handler of D011 (路灯所), a second candidate department."""
    from tests.conftest import JsonApi
    user, api = new_user(app, JsonApi(apis["admin"].c), ["dept_handler"], dept_code="D011")
    return api


@pytest.fixture(autouse=True)
def default_rules(app):
    yield
    run(app, "UPDATE cases.difficult_rule SET enabled = kind IN ('returns_depts','reworks','overdue_hours')")


# ---------------------------------------------------------------- conditions and the sweep

def test_default_conditions_and_types_are_seeded(apis):  # noqa: F811
    r = apis["shift_chief"].get("/api/cases/difficult/rules")
    assert r.status_code == 200
    data = r.get_json()
    kinds = {x["kind"] for x in data["items"]}
    assert {"returns_depts", "reworks", "overdue_hours", "urged", "open_days"} <= kinds
    assert {"权属不清", "多部门推诿", "反复返工", "长期超期", "历史遗留", "其他"} <= set(data["types"].values())
    t = apis["handler"].get("/api/cases/difficult/types").get_json()
    assert {x["category_name"] for x in t["items"]} >= {"处置部门不明确", "处置多次不到位"}


def test_returned_by_two_departments_is_marked(app, apis, spot, other_handler):  # noqa: F811
    only_rule(app, "returns_depts")
    case = to_handle(apis, spot, dept="D010", class_code="0102", description="背街小巷暴露垃圾无人清运")
    cid = case["id"]
    assert act(apis["handler"], cid, "handle", "return", comment="不属于环卫职责").status_code == 200
    assert act(apis["shift_chief"], cid, "approve_return", "approve").status_code == 200
    assert act(apis["dispatcher"], cid, "dispatch", "dispatch", data={"dept_code": "D011"}).status_code == 200
    assert apis["shift_chief"].post("/api/cases/difficult/sweep").status_code == 200
    assert live_mark(app, cid) is None  # one department so far
    assert act(other_handler, cid, "handle", "return", comment="不属于路灯所职责").status_code == 200
    assert act(apis["shift_chief"], cid, "approve_return", "approve").status_code == 200
    ev = apis["admin"].get(f"/api/cases/difficult/evaluate/{cid}").get_json()["matches"]
    assert [m["type_code"] for m in ev] == ["buck_passing"] and "2 个部门" in ev[0]["reason"]
    r = apis["leader"].post("/api/cases/difficult/sweep")
    assert r.status_code == 200 and case["case_no"] in r.get_json()["case_nos"]
    m = live_mark(app, cid)
    assert m.type_code == "buck_passing" and m.source == "auto" and m.status == "pending"
    detail = apis["admin"].get(f"/api/cases/{cid}").get_json()
    assert detail["difficult"] is True
    ev = [e for e in detail["events"] if e["action"] == "mark_difficult"]
    assert len(ev) == 1 and ev[0]["actor"] == "系统" and "2 个部门" in ev[0]["comment"]
    # a second sweep marks nothing again
    assert case["case_no"] not in apis["leader"].post("/api/cases/difficult/sweep").get_json()["case_nos"]


def test_reworked_twice_is_marked(app, apis, spot):  # noqa: F811
    only_rule(app, "reworks")
    cid = to_handle(apis, spot, class_code="0104", description="道路不洁，落叶长期堆积")["id"]
    for i in range(2):
        assert act(apis["handler"], cid, "handle", "done", comment=f"已清扫{i}").status_code == 200
        apis["leader"].post("/api/cases/difficult/sweep")
        assert live_mark(app, cid) is None
        assert act(apis["supervisor"], cid, "check", "fail", comment="仍有落叶").status_code == 200
    apis["leader"].post("/api/cases/difficult/sweep")
    m = live_mark(app, cid)
    assert m is not None and m.type_code == "rework" and m.source == "auto"


def test_overdue_beyond_working_hours_is_marked(app, apis, spot):  # noqa: F811
    only_rule(app, "overdue_hours")
    cid = to_handle(apis, spot, class_code="0105", description="绿地内积存垃圾杂物")["id"]
    # 8 days overdue is more than 16 working hours whatever the calendar; 1 minute is not.
    run(app, "UPDATE cases.case_task SET deadline = now() - interval '1 minute' "
             "WHERE case_id=:c AND stage='handle' AND status='open'", c=cid)
    apis["leader"].post("/api/cases/difficult/sweep")
    assert live_mark(app, cid) is None
    run(app, "UPDATE cases.case_task SET deadline = now() - interval '8 days' "
             "WHERE case_id=:c AND stage='handle' AND status='open'", c=cid)
    apis["leader"].post("/api/cases/difficult/sweep")
    m = live_mark(app, cid)
    assert m is not None and m.type_code == "long_overdue"
    reason = sql(app, "SELECT reason FROM cases.difficult_mark WHERE id=:i", i=m.id)[0][0]
    assert "工作小时" in reason


def test_urged_open_days_and_classes(app, apis, spot):  # noqa: F811
    only_rule(app, "urged")
    cid = to_handle(apis, spot, class_code="0106", description="路边违规张贴小广告")["id"]
    for i in range(3):
        assert apis["leader"].post(f"/api/cases/{cid}/urge", {"comment": f"请尽快处置{i}"}).status_code == 200
    apis["leader"].post("/api/cases/difficult/sweep")
    assert live_mark(app, cid).type_code == "long_overdue"

    only_rule(app, "open_days")
    cid2 = to_handle(apis, spot, class_code="0107", description="废弃车辆长期占道")["id"]
    apis["leader"].post("/api/cases/difficult/sweep")
    assert live_mark(app, cid2) is None
    run(app, "UPDATE cases.case SET reported_at = now() - interval '61 days' WHERE id=:c", c=cid2)
    apis["leader"].post("/api/cases/difficult/sweep")
    assert live_mark(app, cid2).type_code == "legacy"

    run(app, "UPDATE cases.difficult_rule SET enabled=false")
    r = apis["shift_chief"].post("/api/cases/difficult/rules", {"name": "违法建设类", "kind": "classes",
                                                                "class_codes": ["0108"], "type_code": "unclear_owner"})
    assert r.status_code == 201, r.get_json()
    rule = r.get_json()
    cid3 = to_handle(apis, spot, class_code="0108", description="私搭乱建简易棚")["id"]
    apis["leader"].post("/api/cases/difficult/sweep")
    assert live_mark(app, cid3).type_code == "unclear_owner"
    assert apis["shift_chief"].delete(f"/api/cases/difficult/rules/{rule['id']}").status_code == 204


def test_closed_difficult_case_is_resolved_by_the_sweep(app, apis, spot):  # noqa: F811
    cid = to_handle(apis, spot, class_code="0103", description="渣土撒漏，路面污染")["id"]
    assert apis["leader"].post("/api/cases/difficult/marks", {"case_id": cid, "type_code": "other",
                                                              "reason": "群众多次反映"}).status_code == 201
    assert act(apis["handler"], cid, "handle", "done", comment="已清理").status_code == 200
    assert act(apis["supervisor"], cid, "check", "pass").status_code == 200
    assert act(apis["shift_chief"], cid, "close", "close").status_code == 200
    assert apis["leader"].post("/api/cases/difficult/sweep").get_json()["resolved"] >= 1
    m = live_mark(app, cid)
    assert m.status == "resolved"


# ---------------------------------------------------------------- rules API input

def test_rule_bad_input_changes_nothing(app, apis):  # noqa: F811
    api = apis["shift_chief"]
    before = sql(app, "SELECT id, name, kind, threshold, enabled, version FROM cases.difficult_rule ORDER BY id")
    cases = [({"name": "x", "kind": "nope", "threshold": 1, "type_code": "other"}, "kind_invalid"),
             ({"name": "x", "kind": "reworks", "threshold": 0, "type_code": "other"}, "threshold_invalid"),
             ({"name": "x", "kind": "reworks", "threshold": 1.5, "type_code": "other"}, "threshold_invalid"),
             ({"name": "x", "kind": "reworks", "threshold": 2, "type_code": "zzz"}, "type_invalid"),
             ({"name": "x", "kind": "classes", "class_codes": ["1"], "type_code": "other"}, "class_codes_invalid"),
             ({"name": "", "kind": "reworks", "threshold": 2, "type_code": "other"}, "name_required"),
             ({"name": "x", "kind": "reworks", "threshold": 2, "type_code": "other", "x": 1}, "field_unknown")]
    for body, code in cases:
        assert_error(api.post("/api/cases/difficult/rules", body), 400, code)
    rid = before[0][0]
    version = before[0][5]
    assert_error(api.put(f"/api/cases/difficult/rules/{rid}", {"threshold": 3, "version": version + 5}), 409,
                 "version_conflict")
    assert_error(api.put("/api/cases/difficult/rules/999999", {"threshold": 3, "version": 1}), 404, "rule_not_found")
    assert sql(app, "SELECT id, name, kind, threshold, enabled, version FROM cases.difficult_rule ORDER BY id") == before
    r = api.put(f"/api/cases/difficult/rules/{rid}", {"threshold": 3, "version": version})
    assert r.status_code == 200 and r.get_json()["threshold"] == 3 and r.get_json()["version"] == version + 1
    api.put(f"/api/cases/difficult/rules/{rid}", {"threshold": float(before[0][3]), "version": version + 1})
    # only case:config edits conditions
    assert apis["leader"].post("/api/cases/difficult/rules", cases[0][0]).status_code == 403
    assert apis["handler"].get("/api/cases/difficult/rules").status_code == 403


# ---------------------------------------------------------------- manual marking

def test_manual_mark_and_unmark(app, apis, spot):  # noqa: F811
    cid = to_handle(apis, spot, class_code="0110", description="沿街商户店外经营占道")["id"]
    leader = apis["leader"]
    before = sql(app, "SELECT count(*) FROM cases.difficult_mark")
    assert_error(leader.post("/api/cases/difficult/marks", {"case_id": cid, "type_code": "zzz", "reason": "x"}),
                 400, "type_invalid")
    assert_error(leader.post("/api/cases/difficult/marks", {"case_id": cid, "type_code": "other"}), 400,
                 "reason_required")
    assert_error(leader.post("/api/cases/difficult/marks", {"case_id": 99999999, "type_code": "other",
                                                            "reason": "x"}), 404, "case_not_found")
    assert_error(leader.post("/api/cases/difficult/marks", {"case_id": "1", "type_code": "other", "reason": "x"}),
                 400, "case_id_invalid")
    assert apis["handler"].post("/api/cases/difficult/marks", {"case_id": cid, "type_code": "other",
                                                               "reason": "x"}).status_code == 403
    assert sql(app, "SELECT count(*) FROM cases.difficult_mark") == before
    r = leader.post("/api/cases/difficult/marks", {"case_id": cid, "type_code": "unclear_owner",
                                                   "reason": "占道区域权属不清"})
    assert r.status_code == 201, r.get_json()
    m = r.get_json()
    assert m["source"] == "manual" and m["marked_by_name"] == "王主任" and m["status_name"] == "认定中"
    assert_error(leader.post("/api/cases/difficult/marks", {"case_id": cid, "type_code": "other", "reason": "y"}),
                 409, "already_difficult")
    ev = [e for e in history(apis, cid) if e["action"] == "mark_difficult"][-1]
    assert ev["actor"] == "王主任" and ev["data"]["type_name"] == "权属不清"
    assert_error(leader.post(f"/api/cases/difficult/marks/{m['id']}/unmark", {"version": m["version"]}), 400,
                 "comment_required")
    assert_error(leader.post(f"/api/cases/difficult/marks/{m['id']}/unmark", {"comment": "误标",
                                                                              "version": 99}), 409,
                 "version_conflict")
    r = leader.post(f"/api/cases/difficult/marks/{m['id']}/unmark", {"comment": "误标", "version": m["version"]})
    assert r.status_code == 200 and r.get_json()["status"] == "cancelled"
    assert apis["admin"].get(f"/api/cases/{cid}").get_json()["difficult"] is False
    assert history(apis, cid)[-1]["action"] == "unmark_difficult"
    # marked again after unmarking: a new live mark
    assert leader.post("/api/cases/difficult/marks", {"case_id": cid, "type_code": "other",
                                                      "reason": "再次认定"}).status_code == 201


# ---------------------------------------------------------------- ownership confirmation (确权)

def test_ownership_round_end_to_end(app, apis, spot, other_handler):  # noqa: F811
    case = to_handle(apis, spot, dept="D010", class_code="0111", description="桥下空间堆放杂物，权属不明")
    cid = case["id"]
    leader = apis["leader"]
    m = leader.post("/api/cases/difficult/marks", {"case_id": cid, "type_code": "unclear_owner",
                                                   "reason": "桥下空间管理单位不明确"}).get_json()
    deadline = (dt.datetime.now(CST) + dt.timedelta(days=2)).replace(microsecond=0).isoformat()
    url = f"/api/cases/difficult/marks/{m['id']}/rounds"
    before = sql(app, "SELECT count(*) FROM cases.ownership_round")
    assert_error(leader.post(url, {"dept_codes": [], "deadline": deadline}), 400, "dept_codes_invalid")
    assert_error(leader.post(url, {"dept_codes": ["D010", "NOPE"], "deadline": deadline}), 400, "dept_codes_invalid")
    assert_error(leader.post(url, {"dept_codes": ["D010", "D010"], "deadline": deadline}), 400, "dept_codes_invalid")
    assert_error(leader.post(url, {"dept_codes": ["D010"], "deadline": "2020-01-01T00:00"}), 400, "deadline_invalid")
    assert_error(leader.post(url, {"dept_codes": ["D010"], "deadline": "明天"}), 400, "deadline_invalid")
    assert apis["handler"].post(url, {"dept_codes": ["D010"], "deadline": deadline}).status_code == 403
    assert sql(app, "SELECT count(*) FROM cases.ownership_round") == before
    r = leader.post(url, {"dept_codes": ["D010", "D011"], "deadline": deadline, "comment": "请两单位核实权属"})
    assert r.status_code == 201, r.get_json()
    rnd = r.get_json()
    assert [a["answer_name"] for a in rnd["answers"]] == ["未答复", "未答复"]
    assert_error(leader.post(url, {"dept_codes": ["D010"], "deadline": deadline}), 409, "round_open")

    # each candidate department sees its request and answers
    mine = apis["handler"].get("/api/cases/difficult/ownership/mine").get_json()["items"]
    assert [i["case"]["case_no"] for i in mine if i["round_id"] == rnd["id"]] == [case["case_no"]]
    assert all(i["dept_code"] == "D010" for i in mine)
    assert_error(apis["handler"].post(f"/api/cases/difficult/rounds/{rnd['id']}/answer", {"answer": "no"}), 400,
                 "reason_required")
    assert_error(apis["handler"].post(f"/api/cases/difficult/rounds/{rnd['id']}/answer", {"answer": "maybe"}), 400,
                 "answer_invalid")
    assert_error(apis["handler"].post(f"/api/cases/difficult/rounds/{rnd['id']}/answer",
                                      {"answer": "yes", "dept_code": "D011"}), 403, "round_forbidden")
    r = apis["handler"].post(f"/api/cases/difficult/rounds/{rnd['id']}/answer",
                             {"answer": "no", "reason": "桥下空间属交通部门管养"})
    assert r.status_code == 200, r.get_json()
    r = other_handler.post(f"/api/cases/difficult/rounds/{rnd['id']}/answer",
                           {"answer": "yes", "reason": "桥梁附属设施归我所管养"})
    assert r.status_code == 200
    answers = {a["dept_code"]: a["answer"] for a in r.get_json()["answers"]}
    assert answers == {"D010": "no", "D011": "yes"}
    rnd = leader.get(f"/api/cases/difficult/rounds/{rnd['id']}").get_json()

    # the leader decides: the case is returned from D010 and dispatched to D011, all in the history
    assert_error(leader.post(f"/api/cases/difficult/rounds/{rnd['id']}/decide", {"dept_code": "NOPE"}), 400,
                 "dept_unknown")
    assert_error(leader.post(f"/api/cases/difficult/rounds/{rnd['id']}/decide",
                             {"dept_code": "D011", "version": rnd["version"] + 1}), 409, "version_conflict")
    assert apis["handler"].post(f"/api/cases/difficult/rounds/{rnd['id']}/decide",
                                {"dept_code": "D011"}).status_code == 403
    r = leader.post(f"/api/cases/difficult/rounds/{rnd['id']}/decide",
                    {"dept_code": "D011", "comment": "依据桥梁管养范围", "version": rnd["version"]})
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["status"] == "decided" and r.get_json()["decided_dept_name"]
    detail = apis["admin"].get(f"/api/cases/{cid}").get_json()
    assert detail["stage"] == "handle" and detail["dept_code"] == "D011"
    actions = [(e["action"], e["actor"]) for e in detail["events"]]
    tail = [a for a, _ in actions][-7:]
    assert tail == ["mark_difficult", "ownership_open", "ownership_answer", "ownership_answer", "ownership_decide",
                    "return", "approve", "dispatch"][-7:]
    assert actions[-1] == ("dispatch", "系统") and detail["events"][-1]["data"] == {"dept_code": "D011"}
    assert "确权" in detail["events"][-1]["comment"]
    m2 = live_mark(app, cid)
    assert m2.status == "confirmed"
    # the decided department now has the handling task; answering a decided round is refused
    items = other_handler.get("/api/cases/tasks?stage=handle&size=200").get_json()["items"]
    assert cid in [i["case"]["id"] for i in items]
    assert_error(other_handler.post(f"/api/cases/difficult/rounds/{rnd['id']}/answer",
                                    {"answer": "yes", "reason": "x"}), 409, "round_closed")
    assert_error(leader.post(f"/api/cases/difficult/rounds/{rnd['id']}/decide", {"dept_code": "D011"}), 409,
                 "round_closed")


def test_ownership_decision_at_dispatch_stage(app, apis, spot):  # noqa: F811
    case = to_handle(apis, spot, dept="D010", class_code="0112", description="小区门口积水，排水设施权属不清")
    cid = case["id"]
    assert act(apis["handler"], cid, "handle", "return", comment="非本单位").status_code == 200
    assert act(apis["shift_chief"], cid, "approve_return", "approve").status_code == 200
    m = apis["leader"].post("/api/cases/difficult/marks", {"case_id": cid, "type_code": "unclear_owner",
                                                           "reason": "排水设施权属不清"}).get_json()
    deadline = (dt.datetime.now(CST) + dt.timedelta(hours=4)).isoformat()
    rnd = apis["leader"].post(f"/api/cases/difficult/marks/{m['id']}/rounds",
                              {"dept_codes": ["D010"], "deadline": deadline}).get_json()
    r = apis["leader"].post(f"/api/cases/difficult/rounds/{rnd['id']}/decide", {"dept_code": "D010"})
    assert r.status_code == 200, r.get_json()
    detail = apis["admin"].get(f"/api/cases/{cid}").get_json()
    assert detail["stage"] == "handle" and detail["dept_code"] == "D010"
    assert [e["action"] for e in detail["events"]][-2:] == ["ownership_decide", "dispatch"]


# ---------------------------------------------------------------- quick search (R21)

def test_quick_search(apis, spot):  # noqa: F811
    cid = to_handle(apis, spot, class_code="0113", description="消火栓漏水严重，权属待定")["id"]
    c = apis["admin"].get(f"/api/cases/{cid}").get_json()
    apis["leader"].post("/api/cases/difficult/marks", {"case_id": cid, "type_code": "other", "reason": "测试检索"})
    for q in ("消火栓", "漏水", c["case_no"][:10], c["case_no"]):
        items = apis["leader"].get(f"/api/cases/difficult?q={q}").get_json()["items"]
        assert cid in [i["case"]["id"] for i in items], q
    items = apis["leader"].get("/api/cases/difficult?q=消火栓").get_json()["items"]
    assert "<mark>消火栓</mark>" in items[0]["case"]["description_html"]
    assert apis["leader"].get("/api/cases/difficult?q=查无此词语").get_json()["total"] == 0
    # the same search on the case list (difficult=1)
    items = apis["leader"].get("/api/cases?q=消火栓&difficult=1").get_json()["items"]
    assert cid in [i["id"] for i in items]
    assert_error(apis["leader"].get("/api/cases/difficult?type=zzz"), 400, "type_invalid")
    assert_error(apis["leader"].get("/api/cases/difficult?status=cancelled"), 400, "parameter_invalid")
    assert_error(apis["leader"].get("/api/cases/difficult?x=1"), 400, "parameter_unknown")
    assert_error(apis["leader"].get("/api/cases/difficult?size=0"), 400, "parameter_invalid")


# ---------------------------------------------------------------- analysis (R22)

def expected(app, start, end, type_codes=None):
    rows = sql(app, """
        SELECT count(*), count(*) FILTER (WHERE m.source='auto'), count(*) FILTER (WHERE m.source='manual'),
               count(*) FILTER (WHERE m.confirmed_at IS NOT NULL), count(*) FILTER (WHERE m.status='resolved'),
               count(*) FILTER (WHERE EXISTS (SELECT 1 FROM cases.case_task t WHERE t.case_id=m.case_id
                    AND t.stage='handle' AND t.deadline IS NOT NULL
                    AND ((t.status='open' AND t.deadline < now()) OR (t.status='done' AND t.done_at > t.deadline))))
        FROM cases.difficult_mark m
        WHERE m.status <> 'cancelled' AND m.marked_at >= (CAST(:s AS date) AT TIME ZONE 'Asia/Shanghai')
          AND m.marked_at < ((CAST(:e AS date) + 1) AT TIME ZONE 'Asia/Shanghai')
          AND (CAST(:t AS text[]) IS NULL OR m.type_code = ANY(CAST(:t AS text[])))""",
               s=start, e=end, t=type_codes)
    return dict(zip(["marked", "auto", "manual", "confirmed", "resolved", "overdue"], rows[0]))


def test_analysis_matches_sql(app, apis, spot):  # noqa: F811
    # some marks in the past, so buckets differ: move two of them back
    ids = [r[0] for r in sql(app, "SELECT id FROM cases.difficult_mark WHERE status<>'cancelled' ORDER BY id")]
    assert len(ids) >= 4
    run(app, "UPDATE cases.difficult_mark SET marked_at = marked_at - interval '40 days' WHERE id = :i", i=ids[0])
    run(app, "UPDATE cases.difficult_mark SET marked_at = marked_at - interval '400 days' WHERE id = :i", i=ids[1])
    today = dt.datetime.now(CST).date()
    api = apis["leader"]
    for period, start in (("day", today - dt.timedelta(days=29)), ("month", today.replace(month=1, day=1)),
                          ("year", today.replace(year=today.year - 4, month=1, day=1))):
        r = api.get(f"/api/cases/difficult/analysis?period={period}")
        assert r.status_code == 200, r.get_json()
        data = r.get_json()
        assert data["from"] == start.isoformat() and data["to"] == today.isoformat()
        want = expected(app, start, today)
        got = {k: data["total"][k] for k in want}
        assert got == want, (period, got, want)
        assert sum(b["marked"] for b in data["buckets"]) == want["marked"]
        assert len(data["items"]) == want["marked"]
    year = api.get("/api/cases/difficult/analysis?period=year").get_json()
    assert {b["label"] for b in year["buckets"]} >= {f"{today.year}年"}
    # a custom range over both moved marks; by category
    start = today - dt.timedelta(days=500)
    data = api.get(f"/api/cases/difficult/analysis?period=range&from={start}&to={today}").get_json()
    assert data["total"]["marked"] == expected(app, start, today)["marked"]
    assert len({b["label"] for b in data["buckets"]}) == 1
    data = api.get(f"/api/cases/difficult/analysis?period=quarter&from={start}&to={today}&type=dept_unclear").get_json()
    assert data["total"]["marked"] == expected(app, start, today, ["unclear_owner", "buck_passing"])["marked"]
    hy = api.get(f"/api/cases/difficult/analysis?period=halfyear&from={start}&to={today}").get_json()
    assert all("半年" in b["label"] for b in hy["buckets"])
    assert sum(b["marked"] for b in hy["buckets"]) == data["total"]["marked"] + expected(
        app, start, today, ["rework", "long_overdue", "legacy", "other"])["marked"]
    item = data["items"][0]
    for key in ("case_no", "type_name", "region", "class_name", "description", "stage_name", "dept_name", "overdue"):
        assert key in item
    # the Excel export carries the same numbers
    r = api.get(f"/api/cases/difficult/analysis.xlsx?period=range&from={start}&to={today}")
    assert r.status_code == 200
    wb = load_workbook(io.BytesIO(r.data))
    rows = list(wb["明细"].iter_rows(values_only=True))
    assert rows[0][:8] == ("案件号", "疑难案件类型", "分析类型", "所属区域", "案件类别", "问题描述", "当前环节", "责任单位")
    assert len(rows) - 1 == expected(app, start, today)["marked"]
    assert list(wb["汇总"].iter_rows(values_only=True))[-1][2] == expected(app, start, today)["marked"]


def test_analysis_bad_input(apis):  # noqa: F811
    api = apis["leader"]
    for url, code in (("?period=decade", "period_invalid"), ("?period=range", "range_required"),
                      ("?period=range&from=2026-02-01&to=2026-01-01", "range_invalid"),
                      ("?from=2026-13-01", "date_invalid"), ("?type=zzz", "type_invalid"),
                      ("?from=2000-01-01&to=2026-01-01", "range_too_long"), ("?foo=1", "parameter_unknown")):
        assert_error(api.get("/api/cases/difficult/analysis" + url), 400, code)
    assert_error(api.get("/api/cases/difficult/analysis.xlsx?period=x"), 400, "period_invalid")


def test_permissions_of_pages_and_actions(app, apis):  # noqa: F811
    assert apis["handler"].post("/api/cases/difficult/sweep").status_code == 403
    assert apis["supervisor"].get("/api/cases/difficult/ownership/mine").status_code == 403
    assert apis["supervisor"].post("/api/cases/difficult/rounds/1/answer", {"answer": "yes"}).status_code == 403
    for user, path, status in (("supervisor", "/cases/difficult", 200), ("supervisor", "/cases/difficult/analysis", 200),
                               ("leader", "/cases/config/difficult-rules", 403),
                               ("shift_chief", "/cases/config/difficult-rules", 200),
                               ("handler", "/cases/difficult/ownership", 200),
                               ("leader", "/cases/difficult/ownership", 403)):
        assert apis[user].c.get(path).status_code == status, (user, path)
