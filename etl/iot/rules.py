"""Alarm rules (R119): what turns readings into alarms.

Rule kinds (lifeline.alarm_rule.kind, parameters in `params`):
  threshold    {"high": {"1": 50, "2": 25}, "low": {"2": 0.1}}  level = most severe limit crossed
  rate         {"delta_per_min": 5, "direction": "up"|"down"|"any"}  change between consecutive readings
  duration     {"op": ">="|"<=", "value": 10, "minutes": 5}  the condition holds for at least N minutes
  offline      {"periods": 3}  no reading for N sampling periods (evaluated by `sweep`, not per reading)
  combination  {"terms": [{"datastream_id": 1, "op": ">=", "value": 25}, …], "within_minutes": 10}
               every term held at some reading within the window (sensors of one site)

Expressions are data (comparison operator + number), never code: `clean_params`
validates them; nothing is eval'd.

`RuleEngine` keeps per-process state in memory (condition start times for
duration rules, the last time each combination term held, whether each
rule is currently active) so a batch needs no extra reads; `upsert_sql`
writes all of a batch's hits in one statement: one open alarm per
rule × datastream, repeated crossings update it (last value, peak, count).
"""
from __future__ import annotations

import datetime as dt
import math
import time
from dataclasses import dataclass, field

KINDS = {"threshold": "分级阈值", "rate": "变化速率", "duration": "持续超限", "offline": "离线超时",
         "combination": "多传感器组合"}
LEVEL_NAMES = {1: "一级（红）", 2: "二级（橙）", 3: "三级（黄）", 4: "四级（蓝）"}
OPS = {">=": "≥", "<=": "≤"}
DIRECTIONS = {"up": "上升", "down": "下降", "any": "升降"}
OPEN = ("raised", "confirmed", "dispatched")
RELOAD_S = 30.0
MAX_GAP_MIN = 60.0           # rate of change is not computed across longer gaps (device was away)


class RuleError(ValueError):
    def __init__(self, message: str, field: str = "params"):
        super().__init__(message)
        self.field = field


def _num(v, label: str, field: str, lo: float = -1e9, hi: float = 1e9) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or not lo <= v <= hi:
        raise RuleError(f"{label}应为 {lo:g} 到 {hi:g} 之间的数值", field)
    return float(v)


def _only(d, keys: set[str], what: str) -> dict:
    if not isinstance(d, dict):
        raise RuleError(f"{what}应为 JSON 对象")
    extra = set(d) - keys
    if extra:
        raise RuleError(f"{what}含不支持的项：{', '.join(sorted(extra))}")
    return d


def _op(v, field: str) -> str:
    if v not in OPS:
        raise RuleError("比较运算应为 >= 或 <=", field)
    return v


