"""Settings (R95): logo, login background, titles, organisations, version, upload limits, password and session rules; applied without restart."""
from __future__ import annotations
