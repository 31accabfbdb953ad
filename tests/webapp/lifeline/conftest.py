"""A real mosquitto for the IoT tests, started by the project's broker
manager (etl/iot/broker.py) on a free port, and helpers around it."""
from __future__ import annotations

import time
import uuid

import psycopg
import pytest

from tests.conftest import free_port


@pytest.fixture(scope="session")
def mqtt_broker(workdir):
    from etl.iot.broker import Broker
    # Each conftest that imports this fixture gets its own instance: a directory per
    # port keeps two brokers of one session from mistaking each other's pid file.
    port = free_port()
    broker = Broker(workdir / f"mqtt-{port}", port)
    broker.start()
    yield broker
    broker.destroy()


@pytest.fixture(scope="session")
def iot_dsn(demo_db):
    from ogc.config import libpq_dsn
    return libpq_dsn(demo_db)


def sql(dsn: str, query: str, params=None):
    with psycopg.connect(dsn, autocommit=True) as conn:
        cur = conn.execute(query, params)
        return cur.fetchall() if cur.description else []


def wait_for(predicate, timeout: float = 20.0, what: str = "condition"):
    end = time.time() + timeout
    while time.time() < end:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def publisher(broker, client_id: str | None = None):
    import paho.mqtt.client as mqtt
    c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id or f"test-pub-{uuid.uuid4().hex[:8]}",
                    protocol=mqtt.MQTTv311)
    c.max_inflight_messages_set(500)
    c.max_queued_messages_set(0)
    c.connect("127.0.0.1", broker.port)
    c.loop_start()
    return c


@pytest.fixture()
def restore_pipes(demo_db):
    """Pipes and nodes a test imports are removed afterwards, so later tests
    (network topology, burst analysis) see the demo networks unchanged."""
    from ogc.config import libpq_dsn
    dsn = libpq_dsn(demo_db)
    with psycopg.connect(dsn) as conn:
        pipes = {r[0] for r in conn.execute("SELECT code FROM geo.pipe")}
        nodes = {r[0] for r in conn.execute("SELECT code FROM geo.pipe_node")}
    yield
    with psycopg.connect(dsn) as conn:
        conn.execute("DELETE FROM geo.pipe WHERE NOT (code = ANY(%s))", (list(pipes),))
        conn.execute("DELETE FROM geo.pipe_node WHERE NOT (code = ANY(%s))", (list(nodes),))
        conn.commit()
