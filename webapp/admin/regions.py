"""Regions (R90): county → street → community (→ unit grid) tree beside a map,
with boundary editing and sibling gap/overlap validation.

Unit grids are the tree's lowest level: they can be read and edited like a
region (parent = their community), which is what lets a border between two
communities move together with the grids along it.

A boundary change is checked in PostGIS inside the transaction that writes
it: the new geometries are written first, then every rule is evaluated on
the database state they produce, and on any refusal the transaction is
rolled back, so nothing changes. Areas are measured on EPSG:4547 (CGCS2000
3-degree Gauss-Krüger, CM 114°E, which covers Xiping). Writes are plain SQL
and logged with oplog.record (before/after geometry = the boundary history).
"""
from __future__ import annotations

import json
import re
from types import SimpleNamespace

import shapely
from flask import current_app, jsonify, render_template, request
from shapely.geometry import MultiPolygon, mapping
from sqlalchemy import text

from geo.crs import CGCS2000, GK_CM114
from geo.errors import GeoError
from geo.geocode import county_outline
from geo.geometry import validate_geometry
from webapp import oplog
from webapp.admin import api, pages
from webapp.auth.permissions import require_permission
from webapp.db import get_db

TOLERANCE_M2 = 1.0          # slivers below this (float noise, snapping) are not refusals
PROJECTED = int(GK_CM114.split(":")[1])
MAX_BATCH = 200
MAX_PROBLEMS = 10           # offending areas returned per refusal
LEVELS = {"county": "县", "street": "街道（乡镇）", "community": "社区（村）", "grid": "单元网格"}
CHILD_LEVEL = {"county": "street", "street": "community", "community": "grid"}
_CODE = re.compile(r"^[0-9]{6,15}$")

# Regions and unit grids as one node set; a unit grid's parent is its community.
_NODES = """(SELECT code, name, level, parent_code, version, geom, updated_at FROM geo.region
             UNION ALL
             SELECT code, name, 'grid', community_code, version, geom, updated_at FROM geo.unit_grid)"""
_AREA = f"ST_Area(ST_Transform({{}}, {PROJECTED}))"


def _area(expr: str) -> str:
    return _AREA.format(expr)


def _table(level: str) -> str:
    return "geo.unit_grid" if level == "grid" else "geo.region"


# ---------------------------------------------------------------- reads

def _counts(db) -> dict[str, dict[str, int]]:
    """code → {"street": n, "community": n, "grid": n} of everything below it."""
    rows = db.execute(text("""
        SELECT r.code, r.level, r.parent_code,
               (SELECT count(*) FROM geo.unit_grid u WHERE u.community_code = r.code) AS grids
          FROM geo.region r""")).all()
    out = {code: {"street": 0, "community": 0, "grid": 0} for code, *_ in rows}
    parent = {code: p for code, _l, p, _g in rows}
    for code, level, _p, grids in rows:
        # add this node (and its grids) to every ancestor
        up = parent.get(code)
        while up is not None:
            out[up][level] += 1
            out[up]["grid"] += grids
            up = parent.get(up)
        out[code]["grid"] += grids if level == "community" else 0
    return out


def _node_json(row, counts: dict | None = None) -> dict:
    d = {"code": row.code, "name": row.name, "level": row.level, "level_name": LEVELS[row.level],
         "parent_code": row.parent_code, "version": row.version, "area_km2": round(row.area_m2 / 1e6, 4),
         "area_m2": round(row.area_m2, 1), "bbox": [row.xmin, row.ymin, row.xmax, row.ymax],
         "editable": row.level != "county"}
    if counts is not None:
        d["counts"] = counts.get(row.code, {"street": 0, "community": 0, "grid": 0})
    return d


_SELECT = f"""SELECT n.code, n.name, n.level, n.parent_code, n.version, n.updated_at,
       {_area('n.geom')} AS area_m2,
       ST_XMin(n.geom) AS xmin, ST_YMin(n.geom) AS ymin, ST_XMax(n.geom) AS xmax, ST_YMax(n.geom) AS ymax"""


@api.get("/regions")
@require_permission("admin:region:view")
def region_tree():
    """County → streets → communities (unit grids come from /<community>/children)."""
    db = get_db()
    rows = db.execute(text(f"{_SELECT} FROM geo.region n ORDER BY n.code")).all()
    counts = _counts(db)
    nodes = {r.code: dict(_node_json(r, counts), children=[]) for r in rows}
    roots = []
    for r in rows:
        parent = nodes.get(r.parent_code) if r.parent_code else None
        (parent["children"] if parent else roots).append(nodes[r.code])
    return jsonify({"tree": roots, "count": len(rows), "levels": LEVELS, "tolerance_m2": TOLERANCE_M2})


