"""GIS import of a utility's pipes into geo.pipe / geo.pipe_node (R120–R123).

Steps (each a POST; the uploaded file is named by its content-addressed path):
  1. …/gis/upload    file → layers and fields, the saved (or guessed) field mapping
  2. …/gis/validate  upload + layer + mapping → validation report, nothing written
  3. …/gis/import    the same → upsert keyed by the utility's pipe code within the
                     network, in one transaction; report inserted/updated/unchanged/
                     rejected; the mapping is saved on the source for the next import.

Reading and geometry checks are the spatial upload's own (webapp/admin/spatial_io,
spatial_check → geo.geometry.validate_geometry); FileGDB (a zipped .gdb folder)
is read here with GDAL's OpenFileGDB driver through the same reader.
Nodes named by a pipe that do not exist yet are created at the pipe's end;
an existing node farther than NODE_TOLERANCE_M from the end is a dangling
reference and refuses the row.
"""
from __future__ import annotations

import datetime as dt
import math
import re
import zipfile
from pathlib import Path

import pyogrio
import shapely
from flask import current_app, jsonify, request
from sqlalchemy import text

from geo.errors import GeoError
from webapp import oplog, uploads
from webapp.admin import spatial_io
from webapp.admin.spatial_check import PROBLEM_NAMES, check, county_boundary
from webapp.auth.permissions import require_permission
from webapp.db import get_db
from webapp.lifeline import api
from webapp.lifeline.docking import _body, raw_conn, source_or_404

NODE_TOLERANCE_M = 5.0
TARGETS = {  # our pipe attribute → (label, required)
    "code": ("管段编号", True), "diameter_mm": ("管径", True), "material": ("材质", True),
    "pressure_class": ("压力级别", False), "depth_m": ("埋深", False), "install_year": ("建设年代", False),
    "from_node": ("起点管点", True), "to_node": ("终点管点", True)}
GUESS = {"code": ["管线编号", "管段编号", "编号", "code", "gxbh", "pipe_id", "id"],
         "diameter_mm": ["管径", "口径", "diameter", "dn", "gj"],
         "material": ["材质", "管材", "material", "cz"],
         "pressure_class": ["压力级别", "压力等级", "设计压力", "pressure", "yl"],
         "depth_m": ["埋深", "depth", "ms", "平均埋深"],
         "install_year": ["建设年代", "敷设年代", "埋设年代", "year", "msnd", "建设年份"],
         "from_node": ["起点编号", "起点", "from_node", "qdbh", "start"],
         "to_node": ["终点编号", "终点", "to_node", "zdbh", "end"]}
LENGTH_UNITS = {"mm": 1.0, "cm": 10.0, "m": 1000.0}   # factor to mm
# utilities' material names → ours (the demo networks' vocabulary); a mapping may add its own
MATERIALS = {"球墨铸铁": "球墨铸铁", "球铁": "球墨铸铁", "球墨铸铁管": "球墨铸铁", "dip": "球墨铸铁", "di": "球墨铸铁",
             "灰口铸铁": "灰口铸铁", "灰铸铁": "灰口铸铁", "铸铁": "灰口铸铁", "ci": "灰口铸铁",
             "pe": "PE", "聚乙烯": "PE", "pe管": "PE", "hdpe": "PE", "钢": "钢", "钢管": "钢", "st": "钢",
             "螺旋钢管": "钢", "无缝钢管": "钢", "预制直埋保温管": "钢(预制直埋保温管)",
             "钢(预制直埋保温管)": "钢(预制直埋保温管)", "钢筋混凝土": "钢筋混凝土", "砼": "钢筋混凝土",
             "rc": "钢筋混凝土", "混凝土": "钢筋混凝土", "pvc": "PVC", "upvc": "PVC", "hdpe双壁波纹管": "HDPE双壁波纹管",
             "双壁波纹管": "HDPE双壁波纹管", "砖砌": "砖石"}
