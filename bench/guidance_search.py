"""Benchmark: Chinese full-text search of 业务指导 articles.

Generates N synthetic articles (default 20,000; Chinese city-management text
with standard numbers mixed in) into a throw-away schema `guidance_bench`,
indexes them exactly as the app does (webapp.textsearch: CJK bigrams
+ ASCII words as a weighted tsvector with a GIN index), then times, in the
same run and on the same rows, for each query:

  * ours:     search_vec @@ to_tsquery(...) ranked by ts_rank, top 20 + total
  * baseline: title/summary/body ILIKE '%q%' (the whole query string), top 20 + total

and prints p50/p95 per method (milliseconds over all queries and rounds).

Usage:  .venv/bin/python bench/guidance_search.py [--articles 20000] [--rounds 10]
        (DATABASE_URL set: uses that server; else a private temporary cluster)
"""
from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from webapp import textsearch  # noqa: E402
from webapp.guidance.service import RANK_WEIGHTS  # noqa: E402

WORDS = ("城市管理 数字化城管 监督指挥中心 单元网格 责任网格 监督员 受理员 派遣员 专业部门 街道办事处 社区 "
         "井盖 窨井盖板 雨水井 污水井 路灯 消防栓 垃圾箱 行道树 绿地 公厕 果皮箱 广告牌 交通护栏 "
         "占道经营 店外经营 乱堆物料 暴露垃圾 垃圾满溢 非法小广告 乱张贴 道路破损 积水 违章搭建 "
         "渣土撒漏 门前三包 疏导点 夜市 背街小巷 一网统管 城市生命线 燃气管网 供水管网 桥梁 监测 报警 "
         "立案 派遣 处置 核查 结案 按期结案率 返工率 综合评价 考核 通报 督办 延期 回退 疑难案件 "
         "巡查 整治 专项行动 长效管理 执法 劝导 规范 标准 条例 办法 通知 规定 实施 要求 安全 隐患").split()
CODES = ["GB/T 30428.1", "GB/T 30428.2", "CJJ/T 106", "CJJ/T 312", "GB 50016", "DB41/T 1836"]
PUNCT = "，。；、"
# Filler "words" from common characters, so each domain term occurs in a realistic
# share of the articles instead of in all of them.
COMMON = ("的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可主发年动同工也能下过子说产种面而方后"
          "多定行学法所民得经十三之进着等部度家电力里如水化高自二理起小物现实加量都两体制机当使点从业本去把性好应开它合"
          "还因由其些然前外天政四日那社义事平形相全表间样与关各重新线内数正心反你明看原又么利比或但质气第向道命此变条只"
          "没结解问意建月公无系军很情者最立代想已通并提直题党程展五果料象员革位入常文总次品式活设及管特件长求老头基资边")
_filler_rng = random.Random(7)
FILLER = ["".join(_filler_rng.choice(COMMON) for _ in range(_filler_rng.randint(2, 4))) for _ in range(3000)]
QUERIES = ["井盖", "占道经营", "门前三包", "GB/T 30428", "疏导点", "一网统管", "垃圾满溢", "按期结案率",
           "雨水井", "城市生命线", "窨井盖板", "CJJ/T 106", "专项行动 井盖", "背街小巷整治"]


def sentence(rng: random.Random) -> str:
    parts = []
    for _ in range(rng.randint(3, 8)):
        x = rng.random()
        w = rng.choice(CODES) if x < 0.004 else rng.choice(WORDS) if x < 0.03 else rng.choice(FILLER)
        parts.append(w + ("" if rng.random() < 0.6 else rng.choice(PUNCT)))
    return "".join(parts).rstrip(PUNCT) + "。"


def article(rng: random.Random, i: int) -> tuple:
    title = "".join(rng.choice(WORDS if rng.random() < 0.3 else FILLER) for _ in range(rng.randint(3, 5))) \
        + f"（第{i}号）"
    summary = sentence(rng) + sentence(rng)
    body = "\n\n".join("".join(sentence(rng) for _ in range(rng.randint(2, 6))) for _ in range(rng.randint(3, 8)))
    vec = textsearch.vector_literal([(title, "A"), (summary, "B"), (body, "C")])
    return i, title, summary, body, vec


