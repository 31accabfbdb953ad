"""Smart dispatch (R29-R30): auto-registration rules and the responsibility list (权责清单), editable, with a rule test bench.

JSON API under /api/cases/config/… and two pages (规则配置, 规则测试台), all
behind `case:config`. Writes go through the ORM session, so the operation log
records each one; bad input answers 4xx with a stable code and a Chinese
message and changes nothing; `version` guards concurrent edits (409)."""
from __future__ import annotations

import datetime as dt
import io
import re

from flask import current_app, jsonify, render_template, request, send_file
from sqlalchemy import func, or_, select, text
from sqlalchemy.exc import IntegrityError

from geo.errors import GeoError
from geo.geocode import geocode_address, locate_point
from webapp import uploads
from webapp.auth.models import Department, User
from webapp.auth.permissions import require_permission
from webapp.cases import api, pages
from webapp.cases.dispatch_rules import (ACTIONS, AREA_LEVELS, KINDS, Place, RegisterRule, RespEntry, area_level,
                                         auto_actions, describe_rule, dispatch_decision, specificity)
from webapp.cases.stages import SOURCES
from webapp.db import get_db

PERM = "case:config"
RULE_FIELDS = {"name", "sources", "kind", "class_prefix", "region_prefix", "time_from", "time_to", "actions",
               "enabled", "sort", "remark", "version"}
ENTRY_FIELDS = {"kind", "class_code", "area_code", "dept_code", "post", "user_id", "priority", "valid_from",
                "valid_to", "enabled", "remark", "version"}
RULE_LIST_PARAMS = {"source", "kind", "enabled", "q"}
ENTRY_LIST_PARAMS = {"kind", "class_code", "area_code", "dept_code", "enabled", "q", "page", "size"}
TEST_FIELDS = {"source", "kind", "class_code", "lon", "lat", "address", "at"}
COUNTY = "411721"
MAX_PAGE_SIZE = 200
MAX_UPLOAD = 2 * 1024 * 1024
MAX_IMPORT_ROWS = 5000
# Excel columns of the responsibility list (export and import share them; names are informative only).
COLUMNS = ["类型", "类别代码", "类别名称", "区域代码", "区域名称", "部门编码", "部门名称", "岗位", "人员用户名",
           "优先级", "生效日期", "失效日期", "状态", "备注"]
KIND_BY_NAME = {"部件": "component", "事件": "event", "": None, "部件和事件": None, "全部": None}
_TIME = re.compile(r"^([01][0-9]|2[0-3]):([0-5][0-9])(:00)?$")
_DIGITS = re.compile(r"^[0-9]+$")


# ---------------------------------------------------------------- reference data

class _Refs:
    """Dictionary, department and user codes, read once per request."""

    def __init__(self, db):
        rows = db.execute(text("SELECT type_code, code, name FROM geo.dict_item "
                               "WHERE type_code IN ('component_class', 'event_class')")).all()
        self.classes = {"component": {}, "event": {}}
        for t, code, name in rows:
            self.classes["component" if t == "component_class" else "event"][code] = name
        self.depts = dict(db.execute(select(Department.code, Department.name)).all())
        self._db = db

    def class_name(self, kind: str | None, code: str | None) -> str | None:
        if not code:
            return None
        kinds = [kind] if kind else ["component", "event"]
        names = [self.classes[k][code] for k in kinds if code in self.classes[k]]
        return "／".join(dict.fromkeys(names)) or None


def _area_name(db, code: str | None) -> str | None:
    if not code:
        return "全县"
    row = db.execute(text("SELECT name FROM geo.region WHERE code = :c UNION ALL "
                          "SELECT name FROM geo.unit_grid WHERE code = :c UNION ALL "
                          "SELECT name FROM geo.resp_grid WHERE code = :c LIMIT 1"), {"c": code}).first()
    return row[0] if row else None


def _area_names(db, codes: set[str]) -> dict[str, str]:
    codes = [c for c in codes if c]
    if not codes:
        return {}
    rows = db.execute(text("SELECT code, name FROM geo.region WHERE code = ANY(:c) UNION ALL "
                           "SELECT code, name FROM geo.unit_grid WHERE code = ANY(:c) UNION ALL "
                           "SELECT code, name FROM geo.resp_grid WHERE code = ANY(:c)"), {"c": codes}).all()
    return dict(rows)


# ---------------------------------------------------------------- input checks

def _body(allowed: set[str]) -> dict:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise GeoError("body_invalid", "请求体应为 JSON 对象")
    unknown = sorted(set(body) - allowed)
    if unknown:
        raise GeoError("field_unknown", f"未知字段: {', '.join(unknown)}", unknown=unknown)
    return body


def _only_params(allowed: set[str]) -> None:
    unknown = sorted(set(request.args) - allowed)
    if unknown:
        raise GeoError("parameter_unknown", f"未知参数: {', '.join(unknown)}")


def _text(value, field: str, label: str, max_len: int, required: bool = False) -> str | None:
    if value is None or value == "":
        if required:
            raise GeoError("field_missing", f"请填写{label}", field=field)
        return None
    if not isinstance(value, str):
        raise GeoError("field_invalid", f"{label}应为文本", field=field)
    value = value.strip()
    if len(value) > max_len:
        raise GeoError("field_invalid", f"{label}不能超过 {max_len} 个字符", field=field)
    if not value and required:
        raise GeoError("field_missing", f"请填写{label}", field=field)
    return value or None


