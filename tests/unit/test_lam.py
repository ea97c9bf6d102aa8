"""LAM: the batched library against the step-by-step reference, an analytic
bicubic check, hand-computed Gini values, context geometry, the cache, the CLI."""

import json

import numpy as np
import pytest
import torch

from sr_demo.errors import UserError
from sr_demo.lam import cache, clear_cache, compute_lam, diffusion_index, gini, mass_radii, render
from sr_demo.lam.diffusion import normalise
from sr_demo.lam.receptive import crop_note, receptive_radius
from sr_demo.lam.reference import reference_attribution
from sr_demo.lam.region import context_box, footprint
from sr_demo.models.archs import build_arch
from sr_demo.models.loader import LoadedModel

PATHS = ["blur", "linear-blur", "linear-black"]
TINY = {  # (arch, scale, pad multiple, kwargs): every conv family of the zoo, a few channels wide
    "fsrcnn": ("fsrcnn", 4, 1, dict(d=8, s=4, m=1)),
    "edsr": ("edsr", 4, 1, dict(num_feat=8, num_block=1)),
    "srresnet": ("srresnet", 4, 1, dict(num_feat=8, num_block=1)),
    "rrdb-x2": ("rrdbnet", 2, 2, dict(num_feat=8, num_block=1, num_grow_ch=4)),
    "rrdb-x2-shallow": ("rrdbnet", 2, 2, dict(num_feat=8, num_block=0)),  # pixel-unshuffle, small field
    "bicubic": ("interp", 4, 1, dict(method="bicubic")),
}


def tiny(key: str, name: str | None = None) -> LoadedModel:
    arch, scale, pad, kwargs = TINY[key]
    torch.manual_seed(0)
    module = build_arch(arch, scale=scale, **kwargs).eval().requires_grad_(False)
    return LoadedModel(name or f"tiny-{key}", module, scale, arch, 0, None, "builtin", True, True, pad)


def image(h: int, w: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).random((h, w, 3), dtype=np.float32)


@pytest.fixture(autouse=True)
def fresh_cache():
    clear_cache()
    yield
    clear_cache()


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("key", list(TINY))
def test_batched_matches_the_sequential_reference(key, path):
    model, lr = tiny(key), image(14, 16)
    x, y = 12, 8
    ref = reference_attribution(model, lr, x, y, window=8, fold=7, path=path)
    for chunk in (None, 3):  # sized from memory, and a chunk that does not divide the path
        clear_cache()
        res = compute_lam(model, lr, x, y, window=8, fold=7, path=path, context=None, chunk=chunk)
        assert res.box == (0, 0, 16, 14)
        assert np.abs(res.attribution - ref).max() <= 1e-4 * np.abs(ref).max()
        assert np.abs(res.map - normalise(ref)).max() <= 1e-4
        assert res.di == pytest.approx(diffusion_index(normalise(ref)), abs=1e-3)


@pytest.mark.parametrize("key", ["fsrcnn", "edsr", "rrdb-x2-shallow", "bicubic"])
def test_exact_mode_runs_only_the_receptive_field_and_changes_nothing(key, monkeypatch):
    from sr_demo.lam import run

    model, lr = tiny(key), image(56, 60, seed=1)
    shapes = []
    real_path = run.Path
    monkeypatch.setattr(run, "Path", lambda img, *a: shapes.append(tuple(img.shape[1:])) or real_path(img, *a))
    res = compute_lam(model, lr, 60, 60, window=8, fold=3, context=None)
    ref = reference_attribution(model, lr, 60, 60, window=8, fold=3)
    assert shapes[0][0] * shapes[0][1] < 56 * 60 / 2  # the network saw a crop ...
    assert res.attribution.shape == (3, 56, 60) and res.box == (0, 0, 60, 56)
    assert np.abs(res.attribution - ref).max() <= 1e-4 * np.abs(ref).max()  # ... yet the map is exact
    # the attribution reaches the theoretical receptive field and stops there
    from sr_demo.lam.diffusion import ring_distance

    reach = ring_distance(res.map.shape, res.footprint)[np.abs(ref).sum(0) > 0].max()
    assert receptive_radius(model) - 1.5 <= reach <= receptive_radius(model) + 1.5


