"""Guidance articles: storage, visibility and search."""
