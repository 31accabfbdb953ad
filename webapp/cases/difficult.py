"""Difficult cases (R18-R22): conditions, marking, ownership confirmation (确权), quick search and analysis."""
from __future__ import annotations
