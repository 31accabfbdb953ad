"""Risk configuration (R106–R108): the category tree with hazard types, the
four levels (names, colours, D thresholds) and the responsibility list
(category/hazard × 责任网格 → department, person). Read by every risk page;
written with lifeline:config. Writes go through the ORM (operation log)."""
from __future__ import annotations

import re

from flask import jsonify, request
from sqlalchemy import func, select, text

from geo.errors import GeoError
from geo.models import RespGrid, RiskPoint
from webapp import oplog
from webapp.auth.models import Department
from webapp.auth.permissions import require_permission
from webapp.db import get_db
from webapp.lifeline import api
from webapp.lifeline.risk_lec import TABLES, check_levels
from webapp.lifeline.risk_models import RiskCategory, RiskHazard, RiskLevel, RiskResp

NETWORKS = {"gas": "燃气", "water": "供水", "drainage": "排水", "heating": "热力", "bridge": "桥梁", "other": "其他"}
# Accident types (GB 6441 企业职工伤亡事故分类, the ones that occur on city lifelines).
ACCIDENT_TYPES = ["火灾", "爆炸", "中毒和窒息", "坍塌", "淹溺", "灼烫", "触电", "车辆伤害", "物体打击",
                  "高处坠落", "容器爆炸", "其他伤害"]
_CODE = re.compile(r"^[^\s/\\?#%]{1,40}$")
_PHONE = re.compile(r"^[0-9+\-() ]{5,20}$")


def levels(db) -> list[RiskLevel]:
    return list(db.scalars(select(RiskLevel).order_by(RiskLevel.level)))


def level_json(r: RiskLevel) -> dict:
    return {"level": r.level, "name": r.name, "colour": r.colour, "colour_name": r.colour_name,
            "min_d": float(r.min_d) if r.min_d is not None else None, "min_inclusive": r.min_inclusive,
            "version": r.version}


def categories(db) -> list[RiskCategory]:
    return list(db.scalars(select(RiskCategory).order_by(RiskCategory.sort, RiskCategory.code)))


def category_subtree(db, code: str) -> list[str]:
    rows = categories(db)
    out, todo = [], [code]
    while todo:
        c = todo.pop()
        out.append(c)
        todo.extend(r.code for r in rows if r.parent_code == c)
    return out


def root_network(db, code: str) -> str | None:
    seen = set()
    cat = db.get(RiskCategory, code)
    while cat is not None and cat.code not in seen:
        seen.add(cat.code)
        if cat.network:
            return cat.network
        cat = db.get(RiskCategory, cat.parent_code) if cat.parent_code else None
    return None


def config_json(db) -> dict:
    hazards = list(db.scalars(select(RiskHazard).order_by(RiskHazard.sort, RiskHazard.id)))
    counts = dict(db.execute(select(RiskPoint.category, func.count()).group_by(RiskPoint.category)).all())
    cats = [{"code": c.code, "name": c.name, "parent_code": c.parent_code, "network": c.network, "sort": c.sort,
             "enabled": c.enabled, "version": c.version, "point_count": counts.get(c.code, 0),
             "hazards": [hazard_json(h) for h in hazards if h.category_code == c.code]} for c in categories(db)]
    return {"categories": cats, "levels": [level_json(r) for r in levels(db)], "networks": NETWORKS,
            "accident_types": ACCIDENT_TYPES,
            "lec": {k: {"label": label, "options": [{"value": float(v), "label": t} for v, t in table.items()]}
                    for k, (label, table) in TABLES.items()}}


def hazard_json(h: RiskHazard) -> dict:
    return {"id": h.id, "category_code": h.category_code, "name": h.name, "description": h.description,
            "sort": h.sort, "enabled": h.enabled, "version": h.version}


def _body(allowed: set[str]) -> dict:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise GeoError("body_invalid", "请求体应为 JSON 对象")
    unknown = set(body) - allowed
    if unknown:
        raise GeoError("field_unknown", f"未知字段: {', '.join(sorted(unknown))}")
    return body