PIPE_NETWORK = {"water": ["water"], "gas": ["gas"], "heating": ["heating"], "drainage": ["sewage", "rain"]}
REASONS = {"code_missing": "缺少管段编号", "code_duplicate": "文件内编号重复", "code_conflict": "编号已被其他管网使用",
           "diameter_invalid": "管径无效", "material_unknown": "材质无法识别", "depth_invalid": "埋深无效",
           "year_invalid": "建设年代无效", "node_missing": "缺少起止管点", "node_dangling": "起止管点悬挂",
           "geometry_multipart": "多段线不能作为一个管段", **PROBLEM_NAMES}
_UPLOAD = re.compile(r"^spatial/[0-9a-f]{2}/[0-9a-f]{64}\.(zip|gpkg|geojson|json)$")
MAPPING_KEYS = {"fields", "units", "materials", "target_network", "crs"}


# -- reading -------------------------------------------------------------------------------
def _gdb_in_zip(path: Path) -> str | None:
    try:
        with zipfile.ZipFile(path) as zf:
            names = zf.namelist()
    except zipfile.BadZipFile:
        return None
    dirs = {n.split(".gdb/")[0] + ".gdb" for n in names if ".gdb/" in n}
    return sorted(dirs)[0] if dirs else None


def read(path: Path, ext: str, layer: str | None) -> spatial_io.Source:
    """Shapefile zip / GeoPackage / GeoJSON through spatial_io; FileGDB zips here."""
    gdb = _gdb_in_zip(path) if ext == "zip" else None
    if gdb is None:
        return spatial_io.read_source(path, ext, layer)
    target = f"/vsizip/{path}/{gdb}"
    try:
        listed = pyogrio.list_layers(target)
    except Exception as exc:  # noqa: BLE001  GDAL's error types vary
        raise spatial_io._unreadable(exc, "FileGDB 数据库") from None
    layers = [{"name": str(n), "geometry_type": str(t)} for n, t in listed if t is not None]
    names = [x["name"] for x in layers]
    if not names:
        raise GeoError("spatial_gpkg_no_layers", "FileGDB 中没有空间图层", status=422)
    if layer is not None and layer not in names:
        raise GeoError("spatial_layer_unknown", f"FileGDB 中没有图层“{layer}”，可选：{'、'.join(names)}",
                       status=422, layers=names)
    chosen = layer or names[0]
    frame = spatial_io._read_ogr(target, f"图层“{chosen}”", layer=chosen)
    if len(frame) == 0:
        raise GeoError("spatial_empty", "图层中没有任何要素", status=422)
    src = spatial_io.Source("filegdb", frame, None, layer=chosen, layers=layers)
    src.crs = spatial_io.detected_crs(frame)
    return src


def _stored(body: dict) -> tuple[Path, str]:
    rel = body.get("upload")
    if not isinstance(rel, str) or not _UPLOAD.match(rel):
        raise GeoError("spatial_upload_unknown", "上传文件标识无效，请重新上传文件")
    return uploads.resolve(rel), rel.rsplit(".", 1)[1]


def _attr_names(src) -> list[str]:
    return [str(c) for c in src.frame.columns if c != src.frame.geometry.name]


def guess_mapping(fields: list[str], saved: dict) -> dict:
    """The saved mapping (or template) when its required fields are in this file — optional
    fields the file lacks are dropped — else a guess by common names."""
    kept = {t: f for t, f in (saved.get("fields") or {}).items() if f in fields}
    if kept and all(kept.get(t) for t, (_, req) in TARGETS.items() if req):
        return {**saved, "fields": kept, "saved": True}
    lower = {f.strip().lower(): f for f in fields}
    out = {t: next((lower[n] for n in names if n in lower), None) for t, names in GUESS.items()}
    return {"fields": {k: v for k, v in out.items() if v}, "units": {"diameter_mm": "mm", "depth_m": "m"},
            "materials": saved.get("materials", {}), "saved": False}


