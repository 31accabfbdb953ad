"""Regions (R90): county → street → community (→ unit grid) tree beside a map, with boundary editing and sibling gap/overlap validation."""
from __future__ import annotations