def _text(body: dict, key: str, label: str, maxlen: int, required: bool = False) -> str | None:
    v = body.get(key)
    if v is None or (isinstance(v, str) and not v.strip()):
        if required:
            raise GeoError(f"{key}_invalid", f"{label}不能为空")
        return None
    if not isinstance(v, str) or len(v.strip()) > maxlen:
        raise GeoError(f"{key}_invalid", f"{label}应为不超过{maxlen}字的文本")
    return v.strip()


def _int(body: dict, key: str, label: str, default: int = 0) -> int:
    v = body.get(key, default)
    if isinstance(v, bool) or not isinstance(v, int) or not -1_000_000 <= v <= 1_000_000:
        raise GeoError(f"{key}_invalid", f"{label}应为整数")
    return v


def _bool(body: dict, key: str, default: bool = True) -> bool:
    v = body.get(key, default)
    if not isinstance(v, bool):
        raise GeoError(f"{key}_invalid", f"{key} 应为 true 或 false")
    return v


def check_version(obj, body: dict, what: str) -> None:
    v = body.get("version")
    if isinstance(v, bool) or not isinstance(v, int):
        raise GeoError("version_missing", "缺少 version（数据版本号），请刷新后重试")
    if v != obj.version:
        raise GeoError("version_conflict", f"{what}已被他人修改（当前版本 {obj.version}），请刷新后重试",
                       status=409, current_version=obj.version)


# -- categories -----------------------------------------------------------------
@api.get("/risk/config")
@require_permission("lifeline:view")
def risk_config():
    return jsonify(config_json(get_db()))


def _category_fields(db, body: dict, code: str | None) -> dict:
    out = {}
    if "name" in body or code is None:
        out["name"] = _text(body, "name", "类别名称", 60, required=True)
    if "parent_code" in body:
        pc = body["parent_code"] or None
        if pc is not None:
            if not isinstance(pc, str) or db.get(RiskCategory, pc) is None:
                raise GeoError("category_parent_unknown", f"上级类别 {pc} 不存在")
            if code is not None and pc in category_subtree(db, code):
                raise GeoError("category_cycle", "不能把类别移动到自身或自己的下级之下")
        out["parent_code"] = pc
    if "network" in body:
        net = body["network"] or None
        if net is not None and net not in NETWORKS:
            raise GeoError("network_invalid", f"所属行业应为：{'、'.join(f'{k}（{v}）' for k, v in NETWORKS.items())}")
        out["network"] = net
    if "sort" in body:
        out["sort"] = _int(body, "sort", "排序号")
    if "enabled" in body:
        out["enabled"] = _bool(body, "enabled")
    return out


@api.post("/risk/categories")
@require_permission("lifeline:config")
def category_create():
    body = _body({"code", "name", "parent_code", "network", "sort", "enabled"})
    code = body.get("code")
    if not isinstance(code, str) or not _CODE.match(code.strip()):
        raise GeoError("category_code_invalid", "类别编码应为1至40个字符，不含空格和 / ? # %")
    code = code.strip()
    db = get_db()
    if db.get(RiskCategory, code) is not None:
        raise GeoError("category_code_taken", f"类别编码 {code} 已存在", status=409)
    fields = _category_fields(db, body, None)
    cat = RiskCategory(code=code, version=1, **{"sort": 0, "enabled": True, **fields})
    db.add(cat)
    db.commit()
    return jsonify({"code": cat.code, "name": cat.name, "version": cat.version}), 201


@api.patch("/risk/categories/<code>")
@require_permission("lifeline:config")
def category_update(code: str):
    body = _body({"name", "parent_code", "network", "sort", "enabled", "version"})
    db = get_db()
    cat = db.get(RiskCategory, code, with_for_update=True)
    if cat is None:
        raise GeoError("category_unknown", f"风险点类别 {code} 不存在", status=404)
    check_version(cat, body, f"类别“{cat.name}”")
    fields = _category_fields(db, body, code)
    if any(getattr(cat, k) != v for k, v in fields.items()):
        for k, v in fields.items():
            setattr(cat, k, v)
        cat.version += 1
    db.commit()
    return jsonify({"code": cat.code, "name": cat.name, "version": cat.version})