# -- mapping and row checks -------------------------------------------------------------------
def _mapping(m, fields: list[str], network: str) -> dict:
    if not isinstance(m, dict) or set(m) - MAPPING_KEYS - {"saved"}:
        raise GeoError("docking_mapping_invalid", f"字段映射应为对象，键可为：{'、'.join(sorted(MAPPING_KEYS))}")
    f = m.get("fields") or {}
    if not isinstance(f, dict) or set(f) - set(TARGETS):
        raise GeoError("docking_mapping_invalid", f"字段映射的目标只能是：{'、'.join(TARGETS)}")
    bad = [v for v in f.values() if v not in fields]
    if bad:
        raise GeoError("docking_mapping_field_unknown", f"文件中没有字段：{'、'.join(map(str, bad))}", status=422,
                       fields=fields)
    missing = [TARGETS[t][0] for t, (_, req) in TARGETS.items() if req and not f.get(t)]
    if missing:
        raise GeoError("docking_mapping_required", f"必填属性未映射：{'、'.join(missing)}", status=422, missing=missing)
    units = m.get("units") or {}
    for k in ("diameter_mm", "depth_m"):
        if units.get(k, "mm" if k == "diameter_mm" else "m") not in LENGTH_UNITS:
            raise GeoError("docking_mapping_unit_invalid", "长度单位只能为 mm、cm 或 m", field=k)
    mats = m.get("materials") or {}
    if not isinstance(mats, dict) or not all(isinstance(v, str) for v in mats.values()):
        raise GeoError("docking_mapping_invalid", "材质对照应为 {源材质: 本系统材质}")
    nets = PIPE_NETWORK.get(network)
    if not nets:
        raise GeoError("docking_gis_unsupported", "桥梁系统只对接物联感知数据，没有管网 GIS 导入")
    target = m.get("target_network") or nets[0]
    if target not in nets:
        raise GeoError("docking_mapping_invalid", f"目标管网只能为：{'、'.join(nets)}", field="target_network")
    return {"fields": f, "units": {"diameter_mm": units.get("diameter_mm", "mm"), "depth_m": units.get("depth_m", "m")},
            "materials": mats, "target_network": target, "crs": m.get("crs")}


def _num(v) -> float | None:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return None
    if isinstance(v, (int, float)):
        return float(v)
    m = re.search(r"-?\d+(\.\d+)?", str(v))     # "DN300", "1.2米"
    return float(m.group()) if m else None


def _text(v) -> str | None:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return None
    s = str(v).strip()
    if isinstance(v, float) and v.is_integer():
        s = str(int(v))
    return s or None


def _meters(a, b) -> float:
    """Ground distance of two lon/lat points (small distances: equirectangular is exact enough)."""
    k = math.cos(math.radians((a[1] + b[1]) / 2))
    return math.hypot((a[0] - b[0]) * 111320 * k, (a[1] - b[1]) * 110574)


