"""The pipe graph of one network (geo.pipe / geo.pipe_node) held in memory,
and the traversals of the network analysis:

  * burst isolation (pressurised networks: water, gas, heating): walk out from
    the burst pipe, stopping at valves (and at the source, whose outlet is shut);
    the walked pipes are the isolated zone, the valves met are the ones to close.
    Then everything no longer connected to a source once the zone is shut is
    cut off. Connectivity is undirected: looped mains can be fed either way.
  * drainage tracing (rain, sewage: gravity): follow from_node → to_node
    downstream to the outfall, or backwards upstream.

A network has a few thousand pipes, so a plain BFS over a cached adjacency is
far faster than a round trip per step (see bench/network_burst.py). The cache
is keyed by a cheap fingerprint of the network's rows, so edits show at once."""
from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass, field

from sqlalchemy import text

PRESSURE = ("water", "gas", "heating")
DRAINAGE = ("rain", "sewage")
NETWORK_NAMES = {"water": "供水", "gas": "燃气", "heating": "供热", "rain": "雨水", "sewage": "污水"}
VALVE_KINDS = frozenset({"阀门"})
# Where the supply enters each pressurised network (demo node kinds). Gas
# regulators (调压站) and heat exchangers (换热站) are fed from these, so they
# are not independent sources.
SOURCE_KINDS = {"water": frozenset({"水源"}), "gas": frozenset({"门站"}), "heating": frozenset({"热源"})}
OUTFALL_KINDS = frozenset({"排放口"})
# Served-address rule: an address is served by its nearest pipe of the network
# when that pipe lies within this distance (metres, EPSG:4547).
SERVICE_RADIUS_M = 150.0

_FINGERPRINT = text("""
    SELECT (SELECT count(*) || ':' || coalesce(sum(version), 0) || ':' || coalesce(max(updated_at)::text, '')
              FROM geo.pipe WHERE network = :n) || '|' ||
           (SELECT count(*) || ':' || coalesce(sum(version), 0) || ':' || coalesce(max(updated_at)::text, '')
              FROM geo.pipe_node WHERE network = :n)""")
_PIPES = text("""SELECT code, from_node, to_node, ST_Length(ST_Transform(geom, 4547)) FROM geo.pipe
                  WHERE network = :n""")
_NODES = text("SELECT code, kind FROM geo.pipe_node WHERE network = :n")
# Nearest pipe (metric) of the network for every address within the service radius. The
# degree window (radius / metres per degree of longitude at 33.6°N, the smallest in the
# county) lets the GiST index find the few candidates.
_SERVED = text("""
    SELECT a.id, p.code FROM geo.address a
     CROSS JOIN LATERAL (
        SELECT code FROM geo.pipe
         WHERE network = :n AND ST_DWithin(geom, a.geom, :r / 92700.0)
           AND ST_DWithin(ST_Transform(geom, 4547), ST_Transform(a.geom, 4547), :r)
         ORDER BY ST_Distance(ST_Transform(geom, 4547), ST_Transform(a.geom, 4547)), code LIMIT 1) p""")


@dataclass
class Graph:
    network: str
    fingerprint: str
    ends: dict[str, tuple[str, str]]                 # pipe → (from_node, to_node)
    length: dict[str, float]                         # pipe → metres (EPSG:4547)
    kind: dict[str, str]                             # node → kind
    adj: dict[str, list[tuple[str, str]]] = field(default_factory=dict)    # node → [(pipe, other node)]
    out: dict[str, list[tuple[str, str]]] = field(default_factory=dict)    # node → [(pipe, to_node)]
    into: dict[str, list[tuple[str, str]]] = field(default_factory=dict)   # node → [(pipe, from_node)]
    served: dict[str, list[int]] | None = None       # pipe → address ids it serves (lazy)

    @classmethod
    def build(cls, network: str, fingerprint: str, pipes, nodes) -> "Graph":
        g = cls(network, fingerprint, {}, {}, dict(nodes))
        for code, a, b, length in pipes:
            g.ends[code] = (a, b)
            g.length[code] = float(length)
            g.adj.setdefault(a, []).append((code, b))
            g.adj.setdefault(b, []).append((code, a))
            g.out.setdefault(a, []).append((code, b))
            g.into.setdefault(b, []).append((code, a))
        return g

    def sources(self) -> list[str]:
        kinds = SOURCE_KINDS.get(self.network, frozenset())
        return sorted(n for n, k in self.kind.items() if k in kinds)

    def total_length(self, pipes) -> float:
        return sum(self.length[p] for p in pipes)


