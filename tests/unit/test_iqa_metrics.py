"""The metric table beyond PSNR/SSIM: known values, layers against loop implementations, oracles."""

from pathlib import Path

import numpy as np
import pytest
import torch

from sr_demo.errors import UserError
from sr_demo.iqa import METRICS, ms_ssim, psnr, score, ssim
from sr_demo.iqa.agreement import kendall_tau, pearson, spearman
from sr_demo.iqa.inputs import as_image
from sr_demo.iqa.swdn import SWDN, L2Pool2d, SpaceWarpingDifference, SWDNConfig, hann_window, load_swdn, save_swdn

HELDOUT = sorted(Path("examples/heldout").glob("*.png"))


def _photo(i=0):
    from sr_demo.imaging import load_image

    return load_image(HELDOUT[i]).rgb


# --- MS-SSIM -----------------------------------------------------------------

def test_ms_ssim_identity_and_minimum_size():
    img = _photo()
    assert ms_ssim(img, img) == pytest.approx(1.0)
    with pytest.raises(UserError, match="161"):
        ms_ssim(img[:160], img[:160])


def test_ms_ssim_of_a_constant_offset_is_the_coarse_luminance_term():
    """Flat images: contrast-structure is 1 at every scale, so MS-SSIM = l^w5 of the coarsest scale."""
    ref = np.full((170, 170, 3), 0.4)
    img = ref + 0.1
    a, b = 0.5 * 255, 0.4 * 255
    c1 = (0.01 * 255) ** 2
    lum = (2 * a * b + c1) / (a * a + b * b + c1)
    assert ms_ssim(img, ref, y_channel=False) == pytest.approx(lum**0.1333, abs=1e-6)


def test_ms_ssim_falls_with_noise():
    ref, rng = _photo(1), np.random.default_rng(0)
    values = [ms_ssim(np.clip(ref + rng.normal(0, s, ref.shape), 0, 1), ref) for s in (0.01, 0.05, 0.1)]
    assert values[0] > values[1] > values[2] > 0


# --- pyiqa agreement (test-only oracle, non-commercial licence) ---------------

def test_psnr_ssim_ms_ssim_agree_with_pyiqa():
    pyiqa = pytest.importorskip("pyiqa")
    from sr_demo.degradations.jpeg import jpeg

    kw = dict(test_y_channel=True, color_space="ycbcr", device="cpu")
    p, s = pyiqa.create_metric("psnr", **kw), pyiqa.create_metric("ssim", downsample=False, **kw)
    m = pyiqa.create_metric("ms_ssim", downsample=False, **kw)
    t = lambda a: torch.from_numpy(np.ascontiguousarray(a)).permute(2, 0, 1)[None].float()  # noqa: E731
    rng = np.random.default_rng(0)
    for i in range(0, len(HELDOUT), 3):
        ref = _photo(i)
        img = jpeg(np.clip(ref + rng.normal(0, 0.02, ref.shape), 0, 1), 60)
        a, b = img[4:-4, 4:-4], ref[4:-4, 4:-4]  # the same crop on both sides
        assert psnr(img, ref, 4) == pytest.approx(float(p(t(a), t(b))), abs=0.01)
        assert ssim(img, ref, 4) == pytest.approx(float(s(t(a), t(b))), abs=0.002)
        assert ms_ssim(img, ref, 4) == pytest.approx(float(m(t(a), t(b))), abs=0.002)


# --- SWDN layers against loops -----------------------------------------------

def test_l2_pooling_matches_a_loop():
    x = torch.randn(1, 2, 7, 6)
    out = L2Pool2d()(x)
    w = hann_window(3).double()
    padded = torch.nn.functional.pad(x.double(), (1, 1, 1, 1))
    expected = torch.zeros(1, 2, 4, 3, dtype=torch.float64)
    for c in range(2):
        for i in range(4):
            for j in range(3):
                patch = padded[0, c, 2 * i:2 * i + 3, 2 * j:2 * j + 3]
                expected[0, c, i, j] = torch.sqrt((w * patch**2).sum() + 1e-12)
    assert torch.allclose(out.double(), expected, atol=1e-5)
    assert torch.allclose(w.sum(), torch.tensor(1.0, dtype=torch.float64))


