"""安全运行监测系统 / 城市生命线工程 (R106–R124): risk points and LEC
assessment, inspection, hazards, emergency resources, IoT monitoring with
alarms, utility data docking and network analysis for gas, water supply,
drainage, heating and bridges.

One blueprint for pages (/lifeline/…) and one for the JSON API (/api/lifeline/…);
each part lives in its own module that adds routes to both."""
from flask import Blueprint

pages = Blueprint("lifeline", __name__, url_prefix="/lifeline", template_folder="templates",
                  static_folder="static", static_url_path="/static/lifeline")
api = Blueprint("lifeline_api", __name__, url_prefix="/api/lifeline")

from webapp.lifeline import risk, iot, network, hazards, alarms, emergency, docking  # noqa: E402,F401  (each module registers its routes)
