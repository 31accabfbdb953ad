"""告警管理 pages and JSON API: alarm list with filters and counts, detail
(curve, map, neighbouring sensors, history, actions), lifecycle actions,
overview with hazard counts, the case-side link and the sweep."""
from __future__ import annotations

import datetime as dt

from flask import jsonify, render_template, request
from sqlalchemy import text

from etl.iot.messages import LOCAL
from etl.iot.profiles import NETWORK_NAMES
from etl.iot.rules import LEVEL_NAMES, OPEN
from geo.errors import GeoError
from webapp.auth.guard import principal
from webapp.auth.permissions import require_permission
from webapp.db import get_db
from webapp.lifeline import alarms as svc, api, pages
from webapp.lifeline.alarm_models import Alarm
from webapp.validation import json_body

LIST_PARAMS = {"level", "status", "network", "from", "to", "open", "thing", "page", "size"}
MAX_SIZE = 200
HAZARD_STATUS = {"pending": "待整改", "rectified": "完成整改", "supervised": "挂牌督办"}


def _choice(name, allowed, label):
    v = request.args.get(name)
    if v in (None, ""):
        return None
    if v not in allowed:
        raise GeoError("filter_invalid", f"{label}“{v}”无效，可选：{'、'.join(map(str, allowed))}", field=name)
    return v


def _time(name):
    raw = request.args.get(name)
    if not raw:
        return None
    try:
        t = dt.datetime.fromisoformat(raw)
    except ValueError:
        raise GeoError("time_invalid", f"时间“{raw}”格式错误，应为 ISO 8601，如 2026-12-01T08:00:00+08:00",
                       field=name) from None
    return t if t.tzinfo else t.replace(tzinfo=LOCAL)


def _int_arg(name, default, lo, hi, label):
    raw = request.args.get(name)
    if raw in (None, ""):
        return default
    try:
        v = int(raw)
    except ValueError:
        v = lo - 1
    if not lo <= v <= hi:
        raise GeoError(f"{name}_invalid", f"{label}应为 {lo}–{hi} 的整数", field=name)
    return v


@api.get("/alarms")
@require_permission("lifeline:view")
def alarms_list():
    unknown = set(request.args) - LIST_PARAMS
    if unknown:
        raise GeoError("parameter_unknown", f"不支持的参数：{', '.join(sorted(unknown))}")
    level = _choice("level", [str(k) for k in LEVEL_NAMES], "告警级别")
    status = _choice("status", svc.STATUS_NAMES, "告警状态")
    network = _choice("network", NETWORK_NAMES, "管网类别")
    only_open = _choice("open", ["0", "1"], "仅未关闭")
    t_from, t_to = _time("from"), _time("to")
    if t_from and t_to and t_from >= t_to:
        raise GeoError("range_invalid", "开始时间须早于结束时间", field="from")
    thing = _int_arg("thing", None, 1, 2**31 - 1, "设备编号")
    page = _int_arg("page", 1, 1, 100000, "页码")
    size = _int_arg("size", 50, 1, MAX_SIZE, "每页条数")
    where = ["(CAST(:net AS text) IS NULL OR a.network = :net)",
             "(CAST(:tf AS timestamptz) IS NULL OR a.last_time >= :tf)",
             "(CAST(:tt AS timestamptz) IS NULL OR a.first_time < :tt)",
             "(CAST(:thing AS int) IS NULL OR a.thing_id = :thing)"]
    p = {"net": network, "tf": t_from, "tt": t_to, "thing": thing, "lvl": int(level) if level else None,
         "st": status, "open": list(OPEN)}
    base = " AND ".join(where)
    sel = base + " AND (CAST(:lvl AS int) IS NULL OR a.level = :lvl) AND (CAST(:st AS text) IS NULL OR a.status = :st)"
    if only_open == "1":
        sel += " AND a.status = ANY(:open)"
    db = get_db()
    total = db.execute(text(f"SELECT count(*) FROM lifeline.alarm a WHERE {sel}"), p).scalar()
    ids = db.execute(text(f"""SELECT a.id FROM lifeline.alarm a WHERE {sel}
                              ORDER BY a.status = ANY(:open) DESC, a.level, a.last_time DESC, a.id DESC
                              LIMIT :lim OFFSET :off"""), {**p, "lim": size, "off": (page - 1) * size}).scalars().all()
    items = [svc.alarm_dict(db, db.get(Alarm, i)) for i in ids]
    # counts under the network/time filter: open alarms by level, all by status
    by_level = dict(db.execute(text(f"SELECT a.level, count(*) FROM lifeline.alarm a WHERE {base} "
                                    "AND a.status = ANY(:open) GROUP BY 1"), p).all())
    by_status = dict(db.execute(text(f"SELECT a.status, count(*) FROM lifeline.alarm a WHERE {base} GROUP BY 1"),
                                p).all())
    return jsonify({"items": items, "total": total, "page": page, "size": size,
                    "counts": {"open_by_level": [{"level": k, "name": v, "count": by_level.get(k, 0)}
                                                 for k, v in LEVEL_NAMES.items()],
                               "by_status": [{"status": k, "name": v, "count": by_status.get(k, 0)}
                                             for k, v in svc.STATUS_NAMES.items()]}})


@api.get("/alarms/<int:alarm_id>")
@require_permission("lifeline:view")
def alarm_get(alarm_id: int):
    db = get_db()
    a = svc.get_alarm(db, alarm_id)
    out = svc.alarm_dict(db, a, full=True)
    out["history"] = svc.history(db, a.id)
    out["neighbours"] = svc.neighbours(db, a.thing_id)
    return jsonify(out)


