"""System logs (R94): the login log and the operation log — search with
paging, and export to Excel. Times are shown in Asia/Shanghai; the date
range `from`/`to` is in local days (both inclusive)."""
from __future__ import annotations

import datetime as dt
import io
import json
from zoneinfo import ZoneInfo

from flask import jsonify, render_template, request, send_file
from sqlalchemy import func, select

from geo.errors import GeoError
from webapp.admin import api, pages
from webapp.auth.models import LoginLog, OperationLog
from webapp.auth.permissions import require_permission
from webapp.db import get_db

TZ = ZoneInfo("Asia/Shanghai")
MAX_PAGE_SIZE = 500
MAX_EXPORT_ROWS = 100_000
PAGING = {"page", "page_size"}
LOGIN_FILTERS = {"username", "success", "from", "to", "ip"}
OP_FILTERS = {"username", "action", "table", "target_id", "from", "to"}
ACTIONS = {"create": "新增", "update": "修改", "delete": "删除"}


def _local(ts: dt.datetime | None) -> str | None:
    return ts.astimezone(TZ).strftime("%Y-%m-%d %H:%M:%S") if ts else None


def _bound(name: str, value: str, end: bool) -> dt.datetime:
    """An ISO date (a whole local day) or date-time (local if it has no offset)."""
    try:
        if len(value) == 10:
            day = dt.date.fromisoformat(value)
            if end:
                day += dt.timedelta(days=1)
            return dt.datetime.combine(day, dt.time(), TZ)
        ts = dt.datetime.fromisoformat(value)
    except ValueError:
        raise GeoError("date_invalid", f"参数 {name} 应为日期，如 2026-11-24（或 2026-11-24T08:30:00）") from None
    return ts if ts.tzinfo else ts.replace(tzinfo=TZ)


def _params(filters: set[str], paging: bool = True) -> dict:
    allowed = filters | PAGING
    unknown = set(request.args) - allowed
    if unknown:
        raise GeoError("param_unknown", f"未知参数: {', '.join(sorted(unknown))}；可用参数: "
                                        f"{', '.join(sorted(allowed))}")
    args = {k: v.strip() for k, v in request.args.items() if v.strip()}
    out: dict = {k: v for k, v in args.items() if k in filters - {"from", "to", "success"}}
    for k, v in out.items():
        if len(v) > 80:
            raise GeoError("param_invalid", f"参数 {k} 过长")
    if "from" in args:
        out["from"] = _bound("from", args["from"], end=False)
    if "to" in args:
        out["to"] = _bound("to", args["to"], end=len(args["to"]) == 10)
    if "from" in out and "to" in out and out["from"] >= out["to"]:
        raise GeoError("date_range_invalid", "开始日期不能晚于结束日期")
    if "success" in args:
        flag = args["success"].lower()
        if flag not in ("true", "false", "1", "0"):
            raise GeoError("param_invalid", "参数 success 应为 true 或 false")
        out["success"] = flag in ("true", "1")
    if "action" in out and out["action"] not in ACTIONS and not out["action"].replace("_", "").isalnum():
        raise GeoError("param_invalid", "参数 action 无效")
    try:
        out["page"] = int(args.get("page", 1))
        out["page_size"] = int(args.get("page_size", 50))
    except ValueError:
        raise GeoError("param_invalid", "page 和 page_size 应为整数") from None
    if out["page"] < 1:
        raise GeoError("param_invalid", "page 应从 1 开始")
    if not 1 <= out["page_size"] <= MAX_PAGE_SIZE:
        raise GeoError("page_size_invalid", f"page_size 应在 1 到 {MAX_PAGE_SIZE} 之间")
    return out


def _like(value: str) -> str:
    return "%" + value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _login_query(p: dict):
    q = select(LoginLog)
    if "username" in p:
        q = q.where(LoginLog.username.ilike(_like(p["username"]), escape="\\"))
    if "ip" in p:
        q = q.where(LoginLog.ip.ilike(_like(p["ip"]), escape="\\"))
    if "success" in p:
        q = q.where(LoginLog.success.is_(p["success"]))
    if "from" in p:
        q = q.where(LoginLog.at >= p["from"])
    if "to" in p:
        q = q.where(LoginLog.at < p["to"])
    return q.order_by(LoginLog.at.desc(), LoginLog.id.desc())


def _op_query(p: dict):
    q = select(OperationLog)
    if "username" in p:
        q = q.where(OperationLog.username.ilike(_like(p["username"]), escape="\\"))
    if "action" in p:
        q = q.where(OperationLog.action == p["action"])
    if "table" in p:
        q = q.where(OperationLog.target_table.ilike(_like(p["table"]), escape="\\"))
    if "target_id" in p:
        q = q.where(OperationLog.target_id == p["target_id"])
    if "from" in p:
        q = q.where(OperationLog.at >= p["from"])
    if "to" in p:
        q = q.where(OperationLog.at < p["to"])
    return q.order_by(OperationLog.at.desc(), OperationLog.id.desc())