def _int(value, field: str, label: str, lo: int = -1_000_000, hi: int = 1_000_000) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not lo <= value <= hi:
        raise GeoError("field_invalid", f"{label}应为 {lo}–{hi} 的整数", field=field)
    return value


def _bool(value, field: str, label: str) -> bool:
    if not isinstance(value, bool):
        raise GeoError("field_invalid", f"{label}应为 true 或 false", field=field)
    return value


def _kind(value) -> str | None:
    if value in (None, ""):
        return None
    if value not in KINDS:
        raise GeoError("kind_invalid", "类型应为 component（部件）或 event（事件），或留空表示任意", field="kind")
    return value


def _class(refs: _Refs, kind: str | None, code, field: str) -> str | None:
    if code in (None, ""):
        return None
    if not isinstance(code, str) or not _DIGITS.match(code) or len(code) not in (2, 4):
        raise GeoError("class_code_invalid", "类别代码应为2位大类或4位小类数字代码", field=field)
    if refs.class_name(kind, code) is None:
        what = f"{KINDS[kind]}分类" if kind else "部件/事件分类"
        raise GeoError("class_code_unknown", f"类别代码 {code} 不在{what}字典中", field=field)
    return code


def _time(value, field: str, label: str) -> dt.time | None:
    if value in (None, ""):
        return None
    m = _TIME.match(value) if isinstance(value, str) else None
    if not m:
        raise GeoError("time_invalid", f"{label}应为 HH:MM 格式的时间（00:00–23:59）", field=field)
    return dt.time(int(m.group(1)), int(m.group(2)))


def _date(value, field: str, label: str) -> dt.date | None:
    if value in (None, ""):
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        if not isinstance(value, str) or len(value) != 10:
            raise ValueError
        return dt.date.fromisoformat(value)
    except ValueError:
        raise GeoError("date_invalid", f"{label}应为 YYYY-MM-DD 格式的日期", field=field) from None


def _region_prefix(db, value) -> str | None:
    if value in (None, ""):
        return None
    if not isinstance(value, str) or not _DIGITS.match(value) or not 6 <= len(value) <= 15:
        raise GeoError("region_prefix_invalid", "区域前缀应为6–15位数字（街道9位、社区12位、单元网格15位）",
                       field="region_prefix")
    if value == COUNTY:
        return None  # the whole county: same as any
    hit = db.execute(text("SELECT 1 FROM geo.region WHERE code LIKE :p || '%' UNION ALL "
                          "SELECT 1 FROM geo.unit_grid WHERE code LIKE :p || '%' LIMIT 1"), {"p": value}).first()
    if hit is None:
        raise GeoError("region_prefix_unknown", f"区域前缀 {value} 不对应任何街道、社区或单元网格",
                       field="region_prefix")
    return value


def _area(db, value) -> tuple[str, str | None]:
    """(level, code) of a responsibility entry's area; county-wide is (county, None)."""
    if value in (None, "", COUNTY):
        return "county", None
    if not isinstance(value, str) or len(value) > 20:
        raise GeoError("area_code_invalid", "区域代码应为街道、社区、单元网格或责任网格编码", field="area_code")
    value = value.strip()
    level = area_level(value)
    exists = None
    if level in ("street", "community"):
        exists = db.execute(text("SELECT 1 FROM geo.region WHERE code = :c AND level = :l"),
                            {"c": value, "l": level}).first()
    elif level == "grid":
        exists = db.execute(text("SELECT 1 FROM geo.unit_grid WHERE code = :c"), {"c": value}).first()
    elif level == "resp_grid":
        exists = db.execute(text("SELECT 1 FROM geo.resp_grid WHERE code = :c"), {"c": value}).first()
    if exists is None:
        raise GeoError("area_code_unknown", f"区域代码 {value} 不是已有的街道、社区、单元网格或责任网格",
                       field="area_code")
    return level, value


def _check_version(obj, body: dict, what: str) -> None:
    if "version" not in body:
        raise GeoError("version_missing", "缺少 version（数据版本号），请刷新后重试")
    v = body["version"]
    if not isinstance(v, int) or isinstance(v, bool):
        raise GeoError("version_invalid", "version 应为整数")
    if v != obj.version:
        raise GeoError("version_conflict", f"{what}已被他人修改（当前版本 {obj.version}），请刷新后重试",
                       status=409, current_version=obj.version)


# ---------------------------------------------------------------- rules

def _rule_json(r: RegisterRule) -> dict:
    return {"id": r.id, "name": r.name, "sources": list(r.sources or []), "kind": r.kind,
            "class_prefix": r.class_prefix, "region_prefix": r.region_prefix,
            "time_from": r.time_from.strftime("%H:%M") if r.time_from else None,
            "time_to": r.time_to.strftime("%H:%M") if r.time_to else None,
            "actions": list(r.actions), "enabled": r.enabled, "sort": r.sort, "remark": r.remark,
            "version": r.version, "summary": describe_rule(r),
            "updated_at": r.updated_at.isoformat() if r.updated_at else None}