_cache: dict[tuple[str, str], Graph] = {}
_lock = threading.Lock()


def load(conn, network: str) -> Graph:
    """The network's graph, rebuilt when its rows changed."""
    key = (str(conn.engine.url), network)
    fp = conn.execute(_FINGERPRINT, {"n": network}).scalar()
    g = _cache.get(key)
    if g is not None and g.fingerprint == fp:
        return g
    g = Graph.build(network, fp, conn.execute(_PIPES, {"n": network}).all(),
                    conn.execute(_NODES, {"n": network}).all())
    with _lock:
        _cache[key] = g
    return g


def served_addresses(conn, g: Graph) -> dict[str, list[int]]:
    if g.served is None:
        served: dict[str, list[int]] = {}
        for addr, pipe in conn.execute(_SERVED, {"n": g.network, "r": SERVICE_RADIUS_M}):
            served.setdefault(pipe, []).append(addr)
        g.served = served
    return g.served


@dataclass
class Burst:
    pipe: str
    valves: list[str]          # valve nodes to close, sorted
    sources_shut: list[str]    # source nodes whose outlet toward the zone must be shut
    isolated: list[str]        # pipes inside the closed zone (the burst pipe included)
    zone_nodes: list[str]
    cut_off: list[str]         # pipes outside the zone that lose every path to a source


def burst(g: Graph, pipe: str) -> Burst:
    valve_kinds, source_kinds = VALVE_KINDS, SOURCE_KINDS.get(g.network, frozenset())
    zone, zone_nodes, valves, shut = {pipe}, set(), set(), set()
    seen: set[str] = set()
    todo = deque(g.ends[pipe])
    while todo:
        node = todo.popleft()
        if node in seen:
            continue
        seen.add(node)
        kind = g.kind.get(node)
        if kind in valve_kinds:
            valves.add(node)
            continue
        if kind in source_kinds:
            shut.add(node)
            continue
        zone_nodes.add(node)
        for p, other in g.adj.get(node, ()):
            zone.add(p)
            if other not in seen:
                todo.append(other)
    # Supply after the zone is shut: from every source over the pipes outside the
    # zone. A closed valve only shuts its zone side; its other branches stay open.
    fed: set[str] = set()
    reached = set(g.sources())
    todo = deque(reached)
    while todo:
        node = todo.popleft()
        if node in zone_nodes:
            continue
        for p, other in g.adj.get(node, ()):
            if p in zone:
                continue
            fed.add(p)
            if other not in reached:
                reached.add(other)
                todo.append(other)
    cut = [p for p in g.ends if p not in zone and p not in fed]
    return Burst(pipe, sorted(valves), sorted(shut), sorted(zone), sorted(zone_nodes), sorted(cut))


@dataclass
class Trace:
    pipe: str
    direction: str             # "down" | "up"
    pipes: list[str]
    nodes: list[str]
    ends: list[str]            # outfalls reached (down) or upstream heads (up)


def trace(g: Graph, pipe: str, direction: str) -> Trace:
    """Downstream: from the pipe's to_node along from→to; upstream: from its
    from_node against the flow. The clicked pipe is part of both."""
    step = g.out if direction == "down" else g.into
    start = g.ends[pipe][1] if direction == "down" else g.ends[pipe][0]
    pipes, nodes = [pipe], {start}
    todo = deque([start])
    ends = []
    while todo:
        node = todo.popleft()
        nxt = step.get(node, ())
        if not nxt:
            ends.append(node)
        for p, other in nxt:
            pipes.append(p)
            if other not in nodes:
                nodes.add(other)
                todo.append(other)
    if direction == "down":
        ends = [n for n in ends if g.kind.get(n) in OUTFALL_KINDS] or ends
    return Trace(pipe, direction, list(dict.fromkeys(pipes)), sorted(nodes), sorted(ends))
