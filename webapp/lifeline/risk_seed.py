"""Demo records of the risk model: the category tree with hazard types per
network, the responsibility list for every 责任网格, the R110 attributes and
an LEC assessment for each demo risk point (taken from the L/E/C the
generator wrote into its description, so the level stays consistent) and a
few pending submissions. Idempotent: run again, nothing changes."""
from __future__ import annotations

import datetime as dt
import re
import zlib

from geoalchemy2.shape import from_shape
from shapely.geometry import Point
from sqlalchemy import func, select, text

from geo.models import RespGrid, RiskPoint
from webapp.lifeline.risk_lec import compute, level_of
from webapp.lifeline.risk_models import (RiskAssessment, RiskCategory, RiskEvent, RiskHazard, RiskLevel, RiskResp,
                                         RiskSubmission)

ROOTS = [("gas", "燃气", "gas"), ("water", "供水", "water"), ("drainage", "排水", "drainage"),
         ("heating", "热力", "heating"), ("bridge", "桥梁", "bridge"), ("other", "其他", "other")]
# leaf category (code = the value in geo.risk_point.category), name, parent, hazards, accident types, dept
CATEGORIES = [
    ("燃气管网", "燃气管网", "gas", ["第三方施工破坏", "管道腐蚀泄漏", "相邻空间燃气聚集", "调压设施故障", "占压与安全间距不足"],
     ["火灾", "爆炸", "中毒和窒息"], "D014"),
    ("供水管网", "供水管网", "water", ["爆管", "漏损", "管道老化", "水质污染"], ["坍塌", "淹溺"], "D013"),
    ("排水管网", "排水管网", "drainage", ["内涝积水", "管道堵塞", "倒灌溢流", "有毒有害气体聚集"],
     ["淹溺", "中毒和窒息", "坍塌"], "D016"),
    ("热力管网", "热力管网", "heating", ["管道泄漏", "保温层老化", "超温超压"], ["灼烫", "容器爆炸"], "D015"),
    ("桥梁", "城市桥梁", "bridge", ["结构裂缝", "超载", "支座病害", "桥墩冲刷"], ["坍塌", "车辆伤害", "高处坠落"], "D011"),
    ("人员密集场所", "人员密集场所", "other", ["人员拥挤踩踏", "消防通道堵塞"], ["其他伤害", "火灾"], None),
    ("危险化学品", "危险化学品场所", "other", ["危险化学品泄漏", "火灾爆炸"], ["火灾", "爆炸", "中毒和窒息"], "D007"),
]
# Description keywords → hazard (first match first); the rest chosen deterministically.
KEYWORDS = [("腐蚀", "管道腐蚀泄漏"), ("调压", "调压设施故障"), ("人员密集", "第三方施工破坏"), ("门站", "相邻空间燃气聚集"),
            ("爆管", "爆管"), ("灰口铸铁", "漏损"), ("倒灌", "倒灌溢流"), ("积水", "内涝积水"), ("内涝", "内涝积水"),
            ("溢流", "管道堵塞"), ("保温", "保温层老化"), ("换热", "超温超压"), ("高温高压", "管道泄漏"),
            ("跨柳堰河", "桥墩冲刷"), ("立交", "超载"), ("成品油", "危险化学品泄漏"), ("天然气", "火灾爆炸"),
            ("人员密集", "人员拥挤踩踏")]
STREET_OFFICE = {"001": "D020", "002": "D021", "003": "D022"}
_LEC = re.compile(r"LEC评价：L=([0-9.]+)，E=([0-9.]+)，C=([0-9.]+)")


class _Importer:
    id = None
    display_name = "系统导入"


def _pick(code: str, items: list, k: int) -> list:
    h = zlib.crc32(code.encode())
    return [items[(h + i * 7) % len(items)] for i in range(k)] if items else []


def seed_demo(db, log=print) -> None:
    _categories(db)
    db.flush()
    n_resp = _resp_list(db)
    n_pts = _points(db)
    n_sub = _submissions(db)
    log(f"lifeline risk: {len(CATEGORIES)} categories, {n_resp} responsibility entries added, "
        f"{n_pts} risk points assessed, {n_sub} pending submissions added")


def _categories(db) -> None:
    for i, (code, name, net) in enumerate(ROOTS):
        if db.get(RiskCategory, code) is None:
            db.add(RiskCategory(code=code, name=name, network=net, sort=i * 10, enabled=True, version=1))
    db.flush()
    for i, (code, name, parent, hazards, _acc, _dept) in enumerate(CATEGORIES):
        if db.get(RiskCategory, code) is None:
            db.add(RiskCategory(code=code, name=name, parent_code=parent, sort=i * 10, enabled=True, version=1))
        db.flush()
        have = set(db.scalars(select(RiskHazard.name).where(RiskHazard.category_code == code)))
        for j, hz in enumerate(hazards):
            if hz not in have:
                db.add(RiskHazard(category_code=code, name=hz, sort=j * 10, enabled=True, version=1))


def _resp_list(db) -> int:
    """One entry per category and 责任网格 (the grid's 网格长 as the person on duty)."""
    if db.scalar(select(func.count()).select_from(RiskResp)):
        return 0
    grids = db.scalars(select(RespGrid).order_by(RespGrid.code)).all()
    n = 0
    for code, _name, _parent, _hz, _acc, dept in CATEGORIES:
        for g in grids:
            d = dept or STREET_OFFICE.get(g.community_code[6:9]) or g.dept_code
            if d is None:
                continue
            lead = next((p for p in (g.people or []) if p.get("post") == "网格长"), None) or \
                ((g.people or [None])[0] or {})
            db.add(RiskResp(category_code=code, hazard_id=None, resp_grid_code=g.code, dept_code=d,
                            person=lead.get("name"), phone=lead.get("phone"), version=1))
            n += 1
    db.flush()
    return n


