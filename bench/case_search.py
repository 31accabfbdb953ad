"""Benchmark: quick search of cases (R21) on one million cases.

Loads N synthetic cases (default 1,000,000) with COPY straight into
cases.case of the bench cluster — descriptions built from the class names,
addresses from geo.address, 15% difficult — with the search vector made by
webapp.cases.search's tokenizer (Chinese bigrams), then times, in the same
run and on the same rows, for each keyword:

  * ours:     the query of GET /api/cases?q=…&difficult=1 (webapp.cases.views.list_query:
              GIN tsvector / case-number prefix), count + first page of 20
  * baseline: description/address ILIKE '%…%' AND difficult, count + first page of 20

and prints p50/p95 per keyword group (milliseconds).

Usage:  CITYOPS_VAR=/work/main/var/bench CITYOPS_PG_PORT=55433 \\
        .venv/bin/python bench/case_search.py [--cases 1000000] [--rounds 10] [--reload]
"""
from __future__ import annotations

import argparse
import datetime as dt
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, func, select, text  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from geo.migrate import upgrade  # noqa: E402
from geo.pgcluster import database_url  # noqa: E402
from geo.settings import get_settings  # noqa: E402
from webapp import textsearch  # noqa: E402

PHRASES = ["破损", "丢失", "被盗", "堵塞", "满溢", "倾斜", "损坏", "脏污", "积水", "占道", "乱堆", "漏水", "松动",
           "缺失", "异味", "噪音扰民", "存在安全隐患", "影响通行", "群众反映强烈", "多次反映未解决"]
PLACES = ["路口东侧", "人行道上", "小区门口", "学校附近", "农贸市场旁", "公交站台", "背街小巷", "桥下", "绿地内"]
QUERIES = {
    "2字词": ["井盖", "垃圾", "积水", "漏水", "占道"],
    "案件号前缀": ["XP202601", "XP20250315", "XP2025061500"],
    "地址": ["人民路", "柏亭大道", "健康路"],
    "混合": ["人民路 井盖", "垃圾 满溢", "小区门口 积水"],
}
SOURCES = ["supervisor", "hotline", "public", "video"]


class Who:
    """A caller with data scope `all` (the widest case: nothing narrows the search)."""
    id, data_scope, dept_code, region_code, permissions = 0, "all", None, None, frozenset({"*"})


