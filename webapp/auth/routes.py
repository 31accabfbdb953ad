"""Login and logout pages."""
from __future__ import annotations

from urllib.parse import urlparse

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import login_user, logout_user

from webapp.auth.forms import LoginForm
from webapp.auth.permissions import public
from webapp.auth.service import LoginFailed, authenticate
from webapp.db import get_db

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
