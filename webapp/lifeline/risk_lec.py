"""LEC (作业条件危险性评价法, standards §8): D = L × E × C with the standard
score tables, and D → level through the configured thresholds (R108).

Pure functions, no database: the callers pass the level rows. Scores are
Decimals so that 0.1 × 10 × 100 is exactly 100 at the boundaries."""
from __future__ import annotations

from decimal import Decimal, InvalidOperation

from geo.errors import GeoError

# score -> meaning (Chinese terms of the standard tables)
L_TABLE = {"10": "完全可以预料", "6": "相当可能", "3": "可能，但不经常", "1": "可能性小，完全意外",
           "0.5": "很不可能，可以设想", "0.2": "极不可能", "0.1": "实际不可能"}
E_TABLE = {"10": "连续暴露", "6": "每天工作时间内暴露", "3": "每周一次或偶然暴露", "2": "每月一次暴露",
           "1": "每年几次暴露", "0.5": "非常罕见地暴露"}
C_TABLE = {"100": "大灾难，许多人死亡", "40": "灾难，数人死亡", "15": "非常严重，一人死亡", "7": "严重，重伤",
           "3": "重大，致残", "1": "引人注目，需要救护"}
TABLES = {"l": ("事故发生的可能性（L）", L_TABLE), "e": ("暴露于危险环境的频繁程度（E）", E_TABLE),
          "c": ("发生事故可能造成的后果（C）", C_TABLE)}
CENT = Decimal("0.01")


def score(letter: str, value) -> Decimal:
    """One of L/E/C as a Decimal, refused unless it is a value of its standard table."""
    label, table = TABLES[letter]
    if isinstance(value, bool) or value is None or value == "":
        raise GeoError(f"lec_{letter}_invalid", f"请选择{label}")
    try:
        d = Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise GeoError(f"lec_{letter}_invalid", f"{label}应为标准分值之一：{'、'.join(table)}") from None
    for k in table:
        if d == Decimal(k):
            return Decimal(k)
    raise GeoError(f"lec_{letter}_invalid", f"{label}只能取标准分值：{'、'.join(table)}（收到 {value}）",
                   allowed=[float(k) for k in table])


def compute(l, e, c) -> tuple[Decimal, Decimal, Decimal, Decimal]:
    """(L, E, C, D) validated; D = L × E × C rounded to cents."""
    L, E, C = score("l", l), score("e", e), score("c", c)
    return L, E, C, (L * E * C).quantize(CENT)


def level_of(d: Decimal, levels: list) -> int:
    """Level 1–3 when D passes its lower bound (> or ≥ as configured), else 4.
    `levels`: objects or dicts with level, min_d, min_inclusive."""
    rows = sorted(levels, key=lambda r: _get(r, "level"))
    for r in rows:
        lo = _get(r, "min_d")
        if lo is None:
            continue
        lo = Decimal(str(lo))
        if d > lo or (_get(r, "min_inclusive") and d == lo):
            return int(_get(r, "level"))
    return 4


def _get(r, k):
    return r[k] if isinstance(r, dict) else getattr(r, k)


def check_levels(rows: list[dict]) -> list[dict]:
    """Validate a full level table: levels 1–4 once each, names unique, colours
    #rrggbb, lower bounds positive and strictly decreasing from 1 to 3."""
    import re
    if not isinstance(rows, list) or sorted(r.get("level") for r in rows if isinstance(r, dict)) != [1, 2, 3, 4]:
        raise GeoError("levels_invalid", "风险级别应为 1 至 4 级各一条")
    out = []
    names = set()
    for r in sorted(rows, key=lambda r: r["level"]):
        lv = r["level"]
        name = r.get("name")
        if not isinstance(name, str) or not name.strip() or len(name.strip()) > 20:
            raise GeoError("level_name_invalid", f"第{lv}级的名称不能为空且不超过20字")
        if name.strip() in names:
            raise GeoError("level_name_duplicate", f"级别名称“{name.strip()}”重复")
        names.add(name.strip())
        colour = r.get("colour")
        if not isinstance(colour, str) or not re.fullmatch(r"#[0-9a-fA-F]{6}", colour):
            raise GeoError("level_colour_invalid", f"第{lv}级的颜色应为 #RRGGBB 格式")
        cname = r.get("colour_name") or ""
        if not isinstance(cname, str) or len(cname) > 4:
            raise GeoError("level_colour_invalid", f"第{lv}级的颜色名称不超过4字")
        inclusive = r.get("min_inclusive", False)
        if not isinstance(inclusive, bool):
            raise GeoError("level_threshold_invalid", "“含下限”应为 true 或 false")
        lo = r.get("min_d")
        if lv == 4:
            if lo not in (None, ""):
                raise GeoError("level_threshold_invalid", "第4级（最低级）没有下限，D 低于第3级下限即属此级")
            lo = None
        else:
            if isinstance(lo, bool) or lo in (None, ""):
                raise GeoError("level_threshold_invalid", f"请填写第{lv}级的 D 值下限")
            try:
                lo = Decimal(str(lo)).quantize(CENT)
            except (InvalidOperation, ValueError):
                raise GeoError("level_threshold_invalid", f"第{lv}级的 D 值下限应为数字") from None
            if not lo.is_finite() or lo <= 0 or lo > Decimal(100000):
                raise GeoError("level_threshold_invalid", f"第{lv}级的 D 值下限应大于0且不超过100000")
        out.append({"level": lv, "name": name.strip(), "colour": colour.lower(), "colour_name": cname,
                    "min_d": lo, "min_inclusive": inclusive})
    bounds = [r["min_d"] for r in out[:3]]
    if not (bounds[0] > bounds[1] > bounds[2]):
        raise GeoError("level_threshold_order",
                       f"D 值下限应逐级递减：一级 > 二级 > 三级（当前 {bounds[0]:g} / {bounds[1]:g} / {bounds[2]:g}）")
    return out
