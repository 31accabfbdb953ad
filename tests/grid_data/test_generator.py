"""The Xiping demo data generator: determinism, counts, topology, codes."""
from __future__ import annotations

import hashlib
import os
import re
from collections import Counter, defaultdict, deque

import numpy as np
import pytest
import shapely
from pyproj import Transformer

from grid_data.generator import NETWORKS, Dataset, _feed, generate

_TO_METRIC = Transformer.from_crs("EPSG:4490", "EPSG:4547", always_xy=True)
SOURCES = {"water": "水源", "gas": "门站", "heating": "热源"}
# GRID_DATA_SEED=<n> runs the whole module against another seed.
SEED = int(os.environ.get("GRID_DATA_SEED", "411721"))


def metric(geoms):
    """EPSG:4490 geometries -> EPSG:4547 (metres)."""
    return shapely.transform(geoms, lambda c: np.column_stack(_TO_METRIC.transform(c[:, 0], c[:, 1])))


@pytest.fixture(scope="module")
def ds() -> Dataset:
    return generate(seed=SEED)


@pytest.fixture(scope="module")
def town(ds):
    return shapely.union_all([s["geom"] for s in ds.streets])


@pytest.fixture(scope="module")
def grids_m(ds):
    return metric(np.array([g["geom"] for g in ds.unit_grids], dtype=object))


# ---- determinism and scale ----------------------------------------------------
def test_same_seed_gives_identical_output(ds):
    again = generate(seed=SEED)
    assert again.digest() == ds.digest()
    for key, col in ds.components.items():
        assert np.array_equal(col, again.components[key]), key
    assert [g["geom"].wkb for g in again.unit_grids] == [g["geom"].wkb for g in ds.unit_grids]


def test_other_seed_differs(ds):
    other = generate(seed=SEED + 1)
    assert other.digest() != ds.digest()
    assert [g["geom"].wkb for g in other.unit_grids[:50]] != [g["geom"].wkb for g in ds.unit_grids[:50]]


def test_scale_two_doubles_components_only(ds):
    big = generate(scale=2.0, seed=SEED)
    assert len(big.components["code"]) == 2 * len(ds.components["code"]) == 100_000
    # everything but the components is independent of the scale
    for name in ("unit_grids", "roads", "pipes", "pipe_nodes", "addresses", "pois", "risk_points", "resp_grids"):
        assert _digest_of(getattr(big, name)) == _digest_of(getattr(ds, name)), name


def _digest_of(value) -> str:
    h = hashlib.sha256()
    _feed(h, value)
    return h.hexdigest()


def test_bad_scale_rejected():
    with pytest.raises(ValueError):
        generate(scale=0)
    with pytest.raises(ValueError):
        generate(scale=float("nan"))


# ---- counts ----------------------------------------------------------------------
def test_counts_at_scale_one(ds):
    c = ds.counts()
    assert c["streets"] == 3
    assert 18 <= c["communities"] <= 24
    assert 1800 <= c["unit_grids"] <= 2300
    assert c["roads"] >= 35
    assert 8 <= c["bridges"] <= 14
    assert c["components"] == 50_000
    assert 3000 <= c["addresses"] <= 15_000
    assert 200 <= c["pois"] <= 500
    assert 100 <= c["risk_points"] <= 140
    assert c["rivers"] >= 1
    per_net = Counter(p["network"] for p in ds.pipes)
    assert set(per_net) == set(NETWORKS)
    assert all(per_net[n] >= 500 for n in NETWORKS if n != "heating") and per_net["heating"] >= 200
    rs = [len(r["unit_grid_codes"]) for r in ds.resp_grids]
    assert min(rs) >= 6 and max(rs) <= 20


