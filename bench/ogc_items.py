"""Benchmark: OGC API Features and vector tiles on the --scale 20 data.

Runs, in one go on loopback with 2 gunicorn workers each:
  * our endpoint (/ogc with the SQL-side provider, behind our access guard),
  * stock pygeoapi with its PostgreSQL provider serving the same table,
  * the raw SQL of the same queries (psycopg, one connection),
and prints requests/s, p50 and p95 for: small bbox (~100 features), single
items, limit=1000 pages, and z14 vector tiles.

Usage:  make bench-data   (once: ~1 million components)
        .venv/bin/python bench/ogc_items.py [--seconds 10] [--concurrency 4]
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlencode

import math
import psycopg
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from geo.pgcluster import database_url  # noqa: E402
from geo.settings import get_settings  # noqa: E402
from ogc.config import build_config, libpq_dsn  # noqa: E402


def free_port() -> int:
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_up(port: int, path: str, timeout: float = 90) -> None:
    end = time.time() + timeout
    while time.time() < end:
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            c.request("GET", path)
            if c.getresponse().status < 500:
                return
        except OSError:
            time.sleep(0.5)
    raise RuntimeError(f"server on {port} did not come up")


def start_ours(port: int, env: dict) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "gunicorn", "-w", "2", "-b", f"127.0.0.1:{port}",
                             "--log-level", "warning", "webapp.wsgi:app"], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def stock_table(dsn: str) -> None:
    """Stock pygeoapi's PostgreSQL provider builds its bbox envelope in the
    storage CRS's EPSG code or 4326 and, given EPSG:4490, reorders the bbox to
    lat/lon and rebuilds a PROJ transformer per request. Its best case is a
    lon/lat table declared as 4326: give it an identical copy of the rows
    (same columns, same GiST index), so the comparison is query for query."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("CREATE SCHEMA IF NOT EXISTS bench")
        n = conn.execute("SELECT count(*) FROM geo.component").fetchone()[0]
        have = conn.execute("SELECT to_regclass('bench.component') IS NOT NULL").fetchone()[0]
        if have and conn.execute("SELECT count(*) FROM bench.component").fetchone()[0] == n:
            return
        conn.execute("DROP TABLE IF EXISTS bench.component")
        conn.execute("CREATE TABLE bench.component AS SELECT id, code, class_code, name, status, owner_dept, "
                     "maintainer_dept, grid_code, address, ST_SetSRID(geom, 4326)::geometry(Point, 4326) AS geom "
                     "FROM geo.component ORDER BY grid_code")
        conn.execute("ALTER TABLE bench.component ADD PRIMARY KEY (code)")
        conn.execute("CREATE INDEX ON bench.component USING gist (geom)")
        conn.execute("ANALYZE bench.component")


