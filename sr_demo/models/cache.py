"""A small thread-safe LRU of loaded models, so the UI does not rebuild a
network on every click. Uploads are keyed by content (sha256), not name."""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Callable

from sr_demo.models.loader import LoadedModel, file_sha256, load_checkpoint_file, load_zoo_model

MAX_MODELS = 4

_models: OrderedDict[str, LoadedModel] = OrderedDict()
_lock = threading.Lock()


def _get(key: str, load: Callable[[], LoadedModel]) -> LoadedModel:
    with _lock:
        if key in _models:
            _models.move_to_end(key)
            return _models[key]
    # load outside the lock: a slow download must not block cached models
    model = load()
    with _lock:
        model = _models.setdefault(key, model)  # another thread may have won
        _models.move_to_end(key)
        while len(_models) > MAX_MODELS:
            _models.popitem(last=False)
    return model


def get_model(name: str) -> LoadedModel:
    """Zoo model `name`, loaded once and kept while recently used."""
    return _get(f"zoo:{name}", lambda: load_zoo_model(name))


def get_uploaded_model(path: str | os.PathLike) -> LoadedModel:
    """A user's checkpoint; re-uploading the same bytes reuses the model."""
    path = Path(path)
    return _get(f"upload:{file_sha256(path)}", lambda: load_checkpoint_file(path))


def clear() -> None:
    with _lock:
        _models.clear()