def clean_params(kind: str, params) -> dict:
    """Validated, normalised parameters of a rule (RuleError with a Chinese message otherwise)."""
    if kind not in KINDS:
        raise RuleError(f"规则类型应为：{'、'.join(f'{k}（{v}）' for k, v in KINDS.items())}", "kind")
    p = _only(params, {"threshold": {"high", "low"}, "rate": {"delta_per_min", "direction"},
                       "duration": {"op", "value", "minutes"}, "offline": {"periods"},
                       "combination": {"terms", "within_minutes"}}[kind], "规则参数")
    if kind == "threshold":
        out = {}
        for side in ("high", "low"):
            if p.get(side) in (None, {}):
                continue
            limits = _only(p[side], {"1", "2", "3", "4"}, "阈值（按级别 1–4）")
            out[side] = {k: _num(v, f"{LEVEL_NAMES[int(k)]}阈值", f"params.{side}.{k}") for k, v in
                         sorted(limits.items())}
            vals = [out[side][k] for k in sorted(out[side])]     # level 1 first: most severe
            ordered = vals == sorted(vals, reverse=(side == "high"))
            if not ordered or len(set(vals)) != len(vals):
                raise RuleError("级别越高（一级最严重）阈值应越极端：上限逐级递减、下限逐级递增", f"params.{side}")
        if not out:
            raise RuleError("分级阈值规则至少需要一个上限或下限")
        return out
    if kind == "rate":
        d = p.get("direction", "any")
        if d not in DIRECTIONS:
            raise RuleError("变化方向应为 up、down 或 any", "params.direction")
        return {"delta_per_min": _num(p.get("delta_per_min"), "每分钟变化量", "params.delta_per_min", 1e-9, 1e6),
                "direction": d}
    if kind == "duration":
        m = _num(p.get("minutes"), "持续时间（分钟）", "params.minutes", 1, 1440)
        return {"op": _op(p.get("op"), "params.op"), "value": _num(p.get("value"), "阈值", "params.value"),
                "minutes": m}
    if kind == "offline":
        return {"periods": int(_num(p.get("periods"), "离线判定周期数", "params.periods", 1, 1000))}
    terms = p.get("terms")
    if not isinstance(terms, list) or not 2 <= len(terms) <= 4:
        raise RuleError("组合规则应有 2–4 个条件", "params.terms")
    out_terms = []
    for i, t in enumerate(terms):
        t = _only(t, {"datastream_id", "op", "value"}, f"第 {i + 1} 个条件")
        ds = t.get("datastream_id")
        if isinstance(ds, bool) or not isinstance(ds, int) or ds <= 0:
            raise RuleError(f"第 {i + 1} 个条件的数据流编号无效", f"params.terms.{i}.datastream_id")
        out_terms.append({"datastream_id": ds, "op": _op(t.get("op"), f"params.terms.{i}.op"),
                          "value": _num(t.get("value"), f"第 {i + 1} 个条件的阈值", f"params.terms.{i}.value")})
    if len({t["datastream_id"] for t in out_terms}) != len(out_terms):
        raise RuleError("组合规则的各条件应为不同的数据流", "params.terms")
    return {"terms": out_terms, "within_minutes": _num(p.get("within_minutes", 10), "时间窗口（分钟）",
                                                       "params.within_minutes", 1, 1440)}


def holds(op: str, v: float, limit: float) -> bool:
    return v >= limit if op == ">=" else v <= limit


def threshold_level(params: dict, value: float) -> tuple[int, str, float | None]:
    """(level, direction, limit) of the most severe limit crossed; (0, "", None) inside all limits."""
    best, direction, limit = 0, "", None
    for side in ("high", "low"):
        for k, lim in (params.get(side) or {}).items():
            lvl = int(k)
            if (value >= lim if side == "high" else value <= lim) and (best == 0 or lvl < best):
                best, direction, limit = lvl, side, lim
    return best, direction, limit


@dataclass(frozen=True)
class Rule:
    id: int
    datastream_id: int
    kind: str
    level: int
    name: str
    params: dict

    def datastreams(self) -> list[int]:
        if self.kind == "combination":
            return [t["datastream_id"] for t in self.params["terms"]]
        return [self.datastream_id]


@dataclass
class Hit:
    rule: Rule
    datastream_id: int
    time: dt.datetime
    value: float
    level: int
    entered: bool            # the condition started (or escalated) at this reading: counts as a crossing
    message: str
    low: bool = False        # the peak is the minimum (low limits, falling rate)


@dataclass
class Reading:
    datastream_id: int
    time: dt.datetime
    value: float


