"""Network analysis API: burst isolation on a hand-built heating loop (exact
valves, zone and cut-off pipes), on the demo water network (the valves really
separate the zone: without them the zone is disconnected from the rest and
from the source), drainage tracing to an outfall, the gas-leak buffer against
plain SQL, bad input and permissions."""
from __future__ import annotations

from collections import deque

import psycopg
import pytest

from tests.conftest import assert_error, json_api
from ogc.config import libpq_dsn

API = "/api/lifeline/network"
# Hand-built heating network far from the demo town (see the docstring of test_burst_hand_built):
#   S ─p1─ A ─p2─ V1 ─p3─ B ─p4─ C ─p5─ V2 ─p6─ A   (a loop through two valves)
#                              C ─p7─ V3 ─p8─ D ─p9─ E   (a branch behind a third valve)
X0, Y0 = 113.86, 33.47
NODES = {"TXS": ("热源", 0, 0), "TXA": ("检查井", 1, 0), "TXV1": ("阀门", 2, 0), "TXB": ("检查井", 3, 0),
         "TXC": ("检查井", 3, 1), "TXV2": ("阀门", 1, 1), "TXV3": ("阀门", 4, 1), "TXD": ("检查井", 5, 1),
         "TXE": ("检查井", 6, 1)}
PIPES = {"TXP1": ("TXS", "TXA"), "TXP2": ("TXA", "TXV1"), "TXP3": ("TXV1", "TXB"), "TXP4": ("TXB", "TXC"),
         "TXP5": ("TXC", "TXV2"), "TXP6": ("TXV2", "TXA"), "TXP7": ("TXC", "TXV3"), "TXP8": ("TXV3", "TXD"),
         "TXP9": ("TXD", "TXE")}
STEP = 0.0008   # about 75 m


def _xy(node):
    _k, i, j = NODES[node]
    return X0 + i * STEP, Y0 + j * STEP


@pytest.fixture(scope="module")
def dsn(demo_db):
    return libpq_dsn(demo_db)


@pytest.fixture(scope="module")
def api(app, passwords):
    return json_api(app, "monitor", passwords["demo"])


@pytest.fixture()
def hand_network(dsn):
    with psycopg.connect(dsn) as conn:
        for code, (kind, *_ij) in NODES.items():
            x, y = _xy(code)
            conn.execute("INSERT INTO geo.pipe_node (code, network, kind, geom) VALUES "
                         "(%s, 'heating', %s, ST_SetSRID(ST_MakePoint(%s, %s), 4490))", (code, kind, x, y))
        for code, (a, b) in PIPES.items():
            (xa, ya), (xb, yb) = _xy(a), _xy(b)
            conn.execute("INSERT INTO geo.pipe (code, network, diameter_mm, material, from_node, to_node, geom) "
                         "VALUES (%s, 'heating', 200, '钢管', %s, %s, ST_SetSRID(ST_MakeLine(ST_MakePoint(%s, %s), "
                         "ST_MakePoint(%s, %s)), 4490))", (code, a, b, xa, ya, xb, yb))
    yield
    with psycopg.connect(dsn) as conn:
        conn.execute("DELETE FROM geo.pipe WHERE code LIKE 'TXP%%'")
        conn.execute("DELETE FROM geo.pipe_node WHERE code LIKE 'TX%%'")


def test_burst_hand_built(api, hand_network, dsn):
    """Burst on p4 (B–C): the zone stops at V1, V2 and V3; p3 p4 p5 p7 are
    isolated; p8 and p9 behind V3 lose their only path to the source."""
    r = api.get(f"{API}/burst?network=heating&pipe=TXP4")
    assert r.status_code == 200, r.get_json()
    d = r.get_json()
    assert [v["code"] for v in d["valves"]] == ["TXV1", "TXV2", "TXV3"]
    assert d["isolated"]["pipes"] == ["TXP3", "TXP4", "TXP5", "TXP7"]
    assert d["cut_off"]["pipes"] == ["TXP8", "TXP9"]
    assert d["sources_shut"] == []
    with psycopg.connect(dsn) as conn:
        want = conn.execute("SELECT sum(ST_Length(ST_Transform(geom, 4547))) FROM geo.pipe WHERE code = ANY(%s)",
                            (d["isolated"]["pipes"],)).fetchone()[0]
    assert abs(d["isolated"]["length_m"] - want) < 0.1

    # clicking beside p1 (S–A): the source's outlet is shut, everything behind the valves is cut off
    (xa, ya), (xb, yb) = _xy("TXS"), _xy("TXA")
    d = api.get(f"{API}/burst?network=heating&lon={(xa + xb) / 2}&lat={(ya + yb) / 2 + 0.00005}").get_json()
    assert d["pipe"]["code"] == "TXP1" and 4 < d["pipe"]["distance_m"] < 7
    assert [v["code"] for v in d["valves"]] == ["TXV1", "TXV2"]
    assert [s["code"] for s in d["sources_shut"]] == ["TXS"]
    assert d["isolated"]["pipes"] == ["TXP1", "TXP2", "TXP6"]
    assert d["cut_off"]["pipes"] == ["TXP3", "TXP4", "TXP5", "TXP7", "TXP8", "TXP9"]
    roles = {f["properties"]["role"] for f in d["geojson"]["features"]}
    assert {"burst", "isolated", "cut_off", "valve", "source", "click"} <= roles


