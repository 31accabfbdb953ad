"""One small psycopg connection pool per process and DSN.

pygeoapi instantiates a provider on every request, so anything costly (pools,
table metadata) lives here at module level; pools are re-created after fork.
"""
from __future__ import annotations

import os
import threading

from psycopg_pool import ConnectionPool

_pools: dict[tuple[int, str], ConnectionPool] = {}
_lock = threading.Lock()


def pool(dsn: str) -> ConnectionPool:
    key = (os.getpid(), dsn)
    p = _pools.get(key)
    if p is None:
        with _lock:
            p = _pools.get(key)
            if p is None:
                p = ConnectionPool(dsn, min_size=1, max_size=8, open=True,
                                   kwargs={"autocommit": True, "prepare_threshold": 5})
                _pools[key] = p
    return p