@api.delete("/risk/categories/<code>")
@require_permission("lifeline:config")
def category_delete(code: str):
    db = get_db()
    cat = db.get(RiskCategory, code, with_for_update=True)
    if cat is None:
        raise GeoError("category_unknown", f"风险点类别 {code} 不存在", status=404)
    children = db.scalar(select(func.count()).where(RiskCategory.parent_code == code))
    points = db.scalar(select(func.count()).where(RiskPoint.category == code))
    hazards = db.scalar(select(func.count()).where(RiskHazard.category_code == code))
    if children or points or hazards:
        raise GeoError("category_in_use", f"类别“{cat.name}”仍有下级类别 {children} 个、隐患类型 {hazards} 个、"
                       f"风险点 {points} 个，不能删除（可停用）", status=409)
    db.delete(cat)
    db.commit()
    return "", 204


# -- hazards ----------------------------------------------------------------------
@api.post("/risk/hazards")
@require_permission("lifeline:config")
def hazard_create():
    body = _body({"category_code", "name", "description", "sort", "enabled"})
    db = get_db()
    cat = body.get("category_code")
    if not isinstance(cat, str) or db.get(RiskCategory, cat) is None:
        raise GeoError("category_unknown", f"风险点类别 {cat} 不存在")
    name = _text(body, "name", "隐患名称", 60, required=True)
    if db.scalar(select(RiskHazard).where(RiskHazard.category_code == cat, RiskHazard.name == name)):
        raise GeoError("hazard_name_taken", f"该类别下已有隐患“{name}”", status=409)
    h = RiskHazard(category_code=cat, name=name, description=_text(body, "description", "说明", 200),
                   sort=_int(body, "sort", "排序号"), enabled=_bool(body, "enabled"), version=1)
    db.add(h)
    db.commit()
    return jsonify(hazard_json(h)), 201


@api.patch("/risk/hazards/<int:hid>")
@require_permission("lifeline:config")
def hazard_update(hid: int):
    body = _body({"name", "description", "sort", "enabled", "version"})
    db = get_db()
    h = db.get(RiskHazard, hid, with_for_update=True)
    if h is None:
        raise GeoError("hazard_unknown", f"隐患类型 {hid} 不存在", status=404)
    check_version(h, body, f"隐患“{h.name}”")
    old = h.name
    if "name" in body:
        name = _text(body, "name", "隐患名称", 60, required=True)
        if name != old and db.scalar(select(RiskHazard).where(RiskHazard.category_code == h.category_code,
                                                             RiskHazard.name == name)):
            raise GeoError("hazard_name_taken", f"该类别下已有隐患“{name}”", status=409)
        h.name = name
    if "description" in body:
        h.description = _text(body, "description", "说明", 200)
    if "sort" in body:
        h.sort = _int(body, "sort", "排序号")
    if "enabled" in body:
        h.enabled = _bool(body, "enabled")
    h.version += 1
    if h.name != old:
        # Risk points keep hazard names (published through OGC API): rename them in the same transaction.
        n = db.execute(text("""
            UPDATE geo.risk_point SET hazards = (
                SELECT coalesce(jsonb_agg(CASE WHEN x = :old THEN to_jsonb(CAST(:new AS text)) ELSE to_jsonb(x) END), '[]')
                  FROM jsonb_array_elements_text(hazards) x), version = version + 1
             WHERE category = :cat AND hazards ? :old"""), {"old": old, "new": h.name, "cat": h.category_code})
        oplog.record(db, "update", "geo.risk_point", None, detail=f"隐患更名“{old}”→“{h.name}”：{n.rowcount} 个风险点")
    db.commit()
    return jsonify(hazard_json(h))


