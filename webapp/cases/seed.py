"""Demo content for the case lifecycle: the standard process deployed (R92)
and demo cases reported over the last weeks and walked through the real
engine by the demo users to every stage, so desks, statistics and the big
screen show something real."""
from __future__ import annotations

import datetime as dt
import random
from pathlib import Path

from sqlalchemy import select, text

from webapp.admin import workflow_store
from webapp.cases import flow

STANDARD = Path(__file__).with_name("bpmn") / "city_case.bpmn"
DEMO_CASES = 120
# (kind, class code, description) — typical reports in a county town.
REPORTS = [
    ("event", "0102", "路边有暴露垃圾，散发异味"), ("event", "0103", "小区门口积存建筑渣土"),
    ("event", "0104", "道路不洁，落叶和纸屑较多"), ("event", "0201", "电线杆上张贴非法小广告"),
    ("event", "0304", "渣土车道路遗撒"), ("event", "0501", "无照经营游商占道卖水果"),
    ("event", "0504", "商户店外经营占用人行道"), ("event", "0505", "机动车乱停放堵塞消防通道"),
    ("event", "0506", "共享单车乱停放"), ("event", "0507", "人行道乱堆物堆料"),
    ("event", "0404", "下水道堵塞，路面积水"), ("component", "0101", "上水井盖破损，有安全隐患"),
    ("component", "0103", "雨水井盖缺失"), ("component", "0104", "雨水箅子堵塞"),
]
# How far each demo case goes: the stages passed, in order.
PATHS = [[], ["accept"], ["accept", "file"], ["accept", "file", "dispatch"],
         ["accept", "file", "dispatch", "handle"], ["accept", "file", "dispatch", "handle", "check"],
         ["accept", "file", "dispatch", "handle", "check", "close"],
         ["accept", "file", "dispatch", "handle", "check", "close"], ["cancel"]]
USER_OF_ROLE = {"acceptor": "acceptor", "shift_chief": "shift_chief", "dispatcher": "dispatcher",
                "supervisor": "supervisor", "dept_handler": "handler"}


def deploy_standard(db, log=print) -> None:
    if workflow_store.active_definition(db, flow.PROCESS_KEY) is None:
        defn = workflow_store.deploy(db, STANDARD.read_bytes(), "case", "system",
                                     remark="数字城管标准流程（GB/T 30428、CJJ/T 106）")
        log(f"process {defn.process_key} v{defn.version} deployed")


def seed_demo(db, log=print) -> None:
    deploy_standard(db, log)
    db.commit()
    if db.scalar(text('SELECT count(*) FROM cases."case"')):
        return
    from webapp.app import create_app
    app = create_app(database_url=db.get_bind().url.render_as_string(hide_password=False))
    with app.test_request_context():
        n = _demo_cases(app, log)
    log(f"demo cases: {n}")


def _demo_cases(app, log) -> int:
    from flask import g

    from webapp.auth.guard import Principal
    from webapp.auth.models import User
    from webapp.cases import engine, intake
    from webapp.db import get_db
    db = get_db()
    rnd = random.Random(411721)
    users = {u.username: Principal.of(u, "seed") for u in db.scalars(select(User))}
    if "supervisor" not in users:
        return 0
    points = db.execute(text(
        "SELECT ST_X(p), ST_Y(p) FROM (SELECT (ST_Dump(ST_GeneratePoints(geom, 3, 411721))).geom p "
        "FROM geo.region WHERE level = 'community') s")).all()
    now = engine.now()
    made = 0
    for i in range(DEMO_CASES):
        kind, code, desc = rnd.choice(REPORTS)
        lon, lat = rnd.choice(points)
        at = now - dt.timedelta(hours=rnd.uniform(2, 24 * 28))
        who = users["supervisor"]
        g.principal = who
        case = intake.create_case(db, who, {"source": "supervisor", "kind": kind, "class_code": code,
                                            "description": desc, "location": {"lon": lon, "lat": lat}}, [], at=at)
        t = at
        for step in rnd.choice(PATHS):
            task = engine.open_task(db, case.id, step if step != "cancel" else "accept")
            if task is None:
                continue
            t = t + dt.timedelta(minutes=rnd.uniform(5, 600 if step == "handle" else 50))
            if t > now:
                break
            actor = users.get(USER_OF_ROLE.get(task.role, ""), who)
            data = {"dept_code": _dept_for(db, case)} if task.stage == "dispatch" else None
            action = {"accept": "file", "file": "file", "dispatch": "dispatch", "handle": "done", "check": "pass",
                      "close": "close"}[task.stage] if step != "cancel" else "cancel"
            comment = {"cancel": "重复上报，不予受理", "done": "已处置完毕"}.get(action)
            engine.act(db, case.id, task.id, action, actor, comment=comment or ("已处置完毕" if action == "done" else None),
                       data=data, system=True, at=t)
        db.commit()
        made += 1
    return made


def _dept_for(db, case) -> str:
    from webapp.cases import automation, dispatch_rules
    d = dispatch_rules.dispatch_decision(db, case.kind, case.class_code, automation.place_of(case))
    return d.dept_code or (d.candidates[0].dept_code if d.candidates else "D002")


