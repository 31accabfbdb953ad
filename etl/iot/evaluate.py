"""Threshold evaluation: the hook between ingest and alarms.

The ingester calls `Evaluator.evaluate(batch)` with the observations that a
transaction has just stored (duplicates already removed), then
`Evaluator.record(candidates)` in the same transaction, then commits.

This evaluator implements plain per-datastream thresholds: a datastream has
high and/or low limits per level (1 红 most severe … 4 蓝); an observation's
level is the most severe limit it crosses, 0 when none. A candidate is a
*crossing*: the datastream's level changed (entering, escalating,
de-escalating or clearing to 0), evaluated in time order from the level
stored on the datastream. Rows older than the datastream's last evaluated
time (late data) do not move the state. The state is read FOR UPDATE, so
several ingester processes (shared subscriptions) serialise per datastream.

The alarm module builds rules, the alarm lifecycle and pages on top of
lifeline.alarm_event; it can subclass Evaluator and extend evaluate().
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from etl.iot.catalogue import Catalogue, Datastream


@dataclass(frozen=True, slots=True)
class Observation:
    datastream_id: int
    time: dt.datetime
    value: float


@dataclass(frozen=True, slots=True)
class AlarmCandidate:
    datastream_id: int
    thing_id: int
    time: dt.datetime
    value: float
    level: int            # 0 = back to normal, 1 (红) … 4 (蓝)
    previous_level: int
    rule: str             # "threshold:high:1", "threshold:low:2", "threshold:clear"


def level_of(ds: Datastream, value: float) -> tuple[int, str]:
    """(level, direction) of the most severe limit crossed; (0, "") inside all limits."""
    best, direction = 0, ""
    for lvl, limit in ds.high.items():
        if value >= limit and (best == 0 or lvl < best):
            best, direction = lvl, "high"
    for lvl, limit in ds.low.items():
        if value <= limit and (best == 0 or lvl < best):
            best, direction = lvl, "low"
    return best, direction


class Evaluator:
    def __init__(self, conn, catalogue: Catalogue):
        self.conn = conn              # psycopg connection, inside the ingest transaction
        self.catalogue = catalogue

    def _states(self, ids: list[int]) -> dict[int, tuple[int, dt.datetime | None]]:
        rows = self.conn.execute(
            "SELECT id, alarm_level, last_time FROM lifeline.iot_datastream WHERE id = ANY(%s) ORDER BY id "
            "FOR UPDATE", (ids,)).fetchall()
        return {r[0]: (r[1], r[2]) for r in rows}

    def evaluate(self, batch: list[Observation]) -> list[AlarmCandidate]:
        if not batch:
            return []
        by_ds: dict[int, list[Observation]] = {}
        for o in batch:
            by_ds.setdefault(o.datastream_id, []).append(o)
        states = self._states(sorted(by_ds))
        out: list[AlarmCandidate] = []
        self.new_levels: dict[int, int] = {}
        for ds_id, obs in by_ds.items():
            ds = self.catalogue.by_id.get(ds_id)
            if ds is None or (not ds.high and not ds.low):
                continue
            level, since = states.get(ds_id, (0, None))
            start = level
            obs.sort(key=lambda o: o.time)
            for o in obs:
                if since is not None and o.time < since:
                    continue
                new, direction = level_of(ds, o.value)
                if new != level:
                    rule = f"threshold:{direction}:{new}" if new else "threshold:clear"
                    out.append(AlarmCandidate(ds_id, ds.thing_id, o.time, o.value, new, level, rule))
                    level = new
            if level != start:
                self.new_levels[ds_id] = level
        return out

    def record(self, candidates: list[AlarmCandidate]) -> int:
        """Write the crossings and the datastreams' new levels (same transaction)."""
        if candidates:
            with self.conn.cursor() as cur:
                cur.executemany(
                    "INSERT INTO lifeline.alarm_event (datastream_id, thing_id, phenomenon_time, value, level, "
                    "previous_level, rule) VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
                    [(c.datastream_id, c.thing_id, c.time, c.value, c.level, c.previous_level, c.rule)
                     for c in candidates])
        levels = getattr(self, "new_levels", {})
        if levels:
            self.conn.execute(
                "UPDATE lifeline.iot_datastream d SET alarm_level = x.lvl FROM unnest(%s::int[], %s::int[]) "
                "AS x(id, lvl) WHERE d.id = x.id", (list(levels), list(levels.values())))
        return len(candidates)
