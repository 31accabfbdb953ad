"""Difficult cases: the conditions as SQL, the evaluator and the sweep, marking
and unmarking, and ownership confirmation (确权) ending in a dispatch.

Every change to a case goes through webapp.cases.engine: `note` for events
beside the workflow (mark, 确权 steps), `act(..., system=True)` for the
dispatch the decision leads to, so the case history shows each step."""
from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass

from sqlalchemy import and_, exists, func, or_, select, text
from sqlalchemy.orm import Session

from geo.errors import GeoError
from webapp.auth import scope
from webapp.auth.models import Department
from webapp.cases import engine, worktime
from webapp.cases.difficult_models import (ANSWERS, RULE_KINDS, DifficultMark, DifficultRule, OwnershipAnswer,
                                           OwnershipRound)
from webapp.cases.models import Case, CaseEvent, CaseTask

LIVE = ("pending", "confirmed", "resolved")
ACTIVE_CASE = ("open", "suspended")
SWEEP_BATCH = 2000
MAX_REASON = 500


@dataclass
class Match:
    rule_id: int
    rule_name: str
    type_code: str
    reason: str

    def to_dict(self) -> dict:
        return asdict(self)


# ---------------------------------------------------------------- dictionary

def types(db: Session) -> dict[str, dict]:
    """difficult_type dictionary: code → {name, category} (enabled items, in order)."""
    rows = db.execute(text("SELECT code, name, extra->>'category' FROM geo.dict_item "
                           "WHERE type_code = 'difficult_type' AND enabled ORDER BY sort, code")).all()
    return {c: {"name": n, "category": cat or "other"} for c, n, cat in rows}


def dept_names(db: Session) -> dict[str, str]:
    return dict(db.execute(select(Department.code, Department.name)).all())


# ---------------------------------------------------------------- conditions

def _return_depts():
    """Distinct departments that asked to return the case (回退申请 at 处置)."""
    return (select(func.count(func.distinct(CaseEvent.dept_code)))
            .where(CaseEvent.case_id == Case.id, CaseEvent.action == "return", CaseEvent.dept_code.isnot(None))
            .scalar_subquery())


def condition(rule: DifficultRule, now: dt.datetime):
    """The rule as a boolean over cases.case (the overdue rule is refined in Python:
    working hours need the calendar)."""
    n = float(rule.threshold) if rule.threshold is not None else None
    if rule.kind == "returns_depts":
        return _return_depts() >= n
    if rule.kind == "reworks":
        return Case.reworks >= n
    if rule.kind == "urged":
        return Case.urged >= n
    if rule.kind == "open_days":
        return Case.reported_at < now - dt.timedelta(days=n)
    if rule.kind == "classes":
        return or_(*[Case.class_code.like(c + "%") for c in rule.class_codes])
    if rule.kind == "overdue_hours":
        return exists().where(CaseTask.case_id == Case.id, CaseTask.stage == "handle", CaseTask.status == "open",
                              CaseTask.deadline < now)
    raise ValueError(rule.kind)


def _overdue_hours(db: Session, case_id: int, now: dt.datetime, cal) -> float:
    task = db.scalar(select(CaseTask).where(CaseTask.case_id == case_id, CaseTask.stage == "handle",
                                            CaseTask.status == "open").order_by(CaseTask.id.desc()).limit(1))
    if task is None or task.deadline is None or task.deadline >= now:
        return 0.0
    if task.natural_time:
        return (now - task.deadline).total_seconds() / 3600
    return worktime.working_between(task.deadline, now, cal)