def test_space_warping_difference_matches_a_loop():
    gen = torch.Generator().manual_seed(0)
    ref, dist = torch.randn(2, 3, 5, 6, generator=gen), torch.randn(2, 3, 5, 6, generator=gen)
    for r in (0, 1, 2):
        out = SpaceWarpingDifference(r)(ref, dist)
        expected = torch.empty_like(ref)
        for n in range(2):
            for i in range(5):
                for j in range(6):
                    best, best_cost = None, float("inf")
                    for u in range(-r, r + 1):  # same scan order as the layer, so ties break alike
                        for v in range(-r, r + 1):
                            d = ref[n, :, i, j] - dist[n, :, min(max(i + u, 0), 4), min(max(j + v, 0), 5)]
                            cost = float((d * d).sum())
                            if cost < best_cost - 1e-12 or (u, v) == (0, 0) and cost <= best_cost:
                                best, best_cost = d, cost
                    expected[n, :, i, j] = best
        costs_out, costs_exp = out.pow(2).sum(1), expected.pow(2).sum(1)
        assert torch.allclose(costs_out, costs_exp, atol=1e-6)


def test_space_warping_undoes_a_one_pixel_shift_exactly():
    f = torch.randn(1, 4, 10, 10)
    shifted = torch.roll(f, 1, dims=3)
    diff = SpaceWarpingDifference(1)(f, shifted)
    assert diff[..., 1:-1, 1:-1].abs().max() == 0
    assert SpaceWarpingDifference(0)(f, shifted).abs().max() > 0.1


def _smooth_pair(shift: int, size: int = 64):
    import cv2

    rng = np.random.default_rng(0)
    big = cv2.GaussianBlur(rng.random((size + 8, size + 8, 3)).astype(np.float32), (0, 0), 2.0)
    big = (big - big.min()) / (big.max() - big.min())
    ref = big[4:4 + size, 4:4 + size]
    return big[4:4 + size, 4 + shift:4 + shift + size], ref


def test_swdn_tolerates_the_shift_it_is_built_for():
    """Same weights, with and without the space-warping layer: a 1-px shift costs far less with it."""
    torch.manual_seed(0)
    warped = SWDN(SWDNConfig()).eval()
    plain = SWDN(SWDNConfig(radii=(0, 0, 0, 0))).eval()
    plain.load_state_dict(warped.state_dict())
    t = lambda a: torch.from_numpy(np.ascontiguousarray(a)).permute(2, 0, 1)[None]  # noqa: E731
    dist, ref = _smooth_pair(1)
    with torch.no_grad():
        assert float(warped(t(ref), t(ref))) == 0.0
        d_warped, d_plain = float(warped(t(dist), t(ref))), float(plain(t(dist), t(ref)))
    assert d_warped < 0.3 * d_plain


def test_swdn_weights_round_trip_and_foreign_files_are_refused(tmp_path):
    from safetensors.torch import save_file

    model = SWDN(SWDNConfig(widths=(4, 8), radii=(1, 1)))
    path = save_swdn(model, tmp_path / "w.safetensors", half=False)
    loaded = load_swdn(path)
    assert loaded.config.widths == (4, 8) and all(torch.equal(a, b) for a, b in
                                                   zip(model.state_dict().values(), loaded.state_dict().values()))
    save_file({"x": torch.zeros(1)}, str(tmp_path / "other.safetensors"))
    with pytest.raises(UserError, match="SWDN layout"):
        load_swdn(tmp_path / "other.safetensors")


def test_shipped_swdn_card_is_from_a_real_run():
    import json

    card_path = Path("models/swdn-inhouse.json")
    if not card_path.is_file():
        pytest.skip("no SWDN weights shipped yet")
    card = json.loads(card_path.read_text())
    weights = Path("models") / card["weights"]
    import hashlib

    assert hashlib.sha256(weights.read_bytes()).hexdigest() == card["sha256"] and card["bytes"] < 5_000_000
    assert "not PIPAL-trained" in card["label"] and card["training"]["steps"] > 0
    assert {"swdn", "maxpool", "nowarp"} <= set(card["evaluation"])


# --- inputs, table, correlations ----------------------------------------------

def test_inputs_accept_3d_and_4d_and_explain_the_rest():
    img = np.random.default_rng(0).random((20, 24, 3)).astype(np.float32)
    chw = torch.from_numpy(img).permute(2, 0, 1)
    assert np.array_equal(as_image(chw), img) and np.array_equal(as_image(chw[None]), img)
    assert np.array_equal(as_image(img[None]), img)
    with pytest.raises(UserError, match="divide by 255"):
        as_image(img * 255)
    with pytest.raises(UserError, match="batch of 2"):
        as_image(np.stack([img, img]))
    with pytest.raises(UserError, match="3 RGB channels"):
        as_image(img[..., :2])
    with pytest.raises(UserError, match="never resizes"):
        score("psnr_y", img, img[:-2])


