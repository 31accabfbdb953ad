"""SCADA over OPC UA: read the mapped node ids of a source and store the
readings through the ingester's path (etl/docking/store.py).

A source's settings::

    {"endpoint": "opc.tcp://10.1.2.3:4840/scada", "security_mode": "None" | "Basic256Sha256",
     "certificate": "/etc/cityops/opcua-client.der", "private_key": "/etc/cityops/opcua-client.pem",
     "timeout_s": 5, "nodes": [{"node_id": "ns=2;s=WS01.Pressure", "datastream": "WS-WN000001/pressure"}]}

Each reading is stored with the server's SourceTimestamp (the time the
value was taken), so a value polled twice is the same (datastream, time)
and is stored once. Connection problems and unreadable nodes are recorded
on the source (last error, run log); the poller never raises.

Run with ``cityops iot opcua --source N`` (once, or ``--every S`` seconds)
or with the 立即同步 button on the docking page.
"""
from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time

import psycopg

from etl.docking import store

log = logging.getLogger("cityops.docking.opcua")
SECURITY_MODES = ("None", "Basic256Sha256")


def _aware(t: dt.datetime | None) -> dt.datetime | None:
    if t is None:
        return None
    return t if t.tzinfo else t.replace(tzinfo=dt.timezone.utc)


async def read_nodes(settings: dict) -> list[tuple[dict, object, dt.datetime | None, str | None]]:
    """[(mapping entry, value, source time, error)] for every mapped node; raises on connection trouble."""
    from asyncua import Client, ua
    timeout = float(settings.get("timeout_s") or 5)
    client = Client(url=settings["endpoint"], timeout=timeout)
    if settings.get("security_mode", "None") == "Basic256Sha256":
        await client.set_security_string(
            f"Basic256Sha256,SignAndEncrypt,{settings['certificate']},{settings['private_key']}")
    out = []
    async with client:
        for entry in settings.get("nodes") or []:
            try:
                dv = await client.get_node(entry["node_id"]).read_data_value()
            except (ua.UaError, ValueError) as exc:
                out.append((entry, None, None, f"节点 {entry.get('node_id')} 读取失败：{exc}"))
                continue
            if dv.StatusCode is not None and not dv.StatusCode.is_good():
                out.append((entry, None, None, f"节点 {entry['node_id']} 状态不良：{dv.StatusCode.name}"))
                continue
            t = _aware(dv.SourceTimestamp) or _aware(dv.ServerTimestamp) or dt.datetime.now(dt.timezone.utc)
            out.append((entry, dv.Value.Value if dv.Value is not None else None, t, None))
    return out


def poll(conn: psycopg.Connection, dsn: str, source_id: int, username: str | None = None) -> dict:
    """One poll of one source on `conn` (committed by the caller). Returns the run's summary."""
    started = dt.datetime.now(dt.timezone.utc)
    row = conn.execute("SELECT network, kind, settings, enabled FROM lifeline.dock_source WHERE id = %s",
                       (source_id,)).fetchone()
    if row is None:
        return {"ok": False, "error": f"对接源 {source_id} 不存在"}
    network, kind, settings, enabled = row
    if kind != "opcua":
        return {"ok": False, "error": "该对接源不是 OPC UA 类型"}
    t0 = time.monotonic()
    try:
        readings = asyncio.run(asyncio.wait_for(read_nodes(settings), timeout=float(settings.get("timeout_s") or 5) * 3))
    except Exception as exc:  # noqa: BLE001  any connection/security failure is recorded, never raised
        msg = f"连接 OPC UA 服务器失败（{settings.get('endpoint')}）：{type(exc).__name__} {exc}".strip()[:500]
        log.warning("source %s: %s", source_id, msg)
        store.record_run(conn, source_id, "poll", ok=False, error=msg, username=username, started=started)
        return {"ok": False, "error": msg}
    items, report = [], []
    for n, (entry, value, t, err) in enumerate(readings, 1):
        if err:
            report.append({"row": n, "code": "node_unreadable", "name": "节点读取失败", "message": err})
            continue
        items.append((n, entry.get("datastream"), {"t": t.isoformat(), "v": value}))
    rows, refused = store.validate(dsn, network, items)
    report += refused
    counts = store.store(conn, dsn, network, rows, rejected=len(report))
    last = max((r.time for r in rows), default=None)
    summary = {**counts, "rows_in": len(rows), "rows_rejected": len(report), "ms": round((time.monotonic() - t0) * 1000)}
    error = f"{len(report)} 个节点读数被拒绝" if report else None
    store.record_run(conn, source_id, "poll", ok=not report or bool(rows), rows_in=len(rows),
                     rows_rejected=len(report), inserted=counts["accepted"], unchanged=counts["duplicate"],
                     error=error, detail={"rejected": report[:200], **summary}, username=username,
                     started=started, data_time=last)
    return {"ok": True, **summary, "rejected": report}


def run(dsn: str, source_id: int, every: float | None = None) -> None:
    """CLI loop: poll, commit, sleep; a failed poll is recorded and the loop goes on."""
    while True:
        with psycopg.connect(dsn) as conn:
            res = poll(conn, dsn, source_id, username="opcua-poller")
            conn.commit()
        log.info("source %s: %s", source_id, {k: v for k, v in res.items() if k != "rejected"})
        print(res if every is None else "", end="\n" if every is None else "")
        if every is None:
            return
        time.sleep(every)
