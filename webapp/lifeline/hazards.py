"""Hazard handling (R115) and the hazard ledger (R116): pages and JSON API.

Rules live in hazard_service, the BPMN runtime in hazard_flow, the tables in
hazard_models; the demo records in hazard_seed. Inspection (R111–R114) is in
inspection.py, imported at the bottom so one import registers both."""
from __future__ import annotations

import datetime as dt
import io

from flask import Response, jsonify, render_template, request, send_file, url_for
from sqlalchemy import func, select

from geo.errors import GeoError
from webapp.auth.guard import principal
from webapp.auth.models import Department
from webapp.auth.permissions import has_permission, require_permission
from webapp.db import get_db
from webapp.validation import body_and_files
from webapp.lifeline import api, pages
from webapp.lifeline import hazard_service as svc
from webapp.lifeline.hazard_models import Hazard, HazardEvent
from webapp.lifeline.risk_config import config_json
from webapp.admin import workflow_store

MAX_PAGE = 200
MAP_LIMIT = 5000




def _int_arg(name: str, default: int, lo: int, hi: int) -> int:
    v = request.args.get(name)
    if v in (None, ""):
        return default
    if not v.isdigit() or not lo <= int(v) <= hi:
        raise GeoError(f"{name}_invalid", f"参数 {name} 应为 {lo} 到 {hi} 的整数")
    return int(v)


def _detail(db, who, h: Hazard) -> dict:
    out = svc.hazard_json(h, svc.names(db))
    out["history"] = [svc.event_json(e) for e in db.scalars(
        select(HazardEvent).where(HazardEvent.hazard_id == h.id).order_by(HazardEvent.at, HazardEvent.id))]
    out["tasks"] = svc.tasks_for(db, who, h)
    out["done_stages"] = list(dict.fromkeys(e["task"] for e in out["history"] if e["task"]))
    out["can"] = {"plan": h.status in svc.OPEN_STATUSES and (svc.may_work(who, "monitor", h, db) or
                                                              svc.may_work(who, "dept_handler", h, db)),
                  "supervise": has_permission(who, "lifeline:risk:review") and h.status in svc.OPEN_STATUSES}
    return out


# -- pages -----------------------------------------------------------------------------
def _refs(db) -> dict:
    who = principal()
    return {"depts": [[c, n] for c, n in db.execute(select(Department.code, Department.name)
                                                    .order_by(Department.sort, Department.code))],
            "config": config_json(db), "statuses": svc.STATUSES, "sources": svc.SOURCES,
            "supervise_levels": svc.SUPERVISE_LEVELS,
            "can_handle": has_permission(who, "lifeline:hazard:handle"),
            "can_review": has_permission(who, "lifeline:risk:review"),
            "basemap": url_for("basemap.tile", z=0, x=0, y=0).replace("/0/0/0.png", "/{z}/{x}/{y}.png")}


@pages.get("/hazards")
@require_permission("lifeline:view")
def hazards_page():
    return render_template("lifeline/hazards.html", refs=_refs(get_db()))


@pages.get("/hazards/<int:hid>")
@require_permission("lifeline:view")
def hazard_detail_page(hid: int):
    db = get_db()
    h = svc.get_scoped(db, principal(), hid)
    return render_template("lifeline/hazard_detail.html", refs=_refs(db), hazard_id=h.id, hazard_code=h.code)


# -- API: ledger -----------------------------------------------------------------------
@api.get("/hazards")
@require_permission("lifeline:view")
def ledger_hazard_list():
    db, who = get_db(), principal()
    conds = svc.ledger_filters(db, request.args, who)
    page, size = _int_arg("page", 1, 1, 100000), _int_arg("size", 20, 1, MAX_PAGE)
    total = db.scalar(select(func.count()).select_from(Hazard).where(*conds))
    rows = db.scalars(select(Hazard).where(*conds).order_by(Hazard.found_at.desc(), Hazard.id.desc())
                      .limit(size).offset((page - 1) * size))
    nm = svc.names(db)
    return jsonify({"items": [svc.hazard_json(h, nm) for h in rows], "total": total, "page": page, "size": size,
                    "counts": svc.counts(db, svc.ledger_filters(db, request.args, who, skip_status=True))})


@api.get("/hazards/map")
@require_permission("lifeline:view")
def ledger_hazard_map():
    db = get_db()
    conds = svc.ledger_filters(db, request.args, principal())
    nm = svc.names(db)
    feats = []
    for h in db.scalars(select(Hazard).where(*conds).order_by(Hazard.id.desc()).limit(MAP_LIMIT)):
        p = svc.hazard_json(h, nm)
        feats.append({"type": "Feature", "geometry": {"type": "Point", "coordinates": [p.pop("lon"), p.pop("lat")]},
                      "properties": {k: p[k] for k in ("id", "code", "title", "status", "status_name", "level",
                                                       "level_name", "colour", "dept_name", "supervised", "overdue")}})
    return jsonify({"type": "FeatureCollection", "features": feats})


