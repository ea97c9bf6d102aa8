"""Weights in, ready modules out: zoo models (shipped file, registry-package
files converted once into the cache, or a URL; sha256-checked) and user
uploads (SR Lab's own layouts first, else spandrel).

Checkpoints are untrusted: pickles load with `weights_only=True`, so one that
needs code execution is refused instead of run.
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import re
import shutil
import tempfile
import urllib.request
import warnings
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from sr_demo.errors import UserError
from sr_demo.models.archs import ArchSpec, arch_names, detect_arch, get_spec
from sr_demo.models.packages import cache_dir, package_root
from sr_demo.models.zoo import PackageFiles, Shipped, Url, ZooEntry, get_entry, models_dir

_PICKLE_SUFFIXES = (".pth", ".pt", ".ckpt")
_WRAPPER_KEYS = ("params_ema", "params", "state_dict", "model")


#: spandrel architecture (lower case) -> why a crop changes what it computes (ours state it in their spec)
_SPANDREL_CROP_SENSITIVE = {
    "rcan": "global average pooling in its channel attention",
    "swinir": "self-attention in windows fixed to the image grid",
    "swin2sr": "self-attention in windows fixed to the image grid",
    "hat": "windowed self-attention and global channel attention",
    "dat": "self-attention in windows fixed to the image grid",
}


@dataclass
class LoadedModel:
    """A module ready for inference (CPU, eval, frozen) and what the runner
    needs to know about it."""

    name: str
    module: nn.Module
    scale: int
    arch: str
    params: int
    sha256: str | None
    source: str  # "builtin" (no weights) | "zoo" | "upload"
    supports_half: bool
    tiling_ok: bool
    pad_multiple: int
    notes: str = ""
    min_size: int = 0  # smallest input side the model accepts (spandrel's size_requirements)
    spec: ArchSpec | None = None  # None for architectures only spandrel knows

    def __post_init__(self) -> None:
        if self.spec is None and self.arch in arch_names():
            self.spec = get_spec(self.arch)

    @property
    def crop_sensitive(self) -> str:
        """Why a crop changes what the network computes ("" when it does not)."""
        if self.spec is not None:
            return self.spec.crop_sensitive
        return _SPANDREL_CROP_SENSITIVE.get(self.arch.lower(), "")

    @property
    def receptive_radius(self) -> float | None:
        """Theoretical receptive radius in LR pixels; None when unknown or global."""
        if self.spec is None or self.spec.receptive_radius is None or self.crop_sensitive:
            return None
        return float(self.spec.receptive_radius(self.module))

    @property
    def feature_layers(self) -> dict[str, str]:
        """{label: dotted module name} of LR feature maps, shallow to deep ({} when unknown)."""
        if self.spec is None or self.spec.feature_layers is None:
            return {}
        return self.spec.feature_layers(self.module)

    @property
    def inputs(self) -> tuple[str, ...]:
        return () if self.spec is None else self.spec.inputs


def file_sha256(path: str | os.PathLike) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def read_state_dict(path: str | os.PathLike) -> dict[str, torch.Tensor]:
    """Tensors of a .safetensors/.pth/.pt/.ckpt file, unwrapped from BasicSR's
    `params_ema`/`params` (or `state_dict`/`model`), `module.` prefixes removed."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".safetensors":
        from safetensors import SafetensorError
        from safetensors.torch import load_file

        try:
            obj: Any = load_file(str(path), device="cpu")
        except (SafetensorError, OSError) as e:
            raise UserError(f"{path.name} is not a readable safetensors file ({e})") from e
    elif suffix in _PICKLE_SUFFIXES:
        obj = _torch_load(path)
    else:
        raise UserError(
            f"{path.name}: unsupported file type {suffix or '(none)'}; use .safetensors, .pth, .pt or .ckpt"
        )
    return _tensors_only(_unwrap(obj), path.name)


def _torch_load(path: Path) -> Any:
    try:
        with warnings.catch_warnings():  # torch warns about old pickle protocols: our message says what matters
            warnings.simplefilter("ignore")
            return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as e:
        if found := re.search(r"Unsupported global: GLOBAL (\S+)", str(e)):
            raise UserError(
                f"{path.name} holds Python objects that would run code when loaded ({found.group(1)}); "
                "SR Lab only reads plain tensors: re-save it as a state dict or .safetensors"
            ) from e
        raise UserError(f"{path.name} is not a PyTorch checkpoint (unreadable pickle)") from e
    except (RuntimeError, EOFError, OSError, ValueError, zipfile.BadZipFile) as e:
        reason = str(e).split(".")[0].strip() or type(e).__name__
        raise UserError(f"{path.name} is not a readable PyTorch checkpoint ({reason})") from e