def _get_node(db, code: str):
    if not _CODE.match(code):
        raise GeoError("region_unknown", f"行政区划或单元网格 {code} 不存在", status=404)
    row = db.execute(text(f"{_SELECT}, ST_AsGeoJSON(n.geom, 15, 0) AS geojson FROM {_NODES} n WHERE n.code = :c"),
                     {"c": code}).first()
    if row is None:
        raise GeoError("region_unknown", f"行政区划或单元网格 {code} 不存在", status=404)
    return row


@api.get("/regions/<code>")
@require_permission("admin:region:view")
def region_detail(code: str):
    db = get_db()
    row = _get_node(db, code)
    out = _node_json(row, _counts(db) if row.level != "grid" else None)
    if row.level == "grid":
        out["counts"] = {"street": 0, "community": 0, "grid": 0}
    out["geometry"] = json.loads(row.geojson)
    out["updated_at"] = row.updated_at.isoformat() if row.updated_at else None
    parent = db.execute(text(f"SELECT code, name, level FROM {_NODES} n WHERE n.code = :c"),
                        {"c": row.parent_code}).first() if row.parent_code else None
    out["parent_name"] = parent.name if parent else None
    out["parent_level"] = parent.level if parent else None
    return jsonify(out)


def _children_rows(db, code: str, geometry: bool):
    extra = ", ST_AsGeoJSON(n.geom, 15, 0) AS geojson" if geometry else ""
    return db.execute(text(f"{_SELECT}{extra} FROM {_NODES} n WHERE n.parent_code = :c ORDER BY n.code"),
                      {"c": code}).all()


@api.get("/regions/<code>/children")
@require_permission("admin:region:view")
def region_children(code: str):
    """Children without geometry (the tree's lazy level: unit grids of a community)."""
    db = get_db()
    node = _get_node(db, code)
    rows = _children_rows(db, code, geometry=False)
    counts = _counts(db) if node.level in ("county", "street") else None
    return jsonify({"parent_code": code, "count": len(rows),
                    "items": [_node_json(r, counts) for r in rows]})


@api.get("/regions/<code>/features")
@require_permission("admin:region:view")
def region_features(code: str):
    """Children of a region as a GeoJSON FeatureCollection (EPSG:4490 lon/lat) for the map."""
    db = get_db()
    _get_node(db, code)
    rows = _children_rows(db, code, geometry=True)
    feats = [{"type": "Feature", "id": r.code, "geometry": json.loads(r.geojson),
              "properties": {k: v for k, v in _node_json(r).items() if k != "bbox"}} for r in rows]
    return jsonify({"type": "FeatureCollection", "features": feats, "numberReturned": len(feats)})


# ---------------------------------------------------------------- request bodies

def _json_body() -> dict:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise GeoError("body_invalid", "请求体应为 JSON 对象")
    return body


def _version(value, where: str = "") -> int:
    if value is None:
        raise GeoError("version_missing", f"{where}缺少 version（数据版本号），请刷新后重试")
    if not isinstance(value, int) or isinstance(value, bool):
        raise GeoError("version_invalid", f"{where}version 应为整数")
    return value


def _item(raw, where: str = "") -> dict:
    if not isinstance(raw, dict):
        raise GeoError("body_invalid", f"{where}应为 JSON 对象")
    unknown = set(raw) - {"code", "geometry", "version"}
    if unknown:
        raise GeoError("field_unknown", f"{where}未知字段: {', '.join(sorted(unknown))}")
    code = raw.get("code")
    if not isinstance(code, str) or not _CODE.match(code):
        raise GeoError("region_code_invalid", f"{where}区划代码应为6至15位数字")
    if raw.get("geometry") is None:
        raise GeoError("geometry_missing", f"{where}缺少 geometry（GeoJSON 面）")
    return {"code": code, "geometry": raw["geometry"], "version": _version(raw.get("version"), where)}


def _lock(db, codes: list[str]) -> dict:
    """Lock the edited rows (regions and grids) and return them by code."""
    rows = {}
    for table, level_sql, parent in (("geo.region", "level", "parent_code"),
                                     ("geo.unit_grid", "'grid'", "community_code")):
        for r in db.execute(text(f"SELECT code, name, {level_sql} AS level, {parent} AS parent_code, version "
                                 f"FROM {table} WHERE code = ANY(:codes) ORDER BY code FOR UPDATE"),
                            {"codes": codes}):
            rows[r.code] = r
    for c in codes:
        if c not in rows:
            raise GeoError("region_unknown", f"行政区划或单元网格 {c} 不存在", status=404, region_code=c)
    return rows


