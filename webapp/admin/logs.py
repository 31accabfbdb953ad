"""Placeholder: routes are added by this module."""
