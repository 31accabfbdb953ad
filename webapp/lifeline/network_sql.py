"""SQL of the network analysis: the clicked point (validated against the
county), snapping to the nearest pipe, node and address details, the regions
a set of pipes crosses, result GeoJSON, and the gas-leak impact buffer.
Distances are metres in EPSG:4547 (CGCS2000 GK CM 114°E)."""
from __future__ import annotations

import json

from flask import request
from shapely.geometry import Point
from sqlalchemy import text

from geo.errors import GeoError
from geo.geocode import county_outline
from geo.geometry import validate_geometry
from webapp.lifeline.network_graph import NETWORK_NAMES

SNAP_M = 50.0
# Leak level → (name, default impact radius in metres).
LEAK_LEVELS = {"1": ("一般泄漏", 50.0), "2": ("较大泄漏", 100.0), "3": ("重大泄漏", 200.0)}
MIN_RADIUS, MAX_RADIUS = 10.0, 1000.0
# geo.poi categories where many people gather (the demo's people-dense kinds plus homes).
PEOPLE_DENSE = ("学校", "幼儿园", "医院", "养老机构", "农贸市场", "商场", "车站", "文体场馆", "宾馆酒店", "住宅小区")


def point_arg(db) -> Point:
    raw = {k: request.args.get(k) for k in ("lon", "lat")}
    if not raw["lon"] or not raw["lat"]:
        raise GeoError("location_missing", "请提供点击位置的经纬度 lon、lat", field="lon")
    try:
        lon, lat = float(raw["lon"]), float(raw["lat"])
    except ValueError:
        raise GeoError("location_invalid", "经纬度 lon、lat 应为数字", field="lon") from None
    return validate_geometry({"type": "Point", "coordinates": [lon, lat]}, county=county_outline(db.get_bind()),
                             allowed_types=["Point"])


_SNAP = text("""
    SELECT code, network, diameter_mm, material, pressure_class, install_year, road_code,
           ST_Distance(ST_Transform(geom, 4547), ST_Transform(pt, 4547)) AS distance_m,
           ST_X(ST_ClosestPoint(geom, pt)) AS snap_lon, ST_Y(ST_ClosestPoint(geom, pt)) AS snap_lat
      FROM (SELECT * FROM geo.pipe WHERE network = :n
             ORDER BY geom <-> ST_SetSRID(ST_MakePoint(:x, :y), 4490) LIMIT 8) p,
           LATERAL (SELECT ST_SetSRID(ST_MakePoint(:x, :y), 4490) AS pt) q
     ORDER BY distance_m, code LIMIT 1""")


def snap(db, network: str, pt: Point) -> dict:
    row = db.execute(_SNAP, {"n": network, "x": pt.x, "y": pt.y}).mappings().first()
    if row is None or row["distance_m"] > SNAP_M:
        near = f"（最近的在 {row['distance_m']:.0f} 米外）" if row else ""
        raise GeoError("pipe_not_near", f"点击位置 {SNAP_M:.0f} 米内没有{NETWORK_NAMES[network]}管线{near}，请靠近管线点击",
                       field="lon", nearest_m=round(row["distance_m"], 1) if row else None)
    out = dict(row)
    out["distance_m"] = round(out["distance_m"], 1)
    out["click"] = {"lon": pt.x, "lat": pt.y}
    return out


def pipe_info(db, code: str) -> dict | None:
    row = db.execute(text("""SELECT code, network, diameter_mm, material, pressure_class, install_year, road_code
                               FROM geo.pipe WHERE code = :c"""), {"c": code}).mappings().first()
    return dict(row, distance_m=0.0) if row else None


def nodes(db, codes: list[str]) -> list[dict]:
    if not codes:
        return []
    rows = db.execute(text("""SELECT code, kind, status, ST_X(geom) AS lon, ST_Y(geom) AS lat FROM geo.pipe_node
                               WHERE code = ANY(:c) ORDER BY code"""), {"c": list(codes)}).mappings().all()
    return [dict(r) for r in rows]


def regions_of(db, pipes: list[str]) -> list[dict]:
    """Communities (with their street) crossed by the pipes."""
    if not pipes:
        return []
    rows = db.execute(text("""
        WITH p AS (SELECT ST_Collect(geom) AS g FROM geo.pipe WHERE code = ANY(:c))
        SELECT r.code, r.name, s.code AS street_code, s.name AS street_name
          FROM geo.region r JOIN p ON ST_Intersects(r.geom, p.g)
          LEFT JOIN geo.region s ON s.code = r.parent_code
         WHERE r.level = 'community' ORDER BY r.code"""), {"c": list(pipes)}).mappings().all()
    return [dict(r) for r in rows]


def addresses(db, ids: list[int], limit: int = 500) -> list[dict]:
    if not ids:
        return []
    rows = db.execute(text("""SELECT a.full_address, a.road_name, a.number, c.name AS community
                                FROM geo.address a LEFT JOIN geo.region c ON c.code = a.community_code
                               WHERE a.id = ANY(:i) ORDER BY a.road_name, a.number LIMIT :l"""),
                      {"i": list(ids), "l": limit}).mappings().all()
    return [dict(r) for r in rows]


def _pipe_features(db, role: str, codes: list[str]) -> list[dict]:
    if not codes:
        return []
    rows = db.execute(text("""SELECT code, diameter_mm, material, ST_AsGeoJSON(geom, 7) FROM geo.pipe
                               WHERE code = ANY(:c) ORDER BY code"""), {"c": list(codes)}).all()
    return [{"type": "Feature", "id": r[0], "geometry": json.loads(r[3]),
             "properties": {"role": role, "code": r[0], "diameter_mm": r[1], "material": r[2]}} for r in rows]


