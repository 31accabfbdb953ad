"""Difficult cases (R18-R22): conditions, marking, ownership confirmation (确权), quick search and analysis.

JSON API under /api/cases/difficult/… and four pages. The rules live in
difficult_service, the tables in difficult_models, the statistics in
difficult_analysis; this module checks input and permissions only.

A timer should POST /api/cases/difficult/sweep (e.g. every 10 minutes) so
automatic marking happens without anyone opening a page."""
from __future__ import annotations

import datetime as dt
import re

from flask import jsonify, render_template, request, send_file
from sqlalchemy import and_, func, select

from geo.errors import GeoError
from webapp.auth.guard import principal
from webapp.auth.permissions import has_permission, require_permission
from webapp.cases import api, clock, difficult_analysis as analysis, difficult_service as svc, engine, pages
from webapp.cases.difficult_models import (ANSWERS, CATEGORIES, MARK_SOURCES, MARK_STATUSES, ROUND_STATUSES,
                                           RULE_KINDS, DifficultMark, DifficultRule, OwnershipAnswer,
                                           OwnershipRound)
from webapp.cases.models import Case
from webapp.cases.stages import STAGES
from webapp.cases.views import get_visible, list_query, visible
from webapp.db import get_db
from webapp.validation import json_body
from webapp import textsearch

RULE_FIELDS = {"name", "kind", "threshold", "class_codes", "type_code", "enabled", "sort", "remark", "version"}
LIST_PARAMS = {"q", "type", "status", "source", "page", "size"}
ANALYSIS_PARAMS = {"period", "from", "to", "type"}
MAX_TEXT = 500
_CLASS = re.compile(r"^[0-9]{2}([0-9]{2})?$")


def _only(allowed: set[str]) -> None:
    unknown = sorted(set(request.args) - allowed)
    if unknown:
        raise GeoError("parameter_unknown", f"未知参数: {', '.join(unknown)}", parameters=unknown)


def _int_arg(name: str, default: int, lo: int, hi: int) -> int:
    raw = request.args.get(name)
    if raw in (None, ""):
        return default
    if not re.fullmatch(r"\d+", raw) or not lo <= int(raw) <= hi:
        raise GeoError("parameter_invalid", f"{name} 应为 {lo} 到 {hi} 之间的整数", parameter=name)
    return int(raw)


def _text(body: dict, key: str, label: str, required: bool = False, max_len: int = MAX_TEXT) -> str | None:
    v = body.get(key)
    if v is None or (isinstance(v, str) and not v.strip()):
        if required:
            raise GeoError(f"{key}_required", f"请填写{label}", field=key)
        return None
    if not isinstance(v, str) or len(v.strip()) > max_len:
        raise GeoError(f"{key}_invalid", f"{label}应为不超过{max_len}字的文本", field=key)
    return v.strip()


def _id(body: dict, key: str, label: str) -> int:
    v = body.get(key)
    if not isinstance(v, int) or isinstance(v, bool) or v <= 0:
        raise GeoError(f"{key}_invalid", f"{label}应为正整数", field=key)
    return v


def _version(body: dict) -> int | None:
    v = body.get("version")
    if v is not None and (not isinstance(v, int) or isinstance(v, bool)):
        raise GeoError("version_invalid", "version 应为整数", field="version")
    return v


# ---------------------------------------------------------------- conditions (R18)

def rule_json(r: DifficultRule, tmap: dict) -> dict:
    return {"id": r.id, "name": r.name, "kind": r.kind, "kind_name": RULE_KINDS[r.kind],
            "threshold": float(r.threshold) if r.threshold is not None else None, "class_codes": list(r.class_codes),
            "type_code": r.type_code, "type_name": tmap.get(r.type_code, {}).get("name", r.type_code),
            "enabled": r.enabled, "sort": r.sort, "remark": r.remark, "version": r.version,
            "summary": describe(r)}


