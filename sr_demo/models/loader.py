"""Weights in, ready modules out: zoo models (shipped file -> cache -> URL,
sha256-checked) and user uploads (our BasicSR layouts first, else spandrel).

Checkpoints are untrusted: pickles load with `weights_only=True`, so one that
needs code execution is refused instead of run.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import re
import shutil
import tempfile
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from sr_demo.errors import UserError
from sr_demo.models.archs import build_arch
from sr_demo.models.zoo import ZooEntry, build_entry, get_entry, models_dir

_PICKLE_SUFFIXES = (".pth", ".pt", ".ckpt")
_WRAPPER_KEYS = ("params_ema", "params", "state_dict", "model")


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


def cache_dir() -> Path:
    """Downloaded weights: `$SR_DEMO_CACHE`, else ~/.cache/sr_demo."""
    override = os.environ.get("SR_DEMO_CACHE")
    return Path(override) if override else Path.home() / ".cache" / "sr_demo"


def _check_sha256(path: Path, expected: str | None, what: str) -> None:
    if expected is None:
        return
    actual = file_sha256(path)
    if actual != expected.lower():
        raise UserError(f"sha256 mismatch for {what} ({path.name}): expected {expected}, got {actual}")


def resolve_weights(entry: ZooEntry) -> Path:
    """The entry's weights file: shipped in models/, else cached, else
    downloaded into the cache; sha256-verified when the entry has one."""
    if entry.weights is None:
        raise UserError(f"{entry.name} has no weights file")
    for candidate in (models_dir() / entry.weights, cache_dir() / entry.weights):
        if candidate.is_file():
            _check_sha256(candidate, entry.sha256, entry.name)
            return candidate
    if not entry.url:
        raise UserError(
            f"Weights {entry.weights} for {entry.name} are in neither {models_dir()} nor "
            f"{cache_dir()}, and the model has no download URL"
        )
    target = cache_dir() / entry.weights
    _download(entry.url, target, entry.sha256, entry.name)
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


def _ready(module: nn.Module) -> nn.Module:
    module.eval().cpu()
    module.requires_grad_(False)
    return module


def _count_params(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def load_zoo_model(name: str) -> LoadedModel:
    """Build zoo model `name` and load its weights (CPU, eval, frozen)."""
    entry = get_entry(name)
    module = build_entry(entry)
    sha256 = None
    if entry.weights is not None:
        path = resolve_weights(entry)
        module.load_state_dict(read_state_dict(path), strict=True)
        sha256 = entry.sha256 or file_sha256(path)
    return LoadedModel(
        name=entry.name,
        module=_ready(module),
        scale=entry.scale,
        arch=entry.arch,
        params=_count_params(module),
        sha256=sha256,
        source="builtin" if entry.weights is None else "zoo",
        supports_half=entry.supports_half,
        tiling_ok=entry.tiling_ok,
        pad_multiple=entry.pad_multiple,
    )


# --- user uploads ----------------------------------------------------------


def _num_blocks(sd: dict[str, torch.Tensor]) -> int:
    return 1 + max((int(m.group(1)) for k in sd if (m := re.match(r"body\.(\d+)\.", k))), default=-1)


def infer_a2n(sd: dict[str, torch.Tensor], file_name: str) -> tuple[str, dict[str, Any]] | None:
    """(arch, kwargs) for the official A2N layout (`AAB_trunk.i.*`).

    A x2 and a x3 A2N have identical tensors (one nearest-up stage), so the
    file name decides ("x3" in it, as in the official `aan_x3.pt`); x2 otherwise.
    """
    if "AAB_trunk.0.conv_first.weight" not in sd or "upconv1.weight" not in sd:
        return None
    blocks = {int(k.split(".")[1]) for k in sd if k.startswith("AAB_trunk.")}
    scale = 4 if "upconv2.weight" in sd else (3 if re.search(r"x3(?!\d)", file_name.lower()) else 2)
    return "a2n", dict(scale=scale, num_feat=sd["conv_first.weight"].shape[0],
                       num_up_feat=sd["upconv1.weight"].shape[0], num_block=len(blocks))


def infer_basicsr_arch(sd: dict[str, torch.Tensor]) -> tuple[str, dict[str, Any]] | None:
    """(arch, kwargs) when `sd` has BasicSR's EDSR, MSRResNet or RRDBNet
    layout for RGB, with widths, depth and scale read off tensor shapes."""
    first, last = sd.get("conv_first.weight"), sd.get("conv_last.weight")
    if first is None or last is None or first.ndim != 4 or last.shape[0] != 3:
        return None
    num_feat, c_in, num_block = first.shape[0], first.shape[1], _num_blocks(sd)
    if "body.0.rdb1.conv1.weight" in sd and "conv_body.weight" in sd:
        scale = {3: 4, 12: 2}.get(c_in)
        grow = sd["body.0.rdb1.conv1.weight"].shape[0]
        if scale is None:
            return None
        return "rrdbnet", dict(scale=scale, num_feat=num_feat, num_block=num_block, num_grow_ch=grow)
    if c_in != 3 or "body.0.conv1.weight" not in sd:
        return None
    if "conv_after_body.weight" in sd:
        ups = [v.shape[0] for k, v in sorted(sd.items()) if re.fullmatch(r"upsample\.\d+\.weight", k)]
        if ups == [9 * num_feat]:
            scale = 3
        elif ups and all(c == 4 * num_feat for c in ups):
            scale = 2 ** len(ups)
        else:
            return None
        # BasicSR's EDSR-L (256 wide) uses res_scale 0.1; weights cannot tell us
        res_scale = 0.1 if num_feat >= 256 else 1.0
        return "edsr", dict(scale=scale, num_feat=num_feat, num_block=num_block, res_scale=res_scale)
    if "upconv1.weight" in sd and "conv_hr.weight" in sd:
        scale = 4 if "upconv2.weight" in sd else {4: 2, 9: 3}.get(sd["upconv1.weight"].shape[0] // num_feat)
        if scale is None:
            return None
        return "srresnet", dict(scale=scale, num_feat=num_feat, num_block=num_block)
    return None


def load_checkpoint_file(path: str | os.PathLike, name: str | None = None) -> LoadedModel:
    """Load a user's checkpoint: our BasicSR layouts (strict), else any
    single-image architecture spandrel detects; UserError otherwise."""
    path = Path(path)
    sd = read_state_dict(path)
    common = dict(name=name or path.stem, sha256=file_sha256(path), source="upload")
    inferred = infer_a2n(sd, path.name) or infer_basicsr_arch(sd)
    if inferred is not None:
        arch, kwargs = inferred
        module = build_arch(arch, **kwargs)
        try:
            module.load_state_dict(sd, strict=True)
        except RuntimeError:
            pass  # same key names, different network (e.g. ESRGAN+): spandrel may know it
        else:
            return LoadedModel(
                module=_ready(module),
                scale=kwargs["scale"],
                arch=arch,
                params=_count_params(module),
                supports_half=True,
                tiling_ok=True,
                pad_multiple=4 // kwargs["scale"] if arch == "rrdbnet" else 1,
                notes=f"{'official' if arch == 'a2n' else 'BasicSR'} {arch} layout: "
                + ", ".join(f"{k}={v}" for k, v in kwargs.items()),
                **common,
            )
    return _load_with_spandrel(sd, path.name, common)


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
            "EDSR/MSRResNet/RRDBNet (BasicSR layout) nor spandrel's architectures"
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
