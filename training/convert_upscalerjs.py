"""Convert the UpscalerJS npm models to the fp16 safetensors shipped in `models/`.

    python -m training.convert_upscalerjs --out models
    python -m training.convert_upscalerjs --out /tmp/x --from tests/tfjs/node_modules/@upscalerjs --sizes thick

Without `--from`, each package is fetched with `npm pack` (pinned version,
tarball sha256 checked) into a temporary directory. Writes
`<out>/<rdn-slim|rdn-medium|rrdn-thick>-x<S>.safetensors` (fp16 tensors, our
key layout, metadata naming the source file) and prints, per model, its
parameters, the file's sha256 and how far fp16 storage moves the output on a
crop of examples/chelsea.png (max abs difference on [0, 1]).
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import subprocess
import tarfile
import tempfile
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from safetensors.torch import save_file

from sr_demo.errors import UserError
from sr_demo.models.archs import build_arch
from sr_demo.models.sources.tfjs import read_layers_model
from sr_demo.models.sources.upscalerjs import FROM_TFJS, PACKAGES, SCALES, VERSION
from sr_demo.resources import repo_file

# sha256 of `npm pack <package>@1.0.0` (checked 2026-12-01)
TARBALL_SHA256 = {
    "@upscalerjs/esrgan-slim": "b53070ff01363e74d33138106dcc72b58d341c9fb7e8fd648554a4e7744142b5",
    "@upscalerjs/esrgan-medium": "367471ded0629387b9aabc75183be0b80d39d46c3f509945ebde4f5bf7a49627",
    "@upscalerjs/esrgan-thick": "3d38971084d8281bf68da443085c7eb65355fb28aa81b33b54f950cca6328a15",
}
SHIPPED_SIZES = ("slim", "medium")  # thick (7.3 M params per scale) is fetched on demand instead
EXAMPLE = repo_file("examples") / "chelsea.png"


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def npm_pack(package: str, workdir: Path) -> Path:
    """The unpacked `package/` directory of `package@VERSION`, fetched with npm."""
    try:
        name = subprocess.run(["npm", "pack", f"{package}@{VERSION}", "--pack-destination", str(workdir)],
                              check=True, capture_output=True, text=True).stdout.strip().splitlines()[-1]
    except (OSError, subprocess.CalledProcessError) as e:
        raise UserError(f"npm pack {package}@{VERSION} failed: {getattr(e, 'stderr', '') or e}") from e
    tarball = workdir / name
    if (digest := sha256_of(tarball)) != TARBALL_SHA256[package]:
        raise UserError(f"{tarball.name}: sha256 {digest}, expected {TARBALL_SHA256[package]}")
    target = workdir / package.split("/")[1]
    with tarfile.open(tarball) as tar:
        tar.extractall(target, filter="data")
    return target / "package"


def example_crop(size: int = 32) -> torch.Tensor:
    """A textured crop (fur and eye) of the bundled cat, (1, 3, size, size) in [0, 1]."""
    rgb = np.asarray(Image.open(EXAMPLE).convert("RGB"), dtype=np.float32) / 255.0
    crop = rgb[110 : 110 + size, 200 : 200 + size]
    return torch.from_numpy(np.ascontiguousarray(crop)).permute(2, 0, 1)[None]


def convert_model(model_json: Path, arch: str) -> tuple[torch.nn.Module, dict[str, torch.Tensor]]:
    """Our module with the graph's fp32 weights, and its fp16 state dict to ship."""
    kwargs, sd = FROM_TFJS[arch](read_layers_model(model_json))
    module = build_arch(arch, **kwargs).eval()
    module.load_state_dict(sd, strict=True)
    return module, {k: v.half().contiguous() for k, v in module.state_dict().items()}


def fp16_shift(module: torch.nn.Module, half_sd: dict[str, torch.Tensor]) -> float:
    """Max abs output change on the example crop when the weights are stored in fp16."""
    rounded = copy.deepcopy(module)
    rounded.load_state_dict(half_sd, strict=True)
    x = example_crop()
    with torch.inference_mode():
        return (module(x) - rounded(x)).abs().max().item()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True, help="directory for the .safetensors files")
    parser.add_argument("--from", dest="source", type=Path,
                        help="directory holding unpacked esrgan-<size>/ packages (e.g. an npm node_modules/@upscalerjs)")
    parser.add_argument("--sizes", nargs="+", choices=[p.split("-")[-1] for p in PACKAGES], default=SHIPPED_SIZES)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        for package, (stem, arch) in PACKAGES.items():
            short = package.split("/")[1]
            if short.split("-")[1] not in args.sizes:
                continue
            root = args.source / short if args.source else npm_pack(package, Path(tmp))
            for scale in SCALES:
                model_json = root / "models" / f"x{scale}" / "model.json"
                module, half_sd = convert_model(model_json, arch)
                target = args.out / f"{stem}-x{scale}.safetensors"
                # one metadata key: safetensors writes several in random order, and the file must be reproducible
                source = (f"npm {package}@{VERSION} models/x{scale}/model.json (sha256 {sha256_of(model_json)}), "
                          "converted by python -m training.convert_upscalerjs")
                save_file(half_sd, str(target), metadata={"source": source})
                params = sum(p.numel() for p in module.parameters())
                print(f"{target.name}  params {params}  bytes {target.stat().st_size}  "
                      f"sha256 {sha256_of(target)}  fp16 max |diff| {fp16_shift(module, half_sd):.2e}")


if __name__ == "__main__":
    main()
