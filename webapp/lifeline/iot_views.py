"""IoT monitoring pages and JSON API (R119): devices on the map (GeoJSON),
device counts by type and status, datastream time series (downsampled for
long ranges), ingest counters, and the 物联监测 page with camera players."""
from __future__ import annotations

import datetime as dt

from flask import jsonify, render_template, request
from sqlalchemy import text

from etl.iot.messages import LOCAL
from etl.iot.profiles import KIND_NAMES, NETWORK_NAMES
from geo.errors import GeoError
from webapp.auth.permissions import require_permission
from webapp.db import get_db
from webapp.lifeline import api, pages

STATUS_NAMES = {"online": "在线", "offline": "离线"}
MAX_POINTS = 600                       # longer series are averaged into this many buckets
MAX_RANGE = dt.timedelta(days=366)
REASON_NAMES = {"accepted": "入库", "duplicate": "重复", "malformed": "格式错误", "out_of_range": "超量程",
                "unknown_device": "未登记设备"}


def _choice(name: str, allowed: dict, label: str) -> str | None:
    v = request.args.get(name)
    if v in (None, ""):
        return None
    if v not in allowed:
        raise GeoError("filter_invalid", f"{label}“{v}”无效，可选：{'、'.join(allowed)}", field=name)
    return v


def _time_arg(name: str, default: dt.datetime) -> dt.datetime:
    raw = request.args.get(name)
    if not raw:
        return default
    try:
        t = dt.datetime.fromisoformat(raw)
    except ValueError:
        raise GeoError("time_invalid", f"时间“{raw}”格式错误，应为 ISO 8601，如 2026-12-01T08:00:00+08:00",
                       field=name) from None
    return t if t.tzinfo else t.replace(tzinfo=LOCAL)


@api.get("/iot/things")
@require_permission("lifeline:view")
def iot_things():
    network = _choice("network", NETWORK_NAMES, "管网类别")
    kind = _choice("kind", KIND_NAMES, "设备类型")
    status = _choice("status", STATUS_NAMES, "状态")
    rows = get_db().execute(text("""
        SELECT t.id, t.code, t.name, t.network, t.kind, t.status, t.last_seen, t.hls_url, t.pipe_code,
               t.node_code, t.bridge_code, t.risk_point_code, t.dept_code, dep.name AS dept_name,
               ST_X(t.geom) AS x, ST_Y(t.geom) AS y,
               coalesce((SELECT json_agg(json_build_object('id', d.id, 'code', d.code, 'name', d.name,
                                 'unit', d.unit, 'last_value', d.last_value, 'last_time', d.last_time,
                                 'alarm_level', d.alarm_level, 'status', d.status) ORDER BY d.id)
                           FROM lifeline.iot_datastream d WHERE d.thing_id = t.id), '[]') AS datastreams
          FROM lifeline.iot_thing t LEFT JOIN admin.department dep ON dep.code = t.dept_code
         WHERE (CAST(:n AS text) IS NULL OR t.network = :n) AND (CAST(:k AS text) IS NULL OR t.kind = :k)
           AND (CAST(:s AS text) IS NULL OR t.status = :s)
         ORDER BY t.code"""), {"n": network, "k": kind, "s": status}).mappings().all()
    features = []
    for r in rows:
        props = {k: r[k] for k in ("id", "code", "name", "network", "kind", "status", "hls_url", "pipe_code",
                                   "node_code", "bridge_code", "risk_point_code", "dept_code", "dept_name",
                                   "datastreams")}
        props.update(network_name=NETWORK_NAMES.get(r["network"]), kind_name=KIND_NAMES.get(r["kind"]),
                     status_name=STATUS_NAMES[r["status"]],
                     last_seen=r["last_seen"].isoformat() if r["last_seen"] else None,
                     alarm_level=min((d["alarm_level"] for d in r["datastreams"] if d["alarm_level"]), default=0))
        features.append({"type": "Feature", "id": r["id"], "properties": props,
                         "geometry": {"type": "Point", "coordinates": [r["x"], r["y"]]}})
    return jsonify({"type": "FeatureCollection", "numberReturned": len(features), "features": features})


@api.get("/iot/summary")
@require_permission("lifeline:view")
def iot_summary():
    db = get_db()
    rows = db.execute(text("""SELECT kind, network, status, count(*) FROM lifeline.iot_thing
                               GROUP BY 1, 2, 3""")).all()
    by_kind: dict[str, dict] = {}
    by_network: dict[str, dict] = {}
    for kind, network, status, n in rows:
        for key, bucket, names in ((kind, by_kind, KIND_NAMES), (network, by_network, NETWORK_NAMES)):
            b = bucket.setdefault(key, {"code": key, "name": names.get(key, key), "total": 0, "online": 0,
                                        "offline": 0})
            b["total"] += n
            b[status] += n
    alarming = db.execute(text("SELECT count(DISTINCT thing_id) FROM lifeline.iot_datastream "
                               "WHERE alarm_level > 0")).scalar()
    order = list(KIND_NAMES)
    kinds = sorted(by_kind.values(), key=lambda b: order.index(b["code"]) if b["code"] in order else 99)
    return jsonify({"total": sum(b["total"] for b in kinds), "online": sum(b["online"] for b in kinds),
                    "offline": sum(b["offline"] for b in kinds), "alarming": alarming, "by_kind": kinds,
                    "by_network": sorted(by_network.values(), key=lambda b: list(NETWORK_NAMES).index(b["code"]))})