# ---- regions -----------------------------------------------------------------------
def test_county(ds, town):
    cty = ds.county
    assert (cty["code"], cty["name"], cty["level"], cty["parent_code"], cty["demo_code"]) == \
        ("411721", "西平县", "county", None, False)
    g = cty["geom"]
    assert g.geom_type == "MultiPolygon" and g.is_valid
    assert 1_040e6 < metric(g).area < 1_140e6
    minx, miny, maxx, maxy = g.bounds
    assert 113.70 < minx < 113.85 and 114.15 < maxx < 114.30 and 33.18 < miny < 33.30 and 33.47 < maxy < 33.60
    assert g.contains(town)
    assert metric(g.boundary).distance(metric(town)) > 3000  # a good margin around the town
    assert town.contains(shapely.Point(114.02, 33.38).buffer(0.002))


def test_streets_and_communities(ds):
    names = {s["name"]: s for s in ds.streets}
    assert set(names) == {"柏城街道", "柏亭街道", "柏苑街道"}
    assert sorted(s["code"] for s in ds.streets) == ["411721001", "411721002", "411721003"]
    for s in ds.streets:
        assert s["level"] == "street" and s["parent_code"] == "411721" and s["demo_code"] is True
        assert s["geom"].geom_type == "MultiPolygon" and s["geom"].is_valid
    # 柏苑 lies north of the town; 柏城 and 柏亭 split the rest
    ys = {n: s["geom"].centroid.y for n, s in names.items()}
    assert ys["柏苑街道"] > ys["柏城街道"] and ys["柏苑街道"] > ys["柏亭街道"]
    assert names["柏苑街道"]["geom"].bounds[1] >= max(names["柏城街道"]["geom"].bounds[1],
                                                  names["柏亭街道"]["geom"].bounds[1])
    codes = [c["code"] for c in ds.communities]
    assert len(set(codes)) == len(codes)
    assert len({c["name"] for c in ds.communities}) == len(codes)
    street_of = {s["code"]: s for s in ds.streets}
    villages = ("花马刘", "王店", "于楼", "芳庄", "道庄", "大李", "黄庄", "郝刘", "王茨元", "武岗", "李庄")
    for c in ds.communities:
        assert re.fullmatch(r"411721\d{6}", c["code"]) and c["code"][:9] == c["parent_code"]
        assert c["level"] == "community" and c["demo_code"] is True and c["geom"].is_valid
        parent = street_of[c["parent_code"]]["geom"]
        assert parent.intersection(c["geom"]).area / c["geom"].area > 0.9999
        if c["parent_code"] == "411721003":
            assert c["name"].startswith(villages) and c["name"].endswith(("村", "社区"))
        else:
            assert c["name"].endswith("社区")
    # communities cover their street exactly
    for s in ds.streets:
        union = shapely.union_all([c["geom"] for c in ds.communities if c["parent_code"] == s["code"]])
        assert abs(metric(union).area - metric(s["geom"]).area) < 1.0


# ---- unit grids --------------------------------------------------------------------
def test_unit_grids_tile_the_town(ds, town, grids_m):
    assert all(g.is_valid for g in grids_m)
    areas = np.array([g["area_m2"] for g in ds.unit_grids])
    assert np.allclose(areas, shapely.area(grids_m), rtol=1e-6)
    assert areas.min() >= 6000 and areas.max() <= 16000
    town_area = metric(town).area
    assert abs(shapely.union_all(grids_m).area - town_area) / town_area < 1e-4
    assert abs(areas.sum() - town_area) / town_area < 1e-4
    # no overlaps: every intersecting pair shares at most an edge
    tree = shapely.STRtree(grids_m)
    a, b = tree.query(grids_m, predicate="intersects")
    keep = a < b
    inter = shapely.area(shapely.intersection(grids_m[a[keep]], grids_m[b[keep]]))
    assert keep.sum() > 3 * len(grids_m)
    assert inter.max() < 0.01


