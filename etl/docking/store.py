"""The one storage path for docked readings: the MQTT ingester's own batch
write (etl/iot/ingest.py `Ingester._write`: COPY/ON CONFLICT insert keyed by
(datastream, time), threshold evaluation → alarm_event, alarm rules, last
values, ingest counters), fed with rows validated by the ingester's own
message checks (etl/iot/messages.py). Nothing here re-implements them.

Also the sync state of a source: a run row in lifeline.dock_run and the
counters/last times on lifeline.dock_source, written on the caller's
psycopg connection (same transaction as the rows when there are any).
"""
from __future__ import annotations

import datetime as dt
import threading

import orjson
import psycopg

from etl.iot.catalogue import Catalogue
from etl.iot.ingest import _TEMP, Ingester
from etl.iot.messages import MAX_AGE, Rejection, Row, _one

_ingesters: dict[str, Ingester] = {}
_lock = threading.Lock()
# per-row refusal codes shown in the push report (stable, documented in the manual)
REASON_NAMES = {"unknown_stream": "未知数据流", "not_numeric": "数值无效", "out_of_range": "超出量程",
                "bad_time": "时间无效", "malformed": "格式错误"}


def ingester(dsn: str) -> Ingester:
    """One Ingester per database, used only for its write path (never connected to a broker)."""
    with _lock:
        ing = _ingesters.get(dsn)
        if ing is None:
            ing = _ingesters[dsn] = Ingester(dsn, client_id="cityops-docking")
            ing.catalogue.load()
        elif ing.catalogue.stale():
            ing.catalogue.load()
        return ing


def catalogue(dsn: str) -> Catalogue:
    return ingester(dsn).catalogue


def _code_of(detail: str, item: dict) -> str:
    if "量程" in detail:
        return "out_of_range"
    if "时间" in detail:
        return "bad_time"
    if "数值" in detail:
        return "not_numeric"
    return "malformed"


def validate(dsn: str, network: str, items: list[tuple[int, str | None, dict]],
             now: dt.datetime | None = None) -> tuple[list[Row], list[dict]]:
    """items: (row number, "THING/DATASTREAM" or None when unknown, {"t", "v"}).
    Returns accepted rows and the per-row refusals {row, code, name, message}."""
    cat = catalogue(dsn)
    now = now or dt.datetime.now(dt.timezone.utc)
    rows: list[Row] = []
    report: list[dict] = []
    for n, ref, item in items:
        ds = None
        if ref and "/" in ref:
            thing, code = ref.split("/", 1)
            ds = cat.get(network, thing, code)
        if ds is None:
            report.append({"row": n, "code": "unknown_stream", "name": REASON_NAMES["unknown_stream"],
                           "message": f"未登记或不属于本系统（{network}）的数据流：{ref or '（空）'}"})
            continue
        got: list[Row] = []
        rejects: list[Rejection] = []
        _one({"t": item.get("t"), "v": item.get("v")}, ds, now, got, rejects, MAX_AGE)
        if rejects:
            code = "out_of_range" if rejects[0].reason == "out_of_range" else _code_of(rejects[0].detail, item)
            report.append({"row": n, "code": code, "name": REASON_NAMES[code], "message": rejects[0].detail})
        rows.extend(got)
    return rows, report


def store(conn: psycopg.Connection, dsn: str, network: str, rows: list[Row], rejected: int = 0) -> dict:
    """Write rows through the ingester's batch path on `conn`; returns counts.
    Idempotent: a (datastream, time) already stored is a duplicate."""
    ing = ingester(dsn)
    conn.execute(_TEMP)
    before = dict(ing.stats)
    rejects = [Rejection("malformed", "对接数据校验未通过")] * rejected
    ing._write(conn, [(None, 0, network, rows, rejects, f"docking/{network}", 0)])
    got = lambda k: ing.stats.get(k, 0) - before.get(k, 0)  # noqa: E731
    return {"accepted": got("accepted"), "duplicate": got("duplicate"), "alarm_events": got("alarm_events")}


def record_run(conn: psycopg.Connection, source_id: int, kind: str, *, ok: bool, rows_in: int = 0,
               rows_rejected: int = 0, inserted: int = 0, updated: int = 0, unchanged: int = 0,
               error: str | None = None, detail: dict | None = None, username: str | None = None,
               started: dt.datetime | None = None, data_time: dt.datetime | None = None) -> int:
    """Log one run and move the source's sync state (last run/success/error, totals, data time)."""
    run_id = conn.execute(
        """INSERT INTO lifeline.dock_run (source_id, kind, started_at, finished_at, ok, rows_in, rows_rejected,
                  inserted, updated, unchanged, error, detail, username)
           VALUES (%s, %s, coalesce(%s, now()), clock_timestamp(), %s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING id""",
        (source_id, kind, started, ok, rows_in, rows_rejected, inserted, updated, unchanged, error,
         orjson.dumps(detail or {}).decode(), username)).fetchone()[0]
    conn.execute(
        """UPDATE lifeline.dock_source SET last_run_at = clock_timestamp(),
                  last_success_at = CASE WHEN %(ok)s THEN clock_timestamp() ELSE last_success_at END,
                  last_error = CASE WHEN %(ok)s THEN NULL ELSE %(err)s END,
                  rows_in = rows_in + %(n)s, rows_rejected = rows_rejected + %(r)s,
                  last_data_time = greatest(last_data_time, %(t)s)
            WHERE id = %(id)s""",
        {"ok": ok, "err": error, "n": rows_in, "r": rows_rejected, "t": data_time, "id": source_id})
    return run_id
