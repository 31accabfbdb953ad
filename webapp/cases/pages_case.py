"""The case pages people work in (R2–R5): the mobile report page (城管通, also a
mobile web page), the case detail with map, media, timeline and the caller's
actions, and the printable case sheet (案卷处理单).

The pages are thin: they read through the case JSON API (webapp.cases.views)
and act through it, so the rules (scope, roles, locking) live in one place.
Only look-ups the API does not give (class dictionary, region and
department names, the nearest doorplate) are answered here."""
from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from zoneinfo import ZoneInfo

from flask import jsonify, render_template, request
from markupsafe import Markup
from sqlalchemy import select, text

from geo.errors import GeoError
from geo.models import DictItem, Region
from webapp import sysconfig
from webapp.auth.guard import principal
from webapp.auth.models import Department, Role
from webapp.auth.permissions import has_permission, require_permission
from webapp.cases import api, flow, pages
from webapp.cases.engine import ROLE_NAMES
from webapp.cases.intake import ROLE_SOURCES
from webapp.cases.models import KINDS
from webapp.cases.stages import SOURCES, STAGES
from webapp.cases.views import case_json, get_visible
from webapp.db import get_db

CST = ZoneInfo("Asia/Shanghai")
# Event actions that are not task decisions (those take their name from flow.ACTIONS).
EVENT_NAMES = {"report": "上报", "urge": "督办", "difficult": "认定疑难案件", "undifficult": "取消疑难认定",
               "comment": "批注", "confirm_owner": "确权"}
# Short action names for the timeline, when the stage does not say better.
SHORT_ACTIONS = {"file": "立案", "verify": "派发核实", "cancel": "作废", "confirm": "核实属实", "dispatch": "派遣",
                 "done": "处置反馈", "return": "申请回退", "extend": "申请延期", "suspend": "申请挂账",
                 "approve": "同意", "reject": "不同意", "resume": "恢复办理", "pass": "核查通过",
                 "fail": "核查不通过", "close": "结案"}
TASK_NAMES = {"approve_return": "回退审批", "approve_extension": "延期审批", "approve_suspension": "挂账审批",
              "suspended": "挂账"}
ADDRESS_RADIUS_M = 150
# The process viewer of the workflow pages (it loads bpmn-js itself); used only when it is there.
DIAGRAM_JS = Path(__file__).resolve().parents[1] / "admin" / "static" / "bpmn-view.js"


def allowed_sources(who) -> dict[str, str]:
    """The sources the caller may report under, mirroring intake's rule."""
    if "*" in who.permissions:
        return dict(SOURCES)
    codes = set().union(*(ROLE_SOURCES.get(r, set()) for r in who.role_codes)) if who.role_codes else set()
    return {k: v for k, v in SOURCES.items() if k in codes}


def class_tree(db) -> dict[str, list[dict]]:
    """部件/事件 big classes with their enabled small classes, in dictionary order."""
    rows = db.execute(select(DictItem.type_code, DictItem.code, DictItem.name, DictItem.parent_code)
                      .where(DictItem.type_code.in_(("component_class", "event_class")), DictItem.enabled.is_(True))
                      .order_by(DictItem.sort, DictItem.code)).all()
    out: dict[str, list[dict]] = {}
    for kind in KINDS:
        mine = [r for r in rows if r.type_code == f"{kind}_class"]
        bigs = [{"code": r.code, "name": r.name, "children": []} for r in mine if len(r.code) == 2]
        by_code = {b["code"]: b for b in bigs}
        for r in mine:
            if len(r.code) == 4:
                parent = by_code.get(r.parent_code or r.code[:2])
                if parent is not None:
                    parent["children"].append({"code": r.code, "name": r.name})
        out[kind] = [b for b in sorted(bigs, key=lambda b: b["code"]) if b["children"]]
    return out


def region_names(db, *codes) -> dict[str, str]:
    wanted = [c for c in codes if c]
    if not wanted:
        return {}
    return dict(db.execute(select(Region.code, Region.name).where(Region.code.in_(wanted))).all())


