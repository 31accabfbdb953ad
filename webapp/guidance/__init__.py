"""业务指导系统 (business guidance, R1): policies and regulations, industry news
and experience exchange; articles with attachments, categories, visibility by
role/region and Chinese full-text search.

One blueprint for pages (/guidance/…) and one for the JSON API (/api/guidance/…)."""
from flask import Blueprint

pages = Blueprint("guidance", __name__, url_prefix="/guidance", template_folder="templates",
                  static_folder="static", static_url_path="/static/guidance")
api = Blueprint("guidance_api", __name__, url_prefix="/api/guidance")

from webapp.guidance import rest as _api_routes, views as _page_routes  # noqa: E402,F401  (register routes)
