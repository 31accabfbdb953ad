"""Alarm rules (R119) on crafted observation series, through the real
evaluator (etl/iot/evaluate.py) against the real PostGIS: each rule type,
no alarm storm, the offline sweep, combinations across sensors of one site,
default rules derived from the datastream thresholds, rule validation."""
from __future__ import annotations

import datetime as dt
import json
import uuid

import psycopg
import pytest

from tests.conftest import assert_error, json_api
from tests.webapp.lifeline.conftest import sql

UTC = dt.timezone.utc


def make_thing(dsn, network="gas", kind="gas_detector", offset_m=0.0, streams=None, near="GAS-%"):
    """A crafted device at (or `offset_m` east of) a demo device; returns {code: datastream id} and the thing."""
    code = f"T-{uuid.uuid4().hex[:8]}"
    streams = streams or [("ch4", "%LEL", 0, 100, {"high": {"1": 50, "2": 25, "3": 10}}, 60)]
    with psycopg.connect(dsn, autocommit=True) as conn:
        pid = conn.execute("SELECT id FROM lifeline.iot_observed_property ORDER BY id LIMIT 1").fetchone()[0]
        tid = conn.execute("""
            INSERT INTO lifeline.iot_thing (code, name, network, kind, status, geom)
            SELECT %s, %s, %s, %s, 'online', ST_SetSRID(ST_MakePoint(ST_X(geom) + %s / 93000.0, ST_Y(geom)), 4490)
              FROM lifeline.iot_thing WHERE code LIKE %s ORDER BY code LIMIT 1 RETURNING id""",
            (code, f"测试监测点 {code}", network, kind, offset_m, near)).fetchone()[0]
        ids = {}
        for ds, unit, lo, hi, th, sampling in streams:
            ids[ds] = conn.execute("""
                INSERT INTO lifeline.iot_datastream (thing_id, property_id, code, name, unit, valid_min, valid_max,
                       thresholds, sampling_s, status) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, 'online')
                RETURNING id""", (tid, pid, ds, f"测试{ds}", unit, lo, hi, json.dumps(th), sampling)).fetchone()[0]
    return ids, tid, code


def add_rule(dsn, ds_id, kind, params, level=3, name=None):
    return sql(dsn, "INSERT INTO lifeline.alarm_rule (datastream_id, kind, name, level, params) "
                    "VALUES (%s, %s, %s, %s, %s) RETURNING id",
               (ds_id, kind, name or f"测试{kind}规则", level, json.dumps(params)))[0][0]


class Feed:
    """One ingester's evaluator: a catalogue (and so a rule engine with its in-memory state) over batches."""

    def __init__(self, dsn):
        from etl.iot.catalogue import Catalogue
        self.dsn = dsn
        self.cat = Catalogue(lambda: psycopg.connect(dsn))
        self.cat.load()

    def batch(self, readings):
        from etl.iot.evaluate import Evaluator, Observation
        obs = [Observation(ds, t, float(v)) for ds, t, v in readings]
        with psycopg.connect(self.dsn) as conn:
            with conn.transaction():
                ev = Evaluator(conn, self.cat)
                ev.record(ev.evaluate(obs))
                # what the ingester does after evaluation: the datastream's latest reading
                for ds, t, v in sorted(readings, key=lambda r: r[1]):
                    conn.execute("UPDATE lifeline.iot_datastream SET last_time = %s, last_value = %s "
                                 "WHERE id = %s AND (last_time IS NULL OR last_time <= %s)", (t, v, ds, t))


def alarms(dsn, ds_id, kind=None):
    return sql(dsn, """SELECT id, kind, level, status, count, last_value, peak_value, first_value, message
                         FROM lifeline.alarm WHERE datastream_id = %s AND (%s::text IS NULL OR kind = %s)
                        ORDER BY id""", (ds_id, kind, kind))


def series(start, values, step_s=60):
    return [(start + dt.timedelta(seconds=i * step_s), v) for i, v in enumerate(values)]


T0 = dt.datetime.now(UTC).replace(microsecond=0) - dt.timedelta(hours=3)


