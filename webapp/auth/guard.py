"""Who is calling: a logged-in session, an API key or HTTP Basic (for GIS
clients such as QGIS and GDAL). Role checks live here and only here."""
from __future__ import annotations

import base64
import functools
import hashlib
import time

from flask import abort, g, request
from flask_login import current_user

from geo.errors import GeoError
from webapp.auth.models import User
from webapp.auth.service import authenticate, verify_api_key
from webapp.db import get_db

_basic_cache: dict[str, tuple[float, int]] = {}


def principal() -> User | None:
    if "principal" in g:
        return g.principal
    user = None
    if current_user.is_authenticated:
        user = current_user._get_current_object()
    else:
        key = request.headers.get("X-API-Key") or request.args.get("api_key")
        auth = request.headers.get("Authorization", "")
        db = get_db()
        if key:
            api_key = verify_api_key(db, key)
            user = db.get(User, api_key.user_id) if api_key.user_id else None
            if user is None or not user.enabled:
                raise GeoError("api_key_no_user", "API 密钥未绑定有效用户", status=401)
        elif auth.startswith("Basic "):
            user = _basic_user(auth[6:])
    g.principal = user
    return user


def _basic_user(token: str) -> User:
    digest = hashlib.sha256(token.encode()).hexdigest()
    db = get_db()
    cached = _basic_cache.get(digest)
    if cached and cached[0] > time.monotonic():
        user = db.get(User, cached[1])
        if user is not None and user.enabled:
            return user
    try:
        username, password = base64.b64decode(token).decode("utf-8").split(":", 1)
    except Exception:
        raise GeoError("basic_auth_malformed", "HTTP Basic 认证信息格式错误", status=401) from None
    user = authenticate(db, username, password, request.remote_addr, request.user_agent.string)
    _basic_cache[digest] = (time.monotonic() + 60, user.id)
    return user


def require_login(view):
    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        if principal() is None:
            abort(401)
        return view(*args, **kwargs)
    return wrapper


def require_roles(*roles: str):
    def deco(view):
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            user = principal()
            if user is None:
                abort(401)
            if roles and not (user.role_codes & set(roles)) and "admin" not in user.role_codes:
                abort(403)
            return view(*args, **kwargs)
        return wrapper
    return deco
