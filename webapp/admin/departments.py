"""Departments (R87): an unlimited tree — county government → bureaus →
sections, utility companies, street offices — with create, edit (optimistic
locking), move (no cycles) and delete guards (no delete while anything still
references the department: sub-departments, members, components, pipes, …).

Writes go through the ORM session, so each one lands in the operation log."""
from __future__ import annotations

import re

from flask import jsonify, render_template, request
from sqlalchemy import func, select, text

from geo.errors import GeoError
from webapp.admin import api, pages
from webapp.auth.models import Department, User
from webapp.auth.permissions import require_permission
from webapp.db import get_db

KINDS = {"government": "政府", "bureau": "委办局", "section": "科室/中心", "utility": "公用事业单位",
         "street_office": "街道办事处", "company": "企业", "other": "其他"}
CREATE_FIELDS = {"code", "name", "parent_code", "kind", "region_code", "sort"}
EDIT_FIELDS = {"name", "kind", "sort", "region_code", "version"}
MOVE_FIELDS = {"parent_code", "version"}
_CODE = re.compile(r"^[A-Z0-9]{2,20}$")
_REGION = re.compile(r"^[0-9]{6,12}$")

# What may reference a department (besides sub-departments), with Chinese names.
# Any other foreign key to admin.department found in the database (later
# business tables, e.g. open work orders) blocks deletion too.
REF_LABELS = {
    ("admin.user", "dept_code"): "用户",
    ("geo.component", "owner_dept"): "城市部件（权属单位）",
    ("geo.component", "maintainer_dept"): "城市部件（养护单位）",
    ("geo.pipe", "owner_dept"): "管线（权属单位）",
    ("geo.bridge", "maintainer_dept"): "桥梁（养护单位）",
    ("geo.risk_point", "dept_code"): "风险点（监管单位）",
    ("geo.resp_grid", "dept_code"): "责任网格",
}
_FK_SQL = text("""
SELECT n.nspname AS schema, t.relname AS tbl, a.attname AS col
  FROM pg_constraint c
  JOIN pg_class t ON t.oid = c.conrelid
  JOIN pg_namespace n ON n.oid = t.relnamespace
  JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = ANY (c.conkey)
 WHERE c.contype = 'f' AND c.confrelid = 'admin.department'::regclass
   AND NOT (n.nspname = 'admin' AND t.relname = 'department')
 ORDER BY 1, 2, 3""")
_DESCENDANTS = text("""
WITH RECURSIVE sub(code) AS (
    SELECT code FROM admin.department WHERE code = :code
    UNION
    SELECT d.code FROM admin.department d JOIN sub ON d.parent_code = sub.code
)
SELECT code FROM sub""")
_references: list[tuple[str, str, str]] | None = None


def _reference_columns(db) -> list[tuple[str, str, str]]:
    """(quoted table, quoted column, label) for every foreign key to admin.department."""
    global _references
    if _references is None:
        refs = []
        for schema, tbl, col in db.execute(_FK_SQL).all():
            label = REF_LABELS.get((f"{schema}.{tbl}", col), f"{schema}.{tbl}.{col}")
            refs.append((f'"{schema}"."{tbl}"', f'"{col}"', label))
        _references = refs
    return _references


def _usage(db, code: str) -> dict[str, int]:
    """Label → number of rows referencing the department (non-zero only)."""
    out = {}
    for tbl, col, label in _reference_columns(db):
        n = db.execute(text(f"SELECT count(*) FROM {tbl} WHERE {col} = :c"), {"c": code}).scalar()
        if n:
            out[label] = out.get(label, 0) + n
    return out


def _dept_json(d: Department, members: int = 0) -> dict:
    return {"code": d.code, "name": d.name, "parent_code": d.parent_code, "kind": d.kind,
            "kind_name": KINDS.get(d.kind, d.kind), "region_code": d.region_code, "sort": d.sort,
            "version": d.version, "member_count": members,
            "updated_at": d.updated_at.isoformat() if d.updated_at else None}