@api.post("/alarms/<int:alarm_id>/actions")
@require_permission("lifeline:alarm:handle")
def alarm_action(alarm_id: int):
    body = json_body({"action", "comment", "version", "class_code"}, {"action", "comment"})
    comment = body["comment"]
    if not isinstance(comment, str) or not 2 <= len(comment.strip()) <= 500:
        raise GeoError("comment_invalid", "处理意见应为 2 到 500 字", field="comment")
    if "version" not in body:
        raise GeoError("version_missing", "缺少 version（数据版本号），请刷新后重试")
    v = body["version"]
    if isinstance(v, bool) or not isinstance(v, int):
        raise GeoError("version_invalid", "version 应为整数")
    if not isinstance(body["action"], str):
        raise GeoError("action_invalid", "操作应为文本")
    cc = body.get("class_code")
    if cc is not None and not isinstance(cc, str):
        raise GeoError("class_code_invalid", "案卷分类应为 0401–0404（突发事件）", field="class_code")
    db = get_db()
    try:
        a = svc.transition(db, alarm_id, body["action"], principal(), comment.strip(), v, cc)
        db.commit()
    except Exception:
        db.rollback()
        raise
    out = svc.alarm_dict(db, a, full=True)
    out["history"] = svc.history(db, a.id)
    return jsonify(out)


@api.get("/alarms/overview")
@require_permission("lifeline:view")
def alarms_overview():
    db = get_db()
    rows = db.execute(text("SELECT level, status, network, count(*) FROM lifeline.alarm GROUP BY 1, 2, 3")).all()
    by_level = {k: {"level": k, "name": v, "open": 0, "total": 0} for k, v in LEVEL_NAMES.items()}
    by_status = {k: {"status": k, "name": v, "count": 0} for k, v in svc.STATUS_NAMES.items()}
    by_network = {k: {"network": k, "name": v, "open": 0, "total": 0} for k, v in NETWORK_NAMES.items()}
    for lvl, st, net, n in rows:
        by_level[lvl]["total"] += n
        by_status[st]["count"] += n
        b = by_network.setdefault(net, {"network": net, "name": net, "open": 0, "total": 0})
        b["total"] += n
        if st in OPEN:
            by_level[lvl]["open"] += n
            b["open"] += n
    today = db.execute(text("SELECT count(*) FROM lifeline.alarm WHERE first_time >= "
                            "date_trunc('day', now() AT TIME ZONE 'Asia/Shanghai') AT TIME ZONE 'Asia/Shanghai'")).scalar()
    hazards = None
    if db.execute(text("SELECT to_regclass('lifeline.hazard') IS NOT NULL")).scalar():
        counts = dict(db.execute(text("SELECT status, count(*) FROM lifeline.hazard GROUP BY 1")).all())
        hazards = {"by_status": [{"status": k, "name": v, "count": counts.get(k, 0)} for k, v in HAZARD_STATUS.items()],
                   "total": sum(counts.values())}
    return jsonify({"open": sum(b["open"] for b in by_level.values()), "total": sum(b["total"] for b in by_level.values()),
                    "today": today, "by_level": list(by_level.values()), "by_status": list(by_status.values()),
                    "by_network": list(by_network.values()), "hazards": hazards})


@api.get("/alarms/by-case/<int:case_id>")
@require_permission("case:view")
def alarms_by_case(case_id: int):
    """For case pages: the alarms that opened (or are linked to) this case."""
    db = get_db()
    rows = db.execute(text("""SELECT a.id, a.level, a.status, a.message, a.network, ac.case_no, t.name thing_name
                                FROM lifeline.alarm_case ac JOIN lifeline.alarm a ON a.id = ac.alarm_id
                                JOIN lifeline.iot_thing t ON t.id = a.thing_id
                               WHERE ac.case_id = :c ORDER BY a.id"""), {"c": case_id}).mappings().all()
    return jsonify({"case_id": case_id, "items": [
        {**dict(r), "level_name": LEVEL_NAMES[r["level"]], "status_name": svc.STATUS_NAMES[r["status"]],
         "url": f"/lifeline/alarms/{r['id']}"} for r in rows]})


@api.post("/alarms/sweep")
@require_permission("lifeline:alarm:handle")
def alarms_sweep():
    if request.get_data() and request.get_json(silent=True) not in ({}, None):
        raise GeoError("field_unknown", "巡检请求不接受参数")
    db = get_db()
    out = svc.sweep(db)
    db.commit()
    return jsonify(out)


# ---------------------------------------------------------------- pages

@pages.get("/alarms")
@require_permission("lifeline:view")
def alarms_page():
    return render_template("lifeline/alarm_list.html", network_names=NETWORK_NAMES, level_names=LEVEL_NAMES,
                           status_names=svc.STATUS_NAMES)


@pages.get("/alarms/<int:alarm_id>")
@require_permission("lifeline:view")
def alarm_detail_page(alarm_id: int):
    db = get_db()
    a = svc.get_alarm(db, alarm_id)
    who = principal()
    can_handle = who is not None and ("*" in who.permissions or "lifeline:alarm:handle" in who.permissions)
    return render_template("lifeline/alarm_detail.html", alarm_id=a.id, can_handle=can_handle,
                           action_names=svc.ACTION_NAMES, case_classes=svc.CASE_CLASS)
