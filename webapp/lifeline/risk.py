"""Risk model (R106–R110, R118): risk categories, responsibility list, levels, collection and review of risk points, LEC assessment, risk maps and lists.

Pages live here; the JSON API in risk_config (categories, hazards, levels,
responsibility list) and risk_register (register, collection, review,
assessments, map data, list and export); LEC rules in risk_lec; the demo
records in risk_seed."""
from __future__ import annotations

from flask import render_template, url_for
from sqlalchemy import select

from geo.models import Region
from webapp.auth.guard import principal
from webapp.auth.models import Department
from webapp.auth.permissions import has_permission, require_permission
from webapp.db import get_db
from webapp.lifeline import pages
from webapp.lifeline import risk_config, risk_register  # noqa: F401  (register the API routes)
from webapp.lifeline.risk_seed import seed_demo  # noqa: F401  (called by `cityops demo load`)


def _ctx(**extra) -> dict:
    db = get_db()
    who = principal()
    regions = db.execute(select(Region.code, Region.name, Region.level, Region.parent_code)
                         .where(Region.level.in_(("street", "community"))).order_by(Region.code)).all()
    return {"refs": {"depts": [[c, n] for c, n in db.execute(select(Department.code, Department.name)
                                                             .order_by(Department.sort, Department.code))],
                     "streets": [[r.code, r.name] for r in regions if r.level == "street"],
                     "communities": [[r.code, r.name, r.parent_code] for r in regions if r.level == "community"],
                     "basemap": url_for("basemap.tile", z=0, x=0, y=0).replace("/0/0/0.png", "/{z}/{x}/{y}.png"),
                     "can_edit": has_permission(who, "lifeline:risk:edit"),
                     "can_review": has_permission(who, "lifeline:risk:review"),
                     "can_config": has_permission(who, "lifeline:config"),
                     # The configuration travels with the page: collectors (监督员) may lack lifeline:view.
                     "config": risk_config.config_json(db)}, **extra}


@pages.get("/risk/map")
@require_permission("lifeline:view")
def risk_map_page():
    return render_template("lifeline/risk_map.html", **_ctx())


@pages.get("/risk/list")
@require_permission("lifeline:view")
def risk_list_page():
    return render_template("lifeline/risk_list.html", **_ctx())


@pages.get("/risk")
@require_permission("lifeline:view")
def risk_register_page():
    return render_template("lifeline/risk_register.html", **_ctx())


@pages.get("/risk/review")
@require_permission("lifeline:risk:review")
def risk_review_page():
    return render_template("lifeline/risk_review.html", **_ctx())


@pages.get("/risk/collect")
@require_permission("lifeline:risk:edit")
def risk_collect_page():
    return render_template("lifeline/risk_collect.html", **_ctx())


@pages.get("/config/risk")
@require_permission("lifeline:config")
def risk_config_page():
    return render_template("lifeline/risk_config.html", **_ctx())