def describe(r: DifficultRule) -> str:
    n = float(r.threshold) if r.threshold is not None else None
    n_txt = f"{n:g}" if n is not None else ""
    return {"returns_depts": f"被 {n_txt} 个及以上不同部门申请回退", "reworks": f"核查不通过返工 {n_txt} 次及以上",
            "overdue_hours": f"处置环节超期超过 {n_txt} 个工作小时", "urged": f"被督办 {n_txt} 次及以上",
            "open_days": f"上报后超过 {n_txt} 天仍未结案",
            "classes": f"案件类别属于 {'、'.join(r.class_codes)}"}[r.kind]


def _rule_values(db, body: dict, rule: DifficultRule | None) -> dict:
    out = {}
    merged = {**({} if rule is None else {"kind": rule.kind, "threshold": rule.threshold,
                                          "class_codes": rule.class_codes}), **body}
    if "name" in body or rule is None:
        out["name"] = _text(body, "name", "条件名称", required=True, max_len=80)
    kind = merged.get("kind")
    if kind not in RULE_KINDS:
        raise GeoError("kind_invalid", "条件类型应为：" + "、".join(f"{k}（{v}）" for k, v in RULE_KINDS.items()),
                       field="kind")
    out["kind"] = kind
    if kind == "classes":
        codes = merged.get("class_codes")
        if not isinstance(codes, list) or not codes or not all(isinstance(c, str) and _CLASS.match(c) for c in codes) \
                or len(codes) > 50:
            raise GeoError("class_codes_invalid", "指定类别条件须给出 1–50 个 2 位或 4 位类别代码", field="class_codes")
        out["class_codes"], out["threshold"] = sorted(set(codes)), None
    else:
        n = merged.get("threshold")
        hi = 100000 if kind == "overdue_hours" else 3650 if kind == "open_days" else 100
        if not isinstance(n, (int, float)) or isinstance(n, bool) or not 0 < float(n) <= hi:
            raise GeoError("threshold_invalid", f"阈值 N 应为大于 0、不超过 {hi} 的数", field="threshold")
        if kind in ("returns_depts", "reworks", "urged") and float(n) != int(n):
            raise GeoError("threshold_invalid", "次数、部门数应为整数", field="threshold")
        out["threshold"], out["class_codes"] = n, []
    if "type_code" in body or rule is None:
        if body.get("type_code") not in svc.types(db):
            raise GeoError("type_invalid", "请选择有效的疑难案件类型", field="type_code")
        out["type_code"] = body["type_code"]
    for key, label in (("enabled", "启用"),):
        if key in body:
            if not isinstance(body[key], bool):
                raise GeoError("field_invalid", f"{label}应为 true 或 false", field=key)
            out[key] = body[key]
    if "sort" in body:
        if not isinstance(body["sort"], int) or isinstance(body["sort"], bool) or not -10000 <= body["sort"] <= 10000:
            raise GeoError("field_invalid", "顺序应为 -10000–10000 的整数", field="sort")
        out["sort"] = body["sort"]
    if "remark" in body:
        out["remark"] = _text(body, "remark", "备注", max_len=200)
    return out


@api.get("/difficult/rules")
@require_permission("case:config")
def difficult_rules_list():
    _only(set())
    db = get_db()
    tmap = svc.types(db)
    rows = db.scalars(select(DifficultRule).order_by(DifficultRule.sort, DifficultRule.id)).all()
    return jsonify({"items": [rule_json(r, tmap) for r in rows], "kinds": RULE_KINDS,
                    "types": {c: t["name"] for c, t in tmap.items()}})


@api.post("/difficult/rules")
@require_permission("case:config")
def difficult_rules_create():
    body = json_body(RULE_FIELDS)
    db = get_db()
    values = _rule_values(db, body, None)
    values.setdefault("sort", (db.scalar(select(func.max(DifficultRule.sort))) or 0) + 1)
    r = DifficultRule(**values, version=1)
    db.add(r)
    db.commit()
    return jsonify(rule_json(r, svc.types(db))), 201


def _rule(db, rule_id: int) -> DifficultRule:
    r = db.get(DifficultRule, rule_id)
    if r is None:
        raise GeoError("rule_not_found", "疑难案件条件不存在", status=404)
    return r


