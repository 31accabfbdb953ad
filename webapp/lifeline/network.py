"""Network analysis (管网分析): burst isolation for water, gas and heating,
upstream/downstream tracing for rain and sewage, and the gas-leak impact
buffer, as JSON APIs under /api/lifeline/network/… with Excel exports, and the
管网分析 page. The graph walks live in network_graph.py; the SQL (snapping,
regions, addresses, buffers) in network_sql.py."""
from __future__ import annotations

import datetime as dt
import io
import time

from flask import jsonify, render_template, request, send_file

from geo.errors import GeoError
from webapp.auth.permissions import require_permission
from webapp.db import get_db
from webapp.lifeline import api, pages
from webapp.lifeline import network_graph as ng
from webapp.lifeline import network_sql as ns

DIRECTIONS = {"down": "下游", "up": "上游", "both": "上下游"}


def _network(allowed: tuple[str, ...], default: str | None = None) -> str:
    n = request.args.get("network") or default
    if n is None:
        raise GeoError("network_missing", "请选择管网类别（network）", field="network")
    if n not in allowed:
        names = "、".join(f"{k}（{ng.NETWORK_NAMES[k]}）" for k in allowed)
        if n in ng.NETWORK_NAMES:
            raise GeoError("network_not_supported", f"{ng.NETWORK_NAMES[n]}管网不支持该分析，可选：{names}",
                           field="network")
        raise GeoError("network_unknown", f"未知管网类别“{n}”，可选：{names}", field="network")
    return n


def _pipe_target(db, network: str) -> dict:
    """The analysed pipe: `pipe` code, or the nearest pipe to lon/lat within 50 m."""
    code = request.args.get("pipe")
    if code:
        p = ns.pipe_info(db, code)
        if p is None or p["network"] != network:
            raise GeoError("pipe_unknown", f"{ng.NETWORK_NAMES[network]}管网中没有管线 {code}", status=404,
                           field="pipe")
        return p
    pt = ns.point_arg(db)
    return ns.snap(db, network, pt)


def burst_result(db, network: str, target: dict) -> dict:
    t0 = time.perf_counter()
    conn = db.connection()
    g = ng.load(conn, network)
    b = ng.burst(g, target["code"])
    affected = b.isolated + b.cut_off
    served = ng.served_addresses(conn, g)
    addr_ids = sorted({a for p in affected for a in served.get(p, ())})
    iso_addr = {a for p in b.isolated for a in served.get(p, ())}
    meters = [n for n in b.zone_nodes if g.kind.get(n) == "水表井"]
    cut_nodes = {n for p in b.cut_off for n in g.ends[p]} - set(b.valves) - set(b.zone_nodes)
    meters += [n for n in cut_nodes if g.kind.get(n) == "水表井"]
    out = {
        "tool": "burst", "network": network, "network_name": ng.NETWORK_NAMES[network], "pipe": target,
        "valves": ns.nodes(db, b.valves), "sources_shut": ns.nodes(db, b.sources_shut),
        "isolated": {"count": len(b.isolated), "length_m": round(g.total_length(b.isolated), 1),
                     "pipes": b.isolated},
        "cut_off": {"count": len(b.cut_off), "length_m": round(g.total_length(b.cut_off), 1), "pipes": b.cut_off},
        "regions": ns.regions_of(db, affected),
        "addresses": {"rule": f"每个门牌归属距其最近、且在{ng.SERVICE_RADIUS_M:.0f}米内的{ng.NETWORK_NAMES[network]}管线；"
                              "该管线被隔离或停供即计为受影响",
                      "count": len(addr_ids), "isolated_count": len(iso_addr),
                      "cut_off_count": len(addr_ids) - len(iso_addr), "list": ns.addresses(db, addr_ids)},
        "meter_wells": len(meters) if network == "water" else None,
    }
    out["geojson"] = ns.result_geojson(db, {"isolated": [p for p in b.isolated if p != target["code"]],
                                            "burst": [target["code"]], "cut_off": b.cut_off},
                                       out["valves"] + [dict(v, role="source") for v in out["sources_shut"]],
                                       click=target.get("click"))
    out["elapsed_ms"] = round((time.perf_counter() - t0) * 1000, 1)
    return out


