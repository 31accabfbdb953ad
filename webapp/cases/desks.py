"""Command-centre desks and case detail: acceptance, dispatch, department, check tasks; case detail with timeline; printable case sheet."""
from __future__ import annotations
