"""Every zoo model that can run here goes through the app's one inference
path and through LAM: a converted graph that left autograd (numpy inside,
detach, in-place tricks) would give a uniform map with DI 100."""

import numpy as np
import pytest

from sr_demo.imaging import load_image
from sr_demo.lam import compute_lam
from sr_demo.models import available_entries, get_model, upscale
from sr_demo.resources import repo_file

LEARNED = [e for e in available_entries() if e.source is not None]


@pytest.fixture(scope="module")
def texture() -> np.ndarray:
    return load_image(repo_file("examples") / "chelsea.png").rgb[100:124, 180:204]  # fur and whiskers


@pytest.mark.parametrize("entry", LEARNED, ids=lambda e: e.name)
def test_runs_and_attributes(entry, texture):
    model = get_model(entry.name)
    sr = upscale(model, texture, device="cpu").sr
    assert sr.shape == (24 * entry.scale, 24 * entry.scale, 3) and np.isfinite(sr).all()
    centre = 12 * entry.scale - 4
    res = compute_lam(model, texture, centre, centre, window=8, fold=6, context=24, device="cpu")
    assert np.isfinite(res.map).all() and res.map.max() == 1.0
    assert res.map.std() > 0.01 and res.di < 99, f"{entry.name}: uniform LAM map (gradients lost?)"
    if model.receptive_radius is not None:  # attribution stays inside the declared receptive field
        assert res.radii[0.9] <= model.receptive_radius + 8