def _graph(dsn, network):
    with psycopg.connect(dsn) as conn:
        pipes = conn.execute("SELECT code, from_node, to_node FROM geo.pipe WHERE network = %s", (network,)).fetchall()
        kinds = dict(conn.execute("SELECT code, kind FROM geo.pipe_node WHERE network = %s", (network,)).fetchall())
    adj = {}
    for code, a, b in pipes:
        adj.setdefault(a, []).append((code, b))
        adj.setdefault(b, []).append((code, a))
    return {c: (a, b) for c, a, b in pipes}, adj, kinds


def _reach(ends, adj, start_pipe, removed_nodes):
    seen_p, seen_n = {start_pipe}, set()
    todo = deque(n for n in ends[start_pipe] if n not in removed_nodes)
    while todo:
        n = todo.popleft()
        if n in seen_n:
            continue
        seen_n.add(n)
        for p, o in adj.get(n, ()):
            seen_p.add(p)
            if o not in removed_nodes:
                todo.append(o)
    return seen_p, seen_n


def test_burst_demo_valves_separate_zone(api, dsn):
    ends, adj, kinds = _graph(dsn, "water")
    checked = 0
    for code in sorted(ends)[::400]:
        d = api.get(f"{API}/burst?network=water&pipe={code}").get_json()
        valves = {v["code"] for v in d["valves"]}
        assert valves and all(kinds[v] == "阀门" for v in valves)
        removed = valves | {s["code"] for s in d["sources_shut"]}
        zone_p, zone_n = _reach(ends, adj, code, removed)
        # with the valves removed the zone is a closed island: exactly the isolated pipes, no source inside
        assert zone_p == set(d["isolated"]["pipes"])
        assert not any(kinds[n] == "水源" for n in zone_n)
        # every valve to close touches the zone (no needless valve)
        assert all(any(p in zone_p for p, _o in adj[v]) for v in valves)
        # the cut-off pipes really have no path to the source once the zone is gone
        src = next(n for n, k in kinds.items() if k == "水源")
        fed, todo, seen = set(), deque([src]), {src}
        while todo:
            n = todo.popleft()
            for p, o in adj.get(n, ()):
                if p in zone_p:
                    continue
                fed.add(p)
                if o not in seen and o not in zone_n:
                    seen.add(o)
                    todo.append(o)
        assert set(d["cut_off"]["pipes"]) == set(ends) - zone_p - fed
        assert d["addresses"]["count"] == len(d["addresses"]["list"]) or d["addresses"]["count"] > 500
        checked += 1
    assert checked >= 5


