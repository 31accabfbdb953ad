"""Nothing lost, nothing twice: readings published with QoS 1 are stored
exactly once although the ingester is killed (SIGKILL, no goodbye) and
restarted, and the broker is restarted, while they flow."""
from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import threading
import time
import uuid

import orjson

from geo.settings import ROOT
from tests.etl.iot_helpers import count_obs, register_thing
from tests.webapp.lifeline.conftest import publisher, sql, wait_for

N = 3000
RATE = 500          # readings per second: ~6 s of traffic


def start_ingester(dsn, port, client_id, log):
    return subprocess.Popen([sys.executable, "-m", "etl.iot.ingest", "--db", dsn, "--port", str(port),
                             "--client-id", client_id, "--batch", "100", "--flush-ms", "50", "--log-file", str(log)],
                            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)


def test_qos1_readings_survive_ingester_and_broker_restarts(mqtt_broker, iot_dsn, workdir):
    th = register_thing(iot_dsn, network="bridge", streams=(("strain", "με", -2000, 2000, {}),))
    ds = th["ds"]["strain"]
    log = workdir / f"ingest-{uuid.uuid4().hex[:6]}.log"
    client_id = f"nothing-lost-{uuid.uuid4().hex[:6]}"
    ing = start_ingester(iot_dsn, mqtt_broker.port, client_id, log)
    wait_for(lambda: log.exists() and "connected to" in log.read_text(), what="ingester connected")

    pub = publisher(mqtt_broker, client_id=f"nl-pub-{uuid.uuid4().hex[:6]}")
    base = dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=1)
    infos = []
    acked: set[int] = set()
    pub.on_publish = lambda client, userdata, mid, reason_code, properties: acked.add(mid)

    def publish_all():
        t0 = time.monotonic()
        for i in range(N):
            body = orjson.dumps({"t": (base + dt.timedelta(seconds=i)).isoformat(), "v": float(i % 500),
                                 "id": f"nl-{i}"})
            infos.append(pub.publish(f"xiping/bridge/{th['code']}/strain", body, qos=1))
            ahead = (i + 1) / RATE - (time.monotonic() - t0)
            if ahead > 0:
                time.sleep(ahead)

    sender = threading.Thread(target=publish_all)
    sender.start()
    try:
        # 1. kill the ingester mid-stream and bring it back (same client id, persistent session)
        wait_for(lambda: count_obs(iot_dsn, ds) > 300, what="first readings stored")
        ing.send_signal(signal.SIGKILL)
        ing.wait(10)
        stored_at_kill = count_obs(iot_dsn, ds)
        time.sleep(1.0)                       # readings pile up in the broker's session queue
        ing = start_ingester(iot_dsn, mqtt_broker.port, client_id, log)
        # 2. restart the broker while readings flow (persistence keeps sessions and queues)
        wait_for(lambda: count_obs(iot_dsn, ds) > stored_at_kill + 300, what="readings after restart")
        mqtt_broker.restart()
        # 3. kill the ingester once more after the broker came back
        wait_for(lambda: count_obs(iot_dsn, ds) > stored_at_kill + 900, timeout=30, what="readings after broker")
        ing.send_signal(signal.SIGKILL)
        ing.wait(10)
        time.sleep(0.5)
        ing = start_ingester(iot_dsn, mqtt_broker.port, client_id, log)
        sender.join(60)
        # every reading acknowledged by the broker (readings published while it was down were queued by
        # the client with rc "not connected" and sent after the reconnect)
        # (MessageInfo.is_published() raises for those, so count the PUBACKs themselves)
        wait_for(lambda: len(acked) >= N, timeout=60, what="broker acknowledgements")
        wait_for(lambda: count_obs(iot_dsn, ds) >= N, timeout=60, what=f"{N} readings stored")
        time.sleep(1.0)                       # anything redelivered late must not add rows
    finally:
        pub.loop_stop()
        pub.disconnect()
        ing.send_signal(signal.SIGTERM)
        ing.wait(30)
    rows = sql(iot_dsn, "SELECT count(*), count(DISTINCT message_id), min(message_id), "
                        "count(DISTINCT phenomenon_time) FROM lifeline.iot_observation WHERE datastream_id = %s",
               (ds,))[0]
    assert rows[0] == N and rows[1] == N and rows[3] == N
    ids = {r[0] for r in sql(iot_dsn, "SELECT message_id FROM lifeline.iot_observation WHERE datastream_id = %s",
                             (ds,))}
    assert ids == {f"nl-{i}" for i in range(N)}
    # counted exactly once as accepted (bridge is this test's own source)
    accepted = sql(iot_dsn, "SELECT sum(accepted) FROM lifeline.iot_ingest_counter WHERE source = 'bridge'")[0][0]
    assert accepted == N
    text = log.read_text()
    assert "session present: True" in text       # the restarted ingester resumed its session
    assert ing.returncode == 0                   # SIGTERM: clean stop