@api.get("/iot/datastreams/<int:ds_id>/observations")
@require_permission("lifeline:view")
def iot_observations(ds_id: int):
    db = get_db()
    ds = db.execute(text("""SELECT d.id, d.code, d.name, d.unit, d.thresholds, d.valid_min, d.valid_max,
                                   d.last_value, d.last_time, d.alarm_level, d.status, t.code AS thing_code,
                                   t.name AS thing_name
                              FROM lifeline.iot_datastream d JOIN lifeline.iot_thing t ON t.id = d.thing_id
                             WHERE d.id = :i"""), {"i": ds_id}).mappings().first()
    if ds is None:
        raise GeoError("datastream_not_found", f"数据流 {ds_id} 不存在", status=404)
    now = dt.datetime.now(dt.timezone.utc)
    t_to = _time_arg("to", now)
    t_from = _time_arg("from", t_to - dt.timedelta(hours=24))
    if t_from >= t_to:
        raise GeoError("range_invalid", "开始时间须早于结束时间", field="from")
    if t_to - t_from > MAX_RANGE:
        raise GeoError("range_too_long", "查询时间跨度不能超过一年", field="from")
    n = db.execute(text("SELECT count(*) FROM lifeline.iot_observation WHERE datastream_id = :i "
                        "AND phenomenon_time >= :a AND phenomenon_time < :b"),
                   {"i": ds_id, "a": t_from, "b": t_to}).scalar()
    bucket_s = None
    if n > MAX_POINTS:
        # average into equal time buckets; min/max keep spikes visible
        bucket_s = max(1, int((t_to - t_from).total_seconds() // MAX_POINTS) + 1)
        rows = db.execute(text("""
            SELECT date_bin(make_interval(secs => :s), phenomenon_time, :a) AS t, avg(result), min(result),
                   max(result)
              FROM lifeline.iot_observation WHERE datastream_id = :i AND phenomenon_time >= :a
               AND phenomenon_time < :b GROUP BY 1 ORDER BY 1"""),
            {"s": bucket_s, "i": ds_id, "a": t_from, "b": t_to}).all()
        points = [[r[0].isoformat(), round(r[1], 4), r[2], r[3]] for r in rows]
    else:
        rows = db.execute(text("""SELECT phenomenon_time, result FROM lifeline.iot_observation
                                   WHERE datastream_id = :i AND phenomenon_time >= :a AND phenomenon_time < :b
                                   ORDER BY 1"""), {"i": ds_id, "a": t_from, "b": t_to}).all()
        points = [[r[0].isoformat(), r[1]] for r in rows]
    info = dict(ds)
    info["last_time"] = info["last_time"].isoformat() if info["last_time"] else None
    return jsonify({"datastream": info, "from": t_from.isoformat(), "to": t_to.isoformat(), "count": n,
                    "downsampled": bucket_s is not None, "bucket_s": bucket_s, "points": points})


@api.get("/iot/ingest-stats")
@require_permission("lifeline:view")
def iot_ingest_stats():
    try:
        minutes = int(request.args.get("minutes", 60))
    except ValueError:
        minutes = -1
    if not 1 <= minutes <= 10080:
        raise GeoError("minutes_invalid", "统计时长须为 1–10080 分钟", field="minutes")
    cols = list(REASON_NAMES)
    rows = get_db().execute(text(f"""
        SELECT source, minute, {', '.join(cols)} FROM lifeline.iot_ingest_counter
         WHERE minute >= date_trunc('minute', now()) - make_interval(mins => :m) ORDER BY minute, source"""),
        {"m": minutes}).all()
    totals: dict[str, dict] = {}
    for r in rows:
        t = totals.setdefault(r[0], {"source": r[0], "name": NETWORK_NAMES.get(r[0], "无法识别"), **{c: 0 for c in cols}})
        for i, c in enumerate(cols):
            t[c] += r[2 + i]
    return jsonify({"minutes": minutes, "labels": REASON_NAMES, "totals": sorted(totals.values(),
                    key=lambda t: t["source"]),
                    "series": [{"source": r[0], "minute": r[1].isoformat(), **{c: r[2 + i] for i, c in
                                                                               enumerate(cols)}} for r in rows]})


@pages.get("/iot")
@require_permission("lifeline:view")
def iot_page():
    return render_template("lifeline/iot.html", kind_names=KIND_NAMES, network_names=NETWORK_NAMES)
