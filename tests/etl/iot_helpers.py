"""Test devices registered straight in the database (each test its own, so
alarm state and counts do not leak between tests)."""
from __future__ import annotations

import json
import uuid

from tests.webapp.lifeline.conftest import sql


def register_thing(dsn: str, network: str = "gas", streams=(("ch4", "%LEL", 0, 100,
                                                             {"high": {"1": 50, "2": 25}}),)) -> dict:
    code = f"T-{uuid.uuid4().hex[:10]}"
    tid = sql(dsn, """INSERT INTO lifeline.iot_thing (code, name, network, kind, geom)
                      VALUES (%s, %s, %s, 'gas_detector', ST_SetSRID(ST_MakePoint(114.02, 33.38), 4490))
                      RETURNING id""", (code, f"测试设备 {code}", network))[0][0]
    pid = sql(dsn, "SELECT id FROM lifeline.iot_observed_property ORDER BY id LIMIT 1")[0][0]
    ids = {}
    for ds, unit, lo, hi, th in streams:
        ids[ds] = sql(dsn, """INSERT INTO lifeline.iot_datastream (thing_id, property_id, code, name, unit, valid_min,
                              valid_max, thresholds, sampling_s) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, 60)
                              RETURNING id""", (tid, pid, ds, ds, unit, lo, hi, json.dumps(th)))[0][0]
    return {"id": tid, "code": code, "network": network, "ds": ids}


def count_obs(dsn: str, ds_id: int) -> int:
    return sql(dsn, "SELECT count(*) FROM lifeline.iot_observation WHERE datastream_id = %s", (ds_id,))[0][0]
