"""Who is calling: a logged-in session, an API key or HTTP Basic (for GIS
clients such as QGIS and GDAL). Role checks live here and only here.

Credentials sent on every request (API keys, Basic) are verified with scrypt
once and then remembered for CREDENTIAL_TTL seconds as a small snapshot, so
map clients fetching hundreds of items or tiles do not pay a hash and two
queries each time; disabling a user or key takes effect within that time."""
from __future__ import annotations

import base64
import functools
import hashlib
import threading
import time
from dataclasses import dataclass

from flask import abort, g, request
from flask_login import current_user

from geo.errors import GeoError
from webapp.auth.models import User
from webapp.auth.service import authenticate, verify_api_key
from webapp.db import get_db

CREDENTIAL_TTL = 60.0
SCOPE_ORDER = ["all", "dept", "region", "own"]


@dataclass(frozen=True)
class Principal:
    id: int
    username: str
    display_name: str
    role_codes: frozenset[str]
    dept_code: str | None
    region_code: str | None
    via: str  # session | api_key | basic
    permissions: frozenset[str] = frozenset()
    data_scope: str = "own"

    @classmethod
    def of(cls, user: User, via: str) -> "Principal":
        perms = frozenset(p for r in user.roles for p in (r.permissions or []))
        # The widest scope among the user's roles applies.
        scopes = [r.data_scope for r in user.roles if r.data_scope in SCOPE_ORDER] or ["own"]
        scope = min(scopes, key=SCOPE_ORDER.index)
        return cls(user.id, user.username, user.display_name, frozenset(user.role_codes), user.dept_code,
                   user.region_code, via, perms, scope)


_cache: dict[str, tuple[float, Principal]] = {}
_lock = threading.Lock()


def _remembered(digest: str) -> Principal | None:
    hit = _cache.get(digest)
    if hit and hit[0] > time.monotonic():
        return hit[1]
    return None


def _remember(digest: str, who: Principal) -> None:
    with _lock:
        if len(_cache) > 10_000:
            _cache.clear()
        _cache[digest] = (time.monotonic() + CREDENTIAL_TTL, who)


def principal() -> Principal | None:
    if "principal" in g:
        return g.principal
    who = None
    if current_user.is_authenticated:
        who = Principal.of(current_user._get_current_object(), "session")
    else:
        key = request.headers.get("X-API-Key") or request.args.get("api_key")
        auth = request.headers.get("Authorization", "")
        if key:
            who = _api_key_principal(key)
        elif auth.startswith("Basic "):
            who = _basic_principal(auth[6:])
    g.principal = who
    return who


def _api_key_principal(key: str) -> Principal:
    digest = "k:" + hashlib.sha256(key.encode()).hexdigest()
    who = _remembered(digest)
    if who is None:
        db = get_db()
        api_key = verify_api_key(db, key)
        user = db.get(User, api_key.user_id) if api_key.user_id else None
        if user is None or not user.enabled:
            raise GeoError("api_key_no_user", "API 密钥未绑定有效用户", status=401)
        who = Principal.of(user, "api_key")
        _remember(digest, who)
    return who


def _basic_principal(token: str) -> Principal:
    digest = "b:" + hashlib.sha256(token.encode()).hexdigest()
    who = _remembered(digest)
    if who is None:
        try:
            username, password = base64.b64decode(token, validate=True).decode("utf-8").split(":", 1)
        except Exception:
            raise GeoError("basic_auth_malformed", "HTTP Basic 认证信息格式错误", status=401) from None
        user = authenticate(get_db(), username, password, request.remote_addr, request.user_agent.string)
        from webapp.auth.session_policy import password_due
        if password_due(user):
            raise GeoError("password_change_required", "请先登录网页修改密码（临时密码或密码已过期）", status=403)
        who = Principal.of(user, "basic")
        _remember(digest, who)
    return who


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
            who = principal()
            if who is None:
                abort(401)
            if roles and not (who.role_codes & set(roles)) and "admin" not in who.role_codes:
                abort(403)
            return view(*args, **kwargs)
        return wrapper
    return deco
