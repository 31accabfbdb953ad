"""The ingester against a real mosquitto and the real PostGIS: valid
readings stored, duplicates once, bad input counted and survived, threshold
crossings recorded, partitions created for a new month."""
from __future__ import annotations

import datetime as dt
import json
import uuid

import pytest

from etl.iot.ingest import Ingester, maintain
from tests.etl.iot_helpers import count_obs, register_thing
from tests.webapp.lifeline.conftest import publisher, sql, wait_for

UTC = dt.timezone.utc


@pytest.fixture()
def ingester(mqtt_broker, iot_dsn):
    ing = Ingester(iot_dsn, port=mqtt_broker.port, client_id=f"test-ingest-{uuid.uuid4().hex[:6]}",
                   batch=200, flush_ms=50, max_age=dt.timedelta(days=400)).start()
    yield ing
    ing.stop()


@pytest.fixture()
def pub(mqtt_broker):
    c = publisher(mqtt_broker)
    yield c
    c.loop_stop()
    c.disconnect()


def send(pub, topic, payload):
    body = payload if isinstance(payload, (bytes, str)) else json.dumps(payload)
    pub.publish(topic, body, qos=1).wait_for_publish(10)


def counters(dsn, source="gas"):
    row = sql(dsn, """SELECT coalesce(sum(accepted),0), coalesce(sum(duplicate),0), coalesce(sum(malformed),0),
                             coalesce(sum(out_of_range),0), coalesce(sum(unknown_device),0)
                        FROM lifeline.iot_ingest_counter WHERE source = %s""", (source,))[0]
    return dict(zip(("accepted", "duplicate", "malformed", "out_of_range", "unknown_device"), map(int, row)))


def test_valid_readings_are_stored_with_last_value(ingester, pub, iot_dsn):
    th = register_thing(iot_dsn)
    ds = th["ds"]["ch4"]
    base = dt.datetime.now(UTC).replace(microsecond=0) - dt.timedelta(minutes=8)
    before = counters(iot_dsn)
    for i in range(5):
        send(pub, f"xiping/gas/{th['code']}/ch4", {"t": (base + dt.timedelta(minutes=i)).isoformat(),
                                                   "v": 1.0 + i, "q": 0, "id": f"m{i}", "u": "%LEL"})
    # a list of readings for one datastream, and a gateway batch
    send(pub, f"xiping/gas/{th['code']}/ch4", [{"t": (base + dt.timedelta(minutes=5)).isoformat(), "v": 2.5},
                                              {"t": (base + dt.timedelta(minutes=6)).isoformat(), "v": 2.6}])
    send(pub, f"xiping/gas/{th['code']}/batch", [{"ds": "ch4", "t": (base + dt.timedelta(minutes=7)).isoformat(),
                                                  "v": 3.1}])
    wait_for(lambda: count_obs(iot_dsn, ds) == 8, what="8 observations")
    rows = sql(iot_dsn, "SELECT result, message_id FROM lifeline.iot_observation WHERE datastream_id = %s "
                        "ORDER BY phenomenon_time", (ds,))
    assert [r[0] for r in rows] == [1.0, 2.0, 3.0, 4.0, 5.0, 2.5, 2.6, 3.1]
    assert rows[0][1] == "m0"
    last = sql(iot_dsn, "SELECT last_value, status FROM lifeline.iot_datastream WHERE id = %s", (ds,))[0]
    assert last == (3.1, "online")
    assert sql(iot_dsn, "SELECT status FROM lifeline.iot_thing WHERE id = %s", (th["id"],))[0][0] == "online"
    wait_for(lambda: counters(iot_dsn)["accepted"] - before["accepted"] >= 8, what="accepted counter")


def test_duplicates_are_stored_once(ingester, pub, iot_dsn):
    th = register_thing(iot_dsn)
    ds = th["ds"]["ch4"]
    t = (dt.datetime.now(UTC) - dt.timedelta(minutes=1)).isoformat()
    before = counters(iot_dsn)
    for _ in range(3):
        send(pub, f"xiping/gas/{th['code']}/ch4", {"t": t, "v": 1.5})
    wait_for(lambda: counters(iot_dsn)["duplicate"] - before["duplicate"] >= 2, what="duplicate counter")
    assert count_obs(iot_dsn, ds) == 1
    assert counters(iot_dsn)["accepted"] - before["accepted"] == 1


def test_bad_messages_are_counted_and_the_ingester_survives(ingester, pub, iot_dsn, caplog):
    th = register_thing(iot_dsn)
    ds = th["ds"]["ch4"]
    now = dt.datetime.now(UTC)
    topic = f"xiping/gas/{th['code']}/ch4"
    before = counters(iot_dsn)
    bad = [
        (topic, b"{not json", "malformed"),
        (topic, {"t": now.isoformat(), "v": "high"}, "malformed"),
        (topic, {"t": now.isoformat(), "v": None}, "malformed"),
        (topic, '{"t": "%s", "v": NaN}' % now.isoformat(), "malformed"),
        (topic, {"t": "yesterday", "v": 1}, "malformed"),
        (topic, {"t": (now + dt.timedelta(days=2)).isoformat(), "v": 1}, "malformed"),
        (topic, {"t": now.isoformat(), "v": 1, "u": "ppm"}, "malformed"),
        (topic, {"t": now.isoformat(), "v": 101}, "out_of_range"),
        (topic, {"t": now.isoformat(), "v": -3}, "out_of_range"),
        (f"xiping/gas/NO-SUCH-THING/ch4", {"t": now.isoformat(), "v": 1}, "unknown_device"),
        (f"xiping/gas/{th['code']}/no_such_stream", {"t": now.isoformat(), "v": 1}, "unknown_device"),
        (f"xiping/water/{th['code']}/ch4", {"t": now.isoformat(), "v": 1}, "unknown_device"),
    ]
    for tp, payload, _ in bad:
        send(pub, tp, payload)
    send(pub, "xiping/nonsense", b"{}")          # counted under source "invalid"
    expect = {k: sum(1 for *_, r in bad if r == k and not _.__class__) for k in ()}
    expect = {"malformed": 7, "out_of_range": 2, "unknown_device": 2}

    def settled():
        c = counters(iot_dsn)
        return all(c[k] - before[k] >= n for k, n in expect.items()) and \
            counters(iot_dsn, "water")["unknown_device"] >= 1
    wait_for(settled, what="rejection counters")
    c = counters(iot_dsn)
    assert {k: c[k] - before[k] for k in expect} == expect
    assert c["accepted"] == before["accepted"]
    assert count_obs(iot_dsn, ds) == 0
    wait_for(lambda: counters(iot_dsn, "invalid")["malformed"] >= 1, what="invalid topic counted")
    # still alive: a good reading after all that is stored
    send(pub, topic, {"t": now.isoformat(), "v": 0.7})
    wait_for(lambda: count_obs(iot_dsn, ds) == 1, what="good reading after bad ones")
    assert ingester.connected.is_set()


