"""Dictionaries (R91): typed code lists used everywhere by code, not by
copied literals — component and event classes, risk levels, statuses, …"""
from __future__ import annotations

import re

from flask import jsonify, render_template, request
from sqlalchemy import func, select, text

from geo import codes
from geo.errors import GeoError
from geo.models import DictItem, DictType
from webapp.admin import api, pages
from webapp.auth.permissions import require_permission
from webapp.db import get_db

ITEM_FIELDS = {"code", "name", "parent_code", "sort", "enabled", "extra"}
# Where a dictionary's codes are used, so a used code cannot be deleted.
USAGE = {
    "component_class": "SELECT count(*) FROM geo.component WHERE class_code = :c OR left(class_code, 2) = :c",
    "risk_level": "SELECT count(*) FROM geo.risk_point WHERE level::text = :c",
    "risk_category": "SELECT count(*) FROM geo.risk_point WHERE category = :c",
    "component_status": "SELECT count(*) FROM geo.component WHERE status = :c",
    "land_use": "SELECT count(*) FROM geo.unit_grid WHERE land_use = :c",
}
_CODE = re.compile(r"^[\w:.-]{1,40}$")  # \w includes Chinese: some codes are names


def _type(type_code: str) -> DictType:
    t = get_db().get(DictType, type_code)
    if t is None:
        raise GeoError("dict_type_unknown", f"字典类型“{type_code}”不存在", status=404)
    return t


def _item_json(i: DictItem) -> dict:
    return {"code": i.code, "name": i.name, "parent_code": i.parent_code, "sort": i.sort, "enabled": i.enabled,
            "extra": i.extra}


def _body(required: set[str] = frozenset()) -> dict:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise GeoError("body_invalid", "请求体应为 JSON 对象")
    unknown = set(body) - ITEM_FIELDS
    if unknown:
        raise GeoError("field_unknown", f"未知字段: {', '.join(sorted(unknown))}")
    missing = [f for f in required if not body.get(f)]
    if missing:
        raise GeoError("field_missing", f"缺少必填字段: {', '.join(sorted(missing))}")
    if "name" in body and (not isinstance(body["name"], str) or not body["name"].strip() or len(body["name"]) > 120):
        raise GeoError("name_invalid", "名称不能为空且不超过120字")
    if "sort" in body and not isinstance(body["sort"], int):
        raise GeoError("sort_invalid", "排序号应为整数")
    if "enabled" in body and not isinstance(body["enabled"], bool):
        raise GeoError("enabled_invalid", "enabled 应为 true 或 false")
    if "extra" in body and not isinstance(body["extra"], dict):
        raise GeoError("extra_invalid", "extra 应为 JSON 对象")
    return body


def _check_code(type_code: str, code: str, parent_code: str | None) -> None:
    if not isinstance(code, str) or not _CODE.match(code):
        raise GeoError("dict_code_invalid", "编码只能包含文字、字母、数字及 _ : . -，最长40位")
    if type_code in ("component_class", "event_class"):
        # Big classes are 2 digits, small classes 4 digits starting with their big class (GB/T 30428.2).
        if len(code) == 2 and code.isdigit() and code != "00":
            if parent_code:
                raise GeoError("dict_parent_invalid", "大类不能有上级")
            return
        codes.validate_class_code(code)
        if parent_code != code[:2]:
            raise GeoError("dict_parent_invalid", f"小类 {code} 的上级应为大类 {code[:2]}")


@api.get("/dicts")
@require_permission("admin:dict:view")
def dict_types():
    db = get_db()
    counts = dict(db.execute(select(DictItem.type_code, func.count()).group_by(DictItem.type_code)).all())
    types = db.scalars(select(DictType).order_by(DictType.code)).all()
    return jsonify({"types": [{"code": t.code, "name": t.name, "description": t.description,
                               "count": counts.get(t.code, 0)} for t in types]})


@api.get("/dicts/<type_code>")
@require_permission("admin:dict:view")
def dict_items(type_code: str):
    _type(type_code)
    items = get_db().scalars(select(DictItem).where(DictItem.type_code == type_code)
                             .order_by(DictItem.sort, DictItem.code)).all()
    return jsonify({"type": type_code, "items": [_item_json(i) for i in items]})


@api.post("/dicts/<type_code>")
@require_permission("admin:dict:edit")
def dict_create(type_code: str):
    _type(type_code)
    body = _body({"code", "name"})
    db = get_db()
    code, parent = body["code"], body.get("parent_code")
    _check_code(type_code, code, parent)
    if parent and db.scalar(select(DictItem).where(DictItem.type_code == type_code, DictItem.code == parent)) is None:
        raise GeoError("dict_parent_unknown", f"上级编码 {parent} 不存在")
    if db.scalar(select(DictItem).where(DictItem.type_code == type_code, DictItem.code == code)) is not None:
        raise GeoError("dict_code_taken", f"编码 {code} 已存在", status=409)
    item = DictItem(type_code=type_code, code=code, name=body["name"].strip(), parent_code=parent,
                    sort=body.get("sort", 0), enabled=body.get("enabled", True), extra=body.get("extra", {}))
    db.add(item)
    db.commit()
    return jsonify(_item_json(item)), 201


def _item(type_code: str, code: str) -> DictItem:
    _type(type_code)
    item = get_db().scalar(select(DictItem).where(DictItem.type_code == type_code, DictItem.code == code))
    if item is None:
        raise GeoError("dict_item_unknown", f"编码 {code} 不存在", status=404)
    return item


@api.patch("/dicts/<type_code>/<code>")
@require_permission("admin:dict:edit")
def dict_update(type_code: str, code: str):
    item = _item(type_code, code)
    body = _body()
    if "code" in body and body["code"] != code or "parent_code" in body and body["parent_code"] != item.parent_code:
        raise GeoError("dict_code_immutable", "编码和上级不可修改；如需调整请新增后停用旧编码")
    for f in ("name", "sort", "enabled", "extra"):
        if f in body:
            setattr(item, f, body[f].strip() if f == "name" else body[f])
    get_db().commit()
    return jsonify(_item_json(item))


@api.delete("/dicts/<type_code>/<code>")
@require_permission("admin:dict:edit")
def dict_delete(type_code: str, code: str):
    item = _item(type_code, code)
    db = get_db()
    children = db.scalar(select(func.count()).select_from(DictItem).where(
        DictItem.type_code == type_code, DictItem.parent_code == code))
    if children:
        raise GeoError("dict_has_children", f"编码 {code} 下还有 {children} 个下级，不能删除", status=409)
    usage = USAGE.get(type_code)
    used = db.execute(text(usage), {"c": code}).scalar() if usage else 0
    if used:
        raise GeoError("dict_in_use", f"编码 {code} 正被 {used} 条数据使用，不能删除，可改为停用", status=409)
    db.delete(item)
    db.commit()
    return "", 204


@pages.get("/dicts")
@require_permission("admin:dict:view")
def dicts_page():
    return render_template("admin/dicts.html")
