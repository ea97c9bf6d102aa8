"""SPAN through spandrel's implementation, registered with its capabilities.

spandrel's class takes `upscale=` and keyword-only channel counts; the thin
subclass below only gives it the registry's `scale=` signature. Note that its
Conv3XC rebuilds each fused 3x3 `eval_conv` from the training branches on
every eval forward, so weights must be loaded into the branches (see
`sources.ncnn_families.conv3xc_branches`), not only into `eval_conv`.
"""

from __future__ import annotations

from spandrel.architectures.SPAN import SPAN as SpandrelSPAN
from spandrel.architectures.SPAN.__arch.span import Conv3XC
from torch import Tensor, nn

from sr_demo.models.archs import register_arch

BLOCKS = 6


def _radius(m: SPAN) -> float:
    """One 3x3 per Conv3XC (conv_1, 3 per block, conv_2; a plain conv once fused) + the up-sampler's, all at LR."""
    reparam = [name for name, layer in m.named_modules() if isinstance(layer, Conv3XC)]
    plain = [name for name, layer in m.named_modules() if isinstance(layer, nn.Conv2d) and layer.kernel_size == (3, 3)
             and not any(name.startswith(f"{r}.") for r in reparam)]
    return float(len(reparam) + len(plain))


def _layers(m: SPAN) -> dict[str, str]:
    """conv_1, each block's last conv (its output before the parameter-free
    attention; the blocks themselves return tuples), then conv_2, the deepest
    features. conv_cat, just before the up-sampler, is left out: it mixes
    conv_1's shallow features back in, and its pooled features follow image
    content (photo CHI 88 vs degradation 1.2, `sr-demo ddr --model span-x4`)."""
    blocks = {f"block_{b}": f"block_{b}.c3_r" for b in range(1, BLOCKS + 1)}
    return {"conv_1": "conv_1", **blocks, "conv_2": "conv_2"}


def _fuse(m: SPAN) -> SPAN:
    """Each Conv3XC replaced by the one 3x3 conv it stands for (what the ncnn graph holds), computed
    once instead of on every forward: about 2x faster on CPU, same output, same layer names."""
    for parent in list(m.modules()):
        for name, child in list(parent.named_children()):
            if isinstance(child, Conv3XC):
                child.update_params()
                setattr(parent, name, child.eval_conv)
    return m


def _detect(sd: dict[str, Tensor], file_name: str) -> dict | None:
    """spandrel's SPAN key layout (its training checkpoints and ours)."""
    keys = ("conv_1.sk.weight", "block_1.c1_r.sk.weight", "conv_cat.weight", "upsampler.0.weight")
    if not all(k in sd for k in keys):
        return None
    num_in_ch, feat = sd["conv_1.sk.weight"].shape[1], sd["conv_1.sk.weight"].shape[0]
    up = sd["upsampler.0.weight"].shape[0]
    scale = next((s for s in (1, 2, 3, 4, 8) if up == num_in_ch * s * s), None)
    if scale is None:
        return None
    return {"scale": scale, "feature_channels": feat, "num_in_ch": num_in_ch, "num_out_ch": num_in_ch,
                "norm": "no_norm" not in sd}


@register_arch("span", receptive_radius=_radius, feature_layers=_layers, detect=_detect,
               for_inference=_fuse)
class SPAN(SpandrelSPAN):
    """SPAN (Wan et al., "Swift Parameter-free Attention Network for Efficient
    Super-Resolution", CVPRW 2024, NTIRE 2024 efficient-SR winner): six blocks
    of three re-parameterisable 3x3 convs with a parameter-free
    sigmoid(x) - 0.5 attention, features concatenated, pixel shuffle.

    Input RGB in [0, 1]; with `norm` the net subtracts the DIV2K mean and
    multiplies by 255 itself (as the ncnn graphs do).

    Args:
        scale: upscaling factor (published ncnn: 2, 4).
        feature_channels: width (published ncnn: 48, 52).
        num_in_ch: input channels.
        num_out_ch: output channels.
        norm: subtract the RGB mean and scale by 255 inside the net.
    """

    def __init__(self, scale: int = 4, feature_channels: int = 48, num_in_ch: int = 3, num_out_ch: int = 3,
                 norm: bool = True) -> None:
        super().__init__(num_in_ch=num_in_ch, num_out_ch=num_out_ch, feature_channels=feature_channels,
                         upscale=scale, norm=norm)
        self.scale = scale