@api.delete("/risk/hazards/<int:hid>")
@require_permission("lifeline:config")
def hazard_delete(hid: int):
    db = get_db()
    h = db.get(RiskHazard, hid, with_for_update=True)
    if h is None:
        raise GeoError("hazard_unknown", f"隐患类型 {hid} 不存在", status=404)
    used = db.scalar(select(func.count()).where(RiskPoint.category == h.category_code,
                                                RiskPoint.hazards.contains([h.name])))
    if used:
        raise GeoError("hazard_in_use", f"隐患“{h.name}”仍关联 {used} 个风险点，不能删除（可停用）", status=409)
    db.delete(h)
    db.commit()
    return "", 204


# -- levels -----------------------------------------------------------------------
@api.put("/risk/levels")
@require_permission("lifeline:config")
def levels_update():
    body = _body({"levels"})
    rows = body.get("levels")
    if isinstance(rows, list):
        for r in rows:
            if not isinstance(r, dict) or set(r) - {"level", "name", "colour", "colour_name", "min_d",
                                                     "min_inclusive", "version"}:
                raise GeoError("levels_invalid", "风险级别条目格式不正确")
    clean = check_levels(rows)
    db = get_db()
    current = {r.level: r for r in db.scalars(select(RiskLevel).with_for_update())}
    for r in rows:
        check_version(current[r["level"]], r, f"第{r['level']}级")
    for r in clean:
        row = current[r["level"]]
        changed = False
        for k in ("name", "colour", "colour_name", "min_d", "min_inclusive"):
            if getattr(row, k) != r[k]:
                setattr(row, k, r[k])
                changed = True
        if changed:
            row.version += 1
    db.commit()
    return jsonify({"levels": [level_json(r) for r in levels(db)]})


# -- responsibility list (权责清单) --------------------------------------------------
def resp_json(r: RiskResp, names: dict) -> dict:
    return {"id": r.id, "category_code": r.category_code, "category_name": names["cat"].get(r.category_code),
            "hazard_id": r.hazard_id, "hazard_name": names["haz"].get(r.hazard_id) if r.hazard_id else None,
            "resp_grid_code": r.resp_grid_code, "resp_grid_name": names["grid"].get(r.resp_grid_code),
            "dept_code": r.dept_code, "dept_name": names["dept"].get(r.dept_code), "person": r.person,
            "phone": r.phone, "remark": r.remark, "version": r.version}


def _names(db) -> dict:
    return {"cat": dict(db.execute(select(RiskCategory.code, RiskCategory.name)).all()),
            "haz": dict(db.execute(select(RiskHazard.id, RiskHazard.name)).all()),
            "grid": dict(db.execute(select(RespGrid.code, RespGrid.name)).all()),
            "dept": dict(db.execute(select(Department.code, Department.name)).all())}


@api.get("/risk/resp")
@require_permission("lifeline:view")
def resp_list():
    db = get_db()
    q = select(RiskResp).order_by(RiskResp.category_code, RiskResp.resp_grid_code, RiskResp.hazard_id.nulls_first())
    for key, col in (("category_code", RiskResp.category_code), ("resp_grid_code", RiskResp.resp_grid_code),
                     ("dept_code", RiskResp.dept_code)):
        if request.args.get(key):
            q = q.where(col == request.args[key])
    try:
        page = max(1, int(request.args.get("page", 1)))
        size = min(200, max(1, int(request.args.get("size", 50))))
    except ValueError:
        raise GeoError("page_invalid", "页码与每页条数应为整数") from None
    total = db.scalar(select(func.count()).select_from(q.subquery()))
    names = _names(db)
    items = [resp_json(r, names) for r in db.scalars(q.offset((page - 1) * size).limit(size))]
    grids = [{"code": c, "name": n} for c, n in db.execute(select(RespGrid.code, RespGrid.name).order_by(RespGrid.code))]
    return jsonify({"items": items, "total": total, "page": page, "size": size, "grids": grids})


