"""The simulator against the real broker and ingester: realistic readings of
the demo devices are stored inside their valid ranges, and injected faults
behave (breach → threshold crossing, stuck → one value, offline → silence,
drop → a fifth of normal)."""
from __future__ import annotations

import datetime as dt
import uuid

from etl.iot.ingest import Ingester
from etl.iot.simulate import Simulator, load_streams, parse_fault
from tests.webapp.lifeline.conftest import sql, wait_for


def test_simulated_streams_and_faults(mqtt_broker, iot_dsn):
    streams = [s for s in load_streams(iot_dsn) if s.thing.startswith(("GAS-", "WS-", "BR-"))]
    gas = sorted({s.thing for s in streams if s.thing.startswith("GAS-")})
    water = sorted({s.thing for s in streams if s.thing.startswith("WS-")})
    breach, stuck, offline, drop = gas[0], gas[1], gas[2], water[0]
    faults = [parse_fault(f"{breach}:breach"), parse_fault(f"{stuck}:stuck"), parse_fault(f"{offline}:offline"),
              parse_fault(f"{drop}:drop")]
    start = dt.datetime.now(dt.timezone.utc)
    ing = Ingester(iot_dsn, port=mqtt_broker.port, client_id=f"sim-ingest-{uuid.uuid4().hex[:6]}", batch=200,
                   flush_ms=50).start()
    try:
        sim = Simulator("127.0.0.1", mqtt_broker.port, streams, faults)
        sim.connect()
        n = sim.run(rate=len(streams) * 4, duration=2.0)
        sim.close()
        expected = n
        wait_for(lambda: sql(iot_dsn, "SELECT count(*) FROM lifeline.iot_observation WHERE received_at >= %s",
                             (start,))[0][0] >= expected, timeout=30, what="simulated readings stored")
    finally:
        ing.stop()
    assert ing.stats["malformed"] == ing.stats["out_of_range"] == ing.stats["unknown_device"] == 0

    def values(thing, ds):
        return [r[0] for r in sql(iot_dsn, """SELECT o.result FROM lifeline.iot_observation o
                 JOIN lifeline.iot_datastream d ON d.id = o.datastream_id JOIN lifeline.iot_thing t ON t.id = d.thing_id
                WHERE t.code = %s AND d.code = %s AND o.received_at >= %s""", (thing, ds, start))]
    assert values(offline, "ch4") == []
    assert len(set(values(stuck, "ch4"))) == 1 and len(values(stuck, "ch4")) >= 4
    assert min(values(breach, "ch4")) >= 50                               # past the 一级 limit
    normal_gas = values(gas[3], "ch4")
    assert normal_gas and max(normal_gas) < 10                            # realistic background: a few %LEL
    assert max(values(drop, "pressure")) < 0.1 < min(values(water[1], "pressure"))
    strain = values(next(s.thing for s in streams if s.thing.startswith("BR-")), "strain")
    assert strain and all(-2000 <= v <= 2000 for v in strain)
    events = sql(iot_dsn, """SELECT e.level, e.rule FROM lifeline.alarm_event e JOIN lifeline.iot_thing t
                              ON t.id = e.thing_id WHERE t.code = %s""", (breach,))
    assert (1, "threshold:high:1") in events