def _member_counts(db) -> dict[str, int]:
    return dict(db.execute(select(User.dept_code, func.count()).where(User.dept_code.is_not(None))
                           .group_by(User.dept_code)).all())


def _get(code: str, lock: bool = False) -> Department:
    q = select(Department).where(Department.code == code)
    if lock:
        q = q.with_for_update()
    d = get_db().scalar(q)
    if d is None:
        raise GeoError("dept_unknown", f"部门 {code} 不存在", status=404)
    return d


def _body(allowed: set[str]) -> dict:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise GeoError("body_invalid", "请求体应为 JSON 对象")
    unknown = set(body) - allowed
    if unknown:
        raise GeoError("field_unknown", f"未知字段: {', '.join(sorted(unknown))}")
    if "name" in body:
        name = body["name"]
        if not isinstance(name, str) or not name.strip() or len(name.strip()) > 80:
            raise GeoError("name_invalid", "部门名称不能为空且不超过80字")
        body["name"] = name.strip()
    if "kind" in body and body["kind"] not in KINDS:
        raise GeoError("dept_kind_invalid", f"部门类型应为: {', '.join(f'{k}（{v}）' for k, v in KINDS.items())}")
    if "sort" in body and (not isinstance(body["sort"], int) or isinstance(body["sort"], bool)
                           or not -1_000_000 <= body["sort"] <= 1_000_000):
        raise GeoError("sort_invalid", "排序号应为整数")
    if "region_code" in body:
        rc = body["region_code"]
        if rc == "":
            body["region_code"] = rc = None
        if rc is not None and (not isinstance(rc, str) or not _REGION.match(rc)):
            raise GeoError("region_code_invalid", "行政区划代码应为6至12位数字")
    if "version" in body and (not isinstance(body["version"], int) or isinstance(body["version"], bool)):
        raise GeoError("version_invalid", "version 应为整数")
    if "parent_code" in body:
        pc = body["parent_code"]
        if pc == "":
            body["parent_code"] = pc = None
        if pc is not None and not isinstance(pc, str):
            raise GeoError("dept_parent_unknown", "上级部门编码无效")
    return body


def _check_parent(db, parent_code: str | None) -> None:
    if parent_code is not None and db.get(Department, parent_code) is None:
        raise GeoError("dept_parent_unknown", f"上级部门 {parent_code} 不存在")


def _check_version(d: Department, body: dict, required: bool) -> None:
    if "version" not in body:
        if required:
            raise GeoError("version_missing", "缺少 version（数据版本号），请刷新后重试")
        return
    if body["version"] != d.version:
        raise GeoError("version_conflict", f"部门“{d.name}”已被他人修改（当前版本 {d.version}），请刷新后重试",
                       status=409, current_version=d.version)


@api.get("/departments")
@require_permission("admin:dept:view")
def dept_tree():
    db = get_db()
    members = _member_counts(db)
    depts = db.scalars(select(Department).order_by(Department.sort, Department.code)).all()
    nodes = {d.code: dict(_dept_json(d, members.get(d.code, 0)), children=[]) for d in depts}
    roots = []
    for d in depts:
        parent = nodes.get(d.parent_code) if d.parent_code else None
        (parent["children"] if parent is not None else roots).append(nodes[d.code])

    def total(node):
        node["total_member_count"] = node["member_count"] + sum(total(c) for c in node["children"])
        return node["total_member_count"]
    for r in roots:
        total(r)
    return jsonify({"tree": roots, "count": len(depts), "kinds": KINDS})


@api.get("/departments/<code>")
@require_permission("admin:dept:view")
def dept_detail(code: str):
    db = get_db()
    d = _get(code)
    out = _dept_json(d, _member_counts(db).get(code, 0))
    parent = db.get(Department, d.parent_code) if d.parent_code else None
    out["parent_name"] = parent.name if parent else None
    out["children"] = [{"code": c.code, "name": c.name} for c in db.scalars(
        select(Department).where(Department.parent_code == code).order_by(Department.sort, Department.code))]
    out["usage"] = _usage(db, code)
    return jsonify(out)


