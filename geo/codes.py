"""GB/T 30428 codes: region, unit grid, component and class codes.

Codes are generated and validated only here, so every part of the platform
agrees on one layout:

- region codes (GB/T 2260 + GB/T 10114 / NBS division codes):
  county 6 digits, street 9 (county + 3), community 12 (street + 3);
- unit grid code (GB/T 30428.1): community 12 digits + 3-digit serial = 15;
  legacy CJ/T 213-2005 codes (community + 2-digit serial = 14) are readable;
- component identifier (GB/T 30428.2): county 6 + big class 2 + small class 2
  + serial 6 = 16 digits;
- class code for components and events: big class 2 + small class 2 = 4.
"""
from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from geo.errors import GeoError

DEFAULT_COUNTY = "411721"

RegionLevel = Literal["county", "street", "community"]
_LEVEL_BY_LENGTH: dict[int, RegionLevel] = {6: "county", 9: "street", 12: "community"}
_LEVEL_NAMES: dict[str, str] = {"county": "县级", "street": "街道（乡镇）级", "community": "社区（村）级"}
_LENGTH_BY_LEVEL: dict[str, int] = {v: k for k, v in _LEVEL_BY_LENGTH.items()}


@dataclass(frozen=True)
class RegionCode:
    code: str
    county: str
    street: str | None
    community: str | None
    level: RegionLevel


@dataclass(frozen=True)
class GridCode:
    code: str
    county: str
    street: str  # 9 digits
    community: str  # 12 digits
    serial: int
    legacy: bool  # True for a 14-digit CJ/T 213-2005 code


@dataclass(frozen=True)
class ClassCode:
    code: str
    big_class: str
    small_class: str


@dataclass(frozen=True)
class ComponentCode:
    code: str
    county: str
    big_class: str
    small_class: str
    class_code: str
    serial: int


def _digits_problem(code: object, what: str) -> str | None:
    """Chinese reason why `code` is not a string of ASCII digits, or None."""
    if not isinstance(code, str):
        return f"{what}应为数字字符串，实际为{type(code).__name__}类型"
    if code == "":
        return f"{what}为空"
    bad = [c for c in code if c not in "0123456789"]
    if bad:
        return f"{what}只能包含数字，实际包含非数字字符“{bad[0]}”"
    return None


# --- region codes ------------------------------------------------------------


def _region_parts_problem(code: str) -> str | None:
    """Reason why a 6/9/12-digit region code has an impossible part, or None."""
    if code[4:6] == "00":
        return f"县级区划代码{code[:6]}末两位为00，表示地级市或省，不是县级代码"
    if len(code) >= 9 and code[6:9] == "000":
        return f"街道（乡镇）代码不能为000（{code[:9]}）"
    if len(code) == 12 and code[9:12] == "000":
        # NBS lists streets as 12 digits padded with 000; say so, it is a common mix-up.
        return f"社区（村）代码不能为000；{code}是统计用区划代码中街道的补零写法，街道请用9位代码{code[:9]}"
    return None


def validate_region_code(code: str, level: RegionLevel | None = None) -> RegionCode:
    """Parse a county (6), street (9) or community (12) code; optionally require a level."""
    if level is not None and level not in _LENGTH_BY_LEVEL:
        raise ValueError(f"unknown region level {level!r}")
    problem = _digits_problem(code, "区划代码")
    if problem:
        raise GeoError("region_code_invalid", problem)
    if level is not None and len(code) != _LENGTH_BY_LEVEL[level]:
        raise GeoError(
            "region_code_invalid",
            f"{_LEVEL_NAMES[level]}区划代码应为{_LENGTH_BY_LEVEL[level]}位数字，实际为{len(code)}位",
        )
    if len(code) not in _LEVEL_BY_LENGTH:
        raise GeoError(
            "region_code_invalid",
            f"区划代码应为6位（县）、9位（街道）或12位（社区）数字，实际为{len(code)}位",
        )
    problem = _region_parts_problem(code)
    if problem:
        raise GeoError("region_code_invalid", problem)
    found = _LEVEL_BY_LENGTH[len(code)]
    return RegionCode(
        code=code,
        county=code[:6],
        street=code[:9] if len(code) >= 9 else None,
        community=code if len(code) == 12 else None,
        level=found,
    )


# --- unit grid codes -----------------------------------------------------------


def _check_serial(serial: object, upper: int, error_code: str, what: str) -> int:
    if isinstance(serial, bool) or not isinstance(serial, int):
        raise GeoError(error_code, f"{what}应为整数，实际为{type(serial).__name__}类型")
    if not 1 <= serial <= upper:
        raise GeoError(error_code, f"{what}应在1–{upper}之间，实际为{serial}")
    return serial


def make_grid_code(community_code: str, serial: int) -> str:
    """15-digit unit grid code: 12-digit community code + 3-digit serial (001–999)."""
    community = validate_region_code(community_code, level="community")
    _check_serial(serial, 999, "grid_code_invalid", "单元网格顺序码")
    return f"{community.code}{serial:03d}"


