"""指挥协调系统 (case lifecycle): intake, acceptance, the BPMN workflow, time
limits on a working calendar, smart dispatch and difficult cases (R2–R5,
R18–R22, R29–R30).

One blueprint for pages (/cases/…) and one for the JSON API (/api/cases/…);
each part lives in its own module that adds routes to both."""
from flask import Blueprint

pages = Blueprint("cases", __name__, url_prefix="/cases", template_folder="templates",
                  static_folder="static", static_url_path="/static/cases")
api = Blueprint("cases_api", __name__, url_prefix="/api/cases")

from webapp.cases import (intake, views, desks, calendar_admin, rules_admin,  # noqa: E402,F401
                          difficult, pages_desks, pages_search, pages_case)  # (each module registers its routes)