@dataclass
class RuleEngine:
    """Rules and their evaluation state for one ingester process."""
    rules: dict[int, list[Rule]] = field(default_factory=dict)        # datastream → rules touching it
    loaded_at: float = -1e9
    known: set = field(default_factory=set)
    active: dict = field(default_factory=dict)       # (rule id, datastream id) → level (0 = inactive)
    since: dict = field(default_factory=dict)        # duration rule id → time the condition began
    held: dict = field(default_factory=dict)         # (combination rule id, term index) → (time, value)
    prev: dict = field(default_factory=dict)         # datastream id → (time, value) of its latest reading
    last_sweep: float = 0.0

    RULES_SQL = """SELECT id, datastream_id, kind, level, name, params FROM lifeline.alarm_rule
                    WHERE enabled AND kind <> 'offline'"""

    def load(self, conn) -> None:
        rules: dict[int, list[Rule]] = {}
        known = set()
        for r in conn.execute(self.RULES_SQL).fetchall():
            rule = Rule(r[0], r[1], r[2], r[3], r[4], r[5] or {})
            for ds in rule.datastreams():
                rules.setdefault(ds, []).append(rule)
            known.add(r[1])
        # datastreams seen without rules are remembered so a new device triggers one reload, not one per batch
        self.rules, self.known, self.loaded_at = rules, known | self.known, time.monotonic()
        live = {r.id for rs in rules.values() for r in rs}
        for d in (self.active, self.since, self.held):
            for k in [k for k in d if (k[0] if isinstance(k, tuple) else k) not in live]:
                del d[k]

    def refresh(self, conn, ds_ids) -> None:
        if time.monotonic() - self.loaded_at > RELOAD_S or any(i not in self.known for i in ds_ids):
            self.load(conn)
            self.known |= set(ds_ids)

    def partners(self, ds_ids) -> set[int]:
        """Other datastreams of combination rules touched by these: their latest values are needed."""
        out = set()
        for i in ds_ids:
            for r in self.rules.get(i, ()):
                if r.kind == "combination":
                    out.update(r.datastreams())
        return out - set(ds_ids)

    def evaluate(self, readings: list[Reading], states: dict[int, tuple], units: dict[int, str]) -> list[Hit]:
        """`states`: datastream → (alarm_level, last_time, last_value) read at the start of the batch."""
        for ds, (_, t, v) in states.items():
            if ds not in self.prev and t is not None and v is not None:
                self.prev[ds] = (t, v)
        readings = sorted(readings, key=lambda r: r.time)
        hits: list[Hit] = []
        for o in readings:
            last = self.prev.get(o.datastream_id)
            if last is not None and o.time < last[0]:
                continue                 # late data does not move the state
            for rule in self.rules.get(o.datastream_id, ()):
                h = getattr(self, "_" + rule.kind)(rule, o, last, states, units.get(o.datastream_id, ""))
                if h is not None:
                    hits.append(h)
            self.prev[o.datastream_id] = (o.time, o.value)
        return hits

    def _flag(self, rule: Rule, ds: int, level: int) -> bool:
        """Record the rule's level; True when it entered or escalated (a crossing)."""
        key = (rule.id, ds)
        before = self.active.get(key, 0)
        self.active[key] = level
        return level > 0 and (before == 0 or level < before)

    def _threshold(self, rule, o, last, states, unit):
        key = (rule.id, o.datastream_id)
        if key not in self.active:       # first sight in this process: the level stored on the datastream
            self.active[key] = states.get(o.datastream_id, (0, None, None))[0] or 0
        lvl, side, limit = threshold_level(rule.params, o.value)
        entered = self._flag(rule, o.datastream_id, lvl)
        if not lvl:
            return None
        msg = f"{rule.name}：{o.value:g} {unit} {'≥' if side == 'high' else '≤'} {LEVEL_NAMES[lvl]}阈值 {limit:g}"
        return Hit(rule, o.datastream_id, o.time, o.value, lvl, entered, msg, low=side == "low")

    def _rate(self, rule, o, last, states, unit):
        if last is None:
            return None
        minutes = (o.time - last[0]).total_seconds() / 60
        if minutes <= 0 or minutes > MAX_GAP_MIN:
            return None
        rate = (o.value - last[1]) / minutes
        d, lim = rule.params["direction"], rule.params["delta_per_min"]
        on = rate >= lim if d == "up" else rate <= -lim if d == "down" else abs(rate) >= lim
        entered = self._flag(rule, o.datastream_id, rule.level if on else 0)
        if not on:
            return None
        msg = (f"{rule.name}：{last[1]:g} → {o.value:g} {unit}，每分钟变化 {rate:+.3g}"
               f"（限值 {DIRECTIONS[d]} {lim:g}/分钟）")
        return Hit(rule, o.datastream_id, o.time, o.value, rule.level, entered, msg, low=rate < 0)

    def _duration(self, rule, o, last, states, unit):
        p = rule.params
        if not holds(p["op"], o.value, p["value"]):
            self.since.pop(rule.id, None)
            self._flag(rule, o.datastream_id, 0)
            return None
        start = self.since.setdefault(rule.id, o.time)
        held = (o.time - start).total_seconds() / 60
        if held < p["minutes"]:
            return None
        entered = self._flag(rule, o.datastream_id, rule.level)
        msg = f"{rule.name}：{OPS[p['op']]} {p['value']:g} {unit} 已持续 {held:.0f} 分钟（当前 {o.value:g}）"
        return Hit(rule, o.datastream_id, o.time, o.value, rule.level, entered, msg, low=p["op"] == "<=")

    def _combination(self, rule, o, last, states, unit):
        terms, window = rule.params["terms"], dt.timedelta(minutes=rule.params["within_minutes"])
        for i, t in enumerate(terms):
            if t["datastream_id"] == o.datastream_id and holds(t["op"], o.value, t["value"]):
                self.held[(rule.id, i)] = (o.time, o.value)
            elif (rule.id, i) not in self.held:
                # a partner not seen by this process yet: its latest stored reading
                st = states.get(t["datastream_id"])
                if st and st[1] is not None and st[2] is not None and holds(t["op"], st[2], t["value"]):
                    self.held[(rule.id, i)] = (st[1], st[2])
        got = [self.held.get((rule.id, i)) for i in range(len(terms))]
        on = all(got) and max(g[0] for g in got) - min(g[0] for g in got) <= window \
            and max(g[0] for g in got) == o.time
        if not all(got) or not on:
            if all(got) and o.time - min(g[0] for g in got) > window:
                self._flag(rule, rule.datastream_id, 0)
            return None
        entered = self._flag(rule, rule.datastream_id, rule.level)
        parts = "，".join(f"数据流{t['datastream_id']} {g[1]:g} {OPS[t['op']]} {t['value']:g}"
                         for t, g in zip(terms, got))
        msg = f"{rule.name}：{parts}（{rule.params['within_minutes']:g} 分钟内同时满足）"
        return Hit(rule, rule.datastream_id, o.time, got[0][1], rule.level, entered, msg)


