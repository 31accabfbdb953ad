"""Step 3: load checked features into a new table userdata.<id> and publish
it as an OGC collection by writing var/layers/<id>.yml.

The table, its rows (COPY), the repairs, the GiST index, the registry row
(admin.spatial_layer) and the operation-log entries go in ONE transaction;
the yml file is written only after the commit (other workers reload their
catalogue as soon as it appears, so the table must already be visible) and a
failure to write it undoes the commit by dropping what was created."""
from __future__ import annotations

import datetime as dt
import math
import os
import re
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import shapely
import yaml
from psycopg import sql
from sqlalchemy import text

from geo.errors import GeoError
from ogc.config import uploaded_layers_dir
from webapp import oplog
from webapp.admin.spatial_check import CheckResult
from webapp.admin.spatial_io import Source, describe_fields
from webapp.admin.spatial_models import DATA_SCHEMA, SpatialLayer

ID_RE = re.compile(r"^[a-z][a-z0-9_-]{1,38}[a-z0-9]$")
COLOR_RE = re.compile(r"^#[0-9a-fA-F]{6}$")
PG_TYPES = {"integer": "bigint", "number": "double precision", "boolean": "boolean", "datetime": "timestamptz",
            "string": "text"}
DIMENSION = {"Point": 1, "MultiPoint": 1, "LineString": 2, "MultiLineString": 2, "Polygon": 3, "MultiPolygon": 3}
UPLOADED_ORDER = 500   # after the built-in layers in the home map's switcher
UPLOADED_GROUP = "基础底图"


def table_for(layer_id: str) -> str:
    return layer_id.replace("-", "_")


def check_id(db, layer_id, known_ids: set[str]) -> str:
    if not isinstance(layer_id, str) or not ID_RE.match(layer_id):
        raise GeoError("spatial_id_invalid", "图层标识应为 3 至 40 位小写英文字母、数字、- 或 _，以字母开头，"
                       "如 parks-2025", status=400)
    if layer_id in known_ids or db.get(SpatialLayer, layer_id) is not None:
        raise GeoError("spatial_id_taken", f"图层标识“{layer_id}”已被现有图层（OGC 集合）使用，请换一个", status=409)
    exists = db.execute(text("SELECT to_regclass(:t) IS NOT NULL"),
                        {"t": f"{DATA_SCHEMA}.{table_for(layer_id)}"}).scalar()
    if exists:
        raise GeoError("spatial_id_taken", f"数据表 {DATA_SCHEMA}.{table_for(layer_id)} 已存在，请换一个图层标识",
                       status=409)
    return layer_id


def _plain(v, kind: str):
    """A cell as COPY wants it (None for missing)."""
    if v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NaT:
        return None
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float) and math.isnan(v):
        return None
    if kind == "datetime" and isinstance(v, (pd.Timestamp, dt.datetime)):
        ts = pd.Timestamp(v)
        return (ts.tz_localize("Asia/Shanghai") if ts.tzinfo is None else ts).to_pydatetime()
    if kind == "string" and not isinstance(v, str):
        return str(v)
    return v


def _style(geometry_type: str, color: str) -> dict:
    if "Point" in geometry_type:
        return {"color": color, "radius": 5, "fillColor": color, "fillOpacity": 0.8, "weight": 1}
    if "Line" in geometry_type:
        return {"color": color, "weight": 3}
    return {"color": color, "weight": 2, "fillColor": color, "fillOpacity": 0.25}


def layer_doc(row: SpatialLayer) -> dict:
    fields = row.fields
    title_field = next((f["name"] for f in fields if f["type"] == "string" and
                        re.search(r"name|名称|名字|mc", f["title"], re.I)), None)
    doc = {
        "id": row.id, "table": f"{DATA_SCHEMA}.{row.table_name}",
        "title": {"zh": row.title, "en": row.id},
        "description": {"zh": row.description or row.title, "en": f"Uploaded layer {row.id}"},
        "geometry": row.geometry_type, "id_field": "gid",
        "fields": [f["name"] for f in fields],
        "field_titles": {f["name"]: f["title"] for f in fields},
        "access": row.access, "keywords": ["空间基础数据", row.title],
        "maps": [UPLOADED_GROUP], "style": row.style, "legend": row.title, "order": UPLOADED_ORDER,
        "source": {"file": row.source_file, "format": row.format, "crs": row.crs, "uploaded_by": row.created_by},
    }
    if title_field:
        doc["title_field"] = title_field
    return doc


def _write_yml(directory: Path, layer_id: str, doc: dict) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    dest = directory / f"{layer_id}.yml"
    # Written beside and renamed: a worker reloading meanwhile never reads half a file.
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".", suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write("# 由“空间基础数据”页面上传发布（R8）。删除请在该页面操作。\n")
        yaml.safe_dump(doc, fh, allow_unicode=True, sort_keys=False)
    os.replace(tmp, dest)
    return dest


