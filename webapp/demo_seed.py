"""Demo content beyond users: each business module that ships demo records
(menus, map sources, guidance articles, …) exposes `seed_demo(db, log)`;
the demo load calls them in this order."""
from __future__ import annotations

import importlib

MODULES = [
    "webapp.admin.menus",
    "webapp.admin.settings",
    "webapp.admin.workflows",
    "webapp.admin.mobile",
    "webapp.admin.spatial",
    "webapp.guidance.service",
    "webapp.cases.calendar_admin",
    "webapp.cases.rules_admin",
    "webapp.cases.seed",
    "webapp.lifeline.risk",
    "webapp.lifeline.iot",
    "webapp.lifeline.alarms",
    "webapp.lifeline.hazards",
    "webapp.lifeline.emergency",
    "webapp.lifeline.docking_seed",
]


def seed_all(db, log=print) -> None:
    for name in MODULES:
        seed = getattr(importlib.import_module(name), "seed_demo", None)
        if seed is not None:
            seed(db, log=log)
            db.commit()