def start_stock(port: int, dsn: str, workdir: Path) -> subprocess.Popen:
    """Stock pygeoapi, its PostgreSQL provider, default options."""
    from psycopg.conninfo import conninfo_to_dict
    info = conninfo_to_dict(dsn)
    cfg = {
        "server": {"bind": {"host": "127.0.0.1", "port": port}, "url": f"http://127.0.0.1:{port}",
                   "mimetype": "application/json; charset=UTF-8", "encoding": "utf-8", "languages": ["en-US"],
                   "limits": {"default_items": 100, "max_items": 10000}, "map": {"url": "", "attribution": ""},
                   "pretty_print": False},
        "logging": {"level": "ERROR"},
        "metadata": build_config([], dsn, f"http://127.0.0.1:{port}")["metadata"],
        "resources": {"components": {
            "type": "collection", "title": "components", "description": "components", "keywords": ["x"],
            "extents": {"spatial": {"bbox": [113.7, 33.15, 114.3, 33.6]}},
            "providers": [
                {"type": "feature", "name": "PostgreSQL",
                 "data": {"host": info["host"], "port": int(info["port"]), "dbname": info["dbname"],
                          "user": info["user"], "password": info["password"], "search_path": ["bench", "public"]},
                 "id_field": "code", "table": "component", "geom_field": "geom"},
                {"type": "tile", "name": "MVT-postgresql",
                 "data": {"host": info["host"], "port": int(info["port"]), "dbname": info["dbname"],
                          "user": info["user"], "password": info["password"], "search_path": ["bench", "public"]},
                 "id_field": "code", "table": "component", "geom_field": "geom",
                 "options": {"zoom": {"min": 0, "max": 20}},
                 "format": {"name": "pbf", "mimetype": "application/vnd.mapbox-vector-tile"}},
            ]}},
    }
    cfg_path, oas_path = workdir / "stock.yml", workdir / "stock-oas.yml"
    cfg_path.write_text(yaml.safe_dump(cfg))
    from pygeoapi.openapi import get_oas
    oas_path.write_text(yaml.safe_dump(get_oas(cfg)))
    env = dict(os.environ, PYGEOAPI_CONFIG=str(cfg_path), PYGEOAPI_OPENAPI=str(oas_path))
    return subprocess.Popen([sys.executable, "-m", "gunicorn", "-w", "2", "-b", f"127.0.0.1:{port}",
                             "--log-level", "warning", "pygeoapi.flask_app:APP"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def load(port: int, paths: list[str], seconds: float, concurrency: int, headers: dict) -> dict:
    """Closed-loop load: `concurrency` keep-alive clients for `seconds`."""
    lat: list[float] = []
    sizes: list[int] = []
    errors = [0]
    stop = time.perf_counter() + seconds
    lock = threading.Lock()

    def worker(seed: int):
        rnd = random.Random(seed)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        mine, my_sizes = [], []
        while time.perf_counter() < stop:
            path = rnd.choice(paths)
            t0 = time.perf_counter()
            try:
                conn.request("GET", path, headers=headers)
                resp = conn.getresponse()
                body = resp.read()
            except (OSError, http.client.HTTPException):
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
                errors[0] += 1
                continue
            mine.append(time.perf_counter() - t0)
            if resp.status != 200:
                errors[0] += 1
                if errors[0] == 1:
                    print(f"  first error on :{port}{path[:80]} -> {resp.status} {body[:200]!r}")
            my_sizes.append(len(body))
        with lock:
            lat.extend(mine)
            sizes.extend(my_sizes)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(concurrency)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    return summarise(lat, wall, errors[0], sizes)


def summarise(lat: list[float], wall: float, errors: int = 0, sizes=None) -> dict:
    lat = sorted(lat)
    n = len(lat)
    return {"n": n, "rps": n / wall if wall else 0, "p50": lat[n // 2] * 1000 if n else float("nan"),
            "p95": lat[int(n * 0.95)] * 1000 if n else float("nan"), "errors": errors,
            "bytes": statistics.mean(sizes) if sizes else 0}


def quiesce(dsn: str) -> None:
    """End queries a previous run left behind (a client that timed out does
    not stop PostgreSQL working), so each measurement starts on a quiet DB."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE pid <> pg_backend_pid() "
                     "AND backend_type = 'client backend' AND datname = current_database() AND state = 'active'")
    time.sleep(1)


def sql_timing(dsn: str, queries: list[tuple[str, list]], seconds: float, min_samples: int = 5) -> dict:
    lat = []
    with psycopg.connect(dsn, autocommit=True) as conn:
        stop = time.perf_counter() + seconds
        i = 0
        t_start = time.perf_counter()
        while time.perf_counter() < stop or i < min_samples:
            q, p = queries[i % len(queries)]
            t0 = time.perf_counter()
            conn.execute(q, p).fetchall()
            lat.append(time.perf_counter() - t0)
            i += 1
        wall = time.perf_counter() - t_start
    return summarise(lat, wall)


def tile_xy(lon: float, lat: float, z: int) -> tuple[int, int]:
    x = int((lon + 180) / 360 * 2 ** z)
    y = int((1 - math.log(math.tan(math.radians(lat)) + 1 / math.cos(math.radians(lat))) / math.pi) / 2 * 2 ** z)
    return x, y


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=10)
    ap.add_argument("--concurrency", type=int, default=4)
    ap.add_argument("--samples", type=int, default=300)
    args = ap.parse_args()

    settings = get_settings()
    url = database_url(settings)
    dsn = libpq_dsn(url)
    with psycopg.connect(dsn, autocommit=True) as conn:
        total = conn.execute("SELECT count(*) FROM geo.component").fetchone()[0]
        if total < 500_000:
            print(f"only {total:,} components: run `make bench-data` (demo load --scale 20) first")
        sample = conn.execute("SELECT code, ST_X(geom), ST_Y(geom) FROM geo.component TABLESAMPLE SYSTEM (1) "
                              "LIMIT %s", (args.samples,)).fetchall()
        # Size a bbox that holds about 100 features around sampled components.
        half = 0.0003
        counts = []
        for _ in range(12):
            counts = [conn.execute("SELECT count(*) FROM geo.component WHERE geom && ST_MakeEnvelope(%s,%s,%s,%s,4490)",
                                   (x - half, y - half, x + half, y + half)).fetchone()[0] for _, x, y in sample[:40]]
            avg = statistics.mean(counts)
            if 80 <= avg <= 125:
                break
            half *= math.sqrt(100 / max(avg, 1))
        big_half = half * math.sqrt(10)  # ~1,000 features
        key_user = conn.execute("""SELECT id FROM admin."user" WHERE username='admin'""").fetchone()[0]
    print(f"components: {total:,}; small bbox half-size {half:.5f}° ≈ {statistics.mean(counts):.0f} features")

    from sqlalchemy.orm import Session
    from geo.db import get_engine
    from webapp.auth.service import create_api_key
    with Session(get_engine(url)) as s:
        key = create_api_key(s, "bench", key_user)

    bboxes = [(x - half, y - half, x + half, y + half) for _, x, y in sample]
    big = [(x - big_half, y - big_half, x + big_half, y + big_half) for _, x, y in sample]
    codes = [c for c, _, _ in sample]
    tiles = sorted({tile_xy(x, y, 14) for _, x, y in sample})

    def bbox_q(b, limit):
        return urlencode({"f": "json", "bbox": ",".join(f"{v:.6f}" for v in b), "limit": limit})

    scenarios = {
        "bbox ~100": ([f"/collections/components/items?{bbox_q(b, 1000)}" for b in bboxes]),
        "single item": ([f"/collections/components/items/{c}?f=json" for c in codes]),
        "limit=1000 page": ([f"/collections/components/items?{bbox_q(b, 1000)}" for b in big]),
        "z14 tile": ([f"/collections/components/tiles/WebMercatorQuad/14/{y}/{x}?f=mvt" for x, y in tiles]),
    }
    feat = ("SELECT json_build_object('type','Feature','id',code,'geometry',ST_AsGeoJSON(geom,7)::json,"
            "'properties',json_build_object('code',code,'class_code',class_code,'name',name,'status',status,"
            "'owner_dept',owner_dept,'maintainer_dept',maintainer_dept,'grid_code',grid_code,'address',address))")
    sql_q = {
        "bbox ~100": [(f"SELECT json_agg(f) FROM ({feat} AS f FROM geo.component WHERE geom && "
                       "ST_MakeEnvelope(%s,%s,%s,%s,4490) ORDER BY code LIMIT 1000) s", list(b)) for b in bboxes],
        "single item": [(f"{feat} FROM geo.component WHERE code = %s", [c]) for c in codes],
        "limit=1000 page": [(f"SELECT json_agg(f) FROM ({feat} AS f FROM geo.component WHERE geom && "
                             "ST_MakeEnvelope(%s,%s,%s,%s,4490) ORDER BY code LIMIT 1000) s", list(b)) for b in big],
        "z14 tile": [("WITH b AS (SELECT ST_TileEnvelope(14,%s,%s) env), m AS (SELECT ST_AsMVTGeom(ST_Transform(geom,3857),"
                      " b.env) mvtgeom, code, class_code, name, status, owner_dept, maintainer_dept, grid_code, address"
                      " FROM geo.component, b WHERE geom && ST_Transform(b.env,4490)) SELECT ST_AsMVT(m.*,'component',"
                      "4096,'mvtgeom') FROM m", [x, y]) for x, y in tiles],
    }

    workdir = Path(tempfile.mkdtemp(prefix="cityops-bench-"))
    ours_port, stock_port = free_port(), free_port()
    env = dict(os.environ, PORT=str(ours_port), CITYOPS_BASE_URL=f"http://127.0.0.1:{ours_port}")
    results: dict[str, dict] = {}
    procs = []
    try:
        procs.append(start_ours(ours_port, env))
        stock_table(dsn)
        procs.append(start_stock(stock_port, dsn, workdir))
        wait_up(ours_port, "/healthz")
        wait_up(stock_port, "/collections/components?f=json")
        for name, paths in scenarios.items():
            ours_paths = ["/ogc" + p for p in paths]
            quiesce(dsn)
            load(ours_port, ours_paths[:20], 1.5, args.concurrency, {"X-API-Key": key})  # warm-up
            results[(name, "ours")] = load(ours_port, ours_paths, args.seconds, args.concurrency, {"X-API-Key": key})
            # Stock pygeoapi takes the same query; its bbox assumes lon/lat storage, which holds numerically.
            quiesce(dsn)
            load(stock_port, paths[:20], 1.5, args.concurrency, {})
            results[(name, "stock pygeoapi")] = load(stock_port, paths, args.seconds, args.concurrency, {})
            quiesce(dsn)
            results[(name, "raw SQL (1 conn)")] = sql_timing(dsn, sql_q[name], min(args.seconds, 5))
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait(timeout=30)
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute("DELETE FROM admin.api_key WHERE key_id = %s", (key.split(".")[0],))

    print(f"\nOGC API benchmark — {total:,} components, 2 workers each, {args.concurrency} clients, "
          f"{args.seconds:.0f} s per run, loopback\n")
    print(f"{'scenario':<18}{'endpoint':<20}{'req/s':>9}{'p50 ms':>9}{'p95 ms':>9}{'errors':>8}{'KB':>8}")
    for (name, who), r in results.items():
        print(f"{name:<18}{who:<20}{r['rps']:>9.1f}{r['p50']:>9.2f}{r['p95']:>9.2f}{r['errors']:>8}{r['bytes']/1024:>8.1f}")
    print()
    for name in scenarios:
        ours, stock, raw = (results[(name, w)] for w in ("ours", "stock pygeoapi", "raw SQL (1 conn)"))
        speedup = ours["rps"] / stock["rps"] if stock["rps"] else float("inf")
        print(f"{name:<18} ours/stock throughput: {speedup:5.1f}×   ours p50 / raw SQL p50: {ours['p50'] / raw['p50']:5.2f}×")
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    (out / "ogc_items.json").write_text(json.dumps({f"{k[0]} | {k[1]}": v for k, v in results.items()}, indent=1))


if __name__ == "__main__":
    main()
