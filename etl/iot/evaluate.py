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

On top of the raw crossings the evaluator runs the alarm rules
(etl/iot/rules.py: thresholds, rate of change, duration, combinations across
sensors of one site) and folds their hits into lifeline.alarm in one
statement per batch. Rule state lives in memory per ingester process (one
RuleEngine per catalogue); the state read at the start of the batch also
returns the last stored value of each datastream and of combination
partners, so the rules need no extra query. Once a minute the evaluator
also runs the sweep (offline timeouts, alarms whose case is closed).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import logging
import time
import weakref

from etl.iot import rules as alarm_rules
from etl.iot.catalogue import Catalogue, Datastream

log = logging.getLogger("cityops.iot.evaluate")
SWEEP_EVERY_S = 60.0
_engines: "weakref.WeakKeyDictionary[Catalogue, alarm_rules.RuleEngine]" = weakref.WeakKeyDictionary()


def engine_for(catalogue: Catalogue) -> alarm_rules.RuleEngine:
    """The rule engine (rules + in-memory state) living as long as the ingester's catalogue."""
    eng = _engines.get(catalogue)
    if eng is None:
        eng = _engines[catalogue] = alarm_rules.RuleEngine()
        eng.last_sweep = time.monotonic()
    return eng


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
        self.engine = engine_for(catalogue)
        self.hits: list[alarm_rules.Hit] = []

    def _states(self, ids: list[int]) -> dict[int, tuple[int, dt.datetime | None, float | None]]:
        rows = self.conn.execute(
            "SELECT id, alarm_level, last_time, last_value FROM lifeline.iot_datastream WHERE id = ANY(%s) "
            "ORDER BY id FOR UPDATE", (ids,)).fetchall()
        return {r[0]: (r[1], r[2], r[3]) for r in rows}

    def evaluate(self, batch: list[Observation]) -> list[AlarmCandidate]:
        if not batch:
            return []
        by_ds: dict[int, list[Observation]] = {}
        for o in batch:
            by_ds.setdefault(o.datastream_id, []).append(o)
        self.engine.refresh(self.conn, by_ds)
        states = self._states(sorted(set(by_ds) | self.engine.partners(by_ds)))
        out: list[AlarmCandidate] = []
        self.new_levels: dict[int, int] = {}
        for ds_id, obs in by_ds.items():
            ds = self.catalogue.by_id.get(ds_id)
            if ds is None or (not ds.high and not ds.low):
                continue
            level, since, _ = states.get(ds_id, (0, None, None))
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
        units = {i: d.unit for i in by_ds if (d := self.catalogue.by_id.get(i)) is not None}
        self.hits = self.engine.evaluate(batch, states, units)
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
        things = {i: (d.thing_id, d.network) for h in self.hits if (d := self.catalogue.by_id.get(i := h.datastream_id))}
        params = alarm_rules.upsert_params(self.hits, things)
        if params is not None:
            self.conn.execute(alarm_rules.UPSERT, params)
        if time.monotonic() - self.engine.last_sweep >= SWEEP_EVERY_S:
            self.engine.last_sweep = time.monotonic()
            try:                                  # a failed sweep must not cost the batch: savepoint
                with self.conn.transaction():
                    alarm_rules.sweep(self.conn)
            except Exception:  # noqa: BLE001
                log.exception("alarm sweep failed")
        return len(candidates)
