"""Decoding and validating sensor messages (format in etl/iot/ingest.py).

Pure functions: a message becomes accepted rows or counted rejections,
never an exception."""
from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import orjson

from etl.iot.catalogue import Catalogue

LOCAL = ZoneInfo("Asia/Shanghai")
ROOT = "xiping"
NETWORKS = ("gas", "water", "drainage", "heating", "bridge")
REASONS = ("malformed", "out_of_range", "unknown_device")
MAX_FUTURE = dt.timedelta(minutes=5)
MAX_AGE = dt.timedelta(days=30)   # devices buffer readings while offline; older is a clock fault


@dataclass(slots=True)
class Row:
    datastream_id: int
    time: dt.datetime
    value: float
    quality: int
    message_id: str | None


@dataclass(slots=True)
class Rejection:
    reason: str     # one of REASONS
    detail: str


def source_of(topic: str) -> str:
    parts = topic.split("/")
    return parts[1] if len(parts) >= 2 and parts[1] in NETWORKS else "invalid"


def _time(raw, now: dt.datetime, max_age: dt.timedelta) -> dt.datetime | str:
    if isinstance(raw, str):
        try:
            t = dt.datetime.fromisoformat(raw)
        except ValueError:
            return "时间格式错误"
        if t.tzinfo is None:
            t = t.replace(tzinfo=LOCAL)
    elif isinstance(raw, (int, float)) and not isinstance(raw, bool) and math.isfinite(raw):
        t = dt.datetime.fromtimestamp(raw / 1000 if raw > 1e11 else raw, dt.timezone.utc)  # epoch s or ms
    else:
        return "缺少时间"
    if t > now + MAX_FUTURE:
        return "时间在未来"
    if t < now - max_age:
        return "时间过旧"
    return t


def _one(item, ds, now: dt.datetime, rows: list, rejects: list, max_age: dt.timedelta) -> None:
    if not isinstance(item, dict):
        rejects.append(Rejection("malformed", "观测不是 JSON 对象"))
        return
    t = _time(item.get("t"), now, max_age)
    if isinstance(t, str):
        rejects.append(Rejection("malformed", t))
        return
    v = item.get("v")
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
        rejects.append(Rejection("malformed", "数值无效"))
        return
    unit = item.get("u")
    if unit is not None and unit != ds.unit:
        rejects.append(Rejection("malformed", f"单位不一致：{unit!r}，应为 {ds.unit!r}"))
        return
    if not ds.valid_min <= v <= ds.valid_max:
        rejects.append(Rejection("out_of_range", f"{v} 超出量程 [{ds.valid_min}, {ds.valid_max}]"))
        return
    q = item.get("q", 0)
    if isinstance(q, bool) or not isinstance(q, int) or not 0 <= q <= 255:
        rejects.append(Rejection("malformed", "质量码无效"))
        return
    mid = item.get("id")
    if mid is not None and not isinstance(mid, (str, int)):
        rejects.append(Rejection("malformed", "消息编号无效"))
        return
    rows.append(Row(ds.id, t, float(v), q, None if mid is None else str(mid)[:64]))


def decode(topic: str, payload: bytes, catalogue: Catalogue, now: dt.datetime | None = None,
           max_age: dt.timedelta = MAX_AGE) -> tuple[list[Row], list[Rejection]]:
    """Topic xiping/{network}/{thing}/{datastream} with {"t","v",…} or a list of
    them; topic xiping/{network}/{thing}/batch with a list of {"ds","t","v",…}."""
    now = now or dt.datetime.now(dt.timezone.utc)
    rows: list[Row] = []
    rejects: list[Rejection] = []
    parts = topic.split("/")
    if len(parts) != 4 or parts[0] != ROOT or parts[1] not in NETWORKS:
        return rows, [Rejection("malformed", f"主题格式错误：{topic[:80]}")]
    _, network, thing, code = parts
    try:
        body = orjson.loads(payload)
    except orjson.JSONDecodeError:
        return rows, [Rejection("malformed", "不是合法的 JSON")]
    if code == "batch":
        if not isinstance(body, list):
            return rows, [Rejection("malformed", "批量消息应为数组")]
        for item in body:
            ds = catalogue.get(network, thing, item.get("ds")) if isinstance(item, dict) else None
            if ds is None:
                rejects.append(Rejection("unknown_device", f"未登记的设备或数据流：{thing}/"
                                         f"{item.get('ds') if isinstance(item, dict) else '?'}"))
                continue
            _one(item, ds, now, rows, rejects, max_age)
        return rows, rejects
    ds = catalogue.get(network, thing, code)
    items = body if isinstance(body, list) else [body]
    if ds is None:
        return rows, [Rejection("unknown_device", f"未登记的设备或数据流：{network}/{thing}/{code}")] * len(items)
    for item in items:
        _one(item, ds, now, rows, rejects, max_age)
    return rows, rejects
