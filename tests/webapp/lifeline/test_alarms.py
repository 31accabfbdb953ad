"""Alarm lifecycle (R119) through the JSON API against the real PostGIS and
the real case core: raised → confirmed (opens a 数字城管 case of class 04xx,
linked both ways) → dispatched → resolved once the case is closed (the case
walked to 结案 by the demo users); illegal transitions and stale versions →
409; permissions; bad input changes nothing; list, overview, hazard link."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import text

from tests.conftest import assert_error, json_api
from tests.webapp.lifeline.conftest import sql
from tests.webapp.lifeline.test_alarm_rules import Feed, make_thing, series

API = "/api/lifeline/alarms"
STAGE_USER = {"accept": "acceptor", "verify": "supervisor", "file": "shift_chief", "dispatch": "dispatcher",
              "handle": "handler", "check": "supervisor", "close": "shift_chief"}
STAGE_ACTION = {"accept": "file", "verify": "confirm", "file": "file", "dispatch": "dispatch", "handle": "done",
                "check": "pass", "close": "close"}


@pytest.fixture(scope="module")
def apis(app, passwords):
    out = {u: json_api(app, u, passwords["demo"]) for u in
           ("monitor", "leader", "acceptor", "supervisor", "shift_chief", "dispatcher", "handler")}
    out["admin"] = json_api(app, "admin", passwords["admin"])
    return out


def raise_alarm(dsn, network="gas", kind="gas_detector", near="GAS-%", value=30.0, streams=None) -> int:
    """A gas detector beside a demo one reads past 二级 (25 %LEL): the evaluator raises an alarm."""
    ids, _, _ = make_thing(dsn, network=network, kind=kind, near=near, offset_m=3, streams=streams)
    ds = next(iter(ids.values()))
    t0 = dt.datetime.now(dt.timezone.utc).replace(microsecond=0) - dt.timedelta(minutes=5)
    Feed(dsn).batch([(ds, t, v) for t, v in series(t0, [2, value, value + 2])])
    return sql(dsn, "SELECT id FROM lifeline.alarm WHERE datastream_id = %s AND kind = 'threshold'", (ds,))[0][0]


def act(api, alarm_id, action, comment="现场核实", **kw):
    version = api.get(f"{API}/{alarm_id}").get_json()["version"]
    return api.post(f"{API}/{alarm_id}/actions", {"action": action, "comment": comment, "version": version, **kw})


def walk_case_to_close(apis, case_id):
    """Each open task done by the demo user of its stage (admin where the case went to another department)."""
    for _ in range(12):
        case = apis["admin"].get(f"/api/cases/{case_id}").get_json()
        if case["status"] == "closed":
            return case
        task = next(t for t in case["tasks"] if t["status"] == "open")
        stage = task["stage"]
        api = apis[STAGE_USER[stage]]
        if stage == "handle" and case.get("dept_code") != "D010":
            api = apis["admin"]
        body = {"action": STAGE_ACTION[stage], "version": case["version"], "comment": "按流程办理"}
        if stage == "dispatch":
            body["data"] = {"dept_code": "D010"}
        r = api.post(f"/api/cases/{case_id}/tasks/{task['id']}", body)
        if r.status_code == 403:         # outside the demo supervisor's region: the administrator acts
            r = apis["admin"].post(f"/api/cases/{case_id}/tasks/{task['id']}", body)
        assert r.status_code == 200, (stage, r.get_json())
    raise AssertionError("case did not reach 结案")


def snapshot(dsn, alarm_id):
    return (sql(dsn, "SELECT status, version, case_id, hazard_id, closed_at FROM lifeline.alarm WHERE id = %s",
                (alarm_id,)),
            sql(dsn, "SELECT count(*) FROM lifeline.alarm_history WHERE alarm_id = %s", (alarm_id,)),
            sql(dsn, "SELECT count(*) FROM lifeline.alarm_case WHERE alarm_id = %s", (alarm_id,)),
            sql(dsn, 'SELECT count(*) FROM cases."case"'))


def test_confirm_opens_a_case_dispatch_and_resolve_after_the_case_closes(apis, iot_dsn):
    aid = raise_alarm(iot_dsn)
    mon = apis["monitor"]
    a = mon.get(f"{API}/{aid}").get_json()
    assert a["status"] == "raised" and a["level"] == 2 and a["actions"] == ["confirm", "false_alarm"]
    assert a["history"][0]["action"] == "raise" and a["neighbours"], a
    r = act(mon, aid, "confirm", "监测中心核实：相邻井同步升高，确认泄漏")
    assert r.status_code == 200, r.get_json()
    a = r.get_json()
    assert a["status"] == "confirmed" and a["case"]["case_no"].startswith("XP")
    case = mon.get(f"/api/cases/{a['case_id']}").get_json()
    assert case["class_code"] == "0403" and case["kind"] == "event" and case["source"] == "sensor"
    assert f"物联感知告警 {aid}" in case["description"]
    # both links: alarm → case and case → alarm
    linked = mon.get(f"{API}/by-case/{a['case_id']}").get_json()["items"]
    assert [x["id"] for x in linked] == [aid] and linked[0]["url"] == f"/lifeline/alarms/{aid}"
    assert apis["acceptor"].get(f"{API}/by-case/{a['case_id']}").status_code == 200    # case viewers see it
    r = act(mon, aid, "dispatch", "已通知燃气公司抢修")
    assert r.status_code == 200 and r.get_json()["status"] == "dispatched"
    assert_error(act(mon, aid, "resolve", "想提前解除"), 409, "case_not_closed")
    assert mon.post(f"{API}/sweep", {}).get_json()["auto_resolved"] == 0 or \
        mon.get(f"{API}/{aid}").get_json()["status"] == "dispatched"
    walk_case_to_close(apis, a["case_id"])
    r = mon.post(f"{API}/sweep", {})
    assert r.status_code == 200 and r.get_json()["auto_resolved"] >= 1
    a = mon.get(f"{API}/{aid}").get_json()
    assert a["status"] == "resolved" and a["closed_at"] and a["case"]["status"] == "closed"
    assert [h["action"] for h in a["history"]] == ["raise", "confirm", "dispatch", "auto_resolve"]
    assert a["history"][1]["actor_name"] == "周值守" and a["history"][1]["detail"]["case_no"] == a["case"]["case_no"]
    # a closed alarm: new readings open a new alarm, not reopen this one
    assert_error(act(mon, aid, "dispatch"), 409, "transition_invalid")


def test_case_class_follows_the_network(apis, iot_dsn):
    aid = raise_alarm(iot_dsn, network="drainage", kind="level_gauge", near="DR-%", value=2.2,
                      streams=[("level", "m", 0, 6, {"high": {"1": 2.5, "2": 2.0, "3": 1.5}}, 60)])
    r = act(apis["monitor"], aid, "confirm", "液位持续上涨，确认")
    assert r.status_code == 200, r.get_json()
    case = apis["monitor"].get(f"/api/cases/{r.get_json()['case_id']}").get_json()
    assert case["class_code"] == "0404"


def test_illegal_transitions_and_bad_input_change_nothing(apis, iot_dsn):
    aid = raise_alarm(iot_dsn)
    mon = apis["monitor"]
    before = snapshot(iot_dsn, aid)
    v = mon.get(f"{API}/{aid}").get_json()["version"]
    e = assert_error(mon.post(f"{API}/{aid}/actions", {"action": "dispatch", "comment": "派发", "version": v}), 409,
                     "transition_invalid")
    assert "待确认" in e["message"]
    assert_error(mon.post(f"{API}/{aid}/actions", {"action": "resolve", "comment": "解除", "version": v}), 409,
                 "transition_invalid")
    assert_error(mon.post(f"{API}/{aid}/actions", {"action": "confirm", "comment": "确认", "version": v + 1}), 409,
                 "version_conflict")
    assert_error(mon.post(f"{API}/{aid}/actions", {"action": "explode", "comment": "确认", "version": v}), 400,
                 "action_invalid")
    assert_error(mon.post(f"{API}/{aid}/actions", {"action": "confirm", "version": v}), 400, "field_missing")
    assert_error(mon.post(f"{API}/{aid}/actions", {"action": "confirm", "comment": "x", "version": v}), 400,
                 "comment_invalid")
    assert_error(mon.post(f"{API}/{aid}/actions", {"action": "confirm", "comment": "确认", "version": "1"}), 400,
                 "version_invalid")
    assert_error(mon.post(f"{API}/{aid}/actions", {"action": "confirm", "comment": "确认"}), 400, "version_missing")
    assert_error(mon.post(f"{API}/{aid}/actions", {"action": "confirm", "comment": "确认", "version": v, "x": 1}),
                 400, "field_unknown")
    assert_error(mon.post(f"{API}/{aid}/actions", [1, 2]), 400, "body_invalid")
    # the case intake refuses: nothing of the confirmation stays
    assert_error(mon.post(f"{API}/{aid}/actions", {"action": "confirm", "comment": "确认", "version": v,
                                                   "class_code": "0101"}), 400, "class_code_invalid")
    assert_error(mon.post(f"{API}/{aid}/actions", {"action": "false_alarm", "comment": "误报", "version": v,
                                                   "class_code": "0403"}), 400, "class_code_unexpected")
    assert_error(mon.post(f"{API}/999999/actions", {"action": "confirm", "comment": "确认", "version": 1}), 404,
                 "alarm_not_found")
    assert snapshot(iot_dsn, aid) == before
    r = act(mon, aid, "false_alarm", "现场检测为零，传感器受潮")
    assert r.status_code == 200 and r.get_json()["status"] == "false_alarm" and r.get_json()["closed_at"]
    assert_error(act(mon, aid, "confirm", "再确认"), 409, "transition_invalid")
    # history is append-only
    with pytest.raises(Exception, match="append-only"):
        sql(iot_dsn, "UPDATE lifeline.alarm_history SET comment = 'x' WHERE alarm_id = %s", (aid,))
    with pytest.raises(Exception, match="append-only"):
        sql(iot_dsn, "DELETE FROM lifeline.alarm_history WHERE alarm_id = %s", (aid,))


def test_permissions(apis, iot_dsn, app):
    aid = raise_alarm(iot_dsn)
    before = snapshot(iot_dsn, aid)
    v = apis["leader"].get(f"{API}/{aid}").get_json()["version"]
    assert_error(apis["leader"].post(f"{API}/{aid}/actions", {"action": "confirm", "comment": "确认", "version": v}),
                 403, "forbidden")
    assert_error(apis["acceptor"].get(API), 403, "forbidden")
    assert_error(apis["acceptor"].post(f"{API}/sweep", {}), 403, "forbidden")
    assert snapshot(iot_dsn, aid) == before
    assert apis["monitor"].get("/lifeline/alarms").status_code == 200
    page = apis["monitor"].get(f"/lifeline/alarms/{aid}").get_data(as_text=True)
    assert "告警处置" in page and "监测曲线" in page
    assert "告警处置" not in apis["leader"].get(f"/lifeline/alarms/{aid}").get_data(as_text=True)
    assert apis["acceptor"].get("/lifeline/alarms").status_code == 403
    assert apis["monitor"].get("/lifeline/alarms/999999").status_code == 404


def test_list_filters_counts_and_overview(apis, iot_dsn):
    raise_alarm(iot_dsn)
    mon = apis["monitor"]
    body = mon.get(f"{API}?network=gas&open=1&size=200").get_json()
    assert body["items"] and all(a["network"] == "gas" and a["open"] for a in body["items"])
    n = sql(iot_dsn, "SELECT count(*) FROM lifeline.alarm WHERE network = 'gas' "
                     "AND status IN ('raised', 'confirmed', 'dispatched')")[0][0]
    assert body["total"] == n
    lv = {c["level"]: c["count"] for c in body["counts"]["open_by_level"]}
    assert sum(lv.values()) == n
    assert all(a["level"] == 2 for a in mon.get(f"{API}?level=2").get_json()["items"])
    frm = (dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=1)).isoformat().replace("+", "%2B")
    assert mon.get(f"{API}?from={frm}").get_json()["total"] == 0
    assert_error(mon.get(f"{API}?level=9"), 400, "filter_invalid")
    assert_error(mon.get(f"{API}?status=gone"), 400, "filter_invalid")
    assert_error(mon.get(f"{API}?from=yesterday"), 400, "time_invalid")
    assert_error(mon.get(f"{API}?size=1000"), 400, "size_invalid")
    assert_error(mon.get(f"{API}?colour=red"), 400, "parameter_unknown")
    ov = mon.get(f"{API}/overview").get_json()
    total = sql(iot_dsn, "SELECT count(*) FROM lifeline.alarm")[0][0]
    assert ov["total"] == total == sum(s["count"] for s in ov["by_status"])
    assert {s["name"] for s in ov["by_status"]} == {"待确认", "已确认", "误报", "处置中", "已解除"}
    gas = next(b for b in ov["by_network"] if b["network"] == "gas")
    assert gas["open"] == n
    has_hazard = sql(iot_dsn, "SELECT to_regclass('lifeline.hazard') IS NOT NULL")[0][0]
    if has_hazard:
        names = [h["name"] for h in ov["hazards"]["by_status"]]
        assert names == ["待整改", "完成整改", "挂牌督办"]
        db_total = sql(iot_dsn, "SELECT count(*) FROM lifeline.hazard WHERE status IN "
                                "('pending', 'rectified', 'supervised')")[0][0]
        assert sum(h["count"] for h in ov["hazards"]["by_status"]) == db_total
    else:
        assert ov["hazards"] is None


def test_link_hazard(app, iot_dsn):
    from geo.errors import GeoError
    from webapp.lifeline.alarms import link_hazard
    aid = raise_alarm(iot_dsn)
    with app.test_request_context(), app.extensions["cityops.sessions"]() as db:
        a = link_hazard(db, aid, 4242)
        db.commit()
        assert a.hazard_id == 4242
        assert link_hazard(db, aid, 4242).hazard_id == 4242          # idempotent
        with pytest.raises(GeoError) as e:
            link_hazard(db, aid, 7)
        assert e.value.status == 409
        db.rollback()
    rows = sql(iot_dsn, "SELECT action, detail FROM lifeline.alarm_history WHERE alarm_id = %s ORDER BY id", (aid,))
    assert rows[-1] == ("link_hazard", {"hazard_id": 4242})
    with app.extensions["cityops.sessions"]() as db:
        assert db.execute(text("SELECT hazard_id FROM lifeline.alarm WHERE id = :i"), {"i": aid}).scalar() == 4242