@api.put("/difficult/rules/<int:rule_id>")
@require_permission("case:config")
def difficult_rules_update(rule_id: int):
    body = json_body(RULE_FIELDS, {"version"})
    db = get_db()
    r = _rule(db, rule_id)
    if _version(body) != r.version:
        raise GeoError("version_conflict", "条件已被他人修改，请刷新后重试", status=409, current_version=r.version)
    for k, v in _rule_values(db, {k: v for k, v in body.items() if k != "version"}, r).items():
        setattr(r, k, v)
    r.version += 1
    db.commit()
    return jsonify(rule_json(r, svc.types(db)))


@api.delete("/difficult/rules/<int:rule_id>")
@require_permission("case:config")
def difficult_rules_delete(rule_id: int):
    db = get_db()
    db.delete(_rule(db, rule_id))
    db.commit()
    return "", 204


@api.get("/difficult/types")
@require_permission("case:view")
def difficult_types_list():
    db = get_db()
    return jsonify({"items": [{"code": c, **t, "category_name": CATEGORIES.get(t["category"])}
                              for c, t in svc.types(db).items()], "categories": CATEGORIES})


# ---------------------------------------------------------------- marking (R19)

def mark_json(db, m: DifficultMark, tmap: dict, names: dict) -> dict:
    rnd = db.scalar(select(OwnershipRound).where(OwnershipRound.mark_id == m.id)
                    .order_by(OwnershipRound.id.desc()).limit(1))
    out = {"id": m.id, "case_id": m.case_id, "type_code": m.type_code,
           "type_name": tmap.get(m.type_code, {}).get("name", m.type_code), "reason": m.reason,
           "source": m.source, "source_name": MARK_SOURCES[m.source], "rule_id": m.rule_id,
           "marked_by_name": m.marked_by_name, "marked_at": m.marked_at.isoformat(), "status": m.status,
           "status_name": MARK_STATUSES[m.status], "responsible_dept": m.responsible_dept,
           "responsible_dept_name": names.get(m.responsible_dept) if m.responsible_dept else None,
           "confirmed_at": m.confirmed_at.isoformat() if m.confirmed_at else None,
           "resolved_at": m.resolved_at.isoformat() if m.resolved_at else None, "resolution": m.resolution,
           "version": m.version, "round": round_json(db, rnd, names) if rnd else None}
    return out


def round_json(db, r: OwnershipRound, names: dict) -> dict:
    answers = db.scalars(select(OwnershipAnswer).where(OwnershipAnswer.round_id == r.id)
                         .order_by(OwnershipAnswer.id)).all()
    return {"id": r.id, "mark_id": r.mark_id, "case_id": r.case_id, "status": r.status,
            "status_name": ROUND_STATUSES[r.status], "deadline": r.deadline.isoformat(), "comment": r.comment,
            "opened_by_name": r.opened_by_name, "opened_at": r.opened_at.isoformat(),
            "overdue": r.status == "open" and r.deadline < engine.now(),
            "decided_dept": r.decided_dept, "decided_dept_name": names.get(r.decided_dept) if r.decided_dept else None,
            "decided_by_name": r.decided_by_name, "decided_at": r.decided_at.isoformat() if r.decided_at else None,
            "decision_comment": r.decision_comment, "version": r.version,
            "answers": [{"dept_code": a.dept_code, "dept_name": names.get(a.dept_code), "answer": a.answer,
                         "answer_name": ANSWERS.get(a.answer) if a.answer else "未答复", "reason": a.reason,
                         "answered_by_name": a.answered_by_name,
                         "answered_at": a.answered_at.isoformat() if a.answered_at else None} for a in answers]}


