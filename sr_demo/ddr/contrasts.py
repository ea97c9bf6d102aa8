"""Classification trunks as DDR's contrast: the paper finds their features group by content, not degradation.

Which ones and why: the blur-pooled AlexNet and VGG16 trunks whose weights
ship in `stlpips-pytorch==0.0.2` (built by `sr_demo.iqa.stlpips`, full
convolutional weights, sha256-checked, plain tensors). They load cleanly from a
registry package with no code of theirs run, whereas ncnn's SqueezeNet lies in
a source archive that would need a second converter. They are ST-LPIPS's
backbones (ImageNet-initialised AlexNet/VGG as in LPIPS); the package ships no
classifier, so their ImageNet accuracy cannot be checked here.

Input: the LR patch (32 px) up-sampled bicubically to 64 px, then LPIPS's
scaling: the trunks' 2-px reflection pads need at least 40-44 px, and the same
resampling reaches every class alike.
"""

from __future__ import annotations

import functools

import torch
from torch.nn import functional as F

from sr_demo.ddr.nets import FeatureNet
from sr_demo.errors import UserError

CONTRASTS = {"alexnet-stlpips": "alex", "vgg16-stlpips": "vgg"}
INPUT_SIDE = 64
_SHIFT = torch.tensor([-0.030, -0.088, -0.188]).view(1, 3, 1, 1)
_SCALE = torch.tensor([0.458, 0.448, 0.450]).view(1, 3, 1, 1)


def prepare(x: torch.Tensor) -> torch.Tensor:
    """[0,1] LR batch -> what the LPIPS trunks take: up-sampled to INPUT_SIDE, in LPIPS's scaled [-1,1]."""
    if x.shape[-1] < INPUT_SIDE or x.shape[-2] < INPUT_SIDE:
        x = F.interpolate(x, size=(max(INPUT_SIDE, x.shape[-2]), max(INPUT_SIDE, x.shape[-1])), mode="bicubic",
                          align_corners=False)
    return (x * 2 - 1 - _SHIFT.to(x)) / _SCALE.to(x)


def available() -> tuple[str, ...]:
    """The contrasts whose weights are installed here."""
    import importlib.metadata

    from sr_demo.iqa.stlpips import PACKAGE, VERSION

    try:
        return tuple(CONTRASTS) if importlib.metadata.version(PACKAGE) == VERSION else ()
    except importlib.metadata.PackageNotFoundError:
        return ()


@functools.lru_cache(maxsize=2)
def load(name: str) -> FeatureNet:
    from sr_demo.iqa.stlpips import TRUNKS, WEIGHTS

    if name not in CONTRASTS:
        raise UserError(f"Unknown classification trunk {name!r}; known: {', '.join(CONTRASTS)}.")
    net = CONTRASTS[name]
    trunk = TRUNKS[net]()
    return FeatureNet(name, trunk, trunk.stage_layers(), scale=4, kind="classification",
                      weights_id=WEIGHTS[net][1], prepare=prepare,
                      note="classification trunk (ST-LPIPS weights); LR patches up-sampled to 64 px")
