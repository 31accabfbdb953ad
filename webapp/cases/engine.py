"""Case transitions: one function per thing that can happen to a case, each
in one transaction that locks the case row, checks who may act, moves the
BPMN workflow, closes and opens work items with their deadlines, appends the
history and bumps the case version.

Two people acting on the same task: the second waits for the row lock, then
finds the task closed and gets 409 — exactly one succeeds. History sequence
numbers are assigned under the same lock, so they have no gaps."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from geo.errors import GeoError
from webapp.auth import scope
from webapp.auth.models import Department
from webapp.auth.permissions import has_permission
from webapp.cases import clock, flow
from webapp.cases.models import Case, CaseEvent, CaseTask
from webapp.cases.stages import STAGES

MAX_COMMENT = 1000
SYSTEM = "系统"


@dataclass
class Actor:
    """Who acts: a person (their Principal) or the system (rules, sensors)."""
    principal: object | None
    role: str | None = None

    @property
    def id(self):
        return getattr(self.principal, "id", None)

    @property
    def name(self):
        return getattr(self.principal, "display_name", None) or SYSTEM


def now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def lock_case(db: Session, case_id: int) -> Case:
    case = db.scalar(select(Case).where(Case.id == case_id).with_for_update())
    if case is None:
        raise GeoError("case_not_found", f"案卷 {case_id} 不存在", status=404)
    return case


def _next_seq(db: Session, case_id: int) -> int:
    return (db.scalar(select(func.max(CaseEvent.seq)).where(CaseEvent.case_id == case_id)) or 0) + 1


def add_event(db: Session, case: Case, action: str, actor: Actor, *, stage=None, to_stage=None, task=None,
              comment=None, data=None, deadline=None, on_time=None, at=None, seq=None) -> CaseEvent:
    ev = CaseEvent(case_id=case.id, seq=seq or _next_seq(db, case.id), at=at or now(), actor_id=actor.id,
                   actor_name=actor.name, role=actor.role, action=action, stage=stage, to_stage=to_stage,
                   task_id=task.id if task is not None else None, dept_code=case.dept_code, comment=comment,
                   data=data, deadline=deadline, on_time=on_time)
    db.add(ev)
    db.flush()
    return ev


def can_act(who, task: CaseTask, case: Case, db: Session) -> bool:
    """The task's role permission, and the task within the caller's data scope."""
    if who is None:
        return False
    if "*" in who.permissions:
        return True
    if not has_permission(who, flow.ROLE_PERMISSION[task.role]):
        return False
    if task.assignee_id is not None and task.assignee_id != who.id and who.data_scope != "all":
        return False
    return scope.allows(who, dept_code=task.dept_code or case.dept_code, region_code=case.community_code,
                        owner_id=case.reporter_id, db=db)


def _open_tasks(db: Session, case: Case, wf, at: dt.datetime, actor: Actor) -> list[CaseTask]:
    """Create work items for READY user tasks that have none yet."""
    have = {t.spiff_id for t in db.scalars(select(CaseTask).where(CaseTask.case_id == case.id,
                                                                   CaseTask.status == "open"))}
    created = []
    for r in flow.ready_tasks(wf):
        if r.spiff_id in have:
            continue
        task = CaseTask(case_id=case.id, spiff_id=r.spiff_id, stage=r.stage, name=r.name, role=r.role,
                        opened_at=at, version=1)
        if r.role == "dept_handler":
            task.dept_code = case.dept_code
        if r.stage == "handle":
            task.deadline, task.natural_time = case.handle_deadline, clock.is_natural(db, case, "handle")
            task.warn_at = clock.warn_before(db, case, "handle", at, case.handle_deadline)
        elif r.stage != "suspended":
            stage = flow.LIMIT_STAGE.get(r.stage, r.stage)
            if stage in STAGES:
                task.deadline, task.warn_at, task.natural_time = clock.stage_deadline(db, case, stage, at)
        db.add(task)
        created.append(task)
    db.flush()
    stages = [t.stage for t in db.scalars(select(CaseTask).where(CaseTask.case_id == case.id,
                                                                  CaseTask.status == "open"))]
    case.stage = stages[0] if stages else None
    return created


def start(db: Session, case: Case, actor: Actor, at: dt.datetime) -> None:
    """Start the workflow of a new (flushed) case and record the report."""
    rt = flow.runtime(db)
    wf = rt.start()
    case.process_key, case.process_version = rt.key, rt.version
    add_event(db, case, "report", actor, to_stage="accept", at=at, seq=1,
              data={"source": case.source, "class_code": case.class_code})
    _open_tasks(db, case, wf, at, actor)
    case.wf_state = rt.dump(wf)


def _validate(task: CaseTask, action: str, comment, data: dict, db: Session) -> dict:
    actions = flow.ACTIONS.get(task.stage, {})
    if action not in actions:
        allowed = "、".join(f"{k}（{v}）" for k, v in actions.items()) or "无"
        raise GeoError("action_invalid", f"“{task.name}”环节不能执行“{action}”，可执行：{allowed}", status=409)
    if comment is not None and (not isinstance(comment, str) or len(comment) > MAX_COMMENT):
        raise GeoError("comment_invalid", f"意见应为不超过{MAX_COMMENT}字的文本")
    if not isinstance(data, dict):
        raise GeoError("data_invalid", "data 应为 JSON 对象")
    needs_reason = {"cancel", "return", "extend", "suspend", "reject", "fail"}
    if action in needs_reason and not (comment or "").strip():
        raise GeoError("comment_required", f"“{actions[action]}”须填写原因")
    clean: dict = {}
    if action == "dispatch":
        allowed = {"dept_code"}
        dept = data.get("dept_code")
        if not isinstance(dept, str) or db.get(Department, dept) is None:
            raise GeoError("dept_unknown", "请选择有效的处置部门")
        clean["dept_code"] = dept
    elif action == "extend":
        allowed = {"hours"}
        hours = data.get("hours")
        if not isinstance(hours, (int, float)) or isinstance(hours, bool) or not 0 < hours <= 720:
            raise GeoError("hours_invalid", "延期时长应为 0 到 720 之间的工作小时数")
        clean["hours"] = float(hours)
    else:
        allowed = set()
    unknown = set(data) - allowed
    if unknown:
        raise GeoError("field_unknown", f"未知字段: {', '.join(sorted(unknown))}")
    return clean


def act(db: Session, case_id: int, task_id: int, action: str, who, *, comment=None, data=None,
        version: int | None = None, role: str | None = None, system: bool = False,
        at: dt.datetime | None = None) -> Case:
    """A person (or the system) completes one open task with a decision. `system`
    skips the permission check (rules, imports, the demo); `at` is for imports."""
    at = at or now()
    case = lock_case(db, case_id)
    task = db.get(CaseTask, task_id)
    if task is None or task.case_id != case.id:
        raise GeoError("task_not_found", f"案卷 {case.case_no} 没有任务 {task_id}", status=404)
    if task.status != "open":
        raise GeoError("task_closed", f"“{task.name}”任务已由他人处理（{task.done_at.astimezone(clock.CST):%m-%d %H:%M}），"
                                      "请刷新后查看", status=409)
    if version is not None and version != case.version:
        raise GeoError("version_conflict", f"案卷 {case.case_no} 已被他人更新，请刷新后重试", status=409,
                       current_version=case.version)
    if not system and not can_act(who, task, case, db):
        raise GeoError("task_forbidden", f"您不能办理此任务（“{task.name}”须由{ROLE_NAMES.get(task.role, task.role)}在"
                                         "其数据范围内办理）", status=403)
    clean = _validate(task, action, comment, data or {}, db)
    actor = Actor(who, role=role or task.role)
    rt = flow.runtime(db, case.process_version)
    wf = rt.load(case.wf_state)
    before_stage = task.stage
    # Side effects of the decision on the case, before the engine opens the next tasks.
    if action == "dispatch":
        case.dept_code = clean["dept_code"]
        case.handle_deadline, _, _ = clock.stage_deadline(db, case, "handle", at)
    elif task.stage == "approve_return" and action == "approve":
        case.returns += 1
        case.dept_code = None
    elif task.stage == "approve_extension" and action == "approve":
        hours = _requested_hours(db, case)
        case.handle_deadline = clock.extend(db, case, case.handle_deadline or at, hours)
        clean["hours"] = hours
    elif task.stage == "approve_suspension" and action == "approve":
        case.status, case.suspended_at = "suspended", at
    elif task.stage == "suspended" and action == "resume":
        case.handle_deadline = clock.resume(db, case, case.handle_deadline, case.suspended_at or at, at)
        case.status, case.suspended_at = "open", None
    elif task.stage == "check" and action == "fail":
        case.reworks += 1
    flow.complete(wf, task.spiff_id, action, {"last_comment": comment} if comment else None)
    on_time = None if task.deadline is None else at <= task.deadline
    task.status, task.done_at, task.done_by = "done", at, actor.id
    task.version += 1
    ended = flow.finished_path(wf)
    if ended == "end_closed":
        case.status, case.closed_at = "closed", at
    elif ended == "end_cancelled":
        case.status, case.closed_at = "cancelled", at
    created = _open_tasks(db, case, wf, at, actor)
    add_event(db, case, action, actor, stage=before_stage, to_stage=created[0].stage if created else None,
              task=task, comment=comment, data=clean or None, deadline=task.deadline, on_time=on_time, at=at)
    case.wf_state = rt.dump(wf)
    case.version += 1
    db.flush()
    return case


def _requested_hours(db: Session, case: Case) -> float:
    """The hours asked for in the latest extension request."""
    ev = db.scalar(select(CaseEvent).where(CaseEvent.case_id == case.id, CaseEvent.action == "extend")
                   .order_by(CaseEvent.seq.desc()).limit(1))
    if ev is None or not ev.data or "hours" not in ev.data:
        raise GeoError("extension_missing", "找不到延期申请", status=409)
    return float(ev.data["hours"])


def note(db: Session, case_id: int, action: str, who, comment: str | None, data: dict | None = None,
         version: int | None = None) -> Case:
    """An event beside the workflow: urging (督办), marking difficult, a comment."""
    case = lock_case(db, case_id)
    if version is not None and version != case.version:
        raise GeoError("version_conflict", f"案卷 {case.case_no} 已被他人更新，请刷新后重试", status=409,
                       current_version=case.version)
    if case.status in ("closed", "cancelled") and action == "urge":
        raise GeoError("case_finished", f"案卷 {case.case_no} 已{'结案' if case.status == 'closed' else '作废'}，不能督办",
                       status=409)
    if action == "urge":
        case.urged += 1
    add_event(db, case, action, Actor(who, role=None), stage=case.stage, comment=comment, data=data)
    case.version += 1
    db.flush()
    return case


ROLE_NAMES = {"acceptor": "受理员", "supervisor": "监督员", "shift_chief": "值班长", "dispatcher": "派遣员",
              "dept_handler": "专业部门"}


def open_task(db: Session, case_id: int, stage: str) -> CaseTask | None:
    return db.scalar(select(CaseTask).where(CaseTask.case_id == case_id, CaseTask.stage == stage,
                                            CaseTask.status == "open"))


