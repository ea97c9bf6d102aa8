"""Files of an installed or fetched registry package, for the converter tests (skip where absent)."""

from __future__ import annotations

from pathlib import Path

import pytest

from sr_demo.models.packages import package_root
from sr_demo.models.zoo import PackageFiles


def package_file(package: str, version: str, rel: str) -> Path:
    """`rel` inside pip package `package==version`, found the way the zoo finds it."""
    source = PackageFiles(registry="pypi", package=package, version=version, files=(("file", rel, ""),),
                          converter="", install="fetch", licence="")
    root = package_root(source)
    if root is None:
        pytest.skip(f"{package}=={version} is neither installed nor fetched (`sr-demo fetch` or pip install it)")
    return root / rel
