"""Inspection rules (R111–R114): plan geometry, GPS track validation and
storage, records, and the per-inspector statistics.

Mileage is the route's length on EPSG:4547 (CGCS2000 Gauss-Kruger CM 114E,
geo.crs.GK_CM114), computed by PostGIS when a batch is stored; on duty = a
track point within the last ON_DUTY_MINUTES."""
from __future__ import annotations

import datetime as dt
import math

import numpy as np
import shapely
from sqlalchemy import text

from geo import crs as gcrs
from geo.errors import GeoError
from geo.geocode import county_outline

MAX_POINTS = 2000
MAX_SPEED_MS = 40.0          # 144 km/h: faster than any inspector on a road, so it is a GPS jump
FUTURE_SLACK = dt.timedelta(minutes=2)
ON_DUTY_MINUTES = 10
TRACK_CRS = {"EPSG:4326", "EPSG:4490", "GCJ-02"}


def parse_time(v, i: int) -> dt.datetime:
    """ISO 8601 with a zone, or epoch milliseconds (what navigator.geolocation gives)."""
    try:
        if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v):
            return dt.datetime.fromtimestamp(v / 1000.0, dt.timezone.utc)
        if isinstance(v, str):
            t = dt.datetime.fromisoformat(v.replace("Z", "+00:00"))
            if t.tzinfo is not None:
                return t
    except (ValueError, OverflowError, OSError):
        pass
    raise GeoError("track_point_invalid", f"第 {i + 1} 个点的时间 t 应为带时区的 ISO 8601 时间或毫秒时间戳",
                   index=i)


def clean_points(engine, body: dict) -> tuple[list[dt.datetime], np.ndarray, np.ndarray, list]:
    """(times, lon, lat in EPSG:4490, accuracies) of a batch, each point checked."""
    pts = body.get("points")
    if not isinstance(pts, list) or not 1 <= len(pts) <= MAX_POINTS:
        raise GeoError("track_points_invalid", f"points 应为 1 到 {MAX_POINTS} 个轨迹点的列表")
    src = body.get("crs") or "EPSG:4326"
    if src not in TRACK_CRS:
        raise GeoError("crs_unsupported", f"轨迹坐标系只能是 {'、'.join(sorted(TRACK_CRS))}")
    ts, xs, ys, acc = [], [], [], []
    for i, p in enumerate(pts):
        if not isinstance(p, dict):
            raise GeoError("track_point_invalid", f"第 {i + 1} 个点应为对象 {{t, lon, lat, accuracy}}", index=i)
        lon, lat, a = p.get("lon"), p.get("lat"), p.get("accuracy")
        if any(isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) for v in (lon, lat)) \
                or not (-180 <= lon <= 180 and -90 <= lat <= 90):
            raise GeoError("track_point_invalid", f"第 {i + 1} 个点的经纬度无效", index=i)
        if a is not None and (isinstance(a, bool) or not isinstance(a, (int, float)) or not 0 <= a <= 10000):
            raise GeoError("track_point_invalid", f"第 {i + 1} 个点的定位精度 accuracy 应为 0 到 10000 米", index=i)
        ts.append(parse_time(p.get("t"), i))
        xs.append(float(lon))
        ys.append(float(lat))
        acc.append(float(a) if a is not None else None)
    x, y = gcrs.transform_xy(np.array(xs), np.array(ys), src, gcrs.CGCS2000)
    x, y = np.atleast_1d(x), np.atleast_1d(y)
    county = county_outline(engine)
    inside = shapely.contains_xy(county, x, y)
    if not inside.all():
        i = int(np.argmin(inside))
        raise GeoError("track_outside_county", f"第 {i + 1} 个点不在西平县境内（请检查坐标系与经纬度顺序）", index=i)
    for i in range(1, len(ts)):
        if ts[i] <= ts[i - 1]:
            raise GeoError("track_time_order", f"第 {i + 1} 个点的时间不晚于前一个点：轨迹点须按时间先后排列", index=i)
    return ts, x, y, acc


def check_speed(ts, x, y, prev=None) -> None:
    """Refuse GPS jumps: the speed between consecutive points, measured in metres on EPSG:4547."""
    off = 0
    if prev is not None:
        ts, x, y, off = [prev[0], *ts], np.concatenate([[prev[1]], x]), np.concatenate([[prev[2]], y]), 1
    if len(ts) < 2:
        return
    ex, ny = gcrs.transform_xy(x, y, gcrs.CGCS2000, gcrs.GK_CM114)
    d = np.hypot(np.diff(ex), np.diff(ny))
    secs = np.array([(b - a).total_seconds() for a, b in zip(ts, ts[1:])])
    speed = d / np.maximum(secs, 1e-3)
    bad = np.nonzero(speed > MAX_SPEED_MS)[0]
    if bad.size:
        i = int(bad[0]) + 1 - off  # the offending point's index in the batch
        raise GeoError("track_speed", f"第 {i + 1} 个点相对前一点的速度为 {speed[bad[0]] * 3.6:.0f} km/h，"
                       f"超过 {MAX_SPEED_MS * 3.6:.0f} km/h，疑为定位漂移", index=i)


