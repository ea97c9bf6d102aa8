"""The perception–distortion study's pure parts: the LR it makes, rankings, agreement, skipped metrics."""

import numpy as np
import pytest

from sr_demo.errors import UserError
from sr_demo.iqa import perception_distortion as pd


def _study(scores: dict[str, dict[str, float]], groups=None) -> pd.Study:
    hr = np.zeros((32, 32, 3), np.float32)
    return pd.Study(hr=hr, lr=hr[::4, ::4], scale=4, outputs={n: hr for n in scores},
                    groups=groups or {n: "baseline" for n in scores}, scores=scores)


def test_prepare_crops_the_centre_to_a_multiple_of_the_scale_and_makes_the_matlab_bicubic_lr():
    from sr_demo.degradations.resize import imresize

    rng = np.random.default_rng(0)
    big = rng.random((300, 270, 3)).astype(np.float32)
    hr, lr, notes = pd.prepare(big, 3)
    assert hr.shape == (255, 255, 3) and lr.shape == (85, 85, 3)  # 256 -> 255, the largest multiple of 3
    top, left = (300 - 255) // 2, (270 - 255) // 2
    assert np.array_equal(hr, big[top:top + 255, left:left + 255]) and "centre 255×255" in notes[0]
    assert np.allclose(lr, np.clip(imresize(hr, 1 / 3), 0, 1))
    small = big[:40, :40]
    assert pd.prepare(small, 4)[2] == []  # already small and a multiple of 4: used as it is
    with pytest.raises(UserError, match="too small"):
        pd.prepare(big[:20, :20], 4)


def test_ranking_follows_each_metrics_direction_and_keeps_order_on_ties():
    study = _study({"a": {"psnr_y": 20.0, "niqe": 5.0}, "b": {"psnr_y": 25.0, "niqe": 9.0},
                    "c": {"psnr_y": 22.0, "niqe": 5.0}})
    assert pd.ranking(study, "psnr_y") == ["b", "c", "a"]  # higher better
    assert pd.ranking(study, "niqe") == ["a", "c", "b"]  # lower better, a before c on the tie


def test_rank_agreement_is_plus_one_for_the_same_order_and_minus_one_reversed():
    study = _study({f"m{k}": {"psnr_y": 20.0 + k, "ssim_y": 0.5 + 0.1 * k, "niqe": 1.0 + k} for k in range(4)})
    assert pd.rank_agreement(study, "psnr_y", "ssim_y") == pytest.approx(1.0)
    assert pd.rank_agreement(study, "psnr_y", "niqe") == pytest.approx(-1.0)  # NIQE rises: it calls them worse


def test_add_scores_records_a_metric_that_cannot_score_and_scores_once():
    rng = np.random.default_rng(1)
    hr = rng.random((40, 40, 3)).astype(np.float32)
    study = pd.Study(hr=hr, lr=hr[::4, ::4], scale=4, outputs={"x": np.clip(hr + 0.05, 0, 1), "y": hr},
                     groups={"x": "baseline", "y": "baseline"})
    pd.add_scores(study, ["psnr_y", "ms_ssim_y"])  # MS-SSIM needs 161 px a side
    assert "161" in study.skipped["ms_ssim_y"] and set(study.scores["x"]) == {"psnr_y"}
    assert study.scores["y"]["psnr_y"] == float("inf")
    study.scores["x"]["psnr_y"] = -1.0  # a second call must not recompute what is there
    pd.add_scores(study, ["psnr_y"])
    assert study.scores["x"]["psnr_y"] == -1.0


def test_default_models_leave_out_anime_and_repeat_architectures():
    from sr_demo.models import get_entry

    for scale in (2, 4):
        names = pd.default_models(scale)
        entries = [get_entry(n) for n in names]
        assert set(names) <= set(pd.candidates(scale)) and all(e.scale == scale for e in entries)
        assert not any(e.group in pd.OFF_BY_DEFAULT for e in entries)
        learned = [e.arch for e in entries if e.group != "baseline"]
        assert len(learned) == len(set(learned))
    with pytest.raises(UserError, match="at least one"):
        pd.run_models(np.zeros((64, 64, 3), np.float32), 4, [])
