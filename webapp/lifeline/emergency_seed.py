"""Xiping demo emergency resources (R117): teams based at their departments,
people, experts, materials at storage places, and a few regulations and plans
with generated text files stored the way webapp.uploads stores them
(content-addressed under var/uploads/document/). Idempotent per table (a demo
reset truncates the department-linked tables only)."""
from __future__ import annotations

import datetime as dt
import hashlib

from sqlalchemy import text

from geo.settings import get_settings
from webapp.lifeline.emergency_models import (EmergencyDocument, EmergencyExpert, EmergencyMaterial,
                                              EmergencyPerson, EmergencyTeam)

# name, department, leader, phone, members, specialty, base (POI name it sits beside), offset (m east, m north)
TEAMS = [
    ("燃气抢修队", "D014", "王建军", "0396-6221119", 18, "gas", "西平县燃气公司", (40, -30)),
    ("天然气门站应急班", "D014", "李志强", "0396-6228866", 8, "gas", "西平县天然气门站", (-60, 40)),
    ("供水抢修队", "D013", "赵卫东", "0396-6222345", 16, "water", "西平县自来水公司", (35, 35)),
    ("排水防汛队", "D016", "孙国庆", "0396-6236110", 24, "drainage", "西平县市政排水管理所", (-40, 30)),
    ("热力抢修队", "D015", "周海波", "0396-6239988", 12, "heating", "西平县热力公司", (30, -40)),
    ("桥梁养护队", "D011", "吴长江", "0396-6225566", 10, "bridge", "西平县城市管理局市政设施管理所", (-35, -35)),
    ("消防救援大队", "D007", "郑国栋", "119", 45, "fire", "西平县应急管理局", (120, 80)),
    ("电力抢修队", "D017", "陈光明", "95598", 20, "power", "国网西平县供电公司", (40, 40)),
    ("综合应急救援队", "D007", "刘振华", "0396-6220110", 30, "general", "西平县应急管理局", (-50, -60)),
]
PEOPLE = {  # team → [(name, role, phone, skills)]
    "燃气抢修队": [("王建军", "队长", "13803961101", "燃气管道带压封堵"), ("张磊", "副队长", "13803961102", "泄漏检测、动火作业"),
                ("马超", "抢修工", "13803961103", "PE管热熔焊接")],
    "供水抢修队": [("赵卫东", "队长", "13903962201", "管道抢修调度"), ("何勇", "抢修工", "13903962202", "球墨铸铁管接口修复"),
                ("冯涛", "阀门操作员", "13903962203", "关阀停水、管网调度")],
    "排水防汛队": [("孙国庆", "队长", "13703963301", "城市内涝处置"), ("高峰", "泵车操作员", "13703963302", "移动泵车、管道疏通")],
    "热力抢修队": [("周海波", "队长", "13603964401", "热力管网抢修"), ("杨帆", "焊工", "13603964402", "压力管道焊接")],
    "桥梁养护队": [("吴长江", "队长", "13503965501", "桥梁病害检查"), ("许亮", "技术员", "13503965502", "结构监测数据分析")],
    "消防救援大队": [("郑国栋", "大队长", "13403966601", "综合救援指挥"), ("韩冰", "战斗员", "13403966602", "有限空间救援")],
}
# name, type, category, quantity, unit, storage place (POI), offset, department, keeper, phone, expiry (days from today or None)
MATERIALS = [
    ("防汛沙袋", "material", "flood", 5000, "条", "西平县市政排水管理所", (-60, -20), "D016", "孙国庆", "13703963301", None),
    ("编织袋", "material", "flood", 8000, "条", "西平县水利局", (30, 20), "D006", "蒋红", "13303967701", None),
    ("移动抽水泵", "equipment", "flood", 12, "台", "西平县市政排水管理所", (-60, -20), "D016", "高峰", "13703963302", None),
    ("大流量排水抢险车", "equipment", "flood", 2, "辆", "西平县市政排水管理所", (-70, 10), "D016", "高峰", "13703963302", None),
    ("柴油发电机（50kW）", "equipment", "power", 6, "台", "国网西平县供电公司", (50, -30), "D017", "陈光明", "95598", None),
    ("移动照明灯塔", "equipment", "power", 8, "套", "西平县应急管理局", (90, 60), "D007", "刘振华", "0396-6220110", None),
    ("便携式燃气检测仪", "equipment", "detection", 20, "台", "西平县燃气公司", (50, -40), "D014", "张磊", "13803961102", 540),
    ("管道带压封堵器材", "equipment", "gas", 4, "套", "西平县燃气公司", (50, -40), "D014", "马超", "13803961103", None),
    ("防爆工具组", "equipment", "gas", 6, "套", "西平县天然气门站", (-50, 50), "D014", "李志强", "0396-6228866", None),
    ("管道抢修节（DN100–DN600）", "material", "water", 60, "个", "西平县自来水公司", (40, 45), "D013", "何勇", "13903962202", None),
    ("应急供水车", "equipment", "water", 3, "辆", "西平县自来水公司", (45, 30), "D013", "冯涛", "13903962203", None),
    ("正压式空气呼吸器", "equipment", "protection", 30, "具", "西平县应急管理局", (110, 70), "D007", "韩冰", "13403966602", 900),
    ("警戒带与锥桶", "material", "traffic", 400, "套", "西平县公安局交通管理大队", (25, 25), "D008", "宋军", "13203968801", None),
    ("救生衣", "material", "flood", 200, "件", "西平县水利局", (30, 20), "D006", "蒋红", "13303967701", 1200),
    ("急救药品箱", "material", "medical", 50, "箱", "西平县人民医院", (30, -30), "D007", "刘振华", "0396-6220110", 365),
    ("帐篷", "material", "living", 60, "顶", "西平县应急管理局", (-40, -70), "D007", "刘振华", "0396-6220110", None),
]
# name, industry, title, org (POI name or free text), phone, speciality
EXPERTS = [
    ("钱立新", "gas", "高级工程师", "西平县燃气公司", "13803969001", "城镇燃气输配与泄漏处置"),
    ("沈佳", "water", "高级工程师", "西平县自来水公司", "13903969002", "供水管网水力计算与调度"),
    ("韦东升", "drainage", "正高级工程师", "西平县市政排水管理所", "13703969003", "城市内涝防治"),
    ("石磊", "heating", "高级工程师", "西平县热力公司", "13603969004", "热网运行与事故处置"),
    ("贺建华", "bridge", "教授级高工", "西平县城市管理局市政设施管理所", "13503969005", "桥梁结构检测与加固"),
    ("邵敏", "structure", "高级工程师", "西平县住房和城乡建设局", "13403969006", "房屋安全鉴定"),
    ("汤勇", "fire", "高级专业技术职务", "西平县应急管理局", "13303969007", "火灾扑救与危化品事故救援"),
    ("黎娟", "medical", "主任医师", "西平县人民医院", "13203969008", "急诊医学、批量伤员救治"),
    ("尹浩", "chemical", "高级工程师", "西平县应急管理局", "13103969009", "危险化学品安全"),
]
# kind, category, title, doc_no, issuer, issued_on, summary
DOCUMENTS = [
    ("regulation", "law", "中华人民共和国突发事件应对法", "主席令第25号", "全国人民代表大会常务委员会", "2024-06-28",
     "规范突发事件的预防与应急准备、监测与预警、应急处置与救援、事后恢复与重建等活动。"),
    ("regulation", "admin_reg", "城镇燃气管理条例", "国务院令第583号", "国务院", "2010-11-19",
     "城镇燃气发展规划与应急保障、燃气经营与服务、燃气使用、燃气设施保护、燃气安全事故预防与处理。"),
    ("regulation", "admin_reg", "城镇排水与污水处理条例", "国务院令第641号", "国务院", "2013-10-02",
     "城镇排水与污水处理的规划、设施建设、排水、污水处理、设施维护与保护。"),
    ("regulation", "standard", "城镇供水管网运行、维护及安全技术规程", "CJJ 207-2013", "住房和城乡建设部", "2013-11-08",
     "供水管网运行调度、维护、抢修与安全管理的技术要求。"),
    ("plan", "general", "西平县突发事件总体应急预案", "西政〔2024〕12号", "西平县人民政府", "2024-03-15",
     "全县突发事件应对的组织体系、运行机制、应急保障和监督管理。"),
    ("plan", "special", "西平县城镇燃气事故应急预案", "西政办〔2024〕31号", "西平县人民政府办公室", "2024-05-20",
     "燃气泄漏、火灾、爆炸事故的分级响应、关阀断气、警戒疏散与抢修恢复。"),
    ("plan", "special", "西平县城市防汛排涝应急预案", "西政办〔2025〕8号", "西平县人民政府办公室", "2025-04-10",
     "城区内涝的预警、排涝力量调度、低洼点位值守与交通管制。"),
    ("plan", "department", "西平县自来水公司爆管抢修应急预案", "西水司〔2025〕5号", "西平县自来水公司", "2025-02-18",
     "供水管道爆管的关阀隔离、停水通知、抢修作业和恢复供水。"),
]


