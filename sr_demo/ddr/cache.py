"""Pooled features of a (network, patch set) computed once: in memory, and on disk under the user cache.

Why not ship .npz files: the key must follow the weights (zoo weights are
retrained and re-pinned, published ones are converted on the user's machine),
and a shipped file would go stale silently. Keyed by the weights' sha256, the
patch-set recipe and the layer names, a cached entry can only be right; the
tab warms the default view in the background at start, so a first visit
rarely waits. Only pooled ("gap") features go to disk: a few hundred KB.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict
from pathlib import Path

import numpy as np

VERSION = 1  # bump when patches or features change meaning
MAX_MEMORY = 64

_memory: OrderedDict[str, dict[str, np.ndarray]] = OrderedDict()
_lock = threading.Lock()
stats = {"memory": 0, "disk": 0, "computed": 0}


def key(**parts) -> str:
    text = json.dumps({"v": VERSION, **parts}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def directory() -> Path:
    from sr_demo.models.loader import cache_dir

    return cache_dir() / "ddr"


def get(k: str, disk: bool = True) -> dict[str, np.ndarray] | None:
    with _lock:
        if k in _memory:
            _memory.move_to_end(k)
            stats["memory"] += 1
            return _memory[k]
    path = directory() / f"{k}.npz"
    if disk and path.is_file():
        try:
            with np.load(path) as z:
                value = {name: z[name] for name in z.files}
        except (OSError, ValueError):  # a torn or foreign file: recompute
            return None
        stats["disk"] += 1
        _remember(k, value)
        return value
    return None


def _remember(k: str, value: dict[str, np.ndarray]) -> None:
    with _lock:
        _memory[k] = value
        _memory.move_to_end(k)
        while len(_memory) > MAX_MEMORY:
            _memory.popitem(last=False)


def put(k: str, value: dict[str, np.ndarray], disk: bool = True) -> None:
    stats["computed"] += 1
    _remember(k, value)
    if not disk:
        return
    try:
        directory().mkdir(parents=True, exist_ok=True)
        tmp = directory() / f"{k}.{threading.get_ident()}.tmp.npz"
        np.savez(tmp, **value)
        tmp.replace(directory() / f"{k}.npz")
    except OSError:  # a read-only cache: memory only
        pass


_inflight: dict[str, threading.Lock] = {}


def once(k: str, compute, disk: bool = True) -> dict[str, np.ndarray]:
    """The cached value of `k`, else `compute()` stored; a second thread asking for the same key meanwhile
    (a click during the tab's warm-up) waits for the first instead of computing it again."""
    if (hit := get(k, disk)) is not None:
        return hit
    with _lock:
        lock = _inflight.setdefault(k, threading.Lock())
    with lock:
        if (hit := get(k, disk)) is None:
            hit = compute()
            put(k, hit, disk)
    with _lock:
        _inflight.pop(k, None)
    return hit


def clear_memory() -> None:
    with _lock:
        _memory.clear()
    stats.update(memory=0, disk=0, computed=0)
