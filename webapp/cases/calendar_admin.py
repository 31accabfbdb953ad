"""Working calendar and time limits: workdays, holidays, working hours; limits per class and stage; pages and API for their maintenance."""
from __future__ import annotations
