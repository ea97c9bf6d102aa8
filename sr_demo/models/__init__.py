"""Models: the zoo table, weights loading, a model cache and the runner.

Names resolve lazily (PEP 562), so `import sr_demo.models` stays cheap and
never imports torch-heavy code or spandrel until a name is used.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "ZOO": "zoo",
    "ZooEntry": "zoo",
    "get_entry": "zoo",
    "zoo_names": "zoo",
    "available_entries": "zoo",
    "LoadedModel": "loader",
    "load_zoo_model": "loader",
    "load_checkpoint_file": "loader",
    "read_state_dict": "loader",
    "get_model": "cache",
    "get_uploaded_model": "cache",
    "upscale": "runner",
    "RunResult": "runner",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
