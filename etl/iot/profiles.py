"""What each kind of monitoring point measures, and how its readings behave.

Used by the demo seed (registry + a day of history) and by the simulator, so
both produce the same realistic curves: gas %LEL near zero with noise, water
pressure with the diurnal demand dip, flow with morning/evening peaks,
manhole level rising with rainfall events, heating supply temperature and
pressure, bridge strain/deflection/vibration with traffic peaks.

Thresholds: level 1 (红) is the most severe … 4 (蓝). Gas adjacent-space
limits follow common detector practice (low alarm 25 %LEL, high 50 %LEL;
standards.md §7.2, unconfirmed); the others are demo values an operator
edits per datastream.
"""
from __future__ import annotations

import math
import random
from dataclasses import dataclass
from zoneinfo import ZoneInfo

LOCAL = ZoneInfo("Asia/Shanghai")


@dataclass(frozen=True)
class Property:
    code: str
    name: str
    unit: str
    valid_min: float
    valid_max: float
    thresholds: dict
    sampling_s: int
    decimals: int


PROPS = {p.code: p for p in [
    Property("ch4", "甲烷浓度", "%LEL", 0, 100, {"high": {"1": 50, "2": 25, "3": 10}}, 60, 2),
    Property("temperature", "环境温度", "°C", -40, 80, {}, 300, 1),
    Property("pressure_water", "管网压力", "MPa", 0, 1.6, {"low": {"2": 0.14, "3": 0.18}, "high": {"2": 0.6}}, 60, 3),
    Property("flow", "瞬时流量", "m³/h", 0, 5000, {}, 60, 1),
    Property("level", "井内液位", "m", 0, 6, {"high": {"1": 2.5, "2": 2.0, "3": 1.5}}, 60, 2),
    Property("supply_temp", "供水温度", "°C", 0, 150, {"high": {"2": 110, "3": 100}, "low": {"3": 55}}, 60, 1),
    Property("return_temp", "回水温度", "°C", 0, 150, {}, 60, 1),
    Property("pressure_heat", "供水压力", "MPa", 0, 2.5, {"high": {"2": 1.2}, "low": {"2": 0.3}}, 60, 3),
    Property("strain", "应变", "με", -2000, 2000, {"high": {"2": 600, "3": 450}}, 10, 1),
    Property("deflection", "挠度", "mm", -200, 200, {"high": {"1": 60, "2": 40, "3": 30}}, 10, 2),
    Property("vibration", "振动加速度", "m/s²", 0, 50, {"high": {"2": 2.5, "3": 1.5}}, 10, 3),
]}

# thing kind → datastreams (code, property)
KIND_STREAMS = {
    "gas_detector": [("ch4", "ch4"), ("temp", "temperature")],
    "pressure_station": [("pressure", "pressure_water"), ("flow", "flow")],
    "level_gauge": [("level", "level")],
    "heating_station": [("supply_temp", "supply_temp"), ("return_temp", "return_temp"),
                        ("supply_pressure", "pressure_heat")],
    "bridge_monitor": [("strain", "strain"), ("deflection", "deflection"), ("vibration", "vibration")],
    "camera": [],
}
KIND_NAMES = {"gas_detector": "可燃气体监测仪", "pressure_station": "压力流量监测点", "flow_meter": "流量计",
              "level_gauge": "液位计", "heating_station": "热力监测点", "bridge_monitor": "桥梁结构监测",
              "camera": "视频监控", "other": "其他"}
NETWORK_NAMES = {"gas": "燃气", "water": "供水", "drainage": "排水", "heating": "热力", "bridge": "桥梁"}


def _hour(ts: float) -> float:
    lt = ts + 8 * 3600  # Asia/Shanghai has no DST
    return (lt % 86400) / 3600


def _traffic(h: float) -> float:
    """0…1: morning and evening rush hours."""
    return 0.15 + 0.85 * (math.exp(-((h - 8) ** 2) / 2) + math.exp(-((h - 18) ** 2) / 2.5))


def _demand(h: float) -> float:
    return 0.3 + 0.7 * (math.exp(-((h - 7.5) ** 2) / 3) + 0.8 * math.exp(-((h - 19) ** 2) / 4))


def _rain(ts: float, seed: int) -> float:
    """Rainfall intensity 0…1: a couple of showers a day, different per manhole group."""
    day = int((ts + 8 * 3600) // 86400)
    r = random.Random(day * 7919 + seed % 3)
    total = 0.0
    for _ in range(2):
        start, dur = r.uniform(0, 24), r.uniform(1, 4)
        h = _hour(ts)
        if start <= h <= start + dur:
            total += r.uniform(0.3, 1.0) * math.sin(math.pi * (h - start) / dur)
    return min(total, 1.0)


def value(prop: str, ts: float, rng: random.Random, seed: int = 0) -> float:
    """A realistic reading of `prop` at epoch seconds `ts`."""
    h = _hour(ts)
    g = rng.gauss
    if prop == "ch4":
        v = abs(g(0.8, 0.6))
    elif prop == "temperature":
        v = 14 + 6 * math.sin((h - 9) / 24 * 2 * math.pi) + g(0, 0.3)
    elif prop == "pressure_water":
        v = 0.34 - 0.1 * _demand(h) + g(0, 0.005)
    elif prop == "flow":
        v = (120 + seed % 5 * 40) * _demand(h) + g(0, 4)
    elif prop == "level":
        v = 0.25 + 1.1 * _rain(ts, seed) + abs(g(0, 0.02))
    elif prop == "supply_temp":
        v = 82 + 8 * math.cos((h - 5) / 24 * 2 * math.pi) + g(0, 0.4)
    elif prop == "return_temp":
        v = 50 + 5 * math.cos((h - 5) / 24 * 2 * math.pi) + g(0, 0.4)
    elif prop == "pressure_heat":
        v = 0.65 + g(0, 0.01)
    elif prop == "strain":
        v = 60 + 160 * _traffic(h) * rng.random() + g(0, 3)
    elif prop == "deflection":
        v = 2 + 9 * _traffic(h) * rng.random() + g(0, 0.1)
    elif prop == "vibration":
        v = 0.02 + 0.4 * _traffic(h) * rng.random() ** 3 + abs(g(0, 0.005))
    else:
        raise KeyError(prop)
    p = PROPS[prop]
    return round(min(max(v, p.valid_min), p.valid_max), p.decimals)


def breach_value(prop: str) -> float:
    """A reading past the property's most severe high (or low) limit, inside the valid range."""
    p = PROPS[prop]
    high, low = p.thresholds.get("high"), p.thresholds.get("low")
    if high:
        lim = high[min(high, key=int)]
        return round(min(lim * 1.2, p.valid_max), p.decimals)
    if low:
        lim = low[min(low, key=int)]
        return round(max(lim * 0.5, p.valid_min), p.decimals)
    return p.valid_max
