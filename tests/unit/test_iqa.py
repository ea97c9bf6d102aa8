"""PSNR/SSIM in the SR protocol against independent references."""

import numpy as np
import pytest

from sr_demo.errors import UserError
from sr_demo.imaging import rgb_to_y
from sr_demo.iqa import METRICS, SR_PROTOCOL, psnr, score_all, ssim


def _pair(seed=0, shape=(48, 40, 3)):
    rng = np.random.default_rng(seed)
    ref = rng.random(shape)
    img = np.clip(ref + rng.normal(0, 0.05, shape), 0, 1)
    return img, ref


def test_psnr_analytic_constant_offset():
    ref = np.full((20, 20, 3), 0.5)
    img = ref + 10 / 255  # MSE on the 0..255 scale is exactly 100
    assert psnr(img, ref, y_channel=False) == pytest.approx(10 * np.log10(255**2 / 100), abs=1e-9)
    # Y of a grey offset: 10 * (65.481+128.553+24.966)/255 = 8.588... levels
    dy = 10 * 219.0 / 255
    assert psnr(img, ref, y_channel=True) == pytest.approx(10 * np.log10(255**2 / dy**2), abs=1e-9)


def test_psnr_crop_border_ignores_the_border():
    ref = np.full((20, 20, 3), 0.5)
    img = ref.copy()
    img[:4] = 0  # damage only the top 4 rows
    assert psnr(img, ref, crop_border=4) == float("inf")
    assert np.isfinite(psnr(img, ref, crop_border=3))


def test_ssim_matches_skimage_gaussian_ssim():
    skimage_metrics = pytest.importorskip("skimage.metrics")
    img, ref = _pair()
    for y in (True, False):
        ours = ssim(img, ref, crop_border=4, y_channel=y)
        a, b = img[4:-4, 4:-4], ref[4:-4, 4:-4]
        if y:
            a, b = rgb_to_y(a)[..., None], rgb_to_y(b)[..., None]
        ref_val = np.mean([
            skimage_metrics.structural_similarity(a[..., c] * 255, b[..., c] * 255, data_range=255,
                                                  gaussian_weights=True, sigma=1.5, use_sample_covariance=False)
            for c in range(a.shape[2])
        ])
        assert ours == pytest.approx(ref_val, abs=1e-6)


def test_ssim_identity_and_bounds():
    img, ref = _pair(1)
    assert ssim(ref, ref) == pytest.approx(1.0)
    assert -1 <= ssim(img, ref) < 1


def test_size_mismatch_and_bad_crop_are_user_errors():
    img, ref = _pair()
    with pytest.raises(UserError, match="sizes differ"):
        psnr(img[:-1], ref)
    with pytest.raises(UserError, match="leaves nothing"):
        psnr(img, ref, crop_border=40)


def test_table_declares_direction_and_scores():
    img, ref = _pair()
    scores = score_all(img, ref, crop_border=2)
    assert set(scores) == set(SR_PROTOCOL)  # what every SR output gets; the full table is in test_iqa_metrics
    assert all(not METRICS[n].lower_better and METRICS[n].full_reference for n in SR_PROTOCOL)
    assert scores["psnr_y"] == pytest.approx(psnr(img, ref, 2, True))