def role_names(db) -> dict[str, str]:
    return {**ROLE_NAMES, **dict(db.execute(select(Role.code, Role.name)).all())}


def action_label(stage: str | None, action: str) -> str:
    if action in EVENT_NAMES:
        return EVENT_NAMES[action]
    if stage == "accept" and action == "file":
        return "受理"  # accepted and handed on for filing
    if stage in ("approve_return", "approve_extension", "approve_suspension") and action in ("approve", "reject"):
        return flow.ACTIONS[stage][action]
    return SHORT_ACTIONS.get(action) or flow.ACTIONS.get(stage or "", {}).get(action) or action


def stage_label(stage: str | None) -> str:
    return STAGES.get(stage or "") or TASK_NAMES.get(stage or "") or (stage or "")


def local(iso: str | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    return dt.datetime.fromisoformat(iso).astimezone(CST).strftime(fmt) if iso else ""


def _departments(db, who) -> list[dict]:
    """Handling departments for the dispatch form (only for those who dispatch)."""
    if not ("*" in who.permissions or has_permission(who, "case:dispatch")):
        return []
    rows = db.execute(select(Department.code, Department.name).where(Department.kind != "government")
                      .order_by(Department.sort, Department.code)).all()
    return [{"code": c, "name": n} for c, n in rows]


def _labels(db) -> dict:
    return {"stages": {**TASK_NAMES, **STAGES}, "roles": role_names(db), "events": EVENT_NAMES,
            "short": SHORT_ACTIONS, "approvals": {k: flow.ACTIONS[k] for k in TASK_NAMES if k in flow.ACTIONS}}


def _json_script(value) -> Markup:
    """JSON safe inside <script type=application/json>."""
    return Markup(json.dumps(value, ensure_ascii=False).replace("<", "\\u003c").replace(">", "\\u003e")
                  .replace("&", "\\u0026"))


@pages.get("/report")
@require_permission("case:report")
def report_page():
    who = principal()
    db = get_db()
    return render_template("cases/report.html", sources=allowed_sources(who), kinds=KINDS,
                           classes=_json_script(class_tree(db)), start=_json_script(_start_view(db, who)), max_media=sysconfig.get("case.max_media"),
                           image_types=sysconfig.get("upload.image_types"),
                           media_types=sysconfig.get("upload.media_types"), max_mb=sysconfig.get("upload.max_mb"))


def _start_view(db, who) -> dict:
    """Where the report map opens: the reporter's own street or community, else the county."""
    row = None
    if who.region_code:
        row = db.execute(text("SELECT ST_XMin(geom), ST_YMin(geom), ST_XMax(geom), ST_YMax(geom) FROM geo.region "
                              "WHERE code = :c"), {"c": who.region_code}).fetchone()
    if row is None:
        row = db.execute(text("SELECT ST_XMin(geom), ST_YMin(geom), ST_XMax(geom), ST_YMax(geom) FROM geo.region "
                              "WHERE level = 'county' LIMIT 1")).fetchone()
    return {"bbox": list(row) if row else [113.70, 33.15, 114.30, 33.60]}


@api.get("/nearby-address")
@require_permission("case:report")
def nearby_address():
    """The nearest doorplate to a point (CGCS2000), to prefill a report's address."""
    unknown = set(request.args) - {"lon", "lat"}
    if unknown:
        raise GeoError("parameter_unknown", f"未知参数: {', '.join(sorted(unknown))}")
    vals = []
    for name in ("lon", "lat"):
        raw = request.args.get(name, "")
        try:
            v = float(raw)
        except ValueError:
            raise GeoError("parameter_invalid", f"参数 {name} 应为数字", parameter=name) from None
        if not -180 <= v <= 180 or (name == "lat" and not -90 <= v <= 90):
            raise GeoError("parameter_invalid", f"参数 {name} 超出范围", parameter=name)
        vals.append(v)
    row = get_db().execute(text("""
        SELECT full_address, ST_Distance(geom::geography, p::geography) AS d
          FROM geo.address, (SELECT ST_SetSRID(ST_MakePoint(:lon, :lat), 4490) p) q
         WHERE ST_DWithin(geom::geography, p::geography, :r)
         ORDER BY geom <-> p LIMIT 1"""), {"lon": vals[0], "lat": vals[1], "r": ADDRESS_RADIUS_M}).fetchone()
    if row is None:
        return jsonify({"address": None, "distance_m": None})
    return jsonify({"address": row[0], "distance_m": round(float(row[1]), 1)})


def _case_context(case_id: int) -> dict:
    db = get_db()
    who = principal()
    case = get_visible(db, case_id, who)  # 404 page when out of scope
    data = case_json(db, case, who)
    names = region_names(db, data["street_code"], data["community_code"])
    return {"db": db, "who": who, "case": data, "street_name": names.get(data["street_code"] or ""),
            "community_name": names.get(data["community_code"] or "")}


def _component(db, code: str | None) -> dict | None:
    if not code:
        return None
    row = db.execute(text("SELECT name, ST_X(ST_PointOnSurface(geom)), ST_Y(ST_PointOnSurface(geom)) "
                          "FROM geo.component WHERE code = :c"), {"c": code}).fetchone()
    return {"code": code, "name": row[0], "lon": row[1], "lat": row[2]} if row else None


@pages.get("/<int:case_id>")
@require_permission("case:view")
def detail_page(case_id: int):
    ctx = _case_context(case_id)
    db, who, data = ctx["db"], ctx["who"], ctx["case"]
    extra = {"component": _component(db, data["component_code"]),
             "street_name": ctx["street_name"], "community_name": ctx["community_name"],
             "departments": _departments(db, who), "dept_names": dict(db.execute(
                 select(Department.code, Department.name)).all()),
             "can_supervise": "*" in who.permissions or has_permission(who, "case:supervise")}
    return render_template(
        "cases/detail.html", case=data, street_name=ctx["street_name"], community_name=ctx["community_name"],
        case_data=_json_script(data), labels=_json_script(_labels(db)), extra=_json_script(extra),
        can_supervise=extra["can_supervise"], diagram=DIAGRAM_JS.exists(), stage_label=stage_label, local=local)


@pages.get("/<int:case_id>/process.bpmn")
@require_permission("case:view")
def case_process_xml(case_id: int):
    """The BPMN of the version this case runs on, for the read-only diagram."""
    from webapp.admin import workflow_store
    db = get_db()
    case = get_visible(db, case_id, principal())
    defn = workflow_store.definition(db, case.process_key, case.process_version)
    if defn is None:
        raise GeoError("process_version_missing", f"案卷所用流程版本 {case.process_version} 不存在", status=404)
    return defn.bpmn_xml, 200, {"Content-Type": "application/xml; charset=utf-8"}


@pages.get("/<int:case_id>/print")
@require_permission("case:view")
def print_page(case_id: int):
    ctx = _case_context(case_id)
    db, data = ctx["db"], ctx["case"]
    roles = role_names(db)
    timeline = [{**e, "at_local": local(e["at"]), "action_name": action_label(e["stage"], e["action"]),
                 "stage_name": stage_label(e["stage"]), "role_name": roles.get(e["role"] or "", e["role"] or ""),
                 "deadline_local": local(e["deadline"])} for e in data["events"]]
    photo = next((m for m in data["media"] if m["kind"] == "photo"), None)
    county = db.scalar(select(Region.name).where(Region.level == "county").limit(1)) or "西平县"
    return render_template(
        "cases/print.html", case=data, timeline=timeline, photo=photo, county=county,
        owner=sysconfig.get("site.owner"), centre=sysconfig.get("site.support"),
        street_name=ctx["street_name"], community_name=ctx["community_name"],
        printed_at=dt.datetime.now(CST).strftime("%Y-%m-%d %H:%M"), local=local, stage_label=stage_label,
        case_data=_json_script({"location": data["location"]}))