def validate_grid_code(code: str, *, county: str | None = DEFAULT_COUNTY, allow_legacy: bool = True) -> GridCode:
    """Parse a 15-digit grid code (or a legacy 14-digit one when allow_legacy)."""
    problem = _digits_problem(code, "单元网格编码")
    if problem:
        raise GeoError("grid_code_invalid", problem)
    if len(code) == 14 and not allow_legacy:
        raise GeoError(
            "grid_code_invalid",
            "单元网格编码应为15位数字，实际为14位（旧标准CJ/T 213-2005编码，此处不接受）",
        )
    if len(code) not in (14, 15):
        expected = "15位数字（旧标准CJ/T 213-2005为14位）" if allow_legacy else "15位数字"
        raise GeoError("grid_code_invalid", f"单元网格编码应为{expected}，实际为{len(code)}位")
    if county is not None and code[:6] != county:
        raise GeoError("grid_code_invalid", f"单元网格编码前6位应为县级区划代码{county}，实际为{code[:6]}")
    problem = _region_parts_problem(code[:12])
    if problem:
        raise GeoError("grid_code_invalid", f"单元网格编码的区划部分有误：{problem}")
    legacy = len(code) == 14
    serial_text = code[12:]
    if int(serial_text) == 0:
        raise GeoError("grid_code_invalid", f"单元网格顺序码不能为{serial_text}，应从{'01' if legacy else '001'}开始")
    return GridCode(
        code=code,
        county=code[:6],
        street=code[:9],
        community=code[:12],
        serial=int(serial_text),
        legacy=legacy,
    )


def grid_serial_order(centroids: Sequence[tuple[float, float]], row_tolerance: float) -> list[int]:
    """Indices of `centroids` in numbering order: rows north→south, west→east within a row.

    Centroids are (x, y) in metres (e.g. EPSG:4547). A centroid joins the
    current row while it is within row_tolerance below the row's northernmost
    centroid; anchoring on the first one keeps a slanted row from drifting.
    order[i] is the index of the grid that gets serial i + 1.
    """
    if isinstance(row_tolerance, bool) or not isinstance(row_tolerance, (int, float)) \
            or not math.isfinite(row_tolerance) or row_tolerance < 0:
        raise GeoError("grid_order_invalid", f"行容差应为非负有限数（米），实际为{row_tolerance!r}")
    points: list[tuple[float, float]] = []
    for i, c in enumerate(centroids):
        try:
            x, y = float(c[0]), float(c[1])
        except (TypeError, ValueError, IndexError):
            raise GeoError("grid_order_invalid", f"第{i + 1}个网格中心点应为(x, y)数值，实际为{c!r}") from None
        if not (math.isfinite(x) and math.isfinite(y)):
            raise GeoError("grid_order_invalid", f"第{i + 1}个网格中心点坐标不是有限数：{c!r}")
        points.append((x, y))

    by_north = sorted(range(len(points)), key=lambda i: (-points[i][1], points[i][0]))
    rows: list[list[int]] = []
    row_top = math.inf
    for i in by_north:
        y = points[i][1]
        if rows and row_top - y <= row_tolerance:
            rows[-1].append(i)
        else:
            rows.append([i])
            row_top = y
    order: list[int] = []
    for row in rows:
        order.extend(sorted(row, key=lambda i: (points[i][0], -points[i][1])))
    return order


# --- class and component codes ------------------------------------------------------


def validate_class_code(code: str) -> ClassCode:
    """4-digit component/event class code: big class 01–99 + small class 01–99."""
    problem = _digits_problem(code, "分类代码")
    if problem:
        raise GeoError("class_code_invalid", problem)
    if len(code) != 4:
        raise GeoError("class_code_invalid", f"分类代码应为4位数字（2位大类+2位小类），实际为{len(code)}位")
    if code[:2] == "00":
        raise GeoError("class_code_invalid", f"大类代码不能为00（{code}）")
    if code[2:] == "00":
        raise GeoError("class_code_invalid", f"小类代码不能为00（{code}）")
    return ClassCode(code=code, big_class=code[:2], small_class=code[2:])


def make_component_code(class_code: str, serial: int, county: str = DEFAULT_COUNTY) -> str:
    """16-digit component identifier: county + 4-digit class + 6-digit serial."""
    cls = validate_class_code(class_code)
    region = validate_region_code(county, level="county")
    _check_serial(serial, 999_999, "component_code_invalid", "部件顺序码")
    return f"{region.code}{cls.code}{serial:06d}"


def validate_component_code(
    code: str,
    *,
    county: str | None = DEFAULT_COUNTY,
    known_classes: Iterable[str] | None = None,
) -> ComponentCode:
    """Parse a 16-digit component identifier; optionally check the class against a catalogue."""
    problem = _digits_problem(code, "部件标识码")
    if problem:
        raise GeoError("component_code_invalid", problem)
    if len(code) != 16:
        raise GeoError(
            "component_code_invalid",
            f"部件标识码应为16位数字（6位县级区划+2位大类+2位小类+6位顺序码），实际为{len(code)}位",
        )
    if county is not None and code[:6] != county:
        raise GeoError("component_code_invalid", f"部件标识码前6位应为县级区划代码{county}，实际为{code[:6]}")
    try:
        cls = validate_class_code(code[6:10])
    except GeoError as e:
        raise GeoError("component_code_invalid", f"部件标识码的分类部分有误：{e.message}") from None
    if code[10:] == "000000":
        raise GeoError("component_code_invalid", "部件顺序码不能为000000，应从000001开始")
    if known_classes is not None and cls.code not in set(known_classes):
        raise GeoError("component_class_unknown", f"部件小类代码{cls.code}不在部件分类表中")
    return ComponentCode(
        code=code,
        county=code[:6],
        big_class=cls.big_class,
        small_class=cls.small_class,
        class_code=cls.code,
        serial=int(code[10:]),
    )
