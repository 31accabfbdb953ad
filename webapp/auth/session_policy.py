"""Per-request session rules from the settings (R95), applied without restart:

- idle timeout: a browser session unused for `session.idle_minutes` is logged out;
- auto-refresh: the session cookie is re-issued every `session.refresh_minutes`
  while the user is active (a sliding expiry);
- forced password change: after an administrator set a temporary password, or
  when the password is older than `password.max_age_days`, the user can do
  nothing but change it (pages redirect, APIs answer 403
  `password_change_required`)."""
from __future__ import annotations

import datetime as dt
import time

from flask import flash, redirect, request, session, url_for
from flask_login import current_user, logout_user

from geo.errors import GeoError
from webapp import sysconfig

# Endpoints a user who must change their password may still reach.
_OPEN = {"auth.login", "auth.logout", "auth.change_password", "auth.change_password_api", "static", "assets.vendor",
         "_health", "basemap.tile"}


def password_due(user) -> bool:
    if user.must_change_password:
        return True
    days = int(sysconfig.get("password.max_age_days"))
    if days <= 0:
        return False
    changed = user.password_changed_at or user.created_at
    return changed is not None and changed < dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=days)


def _is_api() -> bool:
    from webapp.errors import wants_json
    return request.path.startswith("/api/") or wants_json()


def install(app) -> None:
    app.permanent_session_lifetime = dt.timedelta(days=1)

    @app.before_request
    def _session_rules():
        if request.endpoint in ("static", "assets.vendor", "_health") or not current_user.is_authenticated:
            return None
        now = time.time()
        seen = session.get("seen")
        idle = int(sysconfig.get("session.idle_minutes")) * 60
        if seen is not None and now - seen > idle:
            logout_user()
            session.pop("seen", None)
            if _is_api():
                raise GeoError("session_expired", "登录已超时，请重新登录", status=401)
            flash("长时间未操作，登录已超时，请重新登录", "info")
            return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
        refresh = int(sysconfig.get("session.refresh_minutes")) * 60
        # pygeoapi's responses carry a plain dict of headers that cannot take a
        # cookie, so /ogc requests check the idle time but do not refresh it.
        if (seen is None or now - seen > min(refresh, idle / 2)) and not request.path.startswith("/ogc"):
            session["seen"] = now
            session.permanent = True
        if request.endpoint not in _OPEN and password_due(current_user):
            if _is_api():
                raise GeoError("password_change_required", "请先修改密码（临时密码或密码已过期）", status=403)
            return redirect(url_for("auth.change_password", next=request.full_path.rstrip("?")))
        return None

