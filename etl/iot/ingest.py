"""The IoT ingester: MQTT (QoS 1) → validation → PostGIS → threshold evaluation.

Message format
--------------
Topic ``xiping/{network}/{thing_code}/{datastream_code}``, network one of
gas, water, drainage, heating, bridge; payload JSON::

    {"t": "2026-12-02T08:00:00+08:00", "v": 1.7, "q": 0, "id": "a1b2", "u": "%LEL"}

``t`` ISO 8601 (no offset = Asia/Shanghai) or epoch seconds/milliseconds,
``v`` a finite number inside the datastream's valid range, ``q`` optional
quality code 0–255 (0 = good), ``id`` optional message id, ``u`` optional
unit that must equal the datastream's unit. The payload may also be a list
of such objects (one datastream, several readings). A gateway sends several
datastreams of one thing on ``xiping/{network}/{thing_code}/batch`` with a
list of ``{"ds": datastream_code, "t": …, "v": …}``.

Rejected readings are counted per network per minute in
lifeline.iot_ingest_counter (malformed: bad topic/JSON/time/value/unit;
out_of_range: outside the valid range; unknown_device: thing/datastream not
registered) and logged (rate-limited); they never stop the ingester.

Nothing lost, nothing twice
---------------------------
The client connects with a fixed client id and a persistent session
(MQTT 3.1.1 clean_session=False), subscribes with QoS 1 and uses paho's
``manual_ack=True``: a PUBACK is sent (``client.ack(mid, qos)``) only after
the transaction holding the message's rows has committed. A crash before
the commit leaves the message unacknowledged; the broker redelivers it to
the same session when the ingester reconnects (also after a broker restart:
mosquitto persists sessions and queues). A crash after the commit but
before the PUBACK redelivers a stored message: observations have the
primary key (datastream_id, phenomenon_time) and are inserted with
ON CONFLICT DO NOTHING, so it is counted as a duplicate, stored once, and
only newly inserted rows are evaluated — one alarm_event per crossing.

Each batch (up to --batch messages or --flush-ms) is one transaction:
COPY into a temporary table, INSERT … ON CONFLICT DO NOTHING RETURNING,
evaluate, record crossings, update datastream last values/status, add the
counters, commit, then acknowledge. Several ingester processes can share
the load with ``--share GROUP`` (subscription ``$share/GROUP/xiping/#``).
SIGTERM/SIGINT flush the current batch and disconnect cleanly.
"""
from __future__ import annotations

import argparse
import datetime as dt
import logging
import os
import signal
import threading
import time
from collections import Counter

import paho.mqtt.client as mqtt
import psycopg

from etl.iot.catalogue import Catalogue
from etl.iot.evaluate import Evaluator, Observation
from etl.iot.messages import LOCAL, MAX_AGE, REASONS, Rejection, decode, source_of

log = logging.getLogger("cityops.iot.ingest")
TOPIC = "xiping/#"
MAX_PENDING = 100_000          # messages buffered before the network thread waits (back-pressure)
LOG_PER_MINUTE = 20            # rejected-message log lines per reason per minute

_TEMP = """CREATE TEMP TABLE IF NOT EXISTS iot_in (ds integer, t timestamptz, v double precision,
           q smallint, mid varchar(64)) ON COMMIT DELETE ROWS"""
_INSERT = """INSERT INTO lifeline.iot_observation (datastream_id, phenomenon_time, result, quality, message_id)
             SELECT ds, t, v, q, mid FROM iot_in ON CONFLICT DO NOTHING
             RETURNING datastream_id, (extract(epoch FROM phenomenon_time) * 1000000)::bigint"""
_COPY_DIRECT = """COPY lifeline.iot_observation (datastream_id, phenomenon_time, result, quality, message_id)
                  FROM STDIN"""
_COPY_ESCAPE = str.maketrans({"\\": "\\\\", "\t": " ", "\n": " ", "\r": " "})
_LAST = """UPDATE lifeline.iot_datastream d SET last_value = x.v, last_time = x.t,
                   status = CASE WHEN x.t >= now() - make_interval(secs => 3 * d.sampling_s) THEN 'online'
                                 ELSE d.status END
             FROM unnest(%s::int[], %s::timestamptz[], %s::float8[]) AS x(id, t, v)
            WHERE d.id = x.id AND (d.last_time IS NULL OR d.last_time <= x.t)"""
_THING = """UPDATE lifeline.iot_thing t SET last_seen = greatest(t.last_seen, x.t),
                   status = CASE WHEN EXISTS (SELECT 1 FROM lifeline.iot_datastream d WHERE d.thing_id = t.id
                                               AND d.status = 'online') THEN 'online' ELSE t.status END
             FROM unnest(%s::int[], %s::timestamptz[]) AS x(id, t) WHERE t.id = x.id"""
