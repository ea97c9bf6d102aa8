"""RDSR dropout study: architecture options."""

import pytest
import torch

from sr_demo.models.archs.srresnet import MSRResNet


@pytest.mark.parametrize("position", ["end", "middle"])
def test_dropout_position_shape_and_keys(position):
    torch.manual_seed(0)
    net = MSRResNet(scale=4, num_feat=8, num_block=4, dropout=0.7, dropout_position=position)
    assert net(torch.rand(1, 3, 6, 5)).shape == (1, 3, 24, 20)
    assert net.state_dict().keys() == MSRResNet(scale=4, num_feat=8, num_block=4).state_dict().keys()


@pytest.mark.parametrize("position", ["end", "middle"])
def test_dropout_off_in_eval_on_in_train(position):
    torch.manual_seed(0)
    net = MSRResNet(scale=4, num_feat=8, num_block=4, dropout=0.7, dropout_position=position)
    x = torch.rand(1, 3, 8, 8)
    net.eval()
    with torch.no_grad():
        assert torch.equal(net(x), net(x))
    net.train()
    with torch.no_grad():
        assert not torch.equal(net(x), net(x))


def test_bad_dropout_position():
    with pytest.raises(ValueError):
        MSRResNet(dropout_position="start")


# --- recipes and training ----------------------------------------------------------------------

import dataclasses  # noqa: E402
from pathlib import Path  # noqa: E402

from sr_demo.models.archs import build_arch  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
RDSR = ["srresnet-real-x4", "srresnet-real-dropout-x4", "srresnet-real-dropout-mid-x4", "rrdb-real-x4",
        "rrdb-real-dropout-x4", "msrresnet-nogr-x4"]




import recipes  # noqa: E402
import train  # noqa: E402


def test_rdsr_recipes_build_and_twins_share_everything_but_the_factor():
    table = recipes.RECIPES
    assert set(RDSR) <= set(table)
    for name in RDSR:
        r = table[name]
        net = build_arch(r.arch, scale=r.scale, **r.arch_kwargs)
        assert 2 * sum(p.numel() for p in net.parameters()) < 5_000_000
        if r.twin_of:
            twin = table[r.twin_of]
            same = ("arch", "scale", "training", "iters", "batch", "lr_patch", "lr", "warmup", "min_lr_ratio",
                    "ema_decay", "seed")
            assert all(getattr(r, f) == getattr(twin, f) for f in same), name
            diff = {k for k in set(r.arch_kwargs) | set(twin.arch_kwargs)
                    if r.arch_kwargs.get(k) != twin.arch_kwargs.get(k)}
            assert diff <= {"dropout", "dropout_position", "global_residual"} and diff, name
    assert table["srresnet-real-dropout-x4"].arch_kwargs["dropout"] == 0.7
    assert table["rrdb-real-dropout-x4"].arch_kwargs == dict(table["rrdb-light-x4"].arch_kwargs, dropout=0.5)
    assert table["msrresnet-nogr-x4"].training == "bicubic"
    assert all(table[n].training == "realesrgan" and table[n].target_gain_db == 1.0 for n in RDSR[:5])


def test_rdsr_dropout_recipe_trains_three_iterations_on_cpu(tmp_path):
    r = recipes.RECIPES["srresnet-real-dropout-x4"]
    tiny = dataclasses.replace(r, arch_kwargs=dict(r.arch_kwargs, num_feat=8, num_block=2), iters=3, batch=1,
                               lr_patch=16, warmup=0, ckpt_every=3)
    cfg = train.TrainConfig(out=tmp_path / "runs", data=ROOT / "examples" / "heldout", device="cpu", workers=0,
                            log_every=1, command="pytest")
    result = train.train(tiny, cfg)
    assert result["done"] and result["iteration"] == 3
    ck = torch.load(tmp_path / "runs" / r.name / "last.pt", map_location="cpu", weights_only=False)
    assert ck["recipe"]["seed"] == recipes.RDSR_SEED


# --- the study ---------------------------------------------------------------------------------

import json  # noqa: E402

import numpy as np  # noqa: E402

import study  # noqa: E402


def test_paired_bootstrap_constant_difference_has_zero_width():
    assert study.paired_bootstrap(np.full(7, 0.3)) == pytest.approx((0.3, 0.3))


