"""SWDN, the Space Warping Difference Network of PIPAL (Gu et al., arXiv:2011.15002).

PSNR, SSIM and most deep IQA networks compare features at the same position,
so a GAN output whose textures sit a pixel off is punished as if it were
broken.  SWDN changes two things, both here:

* L2 pooling (a Hann-window weighted L2 norm, stride 2) replaces max pooling
  in the feature backbone: it is anti-aliased, so features change smoothly
  when the input moves by less than the stride;
* a space-warping difference layer compares each reference feature with the
  *best-matching* distorted feature within a small neighbourhood instead of
  the one at the same position.

The differences are pooled into one distance (lower is better) by
non-negative per-channel weights, and `PairwiseHead` turns two distances into
the probability that the first image is the better one (2AFC training, as
PIPAL trains on pairs with Elo-derived targets).  The backbone here is small
and trained from scratch (no ImageNet/PIPAL weights exist offline); weights
live in a safetensors file whose metadata holds the configuration.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
from torch import nn
from torch.nn import functional as F

from sr_demo.errors import UserError

FORMAT = "sr_demo.swdn/1"


def hann_window(size: int = 3) -> torch.Tensor:
    """2-D Hann window normalised to sum 1 (the end zeros of `torch.hann_window` dropped)."""
    w = torch.hann_window(size + 2, periodic=False, dtype=torch.float64)[1:-1]
    k = torch.outer(w, w)
    return (k / k.sum()).float()


class L2Pool2d(nn.Module):
    """sqrt(Hann-weighted sum of x^2) over a 3x3 window, stride 2 (Hénaff & Simoncelli; used by PIPAL, DISTS)."""

    def __init__(self, size: int = 3, stride: int = 2):
        super().__init__()
        self.stride, self.pad = stride, size // 2
        self.register_buffer("window", hann_window(size)[None, None], persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        c = x.shape[1]
        out = F.conv2d(x * x, self.window.expand(c, 1, -1, -1), stride=self.stride, padding=self.pad, groups=c)
        return torch.sqrt(out + 1e-12)


class SpaceWarpingDifference(nn.Module):
    """ref - dist at the best-matching position: for each (i, j) the distorted feature
    at (i+u, j+v), |u|,|v| <= radius, closest in L2 (over channels) to ref[i, j].

    radius 0 is the plain difference (the "no space warping" ablation).  The
    distorted map is edge-padded; shifts are scanned one at a time so memory
    stays at one feature map whatever the radius.
    """

    def __init__(self, radius: int = 1):
        super().__init__()
        self.radius = radius

    def forward(self, ref: torch.Tensor, dist: torch.Tensor) -> torch.Tensor:
        r = self.radius
        if r == 0:
            return ref - dist
        h, w = ref.shape[-2:]
        padded = F.pad(dist, (r, r, r, r), mode="replicate")
        best = ref - dist
        best_cost = best.pow(2).sum(1, keepdim=True)
        for du in range(-r, r + 1):
            for dv in range(-r, r + 1):
                if du == 0 and dv == 0:
                    continue
                diff = ref - padded[..., r + du:r + du + h, r + dv:r + dv + w]
                cost = diff.pow(2).sum(1, keepdim=True)
                take = cost < best_cost
                best = torch.where(take, diff, best)
                best_cost = torch.where(take, cost, best_cost)
        return best


@dataclass(frozen=True)
class SWDNConfig:
    """Args:
        widths: channels of each backbone stage (two 3x3 convs + ReLU each; a pooling between stages).
        pool: "l2" (the paper) or "max" (ablation).
        radii: space-warping radius per stage, in that stage's feature pixels (0 = plain difference).
    """

    widths: tuple[int, ...] = (16, 32, 64, 64)
    pool: str = "l2"
    radii: tuple[int, ...] = (2, 1, 1, 1)
    notes: dict = field(default_factory=dict, compare=False)

    def __post_init__(self):
        if self.pool not in ("l2", "max") or len(self.radii) != len(self.widths):
            raise UserError(f"Bad SWDN configuration: pool={self.pool!r}, radii={self.radii}, widths={self.widths}.")


class SWDN(nn.Module):
    """Distance between a reference and a distorted image, lower is better; inputs Nx3xHxW RGB in [0, 1]."""

    def __init__(self, config: SWDNConfig = SWDNConfig()):
        super().__init__()
        self.config = config
        stages, c_in = [], 3
        for width in config.widths:
            stages.append(nn.Sequential(nn.Conv2d(c_in, width, 3, padding=1), nn.ReLU(inplace=True),
                                        nn.Conv2d(width, width, 3, padding=1), nn.ReLU(inplace=True)))
            c_in = width
        self.stages = nn.ModuleList(stages)
        self.pool = L2Pool2d() if config.pool == "l2" else nn.MaxPool2d(2, 2)
        self.swd = nn.ModuleList(SpaceWarpingDifference(r) for r in config.radii)
        self.weights = nn.ParameterList(nn.Parameter(torch.zeros(w)) for w in config.widths)

    def features(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Unit-normalised (over channels) features of every stage, as LPIPS normalises."""
        feats, x = [], x - 0.5
        for i, stage in enumerate(self.stages):
            if i:
                x = self.pool(x)
            x = stage(x)
            feats.append(x / (x.pow(2).sum(1, keepdim=True).sqrt() + 1e-6))
        return feats

    def distance_from_features(self, ref_feats: list[torch.Tensor], dist_feats: list[torch.Tensor]) -> torch.Tensor:
        total = 0.0
        for swd, w, fr, fd in zip(self.swd, self.weights, ref_feats, dist_feats):
            d2 = swd(fr, fd).pow(2).mean((2, 3))  # N x C
            total = total + (d2 * F.softplus(w)).sum(1)
        return total

    def forward(self, dist: torch.Tensor, ref: torch.Tensor) -> torch.Tensor:
        return self.distance_from_features(self.features(ref), self.features(dist))