def _check_version(row, version: int) -> None:
    if row.version != version:
        raise GeoError("version_conflict", f"“{row.name}”已被他人修改（当前版本 {row.version}），请刷新后重试",
                       status=409, region_code=row.code, current_version=row.version)


# ---------------------------------------------------------------- boundary validation

def _gaps(db, parents: list[str]) -> dict[str, tuple[float, bytes, str, str]]:
    """code → (uncovered area m², uncovered part WKB, name, level): the part of each parent its children leave."""
    rows = db.execute(text(f"""
        WITH p AS (SELECT code, name, level, geom FROM {_NODES} n WHERE n.code = ANY(:codes)),
             g AS (SELECT p.code, p.name, p.level,
                          CASE WHEN u.geom IS NULL THEN p.geom ELSE ST_Difference(p.geom, u.geom) END AS gap
                     FROM p LEFT JOIN LATERAL (SELECT ST_Union(c.geom) AS geom FROM {_NODES} c
                                                WHERE c.parent_code = p.code) u ON true)
        SELECT code, name, level, {_area('gap')} AS area, ST_AsBinary(gap) AS wkb FROM g"""),
        {"codes": parents}).all()
    return {r.code: (r.area, bytes(r.wkb), r.name, r.level) for r in rows}


def _problem(code: str, message: str, region, area: float | None, geojson: str | None, **extra) -> dict:
    out = {"code": code, "message": message, "region_code": region.code, "region_name": region.name}
    if area is not None:
        out["area_m2"] = round(area, 1)
    if geojson:
        out["geometry"] = json.loads(geojson)
    out.update(extra)
    return out


def _check_topology(db, edited: dict, gaps_before: dict) -> list[dict]:
    """Every rule on the state after the writes (still uncommitted); [] when all pass."""
    problems: list[dict] = []
    tol = TOLERANCE_M2
    codes = list(edited)
    # Outside its parent.
    for r in db.execute(text(f"""
            SELECT e.code, p.name AS parent_name, {_area('d.g')} AS area, ST_AsGeoJSON(d.g, 9, 0) AS gj
              FROM {_NODES} e JOIN {_NODES} p ON p.code = e.parent_code
              CROSS JOIN LATERAL (SELECT ST_Difference(e.geom, p.geom) AS g) d
             WHERE e.code = ANY(:codes) AND {_area('d.g')} > :tol ORDER BY e.code"""),
            {"codes": codes, "tol": tol}):
        e = edited[r.code]
        problems.append(_problem("outside_parent", f"“{e.name}”超出上级“{r.parent_name}”的范围 {r.area:,.1f} 平方米",
                                 e, r.area, r.gj, parent_name=r.parent_name))
    # Overlapping a sibling.
    for r in db.execute(text(f"""
            SELECT e.code, s.code AS sib_code, s.name AS sib_name, {_area('i.g')} AS area,
                   ST_AsGeoJSON(i.g, 9, 0) AS gj
              FROM {_NODES} e JOIN {_NODES} s ON s.parent_code = e.parent_code AND s.code <> e.code
                                             AND ST_Intersects(s.geom, e.geom)
              CROSS JOIN LATERAL (SELECT ST_CollectionExtract(ST_Intersection(e.geom, s.geom), 3) AS g) i
             WHERE e.code = ANY(:codes) AND {_area('i.g')} > :tol
               AND NOT (s.code = ANY(:codes) AND s.code < e.code)   -- each edited pair once
             ORDER BY e.code, s.code"""), {"codes": codes, "tol": tol}):
        e = edited[r.code]
        problems.append(_problem("overlaps_sibling", f"“{e.name}”与相邻的“{r.sib_name}”（{r.sib_code}）"
                                 f"重叠 {r.area:,.1f} 平方米", e, r.area, r.gj,
                                 sibling_code=r.sib_code, sibling_name=r.sib_name))
    # Leaving one of its own children partly outside.
    for r in db.execute(text(f"""
            SELECT e.code, c.code AS child_code, c.name AS child_name, {_area('d.g')} AS area,
                   ST_AsGeoJSON(d.g, 9, 0) AS gj
              FROM {_NODES} e JOIN {_NODES} c ON c.parent_code = e.code
              CROSS JOIN LATERAL (SELECT ST_Difference(c.geom, e.geom) AS g) d
             WHERE e.code = ANY(:codes) AND NOT ST_CoveredBy(c.geom, e.geom) AND {_area('d.g')} > :tol
             ORDER BY e.code, c.code"""), {"codes": codes, "tol": tol}):
        e = edited[r.code]
        problems.append(_problem("child_outside", f"下级“{r.child_name}”（{r.child_code}）有 {r.area:,.1f} 平方米"
                                 f"落在“{e.name}”的新边界之外", e, r.area, r.gj,
                                 child_code=r.child_code, child_name=r.child_name))
    # Opening a gap: the uncovered part of each affected parent must not grow.
    after = _gaps(db, list(gaps_before))
    for code, (area_before, wkb_before, name, level) in gaps_before.items():
        area_after, wkb_after, *_ = after[code]
        if area_after - area_before <= tol:
            continue
        gj = db.execute(text("SELECT ST_AsGeoJSON(ST_CollectionExtract(ST_Difference("
                             "ST_GeomFromWKB(:a, 4490), ST_GeomFromWKB(:b, 4490)), 3), 9, 0)"),
                        {"a": wkb_after, "b": wkb_before}).scalar()
        grown = area_after - area_before
        what = "单元网格" if level == "community" else "下级区划"
        region = SimpleNamespace(code=code, name=name)
        problems.append(_problem("gap_opened", f"“{name}”内出现未被{what}覆盖的空隙 {grown:,.1f} 平方米"
                                 f"（修改前 {area_before:,.1f}，修改后 {area_after:,.1f}）", region, grown, gj,
                                 gap_before_m2=round(area_before, 1), gap_after_m2=round(area_after, 1)))
    return problems


