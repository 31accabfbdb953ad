"""Demo docking sources (`cityops demo load` → webapp.lifeline.docking.seed_demo):
one SCADA/push source per network mapped to the demo datastreams
(webapp/lifeline/iot.py seed) and one GIS import source per pipe utility
with a field-mapping template in the field names utilities commonly use."""
from __future__ import annotations

from sqlalchemy import text

GIS_TEMPLATE = {"fields": {"code": "管线编号", "diameter_mm": "管径", "material": "材质", "pressure_class": "压力级别",
                           "depth_m": "埋深", "install_year": "建设年代", "from_node": "起点编号",
                           "to_node": "终点编号"},
                "units": {"diameter_mm": "mm", "depth_m": "m"}, "materials": {}}
# network → (code prefix, dept like, kind, thing prefix, datastreams)
SCADA = {"water": ("WATER", "%自来水公司", "opcua", "WS-", ["pressure", "flow"]),
         "heating": ("HEAT", "%热力公司", "opcua", "HT-", ["supply_temp", "return_temp", "supply_pressure"]),
         "gas": ("GAS", "%燃气公司", "http_push", "GAS-", ["ch4"]),
         "drainage": ("DRAIN", "%排水管理所", "csv_push", "DR-", ["level"]),
         "bridge": ("BRIDGE", "%市政设施管理所", "http_push", "BR-", ["strain", "deflection", "vibration"])}
NAMES = {"water": "供水", "heating": "供热", "gas": "燃气", "drainage": "排水", "bridge": "桥梁"}
KIND_LABEL = {"opcua": "SCADA 系统（OPC UA）", "http_push": "物联平台推送", "csv_push": "监测数据 CSV 推送"}


def seed_demo(db, log=print) -> None:
    if db.execute(text("SELECT count(*) FROM lifeline.dock_source WHERE code = 'WATER-SCADA'")).scalar():
        log("docking: demo sources already present")
        return
    import json
    n = 0
    for net, (prefix, like, kind, thing, streams) in SCADA.items():
        dept = db.execute(text("SELECT code FROM admin.department WHERE name LIKE :n ORDER BY code LIMIT 1"),
                          {"n": like}).scalar()
        things = db.execute(text("SELECT code FROM lifeline.iot_thing WHERE code LIKE :p AND kind <> 'camera' "
                                 "ORDER BY code LIMIT 3"), {"p": thing + "%"}).scalars().all()
        nodes = [{"node_id": f"ns=2;s={t}.{s}", "datastream": f"{t}/{s}"} for t in things for s in streams]
        settings = {"nodes": nodes}
        if kind == "opcua":
            port = 48400 if net == "water" else 48401
            settings.update(endpoint=f"opc.tcp://127.0.0.1:{port}/xiping/{net}-scada", security_mode="None",
                            timeout_s=5)
        db.execute(text("INSERT INTO lifeline.dock_source (code, name, network, kind, dept_code, settings, enabled) "
                        "VALUES (:c, :n, :net, :k, :d, CAST(:s AS jsonb), :e)"),
                   {"c": f"{prefix}-{'SCADA' if kind == 'opcua' else 'PUSH'}", "n": f"{NAMES[net]}{KIND_LABEL[kind]}",
                    "net": net, "k": kind, "d": dept, "s": json.dumps(settings, ensure_ascii=False),
                    "e": kind != "opcua"})   # the demo SCADA servers do not exist: enable once an endpoint is real
        n += 1
        if net != "bridge":
            mapping = dict(GIS_TEMPLATE, **({"target_network": "sewage"} if net == "drainage" else {}))
            db.execute(text("INSERT INTO lifeline.dock_source (code, name, network, kind, dept_code, gis_mapping) "
                            "VALUES (:c, :n, :net, 'gis_file', :d, CAST(:m AS jsonb))"),
                       {"c": f"{prefix}-GIS", "n": f"{NAMES[net]}管网 GIS 数据", "net": net, "d": dept,
                        "m": json.dumps(mapping, ensure_ascii=False)})
            n += 1
    from webapp import oplog
    oplog.record(db, "create", "lifeline.dock_source", None, detail=f"演示数据：{n} 个数据对接源")
    log(f"docking: {n} sources")
