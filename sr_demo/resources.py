"""Where SR Lab's own data folders are (`models/`, `examples/`): one lookup
instead of `Path(__file__).parents[N]` scattered over modules."""

from __future__ import annotations

from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parent


def repo_file(name: str) -> Path:
    """`name` (e.g. "models", "examples/heldout") beside the package: the
    checkout's folder in a source or editable install, which is how SR Lab
    runs (Spaces runs the repository itself)."""
    return _PACKAGE_DIR.parent / name