def _parse_geometry(engine, value, row) -> MultiPolygon:
    try:
        g = validate_geometry(value, crs=CGCS2000, county=county_outline(engine),
                              allowed_types=["Polygon", "MultiPolygon"])
    except GeoError as e:
        raise GeoError(e.code, f"“{row.name}”：{e.message}", status=e.status,
                       **dict(e.details, region_code=row.code)) from None
    return g if isinstance(g, MultiPolygon) else MultiPolygon([g])


def _snapshot(db, row) -> dict:
    r = db.execute(text(f"SELECT version, {_area('geom')} AS area, ST_AsGeoJSON(geom, 15, 0) AS gj "
                        f"FROM {_table(row.level)} WHERE code = :c"), {"c": row.code}).first()
    return {"version": r.version, "area_m2": round(r.area, 1), "geometry": json.loads(r.gj)}


def save_boundaries(db, engine, items: list[dict]) -> list[str]:
    """Validate and write new boundaries for regions/grids together; all or nothing."""
    codes = [i["code"] for i in items]
    dupes = sorted({c for c in codes if codes.count(c) > 1})
    if dupes:
        raise GeoError("region_duplicate", f"同一区划在请求中出现多次：{'、'.join(dupes)}")
    # Lock the parents first: concurrent edits of siblings then run one after the
    # other, so two saves cannot each pass alone and overlap together.
    parents = db.scalars(text(f"SELECT DISTINCT parent_code FROM {_NODES} n WHERE n.code = ANY(:c)"),
                         {"c": codes}).all()
    db.execute(text("SELECT code FROM geo.region WHERE code = ANY(:p) ORDER BY code FOR UPDATE"),
               {"p": [p for p in parents if p]})
    rows = _lock(db, codes)
    for i in items:
        row = rows[i["code"]]
        if row.level == "county":
            raise GeoError("county_not_editable", "县域边界不能在此修改（以民政部门公布的界线为准）", region_code=row.code)
        _check_version(row, i["version"])
    geoms = {i["code"]: _parse_geometry(engine, i["geometry"], rows[i["code"]]) for i in items}

    # Parents whose coverage may change: each edited node's parent, and each edited node itself.
    parents = sorted({rows[c].parent_code for c in codes} | {c for c in codes if rows[c].level != "grid"})
    gaps_before = _gaps(db, parents)
    before = {c: _snapshot(db, rows[c]) for c in codes}
    for c in codes:
        set_area = f", area_m2 = {_area('ST_GeomFromWKB(:wkb, 4490)')}" if rows[c].level == "grid" else ""
        db.execute(text(f"UPDATE {_table(rows[c].level)} SET geom = ST_Multi(ST_GeomFromWKB(:wkb, 4490)){set_area}, "
                        "version = version + 1, updated_at = now() WHERE code = :c"),
                   {"wkb": shapely.to_wkb(geoms[c]), "c": c})
    problems = _check_topology(db, {c: rows[c] for c in codes}, gaps_before)
    if problems:
        db.rollback()
        first = problems[0]
        raise GeoError(first["code"], first["message"] + (f"（另有 {len(problems) - 1} 处问题）" if len(problems) > 1
                                                          else ""),
                       problems=problems[:MAX_PROBLEMS], tolerance_m2=TOLERANCE_M2)
    for c in codes:
        after = _snapshot(db, rows[c])
        oplog.record(db, "update_boundary", _table(rows[c].level), c, before=before[c], after=after,
                     detail=f"修改边界：{rows[c].name}（{LEVELS[rows[c].level]}）"
                            + (f"，与 {'、'.join(x for x in codes if x != c)} 一并修改" if len(codes) > 1 else ""))
    db.commit()
    return codes