def test_threshold_crossings_write_alarm_events(ingester, pub, iot_dsn):
    th = register_thing(iot_dsn)
    ds = th["ds"]["ch4"]
    base = dt.datetime.now(UTC) - dt.timedelta(minutes=30)
    values = [1.0, 30.0, 32.0, 60.0, 40.0, 2.0, 1.0]       # normal, 二级, stays, 一级, back to 二级, clear
    for i, v in enumerate(values):
        send(pub, f"xiping/gas/{th['code']}/ch4", {"t": (base + dt.timedelta(minutes=i)).isoformat(), "v": v})
    wait_for(lambda: count_obs(iot_dsn, ds) == len(values), what="observations")
    events = sql(iot_dsn, """SELECT value, level, previous_level, rule, thing_id FROM lifeline.alarm_event
                              WHERE datastream_id = %s ORDER BY phenomenon_time""", (ds,))
    assert [e[:4] for e in events] == [(30.0, 2, 0, "threshold:high:2"), (60.0, 1, 2, "threshold:high:1"),
                                       (40.0, 2, 1, "threshold:high:2"), (2.0, 0, 2, "threshold:clear")]
    assert {e[4] for e in events} == {th["id"]}
    assert sql(iot_dsn, "SELECT alarm_level FROM lifeline.iot_datastream WHERE id = %s", (ds,))[0][0] == 0
    # a redelivered breach is a duplicate: no second event
    send(pub, f"xiping/gas/{th['code']}/ch4", {"t": (base + dt.timedelta(minutes=3)).isoformat(), "v": 60.0})
    send(pub, f"xiping/gas/{th['code']}/ch4", {"t": (base + dt.timedelta(minutes=20)).isoformat(), "v": 0.5})
    wait_for(lambda: count_obs(iot_dsn, ds) == len(values) + 1, what="marker reading")
    assert len(sql(iot_dsn, "SELECT 1 FROM lifeline.alarm_event WHERE datastream_id = %s", (ds,))) == 4


def _partitions(dsn):
    return {r[0] for r in sql(dsn, """SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
                                     WHERE i.inhparent = 'lifeline.iot_observation'::regclass""")}


def test_a_reading_in_a_new_month_creates_its_partition(ingester, pub, iot_dsn):
    th = register_thing(iot_dsn)
    ds = th["ds"]["ch4"]
    old = (dt.datetime.now(UTC) - dt.timedelta(days=200)).replace(day=10, hour=4)
    local = old.astimezone(dt.timezone(dt.timedelta(hours=8)))
    name = f"iot_observation_y{local:%Y}m{local:%m}"
    assert name not in _partitions(iot_dsn)
    send(pub, f"xiping/gas/{th['code']}/ch4", {"t": old.isoformat(), "v": 1.2})
    wait_for(lambda: count_obs(iot_dsn, ds) == 1, what="old reading")
    assert name in _partitions(iot_dsn)
    assert sql(iot_dsn, f"SELECT count(*) FROM lifeline.{name} WHERE datastream_id = %s", (ds,))[0][0] == 1
    # late data does not move the datastream's current value
    send(pub, f"xiping/gas/{th['code']}/ch4", {"t": dt.datetime.now(UTC).isoformat(), "v": 0.9})
    wait_for(lambda: count_obs(iot_dsn, ds) == 2, what="current reading")
    assert sql(iot_dsn, "SELECT last_value FROM lifeline.iot_datastream WHERE id = %s", (ds,))[0][0] == 0.9


def test_maintenance_creates_partitions_ahead_and_marks_silent_devices_offline(iot_dsn):
    import psycopg
    th = register_thing(iot_dsn)
    sql(iot_dsn, "UPDATE lifeline.iot_datastream SET status = 'online', last_time = now() - interval '1 hour' "
                 "WHERE thing_id = %s", (th["id"],))
    sql(iot_dsn, "UPDATE lifeline.iot_thing SET status = 'online' WHERE id = %s", (th["id"],))
    ahead = dt.datetime.now(UTC) + dt.timedelta(days=55)
    local = ahead.astimezone(dt.timezone(dt.timedelta(hours=8)))
    with psycopg.connect(iot_dsn, autocommit=True) as conn:
        maintain(conn)
    assert f"iot_observation_y{local:%Y}m{local:%m}" in _partitions(iot_dsn)
    assert sql(iot_dsn, "SELECT status FROM lifeline.iot_thing WHERE id = %s", (th["id"],))[0][0] == "offline"
