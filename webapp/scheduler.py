"""Periodic work the platform needs besides requests: the alarm sweep (offline
timeouts, alarms whose case closed) every minute and the difficult-case sweep
every ten minutes. Run by `cityops tick` (started by `cityops start`)."""
from __future__ import annotations

import logging
import signal
import time

LOG = logging.getLogger("cityops.tick")
JOBS = [  # (name, period in seconds, dotted function taking a db session)
    ("alarms", 60, "webapp.lifeline.alarms:sweep"),
    ("difficult", 600, "webapp.cases.difficult_service:sweep"),
]


def _call(app, target: str) -> dict:
    import importlib
    mod, fn = target.split(":")
    with app.app_context():
        from webapp.db import get_db
        db = get_db()
        try:
            out = getattr(importlib.import_module(mod), fn)(db)
            db.commit()
            return out
        except Exception:
            db.rollback()
            raise


def run(app, once: bool = False) -> None:
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    due = {name: 0.0 for name, _, _ in JOBS}
    while not stop:
        now = time.monotonic()
        for name, period, target in JOBS:
            if now >= due[name]:
                due[name] = now + period
                try:
                    LOG.info("%s: %s", name, _call(app, target))
                except Exception:  # one failing job must not stop the others
                    LOG.exception("%s sweep failed", name)
        if once:
            return
        time.sleep(1)
