"""告警规则配置: rules per datastream (lifeline:iot:edit to change them).

Default threshold and offline rules are derived from the datastream (a
trigger, migration 0013); editing a derived rule makes it the operator's own
(`derived` false) so later threshold changes on the device do not overwrite it.
Combination rules may only name datastreams of the same site (the primary
datastream's device or one within SITE_RADIUS_M)."""
from __future__ import annotations

from flask import jsonify, render_template, request
from sqlalchemy import func, select, text

from etl.iot.profiles import NETWORK_NAMES
from etl.iot.rules import KINDS, LEVEL_NAMES, RuleError, clean_params
from geo.errors import GeoError
from webapp.auth.permissions import require_permission
from webapp.db import get_db
from webapp.lifeline import api, pages
from webapp.lifeline.alarm_models import Alarm, AlarmRule
from webapp.validation import check_version, json_body

SITE_RADIUS_M = 500
FIELDS = {"datastream_id", "kind", "name", "level", "params", "enabled", "version"}


def _rule_dict(r: AlarmRule, ds: dict | None = None) -> dict:
    out = {"id": r.id, "datastream_id": r.datastream_id, "kind": r.kind, "kind_name": KINDS[r.kind], "name": r.name,
           "level": r.level, "level_name": LEVEL_NAMES[r.level], "params": r.params, "enabled": r.enabled,
           "derived": r.derived, "version": r.version}
    if ds:
        out["datastream"] = ds
    return out


def _datastream(db, ds_id) -> dict:
    if isinstance(ds_id, bool) or not isinstance(ds_id, int):
        raise GeoError("datastream_id_invalid", "数据流编号应为整数", field="datastream_id")
    r = db.execute(text("""SELECT d.id, d.code, d.name, d.unit, d.thing_id, t.code thing_code, t.name thing_name,
                                  t.network FROM lifeline.iot_datastream d JOIN lifeline.iot_thing t ON t.id = d.thing_id
                            WHERE d.id = :i"""), {"i": ds_id}).mappings().first()
    if r is None:
        raise GeoError("datastream_not_found", f"数据流 {ds_id} 不存在", status=404 if request.method == "GET" else 400,
                       field="datastream_id")
    return dict(r)


def _clean(db, body: dict, rule: AlarmRule | None) -> dict:
    out = {}
    kind = body.get("kind", rule.kind if rule else None)
    if rule is not None and kind != rule.kind:
        raise GeoError("kind_readonly", "规则类型创建后不能修改", field="kind")
    ds_id = body.get("datastream_id", rule.datastream_id if rule else None)
    if rule is not None and ds_id != rule.datastream_id:
        raise GeoError("datastream_readonly", "规则所属数据流不能修改", field="datastream_id")
    ds = _datastream(db, ds_id)
    if "name" in body or rule is None:
        name = body.get("name")
        if not isinstance(name, str) or not 2 <= len(name.strip()) <= 80:
            raise GeoError("name_invalid", "规则名称应为 2 到 80 字", field="name")
        out["name"] = name.strip()
    if "level" in body:
        lvl = body["level"]
        if isinstance(lvl, bool) or lvl not in LEVEL_NAMES:
            raise GeoError("level_invalid", "告警级别应为 1（红）、2（橙）、3（黄）或 4（蓝）", field="level")
        out["level"] = lvl
    if "enabled" in body:
        if not isinstance(body["enabled"], bool):
            raise GeoError("enabled_invalid", "enabled 应为 true 或 false", field="enabled")
        out["enabled"] = body["enabled"]
    if "params" in body or rule is None:
        try:
            params = clean_params(kind, body.get("params"))
        except RuleError as e:
            code = "kind_invalid" if e.field == "kind" else "params_invalid"
            raise GeoError(code, str(e), field=e.field) from None
        if kind == "combination":
            if params["terms"][0]["datastream_id"] != ds["id"]:
                raise GeoError("params_invalid", "组合规则的第 1 个条件应为本规则所属数据流", field="params.terms")
            others = [t["datastream_id"] for t in params["terms"][1:]]
            near = set(db.execute(text("""
                SELECT d.id FROM lifeline.iot_datastream d JOIN lifeline.iot_thing t ON t.id = d.thing_id
                  JOIN lifeline.iot_thing s ON s.id = :thing
                 WHERE d.id = ANY(:ids) AND ST_DWithin(t.geom::geography, s.geom::geography, :m)"""),
                {"thing": ds["thing_id"], "ids": others, "m": SITE_RADIUS_M}).scalars())
            far = [i for i in others if i not in near]
            if far:
                raise GeoError("params_invalid", f"数据流 {', '.join(map(str, far))} 不存在或不在同一站点"
                               f"（{SITE_RADIUS_M} 米内）", field="params.terms")
        out["params"] = params
    out["kind"], out["datastream_id"] = kind, ds["id"]
    return out