def _unwrap(obj: Any) -> Any:
    if isinstance(obj, dict):
        for key in _WRAPPER_KEYS:
            if isinstance(obj.get(key), dict):
                obj = obj[key]
                break
    return obj


def _tensors_only(obj: Any, file_name: str) -> dict[str, torch.Tensor]:
    if not isinstance(obj, dict) or not obj:
        raise UserError(f"{file_name} holds no state dict (found {type(obj).__name__})")
    bad = [k for k, v in obj.items() if not isinstance(v, torch.Tensor)]
    if bad:
        raise UserError(
            f"{file_name} is not a plain state dict: {bad[0]!r} is a {type(obj[bad[0]]).__name__}, not a tensor"
        )
    return {str(k).removeprefix("module."): v for k, v in obj.items()}


# --- zoo weights ---------------------------------------------------------


def _check_sha256(path: Path, expected: str | None, what: str) -> None:
    if expected is None:
        return
    actual = file_sha256(path)
    if actual != expected.lower():
        raise UserError(f"sha256 mismatch for {what} ({path.name}): expected {expected}, got {actual}")


def resolve_weights(entry: ZooEntry) -> Path:
    """A `Shipped` or `Url` entry's weights file: shipped in models/, else
    cached, else downloaded into the cache; sha256-verified when pinned."""
    source = entry.source
    if not isinstance(source, (Shipped, Url)):
        raise UserError(f"{entry.name} has no weights file")
    for candidate in (models_dir() / source.file, cache_dir() / source.file):
        if candidate.is_file():
            _check_sha256(candidate, source.sha256, entry.name)
            return candidate
    if isinstance(source, Shipped):
        raise UserError(
            f"{entry.name} is not trained yet: {source.file} is not in {models_dir()}. "
            "Train it with `python -m training.run_pending` (a GPU helps), or pick another model"
        )
    target = cache_dir() / source.file
    _download(source.url, target, source.sha256, entry.name)
    return target


def _download(url: str, target: Path, sha256: str | None, what: str) -> None:
    """Download to a temp file beside `target`, verify, then rename, so a
    broken download never sits in the cache under the final name."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=target.name, suffix=".part")
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=60) as response:
            shutil.copyfileobj(response, out)
        _check_sha256(tmp, sha256, what)
        os.replace(tmp, target)
    except OSError as e:  # URLError is one
        raise UserError(f"Could not download {what} from {url}: {getattr(e, 'reason', e)}") from e
    finally:
        tmp.unlink(missing_ok=True)


def converted_weights(entry: ZooEntry) -> Path:
    """A `PackageFiles` entry converted once per machine: the package's files
    (sha256-checked) run through the entry's converter, saved as safetensors in
    the cache under the source file's sha256, so a new package version never
    reuses an old conversion."""
    from safetensors.torch import save_file

    from sr_demo.models.sources import convert

    source = entry.source
    assert isinstance(source, PackageFiles)
    root = package_root(source)
    if root is None:
        raise UserError(f"{entry.name} needs {source.spec} first: run `sr-demo fetch {entry.name}`")
    target = cache_dir() / "converted" / f"{entry.name}-{source.files[0][2][:16]}.safetensors"
    if target.is_file():
        return target
    paths = {}
    for role, rel, sha256 in source.files:
        _check_sha256(root / rel, sha256, f"{entry.name} ({role})")
        paths[role] = root / rel
    sd = convert(source.converter, paths, entry)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=target.name, suffix=".part")
    os.close(fd)
    try:
        save_file({k: v.contiguous() for k, v in sd.items()}, tmp_name, metadata={"converted_from": source.spec})
        os.replace(tmp_name, target)
    finally:
        Path(tmp_name).unlink(missing_ok=True)
    return target


def _ready(module: nn.Module) -> nn.Module:
    module.eval().cpu()
    module.requires_grad_(False)
    return module


def _count_params(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def from_state_dict(name: str, arch: str, kwargs: dict[str, Any], sd: dict[str, torch.Tensor] | None,
                    sha256: str | None, source: str, notes: str = "") -> LoadedModel:
    """Build `arch`, load `sd` strictly (None: no weights), wrap with its spec's capabilities."""
    spec = get_spec(arch)
    module = spec.cls(**kwargs)
    if sd is not None:
        module.load_state_dict({k: v.float() for k, v in sd.items()}, strict=True)
    if spec.for_inference is not None:
        module = spec.for_inference(module)
    return LoadedModel(name=name, module=_ready(module), scale=kwargs["scale"], arch=arch,
                       params=_count_params(module), sha256=sha256, source=source,
                       supports_half=spec.supports_half, tiling_ok=spec.tiling_ok,
                       pad_multiple=spec.pad_multiple_for(kwargs["scale"]), notes=notes, spec=spec)


