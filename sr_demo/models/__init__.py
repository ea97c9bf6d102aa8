"""Models: the zoo table, weights loading, a model cache and the runner.

Names resolve lazily (PEP 562), so `import sr_demo.models` stays cheap and
never imports torch-heavy code or spandrel until a name is used.
"""

from __future__ import annotations

from sr_demo._lazy import lazy_exports

_EXPORTS = {
    "ZOO": "zoo",
    "ZooEntry": "zoo",
    "get_entry": "zoo",
    "zoo_names": "zoo",
    "available_entries": "zoo",
    "availability": "zoo",
    "GROUP_TITLES": "zoo",
    "LoadedModel": "loader",
    "load_zoo_model": "loader",
    "load_checkpoint_file": "loader",
    "read_state_dict": "loader",
    "get_model": "cache",
    "get_uploaded_model": "cache",
    "upscale": "runner",
    "RunResult": "runner",
}
__all__, __getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