def publish(db, settings, *, layer_id: str, title: str, description: str | None, access: str, color: str,
            src: Source, result: CheckResult, crs: str, source_file: str, source_path: str,
            created_by: str | None) -> SpatialLayer:
    frame = src.frame
    fields = describe_fields(frame)
    attrs = [c for c in frame.columns if c != frame.geometry.name]
    table = table_for(layer_id)
    ident = sql.Identifier(DATA_SCHEMA, table)
    gtype = result.geometry_type
    conn = db.connection()
    pg = conn.connection.driver_connection  # psycopg: COPY and composed identifiers
    cols = [sql.SQL("{} {}").format(sql.Identifier(f["name"]), sql.SQL(PG_TYPES[f["type"]])) for f in fields]
    with pg.cursor() as cur:
        cur.execute(sql.SQL(
            "CREATE TABLE {t} (gid integer PRIMARY KEY, {cols}{sep}geom geometry(Geometry, 4490) NOT NULL, "
            "created_at timestamptz NOT NULL DEFAULT now(), updated_at timestamptz NOT NULL DEFAULT now(), "
            "version integer NOT NULL DEFAULT 1)").format(
            t=ident, cols=sql.SQL(", ").join(cols), sep=sql.SQL(", ") if cols else sql.SQL("")))
        names = [sql.Identifier("gid"), *[sql.Identifier(f["name"]) for f in fields], sql.Identifier("geom")]
        kinds = [f["type"] for f in fields]
        ewkb = shapely.to_wkb(shapely.set_srid(np.array(result.geoms, dtype=object), 4490), hex=True,
                              include_srid=True)
        values = frame[attrs].to_numpy(dtype=object) if attrs else np.empty((len(frame), 0), dtype=object)
        with cur.copy(sql.SQL("COPY {} ({}) FROM STDIN").format(ident, sql.SQL(", ").join(names))) as copy:
            for i in range(len(frame)):
                copy.write_row([i + 1, *(_plain(v, k) for v, k in zip(values[i], kinds)), ewkb[i]])
        if result.repaired:
            # ST_MakeValid may return a collection; keep the parts of the layer's dimension.
            cur.execute(sql.SQL("UPDATE {} SET geom = ST_CollectionExtract(ST_MakeValid(geom), %s) "
                                "WHERE gid = ANY(%s)").format(ident),
                        [DIMENSION[gtype], [i + 1 for i in result.repaired]])
        using = "ST_Multi(geom)" if gtype.startswith("Multi") else "geom"
        cur.execute(sql.SQL("ALTER TABLE {} ALTER COLUMN geom TYPE geometry({}, 4490) USING {}").format(
            ident, sql.SQL(gtype), sql.SQL(using)))
        cur.execute(sql.SQL("CREATE INDEX {} ON {} USING gist (geom)").format(
            sql.Identifier(f"ix_{table}_geom"[:63]), ident))
        cur.execute(sql.SQL("ANALYZE {}").format(ident))
    row = SpatialLayer(
        id=layer_id, title=title, description=description, table_name=table, source_file=source_file,
        source_path=source_path, source_layer=src.layer if src.fmt == "gpkg" else None, format=src.fmt, crs=crs,
        crs_detected=src.crs is not None and src.crs == crs, geometry_type=gtype, feature_count=len(frame),
        repaired_count=len(result.repaired), access=access, fields=fields, style=_style(gtype, color),
        bbox=result.bbox, created_by=created_by, version=1)
    db.add(row)
    oplog.record(db, "import", f"{DATA_SCHEMA}.{table}", layer_id,
                 after={"features": len(frame), "repaired_with_st_makevalid": len(result.repaired),
                        "source_file": source_file, "format": src.fmt, "crs": crs},
                 detail=f"上传空间数据“{title}”（{source_file}），{len(frame)} 个要素"
                        + (f"，其中 {len(result.repaired)} 个无效几何用 ST_MakeValid 修复" if result.repaired else ""))
    db.commit()
    try:
        _write_yml(uploaded_layers_dir(settings), layer_id, layer_doc(row))
    except Exception:
        _drop(db, row)
        raise
    return row


def _drop(db, row: SpatialLayer) -> None:
    db.rollback()
    db.execute(text(f'DROP TABLE IF EXISTS {DATA_SCHEMA}."{row.table_name}"'))
    db.execute(text("DELETE FROM admin.spatial_layer WHERE id = :i"), {"i": row.id})
    db.commit()


def unpublish(db, settings, row: SpatialLayer) -> None:
    """Remove the yml first (workers stop serving the collection), then drop
    the table and the registry row in one transaction; put the file back if
    that fails."""
    path = uploaded_layers_dir(settings) / f"{row.id}.yml"
    parked = path.with_name(f".{row.id}.yml.deleting")
    had = path.exists()
    if had:
        os.replace(path, parked)
    try:
        db.execute(text(f'DROP TABLE IF EXISTS {DATA_SCHEMA}."{row.table_name}"'))
        snapshot = {"title": row.title, "table": f"{DATA_SCHEMA}.{row.table_name}", "features": row.feature_count}
        db.delete(row)
        oplog.record(db, "drop", f"{DATA_SCHEMA}.{row.table_name}", row.id, before=snapshot,
                     detail=f"删除上传图层“{row.title}”及其数据表")
        db.commit()
    except Exception:
        db.rollback()
        if had:
            os.replace(parked, path)
        raise
    if had:
        parked.unlink(missing_ok=True)
