"""案卷查询 (case search page): keyword search (case number, address,
description, Chinese substrings), filters, paging and a map of the results,
all through GET /api/cases within the caller's data scope."""
from __future__ import annotations

from flask import render_template
from sqlalchemy import select

from geo.models import Region
from webapp.auth.permissions import require_permission
from webapp.cases import pages
from webapp.cases.models import KINDS, STATUSES
from webapp.cases.stages import SOURCES, STAGES
from webapp.db import get_db


@pages.get("/")
@require_permission("case:view")
def search_page():
    streets = get_db().execute(select(Region.code, Region.name).where(Region.level == "street")
                               .order_by(Region.code)).all()
    return render_template("cases/search.html", statuses=STATUSES, stages=STAGES, kinds=KINDS, sources=SOURCES,
                           streets=[{"code": c, "name": n} for c, n in streets])
