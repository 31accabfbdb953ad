"""Benchmark: burst isolation on the demo networks (water, gas, heating).

Times, in the same run and on the same database, for a sample of pipes:

  * baseline: the bare nearest-pipe SQL (KNN snap of a point to its pipe), one round trip
  * graph:    the in-memory BFS of webapp.lifeline.network_graph.burst (zone, valves, cut-off)
  * full:     webapp.lifeline.network.burst_result — BFS plus the SQL for valve
              locations, regions, served addresses and the result GeoJSON (what the API returns)
  * cold:     the first load of a network's graph (adjacency and served addresses)

and prints p50/p95 in milliseconds.

Usage:  .venv/bin/python bench/network_burst.py --url postgresql+psycopg://…  [--samples 200]
        (without --url: DATABASE_URL, else the embedded cluster under var/pg with the demo loaded)
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import text  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from geo.db import get_engine  # noqa: E402
from webapp.lifeline import network_graph as ng  # noqa: E402
from webapp.lifeline import network_sql as ns  # noqa: E402


def _ms(samples: list[float]) -> str:
    s = sorted(samples)
    return f"p50 {statistics.median(s) * 1000:7.2f} ms   p95 {s[int(len(s) * 0.95) - 1] * 1000:7.2f} ms"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", default=os.environ.get("DATABASE_URL"))
    ap.add_argument("--samples", type=int, default=200)
    args = ap.parse_args()
    url = args.url
    if not url:
        from geo.pgcluster import database_url
        from geo.settings import get_settings
        url = database_url(get_settings())
    from webapp.lifeline.network import burst_result
    with Session(get_engine(url)) as db:
        for net in ng.PRESSURE:
            ng._cache.clear()
            t = time.perf_counter()
            g = ng.load(db.connection(), net)
            ng.served_addresses(db.connection(), g)
            cold = time.perf_counter() - t
            rows = db.execute(text("""SELECT code, ST_X(ST_LineInterpolatePoint(geom, 0.5)),
                                             ST_Y(ST_LineInterpolatePoint(geom, 0.5))
                                        FROM geo.pipe WHERE network = :n ORDER BY code"""), {"n": net}).all()
            step = max(1, len(rows) // args.samples)
            sample = rows[::step][:args.samples]
            base, graph, full = [], [], []
            zone = 0
            for code, x, y in sample:
                from shapely.geometry import Point
                t = time.perf_counter()
                ns.snap(db, net, Point(x, y))
                base.append(time.perf_counter() - t)
                t = time.perf_counter()
                b = ng.burst(g, code)
                graph.append(time.perf_counter() - t)
                zone += len(b.isolated)
                t = time.perf_counter()
                burst_result(db, net, {"code": code})
                full.append(time.perf_counter() - t)
            print(f"{ng.NETWORK_NAMES[net]} ({net}): {len(g.ends)} pipes, {len(sample)} bursts, "
                  f"mean zone {zone / len(sample):.1f} pipes, cold load {cold * 1000:.0f} ms")
            print(f"  baseline nearest-pipe SQL  {_ms(base)}")
            print(f"  graph BFS (ours)           {_ms(graph)}")
            print(f"  full burst analysis (API)  {_ms(full)}")


if __name__ == "__main__":
    main()
