"""SWDN v2: the pooled VGG trunk, the distance, the file layout and the 2AFC head."""

import numpy as np
import pytest
import torch
from torch import nn

from sr_demo.errors import UserError
from sr_demo.iqa.stlpips import BlurPool2d, vgg16_trunk
from sr_demo.iqa.swdn import L2Pool2d, PairwiseHead, SpaceWarpingDifference
from sr_demo.iqa.swdn_v2 import (
    SWDNv2,
    SWDNv2Config,
    load_swdn_v2,
    pooled_trunk,
    save_swdn_v2,
)

pytest.importorskip("stlpips_pytorch")


@pytest.fixture(scope="module")
def l2_model():
    torch.manual_seed(0)
    model = SWDNv2()
    model.weights.data.normal_()
    return model


@pytest.mark.parametrize("pool, kind", [("l2", L2Pool2d), ("max", nn.MaxPool2d)])
def test_pooled_trunk_swaps_only_the_pooling_and_keeps_the_convolutions_frozen(pool, kind):
    original = vgg16_trunk()
    trunk = pooled_trunk(pool, vgg16_trunk())
    for k, (name, stage) in enumerate(trunk.stages.items()):
        layers = list(stage.children())
        assert not any(isinstance(m, BlurPool2d) for m in layers)
        if k:
            assert isinstance(layers[0], kind) and sum(isinstance(m, (nn.MaxPool2d, L2Pool2d)) for m in layers) == 1
        convs = [m for m in layers if isinstance(m, nn.Conv2d)]
        convs_before = [m for m in original.stages[name].children() if isinstance(m, nn.Conv2d)]
        assert all(torch.equal(a.weight, b.weight) for a, b in zip(convs, convs_before))
    assert not any(p.requires_grad for p in trunk.parameters())
    x = torch.rand(1, 3, 64, 64)
    with torch.no_grad():
        shapes = [tuple(f.shape[-2:]) for f in trunk(x).values()]
    assert shapes == [(64, 64), (32, 32), (16, 16), (8, 8), (4, 4)]


def test_distance_is_the_weighted_sum_of_a_straightforward_per_channel_computation(l2_model):
    gen = torch.Generator().manual_seed(1)
    ref, dist = torch.rand(1, 3, 48, 40, generator=gen), torch.rand(1, 3, 48, 40, generator=gen)
    with torch.no_grad():
        fr, fd = l2_model.features(ref), l2_model.features(dist)
        expected = 0.0
        weights = torch.nn.functional.softplus(l2_model.weights).split([f.shape[1] for f in fr])
        for r, a, b, w in zip(l2_model.config.radii, fr, fd, weights):
            assert torch.allclose(a.pow(2).sum(1), torch.ones_like(a[:, 0]), atol=1e-4)  # unit-normalised
            diff = SpaceWarpingDifference(r)(a, b)
            expected += float((w * diff.pow(2).mean((2, 3))[0]).sum())
        assert float(l2_model(dist, ref)) == pytest.approx(expected, rel=1e-5)
        assert float(l2_model(ref, ref)) == 0.0
    assert l2_model.weights.numel() == 64 + 128 + 256 + 512 + 512


def test_space_warping_makes_a_one_pixel_shift_cheap(l2_model):
    import cv2

    rng = np.random.default_rng(0)
    big = cv2.GaussianBlur(rng.random((72, 72, 3)).astype(np.float32), (0, 0), 1.5)
    big = (big - big.min()) / (big.max() - big.min())
    t = lambda a: torch.from_numpy(np.ascontiguousarray(a)).permute(2, 0, 1)[None]
    ref, shifted = t(big[4:68, 4:68]), t(big[4:68, 5:69])
    plain = SWDNv2(SWDNv2Config(radii=(0, 0, 0, 0, 0)), trunk=l2_model.trunk)
    plain.weights.data.copy_(l2_model.weights)
    with torch.no_grad():
        assert float(l2_model(shifted, ref)) < 0.5 * float(plain(shifted, ref))


def test_weights_round_trip_and_foreign_files_are_refused(tmp_path, l2_model):
    from safetensors.torch import save_file

    path = save_swdn_v2(l2_model, tmp_path / "v2.safetensors", card={"steps": 3})
    loaded = load_swdn_v2(path)
    assert torch.equal(loaded.weights, l2_model.weights) and loaded.config == l2_model.config
    assert loaded.config.notes == {"steps": 3}
    save_file({"weights": torch.zeros(3)}, str(tmp_path / "bad.safetensors"))
    with pytest.raises(UserError, match="SWDN v2 layout"):
        load_swdn_v2(tmp_path / "bad.safetensors")
    with pytest.raises(UserError, match="Bad SWDN v2 configuration"):
        SWDNv2Config(pool="avg")


def test_pairwise_head_probability_is_symmetric():
    d_a, d_b = torch.tensor([0.02, 0.5, 3.0]), torch.tensor([0.04, 0.1, 3.0])
    for head in (PairwiseHead(), PairwiseHead(log_distance=True)):
        assert torch.allclose(head(d_a, d_b) + head(d_b, d_a), torch.ones(3))
        assert head(d_a, d_b)[2] == 0.5 and head(d_a, d_b)[0] > 0.5 > head(d_a, d_b)[1]


def test_shipped_weights_are_the_channel_weights_of_a_real_run():
    """models/swdn-v2.safetensors holds only the 1,472 learned weights; its card names the run and the evaluation."""
    import hashlib
    import json
    from pathlib import Path

    card_path = Path("models/swdn-v2.json")
    if not card_path.is_file():
        pytest.skip("no SWDN v2 weights shipped yet")
    card = json.loads(card_path.read_text())
    weights = Path("models") / card["weights"]
    assert hashlib.sha256(weights.read_bytes()).hexdigest() == card["sha256"] and card["bytes"] < 20_000
    model = load_swdn_v2(weights)
    assert model.weights.numel() == sum(model.trunk.channels) == 1472 and model.config == SWDNv2Config()
    assert "not PIPAL-trained" in card["label"] and card["training"]["steps"] > 0
    assert {"SWDN v2", "SWDN v2 no-warp ablation", "SWDN v2 max-pool ablation"} <= set(card["evaluation"])
