"""Benchmark: case intake (上报) through the HTTP API, beside raw INSERTs of the same rows.

In one run, against the bench cluster (CITYOPS_VAR=var/bench, CITYOPS_PG_PORT=55433):

  * the app under gunicorn (2 workers); N clients, each logged in as the
    supervisor (监督员), POST /api/cases for a fixed time: random points inside
    the county (drawn inside geo.region communities), random event classes.
    Each report is geocoded (community, street, unit grid, responsibility
    grid), checked for duplicates, numbered, starts its BPMN workflow, opens
    its first work item, runs the auto-registration/dispatch rules and is
    committed before the 201. Measured: reports/s, p50 and p95 latency.
  * the case rows those requests created, inserted again into a copy table
    (bench.case_copy: same columns, geometry and indexes) with psycopg:
    executemany in one transaction, COPY, and one INSERT + COMMIT per row.

Usage:  CITYOPS_VAR=var/bench CITYOPS_PG_PORT=55433 .venv/bin/cityops demo load   (once)
        .venv/bin/python bench/case_intake.py [--seconds 20] [--clients 8]
The cases it reports stay in the bench database (history is append-only).
"""
from __future__ import annotations

import argparse
import json
import os
import random
import re
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("CITYOPS_VAR", str(ROOT / "var" / "bench"))
os.environ.setdefault("CITYOPS_PG_PORT", "55433")

import psycopg  # noqa: E402
import requests  # noqa: E402

from bench.ogc_items import free_port, summarise, wait_up  # noqa: E402
from geo.pgcluster import database_url  # noqa: E402
from geo.settings import get_settings  # noqa: E402
from ogc.config import libpq_dsn  # noqa: E402

DEMO_PASSWORD = os.environ.get("CITYOPS_DEMO_PASSWORD", "Xiping2026")


def start_app(port: int, log: Path) -> subprocess.Popen:
    env = dict(os.environ, PORT=str(port), CITYOPS_BASE_URL=f"http://127.0.0.1:{port}")
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "ab") as out:
        return subprocess.Popen([sys.executable, "-m", "gunicorn", "-w", "2", "-b", f"127.0.0.1:{port}",
                                 "--log-level", "warning", "--timeout", "120", "webapp.wsgi:app"], cwd=ROOT,
                                env=env, stdout=out, stderr=subprocess.STDOUT)


def login(base: str, username: str) -> requests.Session:
    """The real login form, then the CSRF token for JSON calls (as the pages send it)."""
    s = requests.Session()
    page = s.get(base + "/login", timeout=30).text
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    r = s.post(base + "/login", data={"username": username, "password": DEMO_PASSWORD, "csrf_token": token},
               allow_redirects=False, timeout=30)
    if r.status_code != 302:
        raise SystemExit(f"login as {username} failed ({r.status_code}); demo password from CITYOPS_DEMO_PASSWORD")
    home = s.get(base + "/", timeout=30).text
    s.headers["X-CSRFToken"] = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', home).group(1)
    return s


def sample_inputs(dsn: str, n: int) -> tuple[list[tuple[float, float]], list[str]]:
    """Random points inside the county's communities and the enabled event classes."""
    with psycopg.connect(dsn) as conn:
        communities = conn.execute("SELECT count(*) FROM geo.region WHERE level = 'community'").fetchone()[0]
        if not communities:
            raise SystemExit("no communities: load the demo data into the bench cluster first (see --help)")
        per = max(1, n // communities + 1)
        points = conn.execute("""
            SELECT ST_X(p.geom), ST_Y(p.geom) FROM geo.region r,
                   LATERAL ST_Dump(ST_GeneratePoints(r.geom, %s, 20261202)) p
             WHERE r.level = 'community'""", (per,)).fetchall()
        classes = [c for (c,) in conn.execute(
            "SELECT code FROM geo.dict_item WHERE type_code = 'event_class' AND enabled AND length(code) = 4 "
            "ORDER BY code")]
    rnd = random.Random(411721)
    rnd.shuffle(points)
    return points, classes


def http_load(base: str, sessions: list[requests.Session], points, classes, seconds: float) -> tuple[dict, list]:
    """Closed loop: each client posts its next report as soon as the last is answered."""
    lat: list[float] = []
    ids: list[int] = []
    errors: list[str] = []
    lock = threading.Lock()
    go = threading.Barrier(len(sessions) + 1)
    stop_at = [0.0]

    def client(k: int, s: requests.Session):
        rnd = random.Random(k)
        mine, my_ids = [], []
        go.wait()
        while time.perf_counter() < stop_at[0]:
            lon, lat_ = rnd.choice(points)
            body = {"source": "supervisor", "kind": "event", "class_code": rnd.choice(classes),
                    "description": f"压测上报：第{k}号终端发现问题", "location": {"lon": lon, "lat": lat_}}
            t0 = time.perf_counter()
            r = s.post(base + "/api/cases", json=body, timeout=120)
            dt = time.perf_counter() - t0
            if r.status_code == 201:
                mine.append(dt)
                my_ids.append(r.json()["id"])
            else:
                with lock:
                    errors.append(f"{r.status_code} {r.text[:200]}")
        with lock:
            lat.extend(mine)
            ids.extend(my_ids)

    threads = [threading.Thread(target=client, args=(k, s)) for k, s in enumerate(sessions)]
    for t in threads:
        t.start()
    stop_at[0] = time.perf_counter() + seconds
    t0 = time.perf_counter()
    go.wait()
    for t in threads:
        t.join()
    res = summarise(lat, time.perf_counter() - t0, len(errors))
    if errors:
        print(f"  {len(errors)} refused/failed reports, first: {errors[0]}")
    return res, ids


def copy_table(conn) -> list[str]:
    """bench.case_copy: the columns, defaults, checks and indexes of cases.case (no foreign keys)."""
    conn.execute("CREATE SCHEMA IF NOT EXISTS bench")
    conn.execute("DROP TABLE IF EXISTS bench.case_copy")
    conn.execute('CREATE TABLE bench.case_copy (LIKE cases."case" INCLUDING ALL)')
    return [c for (c,) in conn.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = 'cases' AND table_name = 'case' "
        "ORDER BY ordinal_position")]