def _reason(db: Session, rule: DifficultRule, case_id: int, now: dt.datetime, cal) -> str | None:
    """Why the rule matches this (already SQL-matched) case, or None if it does not."""
    case = db.get(Case, case_id)
    n = float(rule.threshold) if rule.threshold is not None else None
    label = f"符合条件“{rule.name}”"
    if rule.kind == "returns_depts":
        depts = db.scalars(select(CaseEvent.dept_code).where(CaseEvent.case_id == case_id,
                                                             CaseEvent.action == "return",
                                                             CaseEvent.dept_code.isnot(None)).distinct()).all()
        names = dept_names(db)
        return f"被 {len(depts)} 个部门回退（{'、'.join(names.get(d, d) for d in sorted(depts))}），{label}"
    if rule.kind == "reworks":
        return f"已返工 {case.reworks} 次，{label}"
    if rule.kind == "urged":
        return f"已督办 {case.urged} 次，{label}"
    if rule.kind == "open_days":
        days = (now - case.reported_at).days
        return f"上报已 {days} 天未结案，{label}"
    if rule.kind == "classes":
        return f"案件类别 {case.class_code} {case.class_name or ''}，{label}"
    if rule.kind == "overdue_hours":
        hours = _overdue_hours(db, case_id, now, cal)
        if hours <= n:
            return None
        return f"处置已超期 {hours:.1f} 个工作小时，{label}"
    return None


def _rules(db: Session) -> list[DifficultRule]:
    return db.scalars(select(DifficultRule).where(DifficultRule.enabled.is_(True))
                      .order_by(DifficultRule.sort, DifficultRule.id)).all()


def evaluate(db: Session, case: Case, now: dt.datetime | None = None) -> list[Match]:
    """Every enabled condition the case meets now, in rule order."""
    now = now or engine.now()
    cal = worktime.load_calendar(db)
    out = []
    for rule in _rules(db):
        if db.scalar(select(Case.id).where(Case.id == case.id, condition(rule, now))) is None:
            continue
        reason = _reason(db, rule, case.id, now, cal)
        if reason:
            out.append(Match(rule.id, rule.name, rule.type_code, reason))
    return out


def sweep(db: Session, now: dt.datetime | None = None) -> dict:
    """Mark open cases that meet a condition (first matching rule decides the
    type) and settle marks whose case has been closed or cancelled."""
    now = now or engine.now()
    cal = worktime.load_calendar(db)
    marked: list[str] = []
    for rule in _rules(db):
        live = exists().where(DifficultMark.case_id == Case.id, DifficultMark.status.in_(LIVE))
        ids = db.scalars(select(Case.id).where(Case.status.in_(ACTIVE_CASE), ~live, condition(rule, now))
                         .order_by(Case.id).limit(SWEEP_BATCH)).all()
        for case_id in ids:
            reason = _reason(db, rule, case_id, now, cal)
            if reason:
                m = mark(db, case_id, rule.type_code, reason, "auto", None, rule_id=rule.id, at=now)
                marked.append(db.scalar(select(Case.case_no).where(Case.id == m.case_id)))
    resolved = 0
    rows = db.execute(select(DifficultMark, Case).join(Case, Case.id == DifficultMark.case_id)
                      .where(DifficultMark.status.in_(("pending", "confirmed")),
                             Case.status.in_(("closed", "cancelled")))).all()
    for m, case in rows:
        m.status, m.resolved_at = "resolved", case.closed_at or now
        m.resolution = (m.resolution + "；" if m.resolution else "") + \
            ("案件已结案" if case.status == "closed" else "案件已作废")
        m.version += 1
        resolved += 1
    db.flush()
    return {"marked": len(marked), "case_nos": marked, "resolved": resolved, "at": now.isoformat()}


# ---------------------------------------------------------------- marking

def live_mark(db: Session, case_id: int) -> DifficultMark | None:
    return db.scalar(select(DifficultMark).where(DifficultMark.case_id == case_id,
                                                 DifficultMark.status.in_(LIVE)))