@api.get("/difficult")
@require_permission("case:view")
def difficult_list():
    """疑难案件列表 with quick search: the case search of /api/cases (q, difficult=1) joined to the marks."""
    _only(LIST_PARAMS)
    who = principal()
    db = get_db()
    q, terms = list_query(who, {"q": request.args.get("q", ""), "difficult": "1"})
    q = q.join(DifficultMark, and_(DifficultMark.case_id == Case.id, DifficultMark.status.in_(svc.LIVE)))
    tmap = svc.types(db)
    t = request.args.get("type")
    if t:
        if t in tmap:
            q = q.where(DifficultMark.type_code == t)
        elif t in CATEGORIES:
            q = q.where(DifficultMark.type_code.in_([c for c, v in tmap.items() if v["category"] == t]))
        else:
            raise GeoError("type_invalid", "未知的疑难案件类型", parameter="type")
    for key, allowed, col in (("status", MARK_STATUSES, DifficultMark.status),
                              ("source", MARK_SOURCES, DifficultMark.source)):
        v = request.args.get(key)
        if v:
            if v not in allowed or v == "cancelled":
                raise GeoError("parameter_invalid", f"{key} 取值无效", parameter=key)
            q = q.where(col == v)
    page, size = _int_arg("page", 1, 1, 100000), _int_arg("size", 20, 1, 200)
    total = db.scalar(select(func.count()).select_from(q.subquery()))
    rows = db.execute(q.add_columns(DifficultMark).order_by(DifficultMark.marked_at.desc(), DifficultMark.id.desc())
                      .offset((page - 1) * size).limit(size)).all()
    names = svc.dept_names(db)
    items = []
    for c, m in rows:
        items.append({"case": {"id": c.id, "case_no": c.case_no, "class_name": c.class_name, "kind": c.kind,
                               "description": c.description[:120],
                               "description_html": str(textsearch.snippet(c.description, terms)) if terms else None,
                               "address": c.address, "status": c.status, "stage": c.stage,
                               "stage_name": STAGES.get(c.stage or ""), "dept_code": c.dept_code,
                               "dept_name": names.get(c.dept_code) if c.dept_code else None,
                               "returns": c.returns, "reworks": c.reworks, "urged": c.urged,
                               "reported_at": c.reported_at.isoformat()},
                      "mark": mark_json(db, m, tmap, names)})
    return jsonify({"total": total, "page": page, "size": size, "items": items})


@api.post("/difficult/marks")
@require_permission("case:supervise")
def difficult_mark_create():
    body = json_body({"case_id", "type_code", "reason"}, {"case_id", "type_code"})
    db = get_db()
    who = principal()
    case_id = _id(body, "case_id", "案卷编号")
    reason = _text(body, "reason", "标记原因", required=True)
    get_visible(db, case_id, who)
    m = svc.mark(db, case_id, body["type_code"], reason, "manual", who)
    db.commit()
    return jsonify(mark_json(db, m, svc.types(db), svc.dept_names(db))), 201


@api.post("/difficult/marks/<int:mark_id>/unmark")
@require_permission("case:supervise")
def difficult_mark_cancel(mark_id: int):
    body = json_body({"comment", "version"})
    db = get_db()
    who = principal()
    comment = _text(body, "comment", "撤销原因", required=True)
    m = db.get(DifficultMark, mark_id)
    if m is None:
        raise GeoError("mark_not_found", "疑难案件标记不存在", status=404)
    get_visible(db, m.case_id, who)
    m = svc.unmark(db, mark_id, who, comment, _version(body))
    db.commit()
    return jsonify(mark_json(db, m, svc.types(db), svc.dept_names(db)))


@api.get("/difficult/evaluate/<int:case_id>")
@require_permission("case:view")
def difficult_mark_evaluate(case_id: int):
    """Which conditions the case meets now (without marking it)."""
    db = get_db()
    case = get_visible(db, case_id, principal())
    return jsonify({"case_id": case.id, "matches": [m.to_dict() for m in svc.evaluate(db, case)]})


@api.post("/difficult/sweep")
@require_permission("case:supervise")
def difficult_sweep():
    """Run the automatic marking now (a timer calls this; leaders may too)."""
    db = get_db()
    out = svc.sweep(db)
    db.commit()
    return jsonify(out)


# ---------------------------------------------------------------- ownership confirmation (R20)

def _deadline(raw) -> dt.datetime:
    if not isinstance(raw, str):
        raise GeoError("deadline_invalid", "请填写答复期限（日期时间）", field="deadline")
    try:
        t = dt.datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise GeoError("deadline_invalid", "答复期限应为日期时间，如 2026-12-05T17:00", field="deadline") from None
    if t.tzinfo is None:
        t = t.replace(tzinfo=clock.CST)
    if t <= engine.now():
        raise GeoError("deadline_invalid", "答复期限应晚于当前时间", field="deadline")
    if t > engine.now() + dt.timedelta(days=90):
        raise GeoError("deadline_invalid", "答复期限不能超过90天", field="deadline")
    return t


