"""The shift demo's measurements (sr_demo.iqa.shift) on analytic cases."""

import numpy as np
import pytest

from sr_demo.errors import UserError
from sr_demo.iqa.shift import quality_lost, quality_lost_curve, shift_curves


def test_quality_lost_by_direction():
    assert quality_lost(27.0, 30.0, lower_better=False) == pytest.approx(10.0)
    assert quality_lost(0.2, 0.1, lower_better=True) == pytest.approx(50.0)
    assert quality_lost(0.1, 0.1, lower_better=True) == 0.0
    assert quality_lost(50.0, float("inf"), lower_better=False) == pytest.approx(50.0)  # from a nominal 100 dB
    assert quality_lost_curve("psnr_y", [40.0, 30.0, 20.0]) == pytest.approx([0.0, 25.0, 50.0])


def test_shift_curves_start_at_identity():
    rng = np.random.default_rng(0)
    ref = rng.random((24, 30, 3)).astype(np.float32)
    curves, skipped = shift_curves(ref, ref, ("psnr_y", "ssim_y", "swdn"), 3, 0)
    assert np.isinf(curves["psnr_y"][0]) and curves["ssim_y"][0] == pytest.approx(1.0)
    assert all(np.isfinite(curves["psnr_y"][1:])) and max(curves["ssim_y"][1:]) < 0.5  # noise decorrelates
    # a moved constant image is the same image: shifting costs nothing
    flat = np.full_like(ref, 0.5)
    assert shift_curves(flat, flat, ("ssim_y",), 3, 0)[0]["ssim_y"] == pytest.approx([1.0] * 4)
    assert skipped == {} and curves["swdn"][0] == pytest.approx(0.0) and min(curves["swdn"][1:]) > 0
    with pytest.raises(UserError, match="too narrow"):
        shift_curves(ref[:, :3], ref[:, :3], ("psnr_y",), 3, 0)


def test_optional_metrics_that_fail_are_left_out_with_the_reason(monkeypatch):
    import sr_demo.iqa.shift as shift

    real = shift.score

    def flaky(metric, *args):
        if metric in ("swdn", "ssim_y"):
            raise UserError(f"{metric} cannot run here")
        return real(metric, *args)

    monkeypatch.setattr(shift, "score", flaky)
    ref = np.random.default_rng(1).random((16, 20, 3)).astype(np.float32)
    curves, skipped = shift_curves(ref, ref, ("psnr_y", "swdn"), 2, 0)
    assert list(curves) == ["psnr_y"] and skipped == {"swdn": "swdn cannot run here"}
    with pytest.raises(UserError, match="ssim_y cannot run"):
        shift_curves(ref, ref, ("ssim_y",), 2, 0)


def test_no_shift_scores_exactly_what_the_table_does_and_the_padding_hides_in_the_crop():
    from sr_demo.iqa import score
    from sr_demo.iqa.shift import shifted

    rng = np.random.default_rng(1)
    ref = rng.random((32, 40, 3)).astype(np.float32)
    img = np.clip(ref + rng.normal(0, 0.05, ref.shape), 0, 1).astype(np.float32)
    curves, _ = shift_curves(img, ref, ("psnr_y",), 4, 4)
    assert curves["psnr_y"][0] == score("psnr_y", img, ref, 4)
    moved = shifted(img, 3)
    assert moved.shape == img.shape and np.array_equal(moved[:, :37], img[:, 3:])
    assert np.array_equal(moved[:, 37:], np.repeat(img[:, -1:], 3, axis=1))
    # with a border crop >= the shift, the repeated columns are never scored: same as scoring the plain slice
    assert curves["psnr_y"][3] == pytest.approx(score("psnr_y", img[4:-4, 7:-1], ref[4:-4, 4:-4], 0))
