"""Case intake from every source: location in any CRS converted by geo/, class, description, attachments; geocoded to community, street, unit grid and responsibility grid; nearest component proposed; duplicates flagged."""
from __future__ import annotations