def _clean_rule(db, refs: _Refs, data: dict) -> dict:
    out = {"name": _text(data.get("name"), "name", "规则名称", 80, required=True)}
    sources = data.get("sources") or []
    if not isinstance(sources, list) or not all(isinstance(s, str) for s in sources):
        raise GeoError("sources_invalid", "案件来源应为来源代码的列表（空列表表示任意来源）", field="sources")
    bad = [s for s in sources if s not in SOURCES]
    if bad:
        raise GeoError("source_unknown", f"未知的案件来源: {', '.join(bad)}", field="sources")
    out["sources"] = sorted(set(sources), key=list(SOURCES).index)
    out["kind"] = _kind(data.get("kind"))
    out["class_prefix"] = _class(refs, out["kind"], data.get("class_prefix"), "class_prefix")
    out["region_prefix"] = _region_prefix(db, data.get("region_prefix"))
    out["time_from"] = _time(data.get("time_from"), "time_from", "开始时间")
    out["time_to"] = _time(data.get("time_to"), "time_to", "结束时间")
    if (out["time_from"] is None) != (out["time_to"] is None):
        raise GeoError("time_window_invalid", "时段须同时填写开始和结束时间，或都不填", field="time_to")
    if out["time_from"] is not None and out["time_from"] == out["time_to"]:
        raise GeoError("time_window_invalid", "时段的开始和结束时间不能相同", field="time_to")
    actions = data.get("actions")
    if not isinstance(actions, list) or not actions or not all(isinstance(a, str) for a in actions):
        raise GeoError("actions_invalid", "请至少选择一个动作：自动受理、自动立案或自动派遣", field="actions")
    bad = [a for a in actions if a not in ACTIONS]
    if bad:
        raise GeoError("action_unknown", f"未知的动作: {', '.join(bad)}", field="actions")
    out["actions"] = [a for a in ACTIONS if a in actions]
    out["enabled"] = _bool(data.get("enabled", True), "enabled", "启用状态")
    if data.get("sort") is not None:
        out["sort"] = _int(data["sort"], "sort", "排序号")
    out["remark"] = _text(data.get("remark"), "remark", "备注", 200)
    return out


def _get_rule(db, rule_id: int, lock: bool = False) -> RegisterRule:
    r = db.get(RegisterRule, rule_id, with_for_update=lock) if lock else db.get(RegisterRule, rule_id)
    if r is None:
        raise GeoError("rule_not_found", f"立案规则 {rule_id} 不存在", status=404)
    return r


@api.get("/config/rules")
@require_permission(PERM)
def rules_list():
    _only_params(RULE_LIST_PARAMS)
    q = select(RegisterRule).order_by(RegisterRule.sort, RegisterRule.id)
    a = request.args
    if a.get("source"):
        q = q.where(or_(RegisterRule.sources.any(a["source"]), func.cardinality(RegisterRule.sources) == 0))
    if a.get("kind"):
        q = q.where(or_(RegisterRule.kind == a["kind"], RegisterRule.kind.is_(None)))
    if a.get("enabled") in ("true", "false"):
        q = q.where(RegisterRule.enabled.is_(a["enabled"] == "true"))
    if a.get("q"):
        like = f"%{a['q'].strip()}%"
        q = q.where(or_(RegisterRule.name.ilike(like), RegisterRule.remark.ilike(like)))
    items = [_rule_json(r) for r in get_db().scalars(q)]
    return jsonify({"items": items, "total": len(items)})


@api.get("/config/rules/<int:rule_id>")
@require_permission(PERM)
def rule_detail(rule_id: int):
    return jsonify(_rule_json(_get_rule(get_db(), rule_id)))


@api.post("/config/rules")
@require_permission(PERM)
def rule_create():
    body = _body(RULE_FIELDS - {"version"})
    db = get_db()
    clean = _clean_rule(db, _Refs(db), body)
    if "sort" not in clean:
        clean["sort"] = (db.scalar(select(func.max(RegisterRule.sort))) or 0) + 10
    r = RegisterRule(**clean, version=1)
    db.add(r)
    db.commit()
    return jsonify(_rule_json(r)), 201


@api.patch("/config/rules/<int:rule_id>")
@require_permission(PERM)
def rule_update(rule_id: int):
    body = _body(RULE_FIELDS)
    db = get_db()
    r = _get_rule(db, rule_id, lock=True)
    _check_version(r, body, f"立案规则“{r.name}”")
    current = _rule_json(r)
    current.update({k: v for k, v in body.items() if k != "version"})
    clean = _clean_rule(db, _Refs(db), current)
    changed = False
    for k, v in clean.items():
        if getattr(r, k) != v:
            setattr(r, k, v)
            changed = True
    if changed:
        r.version += 1
    db.commit()
    return jsonify(_rule_json(r))


@api.delete("/config/rules/<int:rule_id>")
@require_permission(PERM)
def rule_delete(rule_id: int):
    _only_params({"version"})
    db = get_db()
    r = _get_rule(db, rule_id, lock=True)
    if "version" in request.args:
        try:
            v = int(request.args["version"])
        except ValueError:
            raise GeoError("version_invalid", "version 应为整数") from None
        _check_version(r, {"version": v}, f"立案规则“{r.name}”")
    db.delete(r)
    db.commit()
    return "", 204


@api.post("/config/rules/reorder")
@require_permission(PERM)
def rules_reorder():
    """New order of all rules: {"ids": [...]} (every rule exactly once)."""
    body = _body({"ids"})
    ids = body.get("ids")
    if not isinstance(ids, list) or not all(isinstance(i, int) and not isinstance(i, bool) for i in ids):
        raise GeoError("ids_invalid", "ids 应为规则编号的列表")
    db = get_db()
    rules = {r.id: r for r in db.scalars(select(RegisterRule).with_for_update())}
    if len(ids) != len(set(ids)) or set(ids) != set(rules):
        raise GeoError("order_incomplete", "排序须包含全部规则且每条只出现一次，请刷新后重试", status=409)
    for pos, rid in enumerate(ids, start=1):
        r = rules[rid]
        if r.sort != pos * 10:
            r.sort = pos * 10
            r.version += 1
    db.commit()
    items = [_rule_json(r) for r in sorted(rules.values(), key=lambda r: (r.sort, r.id))]
    return jsonify({"items": items, "total": len(items)})


