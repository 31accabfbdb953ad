"""Settings (R95): logo, login background, titles, organisations, version,
upload limits, password and session rules; applied without restart.

Values live in admin.setting (see webapp.sysconfig for the catalogue and the
cache every worker re-reads within seconds). The logo and login background
are images uploaded through the shared upload gate and served publicly at
/branding/<kind> (the login page shows them before anyone logs in)."""
from __future__ import annotations

from flask import Blueprint, abort, jsonify, render_template, request, send_file
from sqlalchemy import select

from geo.errors import GeoError
from webapp import sysconfig, uploads
from webapp.admin import api, pages
from webapp.admin.models import Setting
from webapp.auth.guard import principal
from webapp.auth.permissions import public, require_permission
from webapp.db import get_db
from webapp.validation import json_body

branding = Blueprint("branding", __name__)
FILES = {"logo": "site.logo", "login_background": "site.login_background"}
_EXT = {"jpg", "jpeg", "png", "gif", "webp"}


def _check(key: str, value):
    spec = sysconfig.DEFAULTS[key]
    label = spec.label
    if spec.kind == "file":
        raise GeoError("setting_file_only", f"“{label}”请通过上传图片设置")
    if value is None:
        return None  # back to the default
    if spec.kind == "str":
        if not isinstance(value, str) or not value.strip() or len(value.strip()) > 120:
            raise GeoError("setting_invalid", f"“{label}”应为不超过120字的文本", key=key)
        return value.strip()
    if spec.kind == "int":
        if not isinstance(value, int) or isinstance(value, bool) or not spec.minimum <= value <= spec.maximum:
            raise GeoError("setting_invalid", f"“{label}”应为 {spec.minimum} 到 {spec.maximum} 之间的整数", key=key)
        return value
    if spec.kind == "list":
        if not isinstance(value, list) or not value or not all(
                isinstance(v, str) and v.isascii() and v.isalnum() and len(v) <= 10 for v in value):
            raise GeoError("setting_invalid", f"“{label}”应为扩展名列表，如 jpg、pdf", key=key)
        return sorted({v.lower() for v in value})
    raise GeoError("setting_invalid", f"“{label}”不能修改", key=key)


def _listing() -> dict:
    values = sysconfig.snapshot()
    stored = {s.key: s for s in get_db().scalars(select(Setting))}
    items = []
    for key, spec in sysconfig.DEFAULTS.items():
        s = stored.get(key)
        items.append({"key": key, "label": spec.label, "group": spec.group, "kind": spec.kind,
                      "value": values[key], "default": spec.default, "minimum": spec.minimum,
                      "maximum": spec.maximum, "customised": s is not None,
                      "updated_at": s.updated_at.isoformat() if s else None, "updated_by": s.updated_by if s else None})
    return {"items": items}


@api.get("/settings")
@require_permission("admin:setting:view")
def settings_get():
    return jsonify(_listing())


@api.put("/settings")
@require_permission("admin:setting:edit")
def settings_put():
    """Change several settings at once: {"key": value, …}; null restores the default."""
    body = json_body(set(sysconfig.DEFAULTS))
    if not body:
        raise GeoError("body_empty", "没有要修改的设置")
    clean = {k: _check(k, v) for k, v in body.items()}
    db = get_db()
    who = principal()
    for key, value in clean.items():
        row = db.get(Setting, key, with_for_update=True)
        if value is None:
            if row is not None:
                db.delete(row)
        elif row is None:
            db.add(Setting(key=key, value=value, updated_by=who.username if who else None))
        elif row.value != value:
            row.value = value
            row.updated_by = who.username if who else None
    db.commit()
    sysconfig.invalidate()
    return jsonify(_listing())


@api.post("/settings/files/<kind>")
@require_permission("admin:setting:edit")
def settings_upload(kind: str):
    if kind not in FILES:
        raise GeoError("setting_file_unknown", "只能上传 logo（系统标志）或 login_background（登录背景）", status=404)
    stored = uploads.accept(request.files.get("file"), "image", allowed=sorted(_EXT),
                            max_bytes=(2 << 20) if kind == "logo" else (8 << 20))
    _check_image(stored.path)
    db = get_db()
    key = FILES[kind]
    row = db.get(Setting, key, with_for_update=True)
    value = {"relpath": stored.relpath, "name": stored.original_name, "mime": stored.mime, "sha256": stored.sha256}
    who = principal()
    if row is None:
        db.add(Setting(key=key, value=value, updated_by=who.username if who else None))
    else:
        row.value = value
        row.updated_by = who.username if who else None
    db.commit()
    sysconfig.invalidate()
    return jsonify({"key": key, "value": value, "url": f"/branding/{kind}?v={stored.sha256[:8]}"})


def _check_image(path) -> None:
    """Decode the whole image: a file with a valid header but broken data is refused."""
    from PIL import Image
    try:
        with Image.open(path) as im:
            im.verify()
            if im.width > 8000 or im.height > 8000:
                raise GeoError("image_too_large", "图片尺寸不能超过 8000×8000 像素")
    except GeoError:
        raise
    except Exception:
        raise GeoError("image_invalid", "图片文件已损坏或无法识别", status=415) from None


@api.delete("/settings/files/<kind>")
@require_permission("admin:setting:edit")
def settings_file_reset(kind: str):
    if kind not in FILES:
        raise GeoError("setting_file_unknown", "只能重置 logo 或 login_background", status=404)
    db = get_db()
    row = db.get(Setting, FILES[kind])
    if row is not None:
        db.delete(row)
        db.commit()
    sysconfig.invalidate()
    return jsonify({"key": FILES[kind], "value": None})


@branding.get("/branding/<kind>")
@public
def branding_file(kind: str):
    if kind not in FILES:
        abort(404)
    value = sysconfig.get(FILES[kind])
    if not value:
        abort(404)
    resp = send_file(uploads.resolve(value["relpath"]), mimetype=value.get("mime"), max_age=3600)
    return resp


@pages.get("/settings")
@require_permission("admin:setting:view")
def settings_page():
    return render_template("admin/settings.html")
