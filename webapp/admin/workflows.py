"""Workflow definitions (R92): BPMN process definitions listed with category
and version; new versions deployed after validation by SpiffWorkflow's
parser, suspended or put back in service, downloaded as XML. The storage and
the service API the case workflow uses live in `workflow_store`. The diagram
editor (bpmn-js in the browser) saves through the same deploy API."""
from __future__ import annotations

from pathlib import Path

from flask import Response, jsonify, redirect, render_template, request, url_for
from sqlalchemy import func, select

from geo.errors import GeoError
from geo.models import DictItem, DictType
from webapp.admin import api, pages
from webapp.admin import workflow_store as store
from webapp.admin.workflow_store import ProcessDefinition
from webapp.auth.models import Role
from webapp.auth.permissions import require_permission
from webapp.db import get_db

LIST_PARAMS = {"category", "key", "status", "page", "size"}
JSON_FIELDS = {"xml", "category", "process_key", "remark"}
FORM_FIELDS = {"category", "process_key", "remark"}
MAX_PAGE_SIZE = 200
DEMO_FILE = Path(__file__).parent / "bpmn" / "demo_inspection.bpmn"
CATEGORY_ITEMS = [("case", "案件处置流程"), ("hazard", "隐患处置流程"), ("alarm", "告警处置流程"), ("other", "其他")]


def _who() -> str | None:
    from webapp.auth.guard import principal
    who = principal()
    return getattr(who, "username", None)


def _json(d: ProcessDefinition, cats: dict[str, str], with_tasks: bool = False) -> dict:
    out = {"id": d.id, "process_key": d.process_key, "name": d.name, "category": d.category,
           "category_name": cats.get(d.category, d.category), "version": d.version, "sha256": d.sha256,
           "status": d.status, "status_name": store.STATUSES.get(d.status, d.status), "remark": d.remark,
           "deployed_by": d.deployed_by, "deployed_at": d.deployed_at.isoformat() if d.deployed_at else None,
           "size": len(d.bpmn_xml.encode("utf-8"))}
    if with_tasks:
        out["tasks"] = store.task_summary(d)
    return out


def _int_param(name: str, default: int, lo: int, hi: int) -> int:
    raw = request.args.get(name)
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except ValueError:
        raise GeoError("parameter_invalid", f"{name} 须为整数", parameter=name) from None
    if not lo <= value <= hi:
        raise GeoError("parameter_invalid", f"{name} 须在 {lo}–{hi} 之间", parameter=name)
    return value


def _get(db, key: str, version: int) -> ProcessDefinition:
    d = store.definition(db, key, version)
    if d is None:
        raise GeoError("workflow_not_found", f"流程“{key}”没有第 {version} 版", status=404)
    return d


# ---------------------------------------------------------------- page

@pages.get("/workflows")
@require_permission("admin:workflow:view")
def workflows_page():
    from webapp.auth.guard import principal
    from webapp.auth.permissions import has_permission
    db = get_db()
    return render_template("admin/workflows.html", categories=store.categories(db, enabled_only=False),
                           statuses=store.STATUSES,
                           can_edit=has_permission(principal(), "admin:workflow:edit"))


@pages.get("/workflows/editor", defaults={"process_key": None})
@pages.get("/workflows/<process_key>/editor")
@require_permission("admin:workflow:view")
def workflow_editor_page(process_key: str | None):
    """The BPMN editor: one version of a process (?version=N, default the active
    or else the newest), or a blank diagram for a new process (no key). Users
    with only admin:workflow:view get the read-only viewer."""
    from webapp.auth.guard import principal
    from webapp.auth.permissions import has_permission
    from webapp.cases.flow import ACTIONS, LANE_ROLES, PROCESS_KEY
    unknown = sorted(set(request.args) - {"version"})
    if unknown:
        raise GeoError("parameter_unknown", f"不支持的参数：{', '.join(unknown)}", unknown=unknown)
    db = get_db()
    can_edit = has_permission(principal(), "admin:workflow:edit")
    defn = active = None
    if process_key is not None:
        versions = db.execute(select(ProcessDefinition.version, ProcessDefinition.status)
                              .where(ProcessDefinition.process_key == process_key)
                              .order_by(ProcessDefinition.version.desc())).all()
        if not versions:
            raise GeoError("workflow_not_found", f"流程“{process_key}”不存在", status=404)
        active = next((v for v, st in versions if st == "active"), None)
        version = _int_param("version", active or versions[0][0], 1, 1_000_000)
        defn = _get(db, process_key, version)
    elif not can_edit:
        return redirect(url_for("admin.workflows_page"))  # nothing to show read-only
    cats = store.categories(db)
    contract = None
    if process_key == PROCESS_KEY:
        # Shown in the property panel: what the case engine needs from this diagram.
        contract = {"tasks": {k: list(v.values()) for k, v in ACTIONS.items()}}
    role_names = dict(db.execute(select(Role.code, Role.name)).all())
    lanes = {lane: {"code": code, "name": role_names.get(code, code)} for lane, code in LANE_ROLES.items()}
    return render_template("admin/workflow_editor.html", defn=defn, active_version=active,
                           categories=cats, can_edit=can_edit, contract=contract, lane_roles=lanes,
                           statuses=store.STATUSES)


