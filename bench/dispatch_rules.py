"""Benchmark: smart dispatch rules (R29–R30) against the Xiping demo data.

For N random points inside the county (default 10,000) with random case
sources and classes, times in one run and on one connection:

  * baseline: the bare geo.geocode.locate_point lookup of each point
    (community, street, unit grid, responsibility grid) — what every new case
    costs anyway;
  * ours:     auto_actions (first matching auto-registration rule) +
    dispatch_candidates (most specific responsibility entries, or the
    responsibility grid's department) for the place found.

Prints mean/p50/p95 in milliseconds per case for both, and how the answers
split (automatic dispatch, dispatcher asked, fallback to the responsibility grid).

Usage:  .venv/bin/python bench/dispatch_rules.py [--points 10000]
        (DATABASE_URL set: uses that server, which must hold the demo data;
         else a private temporary cluster loaded with the scale-1 demo data)
"""
from __future__ import annotations

import argparse
import os
import random
import shutil
import socket
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, text  # noqa: E402

from geo.geocode import locate_point  # noqa: E402
from webapp.cases.dispatch_rules import Place, auto_actions, dispatch_candidates  # noqa: E402
from webapp.cases.stages import SOURCES  # noqa: E402


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _demo_cluster(workdir: Path) -> tuple[str, object]:
    from geo.migrate import upgrade
    from geo.pgcluster import EmbeddedCluster
    from webapp.cli import load_demo
    os.environ.setdefault("CITYOPS_ADMIN_PASSWORD", "Bench-admin-2026")
    os.environ["CITYOPS_VAR"] = str(workdir / "var")
    cluster = EmbeddedCluster(workdir / "pg", _free_port())
    cluster.start()
    url = cluster.url()
    upgrade(url)
    load_demo(url, 1.0, replace=True, log=lambda *_: None)
    return url, cluster


def _stats(xs: list[float]) -> str:
    xs = sorted(xs)
    p = lambda q: xs[min(len(xs) - 1, int(q * len(xs)))] * 1000  # noqa: E731
    return f"mean {statistics.fmean(xs) * 1000:6.3f} ms   p50 {p(0.5):6.3f} ms   p95 {p(0.95):6.3f} ms   " \
           f"total {sum(xs):6.2f} s"


def run(url: str, n: int, seed: int) -> None:
    engine = create_engine(url)
    rng = random.Random(seed)
    with engine.connect() as conn:
        pts = conn.execute(text("""
            SELECT ST_X(g), ST_Y(g) FROM (
              SELECT (ST_Dump(ST_GeneratePoints(ST_Union(geom), :n, :seed))).geom g
                FROM geo.region WHERE level = 'street') s"""), {"n": n, "seed": seed}).all()
        classes = [(("component" if t == "component_class" else "event"), c) for t, c in conn.execute(text(
            "SELECT type_code, code FROM geo.dict_item WHERE type_code IN ('component_class','event_class') "
            "AND length(code) = 4 ORDER BY 1, 2"))]
        cases = [(lon, lat, rng.choice(list(SOURCES)), *rng.choice(classes)) for lon, lat in pts]
        n_rules = conn.execute(text("SELECT count(*) FROM cases.register_rule WHERE enabled")).scalar()
        n_entries = conn.execute(text("SELECT count(*) FROM cases.resp_entry WHERE enabled")).scalar()
        # Warm up both paths (plans, caches, the county outline).
        for lon, lat, src, kind, cls in cases[:50]:
            p = Place.from_location(locate_point(conn, engine, lon, lat))
            auto_actions(conn, src, kind, cls, p)
            dispatch_candidates(conn, kind, cls, p)

        base, ours, places = [], [], []
        for lon, lat, *_ in cases:
            t0 = time.perf_counter()
            loc = locate_point(conn, engine, lon, lat)
            base.append(time.perf_counter() - t0)
            places.append(Place.from_location(loc))
        outcome = {"auto": 0, "ask": 0, "fallback": 0, "none": 0, "rule": 0}
        for (lon, lat, src, kind, cls), place in zip(cases, places):
            t0 = time.perf_counter()
            decision = auto_actions(conn, src, kind, cls, place)
            cands = dispatch_candidates(conn, kind, cls, place)
            ours.append(time.perf_counter() - t0)
            outcome["rule"] += decision.rule_id is not None
            if not cands:
                outcome["none"] += 1
            elif cands[0].entry_id is None:
                outcome["fallback"] += 1
            elif len({c.dept_code for c in cands}) == 1:
                outcome["auto"] += 1
            else:
                outcome["ask"] += 1
    engine.dispose()
    print(f"{len(cases)} random points in the county × random source/class; "
          f"{n_rules} enabled rules, {n_entries} enabled responsibility entries")
    print(f"baseline  geo.geocode.locate_point          {_stats(base)}")
    print(f"ours      auto_actions + dispatch_candidates {_stats(ours)}")
    print(f"ratio (ours / baseline, mean): {statistics.fmean(ours) / statistics.fmean(base):.2f}")
    print(f"answers: rule matched {outcome['rule']}, one department by the list {outcome['auto']}, "
          f"dispatcher asked {outcome['ask']}, responsibility-grid fallback {outcome['fallback']}, "
          f"no candidate {outcome['none']}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--points", type=int, default=10_000)
    ap.add_argument("--seed", type=int, default=411721)
    args = ap.parse_args()
    url = os.environ.get("DATABASE_URL")
    cluster, workdir = None, None
    if url and (url.startswith("postgresql://") or url.startswith("postgres://")):
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
    if not url:
        workdir = Path(tempfile.mkdtemp(prefix="cityops-bench-"))
        os.chmod(workdir, 0o711)
        url, cluster = _demo_cluster(workdir)
    try:
        run(url, args.points, args.seed)
    finally:
        if cluster is not None:
            cluster.destroy()
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
