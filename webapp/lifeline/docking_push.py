"""Readings pushed by a utility's system (R120–R124): signed HTTP push of JSON
or CSV, and CSV files uploaded on the docking page. Every row is validated
(unknown stream, non-numeric, out of range, bad time) with a per-row report;
accepted rows go through the ingester's storage path (etl/docking/store.py),
so thresholds and alarms apply as for MQTT readings.

Push request (see the operators' manual, 数据对接 → 推送接口)::

    POST /api/lifeline/docking/<source_id>/push
    X-API-Key: <key_id>.<secret>          the key bound to this source
    X-Timestamp: <unix seconds>           within 5 minutes of the server clock
    X-Signature: hex HMAC-SHA256(secret, "POST\\n<path>\\n<timestamp>\\n<sha256 hex of body>")
    Content-Type: application/json  [{"datastream": "WS-WN000001/pressure", "t": "…", "v": 0.31}, …]
                  or text/csv        datastream,t,v  (or node_id,t,v)
"""
from __future__ import annotations

import csv
import datetime as dt
import io

import orjson
from flask import jsonify, request

from etl.docking import store
from geo.errors import GeoError
from webapp.auth.permissions import require_permission
from webapp.db import get_db
from webapp.lifeline import api
from webapp.lifeline.docking import dsn, raw_conn, source_or_404

MAX_ROWS = 10_000
PUSH_KINDS = ("http_push", "csv_push")


def _items(raw: bytes, is_csv: bool, nodes: dict[str, str]) -> list[tuple[int, str | None, dict]]:
    """(row number, datastream ref, {t, v}) from a JSON array or a CSV body; structural problems raise."""
    if is_csv:
        try:
            textual = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            try:
                textual = raw.decode("gb18030")
            except UnicodeDecodeError:
                raise GeoError("docking_push_malformed", "CSV 编码无法识别，请使用 UTF-8 或 GBK") from None
        reader = csv.DictReader(io.StringIO(textual))
        cols = {c.strip().lower(): c for c in (reader.fieldnames or [])}
        if not ({"t", "v"} <= set(cols) and ("datastream" in cols or "node_id" in cols)):
            raise GeoError("docking_push_malformed", "CSV 表头应为 datastream,t,v（或 node_id,t,v）",
                           columns=list(cols))
        body = []
        for r in reader:
            v = (r.get(cols["v"]) or "").strip()
            try:
                num = float(v) if v else None
            except ValueError:
                num = v
            body.append({"datastream": r.get(cols.get("datastream", ""), None) if "datastream" in cols else None,
                         "node_id": r.get(cols["node_id"]) if "node_id" in cols else None,
                         "t": (r.get(cols["t"]) or "").strip() or None, "v": num})
    else:
        try:
            body = orjson.loads(raw)
        except orjson.JSONDecodeError:
            raise GeoError("docking_push_malformed", "请求体不是合法的 JSON") from None
        if isinstance(body, dict) and isinstance(body.get("rows"), list):
            body = body["rows"]
        if not isinstance(body, list):
            raise GeoError("docking_push_malformed", "请求体应为数组 [{datastream 或 node_id, t, v}, …]")
    if not body:
        raise GeoError("docking_push_empty", "没有任何数据行")
    if len(body) > MAX_ROWS:
        raise GeoError("docking_push_too_large", f"单次最多 {MAX_ROWS} 行，本次 {len(body)} 行", status=413)
    out = []
    for n, item in enumerate(body, 1):
        if not isinstance(item, dict):
            out.append((n, None, {}))
            continue
        ref = item.get("datastream") or nodes.get(str(item.get("node_id") or ""))
        out.append((n, ref if isinstance(ref, str) else None, item))
    return out


def ingest(db, source, raw: bytes, is_csv: bool, kind: str, username: str | None) -> dict:
    started = dt.datetime.now(dt.timezone.utc)
    nodes = {str(x.get("node_id")): x["datastream"] for x in (source.settings or {}).get("nodes", [])
             if x.get("node_id")}
    items = _items(raw, is_csv, nodes)
    d = dsn()
    rows, report = store.validate(d, source.network, items)
    conn = raw_conn(db)
    counts = store.store(conn, d, source.network, rows, rejected=len(report))
    run_id = store.record_run(conn, source.id, kind, ok=bool(rows) or not report, rows_in=len(rows),
                              rows_rejected=len(report), inserted=counts["accepted"], unchanged=counts["duplicate"],
                              error=f"{len(report)} 行被拒绝" if report else None,
                              detail={"rejected": report[:1000]}, username=username, started=started,
                              data_time=max((r.time for r in rows), default=None))
    db.commit()
    return {"rows": len(items), "accepted": counts["accepted"], "duplicate": counts["duplicate"],
            "rejected": len(report), "alarm_events": counts["alarm_events"], "report": report[:1000],
            "run_id": run_id}


@api.post("/docking/<int:source_id>/push")
@require_permission("lifeline:view")
def docking_push(source_id: int):
    """Signed push from a utility's system: the API key bound to the source, X-Timestamp, X-Signature."""
    from webapp.auth.guard import principal
    from webapp.auth.models import ApiKey
    from webapp.auth.service import verify_signature
    who = principal()
    key_full = request.headers.get("X-API-Key", "")
    if who.via != "api_key" or not key_full:
        raise GeoError("signature_required", "推送接口需要 API 密钥和请求签名（X-API-Key、X-Timestamp、X-Signature）",
                       status=401)
    db = get_db()
    key = db.get(ApiKey, key_full.split(".", 1)[0])
    raw = request.get_data(cache=True)
    verify_signature(key, request.method, request.path, request.headers.get("X-Timestamp", ""),
                     request.headers.get("X-Signature", ""), raw)
    s = source_or_404(db, source_id)
    if s.api_key_id != key.key_id:
        raise GeoError("docking_key_mismatch", "该 API 密钥未绑定到此对接源", status=403)
    if s.kind not in PUSH_KINDS:
        raise GeoError("docking_push_unsupported", "该对接源不是推送类型")
    if not s.enabled:
        raise GeoError("docking_source_disabled", "该对接源已停用", status=403)
    is_csv = (request.mimetype or "").startswith("text/csv")
    return jsonify(ingest(db, s, raw, is_csv, "push", who.username))


@api.post("/docking/sources/<int:source_id>/csv")
@require_permission("lifeline:config")
def docking_csv_upload(source_id: int):
    """A CSV file of readings uploaded from the docking page (same checks as a push)."""
    from webapp import uploads
    from webapp.auth.guard import principal
    db = get_db()
    s = source_or_404(db, source_id)
    if s.network not in ("heating", "water", "drainage", "gas", "bridge"):
        raise GeoError("docking_push_unsupported", "该对接源不能上传读数")
    stored = uploads.accept(request.files.get("file"), "data", allowed=["csv"])
    return jsonify(ingest(db, s, stored.path.read_bytes(), True, "csv_upload", principal().username))
