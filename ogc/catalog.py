"""This process's published-layer catalogue, rebuilt when the layer files change.

gunicorn runs several worker processes; a layer published through the admin
page is written as a yml file by one of them. Every /ogc request compares a
cheap stamp of the layer directories (see `stamp`, ~0.1 ms) with the one the catalogue was
built from; when it differs, that worker rebuilds the pygeoapi configuration,
OpenAPI document and API objects under a lock and swaps them in atomically.
Requests already running keep the snapshot they started with.

Two API objects are kept: the full one for callers with credentials and a
public one without internal collections, so anonymous callers do not see
internal layers' metadata in the landing page, collection list or OpenAPI.
"""
from __future__ import annotations

import logging
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from ogc.config import build_config, layer_dirs, libpq_dsn, public_config
from ogc.layers import Layer, load_layers

LOG = logging.getLogger(__name__)


def stamp(dirs: list[Path]) -> tuple:
    """Names, sizes and mtimes of the uploaded layers' files (the last
    directory, written at run time) plus the names in the shipped ones
    (changed by a deployment, which restarts the workers anyway)."""
    parts = []
    for n, d in enumerate(dirs):
        per_file = n == len(dirs) - 1
        try:
            with os.scandir(d) as it:
                for e in it:
                    if e.name.endswith(".yml"):
                        if per_file:
                            st = e.stat()
                            parts.append((n, e.name, st.st_size, st.st_mtime_ns))
                        else:
                            parts.append((n, e.name, 0, 0))
        except FileNotFoundError:
            continue
    return tuple(sorted(parts))


@dataclass(frozen=True)
class Snapshot:
    stamp: tuple
    layers: tuple[Layer, ...]
    by_id: dict
    api: object          # pygeoapi.api.API with every collection
    public_api: object   # the same without internal collections
    built_at: float


def build_apis(layers: list[Layer], dsn: str, base_url: str):
    from pygeoapi.api import API
    from pygeoapi.openapi import get_oas

    cfg = build_config(layers, dsn, base_url)
    pub = public_config(cfg, layers)
    return API(cfg, get_oas(cfg)), API(pub, get_oas(pub))


class Catalog:
    def __init__(self, settings, sqlalchemy_url: str, on_change=None):
        self.dirs = layer_dirs(settings)
        self.dsn = libpq_dsn(sqlalchemy_url)
        self.base_url = settings.base_url
        self.on_change = on_change
        self._lock = threading.Lock()
        self._failed: tuple | None = None
        self.snapshot = self._build(stamp(self.dirs))

    def _build(self, st: tuple) -> Snapshot:
        layers = load_layers(self.dirs)
        api, public_api = build_apis(layers, self.dsn, self.base_url)
        snap = Snapshot(st, tuple(layers), {l.id: l for l in layers}, api, public_api, time.time())
        if self.on_change:
            self.on_change(snap)
        return snap

    def current(self) -> Snapshot:
        snap = self.snapshot
        st = stamp(self.dirs)
        if st == snap.stamp or st == self._failed:
            return snap
        with self._lock:
            snap = self.snapshot
            st = stamp(self.dirs)
            if st == snap.stamp or st == self._failed:
                return snap
            from ogc.provider import table_meta
            table_meta.cache_clear()  # a re-published table may have other columns
            try:
                self.snapshot = snap = self._build(st)
                self._failed = None
                LOG.info("layer catalogue reloaded: %d layers", len(snap.layers))
            except Exception as exc:  # noqa: BLE001
                # A broken file must not take the OGC API down: keep serving the
                # last good catalogue and do not retry until the files change again.
                self._failed = st
                LOG.error("layer catalogue not reloaded, keeping the previous one: %s", exc)
        return snap

    def reload(self) -> Snapshot:
        """Rebuild now (the writer calls this so its own worker answers at once)."""
        with self._lock:
            self._failed = None
            self.snapshot = self.snapshot.__class__(
                (), self.snapshot.layers, self.snapshot.by_id, self.snapshot.api, self.snapshot.public_api,
                self.snapshot.built_at)
        return self.current()