def result_geojson(db, layers: dict[str, list[str]], points: list[dict], click: dict | None = None) -> dict:
    feats = []
    for role, codes in layers.items():
        feats += _pipe_features(db, role, codes)
    for p in points:
        feats.append({"type": "Feature", "id": p["code"], "geometry": {"type": "Point", "coordinates": [p["lon"], p["lat"]]},
                      "properties": {"role": p.get("role", "valve"), "code": p["code"], "kind": p["kind"]}})
    if click:
        feats.append({"type": "Feature", "geometry": {"type": "Point", "coordinates": [click["lon"], click["lat"]]},
                      "properties": {"role": "click"}})
    return {"type": "FeatureCollection", "features": feats}


def network_geojson(db, network: str) -> dict:
    row = db.execute(text("""
        SELECT json_build_object('type', 'FeatureCollection', 'network', CAST(:n AS text),
               'features', coalesce(json_agg(json_build_object('type', 'Feature', 'id', code,
                   'geometry', ST_AsGeoJSON(geom, 6)::json,
                   'properties', json_build_object('code', code, 'diameter_mm', diameter_mm,
                                                   'material', material)) ORDER BY code), '[]'))
          FROM geo.pipe WHERE network = :n"""), {"n": network}).scalar()
    return row


def leak_impact(db, pt: Point, radius: float, level: str) -> dict:
    """Everything within `radius` metres of the leak (EPSG:4547 distances)."""
    p = {"x": pt.x, "y": pt.y, "r": radius}
    base = "ST_Transform(ST_SetSRID(ST_MakePoint(:x, :y), 4490), 4547)"
    risk = db.execute(text(f"""
        SELECT code, name, category, level, ST_X(geom) AS lon, ST_Y(geom) AS lat,
               round(ST_Distance(ST_Transform(geom, 4547), {base})::numeric, 1)::float AS distance_m
          FROM geo.risk_point WHERE ST_DWithin(ST_Transform(geom, 4547), {base}, :r)
         ORDER BY distance_m, code"""), p).mappings().all()
    pois = db.execute(text(f"""
        SELECT code, name, category, address, ST_X(geom) AS lon, ST_Y(geom) AS lat,
               round(ST_Distance(ST_Transform(geom, 4547), {base})::numeric, 1)::float AS distance_m
          FROM geo.poi WHERE category = ANY(:cats) AND ST_DWithin(ST_Transform(geom, 4547), {base}, :r)
         ORDER BY distance_m, code"""), dict(p, cats=list(PEOPLE_DENSE))).mappings().all()
    n_addr = db.execute(text(f"SELECT count(*) FROM geo.address WHERE ST_DWithin(ST_Transform(geom, 4547), {base}, :r)"),
                        p).scalar()
    # valves within the radius, plus the nearest few outside it (the crew needs one to close)
    valves = db.execute(text(f"""
        SELECT code, kind, status, ST_X(geom) AS lon, ST_Y(geom) AS lat,
               round(ST_Distance(ST_Transform(geom, 4547), {base})::numeric, 1)::float AS distance_m
          FROM geo.pipe_node WHERE network = 'gas' AND kind = '阀门'
         ORDER BY geom <-> ST_SetSRID(ST_MakePoint(:x, :y), 4490) LIMIT 200"""), p).mappings().all()
    valves = sorted((dict(v) for v in valves), key=lambda v: (v["distance_m"], v["code"]))
    inside = [v for v in valves if v["distance_m"] <= radius]
    area = db.execute(text(f"""
        SELECT ST_AsGeoJSON(ST_Transform(ST_Buffer({base}, :r, 32), 4490), 7),
               ST_Area(ST_Buffer({base}, :r, 32))"""), p).one()
    communities = db.execute(text(f"""
        SELECT r.code, r.name, s.name AS street_name FROM geo.region r LEFT JOIN geo.region s ON s.code = r.parent_code
         WHERE r.level = 'community' AND ST_Intersects(r.geom, ST_Transform(ST_Buffer({base}, :r, 32), 4490))
         ORDER BY r.code"""), p).mappings().all()
    feats = [{"type": "Feature", "geometry": json.loads(area[0]), "properties": {"role": "buffer", "radius_m": radius}},
             {"type": "Feature", "geometry": {"type": "Point", "coordinates": [pt.x, pt.y]}, "properties": {"role": "click"}}]
    for role, rows in (("risk", risk), ("poi", pois), ("valve", inside or valves[:3])):
        feats += [{"type": "Feature", "id": r["code"], "geometry": {"type": "Point", "coordinates": [r["lon"], r["lat"]]},
                   "properties": {"role": role, "code": r["code"], "name": r.get("name") or r.get("kind")}}
                  for r in rows]
    return {"tool": "leak-impact", "network": "gas", "network_name": "燃气", "click": {"lon": pt.x, "lat": pt.y},
            "level": level, "level_name": LEAK_LEVELS[level][0], "radius_m": radius,
            "area_m2": round(area[1], 1), "risk_points": [dict(r) for r in risk], "people_dense": [dict(r) for r in pois],
            "people_dense_kinds": list(PEOPLE_DENSE), "address_count": n_addr, "valves": inside,
            "nearest_valves": valves[:3] if not inside else [], "regions": [dict(c) for c in communities],
            "geojson": {"type": "FeatureCollection", "features": feats}}