def prepare(db, source, path: Path, ext: str, layer: str | None, mapping) -> dict:
    """Read, map, convert and validate; nothing is written. Structural problems raise."""
    src = read(path, ext, layer)
    fields = _attr_names(src)
    m = _mapping(mapping, fields, source.network)
    crs = src.crs or m["crs"]
    if not crs:
        raise GeoError("crs_missing", "文件没有坐标系信息，请在映射中选择数据的坐标系", status=422)
    county = county_boundary(db, current_app.extensions["cityops.settings"].county_code)
    res = check(list(src.frame.geometry.values), crs, county)
    if res.geometry_type and "LineString" not in res.geometry_type:
        raise GeoError("docking_gis_not_lines", "管网图层应为线要素（管段），该图层不是线图层", status=422)
    msgs = {r["row"]: (r["code"], r["message"]) for r in res.rows}
    known = set(db.scalars(text("SELECT DISTINCT material FROM geo.pipe")).all()) | set(MATERIALS.values())
    mats = {**{k.lower(): v for k, v in MATERIALS.items()}, **{k.strip().lower(): v for k, v in m["materials"].items()}}
    f, units, net = m["fields"], m["units"], m["target_network"]
    good, rejected = [], []
    records = src.frame.drop(columns=[src.frame.geometry.name]).to_dict(orient="records")
    year_now = dt.date.today().year
    for i, (rec, geom) in enumerate(zip(records, res.geoms)):
        n = i + 1
        values = {k: _text(v) for k, v in rec.items()}

        def bad(code: str, message: str) -> None:
            rejected.append({"row": n, "code": code, "name": REASONS.get(code, code), "message": message,
                             "values": values})
        if geom is None:
            code, msg = msgs.get(n, ("geometry_invalid", "几何未通过检查"))
            bad(code, msg)
            continue
        if geom.geom_type == "MultiLineString":
            if len(geom.geoms) != 1:
                bad("geometry_multipart", f"多段线有 {len(geom.geoms)} 段，请拆分为单独的管段")
                continue
            geom = geom.geoms[0]
        code = _text(rec.get(f["code"]))
        if not code or len(code) > 20:
            bad("code_missing", "管段编号为空或超过 20 个字符")
            continue
        d = _num(rec.get(f["diameter_mm"]))
        d = None if d is None else round(d * LENGTH_UNITS[units["diameter_mm"]])
        if d is None or not 15 <= d <= 4000:
            bad("diameter_invalid", f"管径“{values.get(f['diameter_mm'])}”换算后应在 15–4000 mm 之间")
            continue
        raw_mat = _text(rec.get(f["material"])) or ""
        mat = mats.get(raw_mat.lower()) or (raw_mat if raw_mat in known else None)
        if not mat:
            bad("material_unknown", f"材质“{raw_mat}”不在对照表中，请在映射的材质对照中补充")
            continue
        depth = _num(rec.get(f["depth_m"])) if f.get("depth_m") else None
        if depth is not None:
            depth = round(depth * LENGTH_UNITS[units["depth_m"]] / 1000, 3)
            if not 0 <= depth <= 30:
                bad("depth_invalid", f"埋深换算后为 {depth} m，应在 0–30 m 之间")
                continue
        year = _num(rec.get(f["install_year"])) if f.get("install_year") else None
        if year is not None:
            year = int(year)
            if not 1900 <= year <= year_now:
                bad("year_invalid", f"建设年代 {year} 应在 1900–{year_now} 之间")
                continue
        a, b = _text(rec.get(f["from_node"])), _text(rec.get(f["to_node"]))
        if not a or not b or a == b or len(a) > 20 or len(b) > 20:
            bad("node_missing", "起止管点编号为空、相同或超过 20 个字符")
            continue
        pc = _text(rec.get(f["pressure_class"])) if f.get("pressure_class") else None
        good.append({"row": n, "code": code, "diameter_mm": d, "material": mat, "pressure_class": (pc or None) and pc[:20],
                     "depth_m": depth, "install_year": year, "from_node": a, "to_node": b, "geom": geom,
                     "values": values})
    # duplicates within the file
    seen: dict[str, int] = {}
    for r in good:
        seen[r["code"]] = seen.get(r["code"], 0) + 1
    dup = {c for c, k in seen.items() if k > 1}
    # codes used by another network; nodes: existing ones must sit at the pipe's end
    codes = [r["code"] for r in good]
    other = dict(db.execute(text("SELECT code, network FROM geo.pipe WHERE code = ANY(:c) AND network <> :n"),
                            {"c": codes, "n": net}).all())
    node_codes = sorted({r[k] for r in good for k in ("from_node", "to_node")})
    nodes = {c: (nw, (x, y)) for c, nw, x, y in db.execute(text(
        "SELECT code, network, ST_X(geom), ST_Y(geom) FROM geo.pipe_node WHERE code = ANY(:c)"), {"c": node_codes})}
    new_nodes: dict[str, tuple[float, float]] = {}
    ok = []
    for r in good:
        if r["code"] in dup:
            rejected.append({"row": r["row"], "code": "code_duplicate", "name": REASONS["code_duplicate"],
                             "message": f"编号“{r['code']}”在文件中出现 {seen[r['code']]} 次", "values": r["values"]})
            continue
        if r["code"] in other:
            rejected.append({"row": r["row"], "code": "code_conflict", "name": REASONS["code_conflict"],
                             "message": f"编号“{r['code']}”已是{other[r['code']]}管网的管段", "values": r["values"]})
            continue
        ends = {"from_node": r["geom"].coords[0][:2], "to_node": r["geom"].coords[-1][:2]}
        problem = None
        for k, end in ends.items():
            c = r[k]
            if c in nodes:
                nw, xy = nodes[c]
                if nw != net:
                    problem = f"管点“{c}”属于{nw}管网"
                elif _meters(xy, end) > NODE_TOLERANCE_M:
                    problem = f"管点“{c}”距管段端点 {_meters(xy, end):.0f} m，管段没有接到该管点"
            elif c in new_nodes and _meters(new_nodes[c], end) > NODE_TOLERANCE_M:
                problem = f"新管点“{c}”在不同管段中的位置相差 {_meters(new_nodes[c], end):.0f} m"
            if problem:
                break
            if c not in nodes:
                new_nodes.setdefault(c, end)
        if problem:
            rejected.append({"row": r["row"], "code": "node_dangling", "name": REASONS["node_dangling"],
                             "message": problem, "values": r["values"]})
            continue
        ok.append(r)
    used = {r[k] for r in ok for k in ("from_node", "to_node")}
    rejected.sort(key=lambda x: x["row"])
    counts: dict[str, int] = {}
    for x in rejected:
        counts[x["code"]] = counts.get(x["code"], 0) + 1
    return {"source": src, "mapping": m, "crs": crs, "rows": ok, "rejected": rejected,
            "new_nodes": {c: xy for c, xy in new_nodes.items() if c in used},
            "report": {"feature_count": len(records), "valid": len(ok), "rejected": len(rejected),
                       "new_nodes": len([c for c in new_nodes if c in used]), "target_network": net,
                       "problems": [{"code": c, "name": REASONS.get(c, c), "count": k} for c, k in counts.items()],
                       "problem_rows": [{k: v for k, v in x.items() if k != "values"} for x in rejected[:50]],
                       "layer": src.layer, "format": src.fmt}}


