"""Flask web application: app factory in webapp.app."""