class PairwiseHead(nn.Module):
    """2AFC head: P(image A is better than B) = sigmoid(scale * (g(d_B) - g(d_A))), scale learned and positive.

    g is the identity, or the logarithm (`log_distance`): then only ratios of distances matter, so a
    1-px shift must cost a *fraction* of what a mild distortion costs, however large both are.
    """

    def __init__(self, log_distance: bool = False):
        super().__init__()
        self.log_distance = log_distance
        self.log_scale = nn.Parameter(torch.tensor(0.0 if log_distance else 2.0))

    def forward(self, d_a: torch.Tensor, d_b: torch.Tensor) -> torch.Tensor:
        if self.log_distance:
            d_a, d_b = torch.log(d_a + 1e-6), torch.log(d_b + 1e-6)
        return torch.sigmoid(self.log_scale.exp() * (d_b - d_a))


def save_swdn(model: SWDN, path: str | Path, *, half: bool = True, card: dict | None = None) -> Path:
    """Write weights in SR Lab's published layout: safetensors, config (and card summary) in the metadata."""
    from safetensors.torch import save_file

    tensors = {k: (v.half() if half else v).contiguous() for k, v in model.state_dict().items()}
    cfg = asdict(model.config)
    meta = {"format": FORMAT, "config": json.dumps({k: v for k, v in cfg.items() if k != "notes"}),
            "notes": json.dumps(card or model.config.notes)}
    save_file(tensors, str(path), metadata=meta)
    return Path(path)


def read_layout(path: str | Path, fmt: str, what: str) -> tuple[dict, dict, dict[str, torch.Tensor]]:
    """(config, notes, float tensors) of a safetensors file in SR Lab's metric layout `fmt`
    (config and card notes as JSON metadata); anything else is refused with a clear message."""
    from safetensors import SafetensorError, safe_open

    path = Path(path)
    try:
        with safe_open(str(path), framework="pt") as f:
            meta = f.metadata() or {}
            tensors = {k: f.get_tensor(k).float() for k in f.keys()}
    except (SafetensorError, OSError) as exc:
        raise UserError(f"{path.name} is not a readable {what} safetensors file ({exc}).") from exc
    if meta.get("format") != fmt:
        raise UserError(f"{path.name} is not in SR Lab's {what} layout (metadata format {meta.get('format')!r}).")
    return json.loads(meta["config"]), json.loads(meta.get("notes", "{}")), tensors


def load_swdn(path: str | Path) -> SWDN:
    """Build an SWDN from a file written by `save_swdn`; refuses anything else with a clear message."""
    path = Path(path)
    cfg, notes, tensors = read_layout(path, FORMAT, "SWDN")
    config = SWDNConfig(widths=tuple(cfg["widths"]), pool=cfg["pool"], radii=tuple(cfg["radii"]), notes=notes)
    model = SWDN(config)
    try:
        model.load_state_dict(tensors, strict=True)
    except RuntimeError as exc:
        raise UserError(f"{path.name} does not match its declared SWDN configuration ({exc}).") from exc
    return model.eval().requires_grad_(False)