def load(db: Session, n: int) -> None:
    classes = db.execute(text("SELECT type_code, code, name FROM geo.dict_item WHERE type_code IN "
                              "('component_class', 'event_class') AND length(code) = 4")).all()
    addrs = db.execute(text("SELECT full_address, ST_X(geom), ST_Y(geom) FROM geo.address ORDER BY code LIMIT 20000")
                       ).all()
    if not addrs:
        addrs = [("柏城大道与人民路交叉口", 114.02, 33.38)]
    rng = random.Random(20261202)
    start = dt.date(2025, 1, 1)
    per_day = n // 700 + 1
    t0 = time.perf_counter()
    with db.connection().connection.cursor() as cur:
        cur.execute("DELETE FROM cases.case WHERE process_key = 'bench'")
        with cur.copy("COPY cases.case (case_no, source, kind, class_code, class_name, description, address, geom, "
                      "input_crs, reported_at, status, stage, difficult, process_key, process_version, wf_state, "
                      "search) FROM STDIN") as cp:
            for i in range(n):
                day = start + dt.timedelta(days=i // per_day)
                no = f"XP{day:%Y%m%d}{i % per_day + 1:05d}"
                t, code, name = rng.choice(classes)
                addr, x, y = rng.choice(addrs)
                desc = f"{rng.choice(PLACES)}{name}{rng.choice(PHRASES)}，{rng.choice(PHRASES)}"
                at = dt.datetime.combine(day, dt.time(8), dt.timezone(dt.timedelta(hours=8))) + \
                    dt.timedelta(minutes=rng.randint(0, 600))
                closed = rng.random() < 0.7
                vec = textsearch.vector_literal([(no, "A"), (name, "A"), (addr, "B"), (desc, "C")])
                cp.write_row((no, rng.choice(SOURCES), "component" if t == "component_class" else "event", code,
                              name, desc, addr, f"SRID=4490;POINT({x} {y})", "EPSG:4490", at,
                              "closed" if closed else "open", None if closed else "handle",
                              rng.random() < 0.15, "bench", 1, "{}", vec))
                if i and i % 200000 == 0:
                    print(f"  {i:,} rows, {time.perf_counter() - t0:.0f} s", flush=True)
    db.commit()
    db.execute(text("ANALYZE cases.case"))
    db.commit()
    print(f"loaded {n:,} cases in {time.perf_counter() - t0:.0f} s")


def ours(db: Session, q: str):
    from webapp.cases.views import list_query
    query, _ = list_query(Who(), {"q": q, "difficult": "1"})
    total = db.scalar(select(func.count()).select_from(query.subquery()))
    rows = db.execute(query.add_columns(func.ST_X(text("geom")), func.ST_Y(text("geom")))
                      .order_by(text("reported_at DESC, id DESC")).limit(20)).all()
    return total, len(rows)


def baseline(db: Session, q: str):
    terms = q.split()
    where = " AND ".join(f"(description ILIKE :t{i} OR address ILIKE :t{i} OR case_no ILIKE :t{i})"
                         for i in range(len(terms)))
    params = {f"t{i}": f"%{t}%" for i, t in enumerate(terms)}
    total = db.scalar(text(f"SELECT count(*) FROM cases.case WHERE difficult AND {where}"), params)
    rows = db.execute(text(f"SELECT id, ST_X(geom), ST_Y(geom) FROM cases.case WHERE difficult AND {where} "
                           "ORDER BY reported_at DESC, id DESC LIMIT 20"), params).all()
    return total, len(rows)


def timed(fn, db, q, rounds):
    out, res = [], None
    for _ in range(rounds):
        t = time.perf_counter()
        res = fn(db, q)
        out.append((time.perf_counter() - t) * 1000)
    return out, res


def pct(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cases", type=int, default=1_000_000)
    ap.add_argument("--rounds", type=int, default=10)
    ap.add_argument("--reload", action="store_true", help="load the synthetic cases again")
    args = ap.parse_args()
    url = database_url(get_settings())
    engine = create_engine(url)
    with engine.connect() as c:
        migrated = c.scalar(text("SELECT to_regclass('cases.case') IS NOT NULL"))
    if not migrated:  # a fresh bench cluster: bring the schema up first
        upgrade(url)
    with Session(engine) as db:
        have = db.scalar(text("SELECT count(*) FROM cases.case WHERE process_key = 'bench'"))
        if args.reload or have < args.cases:
            load(db, args.cases)
        total = db.scalar(text("SELECT count(*) FROM cases.case"))
        diff = db.scalar(text("SELECT count(*) FROM cases.case WHERE difficult"))
        print(f"cases: {total:,} ({diff:,} difficult); rounds per keyword: {args.rounds}")
        print(f"{'group':<10} {'keyword':<16} {'hits':>7} {'ours p50':>9} {'p95':>7} {'baseline p50':>13} {'p95':>7}")
        groups = {}
        for group, words in QUERIES.items():
            for q in words:
                timed(ours, db, q, 1)  # warm the cache the same way for both
                timed(baseline, db, q, 1)
                o, (hits, _) = timed(ours, db, q, args.rounds)
                b, (bhits, _) = timed(baseline, db, q, args.rounds)
                groups.setdefault(group, ([], []))
                groups[group][0].extend(o)
                groups[group][1].extend(b)
                print(f"{group:<10} {q:<16} {hits:>7,} {pct(o, 50):>9.1f} {pct(o, 95):>7.1f} "
                      f"{pct(b, 50):>13.1f} {pct(b, 95):>7.1f}" + ("" if hits == bhits else f"  (baseline {bhits:,})"))
        print("per group (ms):")
        for group, (o, b) in groups.items():
            print(f"  {group:<10} ours p50 {pct(o, 50):.1f} p95 {pct(o, 95):.1f} | "
                  f"baseline p50 {pct(b, 50):.1f} p95 {pct(b, 95):.1f}")
        allo = [v for o, _ in groups.values() for v in o]
        allb = [v for _, b in groups.values() for v in b]
        print(f"all keywords: ours p50 {statistics.median(allo):.1f} p95 {pct(allo, 95):.1f} | "
              f"baseline p50 {statistics.median(allb):.1f} p95 {pct(allb, 95):.1f}")


if __name__ == "__main__":
    main()