def the_rows(conn, cols: list[str], ids: list[int]) -> list[tuple]:
    """The rows the API wrote, as text (each column parses back to its own type)."""
    sel = ", ".join(f'"{c}"::text' for c in cols)
    return conn.execute(f'SELECT {sel} FROM cases."case" WHERE id = ANY(%s) ORDER BY id', (ids,)).fetchall()


def timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def raw_inserts(dsn: str, ids: list[int]) -> dict[str, dict]:
    out = {}
    with psycopg.connect(dsn) as conn:
        cols = copy_table(conn)
        rows = the_rows(conn, cols, ids)
        conn.commit()
        names = ", ".join(f'"{c}"' for c in cols)
        insert = f"INSERT INTO bench.case_copy ({names}) VALUES ({', '.join(['%s'] * len(cols))})"

        def reset():
            conn.execute("TRUNCATE bench.case_copy")
            conn.commit()

        def many():
            with conn.cursor() as cur:
                cur.executemany(insert, rows)
            conn.commit()

        def copy():
            with conn.cursor() as cur, cur.copy(f"COPY bench.case_copy ({names}) FROM STDIN") as cp:
                for row in rows:
                    cp.write_row(row)
            conn.commit()

        per_row_lat: list[float] = []

        def one_by_one():
            for row in rows:
                t0 = time.perf_counter()
                conn.execute(insert, row)
                conn.commit()
                per_row_lat.append(time.perf_counter() - t0)

        for name, fn in (("INSERT executemany (1 txn)", many), ("COPY (1 txn)", copy),
                         ("INSERT + COMMIT per row", one_by_one)):
            reset()
            wall = timed(fn)
            n = conn.execute("SELECT count(*) FROM bench.case_copy").fetchone()[0]
            assert n == len(rows), (name, n, len(rows))
            res = summarise(per_row_lat if per_row_lat else [wall / len(rows)] * len(rows), wall)
            res["n"] = n
            res["rps"] = n / wall
            out[name] = res
        conn.execute("DROP TABLE bench.case_copy")
        conn.commit()
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=20)
    ap.add_argument("--clients", type=int, default=8)
    args = ap.parse_args()

    settings = get_settings()
    dsn = libpq_dsn(database_url(settings))
    points, classes = sample_inputs(dsn, 5000)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = settings.var_dir / "log" / "bench-case-intake.log"
    proc = start_app(port, log)
    try:
        wait_up(port, "/healthz", timeout=300)  # app start is slow on a busy 2-core machine
        sessions = [login(base, "supervisor") for _ in range(args.clients)]
        http_load(base, sessions, points, classes, 2)  # warm-up: both workers load the BPMN spec, pools fill
        api, ids = http_load(base, sessions, points, classes, args.seconds)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    if not ids:
        raise SystemExit(f"no report was accepted; server log: {log}")
    raw = raw_inserts(dsn, ids)

    print(f"\nCase intake benchmark — {settings.var_dir}, gunicorn 2 workers, {args.clients} clients, "
          f"{args.seconds:.0f} s, loopback; {len(points)} random points in the county, {len(classes)} event classes; "
          f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at the end\n")
    print(f"{'method':<34}{'rows':>7}{'rows/s':>10}{'p50 ms':>9}{'p95 ms':>9}{'errors':>8}{'× API':>9}")
    results = {"HTTP API POST /api/cases": api, **raw}
    for name, r in results.items():
        ratio = r["rps"] / api["rps"] if api["rps"] else float("nan")
        print(f"{name:<34}{r['n']:>7}{r['rps']:>10.1f}{r['p50']:>9.2f}{r['p95']:>9.2f}{r['errors']:>8}{ratio:>9.1f}")
    print("\np50/p95 for the two one-transaction methods are the mean time per row (wall / rows).")
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    (out / "case_intake.json").write_text(json.dumps({"clients": args.clients, "seconds": args.seconds,
                                                      "results": results}, indent=1, ensure_ascii=False))


if __name__ == "__main__":
    main()