def _login_json(r: LoginLog) -> dict:
    return {"id": r.id, "at": r.at.astimezone(TZ).isoformat(), "at_local": _local(r.at), "username": r.username,
            "success": r.success, "reason": r.reason, "ip": r.ip, "user_agent": r.user_agent}


def diff(before: dict | None, after: dict | None) -> list[dict]:
    """Fields that changed: [{field, before, after}] (all fields for a create or delete)."""
    before, after = before or {}, after or {}
    out = []
    for k in list(before) + [k for k in after if k not in before]:
        if k in ("created_at", "updated_at"):
            continue
        b, a = before.get(k), after.get(k)
        if b != a:
            out.append({"field": k, "before": b, "after": a})
    return out


def _op_json(r: OperationLog) -> dict:
    return {"id": r.id, "at": r.at.astimezone(TZ).isoformat(), "at_local": _local(r.at), "user_id": r.user_id,
            "username": r.username, "action": r.action, "action_name": ACTIONS.get(r.action, r.action),
            "table": r.target_table, "target_id": r.target_id or (r.after or {}).get("id") or
            (r.after or {}).get("code"), "ip": r.ip, "detail": r.detail, "before": r.before, "after": r.after,
            "changes": diff(r.before, r.after)}


def _page(query, p: dict, to_json) -> dict:
    db = get_db()
    total = db.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    rows = db.scalars(query.limit(p["page_size"]).offset((p["page"] - 1) * p["page_size"])).all()
    return {"items": [to_json(r) for r in rows], "total": total, "page": p["page"], "page_size": p["page_size"],
            "pages": (total + p["page_size"] - 1) // p["page_size"]}


@api.get("/logs/login")
@require_permission("admin:log:view")
def login_log():
    p = _params(LOGIN_FILTERS)
    return jsonify(_page(_login_query(p), p, _login_json))


@api.get("/logs/operations")
@require_permission("admin:log:view")
def operation_log():
    p = _params(OP_FILTERS)
    return jsonify(_page(_op_query(p), p, _op_json))


def _xlsx(title: str, headers: list[str], widths: list[int], rows, filename: str):
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill
    wb = Workbook(write_only=False)
    ws = wb.active
    ws.title = title
    ws.append(headers)
    for cell in ws[1]:
        cell.font = Font(bold=True, color="FFFFFF")
        cell.fill = PatternFill("solid", fgColor="0D6EFD")
        cell.alignment = Alignment(horizontal="center")
    for row in rows:
        ws.append(row)
    for i, w in enumerate(widths):
        ws.column_dimensions[chr(ord("A") + i)].width = w
    ws.freeze_panes = "A2"
    ws.auto_filter.ref = ws.dimensions
    buf = io.BytesIO()
    wb.save(buf)
    buf.seek(0)
    stamp = dt.datetime.now(TZ).strftime("%Y%m%d-%H%M%S")
    return send_file(buf, as_attachment=True, download_name=f"{filename}-{stamp}.xlsx",
                     mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


def _cell(v) -> str:
    """Excel cells hold at most 32767 characters; JSON goes in as text."""
    s = v if isinstance(v, str) else json.dumps(v, ensure_ascii=False, default=str)
    return s if len(s) <= 32000 else s[:32000] + "…"


@api.get("/logs/login/export.xlsx")
@require_permission("admin:log:view")
def login_log_export():
    p = _params(LOGIN_FILTERS)
    rows = get_db().scalars(_login_query(p).limit(MAX_EXPORT_ROWS))
    return _xlsx("登录日志", ["时间", "用户名", "结果", "原因", "IP 地址", "浏览器"], [20, 16, 8, 24, 16, 60],
                 ([_local(r.at), r.username, "成功" if r.success else "失败", r.reason or "", r.ip or "",
                   r.user_agent or ""] for r in rows), "登录日志")


@api.get("/logs/operations/export.xlsx")
@require_permission("admin:log:view")
def operation_log_export():
    p = _params(OP_FILTERS)
    rows = get_db().scalars(_op_query(p).limit(MAX_EXPORT_ROWS))

    def lines():
        for r in rows:
            j = _op_json(r)
            changes = "\n".join(f"{c['field']}: {_cell(c['before'])} → {_cell(c['after'])}" for c in j["changes"])
            yield [j["at_local"], r.username or "", j["action_name"], r.target_table or "", j["target_id"] or "",
                   _cell(changes), r.ip or "", _cell(r.before) if r.before is not None else "",
                   _cell(r.after) if r.after is not None else ""]
    return _xlsx("操作日志", ["时间", "操作人", "操作", "数据表", "记录编号", "变更内容", "IP 地址", "修改前", "修改后"],
                 [20, 14, 8, 22, 16, 50, 16, 40, 40], lines(), "操作日志")


@pages.get("/logs")
@require_permission("admin:log:view")
def logs_page():
    return render_template("admin/logs.html", actions=ACTIONS)
