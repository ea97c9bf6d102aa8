"""The held-out IQA protocol's fifth degradation type: Real-ESRGAN's second order at five strengths."""

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from sr_demo.degradations.pipeline import sample_ops
from sr_demo.degradations.spec import DegradationSpec, RealESRGANConfig
from sr_demo.imaging import load_image
from sr_demo.iqa import ssim
from training.evaluate_swdn import KINDS, REALESRGAN_STRENGTHS, realesrgan_config, realesrgan_levels
from training.train_swdn import LEVELS


def _ops(strength: float, seed: int) -> list[dict]:
    spec = DegradationSpec(scale=1, pipeline="realesrgan", realesrgan=realesrgan_config(strength))
    return [op.to_dict() for op in sample_ops(spec, seed, (96, 96))]


def test_full_strength_is_real_esrgans_own_configuration_and_training_types_come_first():
    full, default = dataclasses.asdict(realesrgan_config(1.0)), dataclasses.asdict(RealESRGANConfig())
    for key, value in default.items():
        assert full[key] == pytest.approx(value, abs=1e-12), key
    assert REALESRGAN_STRENGTHS[-1] == 1.0 and KINDS == (*LEVELS, "realesrgan")


@pytest.mark.parametrize("seed", range(6))
def test_one_seed_draws_the_same_operations_at_every_strength_with_values_growing(seed):
    runs = [_ops(t, seed) for t in REALESRGAN_STRENGTHS]
    what = [[(d["op"], d.get("kernel", {}).get("type"), d.get("kind"), d.get("method")) for d in ops] for ops in runs]
    assert all(w == what[0] for w in what)
    for i, op in enumerate(runs[0]):
        if op["op"] == "noise":
            assert [r[i]["level"] for r in runs] == sorted(r[i]["level"] for r in runs)
        if op["op"] == "blur" and "sigma_x" in op["kernel"]:
            assert [r[i]["kernel"]["sigma_x"] for r in runs] == sorted(r[i]["kernel"]["sigma_x"] for r in runs)


def test_levels_are_deterministic_by_seed_keep_the_size_and_lose_structure_in_order():
    for k, path in enumerate(sorted(Path("examples/heldout").glob("*.png"))[:3]):
        photo = load_image(path).rgb
        levels = realesrgan_levels(photo, k)
        assert all(a.shape == photo.shape for a in levels)
        assert all(np.array_equal(a, b) for a, b in zip(levels, realesrgan_levels(photo, k)))
        assert not np.array_equal(levels[-1], realesrgan_levels(photo, k + 100)[-1])
        values = [ssim(a, photo) for a in levels]
        assert values == sorted(values, reverse=True), (path.name, values)
