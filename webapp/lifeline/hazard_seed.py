"""Demo records for hazards and inspection (idempotent): the `hazard` BPMN
deployed, the monitor (周值守) and handler (刘处置) registered as inspectors,
three plans (point / line / area), a week of synthetic GPS tracks with
records, problems reported on them and hazards in every ledger state, two of
them 挂牌督办. Every workflow step goes through hazard_service, as a user's would."""
from __future__ import annotations

import datetime as dt
import io
import random
import struct
import zlib

import numpy as np
import shapely
from geoalchemy2.shape import to_shape
from sqlalchemy import select, text

from geo.geocode import county_outline
from geo.models import RiskPoint
from webapp.auth.guard import Principal
from webapp.auth.models import User
from webapp.lifeline import hazard_flow as flow
from webapp.lifeline import hazard_service as svc
from webapp.lifeline import inspection_service as isvc
from webapp.lifeline.inspection_models import InspectionPlan, InspectionRecord, Inspector

TZ = dt.timezone(dt.timedelta(hours=8))


def _png(rgb=(200, 80, 40), size=24) -> bytes:
    """A small solid-colour PNG (a stand-in site photo), made without extra libraries."""
    raw = b"".join(b"\x00" + bytes(rgb) * size for _ in range(size))

    def chunk(tag, data):
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)) +
            chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


class _Photo:
    """Stores demo photos through webapp.uploads (it needs an app context: make a minimal one)."""

    def __init__(self, db):
        from flask import Flask, has_app_context
        from geo.settings import get_settings
        self.ctx = None
        if not has_app_context():
            app = Flask("hazard_seed")
            app.extensions["cityops.settings"] = get_settings()
            app.extensions["cityops.engine"] = db.get_bind()
            self.ctx = app.app_context()

    def files(self, n=1, rgb=(200, 80, 40)):
        from werkzeug.datastructures import FileStorage
        return [FileStorage(io.BytesIO(_png(rgb)), filename=f"现场{i + 1}.png", content_type="image/png")
                for i in range(n)]

    def __enter__(self):
        if self.ctx:
            self.ctx.push()
        return self

    def __exit__(self, *exc):
        if self.ctx:
            self.ctx.pop()


def _walk(rng, county, start, n, step_m=35.0):
    """A random walk of n points from `start` (lon, lat), ~step_m apart, kept inside the county."""
    xs, ys = [start[0]], [start[1]]
    heading = rng.uniform(0, 2 * np.pi)
    for _ in range(n - 1):
        for _try in range(8):
            heading += rng.gauss(0, 0.5)
            d = step_m * rng.uniform(0.6, 1.2)
            nx = xs[-1] + d * np.cos(heading) / (111320 * np.cos(np.radians(ys[-1])))
            ny = ys[-1] + d * np.sin(heading) / 110540
            if shapely.contains_xy(county, nx, ny):
                break
            heading += np.pi / 2
        else:
            nx, ny = xs[-1], ys[-1]
        xs.append(nx)
        ys.append(ny)
    return np.array(xs), np.array(ys)