def test_bicubic_x4_attribution_is_zero_outside_the_pixels_bicubic_reads():
    from sr_demo.degradations.resize import contributions
    from sr_demo.models import get_model

    model, lr = get_model("bicubic-x4"), image(24, 24, seed=2)
    x, y, size = 37, 41, 16
    idx, weights = contributions(24, 96, 4.0, "bicubic", True)

    def read(start):  # D uses output rows/cols start .. start+size (one extra for the differences)
        lines = range(start, start + size + 1)
        return sorted({int(i) for o in lines for i, wt in zip(idx[o], weights[o]) if wt != 0})

    mask = np.zeros((24, 24), bool)
    mask[np.ix_(read(y), read(x))] = True
    for path in PATHS:
        res = compute_lam(model, lr, x, y, window=size, fold=10, path=path, context=None)
        assert np.all(res.attribution[:, ~mask] == 0), path
        assert (res.map[mask] > 0).mean() > 0.9, path


def test_gini_and_di_against_hand_computed_values():
    # sorted x, weights (2i - n - 1) = -3, -1, 1, 3: G = (-3 - 2 + 3 + 12) / (4 * 10) = 0.25
    assert gini(np.array([4.0, 1.0, 3.0, 2.0])) == pytest.approx(0.25, abs=1e-6)
    assert diffusion_index(np.array([1.0, 2.0, 3.0, 4.0])) == pytest.approx(75.0, abs=1e-4)
    # all mass on one of four pixels: G = 3 / 4 -> DI 25; uniform: G = 0 -> DI 100
    assert diffusion_index(np.array([[0.0, 0.0], [0.0, 1.0]])) == pytest.approx(25.0, abs=1e-4)
    assert diffusion_index(np.full((8, 8), 0.3)) == pytest.approx(100.0, abs=1e-6)
    # negative values are shifted to start at 0, as the official code does: [-1, 0, 1, 2] ~ [0, 1, 2, 3]
    assert gini(np.array([-1.0, 0.0, 1.0, 2.0])) == pytest.approx(10 / 24, abs=1e-6)


def test_mass_radii_count_rings_around_the_footprint():
    m = np.zeros((9, 9), np.float32)
    m[4, 4] = 5.0  # inside the footprint
    m[4, 6] = 4.0  # ring 2
    m[0, 0] = 1.0  # ring 4
    assert mass_radii(m, (4, 4, 1, 1)) == {0.5: 0, 0.9: 2}
    assert mass_radii(m, (4, 4, 1, 1), (0.95,)) == {0.95: 4}
    assert mass_radii(np.zeros((4, 4)), (0, 0, 1, 1)) == {0.5: None, 0.9: None}


def test_context_is_centred_on_the_window_and_shifted_inside_at_borders():
    assert footprint((37, 41, 16), 4) == (9, 10, 5, 5)
    assert context_box((100, 80, 4, 4), 300, 400) == (70, 50, 64, 64)  # centred
    assert context_box((2, 1, 4, 4), 300, 400) == (0, 0, 64, 64)  # top-left corner
    assert context_box((396, 296, 4, 4), 300, 400) == (336, 236, 64, 64)  # bottom-right corner
    assert context_box((10, 5, 4, 4), 20, 400) == (0, 0, 64, 20)  # image shorter than the context
    with pytest.raises(UserError, match="at least 8"):
        context_box((0, 0, 4, 4), 100, 100, size=4)


def test_context_mode_cost_and_map_do_not_depend_on_image_size():
    model = tiny("fsrcnn")
    big = image(200, 200, seed=3)
    small = np.ascontiguousarray(big[70:134, 70:134])  # the 64x64 context of a central window
    a = compute_lam(model, big, 400, 400, window=16, fold=4)
    b = compute_lam(model, small, 400 - 70 * 4, 400 - 70 * 4, window=16, fold=4)
    assert a.box == (70, 70, 64, 64) and a.mode == "context" and a.map.shape == (64, 64)
    assert np.allclose(a.map, b.map, atol=1e-5) and a.di == pytest.approx(b.di, abs=1e-3)