def _points(db) -> int:
    levels = list(db.scalars(select(RiskLevel)))
    cats = {c[0]: c for c in CATEGORIES}
    done = set(db.scalars(select(RiskAssessment.risk_code).distinct()))
    now = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    # Community and responsibility grid of every point (the nearest for the few just outside the grids).
    where = dict((code, (comm, grid)) for code, comm, grid in db.execute(text("""
        SELECT p.code,
               (SELECT r.code FROM geo.region r WHERE r.level = 'community'
                 ORDER BY ST_Distance(r.geom, p.geom), r.code LIMIT 1),
               (SELECT g.code FROM geo.resp_grid g ORDER BY ST_Distance(g.geom, p.geom), g.code LIMIT 1)
          FROM geo.risk_point p""")))
    names = dict(db.execute(text("SELECT code, name FROM geo.region WHERE level <> 'county'")).all())
    n = 0
    for rp in db.scalars(select(RiskPoint).where(RiskPoint.source == "import").order_by(RiskPoint.code)):
        if rp.code in done:
            continue
        m = _LEC.search(rp.description or "")
        cat = cats.get(rp.category)
        if m is None or cat is None:
            continue
        L, E, C, D = compute(*m.groups())
        comm, grid = where.get(rp.code, (None, None))
        hazards = [hz for kw, hz in KEYWORDS if kw in (rp.description or "") + rp.name and hz in cat[3]]
        hazards = list(dict.fromkeys(hazards + _pick(rp.code, cat[3], 1)))[:2]
        rp.hazards = hazards
        rp.accident_types = cat[4][:2] if zlib.crc32(rp.code.encode()) % 2 else cat[4][:1]
        rp.risk_object = rp.name
        rp.risk_source = (rp.description or "").split("。")[0][:200] or None
        rp.region_code = comm
        if comm:
            rp.location = f"{names.get(comm[:9], '')}{names.get(comm, '')}"
        resp = db.scalar(select(RiskResp).where(RiskResp.category_code == rp.category,
                                                RiskResp.resp_grid_code == grid)) if grid else None
        if resp is not None:
            rp.resp_person, rp.resp_phone = resp.person, resp.phone
            rp.dept_code = rp.dept_code or resp.dept_code
        at = now - dt.timedelta(days=zlib.crc32(rp.code.encode()) % 90 + 1)
        lv = level_of(D, levels)
        db.add(RiskAssessment(risk_code=rp.code, l=L, e=E, c=C, d=D, level=lv, note="初始评估（数据导入）",
                              assessed_by=None, assessed_by_name="系统导入", assessed_at=at))
        rp.lec_l, rp.lec_e, rp.lec_c, rp.lec_d, rp.level, rp.assessed_at = L, E, C, D, lv, at
        rp.reviewed_by_name, rp.reviewed_at, rp.created_by_name = "系统导入", at, "系统导入"
        db.add(RiskEvent(risk_code=rp.code, action="register", actor_name="系统导入", note="普查数据导入", at=at))
        n += 1
    db.flush()
    return n


# name, category, hazards, accident types, L, E, C, offset from a demo point (degrees), by user, source
PENDING = [("人民路燃气阀门井异味点", "燃气管网", ["相邻空间燃气聚集"], ["爆炸", "中毒和窒息"], 3, 6, 15, "monitor", "mobile"),
           ("西平大道下穿通道积水点", "排水管网", ["内涝积水"], ["淹溺"], 3, 3, 7, "supervisor", "mobile"),
           ("老城区供水主管渗漏点", "供水管网", ["漏损", "管道老化"], ["坍塌"], 1, 6, 7, "supervisor", "desk")]


def _submissions(db) -> int:
    if db.scalar(select(func.count()).select_from(RiskSubmission).where(RiskSubmission.data["demo"].as_boolean())):
        return 0
    from webapp.auth.models import User
    levels = list(db.scalars(select(RiskLevel)))
    anchors = {cat: db.scalar(select(RiskPoint).where(RiskPoint.category == cat).order_by(RiskPoint.code))
               for cat in ("燃气管网", "排水管网", "供水管网")}
    n = 0
    for i, (name, cat, hz, acc, L, E, C, user, source) in enumerate(PENDING):
        a = anchors.get(cat)
        u = db.scalar(select(User).where(User.username == user))
        if a is None or u is None:
            continue
        pt = db.scalar(text("SELECT ST_AsText(ST_Translate(geom, 0.0006, 0.0004)) FROM geo.risk_point "
                            "WHERE code = :c"), {"c": a.code})
        x, y = map(float, pt[6:-1].split())
        _L, _E, _C, D = compute(L, E, C)
        data = {"name": name, "category": cat, "hazards": hz, "accident_types": acc, "risk_object": name,
                "risk_source": f"{hz[0]}（巡查发现）", "location": a.location, "description": "巡查时发现，请审核入库",
                "dept_code": a.dept_code, "resp_person": a.resp_person, "resp_phone": a.resp_phone, "photos": [],
                "l": float(L), "e": float(E), "c": float(C), "d": float(D), "level": level_of(D, levels),
                "note": "现场初判", "region_code": a.region_code, "demo": True}
        at = dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=3 * (i + 1))
        s = RiskSubmission(status="pending", source=source, data=data, geom=from_shape(Point(x, y), srid=4490),
                           submitted_by=u.id, submitted_by_name=u.display_name, submitted_at=at, version=1)
        db.add(s)
        db.flush()
        db.add(RiskEvent(submission_id=s.id, action="submit", actor_id=u.id, actor_name=u.display_name,
                         note=f"{'移动端' if source == 'mobile' else '桌面端'}采集上报“{name}”", at=at))
        n += 1
    return n
