"""Menus (R89): an unlimited tree for the web and the mobile app; each user's navigation is built from it and their roles."""
from __future__ import annotations
