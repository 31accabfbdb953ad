"""System settings (R95) kept in `admin.setting`, read through a short cache.

Every worker process re-reads the (small) table at most every
`CACHE_SECONDS`, so a change made in one gunicorn worker applies in all of
them within that time, without a restart. Code reads settings only through
`get()`; the defaults and their Chinese labels live in `DEFAULTS`."""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text

CACHE_SECONDS = 2.0


@dataclass(frozen=True)
class Spec:
    default: Any
    kind: str  # str | int | bool | list | file
    label: str
    group: str
    minimum: int | None = None
    maximum: int | None = None


DEFAULTS: dict[str, Spec] = {
    "site.title_zh": Spec("西平县城市运行管理服务平台", "str", "系统中文名称", "站点"),
    "site.title_en": Spec("Xiping County City Operation Management Service Platform", "str", "系统英文名称", "站点"),
    "site.owner": Spec("西平县城市管理局", "str", "建设单位", "站点"),
    "site.support": Spec("西平县数字化城市管理监督指挥中心", "str", "技术支持单位", "站点"),
    "site.version": Spec("V1.0", "str", "系统版本号", "站点"),
    "site.logo": Spec(None, "file", "系统标志（Logo）", "站点"),
    "site.login_background": Spec(None, "file", "登录页背景图", "站点"),
    "upload.max_mb": Spec(20, "int", "附件大小上限（MB）", "上传", 1, 500),
    "upload.image_types": Spec(["jpg", "jpeg", "png", "gif", "webp"], "list", "允许的图片类型", "上传"),
    "upload.document_types": Spec(["pdf", "doc", "docx", "xls", "xlsx", "ppt", "pptx", "txt", "zip"], "list",
                                  "允许的文档类型", "上传"),
    "upload.media_types": Spec(["mp3", "m4a", "amr", "wav", "mp4", "mov"], "list", "允许的音视频类型", "上传"),
    "upload.spatial_max_mb": Spec(200, "int", "空间数据上传上限（MB）", "上传", 1, 2048),
    "upload.app_max_mb": Spec(300, "int", "移动端安装包上限（MB）", "上传", 1, 2048),
    "session.idle_minutes": Spec(120, "int", "登录会话空闲超时（分钟）", "安全", 5, 1440),
    "session.refresh_minutes": Spec(30, "int", "令牌自动续期间隔（分钟）", "安全", 1, 720),
    "password.min_length": Spec(8, "int", "密码最小长度", "安全", 6, 64),
    "password.require_classes": Spec(2, "int", "密码须包含的字符类别数（大写/小写/数字/符号）", "安全", 1, 4),
    "password.max_age_days": Spec(0, "int", "密码有效期（天，0 为不限）", "安全", 0, 3650),
    "password.lockout_attempts": Spec(5, "int", "连续登录失败锁定次数", "安全", 3, 20),
    "password.lockout_minutes": Spec(15, "int", "锁定时长（分钟）", "安全", 1, 1440),
    "case.duplicate_distance_m": Spec(50, "int", "重复案件判定距离（米）", "案件", 1, 1000),
    "case.duplicate_hours": Spec(72, "int", "重复案件判定时间窗（小时）", "案件", 1, 720),
    "case.component_search_m": Spec(30, "int", "就近部件匹配半径（米）", "案件", 1, 500),
    "case.max_media": Spec(9, "int", "每次上报最多附件数", "案件", 1, 30),
}

_lock = threading.Lock()
_cache: dict[str, tuple[float, dict[str, Any]]] = {}  # engine url -> (expires, values)


def _engine(engine=None):
    if engine is not None:
        return engine
    from flask import current_app
    return current_app.extensions["cityops.engine"]


def _stored(engine) -> dict[str, Any]:
    key = str(engine.url)
    hit = _cache.get(key)
    now = time.monotonic()
    if hit and hit[0] > now:
        return hit[1]
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT key, value FROM admin.setting")).all()
    values = {k: v for k, v in rows}
    with _lock:
        _cache[key] = (now + CACHE_SECONDS, values)
    return values


def invalidate() -> None:
    """Forget cached values in this process (the writer calls it after a change)."""
    with _lock:
        _cache.clear()


def get(key: str, engine=None) -> Any:
    spec = DEFAULTS[key]  # KeyError for unknown keys: settings are declared, not invented
    value = _stored(_engine(engine)).get(key)
    return spec.default if value is None else value


def snapshot(engine=None) -> dict[str, Any]:
    stored = _stored(_engine(engine))
    return {k: (stored.get(k) if stored.get(k) is not None else s.default) for k, s in DEFAULTS.items()}


def upload_limit(category: str, engine=None) -> tuple[int, list[str]]:
    """(max bytes, allowed extensions) for an upload category:
    image | document | media | attachment (all three) | data (csv/xlsx imports) | spatial | app."""
    mb = get("upload.max_mb", engine)
    if category == "image":
        return mb << 20, list(get("upload.image_types", engine))
    if category == "document":
        return mb << 20, list(get("upload.document_types", engine))
    if category == "media":
        return mb << 20, list(get("upload.media_types", engine))
    if category == "attachment":
        exts = [*get("upload.image_types", engine), *get("upload.document_types", engine),
                *get("upload.media_types", engine)]
        return mb << 20, exts
    if category == "data":  # tabular imports: holiday lists, responsibility lists, users
        return mb << 20, ["csv", "xlsx", "xls"]
    if category == "spatial":
        return get("upload.spatial_max_mb", engine) << 20, ["zip", "gpkg", "geojson", "json", "csv"]
    if category == "app":
        return get("upload.app_max_mb", engine) << 20, ["apk", "ipa", "wgt", "hap"]
    raise ValueError(f"unknown upload category {category!r}")