@api.post("/departments")
@require_permission("admin:dept:edit")
def dept_create():
    body = _body(CREATE_FIELDS)
    missing = [f for f in ("code", "name", "kind") if body.get(f) in (None, "")]
    if missing:
        raise GeoError("field_missing", f"缺少必填字段: {', '.join(missing)}")
    code = body["code"]
    if not isinstance(code, str) or not _CODE.match(code):
        raise GeoError("dept_code_invalid", "部门编码应为2至20位大写字母或数字")
    db = get_db()
    if db.get(Department, code) is not None:
        raise GeoError("dept_code_taken", f"部门编码 {code} 已存在", status=409)
    _check_parent(db, body.get("parent_code"))
    d = Department(code=code, name=body["name"], parent_code=body.get("parent_code"), kind=body["kind"],
                   region_code=body.get("region_code"), sort=body.get("sort", 0), version=1)
    db.add(d)
    db.commit()
    return jsonify(_dept_json(d)), 201


@api.patch("/departments/<code>")
@require_permission("admin:dept:edit")
def dept_update(code: str):
    if isinstance(request.get_json(silent=True), dict) and \
            {"code", "parent_code"} & set(request.get_json(silent=True)):
        raise GeoError("field_unknown", "编码不可修改；调整上级请使用“移动”")
    body = _body(EDIT_FIELDS)
    db = get_db()
    d = _get(code, lock=True)
    _check_version(d, body, required=True)
    changed = False
    for f in ("name", "kind", "sort", "region_code"):
        if f in body and getattr(d, f) != body[f]:
            setattr(d, f, body[f])
            changed = True
    if changed:
        d.version = d.version + 1
    db.commit()
    return jsonify(_dept_json(d, _member_counts(db).get(code, 0)))


@api.post("/departments/<code>/move")
@require_permission("admin:dept:edit")
def dept_move(code: str):
    body = _body(MOVE_FIELDS)
    if "parent_code" not in body:
        raise GeoError("field_missing", "缺少必填字段: parent_code（移到顶级请传 null）")
    db = get_db()
    d = _get(code, lock=True)
    _check_version(d, body, required=False)
    new_parent = body["parent_code"]
    _check_parent(db, new_parent)
    if new_parent is not None:
        subtree = set(db.scalars(_DESCENDANTS, {"code": code}))
        if new_parent in subtree:
            what = "自身" if new_parent == code else "自己的下级"
            raise GeoError("dept_cycle", f"不能把部门“{d.name}”移动到{what}（{new_parent}）之下", status=400)
    if d.parent_code != new_parent:
        d.parent_code = new_parent
        d.version = d.version + 1
    db.commit()
    return jsonify(_dept_json(d, _member_counts(db).get(code, 0)))


@api.delete("/departments/<code>")
@require_permission("admin:dept:edit")
def dept_delete(code: str):
    db = get_db()
    d = _get(code, lock=True)
    children = db.scalars(select(Department.name).where(Department.parent_code == code)
                          .order_by(Department.sort, Department.code)).all()
    if children:
        raise GeoError("dept_has_children",
                       f"部门“{d.name}”下还有 {len(children)} 个下级部门（{'、'.join(children[:5])}"
                       f"{'等' if len(children) > 5 else ''}），请先删除或移走", status=409, children=len(children))
    usage = _usage(db, code)
    members = usage.pop("用户", 0)
    if members:
        raise GeoError("dept_has_members", f"部门“{d.name}”还有 {members} 名用户，请先调整用户所属部门",
                       status=409, members=members)
    if usage:
        listing = "、".join(f"{label} {n} 条" for label, n in usage.items())
        raise GeoError("dept_in_use", f"部门“{d.name}”仍被引用：{listing}，不能删除", status=409, usage=usage)
    db.delete(d)
    db.commit()
    return "", 204


@pages.get("/departments")
@require_permission("admin:dept:view")
def departments_page():
    from webapp.auth.guard import principal
    from webapp.auth.permissions import has_permission
    return render_template("admin/departments.html", kinds=KINDS,
                           can_edit=has_permission(principal(), "admin:dept:edit"))