_COUNT = """INSERT INTO lifeline.iot_ingest_counter AS c (source, minute, accepted, duplicate, malformed,
                   out_of_range, unknown_device)
            SELECT * FROM unnest(%s::varchar[], %s::timestamptz[], %s::int[], %s::int[], %s::int[], %s::int[],
                                 %s::int[])
            ON CONFLICT (source, minute) DO UPDATE SET accepted = c.accepted + excluded.accepted,
                duplicate = c.duplicate + excluded.duplicate, malformed = c.malformed + excluded.malformed,
                out_of_range = c.out_of_range + excluded.out_of_range,
                unknown_device = c.unknown_device + excluded.unknown_device"""
# a datastream is offline after three missed sampling periods; a thing is
# online while any of its datastreams is (cameras have none and keep theirs)
_OFFLINE = ["""UPDATE lifeline.iot_datastream SET status = 'offline'
                WHERE status = 'online' AND (last_time IS NULL
                      OR last_time < now() - make_interval(secs => 3 * sampling_s))""",
            """UPDATE lifeline.iot_thing t SET status = CASE WHEN EXISTS (SELECT 1 FROM lifeline.iot_datastream d
                      WHERE d.thing_id = t.id AND d.status = 'online') THEN 'online' ELSE 'offline' END
                WHERE EXISTS (SELECT 1 FROM lifeline.iot_datastream d WHERE d.thing_id = t.id)"""]


def month_key(t: dt.datetime) -> tuple[int, int]:
    lt = t.astimezone(LOCAL)
    return lt.year, lt.month


def maintain(conn) -> None:
    """Partitions ahead of time and offline detection (also `cityops iot maintain`)."""
    conn.execute("SELECT lifeline.iot_ensure_partitions(now(), now() + interval '2 months')")
    for sql in _OFFLINE:
        conn.execute(sql)