# ---------------------------------------------------------------- JSON API

@api.get("/workflows")
@require_permission("admin:workflow:view")
def list_workflows():
    """Versions matching the filters, newest key first, versions newest first."""
    unknown = sorted(set(request.args) - LIST_PARAMS)
    if unknown:
        raise GeoError("parameter_unknown", f"不支持的参数：{', '.join(unknown)}", unknown=unknown)
    page = _int_param("page", 1, 1, 100000)
    size = _int_param("size", 50, 1, MAX_PAGE_SIZE)
    db = get_db()
    cats = store.categories(db, enabled_only=False)
    q = select(ProcessDefinition)
    if request.args.get("category"):
        if request.args["category"] not in cats:
            raise GeoError("parameter_invalid", f"流程分类“{request.args['category']}”不存在", parameter="category")
        q = q.where(ProcessDefinition.category == request.args["category"])
    key = (request.args.get("key") or "").strip()
    if key:
        like = "%" + key.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        q = q.where(ProcessDefinition.process_key.ilike(like) | ProcessDefinition.name.ilike(like))
    status = request.args.get("status")
    if status:
        if status not in store.STATUSES:
            raise GeoError("parameter_invalid", f"状态须为 {'、'.join(store.STATUSES)} 之一", parameter="status")
        q = q.where(ProcessDefinition.status == status)
    total = db.scalar(select(func.count()).select_from(q.subquery()))
    rows = db.scalars(q.order_by(ProcessDefinition.process_key, ProcessDefinition.version.desc())
                      .offset((page - 1) * size).limit(size)).all()
    return jsonify({"total": total, "page": page, "size": size, "items": [_json(d, cats) for d in rows]})


@api.get("/workflows/<key>/versions")
@require_permission("admin:workflow:view")
def workflow_history(key: str):
    db = get_db()
    rows = db.scalars(select(ProcessDefinition).where(ProcessDefinition.process_key == key)
                      .order_by(ProcessDefinition.version.desc())).all()
    if not rows:
        raise GeoError("workflow_not_found", f"流程“{key}”不存在", status=404)
    cats = store.categories(db, enabled_only=False)
    active = next((d.version for d in rows if d.status == "active"), None)
    return jsonify({"process_key": key, "name": rows[0].name, "active_version": active,
                    "items": [_json(d, cats) for d in rows]})


@api.get("/workflows/<key>/versions/<int:version>")
@require_permission("admin:workflow:view")
def workflow_detail(key: str, version: int):
    db = get_db()
    return jsonify(_json(_get(db, key, version), store.categories(db, enabled_only=False), with_tasks=True))


@api.get("/workflows/<key>/versions/<int:version>/bpmn")
@require_permission("admin:workflow:view")
def workflow_download(key: str, version: int):
    d = _get(get_db(), key, version)
    resp = Response(d.bpmn_xml, mimetype="application/xml")
    resp.headers["Content-Disposition"] = f'attachment; filename="{d.process_key}-v{d.version}.bpmn"'
    resp.headers["ETag"] = d.sha256
    return resp


@api.get("/workflows/<key>/versions/<int:version>/diagram")
@require_permission("case:view")
def workflow_case_diagram(key: str, version: int):
    """The XML of a case process for the diagram on case pages (bpmn-view.js):
    case readers do not hold admin:workflow:view, so only category `case`
    definitions are served here. Versions are immutable, so it caches."""
    d = store.definition(get_db(), key, version)
    if d is None or d.category != "case":
        raise GeoError("workflow_not_found", f"案件流程“{key}”没有第 {version} 版", status=404)
    if request.if_none_match.contains(d.sha256):
        return Response(status=304)
    resp = Response(d.bpmn_xml, mimetype="application/xml")
    resp.set_etag(d.sha256)
    resp.headers["Cache-Control"] = "private, max-age=86400"
    return resp