def _resp_fields(db, body: dict, row: RiskResp | None) -> dict:
    out = {}
    cat = body.get("category_code", row.category_code if row else None)
    if not isinstance(cat, str) or db.get(RiskCategory, cat) is None:
        raise GeoError("category_unknown", f"风险点类别 {cat} 不存在")
    out["category_code"] = cat
    hid = body.get("hazard_id", row.hazard_id if row else None)
    if hid is not None:
        h = db.get(RiskHazard, hid) if isinstance(hid, int) and not isinstance(hid, bool) else None
        if h is None or h.category_code != cat:
            raise GeoError("hazard_unknown", "隐患类型不存在或不属于所选类别")
    out["hazard_id"] = hid
    grid = body.get("resp_grid_code", row.resp_grid_code if row else None)
    if not isinstance(grid, str) or db.get(RespGrid, grid) is None:
        raise GeoError("resp_grid_unknown", f"责任网格 {grid} 不存在")
    out["resp_grid_code"] = grid
    dept = body.get("dept_code", row.dept_code if row else None)
    if not isinstance(dept, str) or db.get(Department, dept) is None:
        raise GeoError("dept_unknown", f"责任部门 {dept} 不存在")
    out["dept_code"] = dept
    for k, label, n in (("person", "责任人", 40), ("remark", "备注", 200)):
        if k in body or row is None:
            out[k] = _text(body, k, label, n)
    if "phone" in body or row is None:
        ph = _text(body, "phone", "联系电话", 20)
        if ph is not None and not _PHONE.match(ph):
            raise GeoError("phone_invalid", "联系电话格式不正确")
        out["phone"] = ph
    dup = select(RiskResp.id).where(RiskResp.category_code == cat, RiskResp.resp_grid_code == grid,
                                    RiskResp.hazard_id.is_(None) if hid is None else RiskResp.hazard_id == hid)
    if row is not None:
        dup = dup.where(RiskResp.id != row.id)
    if db.scalar(dup) is not None:
        raise GeoError("resp_duplicate", "该类别（隐患）在此责任网格已有权责条目", status=409)
    return out

_RESP_FIELDS = {"category_code", "hazard_id", "resp_grid_code", "dept_code", "person", "phone", "remark"}


@api.post("/risk/resp")
@require_permission("lifeline:config")
def resp_create():
    body = _body(_RESP_FIELDS)
    db = get_db()
    row = RiskResp(version=1, **_resp_fields(db, body, None))
    db.add(row)
    db.commit()
    return jsonify(resp_json(row, _names(db))), 201


@api.patch("/risk/resp/<int:rid>")
@require_permission("lifeline:config")
def resp_update(rid: int):
    body = _body(_RESP_FIELDS | {"version"})
    db = get_db()
    row = db.get(RiskResp, rid, with_for_update=True)
    if row is None:
        raise GeoError("resp_unknown", f"权责条目 {rid} 不存在", status=404)
    check_version(row, body, "该权责条目")
    for k, v in _resp_fields(db, body, row).items():
        setattr(row, k, v)
    row.version += 1
    db.commit()
    return jsonify(resp_json(row, _names(db)))


@api.delete("/risk/resp/<int:rid>")
@require_permission("lifeline:config")
def resp_delete(rid: int):
    db = get_db()
    row = db.get(RiskResp, rid)
    if row is None:
        raise GeoError("resp_unknown", f"权责条目 {rid} 不存在", status=404)
    db.delete(row)
    db.commit()
    return "", 204


def responsible_for(db, category: str, hazard_names: list[str], grid_code: str | None) -> RiskResp | None:
    """The responsibility entry for a point: the first listed hazard's entry in
    the grid, else the category's entry for the grid."""
    if grid_code is None:
        return None
    for name in hazard_names:
        hit = db.scalar(select(RiskResp).join(RiskHazard, RiskHazard.id == RiskResp.hazard_id).where(
            RiskResp.category_code == category, RiskResp.resp_grid_code == grid_code, RiskHazard.name == name))
        if hit is not None:
            return hit
    return db.scalar(select(RiskResp).where(RiskResp.category_code == category, RiskResp.resp_grid_code == grid_code,
                                            RiskResp.hazard_id.is_(None)))
