"""API keys for outside systems: issued to a user (the caller acts as that
user, with that user's roles and data scope), shown once, optionally
expiring, disabled at any time. Writes from outside systems can be signed
with HMAC (webapp.auth.service.sign / verify_signature); the docking push
API requires it."""
from __future__ import annotations

import datetime as dt

from flask import jsonify, render_template
from sqlalchemy import select

from geo.errors import GeoError
from webapp.admin import api, pages
from webapp.auth.models import ApiKey, User
from webapp.auth.permissions import require_permission
from webapp.auth.service import create_api_key
from webapp.db import get_db
from webapp.validation import bool_field, json_body, text_field


def _json(k: ApiKey, users: dict[int, str]) -> dict:
    now = dt.datetime.now(dt.timezone.utc)
    return {"key_id": k.key_id, "name": k.name, "user_id": k.user_id, "user": users.get(k.user_id),
            "enabled": k.enabled, "expires_at": k.expires_at.isoformat() if k.expires_at else None,
            "expired": bool(k.expires_at and k.expires_at < now), "created_at": k.created_at.isoformat()}


def _users(db) -> dict[int, str]:
    return {i: f"{u}（{n}）" for i, u, n in db.execute(select(User.id, User.username, User.display_name))}


@api.get("/api-keys")
@require_permission("admin:apikey:view")
def apikey_list():
    db = get_db()
    users = _users(db)
    keys = db.scalars(select(ApiKey).order_by(ApiKey.created_at.desc())).all()
    return jsonify({"items": [_json(k, users) for k in keys]})


@api.post("/api-keys")
@require_permission("admin:apikey:edit")
def apikey_create():
    """{name, user_id, expires_at?} → the full key, shown only in this answer."""
    db = get_db()
    body = json_body({"name", "user_id", "expires_at"}, {"name", "user_id"})
    name = text_field(body, "name", "密钥名称（调用方系统）", 80, required=True)
    uid = body["user_id"]
    if not isinstance(uid, int) or isinstance(uid, bool):
        raise GeoError("user_id_invalid", "user_id 应为用户编号")
    user = db.get(User, uid)
    if user is None or not user.enabled:
        raise GeoError("user_not_found", "绑定的用户不存在或已停用", status=404)
    expires = None
    if body.get("expires_at"):
        try:
            expires = dt.datetime.fromisoformat(body["expires_at"])
        except (TypeError, ValueError):
            raise GeoError("expires_at_invalid", "有效期应为日期时间（如 2027-12-31T23:59:59+08:00）") from None
        if expires.tzinfo is None:
            expires = expires.replace(tzinfo=dt.timezone(dt.timedelta(hours=8)))
        if expires <= dt.datetime.now(dt.timezone.utc):
            raise GeoError("expires_at_invalid", "有效期应晚于当前时间")
    full = create_api_key(db, name, uid)
    key = db.get(ApiKey, full.split(".", 1)[0])
    if expires:
        key.expires_at = expires
        db.commit()
    return jsonify({**_json(key, _users(db)), "key": full}), 201


@api.patch("/api-keys/<key_id>")
@require_permission("admin:apikey:edit")
def apikey_update(key_id: str):
    """{enabled} — disabling takes effect within the 60 s credential cache."""
    db = get_db()
    key = db.get(ApiKey, key_id, with_for_update=True)
    if key is None:
        raise GeoError("api_key_not_found", f"API 密钥 {key_id} 不存在", status=404)
    body = json_body({"enabled"}, {"enabled"})
    key.enabled = bool_field(body, "enabled", "是否启用")
    db.commit()
    return jsonify(_json(key, _users(db)))


@pages.get("/api-keys")
@require_permission("admin:apikey:view")
def apikeys_page():
    return render_template("admin/apikeys.html")
