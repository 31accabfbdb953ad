"""Sensor simulator: publishes realistic readings of the registered
datastreams to the broker (QoS 1), in the format of etl/iot/ingest.py.

Faults are injected per thing (``--fault CODE:KIND`` or ``CODE:KIND@SECONDS``
to start after a delay):
  breach  readings past the most severe threshold (gas leak, flooding…)
  drop    sudden drop to a fifth of the normal value (pipe burst, pressure loss)
  stuck   the first reading repeated forever (frozen sensor)
  offline the thing stops sending (power or link loss)
"""
from __future__ import annotations

import argparse
import datetime as dt
import random
import time
import zlib
from dataclasses import dataclass, field

import orjson
import paho.mqtt.client as mqtt
import psycopg

from etl.iot.profiles import breach_value, value

FAULTS = ("breach", "drop", "stuck", "offline")
SQL = """SELECT t.network, t.code, d.code, p.code
           FROM lifeline.iot_datastream d JOIN lifeline.iot_thing t ON t.id = d.thing_id
           JOIN lifeline.iot_observed_property p ON p.id = d.property_id
          ORDER BY t.code, d.code"""


@dataclass
class Stream:
    network: str
    thing: str
    code: str
    prop: str
    stuck: float | None = None
    last: dt.datetime | None = None


@dataclass
class Fault:
    thing: str
    kind: str
    after_s: float = 0.0


def parse_fault(spec: str) -> Fault:
    thing, _, rest = spec.partition(":")
    kind, _, after = rest.partition("@")
    if kind not in FAULTS or not thing:
        raise ValueError(f"fault {spec!r}: expected THING:{'|'.join(FAULTS)}[@seconds]")
    return Fault(thing, kind, float(after or 0))


def load_streams(dsn: str, devices: int | None = None, networks: list[str] | None = None) -> list[Stream]:
    with psycopg.connect(dsn) as conn:
        rows = conn.execute(SQL).fetchall()
    streams = [Stream(*r) for r in rows if not networks or r[0] in networks]
    if devices:
        keep = sorted({s.thing for s in streams})[:devices]
        streams = [s for s in streams if s.thing in set(keep)]
    return streams


@dataclass
class Simulator:
    host: str
    port: int
    streams: list[Stream]
    faults: list[Fault] = field(default_factory=list)
    seed: int = 411721
    client_id: str | None = None

    def __post_init__(self):
        self.rng = random.Random(self.seed)
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=self.client_id or "",
                                  protocol=mqtt.MQTTv311)
        self.client.max_inflight_messages_set(1000)
        self.client.max_queued_messages_set(0)
        self.published = 0

    def connect(self) -> None:
        self.client.connect(self.host, self.port, keepalive=30)
        self.client.loop_start()

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()

    def reading(self, s: Stream, now: dt.datetime, elapsed: float) -> float | None:
        fault = next((f for f in self.faults if f.thing == s.thing and elapsed >= f.after_s), None)
        if fault and fault.kind == "offline":
            return None
        v = value(s.prop, now.timestamp(), self.rng, zlib.crc32(s.thing.encode()) & 0xFFFF)
        if fault is None:
            return v
        if fault.kind == "breach":
            return breach_value(s.prop)
        if fault.kind == "drop":
            return round(v * 0.2, 3)
        if s.stuck is None:  # stuck
            s.stuck = v
        return s.stuck

    def publish_one(self, s: Stream, elapsed: float) -> mqtt.MQTTMessageInfo | None:
        now = dt.datetime.now(dt.timezone.utc)
        if s.last is not None and now <= s.last:  # one reading per instant per datastream
            now = s.last + dt.timedelta(microseconds=1)
        v = self.reading(s, now, elapsed)
        if v is None:
            return None
        s.last = now
        payload = orjson.dumps({"t": now.isoformat(), "v": v})
        self.published += 1
        return self.client.publish(f"xiping/{s.network}/{s.thing}/{s.code}", payload, qos=1)

    def run(self, rate: float, duration: float) -> int:
        """Publish `rate` readings per second (round robin over the datastreams) for `duration` seconds."""
        start = time.monotonic()
        i = 0
        info = None
        while (elapsed := time.monotonic() - start) < duration:
            s = self.streams[i % len(self.streams)]
            i += 1
            info = self.publish_one(s, elapsed) or info
            ahead = i / rate - (time.monotonic() - start)
            if ahead > 0:
                time.sleep(ahead)
        if info is not None:
            info.wait_for_publish(30)
        return self.published


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description="IoT sensor simulator")
    ap.add_argument("--db", required=True)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=51883)
    ap.add_argument("--rate", type=float, default=10.0, help="readings per second, all devices together")
    ap.add_argument("--duration", type=float, default=60.0, help="seconds")
    ap.add_argument("--devices", type=int, default=None, help="only the first N things")
    ap.add_argument("--network", action="append", default=None)
    ap.add_argument("--fault", action="append", default=[], help="THING:breach|drop|stuck|offline[@seconds]")
    a = ap.parse_args(argv)
    streams = load_streams(a.db, a.devices, a.network)
    if not streams:
        raise SystemExit("no datastreams registered (run `cityops demo load`)")
    sim = Simulator(a.host, a.port, streams, [parse_fault(f) for f in a.fault])
    sim.connect()
    n = sim.run(a.rate, a.duration)
    sim.close()
    print(f"published {n} readings from {len({s.thing for s in streams})} devices")


if __name__ == "__main__":
    main()