def load_zoo_model(name: str) -> LoadedModel:
    """Build zoo model `name` and load its weights (CPU, eval, frozen)."""
    entry = get_entry(name)
    kwargs = dict(scale=entry.scale, **entry.arch_kwargs)
    if entry.source is None:
        return from_state_dict(entry.name, entry.arch, kwargs, None, None, "builtin")
    path = converted_weights(entry) if isinstance(entry.source, PackageFiles) else resolve_weights(entry)
    sha256 = entry.sha256 or file_sha256(path)
    return from_state_dict(entry.name, entry.arch, kwargs, read_state_dict(path), sha256, "zoo")


# --- user uploads ----------------------------------------------------------


def _layout_from_metadata(path: Path) -> tuple[str, dict[str, Any]] | None:
    """(arch, kwargs) recorded in a safetensors header by SR Lab itself
    (`training.evaluate` writes arch, scale and arch_kwargs), so every file the
    zoo ships loads as an upload too."""
    if path.suffix.lower() != ".safetensors":
        return None
    from safetensors import safe_open

    try:
        with safe_open(str(path), "pt") as f:
            meta = f.metadata() or {}
        arch, kwargs = meta["arch"], json.loads(meta.get("arch_kwargs", "{}"))
        scale = int(meta["scale"])
    except (KeyError, ValueError, OSError, TypeError):
        return None
    if arch not in arch_names() or not isinstance(kwargs, dict):
        return None
    return arch, {**kwargs, "scale": scale}


def load_checkpoint_file(path: str | os.PathLike, name: str | None = None) -> LoadedModel:
    """Load a user's checkpoint: SR Lab's own files (layout in the header),
    the layouts our architectures recognise (strict), else any single-image
    architecture spandrel detects; UserError otherwise."""
    path = Path(path)
    sd = read_state_dict(path)
    display, sha256 = name or path.stem, file_sha256(path)
    inferred = _layout_from_metadata(path) or detect_arch(sd, path.name)
    if inferred is not None:
        arch, kwargs = inferred
        try:
            return from_state_dict(display, arch, kwargs, sd, sha256, "upload",
                              notes=f"{arch} layout: " + ", ".join(f"{k}={v}" for k, v in kwargs.items()))
        except RuntimeError:
            pass  # same key names, different network (e.g. ESRGAN+): spandrel may know it
    return _load_with_spandrel(sd, path.name, dict(name=display, sha256=sha256, source="upload"))


class _SpandrelModule(nn.Module):
    """Calls a spandrel model the way its descriptor does (some return
    tuples or rescale), so the runner sees image -> image."""

    def __init__(self, descriptor: Any) -> None:
        super().__init__()
        self.model = descriptor.model
        self._call = descriptor._call_fn

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self._call(self.model, x)


def _load_with_spandrel(sd: dict[str, torch.Tensor], file_name: str, common: dict[str, Any]) -> LoadedModel:
    import spandrel

    try:
        desc = spandrel.ModelLoader().load_from_state_dict(sd)
    except spandrel.UnsupportedModelError as e:
        raise UserError(
            f"Not a super-resolution checkpoint SR Lab recognises: {file_name} matches none of "
            f"SR Lab's layouts ({', '.join(arch_names())}) nor spandrel's architectures"
        ) from e
    except Exception as e:  # detected, but the tensors do not fit the architecture
        first_line = (str(e).splitlines() or [type(e).__name__])[0]
        raise UserError(f"{file_name} looks like a known architecture but failed to load: {first_line}") from e
    arch = desc.architecture.name
    if not isinstance(desc, spandrel.ImageModelDescriptor) or desc.purpose not in ("SR", "Restoration"):
        raise UserError(f"{file_name} is a {arch} {desc.purpose} model, not single-image super-resolution")
    if desc.input_channels != 3 or desc.output_channels != 3:
        raise UserError(
            f"{file_name} is a {arch} model for {desc.input_channels}->{desc.output_channels} "
            "channels; SR Lab runs RGB models"
        )
    module = _ready(_SpandrelModule(desc))
    tiling_ok = desc.tiling == spandrel.ModelTiling.SUPPORTED
    return LoadedModel(
        module=module,
        scale=desc.scale,
        arch=arch,
        params=_count_params(module),
        supports_half=desc.supports_half,
        tiling_ok=tiling_ok,
        pad_multiple=desc.size_requirements.multiple_of,
        min_size=desc.size_requirements.minimum,
        notes=f"loaded by spandrel as {arch} {' '.join(desc.tags)}".strip()
        + ("" if tiling_ok else f"; {arch} is not meant to be tiled"),
        **common,
    )