def mark(db: Session, case_id: int, type_code: str, reason: str, source: str, who, *, rule_id=None,
         at: dt.datetime | None = None) -> DifficultMark:
    case = engine.lock_case(db, case_id)
    if type_code not in types(db):
        raise GeoError("type_invalid", "请选择有效的疑难案件类型", field="type_code")
    if case.status not in ACTIVE_CASE:
        raise GeoError("case_finished", f"案卷 {case.case_no} 已结案或作废，不能标记为疑难案件", status=409)
    if live_mark(db, case_id) is not None:
        raise GeoError("already_difficult", f"案卷 {case.case_no} 已是疑难案件", status=409)
    m = DifficultMark(case_id=case_id, type_code=type_code, reason=reason, source=source, rule_id=rule_id,
                      marked_by=getattr(who, "id", None),
                      marked_by_name=getattr(who, "display_name", None) or engine.SYSTEM,
                      marked_at=at or engine.now(), status="pending", version=1)
    db.add(m)
    case.difficult = True
    db.flush()
    engine.note(db, case_id, "mark_difficult", who, reason,
                {"mark_id": m.id, "type_code": type_code, "type_name": types(db)[type_code]["name"],
                 "source": source, "rule_id": rule_id})
    return m


def unmark(db: Session, mark_id: int, who, comment: str, version: int | None = None) -> DifficultMark:
    m = db.get(DifficultMark, mark_id)
    if m is None or m.status not in LIVE:
        raise GeoError("mark_not_found", "疑难案件标记不存在或已撤销", status=404)
    engine.lock_case(db, m.case_id)
    if version is not None and version != m.version:
        raise GeoError("version_conflict", "该疑难案件已被他人更新，请刷新后重试", status=409, current_version=m.version)
    for r in db.scalars(select(OwnershipRound).where(OwnershipRound.mark_id == m.id,
                                                     OwnershipRound.status == "open")):
        r.status, r.version = "cancelled", r.version + 1
    m.status, m.cancelled_by, m.cancelled_at = "cancelled", getattr(who, "id", None), engine.now()
    m.version += 1
    db.get(Case, m.case_id).difficult = False
    db.flush()
    engine.note(db, m.case_id, "unmark_difficult", who, comment, {"mark_id": m.id})
    return m


# ---------------------------------------------------------------- ownership confirmation (确权)

def open_round(db: Session, mark_id: int, dept_codes: list[str], deadline: dt.datetime, comment: str | None,
               who) -> OwnershipRound:
    m = db.get(DifficultMark, mark_id)
    if m is None or m.status not in LIVE:
        raise GeoError("mark_not_found", "疑难案件标记不存在或已撤销", status=404)
    case = engine.lock_case(db, m.case_id)
    if m.status == "resolved" or case.status not in ACTIVE_CASE:
        raise GeoError("case_finished", f"案卷 {case.case_no} 已办结，不需要确权", status=409)
    if db.scalar(select(OwnershipRound.id).where(OwnershipRound.case_id == case.id,
                                                 OwnershipRound.status == "open")):
        raise GeoError("round_open", f"案卷 {case.case_no} 已有进行中的确权任务", status=409)
    names = dept_names(db)
    r = OwnershipRound(mark_id=m.id, case_id=case.id, status="open", deadline=deadline, comment=comment,
                       opened_by=who.id, opened_by_name=who.display_name, opened_at=engine.now(), version=1)
    db.add(r)
    db.flush()
    for code in dept_codes:
        db.add(OwnershipAnswer(round_id=r.id, dept_code=code, version=1))
    db.flush()
    engine.note(db, case.id, "ownership_open", who, comment,
                {"round_id": r.id, "dept_codes": dept_codes, "dept_names": [names[c] for c in dept_codes],
                 "deadline": deadline.isoformat()})
    return r


def answerable_depts(db: Session, who) -> list[str] | None:
    """Departments whose 确权 requests the caller answers (None: all)."""
    if "*" in who.permissions or who.data_scope == "all":
        return None
    if not who.dept_code:
        return []
    return list(db.scalars(scope.dept_subtree(who.dept_code)))