def test_unit_grid_in_exactly_one_community(ds, grids_m):
    comms = {c["code"]: c["geom"] for c in ds.communities}
    cgeoms = np.array(list(comms.values()), dtype=object)
    ccodes = list(comms)
    tree = shapely.STRtree(cgeoms)
    for g in ds.unit_grids:
        hits = tree.query(g["geom"], predicate="intersects")
        share = {ccodes[h]: cgeoms[h].intersection(g["geom"]).area / g["geom"].area for h in hits}
        inside = [k for k, v in share.items() if v > 0.9999]
        assert inside == [g["community_code"]], (g["code"], share)
        assert all(v < 1e-6 for k, v in share.items() if k != g["community_code"])


def test_unit_grid_codes_and_order(ds, grids_m):
    codes = [g["code"] for g in ds.unit_grids]
    assert len(set(codes)) == len(codes)
    by_comm = defaultdict(list)
    for g, gm in zip(ds.unit_grids, grids_m):
        assert re.fullmatch(r"\d{15}", g["code"])
        assert g["code"].startswith(g["community_code"]) and g["code"][:9] == g["street_code"]
        assert g["land_use"] in ("居住", "商业", "工业", "公共服务", "绿地", "道路广场", "水域")
        assert g["mgmt_level"] in ("一类", "二类", "三类")
        assert g["geom"].geom_type == "MultiPolygon"
        assert g["name"].endswith(f"第{g['code'][-3:]}网格")
        c = gm.centroid
        by_comm[g["community_code"]].append((int(g["code"][-3:]), c.x, c.y))
    for comm, items in by_comm.items():
        items.sort()
        assert [s for s, _x, _y in items] == list(range(1, len(items) + 1)), comm
        for (_s0, x0, y0), (_s1, x1, y1) in zip(items, items[1:]):
            new_row = y1 < y0 - 45
            same_row_east = abs(y1 - y0) <= 45 and x1 > x0
            assert new_row or same_row_east, (comm, _s0, _s1)


def test_resp_grids_cover_town(ds, town):
    all_codes = [c for r in ds.resp_grids for c in r["unit_grid_codes"]]
    assert sorted(all_codes) == sorted(g["code"] for g in ds.unit_grids)
    grid_geom = {g["code"]: g["geom"] for g in ds.unit_grids}
    codes = [r["code"] for r in ds.resp_grids]
    assert len(set(codes)) == len(codes)
    depts = {d["code"]: d for d in ds.departments}
    for r in ds.resp_grids:
        assert re.fullmatch(r"411721\d{3}ZR\d{3}", r["code"]) and r["code"][:9] == r["community_code"][:9]
        assert all(c.startswith(r["community_code"]) for c in r["unit_grid_codes"])
        assert depts[r["dept_code"]]["kind"] in ("street_office", "bureau")
        posts = Counter(p["post"] for p in r["people"])
        assert posts["网格长"] == 1 and posts["监督员"] == 1 and posts["网格员"] >= 1
        assert all(re.fullmatch(r"138\d{8}", p["phone"]) for p in r["people"])
        g = r["geom"]
        assert g.is_valid and len(g.geoms) == 1  # adjacent unit grids
        union = shapely.union_all([grid_geom[c] for c in r["unit_grid_codes"]])
        assert abs(union.area - g.area) < 1e-12
    total = sum(metric(r["geom"]).area for r in ds.resp_grids)
    assert abs(total - metric(town).area) / metric(town).area < 1e-4


