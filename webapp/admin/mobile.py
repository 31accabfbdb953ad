"""Mobile management (R93): app versions (upload, release notes, forced update) and the update-check API the apps call."""
from __future__ import annotations