def trace_result(db, network: str, target: dict, direction: str) -> dict:
    t0 = time.perf_counter()
    g = ng.load(db.connection(), network)
    out = {"tool": "trace", "network": network, "network_name": ng.NETWORK_NAMES[network], "pipe": target,
           "direction": direction}
    layers: dict[str, list[str]] = {"burst": [target["code"]]}
    points = []
    for d in ("down", "up"):
        if direction not in (d, "both"):
            continue
        t = ng.trace(g, target["code"], d)
        ends = ns.nodes(db, t.ends)
        out[d] = {"count": len(t.pipes), "length_m": round(g.total_length(t.pipes), 1), "pipes": t.pipes,
                  "node_count": len(t.nodes), "ends": ends, "regions": ns.regions_of(db, t.pipes)}
        layers[d] = [p for p in t.pipes if p != target["code"]]
        points += [dict(e, role="outfall" if d == "down" else "head") for e in ends]
    if "down" in out:
        out["outfalls"] = [e for e in out["down"]["ends"] if e["kind"] in ng.OUTFALL_KINDS]
    if "up" in out:
        out["catchment"] = out["up"]["regions"]
    out["geojson"] = ns.result_geojson(db, layers, points, click=target.get("click"))
    out["elapsed_ms"] = round((time.perf_counter() - t0) * 1000, 1)
    return out


def leak_result(db) -> dict:
    pt = ns.point_arg(db)
    level_raw, radius_raw = request.args.get("level"), request.args.get("radius")
    if level_raw not in (None, "") and level_raw not in ns.LEAK_LEVELS:
        raise GeoError("leak_level_invalid", "泄漏等级应为 1（一般）、2（较大）或 3（重大）", field="level")
    level = level_raw or "2"
    radius = ns.LEAK_LEVELS[level][1]
    if radius_raw not in (None, ""):
        try:
            radius = float(radius_raw)
        except ValueError:
            radius = -1
        if not ns.MIN_RADIUS <= radius <= ns.MAX_RADIUS:
            raise GeoError("radius_invalid", f"影响半径应为 {ns.MIN_RADIUS:.0f}–{ns.MAX_RADIUS:.0f} 米", field="radius")
    return ns.leak_impact(db, pt, radius, level)


@api.get("/network/burst")
@require_permission("lifeline:view")
def network_burst():
    db = get_db()
    network = _network(ng.PRESSURE)
    return jsonify(burst_result(db, network, _pipe_target(db, network)))


@api.get("/network/trace")
@require_permission("lifeline:view")
def network_trace():
    db = get_db()
    network = _network(ng.DRAINAGE)
    direction = request.args.get("direction") or "both"
    if direction not in DIRECTIONS:
        raise GeoError("direction_invalid", "追踪方向应为 down（下游）、up（上游）或 both（上下游）", field="direction")
    return jsonify(trace_result(db, network, _pipe_target(db, network), direction))


@api.get("/network/leak-impact")
@require_permission("lifeline:view")
def network_leak_impact():
    return jsonify(leak_result(get_db()))


@api.get("/network/pipes")
@require_permission("lifeline:view")
def network_pipes():
    """All pipes of one network as GeoJSON (the page's base layer)."""
    network = _network(tuple(ng.NETWORK_NAMES))
    return jsonify(ns.network_geojson(get_db(), network))


@api.get("/network/<tool>/export.xlsx")
@require_permission("lifeline:view")
def network_export(tool: str):
    from webapp.lifeline.network_export import workbook
    db = get_db()
    if tool == "burst":
        network = _network(ng.PRESSURE)
        result = burst_result(db, network, _pipe_target(db, network))
    elif tool == "trace":
        network = _network(ng.DRAINAGE)
        result = trace_result(db, network, _pipe_target(db, network), "both")
    elif tool == "leak-impact":
        result = leak_result(db)
    else:
        raise GeoError("tool_unknown", f"未知分析工具“{tool}”，可选：burst、trace、leak-impact", status=404)
    buf = io.BytesIO()
    workbook(result).save(buf)
    title = {"burst": "爆管分析", "trace": "上下游追踪", "leak-impact": "燃气泄漏影响"}[tool]
    buf.seek(0)
    return send_file(buf, mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                     as_attachment=True, download_name=f"{title}-{dt.date.today():%Y%m%d}.xlsx")


@pages.get("/network")
@require_permission("lifeline:view")
def network_page():
    return render_template("lifeline/network.html", network_names=ng.NETWORK_NAMES, leak_levels=ns.LEAK_LEVELS,
                           pressure=ng.PRESSURE, drainage=ng.DRAINAGE)