def _deploy_input() -> tuple[bytes | str, dict]:
    """(xml, fields) from a multipart upload (field `file`) or a JSON body (field `xml`)."""
    if request.content_length and request.content_length > store.MAX_BPMN_BYTES + 64 * 1024:
        raise GeoError("bpmn_too_large", f"流程文件不能超过 {store.MAX_BPMN_BYTES // 1048576} MB", status=413)
    if request.mimetype == "multipart/form-data":
        unknown = sorted(set(request.form) - FORM_FIELDS)
        if unknown or set(request.files) - {"file"}:
            raise GeoError("field_unknown", f"不支持的字段：{', '.join(unknown) or '多余的文件'}")
        upload = request.files.get("file")
        if upload is None or not upload.filename:
            raise GeoError("upload_missing", "请选择要部署的 BPMN 文件（表单字段 file）")
        ext = upload.filename.rsplit(".", 1)[-1].lower() if "." in upload.filename else ""
        if ext not in ("bpmn", "xml"):
            raise GeoError("upload_type_forbidden", "只能上传 .bpmn 或 .xml 格式的流程文件", status=415)
        raw = upload.stream.read(store.MAX_BPMN_BYTES + 1)
        if len(raw) > store.MAX_BPMN_BYTES:
            raise GeoError("bpmn_too_large", f"流程文件不能超过 {store.MAX_BPMN_BYTES // 1048576} MB", status=413)
        return raw, {k: request.form.get(k) for k in FORM_FIELDS}
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise GeoError("body_invalid", "请上传 BPMN 文件（multipart 字段 file）或提交 JSON 对象 {xml, category}")
    unknown = sorted(set(body) - JSON_FIELDS)
    if unknown:
        raise GeoError("field_unknown", f"不支持的字段：{', '.join(unknown)}")
    xml = body.get("xml")
    if not isinstance(xml, str) or not xml.strip():
        raise GeoError("field_required", "请提供流程 XML（字段 xml）", field="xml")
    for k in ("process_key", "remark", "category"):
        if body.get(k) is not None and not isinstance(body[k], str):
            raise GeoError("field_invalid", f"{k} 须为文本", field=k)
    return xml, {k: body.get(k) for k in FORM_FIELDS}


@api.post("/workflows")
@require_permission("admin:workflow:edit")
def deploy_workflow():
    xml, fields = _deploy_input()
    if not fields.get("category"):
        raise GeoError("field_required", "请选择流程分类", field="category")
    db = get_db()
    try:
        d = store.deploy(db, xml, fields["category"], _who(), process_key=fields.get("process_key") or None,
                         remark=fields.get("remark"))
        db.commit()
    except Exception:
        db.rollback()
        raise
    return jsonify(_json(d, store.categories(db, enabled_only=False), with_tasks=True)), 201


def _suspend(key: str, version: int, suspended: bool):
    db = get_db()
    try:
        d = store.set_suspended(db, key, version, suspended)
        db.commit()
    except Exception:
        db.rollback()
        raise
    return jsonify(_json(d, store.categories(db, enabled_only=False)))


@api.post("/workflows/<key>/versions/<int:version>/suspend")
@require_permission("admin:workflow:edit")
def suspend_workflow(key: str, version: int):
    return _suspend(key, version, True)


@api.post("/workflows/<key>/versions/<int:version>/resume")
@require_permission("admin:workflow:edit")
def resume_workflow(key: str, version: int):
    return _suspend(key, version, False)


# ---------------------------------------------------------------- demo data

def seed_demo(db, log=print) -> None:
    """The `workflow_category` dictionary and one small demo process (idempotent)."""
    if db.get(DictType, store.CATEGORY_DICT) is None:
        db.add(DictType(code=store.CATEGORY_DICT, name="流程分类", description="流程定义的业务分类（R92）"))
        db.flush()
    have = set(db.scalars(select(DictItem.code).where(DictItem.type_code == store.CATEGORY_DICT)))
    for sort, (code, name) in enumerate(CATEGORY_ITEMS, start=1):
        if code not in have:
            db.add(DictItem(type_code=store.CATEGORY_DICT, code=code, name=name, sort=sort * 10))
    db.flush()
    xml = DEMO_FILE.read_bytes()
    key = "demo_hazard_inspection"
    if db.scalar(select(ProcessDefinition.id).where(ProcessDefinition.process_key == key).limit(1)) is None:
        d = store.deploy(db, xml, "hazard", "system", remark="演示数据：隐患巡查处置示例流程")
        log(f"workflow definition {d.process_key} v{d.version} deployed")