@api.post("/difficult/marks/<int:mark_id>/rounds")
@require_permission("case:supervise")
def difficult_round_open(mark_id: int):
    body = json_body({"dept_codes", "deadline", "comment"}, {"dept_codes", "deadline"})
    db = get_db()
    who = principal()
    m = db.get(DifficultMark, mark_id)
    if m is None:
        raise GeoError("mark_not_found", "疑难案件标记不存在", status=404)
    get_visible(db, m.case_id, who)
    codes = body["dept_codes"]
    names = svc.dept_names(db)
    if not isinstance(codes, list) or not 1 <= len(codes) <= 20 or len(set(map(str, codes))) != len(codes) \
            or not all(isinstance(c, str) and c in names for c in codes):
        raise GeoError("dept_codes_invalid", "请选择 1–20 个不重复的有效候选部门", field="dept_codes")
    r = svc.open_round(db, mark_id, codes, _deadline(body["deadline"]), _text(body, "comment", "确权说明"), who)
    db.commit()
    return jsonify(round_json(db, r, names)), 201


def _round_visible(db, round_id: int, who) -> OwnershipRound:
    r = db.get(OwnershipRound, round_id)
    if r is None:
        raise GeoError("round_not_found", "确权任务不存在", status=404)
    if has_permission(who, "case:supervise"):
        get_visible(db, r.case_id, who)
    return r


@api.get("/difficult/rounds/<int:round_id>")
@require_permission("case:view")
def difficult_round_detail(round_id: int):
    db = get_db()
    who = principal()
    r = _round_visible(db, round_id, who)
    allowed = svc.answerable_depts(db, who)
    mine = db.scalar(select(func.count()).select_from(OwnershipAnswer).where(
        OwnershipAnswer.round_id == r.id, True if allowed is None else OwnershipAnswer.dept_code.in_(allowed)))
    if not has_permission(who, "case:supervise") and not mine:
        raise GeoError("round_not_found", "确权任务不存在或未发给您的单位", status=404)
    return jsonify(round_json(db, r, svc.dept_names(db)))


@api.get("/difficult/ownership/mine")
@require_permission("case:handle")
def difficult_ownership_mine():
    """确权 requests for the caller's department(s): open ones first, then answered history."""
    _only({"status"})
    who = principal()
    db = get_db()
    allowed = svc.answerable_depts(db, who)
    status = request.args.get("status") or "open"
    if status not in ("open", "all"):
        raise GeoError("parameter_invalid", "status 应为 open 或 all", parameter="status")
    q = select(OwnershipAnswer, OwnershipRound, Case).join(OwnershipRound, OwnershipRound.id == OwnershipAnswer.round_id) \
        .join(Case, Case.id == OwnershipRound.case_id)
    if allowed is not None:
        q = q.where(OwnershipAnswer.dept_code.in_(allowed))
    if status == "open":
        q = q.where(OwnershipRound.status == "open")
    rows = db.execute(q.order_by(OwnershipRound.deadline, OwnershipAnswer.id).limit(500)).all()
    names = svc.dept_names(db)
    tmap = svc.types(db)
    items = []
    for a, r, c in rows:
        m = db.get(DifficultMark, r.mark_id)
        items.append({"round_id": r.id, "round_status": r.status, "round_status_name": ROUND_STATUSES[r.status],
                      "deadline": r.deadline.isoformat(), "overdue": r.status == "open" and r.deadline < engine.now(),
                      "comment": r.comment, "opened_by_name": r.opened_by_name, "opened_at": r.opened_at.isoformat(),
                      "dept_code": a.dept_code, "dept_name": names.get(a.dept_code), "answer": a.answer,
                      "answer_name": ANSWERS.get(a.answer) if a.answer else "未答复", "reason": a.reason,
                      "decided_dept_name": names.get(r.decided_dept) if r.decided_dept else None,
                      "case": {"id": c.id, "case_no": c.case_no, "class_name": c.class_name,
                               "description": c.description, "address": c.address,
                               "reported_at": c.reported_at.isoformat()},
                      "type_name": tmap.get(m.type_code, {}).get("name", m.type_code), "mark_reason": m.reason})
    return jsonify({"items": items, "total": len(items)})


