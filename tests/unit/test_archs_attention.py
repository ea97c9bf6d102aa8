"""A2N and SwinIR: tiny-config shapes, published parameter counts and key
layouts, A2N's attention-dropout weights, and SwinIR parity through spandrel."""

import pytest
import torch
import torch.nn.functional as F

from sr_demo.models.archs import build_arch

TINY = {
    "a2n": dict(num_feat=8, num_up_feat=4, num_block=2),
    "swinir": dict(embed_dim=12, depths=(2, 2), num_heads=(2, 3), window_size=4, img_size=8),
}


def _params(net: torch.nn.Module) -> int:
    return sum(p.numel() for p in net.parameters())


@pytest.mark.parametrize("arch", ["a2n", "swinir"])
@pytest.mark.parametrize("scale", [2, 3, 4])
def test_output_shape_odd_input(arch, scale):
    net = build_arch(arch, scale=scale, **TINY[arch]).eval()
    with torch.no_grad():
        out = net(torch.rand(2, 3, 13, 17))
    assert out.shape == (2, 3, 13 * scale, 17 * scale)
    assert torch.isfinite(out).all()


def test_swinir_input_smaller_than_window():
    net = build_arch("swinir", scale=2, **TINY["swinir"]).eval()
    with torch.no_grad():
        assert net(torch.rand(1, 3, 3, 2)).shape == (1, 3, 6, 4)


def test_analysis_flags():
    from sr_demo.models.archs import get_spec

    a2n, swinir = get_spec("a2n"), get_spec("swinir")
    assert "global average pooling" in a2n.crop_sensitive and not a2n.tiling_ok
    assert "windows" in swinir.crop_sensitive and (swinir.supports_half, swinir.tiling_ok) == (False, False)


# --- A2N ---------------------------------------------------------------------


@pytest.mark.parametrize("scale,count", [(2, 1_036_443), (3, 1_036_443), (4, 1_047_459)])
def test_a2n_param_count(scale, count):
    # Exact counts of the official code (haoyuc/A2N aan.py; its aan_x2/x3.pt hold
    # 1,036,443 values); the paper's "1036K"; x4 adds a second up stage (+11,016).
    n = _params(build_arch("a2n", scale=scale))
    assert n == count
    assert abs(n - 1.04e6) / 1.04e6 < 0.01  # design.md's "about 1.04 M", within 1 %


def test_a2n_official_key_layout():
    sd = build_arch("a2n", scale=4).state_dict()
    block = {
        "conv_first.weight": (40, 40, 1, 1),
        "ADM.0.weight": (10, 40),
        "ADM.2.weight": (2, 10),
        "attention.k1.weight": (40, 40, 3, 3),
        "attention.k2.weight": (40, 40, 1, 1),
        "attention.k2.bias": (40,),
        "attention.k3.weight": (40, 40, 3, 3),
        "attention.k4.weight": (40, 40, 3, 3),
        "non_attention.weight": (40, 40, 3, 3),
        "conv_last.weight": (40, 40, 1, 1),
    }
    expected = {f"AAB_trunk.{i}.{k}": s for i in range(16) for k, s in block.items()}
    expected.update({"conv_first.weight": (40, 3, 3, 3), "conv_first.bias": (40,)})
    expected.update({"trunk_conv.weight": (40, 40, 3, 3), "trunk_conv.bias": (40,)})
    for i, cin in ((1, 40), (2, 24)):
        expected.update({f"upconv{i}.weight": (24, cin, 3, 3), f"upconv{i}.bias": (24,)})
        expected.update({f"att{i}.conv.weight": (24, 24, 1, 1), f"att{i}.conv.bias": (24,)})
        expected.update({f"HRconv{i}.weight": (24, 24, 3, 3), f"HRconv{i}.bias": (24,)})
    expected.update({"conv_last.weight": (3, 24, 3, 3), "conv_last.bias": (3,)})
    assert {k: tuple(v.shape) for k, v in sd.items()} == expected


def test_a2n_branch_weights():
    torch.manual_seed(0)
    net = build_arch("a2n", scale=4).eval()
    x = torch.rand(2, 3, 13, 17)
    w = net.branch_weights(x)
    assert w.shape == (16, 2, 2)  # (block, batch, [attention, non-attention])
    assert torch.allclose(w.sum(-1), torch.ones(16, 2), atol=1e-6)
    assert ((w > 0) & (w < 1)).all()
    # recording is off again, and switching it on does not change the output
    assert not any(b.record_weights for b in net.AAB_trunk)
    with torch.no_grad():
        plain = net(x)
        with net.recording_branch_weights():
            recorded = net(x)
    assert torch.equal(plain, recorded)
    assert torch.equal(net.recorded_branch_weights(), w)