def test_table_rows_are_complete_and_scores_have_their_direction():
    from sr_demo.imaging import load_image

    img, rng = load_image("examples/chelsea.png").rgb, np.random.default_rng(1)  # NIQE needs many 96-px patches
    noisy = np.clip(img + rng.normal(0, 0.08, img.shape), 0, 1).astype(np.float32)
    for name, m in METRICS.items():
        assert m.label and m.convention and m.citation and m.value_range[0] < m.value_range[1]
        assert m.needs_download == (name in ("lpips", "dists"))
    assert score("niqe", img, None) < score("niqe", noisy, None)
    assert not METRICS["niqe"].full_reference and METRICS["niqe"].lower_better
    with pytest.raises(UserError, match="Unknown metric"):
        score("vif", img, img)


def test_correlations_match_scipy():
    stats = pytest.importorskip("scipy.stats")
    rng = np.random.default_rng(0)
    x, y = rng.integers(0, 5, 30), rng.random(30)
    assert spearman(x, y) == pytest.approx(stats.spearmanr(x, y).statistic)
    assert pearson(x, y) == pytest.approx(stats.pearsonr(x, y).statistic)
    assert kendall_tau(x, y) == pytest.approx(stats.kendalltau(x, y).statistic)


# --- learned metrics: the download path ---------------------------------------

def test_lpips_offline_is_one_clear_message(tmp_path, monkeypatch):
    from sr_demo.iqa import learned

    monkeypatch.setenv("SR_DEMO_CACHE", str(tmp_path))
    monkeypatch.setattr(learned, "ALEXNET", learned.Download("http://127.0.0.1:9/alexnet-owt-7be5be79.pth", "7be5be79"))
    learned.load_lpips.cache_clear()
    img = np.zeros((32, 32, 3), np.float32)
    with pytest.raises(UserError, match="needs its published weights"):
        score("lpips", img, img)


def test_lpips_loads_files_in_the_published_layout(tmp_path, monkeypatch):
    from torchvision.models import alexnet

    from sr_demo.iqa import learned

    cache = tmp_path / "iqa"
    cache.mkdir()
    torch.save({f"features.{k}": v for k, v in alexnet().features.state_dict().items()},
               cache / "alexnet-owt-7be5be79.pth")
    torch.save({f"lin{i}.model.1.weight": torch.rand(1, c, 1, 1) for i, c in enumerate(learned.LPIPS.CHANNELS)},
               cache / learned.LPIPS_HEAD.file)
    monkeypatch.setenv("SR_DEMO_CACHE", str(tmp_path))
    monkeypatch.setattr(learned, "ALEXNET", learned.Download("http://127.0.0.1:9/alexnet-owt-7be5be79.pth", None))
    learned.load_lpips.cache_clear()
    img, rng = _photo(3)[:64, :64], np.random.default_rng(0)
    noisy = np.clip(img + rng.normal(0, 0.1, img.shape), 0, 1).astype(np.float32)
    assert score("lpips", img, img) == pytest.approx(0.0, abs=1e-6)
    assert score("lpips", noisy, img) > 0
    learned.load_lpips.cache_clear()


def test_cli_score_prints_json_and_refuses_mismatched_sizes(capsys):
    import json

    from sr_demo.cli import main

    ref, other = str(HELDOUT[0]), str(HELDOUT[1])
    assert main(["score", ref, ref, other, "--metrics", "psnr,ssim,ms_ssim", "--y-channel", "--crop-border", "4",
                 "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert [r["image"] for r in out["scores"]] == [ref, other] and out["scores"][0]["psnr_y"] == "inf"
    assert out["metrics"]["ssim_y"]["lower_better"] is False and out["scores"][1]["ms_ssim_y"] < 1
    assert main(["score", ref, "examples/chelsea.png", "--metrics", "psnr"]) == 2
    assert "never resizes" in capsys.readouterr().err
    assert main(["score", ref, ref, "--metrics", "vif"]) == 2


def test_pairwise_head_is_a_2afc_probability():
    from sr_demo.iqa.swdn import PairwiseHead

    d = torch.tensor([0.1, 1.0])
    for head in (PairwiseHead(), PairwiseHead(log_distance=True)):
        assert torch.allclose(head(d, d), torch.full((2,), 0.5)) and bool((head(d / 4, d) > 0.5).all())
    log_head = PairwiseHead(log_distance=True)
    assert torch.allclose(log_head(d / 4, d)[0], log_head(d / 4, d)[1], atol=1e-4)  # only the ratio matters


def test_metric_agreement_orients_lower_is_better_metrics():
    from sr_demo.iqa.agreement import metric_agreement

    # four images: PSNR rises while the NIQE distance falls, i.e. both say image 3 is best
    scores = {f"i{k}": {"psnr_y": 20.0 + k, "ssim_y": 0.9 - 0.1 * k, "niqe": 9.0 - k} for k in range(4)}
    tau = metric_agreement(scores, ["psnr_y", "ssim_y", "niqe"])
    np.testing.assert_allclose(tau, [[1, -1, 1], [-1, 1, -1], [1, -1, 1]])