def _engine():
    return current_app.extensions["cityops.engine"]


@api.put("/regions/<code>")
@require_permission("admin:region:edit")
def region_put_boundary(code: str):
    body = _json_body()
    item = _item(dict(body, code=code) if "code" not in body else body)
    if item["code"] != code:
        raise GeoError("region_code_mismatch", "请求体中的 code 与地址中的区划代码不一致")
    db = get_db()
    save_boundaries(db, _engine(), [item])
    return region_detail(code)


@api.put("/regions")
@require_permission("admin:region:edit")
def regions_put_boundaries():
    """Several boundaries at once (e.g. a border moved between two neighbours), validated together."""
    body = _json_body()
    if set(body) - {"regions"}:
        raise GeoError("field_unknown", f"未知字段: {', '.join(sorted(set(body) - {'regions'}))}")
    regions = body.get("regions")
    if not isinstance(regions, list) or not regions:
        raise GeoError("body_invalid", "regions 应为非空数组：[{code, geometry, version}, …]")
    if len(regions) > MAX_BATCH:
        raise GeoError("batch_too_large", f"一次最多修改 {MAX_BATCH} 个区划")
    items = [_item(r, f"第 {k} 项：") for k, r in enumerate(regions, start=1)]
    db = get_db()
    codes = save_boundaries(db, _engine(), items)
    rows = db.execute(text(f"{_SELECT} FROM {_NODES} n WHERE n.code = ANY(:c) ORDER BY n.code"), {"c": codes}).all()
    return jsonify({"items": [_node_json(r) for r in rows], "count": len(rows)})


@api.patch("/regions/<code>")
@require_permission("admin:region:edit")
def region_rename(code: str):
    body = _json_body()
    unknown = set(body) - {"name", "version"}
    if unknown:
        raise GeoError("field_unknown", f"只能修改名称；未知字段: {', '.join(sorted(unknown))}")
    name = body.get("name")
    if not isinstance(name, str) or not name.strip() or len(name.strip()) > 80:
        raise GeoError("name_invalid", "名称不能为空且不超过80字")
    name = name.strip()
    version = _version(body.get("version"))
    db = get_db()
    if not _CODE.match(code):
        raise GeoError("region_unknown", f"行政区划或单元网格 {code} 不存在", status=404)
    row = _lock(db, [code])[code]
    _check_version(row, version)
    if name != row.name:
        clash = db.execute(text(f"SELECT code FROM {_NODES} n WHERE n.parent_code IS NOT DISTINCT FROM :p "
                                "AND n.name = :n AND n.code <> :c"),
                           {"p": row.parent_code, "n": name, "c": code}).first()
        if clash:
            raise GeoError("name_taken", f"同一上级下已有名为“{name}”的区划（{clash.code}）", status=409)
        db.execute(text(f"UPDATE {_table(row.level)} SET name = :n, version = version + 1, updated_at = now() "
                        "WHERE code = :c"), {"n": name, "c": code})
        oplog.record(db, "rename", _table(row.level), code, before={"name": row.name, "version": row.version},
                     after={"name": name, "version": row.version + 1}, detail=f"区划更名：{row.name} → {name}")
        db.commit()
    return region_detail(code)


# ---------------------------------------------------------------- page

@pages.get("/regions")
@require_permission("admin:region:view")
def regions_page():
    from webapp.auth.guard import principal
    from webapp.auth.permissions import has_permission
    return render_template("admin/regions.html", levels=LEVELS, tolerance_m2=TOLERANCE_M2,
                           can_edit=has_permission(principal(), "admin:region:edit"))
