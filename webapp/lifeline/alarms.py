"""告警管理 (R119): alarms raised by the rules in etl/iot/rules.py, their
lifecycle and the link to 数字城管 cases and hazards.

Lifecycle (allowed changes in one table, `TRANSITIONS`):
  raised → confirmed (opens a case of class 04 突发事件 through the case intake)
  raised → false_alarm (closed)
  confirmed → dispatched (handed to hazard handling: `link_hazard` links the hazard)
  confirmed | dispatched → resolved (closed; only once the linked case is closed —
  the sweep resolves such alarms by itself)
Each change needs lifeline:alarm:handle, a comment and the version read
(optimistic locking → 409), and appends a row to lifeline.alarm_history.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select, text

from etl.iot.rules import KINDS, LEVEL_NAMES, OPEN, sweep as rules_sweep
from geo.errors import GeoError
from webapp import oplog
from webapp.lifeline.alarm_models import Alarm, AlarmCase, AlarmHistory

STATUS_NAMES = {"raised": "待确认", "confirmed": "已确认", "false_alarm": "误报", "dispatched": "处置中",
                "resolved": "已解除"}
ACTION_NAMES = {"raise": "告警产生", "confirm": "确认告警", "false_alarm": "标记误报", "dispatch": "派发处置",
                "resolve": "解除告警", "auto_resolve": "自动解除", "link_hazard": "关联隐患"}
# action → (statuses it may start from, status it leads to)
TRANSITIONS = {"confirm": ({"raised"}, "confirmed"), "false_alarm": ({"raised"}, "false_alarm"),
               "dispatch": ({"confirmed"}, "dispatched"), "resolve": ({"confirmed", "dispatched"}, "resolved")}
CLOSED = {"false_alarm", "resolved"}
# 04 突发事件 subclasses by network (0401 路面塌陷, 0402 自来水管破裂, 0403 燃气管道破裂, 0404 下水道堵塞或破损)
CASE_CLASS = {"gas": "0403", "water": "0402", "drainage": "0404", "heating": "0401", "bridge": "0401"}
CASE_CLASSES = {"0401", "0402", "0403", "0404"}
NEIGHBOUR_M = 500


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def get_alarm(db, alarm_id: int, lock: bool = False) -> Alarm:
    a = db.get(Alarm, alarm_id, with_for_update=lock) if lock else db.get(Alarm, alarm_id)
    if a is None:
        raise GeoError("alarm_not_found", f"告警 {alarm_id} 不存在", status=404)
    return a


def _history(db, a: Alarm, action: str, before: str | None, comment: str | None, who, detail=None) -> None:
    db.add(AlarmHistory(alarm_id=a.id, action=action, from_status=before, to_status=a.status, comment=comment,
                        actor_id=getattr(who, "id", None), actor_name=getattr(who, "display_name", None) or "系统",
                        detail=detail))


def case_status(db, case_id: int | None) -> dict | None:
    if case_id is None:
        return None
    r = db.execute(text('SELECT id, case_no, status, stage FROM cases."case" WHERE id = :i'),
                   {"i": case_id}).mappings().first()
    return dict(r) if r else None


def transition(db, alarm_id: int, action: str, who, comment: str, version: int, class_code: str | None = None):
    """Apply one lifecycle action (the caller commits). Returns the alarm."""
    if action not in TRANSITIONS:
        raise GeoError("action_invalid", f"操作应为：{'、'.join(f'{k}（{ACTION_NAMES[k]}）' for k in TRANSITIONS)}")
    a = get_alarm(db, alarm_id, lock=True)
    if version != a.version:
        raise GeoError("version_conflict", f"告警已被他人处理（当前版本 {a.version}），请刷新后重试", status=409,
                       current_version=a.version)
    starts, to = TRANSITIONS[action]
    if a.status not in starts:
        raise GeoError("transition_invalid", f"告警当前状态为“{STATUS_NAMES[a.status]}”，不能执行“{ACTION_NAMES[action]}”",
                       status=409, status_now=a.status)
    if class_code is not None and action != "confirm":
        raise GeoError("class_code_unexpected", "仅确认告警时可指定案卷分类", field="class_code")
    detail = None
    if action == "resolve" and a.case_id is not None:
        c = case_status(db, a.case_id)
        if c is not None and c["status"] != "closed":
            raise GeoError("case_not_closed", f"关联案卷 {c['case_no']} 尚未结案，不能解除告警", status=409)
    before = a.status
    a.status = to
    a.version += 1
    if to in CLOSED:
        a.closed_at = _now()
    if action == "confirm":
        case = _open_case(db, a, who, comment, class_code)
        a.case_id = case.id
        db.add(AlarmCase(alarm_id=a.id, case_id=case.id, case_no=case.case_no))
        detail = {"case_id": case.id, "case_no": case.case_no, "class_code": case.class_code}
    _history(db, a, action, before, comment, who, detail)
    db.flush()
    return a


def _open_case(db, a: Alarm, who, comment: str, class_code: str | None):
    """A 数字城管 case of class 04 突发事件 through the case intake, as the acting user (source 物联感知)."""
    from webapp.cases.intake import create_case
    if class_code is not None and class_code not in CASE_CLASSES:
        raise GeoError("class_code_invalid", "案卷分类应为 0401–0404（突发事件）", field="class_code")
    t = db.execute(text("""SELECT t.name, t.code, ST_X(t.geom) x, ST_Y(t.geom) y, d.name ds_name, d.unit
                             FROM lifeline.iot_thing t JOIN lifeline.iot_datastream d ON d.id = :d
                            WHERE t.id = :t"""), {"t": a.thing_id, "d": a.datastream_id}).mappings().one()
    desc = (f"【物联感知告警 {a.id}】{t['name']}（{t['code']}）{LEVEL_NAMES[a.level]}告警：{a.message}。"
            f"峰值 {a.peak_value if a.peak_value is not None else '—'} {t['unit']}，累计 {a.count} 次。监测中心确认：{comment}")
    body = {"source": "sensor", "kind": "event", "class_code": class_code or CASE_CLASS.get(a.network, "0401"),
            "description": desc[:2000], "address": t["name"][:200],
            "location": {"lon": t["x"], "lat": t["y"], "crs": "EPSG:4490"}}
    return create_case(db, who, body, [])


def link_hazard(db, alarm_id: int, hazard_id: int, who=None):
    """Called by the hazard ledger when a hazard is registered for this alarm (the caller commits)."""
    if isinstance(hazard_id, bool) or not isinstance(hazard_id, int) or hazard_id <= 0:
        raise GeoError("hazard_id_invalid", "隐患编号应为正整数", field="hazard_id")
    a = get_alarm(db, alarm_id, lock=True)
    if a.hazard_id == hazard_id:
        return a
    if a.hazard_id is not None:
        raise GeoError("hazard_already_linked", f"告警已关联隐患 {a.hazard_id}", status=409)
    a.hazard_id = hazard_id
    a.version += 1
    _history(db, a, "link_hazard", a.status, f"关联隐患 {hazard_id}", who, {"hazard_id": hazard_id})
    db.flush()
    return a


def sweep(db) -> dict:
    """Offline timeouts and auto-resolution of alarms whose case is closed (the caller commits)."""
    raw = db.connection().connection.driver_connection
    out = rules_sweep(raw)
    if out["offline_raised"] or out["auto_resolved"]:
        oplog.record(db, "update", "lifeline.alarm", None,
                     detail=f"告警巡检：离线告警 {out['offline_raised']} 条，案卷结案自动解除 {out['auto_resolved']} 条")
    return out


def alarm_dict(db, a: Alarm, full: bool = False) -> dict:
    info = db.execute(text("""
        SELECT t.code thing_code, t.name thing_name, t.kind thing_kind, ST_X(t.geom) x, ST_Y(t.geom) y,
               dep.name dept_name, d.code ds_code, d.name ds_name, d.unit, d.thresholds, d.last_value ds_last_value,
               r.name rule_name, r.kind rule_kind, r.params rule_params
          FROM lifeline.iot_thing t JOIN lifeline.iot_datastream d ON d.id = :d
          JOIN lifeline.alarm_rule r ON r.id = :r
          LEFT JOIN admin.department dep ON dep.code = t.dept_code WHERE t.id = :t"""),
        {"t": a.thing_id, "d": a.datastream_id, "r": a.rule_id}).mappings().one()
    return _dict(a, info, case_status(db, a.case_id) if full else None, full)


def _iso(t):
    return t.isoformat() if t else None


def _dict(a, info, case, full) -> dict:
    from etl.iot.profiles import KIND_NAMES, NETWORK_NAMES
    out = {"id": a.id, "level": a.level, "level_name": LEVEL_NAMES[a.level], "status": a.status,
           "status_name": STATUS_NAMES[a.status], "open": a.status in OPEN, "message": a.message,
           "network": a.network, "network_name": NETWORK_NAMES.get(a.network, a.network),
           "kind": a.kind, "kind_name": KINDS.get(a.kind, a.kind),
           "first_time": _iso(a.first_time), "last_time": _iso(a.last_time), "closed_at": _iso(a.closed_at),
           "first_value": a.first_value, "last_value": a.last_value, "peak_value": a.peak_value, "count": a.count,
           "case_id": a.case_id, "hazard_id": a.hazard_id, "version": a.version,
           "thing": {"id": a.thing_id, "code": info["thing_code"], "name": info["thing_name"],
                     "kind_name": KIND_NAMES.get(info["thing_kind"]), "dept_name": info["dept_name"],
                     "lon": info["x"], "lat": info["y"]},
           "datastream": {"id": a.datastream_id, "code": info["ds_code"], "name": info["ds_name"],
                          "unit": info["unit"], "thresholds": info["thresholds"]},
           "rule": {"id": a.rule_id, "name": info["rule_name"], "kind": info["rule_kind"],
                    "params": info["rule_params"]}}
    if full:
        out["case"] = case
        out["actions"] = [k for k, (starts, _) in TRANSITIONS.items() if a.status in starts]
    return out


def history(db, alarm_id: int) -> list[dict]:
    rows = db.scalars(select(AlarmHistory).where(AlarmHistory.alarm_id == alarm_id).order_by(AlarmHistory.id))
    return [{"id": h.id, "action": h.action, "action_name": ACTION_NAMES.get(h.action, h.action),
             "from_status": h.from_status, "to_status": h.to_status,
             "to_status_name": STATUS_NAMES.get(h.to_status, h.to_status), "comment": h.comment,
             "actor_name": h.actor_name, "detail": h.detail, "at": _iso(h.at)} for h in rows]


def neighbours(db, thing_id: int) -> list[dict]:
    """Other sensors within NEIGHBOUR_M metres: the analyst cross-checks them (standards §7.2)."""
    rows = db.execute(text("""
        SELECT t.id, t.code, t.name, t.status, round(ST_Distance(t.geom::geography, s.geom::geography)) dist,
               d.id ds_id, d.name ds_name, d.last_value, d.unit, d.last_time, d.alarm_level
          FROM lifeline.iot_thing s JOIN lifeline.iot_thing t ON t.id <> s.id
               AND ST_DWithin(t.geom::geography, s.geom::geography, :m)
          JOIN lifeline.iot_datastream d ON d.thing_id = t.id
         WHERE s.id = :t ORDER BY dist, t.code, d.id LIMIT 40"""), {"t": thing_id, "m": NEIGHBOUR_M}).mappings()
    return [{**dict(r), "last_time": _iso(r["last_time"])} for r in rows]


def seed_demo(db, log=print) -> None:
    """Demo alarms: a gas leak warning (raised) and a manhole level alarm (false alarm), idempotent."""
    if db.execute(text("SELECT count(*) FROM lifeline.alarm WHERE kind <> 'offline'")).scalar():
        log("alarms: demo alarms already present")
        return
    rows = db.execute(text("""
        SELECT r.id rule_id, d.id ds, d.thing_id, t.network, d.name, d.unit, d.thresholds
          FROM lifeline.alarm_rule r JOIN lifeline.iot_datastream d ON d.id = r.datastream_id
          JOIN lifeline.iot_thing t ON t.id = d.thing_id
         WHERE r.kind = 'threshold' AND r.derived AND ((t.code LIKE 'GAS-%' AND d.code = 'ch4')
               OR (t.code LIKE 'DR-%' AND d.code = 'level'))
         ORDER BY t.network, t.code LIMIT 20""")).mappings().all()
    picked = [next((r for r in rows if r["network"] == n), None) for n in ("gas", "drainage")]
    now = _now().replace(microsecond=0)
    n = 0
    for r, (lvl, status) in zip(picked, ((3, "raised"), (3, "false_alarm"))):
        if r is None:
            continue
        limit = float(r["thresholds"]["high"][str(lvl)])
        value = round(limit * 1.3, 2)
        a = Alarm(rule_id=r["rule_id"], datastream_id=r["ds"], thing_id=r["thing_id"], network=r["network"],
                  kind="threshold", level=lvl, status="raised", count=2,
                  message=f"{r['name']}分级阈值：{value:g} {r['unit']} ≥ {LEVEL_NAMES[lvl]}阈值 {limit:g}",
                  first_time=now - dt.timedelta(minutes=42), last_time=now - dt.timedelta(minutes=35),
                  first_value=value, last_value=value, peak_value=value, version=1)
        db.add(a)
        db.flush()
        _history(db, a, "raise", None, a.message, None)
        if status == "false_alarm":
            a.status, a.closed_at, a.version = "false_alarm", now, 2
            _history(db, a, "false_alarm", "raised", "现场核查为检查井清淤作业引起液位波动，判定误报", None)
        n += 1
    log(f"alarms: {n} demo alarms")


from webapp.lifeline import alarm_views, alarm_rules_admin  # noqa: E402,F401  (register the routes)
