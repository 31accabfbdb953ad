"""Pipe-network connectivity in PostGIS: what burst analysis and
upstream/downstream tracing will rely on."""
from __future__ import annotations

import pytest
from sqlalchemy import create_engine, text

REACH = text("""
WITH RECURSIVE walk(node) AS (
    SELECT CAST(:start AS varchar)
  UNION
    SELECT CASE WHEN p.from_node = w.node THEN p.to_node ELSE p.from_node END
    FROM walk w JOIN geo.pipe p ON p.network = :net AND (p.from_node = w.node OR p.to_node = w.node)
)
SELECT count(*) FROM walk
""")


@pytest.fixture(scope="module")
def conn(demo_db):
    eng = create_engine(demo_db)
    with eng.connect() as c:
        yield c
    eng.dispose()


@pytest.mark.parametrize("net,source", [("water", "水源"), ("gas", "门站"), ("heating", "热源")])
def test_pressure_networks_connected_from_source(conn, net, source):
    start = conn.execute(text("SELECT code FROM geo.pipe_node WHERE network=:n AND kind=:k ORDER BY code LIMIT 1"),
                         {"n": net, "k": source}).scalar()
    assert start, f"{net} has a {source}"
    total = conn.execute(text("SELECT count(*) FROM geo.pipe_node WHERE network=:n"), {"n": net}).scalar()
    assert conn.execute(REACH, {"start": start, "net": net}).scalar() == total


@pytest.mark.parametrize("net", ["rain", "sewage"])
def test_drainage_flows_downstream_to_an_outfall(conn, net):
    # Every node but an outfall drains on through a pipe (from_node → to_node)...
    sinks = conn.execute(text("""
        SELECT count(*) FROM geo.pipe_node n WHERE n.network = :n AND n.kind <> '排放口'
        AND NOT EXISTS (SELECT 1 FROM geo.pipe p WHERE p.network = :n AND p.from_node = n.code)"""),
        {"n": net}).scalar()
    assert sinks == 0
    # ...and following the flow from any node never comes back to it (no cycles):
    # walking downstream from every start node terminates within the node count.
    n_nodes = conn.execute(text("SELECT count(*) FROM geo.pipe_node WHERE network=:n"), {"n": net}).scalar()
    longest = conn.execute(text("""
        WITH RECURSIVE down(node, depth) AS (
            SELECT code, 0 FROM geo.pipe_node n WHERE network = :n
              AND NOT EXISTS (SELECT 1 FROM geo.pipe p WHERE p.to_node = n.code)
          UNION
            SELECT p.to_node, d.depth + 1 FROM down d JOIN geo.pipe p ON p.network = :n AND p.from_node = d.node
            WHERE d.depth < :cap
        ) SELECT max(depth) FROM down"""), {"n": net, "cap": n_nodes + 1}).scalar()
    assert longest <= n_nodes


def test_pipe_ends_touch_their_nodes(conn):
    bad = conn.execute(text("""
        SELECT count(*) FROM geo.pipe p
        JOIN geo.pipe_node a ON a.code = p.from_node JOIN geo.pipe_node b ON b.code = p.to_node
        WHERE NOT ST_Equals(ST_StartPoint(p.geom), a.geom) OR NOT ST_Equals(ST_EndPoint(p.geom), b.geom)
    """)).scalar()
    assert bad == 0