# ---------------------------------------------------------------- writing

UPSERT = f"""
WITH x AS (
    SELECT * FROM unnest(%s::int[], %s::int[], %s::int[], %s::varchar[], %s::varchar[], %s::int2[], %s::text[],
                         %s::timestamptz[], %s::timestamptz[], %s::float8[], %s::float8[], %s::float8[], %s::int[],
                         %s::bool[])
             AS x(rule_id, ds, thing, network, kind, level, message, t0, t1, v0, v1, peak, n, low)),
upd AS (
    UPDATE lifeline.alarm a
       SET last_time = greatest(a.last_time, x.t1), last_value = x.v1,
           peak_value = CASE WHEN x.low THEN least(a.peak_value, x.peak) ELSE greatest(a.peak_value, x.peak) END,
           message = CASE WHEN x.level < a.level THEN x.message ELSE a.message END,
           level = least(a.level, x.level), count = a.count + x.n, updated_at = now()
      FROM x WHERE a.rule_id = x.rule_id AND a.datastream_id = x.ds AND a.status IN {OPEN}
    RETURNING a.id),
ins AS (
    -- a new alarm only on a crossing and when none is open (same snapshot as upd);
    -- DO NOTHING covers a concurrent ingester that opened it first
    INSERT INTO lifeline.alarm (rule_id, datastream_id, thing_id, network, kind, level, message, first_time,
                                last_time, first_value, last_value, peak_value, count)
    SELECT rule_id, ds, thing, network, kind, level, message, t0, t1, v0, v1, peak, n FROM x
     WHERE x.n > 0 AND NOT EXISTS (SELECT 1 FROM lifeline.alarm o WHERE o.rule_id = x.rule_id
                                      AND o.datastream_id = x.ds AND o.status IN {OPEN})
    ON CONFLICT (rule_id, datastream_id) WHERE status IN {OPEN} DO NOTHING
    RETURNING id, message)
INSERT INTO lifeline.alarm_history (alarm_id, action, to_status, comment, actor_name)
SELECT id, 'raise', 'raised', message, '系统' FROM ins"""