# ---------------------------------------------------------------- responsibility list

def _entry_json(e: RespEntry, refs: _Refs, areas: dict[str, str], users: dict[int, tuple]) -> dict:
    user = users.get(e.user_id) if e.user_id else None
    return {"id": e.id, "kind": e.kind, "kind_name": KINDS.get(e.kind, "部件和事件") if e.kind else "部件和事件",
            "class_code": e.class_code, "class_name": refs.class_name(e.kind, e.class_code) or "任意类别",
            "area_level": e.area_level, "area_level_name": AREA_LEVELS.get(e.area_level, e.area_level),
            "area_code": e.area_code, "area_name": areas.get(e.area_code, "全县") if e.area_code else "全县",
            "dept_code": e.dept_code, "dept_name": refs.depts.get(e.dept_code), "post": e.post,
            "user_id": e.user_id, "username": user[0] if user else None, "user_name": user[1] if user else None,
            "priority": e.priority,
            "valid_from": e.valid_from.isoformat() if e.valid_from else None,
            "valid_to": e.valid_to.isoformat() if e.valid_to else None,
            "enabled": e.enabled, "remark": e.remark, "version": e.version,
            "specificity": specificity(e.class_code, e.area_level, e.kind)}


def _users(db, ids) -> dict[int, tuple]:
    ids = [i for i in ids if i]
    if not ids:
        return {}
    return {u.id: (u.username, u.display_name) for u in db.scalars(select(User).where(User.id.in_(ids)))}


def _entries_json(db, refs: _Refs, entries: list[RespEntry]) -> list[dict]:
    areas = _area_names(db, {e.area_code for e in entries})
    users = _users(db, {e.user_id for e in entries})
    return [_entry_json(e, refs, areas, users) for e in entries]


def _clean_entry(db, refs: _Refs, data: dict, self_id: int | None = None) -> dict:
    out = {"kind": _kind(data.get("kind"))}
    out["class_code"] = _class(refs, out["kind"], data.get("class_code"), "class_code")
    out["area_level"], out["area_code"] = _area(db, data.get("area_code"))
    dept = data.get("dept_code")
    if dept in (None, ""):
        raise GeoError("field_missing", "请选择责任部门", field="dept_code")
    if not isinstance(dept, str) or dept not in refs.depts:
        raise GeoError("dept_unknown", f"部门 {dept} 不存在", field="dept_code")
    out["dept_code"] = dept
    out["post"] = _text(data.get("post"), "post", "岗位", 40)
    uid = data.get("user_id")
    if uid in (None, ""):
        out["user_id"] = None
    else:
        if not isinstance(uid, int) or isinstance(uid, bool):
            raise GeoError("user_invalid", "人员应为用户编号", field="user_id")
        u = db.get(User, uid)
        if u is None:
            raise GeoError("user_unknown", f"用户 {uid} 不存在", field="user_id")
        if u.dept_code != dept:
            raise GeoError("user_not_in_dept", f"人员“{u.display_name}”不属于部门“{refs.depts[dept]}”",
                           field="user_id")
        out["user_id"] = uid
    out["priority"] = _int(data.get("priority", 0) if data.get("priority") is not None else 0,
                           "priority", "优先级", -1000, 1000)
    out["valid_from"] = _date(data.get("valid_from"), "valid_from", "生效日期")
    out["valid_to"] = _date(data.get("valid_to"), "valid_to", "失效日期")
    if out["valid_from"] and out["valid_to"] and out["valid_from"] > out["valid_to"]:
        raise GeoError("date_range_invalid", "生效日期不能晚于失效日期", field="valid_to")
    out["enabled"] = _bool(data.get("enabled", True), "enabled", "启用状态")
    out["remark"] = _text(data.get("remark"), "remark", "备注", 200)
    dup = _duplicate(db, out, self_id)
    if dup is not None:
        raise GeoError("entry_duplicate", f"已有相同的权责清单条目 #{dup}（类型、类别、区域、部门、岗位均相同）",
                       status=409, existing_id=dup)
    return out


def _duplicate(db, c: dict, self_id: int | None) -> int | None:
    return db.execute(text("""
        SELECT id FROM cases.resp_entry
         WHERE coalesce(kind, '') = coalesce(:kind, '') AND coalesce(class_code, '') = coalesce(:cls, '')
           AND coalesce(area_code, '') = coalesce(:area, '') AND dept_code = :dept
           AND coalesce(post, '') = coalesce(:post, '') AND id <> coalesce(:self, -1) LIMIT 1"""),
        {"kind": c["kind"], "cls": c["class_code"], "area": c["area_code"], "dept": c["dept_code"],
         "post": c["post"], "self": self_id}).scalar()


def _get_entry(db, entry_id: int, lock: bool = False) -> RespEntry:
    e = db.get(RespEntry, entry_id, with_for_update=lock) if lock else db.get(RespEntry, entry_id)
    if e is None:
        raise GeoError("entry_not_found", f"权责清单条目 {entry_id} 不存在", status=404)
    return e