def answer(db: Session, round_id: int, dept_code: str | None, value: str, reason: str | None, who) -> OwnershipAnswer:
    r = db.get(OwnershipRound, round_id)
    if r is None:
        raise GeoError("round_not_found", "确权任务不存在", status=404)
    engine.lock_case(db, r.case_id)
    allowed = answerable_depts(db, who)
    rows = db.scalars(select(OwnershipAnswer).where(OwnershipAnswer.round_id == r.id)).all()
    mine = [a for a in rows if allowed is None or a.dept_code in allowed]
    if dept_code:
        mine = [a for a in mine if a.dept_code == dept_code]
    if not mine:
        raise GeoError("round_forbidden", "此确权任务未发给您的单位", status=403)
    if len(mine) > 1:
        raise GeoError("dept_required", "请指明以哪个候选单位的名义答复", field="dept_code")
    if r.status != "open":
        raise GeoError("round_closed", "确权任务已结束，不能再答复", status=409)
    a = mine[0]
    a.answer, a.reason = value, reason
    a.answered_by, a.answered_by_name, a.answered_at = who.id, who.display_name, engine.now()
    a.version += 1
    db.flush()
    engine.note(db, r.case_id, "ownership_answer", who, reason,
                {"round_id": r.id, "dept_code": a.dept_code, "dept_name": dept_names(db).get(a.dept_code),
                 "answer": value, "answer_name": ANSWERS[value]})
    return a


def decide(db: Session, round_id: int, dept_code: str, comment: str | None, who,
           version: int | None = None) -> OwnershipRound:
    """Record the responsible department and dispatch the case to it through the workflow."""
    r = db.get(OwnershipRound, round_id)
    if r is None:
        raise GeoError("round_not_found", "确权任务不存在", status=404)
    case = engine.lock_case(db, r.case_id)
    if r.status != "open":
        raise GeoError("round_closed", "确权任务已结束", status=409)
    if version is not None and version != r.version:
        raise GeoError("version_conflict", "确权任务已被他人更新，请刷新后重试", status=409, current_version=r.version)
    names = dept_names(db)
    if dept_code not in names:
        raise GeoError("dept_unknown", "请选择有效的责任单位", field="dept_code")
    open_stages = {t.stage: t for t in db.scalars(select(CaseTask).where(CaseTask.case_id == case.id,
                                                                          CaseTask.status == "open"))}
    if not ({"dispatch", "handle", "approve_return"} & set(open_stages)):
        raise GeoError("stage_not_dispatchable", f"案卷当前处于“{'、'.join(t.name for t in open_stages.values()) or '无'}”"
                                                 "环节，不能按确权结果派遣", status=409)
    at = engine.now()
    r.status, r.decided_dept, r.decided_by, r.decided_by_name = "decided", dept_code, who.id, who.display_name
    r.decided_at, r.decision_comment = at, comment
    r.version += 1
    m = db.get(DifficultMark, r.mark_id)
    m.status, m.responsible_dept, m.confirmed_at = "confirmed", dept_code, at
    m.resolution = f"确权：责任单位 {names[dept_code]}" + (f"（{comment}）" if comment else "")
    m.version += 1
    db.flush()
    engine.note(db, case.id, "ownership_decide", who, comment,
                {"round_id": r.id, "dept_code": dept_code, "dept_name": names[dept_code]})
    _dispatch_to(db, case.id, dept_code, f"疑难案件确权：{who.display_name}确定责任单位为{names[dept_code]}")
    return r


def _dispatch_to(db: Session, case_id: int, dept_code: str, why: str) -> None:
    """Bring the case to 处置 at `dept_code`: return it from another department
    first when needed. Each step is a system action in the history."""
    for _ in range(4):
        case = db.get(Case, case_id)
        task = {t.stage: t for t in db.scalars(select(CaseTask).where(CaseTask.case_id == case_id,
                                                                      CaseTask.status == "open"))}
        if "dispatch" in task:
            engine.act(db, case_id, task["dispatch"].id, "dispatch", None, data={"dept_code": dept_code},
                       comment=why, system=True)
            return
        if "approve_return" in task:
            engine.act(db, case_id, task["approve_return"].id, "approve", None, comment=why, system=True)
        elif "handle" in task:
            if case.dept_code == dept_code:
                return
            engine.act(db, case_id, task["handle"].id, "return", None, comment=f"{why}，原处置单位退回",
                       system=True)
        else:
            return
