"""Workflow definitions (R92): BPMN process definitions listed with category and version; new versions deployed after validation."""
from __future__ import annotations