def test_results_are_cached_by_content_model_window_and_settings():
    model, lr = tiny("fsrcnn"), image(20, 20)
    first = compute_lam(model, lr, 10, 10, window=8, fold=4)
    assert compute_lam(model, lr.copy(), 10, 10, window=8, fold=4) is first  # same content, new array
    assert cache.stats == {"hits": 1, "misses": 1}
    assert compute_lam(model, lr, 10, 10, window=8, fold=5) is not first
    assert compute_lam(tiny("fsrcnn", "other"), lr, 10, 10, window=8, fold=4) is not first
    lr2 = lr.copy()
    lr2[0, 0, 0] = 1 - lr2[0, 0, 0]
    assert compute_lam(model, lr2, 10, 10, window=8, fold=4) is not first


def test_window_is_moved_inside_and_bad_settings_are_user_errors():
    model, lr = tiny("bicubic"), image(16, 16)
    res = compute_lam(model, lr, 500, -3, window=16, fold=2)
    assert res.window == (48, 0, 16)
    with pytest.raises(UserError, match="path"):
        compute_lam(model, lr, 0, 0, fold=2, path="spiral")
    with pytest.raises(UserError, match="fold"):
        compute_lam(model, lr, 0, 0, fold=0)
    with pytest.raises(UserError, match="does not fit"):
        compute_lam(model, lr, 0, 0, window=100)


def test_receptive_fields_and_crop_flags():
    def model(arch, **kwargs):
        return LoadedModel("m", build_arch(arch, scale=4, **kwargs), 4, arch, 0, None, "builtin", True, True, 1)

    assert receptive_radius(model("edsr", num_feat=8, num_block=16)) == 1 + 32 + 1 + 1 + 0.5 + 0.25
    assert receptive_radius(model("srresnet", num_feat=8, num_block=16)) == 1 + 32 + 1 + 0.5 + 0.5
    assert receptive_radius(model("rrdbnet", num_feat=8, num_block=6, num_grow_ch=4)) == 2 + 90 + 0.5 + 0.25 + 0.5
    assert receptive_radius(model("fsrcnn")) == 2 + 4 + 1
    swin = LoadedModel("s", torch.nn.Identity(), 4, "SwinIR", 0, "ab", "upload", False, False, 8)
    assert "windows" in crop_note(swin) and receptive_radius(swin) is None


def test_seismic_colours_and_overlay():
    assert np.allclose(render.seismic(np.array([0.0, 0.5, 1.0])), [[0, 0, 0.3], [1, 1, 1], [0.5, 0, 0]])
    m = np.zeros((4, 4), np.float32)
    m[1, 2] = 1.0
    over = render.overlay(m, np.zeros((4, 4, 3), np.float32), 4)
    assert over.shape == (16, 16, 3)
    assert np.allclose(over[0, 0], 0.5) and np.allclose(over[5, 9], [0.25, 0.0, 0.0])  # white/2, dark red/2
    boxed = render.draw_box(np.zeros((20, 20, 3)), 2, 3, 5, 5)
    assert boxed[3, 4].tolist() == pytest.approx(render.WINDOW_RGB) and boxed[5, 4].sum() == 0


def test_cli_lam_json_and_heatmap(capsys, tmp_path, chelsea_path):
    from sr_demo.cli import main
    from sr_demo.imaging import load_image, save_png

    crop = save_png(load_image(chelsea_path).rgb[100:164, 150:214], tmp_path / "crop.png")
    out = tmp_path / "heat.png"
    code = main(["lam", str(crop), "--model", "bicubic-x2", "--x", "60", "--y", "50", "--fold", "10",
                 "--out", str(out), "--json"])
    payload = json.loads(capsys.readouterr().out)
    assert code == 0 and payload["model"] == "bicubic-x2" and payload["scale"] == 2
    assert 0 < payload["di"] < 100 and payload["window"] == [60, 50, 16] and payload["device"] == "cpu"
    assert set(payload["radii"]) == {"50%", "90%"} and payload["seconds"] > 0
    assert load_image(out).rgb.shape == (128, 128, 3)
    assert main(["lam", str(crop), "--model", "bicubic-x2", "--x", "0", "--y", "0", "--window", "999"]) == 2
    assert "does not fit" in capsys.readouterr().err