_TEMP = """CREATE TEMP TABLE dock_pipe_in (code varchar(20), diameter_mm integer, material varchar(20),
             pressure_class varchar(20), depth_m double precision, install_year smallint, from_node varchar(20),
             to_node varchar(20), geom geometry(LineString, 4490)) ON COMMIT DROP"""
_UPDATE = """UPDATE geo.pipe p SET diameter_mm = i.diameter_mm, material = i.material,
                    pressure_class = i.pressure_class, depth_m = i.depth_m, install_year = i.install_year,
                    from_node = i.from_node, to_node = i.to_node, geom = i.geom, updated_at = now(),
                    version = p.version + 1
               FROM dock_pipe_in i
              WHERE p.code = i.code AND p.network = :net
                AND ((p.diameter_mm, p.material, p.pressure_class, p.depth_m, p.install_year, p.from_node, p.to_node)
                     IS DISTINCT FROM (i.diameter_mm, i.material, i.pressure_class, i.depth_m, i.install_year,
                                       i.from_node, i.to_node) OR NOT ST_OrderingEquals(p.geom, i.geom))
          RETURNING p.code"""
_INSERT = """INSERT INTO geo.pipe (code, network, diameter_mm, material, pressure_class, depth_m, install_year,
                    from_node, to_node, owner_dept, geom)
             SELECT i.code, :net, i.diameter_mm, i.material, i.pressure_class, i.depth_m, i.install_year,
                    i.from_node, i.to_node, :dept, i.geom
               FROM dock_pipe_in i WHERE NOT EXISTS (SELECT 1 FROM geo.pipe p WHERE p.code = i.code)
             RETURNING code"""


def upsert(db, source, prep: dict) -> dict:
    """Write the prepared rows in the session's transaction (the caller commits)."""
    net = prep["mapping"]["target_network"]
    for c, (x, y) in prep["new_nodes"].items():
        db.execute(text("INSERT INTO geo.pipe_node (code, network, kind, geom) VALUES "
                        "(:c, :n, '管点', ST_SetSRID(ST_MakePoint(:x, :y), 4490)) ON CONFLICT (code) DO NOTHING"),
                   {"c": c, "n": net, "x": x, "y": y})
    db.execute(text(_TEMP))
    raw = raw_conn(db)
    with raw.cursor() as cur, cur.copy("COPY dock_pipe_in FROM STDIN") as cp:
        for r in prep["rows"]:
            cp.write_row((r["code"], r["diameter_mm"], r["material"], r["pressure_class"], r["depth_m"],
                          r["install_year"], r["from_node"], r["to_node"], f"SRID=4490;{shapely.to_wkt(shapely.force_2d(r['geom']))}"))
    updated = db.scalars(text(_UPDATE), {"net": net}).all()
    inserted = db.scalars(text(_INSERT), {"net": net, "dept": source.dept_code}).all()
    return {"inserted": len(inserted), "updated": len(updated),
            "unchanged": len(prep["rows"]) - len(inserted) - len(updated), "rejected": len(prep["rejected"])}


