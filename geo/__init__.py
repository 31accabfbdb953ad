"""Shared spatial model and place logic for the city operation platform."""
