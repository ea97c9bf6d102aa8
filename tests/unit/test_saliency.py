"""Channel saliency maps: per-pixel attribution at conv_last's input (RDSR)."""

import numpy as np
import pytest
import torch

from sr_demo.analysis.saliency import channel_contributions, channel_maps
from sr_demo.models.archs import build_arch


@pytest.mark.parametrize(("arch", "kwargs"), [("srresnet", dict(num_feat=6, num_block=2, dropout=0.7)),
                                              ("rrdbnet", dict(num_feat=5, num_block=1, num_grow_ch=4))])
def test_maps_have_the_feature_shape_and_sum_to_the_contributions(arch, kwargs):
    torch.manual_seed(0)
    net = build_arch(arch, scale=4, **kwargs).double().eval()
    x = torch.rand(1, 3, 5, 7, dtype=torch.float64)
    maps = channel_maps(net, x)
    assert maps.shape == (kwargs["num_feat"], 20, 28) and maps.dtype == np.float64
    contrib = channel_contributions(net, x)
    assert np.allclose(maps.sum((1, 2)), contrib, rtol=1e-12, atol=1e-12)
    # every pixel's entry is exactly what zeroing that one feature pixel removes from the summed output
    with torch.no_grad():
        full = net(x).sum().item()

        def zero_one(_m, inputs):
            a = inputs[0].clone()
            a[:, 2, 9, 13] = 0
            return (a,)

        h = net.conv_last.register_forward_pre_hook(zero_one)
        assert full - net(x).sum().item() == pytest.approx(maps[2, 9, 13], rel=1e-9, abs=1e-12)
        h.remove()


def test_maps_sum_over_the_batch_only():
    torch.manual_seed(0)
    net = build_arch("srresnet", scale=2, num_feat=4, num_block=1).double().eval()
    a, b = torch.rand(1, 3, 6, 6, dtype=torch.float64), torch.rand(1, 3, 6, 6, dtype=torch.float64)
    both = channel_maps(net, torch.cat([a, b]))
    assert both.shape == (4, 12, 12)
    assert np.allclose(both, channel_maps(net, a) + channel_maps(net, b))


def test_frozen_float32_net_and_input_of_another_dtype():
    """As the UI calls it: a frozen fp32 model (the loader's) and whatever tensor comes in."""
    torch.manual_seed(0)
    net = build_arch("srresnet", scale=4, num_feat=4, num_block=1).eval().requires_grad_(False)
    maps = channel_maps(net, torch.rand(1, 3, 4, 4, dtype=torch.float64))
    assert maps.shape == (4, 16, 16) and np.isfinite(maps).all() and np.abs(maps).sum() > 0


def test_a_net_without_conv_last_is_refused():
    with pytest.raises(ValueError, match="conv_last"):
        channel_maps(torch.nn.Conv2d(3, 3, 1), torch.rand(1, 3, 4, 4))
