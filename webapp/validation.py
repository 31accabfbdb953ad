"""Small shared checks for JSON request bodies: one place for the stable
error codes every API uses (body_invalid, field_unknown, field_missing,
sort_invalid, version_missing, version_conflict, …)."""
from __future__ import annotations

from flask import request

from geo.errors import GeoError


def json_body(allowed: set[str], required: set[str] | frozenset = frozenset()) -> dict:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise GeoError("body_invalid", "请求体应为 JSON 对象")
    unknown = set(body) - set(allowed)
    if unknown:
        raise GeoError("field_unknown", f"未知字段: {', '.join(sorted(unknown))}", fields=sorted(unknown))
    missing = sorted(f for f in required if body.get(f) in (None, ""))
    if missing:
        raise GeoError("field_missing", f"缺少必填字段: {', '.join(missing)}", fields=missing)
    return body


def body_and_files(form_field: str = "data", file_field: str = "photo") -> tuple[dict, list]:
    """Fields as JSON, or multipart with the JSON in `form_field` and files under
    `file_field` (pages that send photos with a form)."""
    import json
    if request.mimetype == "multipart/form-data":
        raw = request.form.get(form_field)
        try:
            body = json.loads(raw) if raw else {}
        except ValueError:
            raise GeoError("body_invalid", f"{form_field} 字段应为 JSON 对象") from None
        files = [f for f in request.files.getlist(file_field) if f and f.filename]
    else:
        body, files = request.get_json(silent=True), []
    if not isinstance(body, dict):
        raise GeoError("body_invalid", "请求体应为 JSON 对象")
    return body, files


def text_field(body: dict, key: str, label: str, max_len: int, required: bool = False) -> str | None:
    """Strip and check a string field in place; empty optional strings become None."""
    if key not in body:
        return None
    value = body[key]
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise GeoError(f"{key}_invalid", f"{label}不能为空")
        body[key] = None
        return None
    if not isinstance(value, str) or len(value.strip()) > max_len:
        raise GeoError(f"{key}_invalid", f"{label}应为不超过{max_len}字的文本")
    body[key] = value.strip()
    return body[key]


def int_field(body: dict, key: str, label: str, lo: int = -1_000_000, hi: int = 1_000_000) -> int | None:
    if key not in body:
        return None
    value = body[key]
    if not isinstance(value, int) or isinstance(value, bool) or not lo <= value <= hi:
        raise GeoError(f"{key}_invalid", f"{label}应为 {lo} 到 {hi} 之间的整数")
    return value


def bool_field(body: dict, key: str, label: str) -> bool | None:
    if key in body and not isinstance(body[key], bool):
        raise GeoError(f"{key}_invalid", f"{label}应为 true 或 false")
    return body.get(key)


def check_version(obj, body: dict, what: str, required: bool = True) -> None:
    """Optimistic locking: the client sends the version it read."""
    if "version" not in body:
        if required:
            raise GeoError("version_missing", "缺少 version（数据版本号），请刷新后重试")
        return
    if not isinstance(body["version"], int) or isinstance(body["version"], bool):
        raise GeoError("version_invalid", "version 应为整数")
    if body["version"] != obj.version:
        raise GeoError("version_conflict", f"{what}已被他人修改（当前版本 {obj.version}），请刷新后重试",
                       status=409, current_version=obj.version)
