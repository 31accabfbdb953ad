"""Roles and permissions (R88): each role carries permission codes (menus,
pages, buttons and the APIs behind them share one code) and a data scope:
all, own department and below, own region, own records. The server checks
both on every request (webapp.auth.permissions, webapp.auth.scope, ogc.scope).

The permission picker is the web menu tree (pages with their buttons), plus
the codes no menu carries (API-only rights such as geo:query)."""
from __future__ import annotations

import re

from flask import jsonify, render_template, request
from sqlalchemy import func, select

from geo.errors import GeoError
from webapp.admin import api, pages
from webapp.admin.menus import _rows, _tree
from webapp.auth.guard import principal
from webapp.auth.models import Role, User, user_role
from webapp.auth.permissions import PERMISSIONS, require_permission
from webapp.db import get_db
from webapp.validation import int_field, json_body, text_field

SCOPES = {"all": "全部数据", "dept": "本部门及下级部门", "region": "本区域（街道/社区）", "own": "仅本人数据"}
FIELDS = {"code", "name", "data_scope", "permissions", "remark", "sort"}
_CODE = re.compile(r"^[a-z][a-z0-9_]{1,29}$")


def _role_json(r: Role, users: int = 0) -> dict:
    return {"code": r.code, "name": r.name, "data_scope": r.data_scope, "data_scope_name": SCOPES.get(r.data_scope),
            "permissions": sorted(r.permissions or []), "remark": r.remark, "sort": r.sort, "builtin": r.builtin,
            "users": users, "updated_at": r.updated_at.isoformat() if r.updated_at else None}


def _get(code: str, lock: bool = False) -> Role:
    db = get_db()
    r = db.get(Role, code, with_for_update=lock) if lock else db.get(Role, code)
    if r is None:
        raise GeoError("role_not_found", f"角色“{code}”不存在", status=404)
    return r


def _counts(db) -> dict[str, int]:
    return dict(db.execute(select(user_role.c.role_code, func.count()).group_by(user_role.c.role_code)).all())


def _validate(body: dict) -> dict:
    text_field(body, "name", "角色名称", 40, required="name" in body)
    text_field(body, "remark", "备注", 200)
    int_field(body, "sort", "排序号")
    if "data_scope" in body and body["data_scope"] not in SCOPES:
        raise GeoError("data_scope_invalid", "数据范围应为: " + "，".join(f"{k}（{v}）" for k, v in SCOPES.items()))
    if "permissions" in body:
        perms = body["permissions"]
        if not isinstance(perms, list) or not all(isinstance(p, str) for p in perms):
            raise GeoError("permissions_invalid", "permissions 应为权限标识的列表")
        unknown = sorted(set(perms) - set(PERMISSIONS))
        if unknown:
            raise GeoError("permission_unknown", f"权限标识不存在: {', '.join(unknown)}", codes=unknown)
        body["permissions"] = sorted(set(perms))
    return body


@api.get("/roles")
@require_permission("admin:role:view")
def role_list():
    db = get_db()
    counts = _counts(db)
    roles = db.scalars(select(Role).order_by(Role.sort, Role.code)).all()
    return jsonify({"items": [_role_json(r, counts.get(r.code, 0)) for r in roles], "scopes": SCOPES})


@api.get("/permissions")
@require_permission("admin:role:view")
def permission_tree():
    """Permission codes arranged as the web menu (pages → buttons), then the rest."""
    tree = _tree(_rows(get_db(), "web"))
    used: set[str] = set()

    def walk(nodes):
        for n in nodes:
            if n["permission"]:
                used.add(n["permission"])
            walk(n["children"])
    walk(tree)
    others = [{"permission": c, "name": n} for c, n in PERMISSIONS.items() if c not in used]
    return jsonify({"menu": tree, "others": others, "names": PERMISSIONS})


@api.get("/roles/<code>")
@require_permission("admin:role:view")
def role_detail(code: str):
    db = get_db()
    r = _get(code)
    users = db.execute(select(User.id, User.username, User.display_name, User.dept_code)
                       .join(user_role, user_role.c.user_id == User.id)
                       .where(user_role.c.role_code == code).order_by(User.username)).all()
    body = _role_json(r, len(users))
    body["members"] = [{"id": u.id, "username": u.username, "display_name": u.display_name, "dept_code": u.dept_code}
                       for u in users]
    return jsonify(body)