def test_a2n_global_skip_is_bilinear():
    net = build_arch("a2n", scale=3, **TINY["a2n"])
    for p in net.parameters():
        torch.nn.init.zeros_(p)
    x = torch.rand(1, 3, 5, 7)
    want = F.interpolate(x, scale_factor=3, mode="bilinear", align_corners=False)
    assert torch.allclose(net(x), want)


def test_spandrel_has_no_a2n():
    # No parity test for A2N: spandrel 0.4 does not know the architecture.
    spandrel = pytest.importorskip("spandrel")
    ids = {a.architecture.id.lower() for a in spandrel.MAIN_REGISTRY.architectures()}
    assert not {"a2n", "aan"} & ids


# --- SwinIR ------------------------------------------------------------------


@pytest.mark.parametrize("scale,count", [(2, 910_152), (4, 929_628)])
def test_swinir_light_param_count(scale, count):
    # The paper's 878K (x2) / 897K (x4) leave out the 24 relative position bias
    # tables, 15*15*6 = 1,350 values each (32,400 in all); with them: exact.
    n = _params(build_arch("swinir", scale=scale))
    assert n == count
    bias = sum(p.numel() for k, p in build_arch("swinir", scale=scale).named_parameters() if "bias_table" in k)
    assert bias == 32_400


def test_swinir_key_layout():
    sd = build_arch("swinir", scale=4).state_dict()
    assert "mean" not in sd
    blk = "layers.3.residual_group.blocks.5."
    for k in ("norm1.weight", "attn.qkv.weight", "attn.proj.bias", "attn.relative_position_bias_table",
              "attn.relative_position_index", "norm2.bias", "mlp.fc1.weight", "mlp.fc2.bias", "attn_mask"):
        assert blk + k in sd
    assert tuple(sd[blk + "attn_mask"].shape) == (64, 64, 64)  # (64/8)^2 windows of 8x8 at img_size 64
    assert "layers.0.residual_group.blocks.0.attn_mask" not in sd  # unshifted blocks have none
    for k in ("conv_first.weight", "patch_embed.norm.weight", "layers.0.conv.weight", "norm.weight",
              "conv_after_body.weight", "upsample.0.weight"):
        assert k in sd
    assert tuple(sd["upsample.0.weight"].shape) == (48, 60, 3, 3)


def _randomise(net: torch.nn.Module) -> torch.nn.Module:
    """Non-trivial norms and biases, so parity checks every term."""
    torch.manual_seed(1)
    with torch.no_grad():
        for name, p in net.named_parameters():
            if "norm" in name or name.endswith("bias"):
                p.add_(torch.randn_like(p) * 0.1)
    return net.eval()


@pytest.mark.filterwarnings("ignore:torch.meshgrid")  # raised inside spandrel's SwinIR
@pytest.mark.parametrize(
    "kwargs,size",
    [
        (dict(scale=2, **TINY["swinir"]), (8, 12)),
        (dict(scale=4, **TINY["swinir"]), (8, 8)),  # img_size: the stored attn_mask is used
        (dict(scale=3, upsampler="pixelshuffle", **TINY["swinir"]), (12, 8)),
        (dict(scale=4), (32, 32)),  # SwinIR-light default
    ],
)
def test_swinir_through_spandrel_equals_ours(kwargs, size, tmp_path):
    spandrel = pytest.importorskip("spandrel")
    from safetensors.torch import load_file, save_file

    torch.manual_seed(0)
    net = _randomise(build_arch("swinir", **kwargs))
    save_file(net.state_dict(), tmp_path / "swinir.safetensors")  # fp32, what a zoo file holds
    desc = spandrel.ModelLoader().load_from_state_dict(load_file(tmp_path / "swinir.safetensors"))
    assert desc.architecture.id == "SwinIR"
    assert desc.scale == kwargs["scale"]
    assert desc.supports_half is False
    model = desc.model.eval()
    for shape in (size, (13, 17)):  # also an odd size: both pad by reflection to the window
        x = torch.rand(1, 3, *shape)
        with torch.no_grad():
            ours, theirs = net(x), model(x)
        assert ours.shape == theirs.shape == (1, 3, shape[0] * desc.scale, shape[1] * desc.scale)
        assert (ours - theirs).abs().max().item() < 1e-5