def _entry_query(args):
    q = select(RespEntry)
    if args.get("kind"):
        q = q.where(or_(RespEntry.kind == args["kind"], RespEntry.kind.is_(None)))
    if args.get("class_code"):
        q = q.where(RespEntry.class_code.startswith(args["class_code"].strip()[:4]))
    if args.get("area_code"):
        q = q.where(RespEntry.area_code.startswith(args["area_code"].strip()[:20]))
    if args.get("dept_code"):
        q = q.where(RespEntry.dept_code == args["dept_code"])
    if args.get("enabled") in ("true", "false"):
        q = q.where(RespEntry.enabled.is_(args["enabled"] == "true"))
    if args.get("q"):
        like = f"%{args['q'].strip()}%"
        q = q.where(or_(RespEntry.post.ilike(like), RespEntry.remark.ilike(like)))
    return q


def _page_arg(name: str, default: int, hi: int) -> int:
    raw = request.args.get(name)
    if raw in (None, ""):
        return default
    try:
        v = int(raw)
    except ValueError:
        raise GeoError("parameter_invalid", f"参数 {name} 应为整数") from None
    if not 1 <= v <= hi:
        raise GeoError("parameter_invalid", f"参数 {name} 应在 1–{hi} 之间")
    return v


@api.get("/config/responsibilities")
@require_permission(PERM)
def entries_list():
    _only_params(ENTRY_LIST_PARAMS)
    page, size = _page_arg("page", 1, 1_000_000), _page_arg("size", 50, MAX_PAGE_SIZE)
    db = get_db()
    q = _entry_query(request.args)
    total = db.scalar(select(func.count()).select_from(q.subquery()))
    rows = db.scalars(q.order_by(RespEntry.kind.nulls_first(), RespEntry.class_code.nulls_first(),
                                 RespEntry.area_code.nulls_first(), RespEntry.dept_code, RespEntry.id)
                      .offset((page - 1) * size).limit(size)).all()
    return jsonify({"items": _entries_json(db, _Refs(db), rows), "total": total, "page": page, "size": size})


@api.get("/config/responsibilities/<int:entry_id>")
@require_permission(PERM)
def entry_detail(entry_id: int):
    db = get_db()
    return jsonify(_entries_json(db, _Refs(db), [_get_entry(db, entry_id)])[0])


@api.post("/config/responsibilities")
@require_permission(PERM)
def entry_create():
    body = _body(ENTRY_FIELDS - {"version"})
    db = get_db()
    refs = _Refs(db)
    e = RespEntry(**_clean_entry(db, refs, body), version=1)
    db.add(e)
    _commit(db)
    return jsonify(_entries_json(db, refs, [e])[0]), 201


@api.patch("/config/responsibilities/<int:entry_id>")
@require_permission(PERM)
def entry_update(entry_id: int):
    body = _body(ENTRY_FIELDS)
    db = get_db()
    refs = _Refs(db)
    e = _get_entry(db, entry_id, lock=True)
    _check_version(e, body, f"权责清单条目 #{e.id}")
    current = {f: getattr(e, f) for f in ENTRY_FIELDS - {"version"}}
    current.update({k: v for k, v in body.items() if k != "version"})
    clean = _clean_entry(db, refs, current, self_id=e.id)
    changed = False
    for k, v in clean.items():
        if getattr(e, k) != v:
            setattr(e, k, v)
            changed = True
    if changed:
        e.version += 1
    _commit(db)
    return jsonify(_entries_json(db, refs, [e])[0])


@api.delete("/config/responsibilities/<int:entry_id>")
@require_permission(PERM)
def entry_delete(entry_id: int):
    _only_params({"version"})
    db = get_db()
    e = _get_entry(db, entry_id, lock=True)
    if "version" in request.args:
        try:
            v = int(request.args["version"])
        except ValueError:
            raise GeoError("version_invalid", "version 应为整数") from None
        _check_version(e, {"version": v}, f"权责清单条目 #{e.id}")
    db.delete(e)
    db.commit()
    return "", 204


def _commit(db) -> None:
    """Commit; a concurrent duplicate caught by the unique index answers 409 like the checked one."""
    try:
        db.commit()
    except IntegrityError:
        db.rollback()
        raise GeoError("entry_duplicate", "已有相同的权责清单条目（类型、类别、区域、部门、岗位均相同）",
                       status=409) from None


# ---------------------------------------------------------------- Excel

@api.get("/config/responsibilities/export.xlsx")
@require_permission(PERM)
def entries_export():
    from openpyxl import Workbook
    from openpyxl.styles import Font, PatternFill
    _only_params(ENTRY_LIST_PARAMS - {"page", "size"})
    db = get_db()
    rows = db.scalars(_entry_query(request.args).order_by(RespEntry.kind.nulls_first(),
                                                          RespEntry.class_code.nulls_first(),
                                                          RespEntry.area_code.nulls_first(), RespEntry.id)).all()
    wb = Workbook()
    ws = wb.active
    ws.title = "权责清单"
    ws.append(COLUMNS)
    for cell in ws[1]:
        cell.font = Font(bold=True)
        cell.fill = PatternFill("solid", fgColor="DDEBF7")
    for j in _entries_json(db, _Refs(db), rows):
        ws.append([KINDS.get(j["kind"], "") if j["kind"] else "", j["class_code"] or "", j["class_name"],
                   j["area_code"] or "", j["area_name"], j["dept_code"], j["dept_name"] or "", j["post"] or "",
                   j["username"] or "", j["priority"], j["valid_from"] or "", j["valid_to"] or "",
                   "启用" if j["enabled"] else "停用", j["remark"] or ""])
    for row in ws.iter_rows(min_row=2):
        for cell in row:
            if cell.column != 10:
                cell.number_format = "@"  # text: keeps the leading zeros of class and area codes
    for col, width in zip("ABCDEFGHIJKLMN", (8, 10, 16, 20, 22, 10, 26, 16, 14, 8, 12, 12, 8, 24)):
        ws.column_dimensions[col].width = width
    ws.freeze_panes = "A2"
    buf = io.BytesIO()
    wb.save(buf)
    buf.seek(0)
    return send_file(buf, as_attachment=True, download_name=f"权责清单-{dt.datetime.now():%Y%m%d-%H%M}.xlsx",
                     mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value).strip()


