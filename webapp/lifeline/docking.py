"""Utility data docking (R120–R124): one source per utility system — GIS file
import into the pipe network layers, SCADA over OPC UA, CSV/HTTP pushes into
the IoT observation store — with its sync state, run-now and the run log.

Routes here: the 数据对接 page and the sources API; GIS import is in
docking_gis.py, the signed push and CSV upload in docking_push.py, the
poller and the storage path in etl/docking/.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import re

from flask import Response, jsonify, render_template, request
from sqlalchemy import select, text

from geo.errors import GeoError
from webapp.auth.permissions import require_permission
from webapp.db import get_db
from webapp.lifeline import api, pages
from webapp.lifeline.docking_models import DockRun, DockSource

NETWORK_NAMES = {"heating": "供热", "water": "供水", "drainage": "排水", "gas": "燃气", "bridge": "桥梁"}
KIND_NAMES = {"gis_file": "GIS 文件导入", "opcua": "SCADA（OPC UA）", "csv_push": "CSV 推送", "http_push": "HTTP 推送"}
RUN_NAMES = {"gis_import": "GIS 导入", "poll": "OPC UA 采集", "push": "接口推送", "csv_upload": "CSV 上传"}
FIELDS = {"code", "name", "network", "kind", "dept_code", "settings", "enabled", "version"}
_CODE = re.compile(r"^[A-Za-z0-9_-]{2,40}$")
_NODE_ID = re.compile(r"^(ns=\d+;)?[isgb]=.+$")


def dsn() -> str:
    """libpq DSN of the app's database (the docking connectors use psycopg)."""
    from flask import current_app
    from ogc.config import libpq_dsn
    return libpq_dsn(current_app.extensions["cityops.engine"].url.render_as_string(hide_password=False))


def raw_conn(db):
    """The session's psycopg connection: connector writes share the request's transaction."""
    return db.connection().connection.driver_connection


def _body(allowed: set[str]) -> dict:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise GeoError("body_invalid", "请求体应为 JSON 对象")
    unknown = set(body) - allowed
    if unknown:
        raise GeoError("field_unknown", f"未知字段：{', '.join(sorted(unknown))}")
    return body


def source_or_404(db, source_id: int) -> DockSource:
    s = db.get(DockSource, source_id)
    if s is None:
        raise GeoError("docking_source_not_found", f"对接源 {source_id} 不存在", status=404)
    return s


def _check_settings(kind: str, settings) -> dict:
    if not isinstance(settings, dict):
        raise GeoError("docking_settings_invalid", "对接参数应为 JSON 对象", field="settings")
    if kind == "opcua":
        url = settings.get("endpoint")
        if not isinstance(url, str) or not url.startswith("opc.tcp://"):
            raise GeoError("docking_endpoint_invalid", "OPC UA 地址应以 opc.tcp:// 开头，如 opc.tcp://10.0.0.5:4840",
                           field="settings.endpoint")
        mode = settings.get("security_mode", "None")
        if mode not in ("None", "Basic256Sha256"):
            raise GeoError("docking_security_invalid", "安全模式只能为 None 或 Basic256Sha256",
                           field="settings.security_mode")
        if mode == "Basic256Sha256" and not (settings.get("certificate") and settings.get("private_key")):
            raise GeoError("docking_security_invalid", "Basic256Sha256 模式需要客户端证书和私钥文件路径",
                           field="settings.certificate")
    nodes = settings.get("nodes", [])
    if not isinstance(nodes, list):
        raise GeoError("docking_nodes_invalid", "点位映射表应为数组", field="settings.nodes")
    for i, n in enumerate(nodes, 1):
        if not isinstance(n, dict) or not isinstance(n.get("datastream"), str) or "/" not in n["datastream"]:
            raise GeoError("docking_nodes_invalid", f"点位映射第 {i} 行：数据流应写成“设备编码/数据流编码”",
                           field="settings.nodes", row=i)
        if kind == "opcua" and not (isinstance(n.get("node_id"), str) and _NODE_ID.match(n["node_id"])):
            raise GeoError("docking_nodes_invalid", f"点位映射第 {i} 行：节点标识无效（如 ns=2;s=WS01.Pressure）",
                           field="settings.nodes", row=i)
    return settings