def upsert_params(hits: list[Hit], things: dict[int, tuple[int, str]]) -> tuple | None:
    """One row per rule × datastream: the batch's hits folded together."""
    rows: dict[tuple[int, int], dict] = {}
    for h in hits:
        thing = things.get(h.datastream_id)
        if thing is None:
            continue
        k = (h.rule.id, h.datastream_id)
        r = rows.get(k)
        if r is None:
            r = rows[k] = dict(rule=h.rule.id, ds=h.datastream_id, thing=thing[0], network=thing[1],
                               kind=h.rule.kind, level=h.level, message=h.message, t0=h.time, t1=h.time,
                               v0=h.value, v1=h.value, peak=h.value, n=0, low=h.low)
        if h.level < r["level"]:
            r["level"], r["message"] = h.level, h.message
        r["t1"], r["v1"] = h.time, h.value
        r["peak"] = min(r["peak"], h.value) if h.low else max(r["peak"], h.value)
        r["n"] += 1 if h.entered else 0
    if not rows:
        return None
    cols = ("rule", "ds", "thing", "network", "kind", "level", "message", "t0", "t1", "v0", "v1", "peak", "n", "low")
    return tuple([r[c] for r in rows.values()] for c in cols)


# ---------------------------------------------------------------- periodic sweep

SWEEP_OFFLINE = f"""
WITH due AS (
    SELECT r.id AS rule_id, d.id AS ds, d.thing_id, t.network, r.level, r.name, d.last_time, d.last_value,
           greatest(1, coalesce((r.params ->> 'periods')::int, 3)) AS periods, d.sampling_s
      FROM lifeline.alarm_rule r JOIN lifeline.iot_datastream d ON d.id = r.datastream_id
      JOIN lifeline.iot_thing t ON t.id = d.thing_id
     WHERE r.kind = 'offline' AND r.enabled
       AND (d.last_time IS NULL OR d.last_time < now() - make_interval(
            secs => greatest(1, coalesce((r.params ->> 'periods')::int, 3)) * d.sampling_s))),
ins AS (
    INSERT INTO lifeline.alarm AS a (rule_id, datastream_id, thing_id, network, kind, level, message, first_time,
                                     last_time, first_value, last_value, count)
    SELECT rule_id, ds, thing_id, network, 'offline', level,
           format('%s：%s 个采样周期（%s 秒）无数据，最后上报 %s', name, periods, periods * sampling_s,
                  coalesce(to_char(last_time AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD HH24:MI'), '无')),
           coalesce(last_time, now()), now(), last_value, last_value, 1 FROM due
    ON CONFLICT (rule_id, datastream_id) WHERE status IN {OPEN} DO UPDATE SET last_time = now()
    RETURNING a.id, (xmax = 0) AS fresh, a.message)
INSERT INTO lifeline.alarm_history (alarm_id, action, to_status, comment, actor_name)
SELECT id, 'raise', 'raised', message, '系统' FROM ins WHERE fresh RETURNING alarm_id"""

# an alarm whose 数字城管 case is closed (结案) is resolved
SWEEP_CASES = """
WITH done AS (
    UPDATE lifeline.alarm a SET status = 'resolved', closed_at = now(), updated_at = now(), version = a.version + 1
      FROM cases."case" c, (SELECT id, status AS old FROM lifeline.alarm) o
     WHERE c.id = a.case_id AND c.status = 'closed' AND a.status IN ('confirmed', 'dispatched') AND o.id = a.id
    RETURNING a.id, o.old, c.case_no)
INSERT INTO lifeline.alarm_history (alarm_id, action, from_status, to_status, comment, actor_name)
SELECT id, 'auto_resolve', old, 'resolved', '关联案卷 ' || case_no || ' 已结案，告警自动解除', '系统' FROM done
RETURNING alarm_id"""


def sweep(conn) -> dict:
    """Offline timeouts and case-closed auto-resolution (psycopg connection, caller's transaction)."""
    offline = len(conn.execute(SWEEP_OFFLINE).fetchall())
    resolved = len(conn.execute(SWEEP_CASES).fetchall()) if conn.execute(
        "SELECT to_regclass('cases.case') IS NOT NULL").fetchone()[0] else 0
    return {"offline_raised": offline, "auto_resolved": resolved}
