"""Geocoding (GB/T 30428.3): a point to its community, street, unit grid and
responsibility grid; a text address to a point; and the county outline that
geometry validation checks against. All lookups are indexed SQL in PostGIS."""
from __future__ import annotations

import functools
import re
from dataclasses import asdict, dataclass

import shapely
from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine

from geo.crs import CGCS2000, normalize_crs
from geo.errors import GeoError
from geo.geometry import validate_geometry


@dataclass
class Location:
    lon: float
    lat: float
    county_code: str | None = None
    street_code: str | None = None
    street_name: str | None = None
    community_code: str | None = None
    community_name: str | None = None
    grid_code: str | None = None
    resp_grid_code: str | None = None
    resp_grid_name: str | None = None
    resp_dept_code: str | None = None

    def to_dict(self) -> dict:
        return asdict(self)


_LOCATE_SQL = text("""
WITH p AS (SELECT ST_SetSRID(ST_MakePoint(:lon, :lat), 4490) AS g)
SELECT
  (SELECT code FROM geo.region r WHERE level='county' AND ST_Intersects(r.geom, p.g) LIMIT 1),
  s.code, s.name, c.code, c.name,
  (SELECT code FROM geo.unit_grid u WHERE ST_Intersects(u.geom, p.g) ORDER BY code LIMIT 1),
  rg.code, rg.name, rg.dept_code
FROM p
LEFT JOIN LATERAL (SELECT code, name FROM geo.region r WHERE level='street' AND ST_Intersects(r.geom, p.g)
                   ORDER BY code LIMIT 1) s ON true
LEFT JOIN LATERAL (SELECT code, name FROM geo.region r WHERE level='community' AND ST_Intersects(r.geom, p.g)
                   ORDER BY code LIMIT 1) c ON true
LEFT JOIN LATERAL (SELECT code, name, dept_code FROM geo.resp_grid r WHERE ST_Intersects(r.geom, p.g)
                   ORDER BY code LIMIT 1) rg ON true
""")


@functools.lru_cache(maxsize=4)
def _county_cached(engine_key: int, engine: Engine):
    with engine.connect() as conn:
        row = conn.execute(text("SELECT ST_AsBinary(geom) FROM geo.region WHERE level='county' LIMIT 1")).fetchone()
    if row is None:
        raise GeoError("county_missing", "尚未载入县域边界，请先导入基础数据", status=503)
    geom = shapely.from_wkb(bytes(row[0]))
    shapely.prepare(geom)
    return geom


def county_outline(engine: Engine):
    return _county_cached(id(engine), engine)


def locate_point(conn: Connection, engine: Engine, lon: float, lat: float, crs: str = CGCS2000) -> Location:
    """Validate a point (any supported CRS, GCJ-02 included) and geocode it."""
    geom = validate_geometry({"type": "Point", "coordinates": [lon, lat]}, crs=normalize_crs(crs),
                             county=county_outline(engine), allowed_types=["Point"])
    row = conn.execute(_LOCATE_SQL, {"lon": geom.x, "lat": geom.y}).fetchone()
    return Location(geom.x, geom.y, *row)


_NUMBER = re.compile(r"(\d+)\s*号")
_PREFIXES = ("河南省", "驻马店市", "西平县")


def normalise_address(address: str) -> str:
    s = re.sub(r"\s+", "", address or "")
    s = s.translate(str.maketrans("０１２３４５６７８９", "0123456789"))
    for p in _PREFIXES:
        if s.startswith(p):
            s = s[len(p):]
    return s


def geocode_address(conn: Connection, address: str, limit: int = 5) -> list[dict]:
    """Text address → candidate points, best first, each with its match level.

    Levels: 门牌 (exact doorplate), 门牌-相似 (trigram), 道路插值 (nearest number on
    the road), 兴趣点, 道路 (road midpoint), 社区 (community centroid)."""
    q = normalise_address(address)
    if len(q) < 2:
        raise GeoError("address_too_short", "地址过短，请至少输入道路或地名")
    if len(q) > 200:
        raise GeoError("address_too_long", "地址过长（最多200字）")
    out: list[dict] = []
    rows = conn.execute(text(
        "SELECT full_address, ST_X(geom), ST_Y(geom), similarity(full_address, :q) AS s FROM geo.address "
        "WHERE full_address = :q OR full_address LIKE '%' || :q OR full_address % :q ORDER BY (full_address LIKE '%' || :q) DESC, s DESC LIMIT :n"),
        {"q": q, "n": limit}).fetchall()
    for addr, x, y, s in rows:
        level = "门牌" if addr.endswith(q) else "门牌-相似"
        out.append({"address": addr, "lon": x, "lat": y, "level": level, "score": round(float(s), 3)})
    if out and out[0]["level"] == "门牌":
        return out[:limit]
    m = _NUMBER.search(q)
    road = conn.execute(text(
        "SELECT code, name FROM geo.road WHERE :q LIKE '%' || name || '%' ORDER BY length(name) DESC LIMIT 1"),
        {"q": q}).fetchone()
    if road and m:
        num = int(m.group(1))
        near = conn.execute(text(
            "SELECT full_address, ST_X(geom), ST_Y(geom) FROM geo.address WHERE road_code=:r AND number % 2 = :p "
            "ORDER BY abs(number - :n) LIMIT 1"), {"r": road[0], "n": num, "p": num % 2}).fetchone()
        if near:
            out.insert(0, {"address": near[0], "lon": near[1], "lat": near[2], "level": "道路插值", "score": 0.8})
    pois = conn.execute(text(
        "SELECT name, ST_X(geom), ST_Y(geom), similarity(name, :q) s FROM geo.poi WHERE :q LIKE '%' || name || '%' "
        "OR name % :q ORDER BY s DESC LIMIT 3"), {"q": q}).fetchall()
    out += [{"address": n, "lon": x, "lat": y, "level": "兴趣点", "score": round(float(s), 3)} for n, x, y, s in pois]
    if road:
        mid = conn.execute(text("SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_LineInterpolatePoint(ST_LineMerge(geom), 0.5) p "
                                "FROM geo.road WHERE code=:c) s"), {"c": road[0]}).fetchone()
        if mid and mid[0] is not None:
            out.append({"address": road[1], "lon": mid[0], "lat": mid[1], "level": "道路", "score": 0.5})
    if not out:
        comm = conn.execute(text(
            "SELECT name, ST_X(ST_PointOnSurface(geom)), ST_Y(ST_PointOnSurface(geom)) FROM geo.region "
            "WHERE level IN ('community','street') AND :q LIKE '%' || name || '%' ORDER BY level='community' DESC LIMIT 1"),
            {"q": q}).fetchone()
        if comm:
            out.append({"address": comm[0], "lon": comm[1], "lat": comm[2], "level": "社区", "score": 0.3})
    if not out:
        raise GeoError("address_not_found", f"未能匹配地址“{address}”，请补充道路名和门牌号", status=404)
    return out[:limit]