def test_default_rules_are_derived_from_the_thresholds(iot_dsn):
    ids, _, _ = make_thing(iot_dsn)
    rules = sql(iot_dsn, "SELECT kind, params, level, derived FROM lifeline.alarm_rule WHERE datastream_id = %s "
                         "ORDER BY kind", (ids["ch4"],))
    assert [(r[0], r[3]) for r in rules] == [("offline", True), ("threshold", True)]
    assert rules[1][1] == {"high": {"1": 50, "2": 25, "3": 10}} and rules[0][1] == {"periods": 3}
    # a threshold change on the device follows into the derived rule
    sql(iot_dsn, "UPDATE lifeline.iot_datastream SET thresholds = %s WHERE id = %s",
        (json.dumps({"high": {"2": 30}}), ids["ch4"]))
    assert sql(iot_dsn, "SELECT params FROM lifeline.alarm_rule WHERE datastream_id = %s AND kind = 'threshold'",
               (ids["ch4"],))[0][0] == {"high": {"2": 30}}


def test_threshold_levels_escalate_one_alarm(iot_dsn):
    ids, _, _ = make_thing(iot_dsn)
    ds = ids["ch4"]
    feed = Feed(iot_dsn)
    feed.batch([(ds, t, v) for t, v in series(T0, [2, 5, 12, 30])])
    a = alarms(iot_dsn, ds, "threshold")
    assert len(a) == 1
    _, _, level, status, count, last, peak, first, msg = a[0]
    assert (level, status, count, last, peak, first) == (2, "raised", 2, 30, 30, 12)
    assert "二级" in msg and "25" in msg
    feed.batch([(ds, t, v) for t, v in series(T0 + dt.timedelta(minutes=4), [8, 28, 61, 40])])
    a = alarms(iot_dsn, ds, "threshold")
    assert len(a) == 1 and a[0][2] == 1 and a[0][4] == 4 and a[0][6] == 61 and a[0][5] == 40
    assert "一级" in a[0][8]
    hist = sql(iot_dsn, "SELECT action, to_status FROM lifeline.alarm_history WHERE alarm_id = %s", (a[0][0],))
    assert hist == [("raise", "raised")]
    # the raw crossings are still recorded for the IoT page
    assert sql(iot_dsn, "SELECT count(*) FROM lifeline.alarm_event WHERE datastream_id = %s", (ds,))[0][0] == 6


def test_no_alarm_storm_over_many_batches(iot_dsn):
    ids, _, _ = make_thing(iot_dsn)
    ds = ids["ch4"]
    feed = Feed(iot_dsn)
    values = [30 if i % 2 else 3 for i in range(200)]            # 100 crossings of 二级
    pts = series(T0, values, step_s=10)
    for k in range(0, 200, 20):
        feed.batch([(ds, t, v) for t, v in pts[k:k + 20]])
    a = alarms(iot_dsn, ds, "threshold")
    assert len(a) == 1 and a[0][4] == 100 and a[0][2] == 2
    assert sql(iot_dsn, "SELECT count(*) FROM lifeline.alarm_history WHERE alarm_id = %s", (a[0][0],))[0][0] == 1


def test_rate_of_change(iot_dsn):
    ids, _, _ = make_thing(iot_dsn, streams=[("ch4", "%LEL", 0, 100, {}, 60)])
    ds = ids["ch4"]
    add_rule(iot_dsn, ds, "rate", {"delta_per_min": 5, "direction": "up"}, level=2)
    feed = Feed(iot_dsn)
    feed.batch([(ds, t, v) for t, v in series(T0, [1, 2, 4, 6, 3])])      # ≤ 2 per minute: nothing
    assert alarms(iot_dsn, ds) == []
    feed.batch([(ds, t, v) for t, v in series(T0 + dt.timedelta(minutes=5), [3, 11, 12])])  # +8 in one minute
    a = alarms(iot_dsn, ds, "rate")
    assert len(a) == 1 and a[0][2] == 2 and a[0][4] == 1 and a[0][7] == 11
    assert "每分钟变化 +8" in a[0][8]
    # a fall does not count for an "up" rule; a second rise does
    feed.batch([(ds, t, v) for t, v in series(T0 + dt.timedelta(minutes=8), [2, 3, 20])])
    a = alarms(iot_dsn, ds, "rate")
    assert len(a) == 1 and a[0][4] == 2 and a[0][6] == 20