def _at(db, poi: str, off: tuple[float, float]) -> tuple[float, float]:
    row = db.execute(text("""
        SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_Transform(ST_Translate(ST_Transform(geom, 4547), :dx, :dy), 4490) AS p
          FROM geo.poi WHERE name = :n ORDER BY code LIMIT 1) q"""), {"n": poi, "dx": off[0], "dy": off[1]}).first()
    if row is None:  # the county seat's government as a fallback
        row = db.execute(text("SELECT ST_X(geom), ST_Y(geom) FROM geo.poi WHERE category = '政府机关' "
                              "ORDER BY code LIMIT 1")).first()
    return row[0], row[1]


def _pt(xy) -> str:
    return f"SRID=4490;POINT({xy[0]} {xy[1]})"


def _store(content: bytes, ext: str) -> tuple[str, int]:
    sha = hashlib.sha256(content).hexdigest()
    rel = f"document/{sha[:2]}/{sha}.{ext}"
    path = get_settings().var_dir / "uploads" / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        path.write_bytes(content)
    return rel, len(content)


def seed(db, log=print) -> None:
    depts = set(db.execute(text("SELECT code FROM admin.department")).scalars())
    added = []
    if not db.execute(text("SELECT count(*) FROM lifeline.emergency_team")).scalar() and depts:
        teams = {}
        for name, dept, leader, phone, n, spec, poi, off in TEAMS:
            t = EmergencyTeam(name=name, dept_code=dept, leader=leader, phone=phone, members_count=n, specialty=spec,
                              base_name=f"{poi}院内", geom=_pt(_at(db, poi, off)), version=1)
            db.add(t)
            teams[name] = t
        db.flush()
        for team, people in PEOPLE.items():
            for name, role, phone, skills in people:
                db.add(EmergencyPerson(team_id=teams[team].id, dept_code=teams[team].dept_code, name=name, role=role,
                                       phone=phone, skills=skills, version=1))
        today = dt.date.today()
        for name, typ, cat, qty, unit, poi, off, dept, keeper, phone, days in MATERIALS:
            db.add(EmergencyMaterial(name=name, type=typ, category=cat, quantity=qty, unit=unit,
                                     storage_name=f"{poi}应急物资库", dept_code=dept, keeper=keeper, phone=phone,
                                     expiry=today + dt.timedelta(days=days) if days else None,
                                     geom=_pt(_at(db, poi, off)), version=1))
        added.append(f"{len(TEAMS)} teams, {sum(len(p) for p in PEOPLE.values())} people, {len(MATERIALS)} materials")
    if not db.execute(text("SELECT count(*) FROM lifeline.emergency_expert")).scalar():
        for name, ind, title, org, phone, spec in EXPERTS:
            db.add(EmergencyExpert(name=name, industry=ind, title=title, org=org, phone=phone, speciality=spec,
                                   geom=_pt(_at(db, org, (0, 0))), version=1))
        added.append(f"{len(EXPERTS)} experts")
    if not db.execute(text("SELECT count(*) FROM lifeline.emergency_document")).scalar():
        for kind, cat, title, no, issuer, day, summary in DOCUMENTS:
            body = (f"{title}\n{no}\n{issuer}  {day}\n\n{summary}\n\n"
                    "（演示文本：西平县城市运行管理服务平台示例数据，正式文本以发布机关公布的为准。）\n").encode()
            rel, size = _store(body, "txt")
            db.add(EmergencyDocument(kind=kind, category=cat, title=title, doc_no=no, issuer=issuer,
                                     issued_on=dt.date.fromisoformat(day), summary=summary, file_path=rel,
                                     file_name=f"{title}.txt", file_size=size, file_mime="text/plain", version=1))
        added.append(f"{len(DOCUMENTS)} regulations/plans")
    db.flush()
    log("emergency: " + ("; ".join(added) if added else "demo resources already present"))