def test_trace_reaches_outfall(api, dsn):
    ends, _adj, kinds = _graph(dsn, "rain")
    code = sorted(ends)[len(ends) // 2]
    d = api.get(f"{API}/trace?network=rain&pipe={code}").get_json()
    assert d["outfalls"] and all(kinds[o["code"]] == "排放口" for o in d["outfalls"])
    # follow from→to by hand from the pipe: the chain ends at the outfall the API names
    node, hops = ends[code][1], 0
    out = {}
    for c, (a, b) in ends.items():
        out.setdefault(a, []).append(b)
    while node in out and hops < 10000:
        node, hops = out[node][0], hops + 1
    assert node in {o["code"] for o in d["outfalls"]}
    assert code in d["down"]["pipes"] and code in d["up"]["pipes"]
    assert d["down"]["length_m"] > 0 and d["catchment"]
    up_only = api.get(f"{API}/trace?network=rain&pipe={code}&direction=up").get_json()
    assert "down" not in up_only and up_only["up"]["pipes"] == d["up"]["pipes"]


def test_leak_buffer_matches_sql(api, dsn):
    with psycopg.connect(dsn) as conn:
        x, y = conn.execute("SELECT ST_X(geom), ST_Y(geom) FROM geo.risk_point WHERE category = '燃气管网' "
                            "ORDER BY code LIMIT 1").fetchone()
        want = {r[0] for r in conn.execute(
            "SELECT code FROM geo.risk_point WHERE ST_Distance(ST_Transform(geom, 4547), "
            "ST_Transform(ST_SetSRID(ST_MakePoint(%s, %s), 4490), 4547)) <= 300", (x, y))}
        n_addr = conn.execute("SELECT count(*) FROM geo.address WHERE ST_Distance(ST_Transform(geom, 4547), "
                              "ST_Transform(ST_SetSRID(ST_MakePoint(%s, %s), 4490), 4547)) <= 300", (x, y)).fetchone()[0]
    d = api.get(f"{API}/leak-impact?lon={x}&lat={y}&radius=300").get_json()
    assert {r["code"] for r in d["risk_points"]} == want and want
    assert d["address_count"] == n_addr
    assert all(r["distance_m"] <= 300 for r in d["risk_points"] + d["people_dense"] + d["valves"])
    assert abs(d["area_m2"] - 3.14159 * 300 ** 2) / (3.14159 * 300 ** 2) < 0.01
    d1 = api.get(f"{API}/leak-impact?lon={x}&lat={y}&level=1").get_json()
    assert d1["radius_m"] == 50 and d1["level_name"] == "一般泄漏"


def test_excel_export(api, dsn):
    r = api.get(f"{API}/burst/export.xlsx?network=heating&pipe=" + sorted(_graph(dsn, "heating")[0])[10])
    assert r.status_code == 200 and r.data[:2] == b"PK"
    from openpyxl import load_workbook
    import io
    wb = load_workbook(io.BytesIO(r.data))
    assert {"概要", "需关闭阀门", "管段"} <= set(wb.sheetnames)


@pytest.mark.parametrize("url,status,code", [
    ("/burst?lon=114.02&lat=33.38", 400, "network_missing"),
    ("/burst?network=oil&lon=114.02&lat=33.38", 400, "network_unknown"),
    ("/burst?network=rain&lon=114.02&lat=33.38", 400, "network_not_supported"),
    ("/trace?network=water&lon=114.02&lat=33.38", 400, "network_not_supported"),
    ("/burst?network=water", 400, "location_missing"),
    ("/burst?network=water&lon=abc&lat=33.38", 400, "location_invalid"),
    ("/burst?network=water&lon=116.4&lat=39.9", 400, "outside_county"),
    ("/burst?network=water&lon=33.38&lat=114.02", 400, "latlon_swapped"),
    ("/burst?network=water&lon=113.95&lat=33.45", 400, "pipe_not_near"),
    ("/burst?network=water&pipe=NOPE", 404, "pipe_unknown"),
    ("/trace?network=rain&lon=114.02&lat=33.38&direction=sideways", 400, "direction_invalid"),
    ("/leak-impact?lon=114.02&lat=33.38&radius=5000", 400, "radius_invalid"),
    ("/leak-impact?lon=114.02&lat=33.38&radius=abc", 400, "radius_invalid"),
    ("/leak-impact?lon=114.02&lat=33.38&level=9", 400, "leak_level_invalid"),
    ("/nope/export.xlsx?network=water", 404, "tool_unknown"),
])
def test_bad_input(api, url, status, code):
    assert_error(api.get(API + url), status, code)


def test_permissions(app, passwords):
    anon = app.test_client()
    assert anon.get(f"{API}/burst?network=water&lon=114.02&lat=33.38").status_code == 401
    acceptor = json_api(app, "acceptor", passwords["demo"])
    assert_error(acceptor.get(f"{API}/burst?network=water&lon=114.02&lat=33.38"), 403, "forbidden")
    assert acceptor.get("/lifeline/network").status_code == 403
    r = json_api(app, "leader", passwords["demo"]).get("/lifeline/network")
    assert r.status_code == 200 and "爆管分析" in r.get_data(as_text=True)
