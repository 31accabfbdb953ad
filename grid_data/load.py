"""Load a generated Dataset into PostGIS with COPY (fast enough for --scale 20)."""
from __future__ import annotations

import json
import time
from typing import Iterable, Sequence

import numpy as np
import psycopg
import shapely

from geo.models import SRID

NETWORK_NAMES = {"water": "供水", "rain": "雨水", "sewage": "污水", "gas": "燃气", "heating": "热力"}
RISK_LEVELS = [("1", "重大风险", "红", "#d7191c"), ("2", "较大风险", "橙", "#fd8d3c"),
               ("3", "一般风险", "黄", "#fecc5c"), ("4", "低风险", "蓝", "#2c7bb6")]
COMPONENT_STATUSES = ["完好", "破损", "丢失", "占用", "废弃"]

GEO_TABLES = ["component", "risk_point", "bridge", "pipe", "pipe_node", "poi", "address", "river", "road",
              "resp_grid", "unit_grid", "region", "dict_item", "dict_type"]


def _ewkb(geoms) -> list[str]:
    arr = np.asarray(geoms, dtype=object)
    arr = shapely.set_srid(arr, SRID)
    return list(shapely.to_wkb(arr, hex=True, include_srid=True))


def _value(v):
    if isinstance(v, (list, dict)):
        return json.dumps(v, ensure_ascii=False)
    if isinstance(v, np.generic):
        return v.item()
    return v


def copy_rows(conn: psycopg.Connection, table: str, columns: Sequence[str], rows: Iterable[Sequence]) -> int:
    n = 0
    cols = ", ".join(columns)
    with conn.cursor() as cur, cur.copy(f"COPY {table} ({cols}) FROM STDIN") as cp:
        for row in rows:
            cp.write_row([_value(v) for v in row])
            n += 1
    return n


def copy_dicts(conn, table: str, columns: Sequence[str], items: list[dict], geom_col: str | None = "geom",
               multi: bool = False) -> int:
    """Copy a list of dicts; geometries are promoted to Multi* when the column wants it."""
    if not items:
        return 0
    geoms = None
    if geom_col:
        gs = [it[geom_col] for it in items]
        if multi:
            gs = [_to_multi(g) for g in gs]
        geoms = _ewkb(gs)
    rows = []
    for i, it in enumerate(items):
        row = [it.get(c) for c in columns]
        if geom_col:
            row.append(geoms[i])
        rows.append(row)
    cols = list(columns) + ([geom_col] if geom_col else [])
    return copy_rows(conn, table, cols, rows)


def _to_multi(g):
    t = g.geom_type
    if t == "Polygon":
        return shapely.MultiPolygon([g])
    if t == "LineString":
        return shapely.MultiLineString([g])
    return g


def _topo_departments(depts: list[dict]) -> list[dict]:
    done, out, pending = set(), [], list(depts)
    while pending:
        rest = []
        for d in pending:
            if not d.get("parent_code") or d["parent_code"] in done:
                out.append(d)
                done.add(d["code"])
            else:
                rest.append(d)
        if len(rest) == len(pending):
            raise ValueError("department tree has a cycle or a missing parent")
        pending = rest
    return out


def is_empty(conn) -> bool:
    return conn.execute("SELECT NOT EXISTS (SELECT 1 FROM geo.region)").fetchone()[0]


def clear(conn) -> None:
    """Remove the demo data (and the demo users, and with them the demo cases) but keep the logs.
    Case history is append-only by a trigger; a deliberate demo reset bypasses it for this
    transaction (needs the superuser the embedded cluster runs with)."""
    conn.execute("SET LOCAL session_replication_role = replica")
    conn.execute("TRUNCATE " + ", ".join(f"geo.{t}" for t in GEO_TABLES) + " CASCADE")
    conn.execute('TRUNCATE admin.api_key, admin.user_role, admin."user", admin.role, admin.department CASCADE')