@api.get("/alarm-rules")
@require_permission("lifeline:view")
def rules_list():
    db = get_db()
    raw = request.args.get("datastream_id")
    ds_id = None
    if raw not in (None, ""):
        if not raw.isdigit():
            raise GeoError("datastream_id_invalid", "数据流编号应为整数", field="datastream_id")
        ds_id = int(raw)
    rows = db.execute(text("""
        SELECT r.id, d.id ds_id, d.code ds_code, d.name ds_name, d.unit, t.code thing_code, t.name thing_name,
               t.network FROM lifeline.alarm_rule r JOIN lifeline.iot_datastream d ON d.id = r.datastream_id
          JOIN lifeline.iot_thing t ON t.id = d.thing_id
         WHERE (CAST(:d AS int) IS NULL OR d.id = :d) ORDER BY t.code, d.id, r.kind, r.id"""),
        {"d": ds_id}).mappings().all()
    rules = {r.id: r for r in db.scalars(select(AlarmRule).where(AlarmRule.id.in_([x["id"] for x in rows])))}
    items = []
    for x in rows:
        ds = {k: x[k] for k in ("ds_code", "ds_name", "unit", "thing_code", "thing_name", "network")}
        ds["network_name"] = NETWORK_NAMES.get(x["network"])
        items.append(_rule_dict(rules[x["id"]], ds))
    return jsonify({"items": items, "total": len(items), "kinds": KINDS, "levels": LEVEL_NAMES})


@api.post("/alarm-rules")
@require_permission("lifeline:iot:edit")
def rules_create():
    body = json_body(FIELDS - {"version"}, {"datastream_id", "kind", "name", "params"})
    db = get_db()
    vals = _clean(db, body, None)
    r = AlarmRule(derived=False, version=1, level=vals.pop("level", 3), enabled=vals.pop("enabled", True), **vals)
    db.add(r)
    db.commit()
    return jsonify(_rule_dict(r)), 201


def _get(db, rule_id: int, lock=False) -> AlarmRule:
    r = db.get(AlarmRule, rule_id, with_for_update=lock) if lock else db.get(AlarmRule, rule_id)
    if r is None:
        raise GeoError("rule_not_found", f"告警规则 {rule_id} 不存在", status=404)
    return r


@api.put("/alarm-rules/<int:rule_id>")
@require_permission("lifeline:iot:edit")
def rules_update(rule_id: int):
    body = json_body(FIELDS, {"version"})
    db = get_db()
    r = _get(db, rule_id, lock=True)
    check_version(r, body, "告警规则")
    vals = _clean(db, body, r)
    for k in ("name", "level", "enabled", "params"):
        if k in vals:
            setattr(r, k, vals[k])
    r.derived = False           # the operator's own limits from now on
    r.version += 1
    db.commit()
    return jsonify(_rule_dict(r))


@api.delete("/alarm-rules/<int:rule_id>")
@require_permission("lifeline:iot:edit")
def rules_delete(rule_id: int):
    db = get_db()
    r = _get(db, rule_id, lock=True)
    n = db.scalar(select(func.count()).select_from(Alarm).where(Alarm.rule_id == r.id))
    if n:
        raise GeoError("rule_in_use", f"该规则已产生 {n} 条告警，不能删除，可停用", status=409)
    db.delete(r)
    db.commit()
    return "", 204


@pages.get("/config/alarm-rules")
@require_permission("lifeline:iot:edit")
def alarm_rules_page():
    return render_template("lifeline/alarm_rules.html", kinds=KINDS, level_names=LEVEL_NAMES,
                           network_names=NETWORK_NAMES)
