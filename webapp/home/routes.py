"""The map-first home page."""
from __future__ import annotations

from flask import Blueprint, render_template
from flask_login import login_required

bp = Blueprint("home", __name__, template_folder="templates", static_folder="static",
               static_url_path="/static/home")


@bp.route("/")
@login_required
def index():
    return render_template("home/map.html")