# -- routes --------------------------------------------------------------------------------
@api.post("/docking/sources/<int:source_id>/gis/upload")
@require_permission("lifeline:config")
def docking_gis_upload(source_id: int):
    db = get_db()
    s = source_or_404(db, source_id)
    if s.network == "bridge":
        raise GeoError("docking_gis_unsupported", "桥梁系统只对接物联感知数据，没有管网 GIS 导入")
    stored = uploads.accept(request.files.get("file"), "spatial", allowed=["zip", "gpkg", "geojson", "json"])
    src = read(stored.path, stored.ext, request.form.get("layer") or None)
    fields = _attr_names(src)
    sample = src.frame.drop(columns=[src.frame.geometry.name]).head(3)
    return jsonify({"upload": stored.relpath, "file_name": stored.original_name, "format": src.fmt,
                    "layer": src.layer, "layers": src.layers, "feature_count": len(src.frame), "crs": src.crs,
                    "fields": fields, "notes": src.notes,
                    "sample": [{str(k): _text(v) for k, v in row.items()} for row in sample.to_dict(orient="records")],
                    "targets": [{"key": k, "label": lbl, "required": req} for k, (lbl, req) in TARGETS.items()],
                    "target_networks": PIPE_NETWORK[s.network],
                    "mapping": guess_mapping(fields, s.gis_mapping or {})})


@api.post("/docking/sources/<int:source_id>/gis/validate")
@require_permission("lifeline:config")
def docking_gis_validate(source_id: int):
    db = get_db()
    s = source_or_404(db, source_id)
    body = _body({"upload", "layer", "mapping", "allow_partial"})
    path, ext = _stored(body)
    return jsonify(prepare(db, s, path, ext, body.get("layer"), body.get("mapping"))["report"])


@api.post("/docking/sources/<int:source_id>/gis/import")
@require_permission("lifeline:config")
def docking_gis_import(source_id: int):
    """Import; rows with problems refuse the whole import unless allow_partial is true."""
    from etl.docking.store import record_run
    from webapp.auth.guard import principal
    db = get_db()
    s = source_or_404(db, source_id)
    body = _body({"upload", "layer", "mapping", "allow_partial"})
    allow_partial = body.get("allow_partial", False)
    if not isinstance(allow_partial, bool):
        raise GeoError("allow_partial_invalid", "allow_partial 应为 true 或 false")
    path, ext = _stored(body)
    started = dt.datetime.now(dt.timezone.utc)
    prep = prepare(db, s, path, ext, body.get("layer"), body.get("mapping"))
    rep = prep["report"]
    if not prep["rows"]:
        raise GeoError("docking_gis_nothing_valid", "没有可导入的管段：全部要素未通过校验，未做任何导入",
                       status=422, **rep)
    if prep["rejected"] and not allow_partial:
        raise GeoError("docking_gis_invalid", f"{rep['rejected']} 个要素未通过校验，未做任何导入；"
                       "可修正数据后重试，或选择“跳过问题要素继续导入”", status=422, **rep)
    counts = upsert(db, s, prep)
    saved = {k: v for k, v in prep["mapping"].items() if v}
    s.gis_mapping = saved
    run_id = record_run(raw_conn(db), s.id, "gis_import", ok=True, rows_in=len(prep["rows"]),
                        rows_rejected=len(prep["rejected"]), inserted=counts["inserted"], updated=counts["updated"],
                        unchanged=counts["unchanged"], detail={"rejected": prep["rejected"], "layer": rep["layer"],
                                                               "file": body["upload"]},
                        username=principal().username, started=started)
    oplog.record(db, "import", "geo.pipe", None,
                 detail=f"数据对接 {s.name}：新增 {counts['inserted']}，更新 {counts['updated']}，"
                        f"未变 {counts['unchanged']}，拒绝 {counts['rejected']}（{prep['mapping']['target_network']}）")
    db.commit()
    return jsonify({**rep, **counts, "run_id": run_id})
