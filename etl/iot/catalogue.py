"""The ingester's in-memory view of lifeline.iot_datastream: what a topic
may name, its unit, valid range and thresholds. Reloaded periodically and
on demand so devices registered while the ingester runs are picked up."""
from __future__ import annotations

import time
from dataclasses import dataclass, field

SQL = """
SELECT d.id, d.thing_id, t.network, t.code, d.code, d.unit, d.valid_min, d.valid_max, d.thresholds, d.sampling_s
  FROM lifeline.iot_datastream d JOIN lifeline.iot_thing t ON t.id = d.thing_id"""


@dataclass(frozen=True)
class Datastream:
    id: int
    thing_id: int
    network: str
    thing_code: str
    code: str
    unit: str
    valid_min: float
    valid_max: float
    # level → limit, e.g. high {1: 50.0, 2: 25.0}; level 1 is the most severe
    high: dict[int, float] = field(default_factory=dict)
    low: dict[int, float] = field(default_factory=dict)
    sampling_s: int = 60


def parse_thresholds(raw: dict | None) -> tuple[dict[int, float], dict[int, float]]:
    raw = raw or {}
    return ({int(k): float(v) for k, v in (raw.get("high") or {}).items()},
            {int(k): float(v) for k, v in (raw.get("low") or {}).items()})


LOOKUPS_PER_SECOND = 50     # database look-ups of unknown keys (a flood of garbage must not hammer the DB)
NEGATIVE_TTL_S = 5.0


class Catalogue:
    def __init__(self, conn_factory, max_age_s: float = 30.0):
        self._connect = conn_factory
        self.max_age_s = max_age_s
        self.by_key: dict[tuple[str, str, str], Datastream] = {}
        self.by_id: dict[int, Datastream] = {}
        self.loaded_at = 0.0
        self._unknown: dict[tuple[str, str, str], float] = {}
        self._lookups = (0, 0)      # (second, count)
        self._conn = None

    def load(self) -> None:
        with self._connect() as conn:
            rows = conn.execute(SQL).fetchall()
        by_key, by_id = {}, {}
        for r in rows:
            ds = _row(r)
            by_key[(ds.network, ds.thing_code, ds.code)] = ds
            by_id[ds.id] = ds
        self.by_key, self.by_id, self.loaded_at = by_key, by_id, time.monotonic()
        self._unknown.clear()

    def stale(self) -> bool:
        return time.monotonic() - self.loaded_at > self.max_age_s

    def get(self, network: str, thing: str, code: str) -> Datastream | None:
        """Known key, or one registered since the last load (looked up, rate-limited)."""
        key = (network, thing, code)
        ds = self.by_key.get(key)
        if ds is not None or not isinstance(code, str):
            return ds
        now = time.monotonic()
        if now - self._unknown.get(key, -1e9) < NEGATIVE_TTL_S:
            return None
        sec, n = self._lookups
        if int(now) == sec and n >= LOOKUPS_PER_SECOND:
            return None
        self._lookups = (int(now), n + 1 if int(now) == sec else 1)
        try:
            if self._conn is None or self._conn.closed:
                self._conn = self._connect()
                self._conn.autocommit = True
            r = self._conn.execute(SQL + " WHERE t.network = %s AND t.code = %s AND d.code = %s", key).fetchone()
        except Exception:  # noqa: BLE001  database trouble: treat as unknown, the ingester carries on
            self._conn = None
            return None
        if r is None:
            if len(self._unknown) > 10000:
                self._unknown.clear()
            self._unknown[key] = now
            return None
        ds = _row(r)
        self.by_key[key] = ds
        self.by_id[ds.id] = ds
        return ds


def _row(r) -> Datastream:
    high, low = parse_thresholds(r[8])
    return Datastream(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], high, low, r[9])