def _validate(db, body: dict, current: DockSource | None) -> dict:
    out = {}
    if current is None or "code" in body:
        if not isinstance(body.get("code"), str) or not _CODE.match(body["code"]):
            raise GeoError("docking_code_invalid", "编码应为 2–40 位字母、数字、下划线或连字符", field="code")
        out["code"] = body["code"]
    if current is None or "name" in body:
        name = body.get("name")
        if not isinstance(name, str) or not name.strip() or len(name) > 120:
            raise GeoError("docking_name_invalid", "请填写名称（不超过 120 字）", field="name")
        out["name"] = name.strip()
    for f, names, label in (("network", NETWORK_NAMES, "系统类别"), ("kind", KIND_NAMES, "对接方式")):
        if current is None or f in body:
            if body.get(f) not in names:
                raise GeoError(f"docking_{f}_invalid", f"{label}无效，可选：{'、'.join(names)}", field=f)
            out[f] = body[f]
    if "dept_code" in body and body["dept_code"] is not None:
        if not db.execute(text("SELECT 1 FROM admin.department WHERE code = :c"), {"c": body["dept_code"]}).first():
            raise GeoError("docking_dept_invalid", f"部门“{body['dept_code']}”不存在", field="dept_code")
    if "dept_code" in body:
        out["dept_code"] = body["dept_code"]
    if "enabled" in body:
        if not isinstance(body["enabled"], bool):
            raise GeoError("docking_enabled_invalid", "enabled 应为 true/false", field="enabled")
        out["enabled"] = body["enabled"]
    kind = out.get("kind") or (current.kind if current else None)
    if "settings" in body or current is None:
        out["settings"] = _check_settings(kind, body.get("settings", {}))
    return out


def lag_seconds(s: DockSource, now: dt.datetime) -> int | None:
    ref = s.last_data_time if s.kind != "gis_file" else s.last_success_at
    return None if ref is None else max(0, int((now - ref).total_seconds()))


def source_json(s: DockSource, now: dt.datetime | None = None, dept_name: str | None = None) -> dict:
    now = now or dt.datetime.now(dt.timezone.utc)
    iso = lambda t: t.isoformat() if t else None  # noqa: E731
    status = ("disabled" if not s.enabled else "never" if s.last_run_at is None
              else "error" if s.last_error and (s.last_success_at is None or s.last_success_at < s.last_run_at)
              else "ok")
    return {"id": s.id, "code": s.code, "name": s.name, "network": s.network, "network_name": NETWORK_NAMES[s.network],
            "kind": s.kind, "kind_name": KIND_NAMES[s.kind], "dept_code": s.dept_code, "dept_name": dept_name,
            "settings": s.settings, "gis_mapping": s.gis_mapping, "api_key_id": s.api_key_id, "enabled": s.enabled,
            "last_run_at": iso(s.last_run_at), "last_success_at": iso(s.last_success_at), "last_error": s.last_error,
            "last_data_time": iso(s.last_data_time), "rows_in": s.rows_in, "rows_rejected": s.rows_rejected,
            "lag_s": lag_seconds(s, now), "status": status, "version": s.version}


def _depts(db) -> dict:
    return dict(db.execute(text("SELECT code, name FROM admin.department")).all())


# -- page --------------------------------------------------------------------------------
@pages.get("/docking")
@require_permission("lifeline:config")
def docking_page():
    db = get_db()
    depts = db.execute(text("SELECT code, name FROM admin.department WHERE kind = 'utility' OR code IN "
                            "(SELECT dept_code FROM lifeline.dock_source) ORDER BY code")).mappings().all()
    return render_template("lifeline/docking.html", networks=NETWORK_NAMES, kinds=KIND_NAMES, depts=depts)


# -- sources API ---------------------------------------------------------------------------
@api.get("/docking/sources")
@require_permission("lifeline:config")
def docking_sources():
    db = get_db()
    names, now = _depts(db), dt.datetime.now(dt.timezone.utc)
    rows = db.scalars(select(DockSource).order_by(DockSource.network, DockSource.code)).all()
    return jsonify({"items": [source_json(s, now, names.get(s.dept_code)) for s in rows]})


@api.get("/docking/sources/<int:source_id>")
@require_permission("lifeline:config")
def docking_source(source_id: int):
    db = get_db()
    s = source_or_404(db, source_id)
    return jsonify(source_json(s, dept_name=_depts(db).get(s.dept_code)))


@api.post("/docking/sources")
@require_permission("lifeline:config")
def docking_source_create():
    db = get_db()
    data = _validate(db, _body(FIELDS - {"version"}), None)
    if db.scalar(select(DockSource.id).where(DockSource.code == data["code"])):
        raise GeoError("docking_code_taken", f"编码“{data['code']}”已被使用", status=409, field="code")
    s = DockSource(**data, version=1)
    db.add(s)
    db.commit()
    return jsonify(source_json(s)), 201