def _read_rows(path) -> list[list[str]]:
    from openpyxl import load_workbook
    try:
        wb = load_workbook(path, read_only=True, data_only=True)
        ws = wb.worksheets[0]
        rows = []
        for i, row in enumerate(ws.iter_rows(values_only=True), start=1):
            if i > MAX_IMPORT_ROWS + 1:
                raise GeoError("upload_too_many_rows", f"一次最多导入 {MAX_IMPORT_ROWS} 行")
            rows.append([_cell(v) for v in row])
        wb.close()
    except GeoError:
        raise
    except Exception:
        raise GeoError("upload_invalid", "上传的文件不是有效的 Excel（.xlsx）文件") from None
    return rows


@api.post("/config/responsibilities/import")
@require_permission(PERM)
def entries_import():
    """All or nothing: rows are checked first; an existing entry (same type, class, area, department and post)
    is updated, any other row is added."""
    unknown = sorted(set(request.form) | (set(request.files) - {"file"}))
    if unknown:
        raise GeoError("field_unknown", f"未知字段: {', '.join(unknown)}（只需上传表单字段 file）")
    stored = uploads.accept(request.files.get("file"), "document", allowed=["xlsx"], max_bytes=MAX_UPLOAD)
    rows = _read_rows(stored.path)
    header = list(rows[0]) if rows else []
    while header and header[-1] == "":
        header.pop()
    if not header or "部门编码" not in header or [h for h in header if h not in COLUMNS] or \
            len(set(header)) != len(header):
        raise GeoError("import_header_invalid", f"表头不正确，第 1 行应为：{'、'.join(COLUMNS)}（至少含“部门编码”）")
    col = {h: i for i, h in enumerate(header)}
    db = get_db()
    refs = _Refs(db)
    usernames = dict(db.execute(select(User.username, User.id)).all())
    errors, plan, seen = [], [], {}
    for rownum, row in enumerate(rows[1:], start=2):
        row = row + [""] * (len(header) - len(row))
        if not any(row):
            continue
        get = lambda name: row[col[name]] if name in col else ""  # noqa: E731
        try:
            kind_text = get("类型")
            if kind_text not in KIND_BY_NAME and kind_text not in KINDS:
                raise GeoError("kind_invalid", "类型应为“部件”“事件”或留空")
            user = get("人员用户名")
            if user and user not in usernames:
                raise GeoError("user_unknown", f"用户名 {user} 不存在")
            prio = get("优先级") or "0"
            if not re.fullmatch(r"-?[0-9]{1,4}", prio):
                raise GeoError("field_invalid", "优先级应为整数")
            status = get("状态")
            if status not in ("", "启用", "停用"):
                raise GeoError("field_invalid", "状态应为“启用”或“停用”")
            data = {"kind": kind_text if kind_text in KINDS else KIND_BY_NAME[kind_text],
                    "class_code": get("类别代码"), "area_code": get("区域代码"), "dept_code": get("部门编码"),
                    "post": get("岗位"), "user_id": usernames.get(user) if user else None, "priority": int(prio),
                    "valid_from": get("生效日期"), "valid_to": get("失效日期"), "enabled": status != "停用",
                    "remark": get("备注")}
            clean = _clean_entry_no_dup(db, refs, data)
        except GeoError as err:
            errors.append({"row": rownum, "code": err.code, "message": f"第 {rownum} 行：{err.message}"})
            continue
        key = (clean["kind"], clean["class_code"], clean["area_code"], clean["dept_code"], clean["post"])
        if key in seen:
            errors.append({"row": rownum, "code": "entry_duplicate",
                           "message": f"第 {rownum} 行：与第 {seen[key]} 行重复"})
            continue
        seen[key] = rownum
        plan.append(clean)
    if errors:
        raise GeoError("import_invalid", f"导入失败，共 {len(errors)} 行有误，未做任何修改：{errors[0]['message']}",
                       errors=errors[:200])
    if not plan:
        raise GeoError("import_empty", "文件中没有可导入的数据行")
    created = updated = 0
    for clean in plan:
        existing = _duplicate(db, clean, None)
        if existing is None:
            db.add(RespEntry(**clean, version=1))
            created += 1
        else:
            e = db.get(RespEntry, existing, with_for_update=True)
            if any(getattr(e, k) != v for k, v in clean.items()):
                for k, v in clean.items():
                    setattr(e, k, v)
                e.version += 1
                updated += 1
    _commit(db)
    return jsonify({"created": created, "updated": updated, "rows": len(plan)})


def _clean_entry_no_dup(db, refs: _Refs, data: dict) -> dict:
    """Row check for the import: a row equal to an existing entry updates it, so no duplicate refusal here."""
    clean = None
    try:
        clean = _clean_entry(db, refs, data)
    except GeoError as err:
        if err.code != "entry_duplicate":
            raise
        clean = _clean_entry(db, refs, data, self_id=err.details["existing_id"])
    return clean