class Ingester:
    def __init__(self, dsn: str, host: str = "127.0.0.1", port: int = 51883, client_id: str = "cityops-ingest",
                 batch: int = 5000, flush_ms: int = 200, share: str | None = None, topic: str = TOPIC,
                 max_age: dt.timedelta = MAX_AGE):
        self.dsn, self.host, self.port = dsn, host, port
        self.client_id, self.batch, self.flush_s = client_id, batch, flush_ms / 1000
        self.topic = f"$share/{share}/{topic}" if share else topic
        self.max_age = max_age
        self.catalogue = Catalogue(lambda: psycopg.connect(dsn))
        self.stats = Counter()                 # totals since start, for tests and the bench
        self._pending: list = []               # (mid, qos, source, rows, rejections)
        self._cv = threading.Condition()
        self._stop = threading.Event()
        self._months: set[tuple[int, int]] = set()
        self._logged: Counter = Counter()
        self._log_minute = 0
        self._last_maint = 0.0
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=False,
                                  protocol=mqtt.MQTTv311, manual_ack=True)
        self.client.on_connect = self._on_connect
        self.client.on_message = self._on_message
        self.client.on_disconnect = self._on_disconnect
        self.client.on_subscribe = self._on_subscribe
        self.client.reconnect_delay_set(0.2, 5)
        self.connected = threading.Event()
        # Set once the broker acknowledged the subscription: readings published
        # before that would not reach a new session.
        self.subscribed = threading.Event()
        self._epoch = 0                        # connection number: a PUBACK only goes to the connection
                                               # that delivered the message (mids are reused afterwards)

    # -- MQTT side (paho's network thread) -----------------------------------
    def _on_connect(self, client, userdata, flags, reason_code, properties):
        if reason_code.is_failure:
            log.error("broker refused connection: %s", reason_code)
            return
        # subscribe every time: harmless on a resumed session, needed on a new one
        self.subscribed.clear()
        client.subscribe(self.topic, qos=1)
        self._epoch += 1
        self.connected.set()
        log.info("connected to %s:%s as %s (session present: %s)", self.host, self.port, self.client_id,
                 flags.session_present)

    def _on_subscribe(self, client, userdata, mid, reason_codes, properties):
        self.subscribed.set()

    def _on_disconnect(self, client, userdata, flags, reason_code, properties):
        self.connected.clear()
        if not self._stop.is_set():
            log.warning("disconnected from broker (%s); reconnecting", reason_code)

    def _on_message(self, client, userdata, msg):
        if self.catalogue.stale():
            self._reload()
        try:
            rows, rejects = decode(msg.topic, msg.payload, self.catalogue, max_age=self.max_age)
        except Exception:  # never let one message kill the network thread
            log.exception("could not decode message on %s", msg.topic)
            rejects = [Rejection("malformed", "解析异常")]
        with self._cv:
            while len(self._pending) >= MAX_PENDING and not self._stop.is_set():
                self._cv.wait(0.5)
            self._pending.append((msg.mid, msg.qos, source_of(msg.topic), rows, rejects, msg.topic, self._epoch))
            if len(self._pending) >= self.batch:
                self._cv.notify_all()

    def _reload(self) -> None:
        try:
            self.catalogue.load()
        except psycopg.Error:
            log.exception("could not reload the datastream catalogue")

    # -- database side (flush thread) ------------------------------------------
    def _log_rejects(self, topic: str, rejects) -> None:
        minute = int(time.time() // 60)
        if minute != self._log_minute:
            dropped = {k: v - LOG_PER_MINUTE for k, v in self._logged.items() if v > LOG_PER_MINUTE}
            if dropped:
                log.warning("further rejected readings not logged last minute: %s", dropped)
            self._logged.clear()
            self._log_minute = minute
        for r in rejects:
            self._logged[r.reason] += 1
            if self._logged[r.reason] <= LOG_PER_MINUTE:
                log.warning("rejected (%s) on %s: %s", r.reason, topic, r.detail)

    def _write(self, conn, batch) -> None:
        rows = [row for item in batch for row in item[3]]
        now = dt.datetime.now(dt.timezone.utc)
        minute = now.replace(second=0, microsecond=0)
        counts: dict[str, Counter] = {}
        for _, _, source, _, rejects, topic, _ in batch:
            c = counts.setdefault(source, Counter())
            for r in rejects:
                c[r.reason] += 1
            if rejects:
                self._log_rejects(topic, rejects)
        with conn.transaction():
            months = {month_key(r.time) for r in rows} - self._months
            for y, m in sorted(months):
                t = dt.datetime(y, m, 15, tzinfo=LOCAL)
                conn.execute("SELECT lifeline.iot_ensure_partitions(%s, %s)", (t, t))
            inserted = self._store(conn, rows)
            obs = [Observation(r.datastream_id, r.time, r.value) for r in inserted]
            evaluator = Evaluator(conn, self.catalogue)
            candidates = evaluator.evaluate(obs)
            evaluator.record(candidates)
            if inserted:
                latest: dict[int, tuple] = {}
                for r in inserted:
                    if r.datastream_id not in latest or latest[r.datastream_id][0] < r.time:
                        latest[r.datastream_id] = (r.time, r.value)
                ids = sorted(latest)
                conn.execute(_LAST, (ids, [latest[i][0] for i in ids], [latest[i][1] for i in ids]))
                things: dict[int, dt.datetime] = {}
                for i in ids:
                    if (d := self.catalogue.by_id.get(i)) is not None:
                        things[d.thing_id] = max(things.get(d.thing_id, latest[i][0]), latest[i][0])
                tids = sorted(things)
                conn.execute(_THING, (tids, [things[t] for t in tids]))
            # accepted/duplicate per source: map datastream → network
            net = {r.datastream_id: item[2] for item in batch for r in item[3]}
            acc = Counter(net[r.datastream_id] for r in inserted)
            tot = Counter(net[r.datastream_id] for r in rows)
            for src in set(tot) | set(counts):
                counts.setdefault(src, Counter())
                counts[src]["accepted"] += acc.get(src, 0)
                counts[src]["duplicate"] += tot.get(src, 0) - acc.get(src, 0)
            if counts:
                srcs = sorted(counts)
                conn.execute(_COUNT, (srcs, [minute] * len(srcs),
                                      *[[counts[s][k] for s in srcs]
                                        for k in ("accepted", "duplicate", *REASONS)]))
        self._months |= months
        self.stats["accepted"] += len(inserted)
        self.stats["duplicate"] += len(rows) - len(inserted)
        self.stats["alarm_events"] += len(candidates)
        for c in counts.values():
            for k in REASONS:
                self.stats[k] += c[k]
        self.stats["messages"] += len(batch)
        self.stats["batches"] += 1

    @staticmethod
    def _copy_text(rows) -> bytes:
        """COPY text format built directly: several times faster than per-row adaptation."""
        out = []
        for r in rows:
            mid = "\\N" if r.message_id is None else r.message_id.translate(_COPY_ESCAPE)
            out.append(f"{r.datastream_id}\t{r.time.isoformat()}\t{r.value!r}\t{r.quality}\t{mid}\n")
        return "".join(out).encode()

    def _store(self, conn, rows) -> list:
        """Insert rows, skipping ones already stored; returns the newly inserted rows.

        Fast path: COPY straight into the partitioned table (no duplicates, the
        normal case). A unique violation (a redelivery) rolls back to the
        savepoint and takes the slow path: COPY into a temp table, then
        INSERT … ON CONFLICT DO NOTHING RETURNING the keys that went in."""
        if not rows:
            return []
        data = self._copy_text(rows)
        try:
            with conn.transaction(), conn.cursor() as cur:
                with cur.copy(_COPY_DIRECT) as cp:
                    cp.write(data)
            return rows
        except psycopg.errors.UniqueViolation:
            pass
        with conn.cursor() as cur:
            with cur.copy("COPY iot_in (ds, t, v, q, mid) FROM STDIN") as cp:
                cp.write(data)
            cur.execute(_INSERT)
            keys = set(cur.fetchall())
        out = []
        for r in rows:
            k = (r.datastream_id, round(r.time.timestamp() * 1_000_000))
            if k in keys:
                keys.discard(k)          # a reading twice in one batch goes in once
                out.append(r)
        return out

    def _flush_loop(self) -> None:
        conn = None
        while True:
            with self._cv:
                if not self._pending and not self._stop.is_set():
                    self._cv.wait(self.flush_s)
                elif len(self._pending) < self.batch and not self._stop.is_set():
                    self._cv.wait(self.flush_s)
                batch, self._pending = self._pending[:self.batch], self._pending[self.batch:]
                self._cv.notify_all()
            if not batch:
                if self._stop.is_set():
                    break
                conn = self._maintain(conn)
                continue
            while True:
                try:
                    if conn is None or conn.closed:
                        conn = psycopg.connect(self.dsn, autocommit=True)
                        conn.execute(_TEMP)
                    self._write(conn, batch)
                    break
                except Exception:  # noqa: BLE001  the database went away or refused: keep the batch
                    log.exception("batch not stored; retrying")
                    conn = None
                    if self._stop.wait(1.0):
                        return
            # acknowledge in order of receipt, only now that the rows are committed
            # (messages from an earlier connection are redelivered by the broker, stored as
            # duplicates and acknowledged then)
            for mid, qos, *_, epoch in batch:
                if qos > 0 and epoch == self._epoch:
                    self.client.ack(mid, qos)
            conn = self._maintain(conn)
        if conn is not None:
            conn.close()

    def _maintain(self, conn):
        if time.monotonic() - self._last_maint < 30 or conn is None:
            return conn
        self._last_maint = time.monotonic()
        try:
            with conn.transaction():
                maintain(conn)
        except psycopg.Error:
            log.exception("maintenance failed")
        return conn

    # -- lifecycle -----------------------------------------------------------
    def start(self, wait: float = 10) -> "Ingester":
        self.catalogue.load()
        self._flusher = threading.Thread(target=self._flush_loop, name="iot-flush", daemon=True)
        self._flusher.start()
        self.client.connect_async(self.host, self.port, keepalive=30)
        self.client.loop_start()
        if wait and not (self.connected.wait(wait) and self.subscribed.wait(wait)):
            raise RuntimeError(f"could not connect to MQTT broker {self.host}:{self.port}")
        return self

    def stop(self) -> None:
        """Flush what is buffered, acknowledge it, disconnect."""
        self._stop.set()
        with self._cv:
            self._cv.notify_all()
        self._flusher.join(30)
        self.client.disconnect()
        self.client.loop_stop()

    def idle(self) -> bool:
        with self._cv:
            return not self._pending

    def run_forever(self) -> None:
        done = threading.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: done.set())
        self.start(wait=0)
        last = 0.0
        while not done.wait(1.0):
            if time.monotonic() - last >= 60:
                last = time.monotonic()
                log.info("totals: %s", dict(self.stats))
        log.info("stopping (signal): flushing %d buffered messages", len(self._pending))
        self.stop()
        log.info("stopped; totals: %s", dict(self.stats))


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description="IoT ingester: MQTT → PostGIS")
    ap.add_argument("--db", required=True, help="libpq DSN / postgresql:// URL")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=int(os.environ.get("CITYOPS_MQTT_PORT", 51883)))
    ap.add_argument("--client-id", default="cityops-ingest")
    ap.add_argument("--batch", type=int, default=5000)
    ap.add_argument("--flush-ms", type=int, default=200)
    ap.add_argument("--share", default=None, help="shared subscription group (several ingester processes)")
    ap.add_argument("--log-file", default=None)
    a = ap.parse_args(argv)
    handlers = [logging.FileHandler(a.log_file)] if a.log_file else None
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s",
                        handlers=handlers)
    Ingester(a.db, a.host, a.port, a.client_id, a.batch, a.flush_ms, a.share).run_forever()


if __name__ == "__main__":
    main()
