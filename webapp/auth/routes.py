"""Login, logout and changing one's own password (page and API)."""
from __future__ import annotations

from urllib.parse import urlparse

import datetime as dt

from flask import Blueprint, flash, jsonify, redirect, render_template, request, url_for
from flask_login import current_user, login_user, logout_user

from geo.errors import GeoError
from webapp.auth.forms import LoginForm, PasswordForm
from webapp.auth.passwords import check_rules, describe_rules, hash_password, verify_password
from webapp.auth.permissions import authenticated, public
from webapp.auth.service import LoginFailed, authenticate
from webapp.db import get_db
from webapp.validation import json_body

bp = Blueprint("auth", __name__, template_folder="templates")


def _safe_next(target: str | None) -> str:
    # Only same-site relative paths: no open redirects.
    if target and target.startswith("/") and not target.startswith("//") and not urlparse(target).netloc:
        return target
    return url_for("home.index")


@bp.route("/login", methods=["GET", "POST"])
@public
def login():
    form = LoginForm()
    if form.validate_on_submit():
        try:
            user = authenticate(get_db(), form.username.data.strip(), form.password.data,
                                request.remote_addr, request.user_agent.string)
        except LoginFailed as err:
            flash(err.message, "error")
            return render_template("auth/login.html", form=form), 401
        login_user(user)
        return redirect(_safe_next(request.args.get("next")))
    if request.method == "POST":
        return render_template("auth/login.html", form=form), 400
    return render_template("auth/login.html", form=form)


@bp.route("/logout", methods=["POST"])
@public
def logout():
    logout_user()
    flash("已退出登录", "info")
    return redirect(url_for("auth.login"))


def _change(old: str, new: str) -> None:
    """Change the logged-in user's password after checking the old one and the rules."""
    db = get_db()
    user = db.get(type(current_user._get_current_object()), current_user.id, with_for_update=True)
    if not verify_password(user.password_hash, old):
        raise GeoError("password_wrong", "当前密码不正确", status=403)
    if new == old:
        raise GeoError("password_unchanged", "新密码不能与当前密码相同")
    check_rules(new)
    user.password_hash = hash_password(new)
    user.must_change_password = False
    user.password_changed_at = dt.datetime.now(dt.timezone.utc)
    user.version += 1
    db.commit()


@bp.route("/password", methods=["GET", "POST"])
@authenticated
def change_password():
    form = PasswordForm()
    forced = bool(current_user.must_change_password)
    status = 200
    if form.validate_on_submit():
        try:
            if form.new_password.data != form.confirm.data:
                raise GeoError("password_mismatch", "两次输入的新密码不一致")
            _change(form.old_password.data, form.new_password.data)
        except GeoError as err:
            flash(err.message, "error")
            status = err.status
        else:
            flash("密码已修改", "success")
            return redirect(_safe_next(request.args.get("next")))
    elif request.method == "POST":
        status = 400
    return render_template("auth/password.html", form=form, forced=forced, rules=describe_rules()), status


@bp.post("/api/me/password")
@authenticated
def change_password_api():
    body = json_body({"old_password", "new_password"}, {"old_password", "new_password"})
    if not all(isinstance(body[k], str) for k in body):
        raise GeoError("body_invalid", "密码应为文本")
    _change(body["old_password"], body["new_password"])
    return jsonify({"changed": True})