def seed_dictionaries(conn, ds) -> None:
    types = [
        ("component_class", "部件分类", "GB/T 30428.2 管理部件大类/小类"),
        ("event_class", "事件分类", "GB/T 30428.2 管理事件大类/小类"),
        ("component_status", "部件状态", None),
        ("pipe_network", "管网类型", None),
        ("risk_level", "风险等级", "四色分级：重大/较大/一般/低"),
        ("risk_category", "风险点类别", None),
        ("node_kind", "管点类型", None),
        ("land_use", "用地类型", None),
    ]
    copy_rows(conn, "geo.dict_type", ["code", "name", "description"], types)
    items = []
    for type_code, classes in (("component_class", ds.component_classes), ("event_class", ds.event_classes)):
        bigs = {}
        for c in classes:
            bigs.setdefault(c["big_code"], c["big_name"])
        for big, name in sorted(bigs.items()):
            items.append((type_code, big, name, None, int(big), "{}"))
        for c in classes:
            items.append((type_code, c["small_code"], c["name"], c["big_code"], int(c["small_code"]), "{}"))
    for i, s in enumerate(COMPONENT_STATUSES):
        items.append(("component_status", s, s, None, i, "{}"))
    for i, (k, v) in enumerate(NETWORK_NAMES.items()):
        items.append(("pipe_network", k, v, None, i, "{}"))
    for code, name, colour, hexc in RISK_LEVELS:
        items.append(("risk_level", code, name, None, int(code),
                      json.dumps({"colour": colour, "hex": hexc}, ensure_ascii=False)))
    for i, cat in enumerate(sorted({r["category"] for r in ds.risk_points})):
        items.append(("risk_category", cat, cat, None, i, "{}"))
    kinds = sorted({(n["network"], n["kind"]) for n in ds.pipe_nodes})
    for i, (net, kind) in enumerate(kinds):
        items.append(("node_kind", f"{net}:{kind}", kind, net, i, "{}"))
    for i, lu in enumerate(sorted({g["land_use"] for g in ds.unit_grids if g.get("land_use")})):
        items.append(("land_use", lu, lu, None, i, "{}"))
    copy_rows(conn, "geo.dict_item", ["type_code", "code", "name", "parent_code", "sort", "extra"], items)


def load_dataset(conn: psycopg.Connection, ds, log=print) -> dict:
    """Load everything; returns row counts. Runs in the caller's transaction."""
    t0 = time.perf_counter()
    counts = {}
    counts["department"] = copy_dicts(conn, "admin.department", ["code", "name", "parent_code", "kind"],
                                      _topo_departments(ds.departments), geom_col=None)
    seed_dictionaries(conn, ds)
    region_cols = ["code", "name", "level", "parent_code", "demo_code"]
    counts["region"] = sum(copy_dicts(conn, "geo.region", region_cols, rows, multi=True)
                           for rows in ([ds.county], ds.streets, ds.communities))
    counts["unit_grid"] = copy_dicts(conn, "geo.unit_grid", ["code", "name", "community_code", "street_code",
                                                             "area_m2", "land_use", "mgmt_level"],
                                     ds.unit_grids, multi=True)
    counts["resp_grid"] = copy_dicts(conn, "geo.resp_grid", ["code", "name", "community_code", "dept_code", "people"],
                                     ds.resp_grids, multi=True)
    counts["road"] = copy_dicts(conn, "geo.road", ["code", "name", "grade", "width_m"], ds.roads, multi=True)
    counts["river"] = copy_dicts(conn, "geo.river", ["code", "name"], ds.rivers, multi=True)
    counts["bridge"] = copy_dicts(conn, "geo.bridge", ["code", "name", "structure", "length_m", "width_m", "spans",
                                                       "build_year", "road_code", "river", "maintainer_dept"],
                                  ds.bridges)
    counts["address"] = copy_dicts(conn, "geo.address", ["code", "road_code", "road_name", "number", "full_address",
                                                         "community_code"], ds.addresses)
    counts["poi"] = copy_dicts(conn, "geo.poi", ["code", "name", "category", "address"], ds.pois)
    counts["pipe_node"] = copy_dicts(conn, "geo.pipe_node", ["code", "network", "kind", "depth_m", "status"],
                                     ds.pipe_nodes)
    counts["pipe"] = copy_dicts(conn, "geo.pipe", ["code", "network", "diameter_mm", "material", "pressure_class",
                                                   "depth_m", "install_year", "from_node", "to_node", "owner_dept",
                                                   "road_code"], ds.pipes)
    counts["risk_point"] = copy_dicts(conn, "geo.risk_point", ["code", "name", "category", "network", "level",
                                                               "description", "dept_code"], ds.risk_points)
    counts["component"] = load_components(conn, ds.components)
    log(f"loaded {sum(counts.values()):,} rows in {time.perf_counter() - t0:.1f} s: {counts}")
    return counts


def load_components(conn, comp: dict) -> int:
    lon = np.asarray(comp["lon"], dtype=float)
    lat = np.asarray(comp["lat"], dtype=float)
    geoms = _ewkb(shapely.points(lon, lat))
    cols = ["code", "class_code", "name", "status", "owner_dept", "maintainer_dept", "grid_code", "address"]
    data = [comp[c] for c in cols]
    n = len(lon)
    # Sorting rows by grid (a spatial cluster) keeps bbox queries on few pages.
    order = np.argsort(np.asarray(comp["grid_code"], dtype=object).astype(str), kind="stable")
    rows = ([data[j][i] for j in range(len(cols))] + [geoms[i]] for i in order)
    return copy_rows(conn, "geo.component", cols + ["geom"], rows) if n else 0