def load(conn, n: int) -> float:
    rng = random.Random(20261202)
    t0 = time.perf_counter()
    conn.execute("DROP SCHEMA IF EXISTS guidance_bench CASCADE")
    conn.execute("CREATE SCHEMA guidance_bench")
    conn.execute("CREATE TABLE guidance_bench.article (id int PRIMARY KEY, title text NOT NULL, summary text, "
                 "body text NOT NULL, search_vec tsvector)")
    with conn.cursor().copy("COPY guidance_bench.article (id, title, summary, body, search_vec) FROM STDIN") as cp:
        for i in range(1, n + 1):
            cp.write_row(article(rng, i))
    conn.execute("CREATE INDEX ON guidance_bench.article USING gin (search_vec)")
    conn.execute("ANALYZE guidance_bench.article")
    conn.commit()
    return time.perf_counter() - t0


OURS_COUNT = "SELECT count(*) FROM guidance_bench.article WHERE search_vec @@ to_tsquery('simple', %(q)s)"
OURS_TOP = (f"SELECT id, title, ts_rank('{RANK_WEIGHTS}'::float4[], search_vec, to_tsquery('simple', %(q)s)) AS r "
            "FROM guidance_bench.article WHERE search_vec @@ to_tsquery('simple', %(q)s) "
            "ORDER BY r DESC, id DESC LIMIT 20")
BASE_WHERE = "title ILIKE %(q)s OR summary ILIKE %(q)s OR body ILIKE %(q)s"
BASE_COUNT = f"SELECT count(*) FROM guidance_bench.article WHERE {BASE_WHERE}"
BASE_TOP = (f"SELECT id, title FROM guidance_bench.article WHERE {BASE_WHERE} "
            "ORDER BY (title ILIKE %(q)s) DESC, id DESC LIMIT 20")


def timed(conn, sqls: tuple[str, str], params: dict) -> tuple[float, int]:
    t0 = time.perf_counter()
    total = conn.execute(sqls[0], params).fetchone()[0]
    conn.execute(sqls[1], params).fetchall()
    return (time.perf_counter() - t0) * 1000, total


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def run(url: str, n: int, rounds: int) -> None:
    with psycopg.connect(url) as conn:
        secs = load(conn, n)
        size = conn.execute("SELECT pg_size_pretty(pg_total_relation_size('guidance_bench.article')), "
                            "pg_size_pretty(sum(pg_relation_size(indexrelid))) FROM pg_index "
                            "WHERE indrelid = 'guidance_bench.article'::regclass").fetchone()
        print(f"loaded {n:,} articles in {secs:.1f} s (table+indexes {size[0]}, indexes {size[1]})")
        ours: list[float] = []
        base: list[float] = []
        print(f"{'query':<16}{'ours hits':>10}{'ILIKE hits':>11}{'ours p50':>10}{'ILIKE p50':>11}")
        for q in QUERIES:
            parsed = textsearch.parse_query(q)
            po, pb = {"q": parsed.tsquery}, {"q": "%" + q + "%"}
            timed(conn, (OURS_COUNT, OURS_TOP), po)          # warm the cache for both
            timed(conn, (BASE_COUNT, BASE_TOP), pb)
            qo, qb = [], []
            for _ in range(rounds):
                t, hits_o = timed(conn, (OURS_COUNT, OURS_TOP), po)
                qo.append(t)
                t, hits_b = timed(conn, (BASE_COUNT, BASE_TOP), pb)
                qb.append(t)
            ours += qo
            base += qb
            print(f"{q:<16}{hits_o:>10,}{hits_b:>11,}{statistics.median(qo):>9.1f}ms{statistics.median(qb):>9.1f}ms")
        print(f"\nours (bigram tsvector + GIN, ranked): p50 {pct(ours, 50):.1f} ms, p95 {pct(ours, 95):.1f} ms")
        print(f"baseline (ILIKE '%…%', 3 columns):    p50 {pct(base, 50):.1f} ms, p95 {pct(base, 95):.1f} ms")
        print(f"speed-up at p50: {pct(base, 50) / pct(ours, 50):.1f}×, at p95: {pct(base, 95) / pct(ours, 95):.1f}×")
        conn.execute("DROP SCHEMA guidance_bench CASCADE")
        conn.commit()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--articles", type=int, default=20_000)
    ap.add_argument("--rounds", type=int, default=10)
    args = ap.parse_args()
    url = os.environ.get("DATABASE_URL")
    if url:
        run(url.replace("postgresql+psycopg://", "postgresql://"), args.articles, args.rounds)
        return
    from geo.pgcluster import EmbeddedCluster
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    base = Path(tempfile.mkdtemp(prefix="cityops-bench-"))
    os.chmod(base, 0o711)
    cluster = EmbeddedCluster(base / "pg", port)
    cluster.start()
    try:
        run(cluster.url("postgresql"), args.articles, args.rounds)
    finally:
        cluster.destroy()


if __name__ == "__main__":
    main()