def seed(db, log=print) -> None:
    d = flow.deploy_default(db)
    if d is not None:
        log(f"workflow definition hazard v{d.version} deployed")
    users = {u.username: u for u in db.scalars(select(User).where(User.username.in_(("monitor", "handler", "leader"))))}
    if "monitor" not in users or "handler" not in users:
        log("hazards: demo users monitor/handler missing, skipped")
        return
    for name in ("monitor", "handler"):
        if db.get(Inspector, users[name].id) is None:
            db.add(Inspector(user_id=users[name].id, phone="0396-6221" + str(100 + users[name].id)[-3:]))
    db.flush()
    if db.scalar(select(InspectionRecord.id).limit(1)) is not None:
        return
    who = {k: Principal.of(u, "system") for k, u in users.items()}
    rng = random.Random(20261204)
    county = county_outline(db.get_bind())
    points = list(db.scalars(select(RiskPoint).order_by(RiskPoint.code).limit(40)))
    today = dt.datetime.now(TZ).date()
    people = [users["monitor"].id, users["handler"].id]
    # Three plans: risk points, pipes, one community.
    pipes = list(db.scalars(text("SELECT code FROM geo.pipe WHERE network = 'gas' ORDER BY code LIMIT 8")))
    region = db.scalar(text("SELECT code FROM geo.region WHERE level = 'community' ORDER BY code LIMIT 1"))
    from webapp.lifeline.inspection import _target_geom
    from geoalchemy2.shape import from_shape
    plans = []
    for name, kind, targets, cat in (
            ("燃气风险点日常巡查", "point", {"risk_points": [p.code for p in points[:8]]}, points[0].category if points else None),
            ("燃气主干管线巡线", "line", {"pipes": pipes}, None),
            ("社区供排水设施片区巡查", "area", {"regions": [region]}, None)):
        if not targets[next(iter(targets))] or not all(targets[next(iter(targets))]):
            continue
        p = InspectionPlan(name=name, kind=kind, category_code=cat, dept_code=users["monitor"].dept_code,
                           people=people, frequency="daily" if kind != "area" else "weekly", times=1,
                           valid_from=today - dt.timedelta(days=30), valid_to=today + dt.timedelta(days=335),
                           targets=targets, geom=from_shape(_target_geom(db, kind, targets), srid=4490),
                           note="演示数据")
        db.add(p)
        plans.append(p)
    db.flush()
    hazards = []
    with _Photo(db) as photo:
        for day in range(7, 0, -1):
            date = today - dt.timedelta(days=day)
            for k, name in enumerate(("monitor", "handler")):
                start = dt.datetime.combine(date, dt.time(9 + 5 * k, rng.randint(0, 30)), TZ)
                rp = points[rng.randrange(len(points))] if points else None
                g = to_shape(rp.geom) if rp else county.representative_point()
                n = rng.randint(80, 140)
                xs, ys = _walk(rng, county, (g.x, g.y), n)
                ts = [start + dt.timedelta(seconds=30 * i) for i in range(n)]
                rec = InspectionRecord(user_id=users[name].id, plan_id=plans[(day + k) % len(plans)].id if plans else None,
                                       started_at=start, ended_at=ts[-1] + dt.timedelta(minutes=2),
                                       site_watch=rng.randint(0, 3), note="演示巡查")
                db.add(rec)
                db.flush()
                isvc.store_points(db, rec.id, ts, xs, ys, [rng.uniform(3, 15) for _ in ts])
                if (day + k) % 3 == 0 or day == 1:
                    i = rng.randrange(n)
                    f = svc.clean_new(db, {"title": rng.choice(["燃气管道标志桩缺失", "井盖破损", "管线上方违规施工",
                                                                 "阀门井积水", "供水管道渗漏", "雨水口堵塞"]),
                                           "description": "巡检发现，现场拍照上报", "level": rng.choice([2, 3, 3, 4]),
                                           "lon": float(xs[i]), "lat": float(ys[i]), "crs": "EPSG:4490",
                                           "risk_code": None})
                    h = svc.create(db, who[name], f, source="inspection", photos=[], record_id=rec.id,
                                   found_at=ts[i])
                    h.photos = svc.store_photos(photo.files(1))
                    hazards.append(h)
        db.flush()
        # Hazards in every ledger state: drive the workflow as the users would.
        mon, han = who["monitor"], who["handler"]
        dept = users["handler"].dept_code
        deadline = (today + dt.timedelta(days=10)).isoformat()

        def step(h, w, task, decision, comment="按要求办理", files=()):
            return svc.act(db, w, h.id, {"task": task, "decision": decision, "comment": comment, "version": h.version,
                                         **({"dept_code": dept, "deadline": deadline} if task == "dispatch"
                                            and decision == "dispatch" else {})}, list(files))
        for i, h in enumerate(hazards):
            stage = i % 6  # 0 pending, 1 rectifying, 2 checking, 3 rectified, 4 cancelled, 5 rectified after a fail
            if stage == 0:
                continue
            if stage == 4:
                step(h, mon, "dispatch", "cancel", "现场核实为误报")
                continue
            step(h, mon, "dispatch", "dispatch", "请责任单位限期整改")
            if stage == 1:
                continue
            step(h, han, "handle", "done", "已安排人员现场处置")
            step(h, han, "feedback", "done", "处置完毕，附整改后照片", photo.files(1, (60, 160, 80)))
            if stage == 2:
                continue
            if stage == 5:
                step(h, mon, "check", "fail", "整改不到位，请重新处置")
                step(h, han, "handle", "done", "已重新处置")
                step(h, han, "feedback", "done", "复查整改完毕", photo.files(1, (60, 160, 80)))
            step(h, mon, "check", "pass", "核查通过")
        open_ones = [h for h in hazards if h.status in svc.OPEN_STATUSES]
        for h in open_ones[:2]:
            svc.set_plan(db, mon, h.id, {"measures": "设置警示标志，更换破损设施，加强日常巡查", "funds": 2.5,
                                         "person": "刘处置", "phone": "0396-6221010", "deadline": deadline,
                                         "version": h.version})
            if "leader" in who:
                svc.supervise(db, who["leader"], h.id, {"level": "county", "deadline": deadline,
                                                        "note": "隐患长期未整改，县级挂牌督办", "version": h.version}, True)
    db.flush()
    log(f"hazards: {len(plans)} inspection plans, {db.scalar(text('SELECT count(*) FROM lifeline.inspection_record'))} "
        f"records, {len(hazards)} hazards")