def test_paired_bootstrap_symmetric_case_centres_on_the_mean():
    d = 0.5 + np.array([-2.0, -1.0, -0.5, 0.0, 0.5, 1.0, 2.0] * 3)
    lo, hi = study.paired_bootstrap(d)
    assert lo < 0.5 < hi and (lo + hi) / 2 == pytest.approx(0.5, abs=0.03)
    # standard error of the mean: the 95% interval is about +-1.96 SE wide
    se = d.std() / np.sqrt(len(d))
    assert (hi - lo) / 2 == pytest.approx(1.96 * se, rel=0.1)


def test_study_end_to_end_on_two_tiny_random_twins(tmp_path):
    import cv2

    heldout = tmp_path / "heldout"
    heldout.mkdir()
    rng = np.random.default_rng(0)
    for i in range(2):
        cv2.imwrite(str(heldout / f"p{i}.png"), cv2.GaussianBlur(rng.integers(0, 256, (32, 32, 3), np.uint8), (5, 5), 1))
    runs = []
    for name, kw, twin in (("base-x4", {}, None), ("drop-x4", dict(dropout=0.7), "base-x4")):
        torch.manual_seed(len(runs))
        net = MSRResNet(scale=4, num_feat=8, num_block=2, **kw)
        recipe = dict(name=name, arch="srresnet", scale=4, arch_kwargs=dict(num_feat=8, num_block=2, **kw),
                      twin_of=twin)
        (tmp_path / name).mkdir()
        torch.save(dict(recipe=recipe, ema=net.state_dict()), tmp_path / name / "last.pt")
        runs.append(str(tmp_path / name))
    out = tmp_path / "out" / "study"
    assert study.main([*runs, "--heldout", str(heldout), "--out", str(out), "--resamples", "200",
                       "--models-dir", str(tmp_path / "none")]) == 0
    res = json.loads(out.with_suffix(".json").read_text())
    assert set(res["psnr_y"]) == {"bicubic", "base-x4", "drop-x4"} and not res["all_shipped"]
    assert list(res["psnr_y"]["bicubic"]) == [*study.PRESETS, "mean"]
    (pair,) = res["pairs"]
    assert pair["model"] == "drop-x4" and pair["twin"] == "base-x4"
    d = pair["diff"]["mean"]
    assert d["ci95"][0] <= d["diff"] <= d["ci95"][1]
    want = res["psnr_y"]["drop-x4"]["mean"] - res["psnr_y"]["base-x4"]["mean"]
    assert d["diff"] == pytest.approx(want)
    assert "drop-x4 - base-x4" in out.with_suffix(".md").read_text()
    again = study.study(runs, heldout, tmp_path / "none", resamples=200)  # fixed seeds: reproducible
    assert again["psnr_y"] == res["psnr_y"]


# --- channel saliency --------------------------------------------------------------------------

from sr_demo.analysis.saliency import channel_contributions, channel_saliency, spread  # noqa: E402


@pytest.mark.parametrize("global_residual", [True, False])
def test_gradient_x_activation_equals_ablating_each_channel(global_residual):
    torch.manual_seed(0)
    net = MSRResNet(scale=4, num_feat=6, num_block=2, dropout=0.7, global_residual=global_residual).double().eval()
    x = torch.rand(1, 3, 5, 6, dtype=torch.float64)
    contrib = channel_contributions(net, x)
    with torch.no_grad():
        full = net(x).sum().item()
        for c in range(6):
            def zero_c(_m, inputs, c=c):
                a = inputs[0].clone()
                a[:, c] = 0
                return (a,)

            h = net.conv_last.register_forward_pre_hook(zero_c)
            assert full - net(x).sum().item() == pytest.approx(contrib[c], rel=1e-9, abs=1e-9)
            h.remove()
    s = channel_saliency(net, x)
    assert s.sum() == pytest.approx(1.0) and np.allclose(s, np.abs(contrib) / np.abs(contrib).sum())


def test_spread_summaries():
    even, one = spread(np.full(8, 1 / 8)), spread(np.eye(8)[0])
    assert even["gini"] == pytest.approx(0.0) and even["entropy"] == pytest.approx(1.0)
    assert one["gini"] == pytest.approx(1 - 1 / 8) and one["entropy"] == pytest.approx(0.0)


def test_saliency_works_on_rrdbnet():
    torch.manual_seed(0)
    net = build_arch("rrdbnet", scale=4, num_feat=8, num_block=1, num_grow_ch=4, dropout=0.5).eval()
    s = channel_saliency(net, torch.rand(1, 3, 4, 4))
    assert s.shape == (8,) and s.sum() == pytest.approx(1.0)