@api.get("/hazards/export.xlsx")
@require_permission("lifeline:view")
def ledger_hazard_export():
    from openpyxl import Workbook
    from openpyxl.styles import Font
    db, who = get_db(), principal()
    conds = svc.ledger_filters(db, request.args, who)
    wb = Workbook()
    ws = wb.active
    ws.title = "隐患治理台账"
    ws.append(["隐患编号", "隐患名称", "来源", "类别", "隐患类型", "等级", "责任单位", "状态", "挂牌督办", "督办级别",
               "督办期限", "整改措施", "整改资金（万元）", "整改责任人", "整改期限", "是否逾期", "发现时间", "地点",
               "经度", "纬度"])
    nm = svc.names(db)
    for h in db.scalars(select(Hazard).where(*conds).order_by(Hazard.found_at, Hazard.id)):
        p = svc.hazard_json(h, nm)
        ws.append([p["code"], p["title"], p["source_name"], p["category_name"], p["hazard_type_name"], p["level_name"],
                   p["dept_name"], p["status_name"], "是" if p["supervised"] else "否",
                   p["supervise"]["level_name"] if p["supervised"] else None,
                   p["supervise"]["deadline"] if p["supervised"] else None, p["plan"]["measures"], p["plan"]["funds"],
                   p["plan"]["person"], p["plan"]["deadline"], "是" if p["overdue"] else "否",
                   (h.found_at + dt.timedelta(hours=8)).strftime("%Y-%m-%d %H:%M"), p["address"], p["lon"], p["lat"]])
    ws2 = wb.create_sheet("状态统计")
    c = svc.counts(db, svc.ledger_filters(db, request.args, who, skip_status=True))
    ws2.append(["状态", "数量"])
    for k, name in [*svc.STATUSES.items(), ("open", "待整改（合计）"), ("supervised", "挂牌督办"), ("overdue", "逾期")]:
        ws2.append([name, c[k]])
    for sheet in (ws, ws2):
        for cell in sheet[1]:
            cell.font = Font(bold=True)
    buf = io.BytesIO()
    wb.save(buf)
    buf.seek(0)
    return send_file(buf, mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                     as_attachment=True, download_name=f"隐患治理台账-{dt.date.today():%Y%m%d}.xlsx")


# -- API: one hazard -------------------------------------------------------------------
@api.post("/hazards")
@require_permission("lifeline:hazard:handle")
def ledger_hazard_create():
    db, who = get_db(), principal()
    body, files = body_and_files()
    fields = svc.clean_new(db, body)
    photos = svc.store_photos(files, svc.MAX_PHOTOS - len(fields["photos"]))
    h = svc.create(db, who, fields, source="risk" if fields.get("risk_code") else
                   ("alarm" if fields.get("alarm_id") else "manual"), photos=photos)
    db.commit()
    return jsonify(_detail(db, who, h)), 201


@api.get("/hazards/<int:hid>")
@require_permission("lifeline:view")
def ledger_hazard_get(hid: int):
    db, who = get_db(), principal()
    return jsonify(_detail(db, who, svc.get_scoped(db, who, hid)))


@api.get("/hazards/<int:hid>/process.bpmn")
@require_permission("lifeline:view")
def ledger_hazard_process(hid: int):
    db = get_db()
    h = svc.get_scoped(db, principal(), hid)
    d = workflow_store.definition(db, h.process_key, h.process_version)
    if d is None:
        raise GeoError("process_version_missing", f"隐患所用流程版本 {h.process_version} 不存在", status=404)
    return Response(d.bpmn_xml, mimetype="application/xml")


@api.post("/hazards/<int:hid>/act")
@require_permission("lifeline:hazard:handle")
def ledger_hazard_act(hid: int):
    db, who = get_db(), principal()
    body, files = body_and_files()
    h = svc.act(db, who, hid, body, files)
    db.commit()
    return jsonify(_detail(db, who, h))


@api.put("/hazards/<int:hid>/plan")
@require_permission("lifeline:hazard:handle")
def ledger_hazard_plan(hid: int):
    db, who = get_db(), principal()
    body, _ = body_and_files()
    h = svc.set_plan(db, who, hid, body)
    db.commit()
    return jsonify(_detail(db, who, h))


@api.post("/hazards/<int:hid>/supervise")
@require_permission("lifeline:risk:review")
def ledger_hazard_supervise(hid: int):
    db, who = get_db(), principal()
    body, _ = body_and_files()
    h = svc.supervise(db, who, hid, body, True)
    db.commit()
    return jsonify(_detail(db, who, h))


@api.post("/hazards/<int:hid>/unsupervise")
@require_permission("lifeline:risk:review")
def ledger_hazard_unsupervise(hid: int):
    db, who = get_db(), principal()
    body, _ = body_and_files()
    h = svc.supervise(db, who, hid, body, False)
    db.commit()
    return jsonify(_detail(db, who, h))


def seed_demo(db, log=print) -> None:
    """Demo hazards, inspection plans, tracks and records (see hazard_seed)."""
    from webapp.lifeline.hazard_seed import seed
    seed(db, log)


from webapp.lifeline import inspection  # noqa: E402,F401  (registers the inspection routes)