@api.patch("/docking/sources/<int:source_id>")
@require_permission("lifeline:config")
def docking_source_update(source_id: int):
    db = get_db()
    s = source_or_404(db, source_id)
    body = _body(FIELDS)
    if not isinstance(body.get("version"), int) or isinstance(body.get("version"), bool):
        raise GeoError("version_missing", "缺少 version（数据版本号），请刷新后重试")
    if body["version"] != s.version:
        raise GeoError("version_conflict", f"对接源“{s.name}”已被他人修改（当前版本 {s.version}），请刷新后重试",
                       status=409, current_version=s.version)
    data = _validate(db, body, s)
    if "code" in data and db.scalar(select(DockSource.id).where(DockSource.code == data["code"],
                                                                 DockSource.id != s.id)):
        raise GeoError("docking_code_taken", f"编码“{data['code']}”已被使用", status=409, field="code")
    for k, v in data.items():
        setattr(s, k, v)
    s.version += 1
    db.commit()
    return jsonify(source_json(s))


@api.post("/docking/sources/<int:source_id>/api-key")
@require_permission("lifeline:config")
def docking_source_key(source_id: int):
    """A new API key for the utility's system, bound to a user; the full key is shown once."""
    from webapp.auth.guard import principal
    from webapp.auth.models import User
    from webapp.auth.service import create_api_key
    db = get_db()
    s = source_or_404(db, source_id)
    if s.kind not in ("http_push", "csv_push"):
        raise GeoError("docking_key_unsupported", "只有 HTTP/CSV 推送类对接源需要 API 密钥")
    body = request.get_json(silent=True) or {}
    user_id = body.get("user_id", principal().id)
    if not isinstance(user_id, int) or isinstance(user_id, bool) or db.get(User, user_id) is None:
        raise GeoError("docking_user_invalid", "绑定的用户不存在", field="user_id")
    full = create_api_key(db, f"数据对接：{s.name}"[:80], user_id)
    s.api_key_id = full.split(".", 1)[0]
    s.version += 1
    db.commit()
    return jsonify({"api_key": full, "key_id": s.api_key_id, "version": s.version}), 201


@api.post("/docking/sources/<int:source_id>/run")
@require_permission("lifeline:config")
def docking_source_run(source_id: int):
    """立即同步: poll an OPC UA source now (pushes and files arrive on their own)."""
    from etl.docking import opcua
    from webapp.auth.guard import principal
    db = get_db()
    s = source_or_404(db, source_id)
    if s.kind != "opcua":
        raise GeoError("docking_run_unsupported", "只有 OPC UA 对接源可以立即同步；推送类由对方系统推送，GIS 请上传文件")
    if not s.enabled:
        raise GeoError("docking_source_disabled", "该对接源已停用，请先启用")
    res = opcua.poll(raw_conn(db), dsn(), s.id, username=principal().username)
    db.commit()
    return jsonify(res)


@api.get("/docking/sources/<int:source_id>/runs")
@require_permission("lifeline:config")
def docking_runs(source_id: int):
    db = get_db()
    source_or_404(db, source_id)
    rows = db.scalars(select(DockRun).where(DockRun.source_id == source_id)
                      .order_by(DockRun.started_at.desc(), DockRun.id.desc()).limit(20)).all()
    return jsonify({"items": [{
        "id": r.id, "kind": r.kind, "kind_name": RUN_NAMES[r.kind], "started_at": r.started_at.isoformat(),
        "finished_at": r.finished_at.isoformat() if r.finished_at else None, "ok": r.ok, "rows_in": r.rows_in,
        "rows_rejected": r.rows_rejected, "inserted": r.inserted, "updated": r.updated, "unchanged": r.unchanged,
        "error": r.error, "username": r.username, "has_rejected": bool((r.detail or {}).get("rejected")),
    } for r in rows]})


@api.get("/docking/runs/<int:run_id>/rejected.csv")
@require_permission("lifeline:config")
def docking_run_rejected(run_id: int):
    r = get_db().get(DockRun, run_id)
    if r is None:
        raise GeoError("docking_run_not_found", f"同步记录 {run_id} 不存在", status=404)
    rejected = (r.detail or {}).get("rejected") or []
    cols = ["row", "code", "name", "message"] + sorted({k for x in rejected for k in (x.get("values") or {})})
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["行号", "原因代码", "原因", "说明"] + cols[4:])
    for x in rejected:
        w.writerow([x.get("row"), x.get("code"), x.get("name"), x.get("message")]
                   + [(x.get("values") or {}).get(c) for c in cols[4:]])
    return Response("\ufeff" + buf.getvalue(), mimetype="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f"attachment; filename=rejected-{run_id}.csv"})


from webapp.lifeline import docking_gis, docking_push  # noqa: E402,F401  (register their routes)
from webapp.lifeline.docking_seed import seed_demo  # noqa: E402,F401
