"""What the system does by itself after a person acts (R29–R30): a new case
skips acceptance or filing when an auto-registration rule says so, and a
case waiting for dispatch goes to its department when its auto-registration
rule allows automatic dispatch and the responsibility list gives exactly one
answer. After a return (回退) the dispatcher chooses:
the automatic answer has just been refused by that department."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import object_session

from geo.models import RespGrid
from webapp.cases import dispatch_rules, engine
from webapp.cases.models import Case

RULE_STEPS = [("auto_accept", "accept", "file"), ("auto_file", "file", "file")]


def place_of(case: Case) -> dispatch_rules.Place:
    dept = None
    if case.resp_grid_code:
        dept = object_session(case).scalar(select(RespGrid.dept_code).where(RespGrid.code == case.resp_grid_code))
    return dispatch_rules.Place(case.street_code, case.community_code, case.grid_code, case.resp_grid_code, dept)


def after_report(db, case: Case) -> list[str]:
    """Apply the auto-registration rule to a new case; returns the explanations recorded."""
    notes = []
    decision = dispatch_rules.auto_actions(db, case.source, case.kind, case.class_code, place_of(case),
                                           at=case.reported_at)
    for action, stage, decide in RULE_STEPS:
        if action in decision.actions:
            task = engine.open_task(db, case.id, stage)
            if task is not None:
                engine.act(db, case.id, task.id, decide, None, comment=f"自动{task.name}：{decision.explanation}",
                           system=True, at=case.reported_at)
                notes.append(decision.explanation)
    return notes + auto_dispatch(db, case, at=case.reported_at)


def auto_dispatch(db, case: Case, at=None) -> list[str]:
    task = engine.open_task(db, case.id, "dispatch")
    if task is None or case.returns:
        return []
    place = place_of(case)
    # Automatic dispatch is allowed per auto-registration rule (立案规则 action auto_dispatch),
    # the same answer the rule test bench gives.
    rule = dispatch_rules.auto_actions(db, case.source, case.kind, case.class_code, place, at=case.reported_at)
    if "auto_dispatch" not in rule.actions:
        return []
    decision = dispatch_rules.dispatch_decision(db, case.kind, case.class_code, place)
    if decision.dept_code is None:
        return []
    engine.act(db, case.id, task.id, "dispatch", None, comment=decision.explanation,
               data={"dept_code": decision.dept_code}, system=True, at=at)
    return [decision.explanation]
