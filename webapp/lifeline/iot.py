"""IoT monitoring (R119): SensorThings-style things, sensors, datastreams, observations; device counts on the map; alarms.

The registry lives in lifeline.iot_* (migration 0012, ORM in etl/iot/models.py);
readings arrive over MQTT through the ingester (etl/iot/ingest.py). This
module seeds the demo registry with a day of history; routes are in
webapp/lifeline/iot_views.py.
"""
from __future__ import annotations

import datetime as dt
import json
import random
import zlib

from sqlalchemy import text

from etl.iot.profiles import KIND_NAMES, KIND_STREAMS, NETWORK_NAMES, PROPS, value

# kind → (sensor model, vendor); demo devices
MODELS = {"gas_detector": ("GTYQ-JT01 激光甲烷监测仪", "汉威科技"),
          "pressure_station": ("PMF-200 压力流量一体机", "威星智能"),
          "level_gauge": ("LRD-80 雷达液位计", "中环天仪"),
          "heating_station": ("HTM-3 热力综合监测终端", "天罡仪表"),
          "bridge_monitor": ("BSM-16 桥梁结构监测采集仪", "江西飞尚")}
DEPT_LIKE = {"gas": "%燃气公司", "water": "%自来水公司", "drainage": "%排水管理所", "heating": "%热力公司",
             "bridge": "%市政设施管理所"}
DEMO_HLS = "http://127.0.0.1:8888/xiping/{code}/index.m3u8"   # placeholder: the video platform's HLS address
HISTORY_STEP_S = 300


def _sites(db) -> list[dict]:
    """Demo monitoring sites picked from the demo networks, bridges and risk points."""
    q = lambda sql: db.execute(text(sql)).mappings().all()  # noqa: E731
    sites = []
    for r in q("""SELECT n.code, n.kind, ST_X(n.geom) x, ST_Y(n.geom) y,
                         (SELECT p.code FROM geo.pipe p WHERE p.from_node = n.code OR p.to_node = n.code
                           ORDER BY p.code LIMIT 1) pipe
                    FROM geo.pipe_node n WHERE n.network = 'gas' AND n.kind IN ('阀门', '凝水缸', '调压站')
                   ORDER BY n.kind = '调压站' DESC, n.code LIMIT 10"""):
        sites.append(dict(code=f"GAS-{r['code']}", name=f"{r['code']} {r['kind']}井 相邻空间可燃气体监测",
                          network="gas", kind="gas_detector", node=r["code"], pipe=r["pipe"], x=r["x"], y=r["y"]))
    for r in q("""SELECT n.code, n.kind, ST_X(n.geom) x, ST_Y(n.geom) y FROM geo.pipe_node n
                   WHERE n.network = 'water' AND n.kind IN ('水源', '阀门') ORDER BY n.kind = '水源' DESC, n.code
                   LIMIT 6"""):
        sites.append(dict(code=f"WS-{r['code']}", name=f"{r['code']} {r['kind']} 供水压力流量监测",
                          network="water", kind="pressure_station", node=r["code"], x=r["x"], y=r["y"]))
    for r in q("""SELECT n.code, n.kind, ST_X(n.geom) x, ST_Y(n.geom) y FROM geo.pipe_node n
                   WHERE n.network IN ('rain', 'sewage') AND n.kind LIKE '%检查井' ORDER BY n.code LIMIT 6"""):
        sites.append(dict(code=f"DR-{r['code']}", name=f"{r['code']} {r['kind']} 液位监测",
                          network="drainage", kind="level_gauge", node=r["code"], x=r["x"], y=r["y"]))
    for r in q("""SELECT n.code, n.kind, ST_X(n.geom) x, ST_Y(n.geom) y FROM geo.pipe_node n
                   WHERE n.network = 'heating' AND n.kind IN ('换热站', '热源') ORDER BY n.kind = '热源' DESC, n.code
                   LIMIT 4"""):
        sites.append(dict(code=f"HT-{r['code']}", name=f"{r['code']} {r['kind']} 供热监测",
                          network="heating", kind="heating_station", node=r["code"], x=r["x"], y=r["y"]))
    for r in q("""SELECT code, name, ST_X(ST_LineInterpolatePoint(geom, 0.5)) x,
                         ST_Y(ST_LineInterpolatePoint(geom, 0.5)) y FROM geo.bridge ORDER BY code"""):
        sites.append(dict(code=f"BR-{r['code']}", name=f"{r['name']} 结构健康监测", network="bridge",
                          kind="bridge_monitor", bridge=r["code"], x=r["x"], y=r["y"]))
    cams = q("""SELECT code, name, network, ST_X(geom) x, ST_Y(geom) y FROM geo.risk_point
                 ORDER BY level, code LIMIT 4""")
    for i, r in enumerate(cams, 1):
        net = {"rain": "drainage", "sewage": "drainage"}.get(r["network"], r["network"])
        code = f"CAM-{i:03d}"
        sites.append(dict(code=code, name=f"{r['name']} 视频监控", network=net if net in NETWORK_NAMES else "gas",
                          kind="camera", risk=r["code"], x=r["x"], y=r["y"], hls=DEMO_HLS.format(code=code)))
    return sites