def test_duration(iot_dsn):
    ids, _, _ = make_thing(iot_dsn, streams=[("ch4", "%LEL", 0, 100, {}, 60)])
    ds = ids["ch4"]
    add_rule(iot_dsn, ds, "duration", {"op": ">=", "value": 10, "minutes": 5}, level=3)
    feed = Feed(iot_dsn)
    feed.batch([(ds, t, v) for t, v in series(T0, [12, 13, 12, 14, 12])])        # 4 minutes held
    assert alarms(iot_dsn, ds) == []
    feed.batch([(ds, t, v) for t, v in series(T0 + dt.timedelta(minutes=5), [4, 12, 12, 12, 12, 12])])
    assert alarms(iot_dsn, ds) == []                                               # broken at minute 5: restarts
    feed.batch([(ds, t, v) for t, v in series(T0 + dt.timedelta(minutes=11), [13, 15])])  # held from 6 → 11, 12
    a = alarms(iot_dsn, ds, "duration")
    assert len(a) == 1 and a[0][4] == 1 and a[0][7] == 13 and a[0][5] == 15 and "已持续 5 分钟" in a[0][8]


def test_offline_sweep(app, iot_dsn):
    from etl.iot.rules import sweep
    gone, _, _ = make_thing(iot_dsn, streams=[("ch4", "%LEL", 0, 100, {}, 60)])
    fresh, _, _ = make_thing(iot_dsn, streams=[("ch4", "%LEL", 0, 100, {}, 60)])
    now = dt.datetime.now(UTC)
    sql(iot_dsn, "UPDATE lifeline.iot_datastream SET last_time = %s, last_value = 1 WHERE id = %s",
        (now - dt.timedelta(minutes=10), gone["ch4"]))
    sql(iot_dsn, "UPDATE lifeline.iot_datastream SET last_time = %s, last_value = 1 WHERE id = %s",
        (now - dt.timedelta(seconds=30), fresh["ch4"]))
    for _ in range(2):                                    # a second sweep: still one alarm
        with psycopg.connect(iot_dsn) as conn, conn.transaction():
            out = sweep(conn)
        assert out["offline_raised"] >= 0
    a = alarms(iot_dsn, gone["ch4"], "offline")
    assert len(a) == 1 and a[0][2] == 4 and "3 个采样周期" in a[0][8]
    assert alarms(iot_dsn, fresh["ch4"], "offline") == []


def test_combination_across_sensors_of_one_site(app, passwords, iot_dsn):
    gas, _, _ = make_thing(iot_dsn)
    well, _, _ = make_thing(iot_dsn, streams=[("ch4", "%LEL", 0, 100, {}, 60)], offset_m=80)
    far, _, _ = make_thing(iot_dsn, streams=[("ch4", "%LEL", 0, 100, {}, 60)], offset_m=5000)
    admin = json_api(app, "admin", passwords["admin"])
    body = {"datastream_id": gas["ch4"], "kind": "combination", "name": "燃气井与相邻井同时超限", "level": 1,
            "params": {"terms": [{"datastream_id": gas["ch4"], "op": ">=", "value": 25},
                                 {"datastream_id": well["ch4"], "op": ">=", "value": 10}], "within_minutes": 10}}
    before = sql(iot_dsn, "SELECT count(*) FROM lifeline.alarm_rule")[0][0]
    bad = json.loads(json.dumps(body))
    bad["params"]["terms"][1]["datastream_id"] = far["ch4"]
    assert_error(admin.post("/api/lifeline/alarm-rules", bad), 400, "params_invalid")
    bad = json.loads(json.dumps(body))
    bad["params"]["terms"][1]["op"] = "__import__('os').system('id')"
    assert_error(admin.post("/api/lifeline/alarm-rules", bad), 400, "params_invalid")
    bad["params"] = "ch4 >= 25 and other >= 10"
    assert_error(admin.post("/api/lifeline/alarm-rules", bad), 400, "params_invalid")
    assert sql(iot_dsn, "SELECT count(*) FROM lifeline.alarm_rule")[0][0] == before
    r = admin.post("/api/lifeline/alarm-rules", body)
    assert r.status_code == 201, r.get_json()
    rule_id = r.get_json()["id"]
    feed = Feed(iot_dsn)
    feed.batch([(gas["ch4"], T0, 30)])                              # gas alone: only the threshold rule
    assert alarms(iot_dsn, gas["ch4"], "combination") == []
    feed.batch([(well["ch4"], T0 + dt.timedelta(minutes=20), 12)])  # the neighbour 20 min later: too late
    assert alarms(iot_dsn, gas["ch4"], "combination") == []
    feed.batch([(gas["ch4"], T0 + dt.timedelta(minutes=24), 27), (well["ch4"], T0 + dt.timedelta(minutes=25), 11)])
    a = sql(iot_dsn, "SELECT level, count, rule_id, message FROM lifeline.alarm WHERE kind = 'combination' "
                     "AND datastream_id = %s", (gas["ch4"],))
    assert len(a) == 1 and a[0][0] == 1 and a[0][1] == 1 and a[0][2] == rule_id
    assert "10 分钟内同时满足" in a[0][3]
    # a partner seen only by another process: its stored latest value counts
    feed2 = Feed(iot_dsn)
    feed2.batch([(gas["ch4"], T0 + dt.timedelta(minutes=26), 33)])
    a = sql(iot_dsn, "SELECT count(*) FROM lifeline.alarm WHERE kind = 'combination' AND datastream_id = %s",
            (gas["ch4"],))
    assert a[0][0] == 1