@api.post("/roles")
@require_permission("admin:role:edit")
def role_create():
    db = get_db()
    body = _validate(json_body(FIELDS, {"code", "name"}))
    code = body["code"]
    if not isinstance(code, str) or not _CODE.match(code):
        raise GeoError("role_code_invalid", "角色编码应为小写字母开头的2至30位字母、数字或下划线")
    if db.get(Role, code) is not None:
        raise GeoError("role_code_taken", f"角色编码“{code}”已存在", status=409)
    if db.scalar(select(Role.code).where(Role.name == body["name"])):
        raise GeoError("role_name_taken", f"角色名称“{body['name']}”已存在", status=409)
    r = Role(code=code, name=body["name"], data_scope=body.get("data_scope", "own"),
             permissions=body.get("permissions", []), remark=body.get("remark"), sort=body.get("sort", 0))
    db.add(r)
    db.commit()
    return jsonify(_role_json(r)), 201


@api.put("/roles/<code>")
@require_permission("admin:role:edit")
def role_update(code: str):
    db = get_db()
    r = _get(code, lock=True)
    body = _validate(json_body(FIELDS - {"code"} | {"updated_at"}))
    # Optimistic locking on updated_at (roles have no version column): a stale editor gets 409.
    seen = body.pop("updated_at", None)
    if seen is not None and r.updated_at and seen != r.updated_at.isoformat():
        raise GeoError("version_conflict", f"角色“{r.name}”已被他人修改，请刷新后重试", status=409)
    if r.code == "admin" and ("permissions" in body and body["permissions"] != ["*"]
                              or body.get("data_scope", "all") != "all"):
        raise GeoError("role_builtin_locked", "系统管理员角色始终拥有全部权限和全部数据范围，不能修改", status=409)
    if "name" in body and body["name"] != r.name and db.scalar(select(Role.code).where(Role.name == body["name"])):
        raise GeoError("role_name_taken", f"角色名称“{body['name']}”已存在", status=409)
    for k, v in body.items():
        setattr(r, k, v)
    db.commit()
    db.refresh(r)
    return jsonify(_role_json(r, _counts(db).get(r.code, 0)))


@api.delete("/roles/<code>")
@require_permission("admin:role:edit")
def role_delete(code: str):
    db = get_db()
    r = _get(code, lock=True)
    if r.builtin or r.code == "admin":
        raise GeoError("role_builtin", f"“{r.name}”是系统内置角色，不能删除", status=409)
    n = _counts(db).get(code, 0)
    if n:
        raise GeoError("role_in_use", f"角色“{r.name}”仍有 {n} 名用户，请先移除这些用户", status=409, users=n)
    db.delete(r)
    db.commit()
    return jsonify({"deleted": code})


@api.post("/roles/<code>/members")
@require_permission("admin:role:edit")
def role_members(code: str):
    """Add and/or remove users of a role: {"add": [user ids], "remove": [user ids]}."""
    db = get_db()
    r = _get(code, lock=True)
    body = json_body({"add", "remove"})
    ids = {}
    for key in ("add", "remove"):
        v = body.get(key, [])
        if not isinstance(v, list) or not all(isinstance(i, int) and not isinstance(i, bool) for i in v):
            raise GeoError("user_ids_invalid", f"{key} 应为用户编号列表")
        ids[key] = set(v)
    if ids["add"] & ids["remove"]:
        raise GeoError("user_ids_invalid", "同一用户不能同时添加和移除")
    wanted = ids["add"] | ids["remove"]
    found = set(db.scalars(select(User.id).where(User.id.in_(wanted)))) if wanted else set()
    if wanted - found:
        raise GeoError("user_not_found", f"用户不存在: {', '.join(map(str, sorted(wanted - found)))}", status=404)
    who = principal()
    if r.code == "admin" and ids["remove"]:
        left = db.scalar(select(func.count()).select_from(user_role).where(
            user_role.c.role_code == "admin", user_role.c.user_id.not_in(ids["remove"])))
        if not left:
            raise GeoError("last_admin", "至少要保留一名系统管理员", status=409)
        if who is not None and who.id in ids["remove"]:
            raise GeoError("self_demote", "不能移除自己的系统管理员角色", status=409)
    members = set(db.scalars(select(user_role.c.user_id).where(user_role.c.role_code == code)))
    add = sorted(ids["add"] - members)
    remove = sorted(ids["remove"] & members)
    # The association table has no ORM class, so record the change through the users' ORM objects.
    users = {u.id: u for u in db.scalars(select(User).where(User.id.in_(add + remove)))}
    for uid in add:
        users[uid].roles.append(r)
    for uid in remove:
        users[uid].roles = [x for x in users[uid].roles if x.code != code]
    for u in users.values():
        u.version += 1
    db.commit()
    return jsonify({"role": code, "added": add, "removed": remove})


@pages.get("/roles")
@require_permission("admin:role:view")
def roles_page():
    return render_template("admin/roles.html", scopes=SCOPES)
