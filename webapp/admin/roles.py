"""Roles and permissions (R88): permission sets on menus, pages, buttons and APIs, and the data scope of each role."""
from __future__ import annotations
