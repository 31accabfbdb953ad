"""应用维护系统 (system administration): users, departments, roles, menus, regions,
dictionaries, workflow definitions, mobile apps, logs, settings, spatial data.

One blueprint for pages (/admin/…) and one for the JSON API (/api/admin/…);
each part lives in its own module that adds routes to both."""
from flask import Blueprint

pages = Blueprint("admin", __name__, url_prefix="/admin", template_folder="templates",
                  static_folder="static", static_url_path="/static/admin")
api = Blueprint("admin_api", __name__, url_prefix="/api/admin")

from webapp.admin import (users, departments, logs, dicts, roles, menus, settings, regions,  # noqa: E402,F401
                          workflows, mobile, spatial, map_sources, apikeys)  # (each module registers its routes)