def seed_demo(db, log=print) -> None:
    if db.execute(text("SELECT count(*) FROM lifeline.iot_thing")).scalar():
        log("iot: demo devices already present")
        return
    from webapp import oplog
    for p in PROPS.values():
        db.execute(text("INSERT INTO lifeline.iot_observed_property (code, name, definition) "
                        "VALUES (:c, :n, :d) ON CONFLICT (code) DO NOTHING"),
                   {"c": p.code, "n": p.name, "d": f"{p.name}（{p.unit}）"})
    props = dict(db.execute(text("SELECT code, id FROM lifeline.iot_observed_property")).all())
    depts = {net: db.execute(text("SELECT code FROM admin.department WHERE name LIKE :n ORDER BY code LIMIT 1"),
                             {"n": like}).scalar() for net, like in DEPT_LIKE.items()}
    now = dt.datetime.now(dt.timezone.utc).replace(second=0, microsecond=0)
    start = now - dt.timedelta(days=1)
    streams = []
    sites = _sites(db)
    for s in sites:
        tid = db.execute(text("""
            INSERT INTO lifeline.iot_thing (code, name, network, kind, pipe_code, node_code, bridge_code,
                   risk_point_code, dept_code, hls_url, status, last_seen, geom)
            VALUES (:code, :name, :network, :kind, :pipe, :node, :bridge, :risk, :dept, :hls, 'online', :now,
                    ST_SetSRID(ST_MakePoint(:x, :y), 4490)) RETURNING id"""),
            {"pipe": None, "node": None, "bridge": None, "risk": None, "hls": None, **s,
             "dept": depts.get(s["network"]), "now": now}).scalar()
        if s["kind"] == "camera":
            continue
        model, vendor = MODELS[s["kind"]]
        sid = db.execute(text("INSERT INTO lifeline.iot_sensor (code, model, vendor, serial) "
                              "VALUES (:c, :m, :v, :s) RETURNING id"),
                         {"c": f"SN-{s['code']}", "m": model, "v": vendor,
                          "s": f"{zlib.crc32(s['code'].encode()):010d}"}).scalar()
        ref = s.get("node") or s.get("bridge")
        fid = db.execute(text("INSERT INTO lifeline.iot_feature_of_interest (code, name, kind, ref_code, geom) "
                              "VALUES (:c, :n, :k, :r, ST_SetSRID(ST_MakePoint(:x, :y), 4490)) RETURNING id"),
                         {"c": f"FOI-{s['code']}", "n": s["name"].split(" ")[0] + " 监测对象",
                          "k": "bridge" if s.get("bridge") else "pipe_node", "r": ref, "x": s["x"],
                          "y": s["y"]}).scalar()
        for code, prop in KIND_STREAMS[s["kind"]]:
            p = PROPS[prop]
            did = db.execute(text("""
                INSERT INTO lifeline.iot_datastream (thing_id, sensor_id, property_id, foi_id, code, name, unit,
                       valid_min, valid_max, thresholds, sampling_s, status)
                VALUES (:t, :s, :p, :f, :c, :n, :u, :lo, :hi, CAST(:th AS jsonb), :sp, 'online') RETURNING id"""),
                {"t": tid, "s": sid, "p": props[prop], "f": fid, "c": code, "n": p.name, "u": p.unit,
                 "lo": p.valid_min, "hi": p.valid_max, "th": json.dumps(p.thresholds),
                 "sp": p.sampling_s}).scalar()
            streams.append((did, prop, zlib.crc32(s["code"].encode()) & 0xFFFF))
    # a day of history every 5 minutes, written with COPY so the curves exist
    db.execute(text("SELECT lifeline.iot_ensure_partitions(:a, :b)"), {"a": start, "b": now})
    rng = random.Random(411721)
    raw = db.connection().connection
    n = 0
    last = {}
    with raw.cursor() as cur, cur.copy("COPY lifeline.iot_observation (datastream_id, phenomenon_time, result, "
                                       "quality, message_id) FROM STDIN") as cp:
        for did, prop, seed in streams:
            t = start
            while t <= now:
                v = value(prop, t.timestamp(), rng, seed)
                cp.write_row((did, t, v, 0, None))
                last[did] = (t, v)
                t += dt.timedelta(seconds=HISTORY_STEP_S)
                n += 1
    for did, (t, v) in last.items():
        db.execute(text("UPDATE lifeline.iot_datastream SET last_time = :t, last_value = :v WHERE id = :i"),
                   {"t": t, "v": v, "i": did})
    oplog.record(db, "create", "lifeline.iot_thing", None,
                 detail=f"演示数据：{len(sites)} 个物联网设备，{len(streams)} 条数据流，{n} 条历史观测")
    log(f"iot: {len(sites)} devices, {len(streams)} datastreams, {n} observations of history")


def kind_name(kind: str) -> str:
    return KIND_NAMES.get(kind, kind)


from webapp.lifeline import iot_views  # noqa: E402,F401  (registers the routes)
