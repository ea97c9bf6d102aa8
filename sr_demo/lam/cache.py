"""A small thread-safe LRU of LAM results, so re-clicking a window, switching
tabs or comparing models again costs nothing."""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any, Hashable

MAX_RESULTS = 32

_results: OrderedDict[Hashable, Any] = OrderedDict()
_lock = threading.Lock()
stats = {"hits": 0, "misses": 0}


def get(key: Hashable) -> Any | None:
    with _lock:
        if key in _results:
            _results.move_to_end(key)
            stats["hits"] += 1
            return _results[key]
        stats["misses"] += 1
        return None


def put(key: Hashable, value: Any) -> None:
    with _lock:
        _results[key] = value
        _results.move_to_end(key)
        while len(_results) > MAX_RESULTS:
            _results.popitem(last=False)


def clear_cache() -> None:
    with _lock:
        _results.clear()
        stats.update(hits=0, misses=0)