@api.post("/difficult/rounds/<int:round_id>/answer")
@require_permission("case:handle")
def difficult_round_answer(round_id: int):
    body = json_body({"answer", "reason", "dept_code"}, {"answer"})
    db = get_db()
    who = principal()
    if body["answer"] not in ANSWERS:
        raise GeoError("answer_invalid", "答复应为 yes（属于本单位）或 no（不属于本单位）", field="answer")
    reason = _text(body, "reason", "理由", required=body["answer"] == "no")
    dept = body.get("dept_code")
    if dept is not None and not isinstance(dept, str):
        raise GeoError("dept_code_invalid", "dept_code 应为部门编码", field="dept_code")
    svc.answer(db, round_id, dept, body["answer"], reason, who)
    db.commit()
    return jsonify(round_json(db, db.get(OwnershipRound, round_id), svc.dept_names(db)))


@api.post("/difficult/rounds/<int:round_id>/decide")
@require_permission("case:supervise")
def difficult_round_decide(round_id: int):
    body = json_body({"dept_code", "comment", "version"}, {"dept_code"})
    db = get_db()
    who = principal()
    _round_visible(db, round_id, who)
    if not isinstance(body["dept_code"], str):
        raise GeoError("dept_unknown", "请选择有效的责任单位", field="dept_code")
    r = svc.decide(db, round_id, body["dept_code"], _text(body, "comment", "确权意见"), who, _version(body))
    db.commit()
    return jsonify(round_json(db, r, svc.dept_names(db)))


# ---------------------------------------------------------------- analysis (R22)

def _analysis_args():
    _only(ANALYSIS_PARAMS)
    return analysis.window(request.args.get("period"), request.args.get("from"), request.args.get("to"))


def _scope(who):
    """Marks of cases in the caller's data scope."""
    return DifficultMark.case_id.in_(select(Case.id).where(visible(who)))


@api.get("/difficult/analysis")
@require_permission("case:view")
def difficult_analysis_json():
    period, first, last = _analysis_args()
    db = get_db()
    return jsonify(analysis.analyse(db, period, first, last, request.args.get("type") or None,
                                    _scope(principal())))


@api.get("/difficult/analysis.xlsx")
@require_permission("case:view")
def difficult_analysis_xlsx():
    import io
    period, first, last = _analysis_args()
    db = get_db()
    result = analysis.analyse(db, period, first, last, request.args.get("type") or None, _scope(principal()),
                              items_limit=analysis.MAX_EXPORT)
    return send_file(io.BytesIO(analysis.workbook(result)), as_attachment=True,
                     download_name=f"疑难案件分析_{first:%Y%m%d}-{last:%Y%m%d}.xlsx",
                     mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


# ---------------------------------------------------------------- pages

def _refs(db) -> dict:
    tmap = svc.types(db)
    return {"types": [[c, t["name"], t["category"]] for c, t in tmap.items()],
            "categories": [[k, v] for k, v in CATEGORIES.items()],
            "statuses": [[k, v] for k, v in MARK_STATUSES.items() if k != "cancelled"],
            "sources": [[k, v] for k, v in MARK_SOURCES.items()],
            "kinds": [[k, v] for k, v in RULE_KINDS.items()],
            "periods": [[k, v] for k, v in analysis.PERIODS.items()],
            "depts": [[c, n] for c, n in sorted(svc.dept_names(db).items())]}


@pages.get("/difficult")
@require_permission("case:view")
def difficult_page():
    who = principal()
    return render_template("cases/difficult.html", refs=_refs(get_db()),
                           can_supervise=has_permission(who, "case:supervise"))


@pages.get("/difficult/analysis")
@require_permission("case:view")
def difficult_analysis_page():
    return render_template("cases/difficult_analysis.html", refs=_refs(get_db()))


@pages.get("/config/difficult-rules")
@require_permission("case:config")
def difficult_rules_page():
    return render_template("cases/difficult_rules.html", refs=_refs(get_db()))


@pages.get("/difficult/ownership")
@require_permission("case:handle")
def ownership_page():
    return render_template("cases/ownership.html", refs=_refs(get_db()))
