"""Offline raster basemap: our own layers rendered into XYZ PNG tiles."""