# ---- components ----------------------------------------------------------------------
def test_component_codes_and_columns(ds):
    comp = ds.components
    n = len(comp["code"])
    assert {len(v) for v in comp.values()} == {n}
    codes = comp["code"].astype(str)
    assert len(np.unique(codes)) == n
    assert all(re.fullmatch(r"411721\d{10}", c) for c in codes[:: max(1, n // 5000)])
    cls = comp["class_code"].astype(str)
    assert (np.array([c[6:10] for c in codes]) == cls).all()
    class_codes = {c["small_code"] for c in ds.component_classes}
    assert set(np.unique(cls)) <= class_codes
    names = {c["small_code"]: c["name"] for c in ds.component_classes}
    assert all(names[c] == nm for c, nm in set(zip(cls.tolist(), comp["name"].astype(str).tolist())))
    serial = np.array([int(c[10:]) for c in codes])
    assert serial.min() >= 1 and serial.max() <= 999_999
    counts = Counter(cls.tolist())
    covers = sum(v for k, v in counts.items() if "0101" <= k <= "0112")
    assert covers > n / 2  # manhole covers are the majority
    for k in ("0118", "0113", "0402", "0305", "0203", "0201", "0209", "0301", "0307"):
        assert counts[k] > 0, k
    assert set(np.unique(comp["status"])) <= {"完好", "破损", "丢失", "占用", "废弃"}
    assert (comp["status"] == "完好").mean() > 0.85
    depts = {d["code"] for d in ds.departments}
    assert set(np.unique(comp["owner_dept"])) <= depts and set(np.unique(comp["maintainer_dept"])) <= depts
    # plausible owners
    own = dict(zip(cls.tolist(), comp["owner_dept"].astype(str).tolist()))
    dname = {d["code"]: d["name"] for d in ds.departments}
    assert "自来水" in dname[own["0101"]] and "燃气" in dname[own["0111"]] and "园林" in dname[own["0402"]]
    grid_codes = {g["code"] for g in ds.unit_grids}
    assert set(np.unique(comp["grid_code"])) <= grid_codes
    assert comp["lon"].dtype == np.float64 and np.isfinite(comp["lon"]).all() and np.isfinite(comp["lat"]).all()
    roads = {r["name"] for r in ds.roads}
    for a in np.unique(comp["address"])[:200]:
        assert a[:-2] in roads and a[-2:] in ("东段", "西段", "南段", "北段", "中段")


def test_components_inside_their_grid_and_near_a_road(ds):
    comp = ds.components
    rng = np.random.default_rng(0)
    idx = rng.choice(len(comp["code"]), size=2000, replace=False)
    geom_of = {g["code"]: g["geom"] for g in ds.unit_grids}
    geoms = np.array([geom_of[c] for c in comp["grid_code"][idx]], dtype=object)
    assert shapely.contains_xy(geoms, comp["lon"][idx], comp["lat"][idx]).all()
    pts = metric(shapely.points(comp["lon"][idx], comp["lat"][idx]))
    roads = metric(np.array([r["geom"] for r in ds.roads], dtype=object))
    tree = shapely.STRtree(roads)
    near, _ = tree.query(pts, predicate="dwithin", distance=20.0)
    assert len(np.unique(near)) == len(idx)
    d = tree.query_nearest(pts, return_distance=True)[1]
    assert d.min() >= 1.9 and d.max() <= 15.1


# ---- roads, rivers, bridges ------------------------------------------------------------
def test_roads(ds):
    names = [r["name"] for r in ds.roads]
    codes = [r["code"] for r in ds.roads]
    assert len(set(names)) == len(names) and len(set(codes)) == len(codes)
    assert all(re.fullmatch(r"R\d{4}", c) for c in codes)
    grades = Counter(r["grade"] for r in ds.roads)
    assert grades["主干路"] >= 8 and grades["次干路"] >= 8 and grades["支路"] >= 5
    for must in ("人民路", "解放路", "西平大道", "柏亭大道", "嫘祖大道"):
        assert must in names
    for r in ds.roads:
        assert r["geom"].geom_type in ("LineString", "MultiLineString") and r["geom"].is_valid
        assert r["width_m"] > 0


def test_bridges_cross_the_river(ds):
    rivers = {r["name"]: r["geom"] for r in ds.rivers}
    assert "柳堰河" in rivers
    roads = {r["code"]: r for r in ds.roads}
    river_bridges = [b for b in ds.bridges if b["river"]]
    assert len(river_bridges) >= 6
    assert any(b["river"] is None for b in ds.bridges)  # overpasses
    for b in ds.bridges:
        assert re.fullmatch(r"B\d{3}", b["code"])
        assert b["structure"] in ("梁桥", "拱桥", "斜拉桥")
        assert b["spans"] >= 1 and 1950 < b["build_year"] < 2030 and b["length_m"] > 20
        road = roads[b["road_code"]]
        assert metric(road["geom"]).distance(metric(b["geom"]).centroid) < 1.0
        if b["river"]:
            assert b["geom"].intersects(rivers[b["river"]]), b["name"]
            assert b["river"] in b["name"] and road["name"] in b["name"]
    # every road that crosses the river has a bridge there
    crossing = {r["code"] for r in ds.roads if r["geom"].intersects(rivers["柳堰河"])}
    assert crossing == {b["road_code"] for b in river_bridges}


def test_rivers_cross_the_town(ds, town):
    liuyan = [r for r in ds.rivers if r["name"] == "柳堰河"][0]["geom"]
    assert liuyan.crosses(town)
    assert all(r["geom"].geom_type == "LineString" and ds.county["geom"].covers(r["geom"]) for r in ds.rivers)


# ---- pipe networks -----------------------------------------------------------------------
@pytest.fixture(scope="module")
def nets(ds):
    out = {}
    for net in NETWORKS:
        nodes = {n["code"]: n for n in ds.pipe_nodes if n["network"] == net}
        pipes = [p for p in ds.pipes if p["network"] == net]
        out[net] = (nodes, pipes)
    return out


def test_pipes_end_at_their_nodes(ds, nets):
    codes = [n["code"] for n in ds.pipe_nodes] + [p["code"] for p in ds.pipes]
    assert len(set(codes)) == len(codes)
    roads = {r["code"] for r in ds.roads}
    for net, (nodes, pipes) in nets.items():
        prefix = {"water": "W", "rain": "R", "sewage": "S", "gas": "G", "heating": "H"}[net]
        for n in nodes.values():
            assert re.fullmatch(prefix + r"S\d{6}", n["code"])
        for p in pipes:
            assert re.fullmatch(prefix + r"L\d{6}", p["code"])
            a, b = nodes[p["from_node"]]["geom"], nodes[p["to_node"]]["geom"]
            coords = p["geom"].coords
            assert coords[0] == (a.x, a.y) and coords[-1] == (b.x, b.y)
            assert p["road_code"] in roads and p["diameter_mm"] > 0 and p["depth_m"] > 0
            assert 1980 < p["install_year"] < 2030
        kinds = Counter(n["kind"] for n in nodes.values())
        expected = {"water": {"阀门", "消火栓", "三通", "水表井", "水源"},
                    "rain": {"雨水检查井", "雨水口", "排放口"}, "sewage": {"污水检查井", "排放口"},
                    "gas": {"阀门", "调压站", "凝水缸", "门站"}, "heating": {"阀门", "检查井", "换热站", "热源"}}[net]
        assert set(kinds) == expected, (net, kinds)
    press = {p["network"]: set() for p in ds.pipes}
    for p in ds.pipes:
        press[p["network"]].add(p["pressure_class"])
    assert press["gas"] <= {"低压", "中压A", "中压B", "次高压"} and len(press["gas"]) >= 3
    assert press["heating"] == {"1.6MPa"} and press["rain"] == press["sewage"] == {"重力流"}


def test_pipe_offsets_from_road_centreline(ds):
    roads = {r["code"]: metric(r["geom"]) for r in ds.roads}
    expect = {"water": 3.0, "rain": 5.0, "sewage": 0.0, "gas": 3.0, "heating": 5.0}
    for net, off in expect.items():
        pipes = [p for p in ds.pipes if p["network"] == net and p["length_m"] > 20][::25]
        d = [roads[p["road_code"]].distance(metric(p["geom"]).interpolate(0.5, normalized=True)) for p in pipes]
        assert abs(float(np.median(d)) - off) < 0.6, net


def test_every_network_connected(nets):
    for net, (nodes, pipes) in nets.items():
        if net in SOURCES:
            sources = [c for c, n in nodes.items() if n["kind"] == SOURCES[net]]
            assert len(sources) == 1
            adj = defaultdict(list)
            for p in pipes:
                adj[p["from_node"]].append(p["to_node"])
                adj[p["to_node"]].append(p["from_node"])
        else:  # drainage: trace upstream from the outfalls
            sources = [c for c, n in nodes.items() if n["kind"] == "排放口"]
            assert sources
            adj = defaultdict(list)
            for p in pipes:
                adj[p["to_node"]].append(p["from_node"])
        seen, q = set(sources), deque(sources)
        while q:
            for v in adj[q.popleft()]:
                if v not in seen:
                    seen.add(v)
                    q.append(v)
        assert seen == set(nodes), net
    # the sewage network drains to one outfall (the treatment plant)
    assert sum(n["kind"] == "排放口" for n in nets["sewage"][0].values()) == 1


def test_drainage_acyclic_flows_to_outfall_and_deepens(nets):
    for net in ("rain", "sewage"):
        nodes, pipes = nets[net]
        out_deg = Counter(p["from_node"] for p in pipes)
        in_deg = Counter(p["to_node"] for p in pipes)
        for c, n in nodes.items():
            if n["kind"] == "排放口":
                assert out_deg[c] == 0
            else:
                assert out_deg[c] >= 1, (net, c)  # every node drains somewhere
        # Kahn's algorithm visits every node only if the flow graph is acyclic
        down = defaultdict(list)
        for p in pipes:
            down[p["from_node"]].append(p["to_node"])
        indeg = {c: in_deg[c] for c in nodes}
        q = deque(c for c, d in indeg.items() if d == 0)
        visited = 0
        while q:
            u = q.popleft()
            visited += 1
            for v in down[u]:
                indeg[v] -= 1
                if indeg[v] == 0:
                    q.append(v)
        assert visited == len(nodes), net
        for p in pipes:
            assert nodes[p["to_node"]]["depth_m"] >= nodes[p["from_node"]]["depth_m"], p["code"]
        # pipes get bigger (never smaller) toward the outfall along the main line
        assert max(p["diameter_mm"] for p in pipes) >= 800


def test_rain_outfalls_at_the_river(ds, nets):
    river = metric([r for r in ds.rivers if r["name"] == "柳堰河"][0]["geom"])
    nodes, _ = nets["rain"]
    for n in nodes.values():
        if n["kind"] == "排放口":
            assert river.distance(metric(n["geom"])) < 150


def test_heating_only_central(ds, nets, town):
    nodes, _ = nets["heating"]
    centre = metric(shapely.Point(114.02, 33.38))
    d = [centre.distance(metric(n["geom"])) for n in nodes.values() if n["kind"] != "热源"]
    assert np.percentile(d, 90) < 1500
    assert len(nets["heating"][1]) < 0.6 * len(nets["water"][1])


# ---- points ------------------------------------------------------------------------------
def test_points_inside_the_county(ds):
    county = ds.county["geom"]
    for layer in ("addresses", "pois", "risk_points", "pipe_nodes"):
        pts = np.array([x["geom"] for x in getattr(ds, layer)], dtype=object)
        assert shapely.contains(county, pts).all(), layer
    assert shapely.contains_xy(county, ds.components["lon"], ds.components["lat"]).all()


def test_addresses(ds):
    comm_geom = {c["code"]: c["geom"] for c in ds.communities}
    street_name = {s["code"]: s["name"] for s in ds.streets}
    seen = set()
    for a in ds.addresses[::7]:
        key = (a["road_code"], a["number"])
        assert key not in seen
        seen.add(key)
        assert a["full_address"] == f"西平县{street_name[a['community_code'][:9]]}{a['road_name']}{a['number']}号"
        assert comm_geom[a["community_code"]].contains(a["geom"])
    codes = [a["code"] for a in ds.addresses]
    assert len(set(codes)) == len(codes)
    # odd numbers on one side of the road, even on the other
    roads = {r["code"]: r["geom"] for r in ds.roads}
    for a in ds.addresses[::50]:
        line = metric(roads[a["road_code"]])
        p = metric(a["geom"])
        s = line.project(p)
        q0, q1 = line.interpolate(max(0, s - 1)), line.interpolate(min(line.length, s + 1))
        side = (q1.x - q0.x) * (p.y - q0.y) - (q1.y - q0.y) * (p.x - q0.x)
        assert (side > 0) == (a["number"] % 2 == 1), a["code"]


def test_pois(ds):
    cats = Counter(p["category"] for p in ds.pois)
    for k in ("学校", "医院", "农贸市场", "商场", "政府机关", "公园", "加油站", "燃气调压站", "水厂", "污水处理厂", "车站"):
        assert cats[k] >= 1, k
    assert len({p["code"] for p in ds.pois}) == len(ds.pois)
    assert len({p["name"] for p in ds.pois}) == len(ds.pois)
    assert all(p["address"].startswith("西平县") for p in ds.pois)


def test_risk_points(ds):
    depts = {d["code"] for d in ds.departments}
    levels = Counter(r["level"] for r in ds.risk_points)
    assert set(levels) <= {1, 2, 3, 4}
    assert (levels[3] + levels[4]) / len(ds.risk_points) > 0.7
    cats = Counter(r["category"] for r in ds.risk_points)
    for k in ("燃气管网", "供水管网", "排水管网", "热力管网", "桥梁", "人员密集场所", "危险化学品"):
        assert cats[k] >= 1, k
    assert cats["桥梁"] == len(ds.bridges)
    for r in ds.risk_points:
        assert re.fullmatch(r"RP\d{4}", r["code"]) and r["dept_code"] in depts
        assert r["network"] in (None, *NETWORKS)
        m = re.search(r"D=([\d.]+)", r["description"])
        d = float(m.group(1))
        assert r["level"] == (1 if d > 320 else 2 if d > 160 else 3 if d > 70 else 4)


# ---- code tables ---------------------------------------------------------------------------
def test_class_tables(ds):
    comp = {c["small_code"]: c for c in ds.component_classes}
    for code in [f"01{i:02d}" for i in range(1, 13)] + [f"02{i:02d}" for i in range(1, 10)] + ["0301", "0401", "0402"]:
        assert comp[code]["confirmed"] is True and comp[code]["type"] == "部件"
    assert comp["0101"]["name"] == "上水井盖" and comp["0209"]["name"] == "交通标志牌" and comp["0402"]["name"] == "行道树"
    assert {c["big_code"]: c["big_name"] for c in ds.component_classes} == {
        "01": "公用设施", "02": "道路交通", "03": "市容环境", "04": "园林绿化", "05": "房屋土地", "06": "其他设施"}
    ev = {c["small_code"]: c for c in ds.event_classes}
    for code in ("0101", "0109", "0201", "0204", "0301", "0302", "0304", "0305", "0401", "0404",
                 "0501", "0507", "0509", "0510"):
        assert ev[code]["confirmed"] is True and ev[code]["type"] == "事件"
    assert ev["0403"]["name"] == "燃气管道破裂"
    for table in (ds.component_classes, ds.event_classes):
        assert len({c["small_code"] for c in table}) == len(table)
        assert all(c["small_code"][:2] == c["big_code"] for c in table)


def test_departments_tree(ds):
    depts = {d["code"]: d for d in ds.departments}
    roots = [d for d in ds.departments if d["parent_code"] is None]
    assert [r["name"] for r in roots] == ["西平县人民政府"]
    for d in ds.departments:
        assert re.fullmatch(r"D\d{3}", d["code"])
        assert d["kind"] in ("government", "bureau", "section", "utility", "street_office")
        assert d["parent_code"] is None or d["parent_code"] in depts
    names = " ".join(depts[c]["name"] for c in depts)
    for part in ("城市管理局", "自来水公司", "燃气公司", "热力公司", "排水管理所", "园林绿化中心", "柏苑街道办事处"):
        assert part in names
