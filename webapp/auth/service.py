"""Login with lockout, API keys with HMAC signatures, login log."""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
import time

from sqlalchemy import select
from sqlalchemy.orm import Session

from geo.errors import GeoError
from webapp.auth.models import ApiKey, LoginLog, User
from webapp.auth.passwords import hash_password, verify_password

SIGNATURE_WINDOW_S = 300


class LoginFailed(GeoError):
    status = 401


def authenticate(db: Session, username: str, password: str, ip: str | None = None, ua: str | None = None) -> User:
    user = db.scalar(select(User).where(User.username == username))
    now = dt.datetime.now(dt.timezone.utc)

    def fail(reason: str, message: str):
        db.add(LoginLog(username=username[:40], success=False, reason=reason, ip=ip, user_agent=(ua or "")[:300]))
        db.commit()
        raise LoginFailed("login_failed", message)

    if user is None:
        fail("unknown_user", "用户名或密码错误")
    if not user.enabled:
        fail("disabled", "该账号已停用，请联系管理员")
    if user.locked_until and user.locked_until > now:
        fail("locked", f"连续登录失败次数过多，账号已锁定至 {user.locked_until.astimezone(_CST):%H:%M}")
    if not verify_password(user.password_hash, password):
        user.failed_logins += 1
        attempts, minutes = _lockout()
        if user.failed_logins >= attempts:
            user.locked_until = now + dt.timedelta(minutes=minutes)
            user.failed_logins = 0
        fail("bad_password", "用户名或密码错误")
    user.failed_logins = 0
    user.locked_until = None
    user.last_login_at = now
    db.add(LoginLog(username=username, success=True, ip=ip, user_agent=(ua or "")[:300]))
    db.commit()
    return user


_CST = dt.timezone(dt.timedelta(hours=8))


def _lockout() -> tuple[int, int]:
    """(failed attempts before locking, minutes locked) from the settings (R95)."""
    from webapp import sysconfig
    return int(sysconfig.get("password.lockout_attempts")), int(sysconfig.get("password.lockout_minutes"))


def create_api_key(db: Session, name: str, user_id: int | None) -> str:
    """Returns the full key `key_id.secret`, shown once."""
    key_id = "k" + secrets.token_hex(8)
    secret = secrets.token_urlsafe(32)
    db.add(ApiKey(key_id=key_id, name=name, secret_hash=hash_password(secret), secret=secret, user_id=user_id))
    db.commit()
    return f"{key_id}.{secret}"


def verify_api_key(db: Session, full_key: str) -> ApiKey:
    try:
        key_id, secret = full_key.split(".", 1)
    except ValueError:
        raise GeoError("api_key_malformed", "API 密钥格式应为 <key_id>.<secret>", status=401) from None
    key = db.get(ApiKey, key_id)
    now = dt.datetime.now(dt.timezone.utc)
    if key is None or not key.enabled or (key.expires_at and key.expires_at < now):
        raise GeoError("api_key_invalid", "API 密钥无效或已停用", status=401)
    if not verify_password(key.secret_hash, secret):
        raise GeoError("api_key_invalid", "API 密钥无效或已停用", status=401)
    return key


def sign(secret: str, method: str, path: str, timestamp: str, body: bytes = b"") -> str:
    msg = "\n".join([method.upper(), path, timestamp, hashlib.sha256(body).hexdigest()]).encode()
    return hmac.new(secret.encode(), msg, hashlib.sha256).hexdigest()


def verify_signature(key: ApiKey, method: str, path: str, timestamp: str, signature: str, body: bytes = b"") -> None:
    """Outside systems sign writes: HMAC-SHA256 over method, path, time and body hash."""
    try:
        ts = int(timestamp)
    except (TypeError, ValueError):
        raise GeoError("signature_timestamp_invalid", "签名时间戳无效", status=401) from None
    if abs(time.time() - ts) > SIGNATURE_WINDOW_S:
        raise GeoError("signature_expired", "签名已过期（时间相差超过 5 分钟）", status=401)
    expected = sign(key.secret, method, path, timestamp, body)
    if not hmac.compare_digest(expected, signature or ""):
        raise GeoError("signature_invalid", "请求签名不正确", status=401)