# ---------------------------------------------------------------- test bench

def _engine():
    return current_app.extensions["cityops.engine"]


def _number(body: dict, name: str) -> float:
    v = body.get(name)
    if not isinstance(v, (int, float)) or isinstance(v, bool) or v != v or abs(v) > 1000:
        raise GeoError("coordinate_invalid", f"{name} 应为经纬度数值", field=name)
    return float(v)


@api.post("/config/dispatch-test")
@require_permission(PERM)
def dispatch_test():
    """What would happen to a case: the place found, the matching rule and the dispatch candidates."""
    body = _body(TEST_FIELDS)
    db = get_db()
    refs = _Refs(db)
    source = body.get("source")
    if source not in SOURCES:
        raise GeoError("source_unknown", "请选择案件来源", field="source")
    kind = body.get("kind")
    if kind not in KINDS:
        raise GeoError("kind_invalid", "类型应为 component（部件）或 event（事件）", field="kind")
    cls = body.get("class_code")
    if not isinstance(cls, str) or len(cls) != 4:
        raise GeoError("class_code_invalid", "请选择案件小类（4位分类代码）", field="class_code")
    _class(refs, kind, cls, "class_code")
    at = None
    if body.get("at") not in (None, ""):
        try:
            at = dt.datetime.fromisoformat(body["at"]) if isinstance(body["at"], str) else None
        except ValueError:
            at = None
        if at is None:
            raise GeoError("time_invalid", "at 应为 ISO 格式的日期时间，例如 2026-12-02T09:30", field="at")
    geocoded = []
    if body.get("address") not in (None, ""):
        if not isinstance(body["address"], str):
            raise GeoError("address_invalid", "地址应为文本", field="address")
        geocoded = geocode_address(db.connection(), body["address"])
        lon, lat = geocoded[0]["lon"], geocoded[0]["lat"]
    elif "lon" in body or "lat" in body:
        lon, lat = _number(body, "lon"), _number(body, "lat")
    else:
        raise GeoError("place_missing", "请在地图上点选位置或输入地址", field="lon")
    loc = locate_point(db.connection(), _engine(), lon, lat)
    if loc.street_code is None and loc.community_code is None:
        raise GeoError("point_outside", "该位置不在西平县的街道（乡镇）范围内", status=422)
    place = Place.from_location(loc)
    decision = auto_actions(db, source, kind, cls, place, at)
    disp = dispatch_decision(db, kind, cls, place, at.date() if at else None)
    auto = decision.to_dict()
    allowed = "auto_dispatch" in decision.actions
    verdict = disp.explanation
    if disp.automatic and not allowed:
        verdict = f"权责清单给出唯一部门（{disp.candidates[0].dept_name}），但没有立案规则允许自动派遣：由派遣员确认"
    return jsonify({"location": loc.to_dict(), "place": vars(place), "geocoded": geocoded,
                    "class_name": refs.class_name(kind, cls), "source_name": SOURCES[source],
                    "auto": auto, "dispatch": disp.to_dict(), "auto_dispatch": disp.automatic and allowed,
                    "verdict": verdict})


# ---------------------------------------------------------------- pages

def _page_refs(db) -> dict:
    refs = _Refs(db)
    classes = {}
    for kind, tcode in (("component", "component_class"), ("event", "event_class")):
        classes[kind] = [list(r) for r in db.execute(text(
            "SELECT code, name, parent_code FROM geo.dict_item WHERE type_code = :t AND enabled ORDER BY sort, code"),
            {"t": tcode})]
    regions = [list(r) for r in db.execute(text(
        "SELECT code, name, level FROM geo.region WHERE level IN ('street', 'community') ORDER BY code"))]
    resp_grids = [list(r) for r in db.execute(text("SELECT code, name, 'resp_grid' FROM geo.resp_grid ORDER BY code"))]
    users = [[u.id, u.username, u.display_name, u.dept_code] for u in
             db.scalars(select(User).where(User.enabled, User.dept_code.is_not(None)).order_by(User.username))]
    return {"sources": list(SOURCES.items()), "kinds": list(KINDS.items()), "actions": list(ACTIONS.items()),
            "classes": classes, "depts": sorted(refs.depts.items()), "regions": regions + resp_grids,
            "users": users, "area_levels": list(AREA_LEVELS.items())}


@pages.get("/config/dispatch-rules")
@require_permission(PERM)
def rules_page():
    return render_template("cases/rules.html", refs=_page_refs(get_db()))


@pages.get("/config/dispatch-test")
@require_permission(PERM)
def dispatch_test_page():
    return render_template("cases/dispatch_test.html", refs=_page_refs(get_db()))


# ---------------------------------------------------------------- demo data

