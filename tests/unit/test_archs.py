"""Tiny-config shape tests for every arch and scale, plus parameter counts
of the published configurations."""

import subprocess
import sys
from pathlib import Path

import pytest
import torch

from sr_demo.errors import UserError
from sr_demo.models.archs import arch_names, build_arch

TINY = {
    "fsrcnn": dict(d=8, s=4, m=1),
    "edsr": dict(num_feat=8, num_block=1),
    "srresnet": dict(num_feat=8, num_block=1),
    "rrdbnet": dict(num_feat=8, num_block=1, num_grow_ch=4),
    "a2n": dict(num_feat=8, num_up_feat=4, num_block=2),
    "swinir": dict(embed_dim=12, depths=(2,), num_heads=(2,), window_size=4, img_size=8),
    "srmd": dict(num_feat=8, num_conv=3),
    "srmdnf": dict(num_feat=8, num_conv=3),
    "upconv7": {},
    "span": dict(feature_channels=8),
    "compact": dict(num_feat=8, num_conv=2),
    "rdn": dict(num_feat=8, num_blocks=2, convs_per_block=2, growth=4),
    "rrdn": dict(num_feat=8, num_rrdb=1, dense_blocks=2, convs_per_block=2, growth=4),
}
SCALES = {
    "interp": (2, 3, 4, 16),
    "fsrcnn": (2, 3, 4),
    "edsr": (2, 3, 4, 8, 16),
    "srresnet": (2, 3, 4),
    "rrdbnet": (2, 4),
    "a2n": (2, 3, 4),
    "swinir": (2, 3, 4),
    "srmd": (2, 3, 4),
    "srmdnf": (2, 3, 4),
    "upconv7": (2,),
    "span": (2, 3, 4),
    "compact": (2, 3, 4),
    "rdn": (2, 3, 4, 8),
    "rrdn": (2, 3, 4, 8),
}


def _params(net: torch.nn.Module) -> int:
    return sum(p.numel() for p in net.parameters())


@pytest.mark.parametrize("arch,scale", [(a, s) for a, scales in SCALES.items() for s in scales])
def test_output_shape(arch, scale):
    kwargs = dict(TINY.get(arch, {"method": "nearest"}), scale=scale)
    net = build_arch(arch, **kwargs).eval()
    with torch.no_grad():
        out = net(torch.rand(2, 3, 6, 10))
    assert out.shape == (2, 3, 6 * scale, 10 * scale)
    assert torch.isfinite(out).all()


def test_every_registered_arch_is_covered():
    assert set(arch_names()) == set(SCALES)


@pytest.mark.parametrize(
    "arch,kwargs,lo,hi",
    [
        ("fsrcnn", {}, 20_000, 100_000),
        ("edsr", {}, 1_515_000, 1_520_000),  # EDSR-baseline x4: 1.52 M
        ("srresnet", {}, 1_515_000, 1_520_000),  # MSRResNet x4: 1.52 M
        ("rrdbnet", dict(num_block=6), 4_460_000, 4_475_000),  # light RRDB: 4.47 M
        ("rrdbnet", {}, 16_690_000, 16_700_000),  # ESRGAN: 16.7 M
    ],
)
def test_param_counts(arch, kwargs, lo, hi):
    assert lo <= _params(build_arch(arch, scale=4, **kwargs)) <= hi


def test_interp_has_no_parameters():
    assert _params(build_arch("interp", scale=4, method="bicubic")) == 0


def test_dropout_only_in_training():
    torch.manual_seed(0)
    for arch in ("srresnet", "rrdbnet"):
        net = build_arch(arch, scale=4, dropout=0.5, **TINY[arch])
        x = torch.rand(1, 3, 8, 8)
        net.eval()
        assert torch.equal(net(x), net(x))
        net.train()
        assert not torch.equal(net(x), net(x))


def test_global_residual_flag():
    net = build_arch("srresnet", scale=2, global_residual=False, **TINY["srresnet"])
    for p in net.parameters():
        torch.nn.init.zeros_(p)
    assert torch.equal(net(torch.rand(1, 3, 4, 4)), torch.zeros(1, 3, 8, 8))


def test_bad_scale_and_unknown_arch():
    with pytest.raises(ValueError):
        build_arch("srresnet", scale=8)
    with pytest.raises(UserError, match="edsr"):
        build_arch("no-such-arch")


def test_lazy_imports():
    """Building one arch imports neither the others nor spandrel."""
    code = (
        "import sys; from sr_demo.models.archs import build_arch; build_arch('fsrcnn');"
        "print(sorted(m for m in sys.modules if m.startswith('sr_demo.models.archs.') or m == 'spandrel'))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=Path(__file__).parents[2]
    )
    assert out.stdout.strip() == "['sr_demo.models.archs.fsrcnn']"


# --- capabilities beside each architecture (ArchSpec) ------------------------------------------


@pytest.mark.parametrize("arch", sorted(SCALES))
def test_feature_layers_are_lr_feature_maps(arch):
    """Every declared DDR layer exists and gives a feature map at LR resolution
    (UpConv7's unpadded convs: the LR size plus what is left of its 7-px edge padding)."""
    from sr_demo.models.archs import get_spec

    spec = get_spec(arch)
    scale = 4 if 4 in SCALES[arch] else SCALES[arch][0]  # RRDBNet x2 works at LR/2 (pixel unshuffle)
    net = build_arch(arch, scale=scale, **TINY.get(arch, {"method": "nearest"})).eval()
    if spec.feature_layers is None:
        assert arch == "interp"
        return
    layers = spec.feature_layers(net)
    assert layers, f"{arch} declares no feature layer"
    seen = {}
    hooks = [net.get_submodule(path).register_forward_hook(
        lambda _m, _i, out, label=label: seen.__setitem__(label, out)) for label, path in layers.items()]
    with torch.no_grad():
        net(torch.rand(1, 3, 12, 16))
    for h in hooks:
        h.remove()
    assert set(seen) == set(layers)
    for label, out in seen.items():
        assert out.ndim == 4 and 12 <= out.shape[2] <= 12 + 14 and 16 <= out.shape[3] <= 16 + 14, (label, out.shape)


@pytest.mark.parametrize("arch", sorted(SCALES))
def test_receptive_radius_and_params(arch):
    from sr_demo.models.archs import get_spec

    spec = get_spec(arch)
    net = build_arch(arch, scale=SCALES[arch][0], **TINY.get(arch, {"method": "nearest"}))
    if spec.receptive_radius is not None:
        assert 0 <= spec.receptive_radius(net) < 1000
    if spec.for_inference is not None:  # a cheaper equivalent: same output, fewer parameters
        net.eval()
        x = torch.rand(1, 3, 10, 12)
        with torch.no_grad():
            before = net(x)
            n_before = _params(net)
            radius_before = spec.receptive_radius(net) if spec.receptive_radius else None
            fused = spec.for_inference(net)
            torch.testing.assert_close(fused(x), before, rtol=0, atol=1e-5)
        assert _params(fused) < n_before
        assert radius_before is None or spec.receptive_radius(fused) == radius_before
