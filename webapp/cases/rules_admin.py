"""Smart dispatch (R29-R30): auto-registration rules and the responsibility list (权责清单), editable, with a rule test bench."""
from __future__ import annotations