# Auto-registration rules (name, sources, kind, class prefix, region prefix, window, actions, enabled, remark).
DEMO_RULES = [
    ("监督员上报的市容环境类事件自动受理", ["supervisor"], "event", "01", None, None, ["auto_accept", "auto_dispatch"],
     True, "监督员在巡查中发现并拍照上报，免受理员人工受理"),
    ("监督员上报的街面秩序类事件自动受理", ["supervisor"], "event", "05", None, None, ["auto_accept", "auto_dispatch"],
     True, "街面秩序问题由街道办处置，权责清单唯一时直接派遣"),
    ("物联感知告警自动立案", ["sensor"], None, None, None, None, ["auto_accept", "auto_file", "auto_dispatch"],
     True, "井盖位移、积水等传感器告警经阈值判定，免值班长审批"),
    ("夜间公众举报自动受理（试行）", ["public", "hotline"], "event", None, None, ("22:00", "06:00"), ["auto_accept"],
     False, "夜间无受理员值守时试行，暂未启用"),
]
# Responsibility list: (kind, class, area, department, post, username, priority, remark).
DEMO_ENTRIES = [
    ("component", "0101", None, "D013", "管网维修班", None, 0, "上水井盖"),
    ("component", "0113", None, "D013", "管网维修班", None, 0, "消火栓"),
    ("component", "0102", None, "D016", "排水管网养护班", None, 0, "污水井盖"),
    ("component", "0103", None, "D016", "排水管网养护班", None, 0, "雨水井盖"),
    ("component", "0104", None, "D016", "排水管网养护班", None, 0, "雨水箅子"),
    ("component", "0110", None, "D015", "热网抢修班", None, 0, "热力井盖"),
    ("component", "0111", None, "D014", "燃气抢修班", None, 0, "燃气井盖"),
    ("component", "0105", None, "D017", "配电运维班", None, 0, "电力井盖"),
    ("component", "0106", None, "D011", "路灯维护班", None, 0, "路灯井盖"),
    ("component", "0118", None, "D011", "路灯维护班", None, 0, "路灯"),
    ("component", "0107", None, "D018", "线路维护班", None, 0, "通讯井盖"),
    ("component", "0108", None, "D019", "线路维护班", None, 0, "电视井盖"),
    ("component", "0114", None, "D011", "市政设施养护班", None, 0, "无主井盖"),
    ("component", "02", None, "D008", "交通设施科", None, 0, "道路交通类部件"),
    ("component", "03", None, "D010", "环卫作业调度", None, 0, "市容环境类部件"),
    ("component", "0307", None, "D002", "市容管理科", None, 0, "广告牌匾"),
    ("component", "04", None, "D009", "绿化养护科", None, 0, "园林绿化类部件"),
    ("event", "01", None, "D010", "环卫作业调度", "handler", 0, "市容环境类事件（全县）"),
    ("event", "0101", None, "D002", "违建治理科", None, 0, "私搭乱建"),
    ("event", "0110", None, "D016", "排水管网养护班", None, 0, "道路积水"),
    ("event", "0113", None, "D010", "环卫作业调度", None, 0, "油烟污染：与城管局共管，由派遣员选择"),
    ("event", "0113", None, "D002", "市容管理科", None, 0, "油烟污染：与环卫中心共管，由派遣员选择"),
    ("event", "02", None, "D002", "市容管理科", None, 0, "宣传广告类事件"),
    ("event", "03", None, "D003", "建筑市场监管科", None, 0, "施工管理类事件"),
    ("event", "0304", None, "D010", "环卫作业调度", None, 0, "道路遗撒"),
    ("event", "0401", None, "D002", "应急抢险队", None, 0, "路面塌陷"),
    ("event", "0402", None, "D013", "管网维修班", None, 0, "自来水管破裂"),
    ("event", "0403", None, "D014", "燃气抢修班", None, 0, "燃气管道破裂"),
    ("event", "0404", None, "D016", "排水管网养护班", None, 0, "下水道堵塞或破损"),
    ("event", "0405", None, "D015", "热网抢修班", None, 0, "热力管道破裂"),
    ("event", "0406", None, "D017", "配电运维班", None, 0, "架空线缆损坏"),
    ("event", "05", "411721001", "D020", "城管中队", None, 0, "街面秩序：柏城街道"),
    ("event", "05", "411721002", "D021", "城管中队", None, 0, "街面秩序：柏亭街道"),
    ("event", "05", "411721003", "D022", "城管中队", None, 0, "街面秩序：柏苑街道"),
    ("event", "0505", None, "D008", "秩序管理中队", None, 0, "机动车乱停放（全县交警）"),
]


def seed_demo(db, log=print) -> None:
    """Demo rules and the Xiping responsibility list (idempotent: existing names/keys are kept)."""
    depts = set(db.scalars(select(Department.code)))
    if not depts:
        return
    names = set(db.scalars(select(RegisterRule.name)))
    added = 0
    for sort, (name, sources, kind, cls, region, window, actions, enabled, remark) in enumerate(DEMO_RULES, 1):
        if name in names:
            continue
        db.add(RegisterRule(name=name, sources=sources, kind=kind, class_prefix=cls, region_prefix=region,
                            time_from=dt.time.fromisoformat(window[0]) if window else None,
                            time_to=dt.time.fromisoformat(window[1]) if window else None,
                            actions=actions, enabled=enabled, sort=sort * 10, remark=remark, version=1))
        added += 1
    users = {u.username: u for u in db.scalars(select(User))}
    entries = 0
    for kind, cls, area, dept, post, username, prio, remark in DEMO_ENTRIES:
        if dept not in depts:
            continue
        clean = {"kind": kind, "class_code": cls, "area_code": area, "dept_code": dept, "post": post}
        if _duplicate(db, clean, None) is not None:
            continue
        user = users.get(username) if username else None
        db.add(RespEntry(kind=kind, class_code=cls, area_level=area_level(area), area_code=area, dept_code=dept,
                         post=post, user_id=user.id if user is not None and user.dept_code == dept else None,
                         priority=prio, remark=remark, version=1))
        db.flush()
        entries += 1
    db.commit()
    log(f"dispatch rules: {added} auto-registration rules, {entries} responsibility entries added")