@pytest.mark.parametrize("kind,params,code", [
    ("threshold", {"high": {"1": 10, "2": 25}}, "params_invalid"),        # level 1 must be the most extreme
    ("threshold", {}, "params_invalid"),
    ("threshold", {"high": {"5": 1}}, "params_invalid"),
    ("rate", {"delta_per_min": -1}, "params_invalid"),
    ("rate", {"delta_per_min": 1, "direction": "sideways"}, "params_invalid"),
    ("duration", {"op": ">", "value": 1, "minutes": 5}, "params_invalid"),
    ("duration", {"op": ">=", "value": "1", "minutes": 5}, "params_invalid"),
    ("offline", {"periods": 0}, "params_invalid"),
    ("magic", {}, "kind_invalid"),
])
def test_bad_rules_are_refused_and_change_nothing(app, passwords, iot_dsn, kind, params, code):
    ids, _, _ = make_thing(iot_dsn, streams=[("ch4", "%LEL", 0, 100, {}, 60)])
    admin = json_api(app, "admin", passwords["admin"])
    before = sql(iot_dsn, "SELECT count(*), max(updated_at) FROM lifeline.alarm_rule")
    assert_error(admin.post("/api/lifeline/alarm-rules", {"datastream_id": ids["ch4"], "kind": kind,
                                                            "name": "错误规则", "params": params}), 400, code)
    assert sql(iot_dsn, "SELECT count(*), max(updated_at) FROM lifeline.alarm_rule") == before


def test_rule_edit_permissions_and_locking(app, passwords, iot_dsn):
    ids, _, _ = make_thing(iot_dsn)
    rid, version = sql(iot_dsn, "SELECT id, version FROM lifeline.alarm_rule WHERE datastream_id = %s "
                                "AND kind = 'threshold'", (ids["ch4"],))[0]
    monitor = json_api(app, "monitor", passwords["demo"])
    assert monitor.get(f"/api/lifeline/alarm-rules?datastream_id={ids['ch4']}").status_code == 200
    assert_error(monitor.put(f"/api/lifeline/alarm-rules/{rid}", {"version": version, "name": "改名"}), 403,
                 "forbidden")
    admin = json_api(app, "admin", passwords["admin"])
    assert_error(admin.put(f"/api/lifeline/alarm-rules/{rid}", {"version": version + 5, "name": "改名"}), 409,
                 "version_conflict")
    r = admin.put(f"/api/lifeline/alarm-rules/{rid}", {"version": version, "params": {"high": {"2": 20}}})
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["derived"] is False and r.get_json()["version"] == version + 1
    # the operator's own limits survive a threshold change on the device
    sql(iot_dsn, "UPDATE lifeline.iot_datastream SET thresholds = %s WHERE id = %s",
        (json.dumps({"high": {"2": 99}}), ids["ch4"]))
    assert sql(iot_dsn, "SELECT params FROM lifeline.alarm_rule WHERE id = %s", (rid,))[0][0] == {"high": {"2": 20.0}}
    assert admin.get("/lifeline/config/alarm-rules").status_code == 200
    assert monitor.get("/lifeline/config/alarm-rules").status_code == 403