_REBUILD = text("""
UPDATE lifeline.inspection_record r SET
  route = s.route, length_m = coalesce(ST_Length(ST_Transform(s.route, 4547)), 0), last_point_at = s.last_t,
  updated_at = now()
FROM (SELECT CASE WHEN count(*) >= 2 THEN ST_MakeLine(geom ORDER BY t) END AS route, max(t) AS last_t
      FROM lifeline.inspection_point WHERE record_id = :rid) s
WHERE r.id = :rid
RETURNING r.length_m, r.last_point_at""")


def store_points(db, record_id: int, ts, x, y, acc) -> tuple[int, float]:
    """Insert a checked batch and rebuild the record's route and length."""
    rows = [{"rid": record_id, "t": t, "x": float(a), "y": float(b), "acc": c} for t, a, b, c in zip(ts, x, y, acc)]
    db.execute(text("INSERT INTO lifeline.inspection_point (record_id, t, accuracy, geom) "
                    "VALUES (:rid, :t, :acc, ST_SetSRID(ST_MakePoint(:x, :y), 4490)) "
                    "ON CONFLICT (record_id, t) DO NOTHING"), rows)
    length, _ = db.execute(_REBUILD, {"rid": record_id}).one()
    return len(rows), float(length)


# -- statistics ---------------------------------------------------------------------------
STATS_SQL = text("""
WITH rec AS (
  SELECT user_id, count(*) AS records, coalesce(sum(length_m), 0) AS length_m, coalesce(sum(site_watch), 0) AS site_watch,
         coalesce(sum(extract(epoch FROM coalesce(ended_at, last_point_at, started_at) - started_at)), 0) AS seconds
  FROM lifeline.inspection_record WHERE started_at >= :t0 AND started_at < :t1 GROUP BY user_id),
prob AS (
  SELECT r.user_id, count(h.id) AS problems
  FROM lifeline.hazard h JOIN lifeline.inspection_record r ON r.id = h.record_id
  WHERE r.started_at >= :t0 AND r.started_at < :t1 GROUP BY r.user_id),
duty AS (
  SELECT DISTINCT r.user_id FROM lifeline.inspection_record r
  WHERE r.ended_at IS NULL AND r.last_point_at >= now() - make_interval(mins => :duty))
SELECT i.user_id, u.username, u.display_name, u.dept_code, d.name AS dept_name, coalesce(i.phone, u.phone) AS phone,
       i.active, coalesce(rec.records, 0) AS records, coalesce(prob.problems, 0) AS problems,
       coalesce(rec.site_watch, 0) AS site_watch, coalesce(rec.length_m, 0) AS length_m,
       coalesce(rec.seconds, 0) AS seconds, duty.user_id IS NOT NULL AS on_duty
FROM lifeline.inspector i JOIN admin."user" u ON u.id = i.user_id
LEFT JOIN admin.department d ON d.code = u.dept_code
LEFT JOIN rec ON rec.user_id = i.user_id LEFT JOIN prob ON prob.user_id = i.user_id
LEFT JOIN duty ON duty.user_id = i.user_id
WHERE (CAST(:uid AS integer) IS NULL OR i.user_id = CAST(:uid AS integer))
ORDER BY u.dept_code NULLS LAST, u.username""")


def stats(db, t0: dt.datetime, t1: dt.datetime, user_id: int | None = None) -> dict:
    rows = []
    for r in db.execute(STATS_SQL, {"t0": t0, "t1": t1, "duty": ON_DUTY_MINUTES, "uid": user_id}).mappings():
        d = dict(r)
        d["km"] = round(float(d.pop("length_m")) / 1000.0, 3)
        d["hours"] = round(float(d.pop("seconds")) / 3600.0, 2)
        rows.append(d)
    totals = {"inspectors": len(rows), "on_duty": sum(1 for r in rows if r["on_duty"]),
              "records": sum(r["records"] for r in rows), "problems": sum(r["problems"] for r in rows),
              "site_watch": sum(r["site_watch"] for r in rows), "km": round(sum(r["km"] for r in rows), 3),
              "hours": round(sum(r["hours"] for r in rows), 2)}
    return {"from": t0.isoformat(), "to": t1.isoformat(), "items": rows, "totals": totals}
