"""`sr-demo ddr`: JSON with CHI per layer (mean, sd, per seed) that a direct computation reproduces; bad input
is one line and exit status 2."""

from __future__ import annotations

import json

import numpy as np
import pytest

from sr_demo.cli import main


@pytest.fixture(autouse=True)
def _private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("SR_DEMO_CACHE", str(tmp_path / "cache"))
    from sr_demo.ddr import cache

    cache.clear_memory()


def _run(capsys, *args):
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_json_reports_chi_per_layer_that_a_direct_computation_reproduces(capsys, tmp_path):
    from sr_demo.ddr.features import layer_features
    from sr_demo.ddr.patches import make_patches
    from sr_demo.ddr.separation import chi
    from sr_demo.models import get_model

    html = tmp_path / "fig.html"
    code, out, _ = _run(capsys, "ddr", "--model", "fsrcnn-x4", "--all-layers", "--patches-per-class", "6",
                        "--seeds", "2", "--classes", "clean,blur,noise", "--method", "pca", "--out", str(html),
                        "--json")
    assert code == 0
    record = json.loads(out)
    model = get_model("fsrcnn-x4")
    assert [row["label"] for row in record["layers"]] == list(model.feature_layers)
    assert record["seeds"] == 2 and record["patches"] == 18 and set(record["seconds"]) >= {"features", "total"}
    deepest = record["layers"][-1]
    for seed in range(2):
        p = make_patches(("clean", "blur", "noise"), per_class=6, seed=seed)
        f = layer_features(model.module, p.lr, [deepest["layer"]])[deepest["layer"]]
        assert deepest["chi_class"][seed] == pytest.approx(chi(f, p.cls), rel=1e-6)
        assert deepest["chi_photo"][seed] == pytest.approx(chi(f, p.photo), rel=1e-6)
    assert deepest["chi_class_sd"] == pytest.approx(np.std(deepest["chi_class"], ddof=1))
    assert "plotly" in html.read_text()[:10_000_000] and deepest["label"] in html.read_text()


def test_text_output_names_the_deepest_layer(capsys):
    from sr_demo.models import get_model

    code, out, _ = _run(capsys, "ddr", "--model", "fsrcnn-x4", "--patches-per-class", "4", "--seeds", "1",
                        "--classes", "clean,noise")
    deepest = list(get_model("fsrcnn-x4").feature_layers)[-1]
    assert code == 0 and "by class" in out and out.splitlines()[-1].startswith(deepest)


@pytest.mark.parametrize("args, match", [
    (["--model", "nope-x4"], "Unknown model"),
    (["--model", "bicubic-x4"], "interpolation"),
    (["--model", "fsrcnn-x4", "--layer", "nope"], "no layer 'nope'"),
    (["--model", "fsrcnn-x4", "--seeds", "0"], "Seeds"),
    (["--model", "fsrcnn-x4", "--classes", "fog"], "Unknown degradation class"),
    (["--model", "fsrcnn-x4", "--patches-per-class", "1"], "Patches per class"),
])
def test_bad_input_is_one_line_and_exit_2(capsys, args, match):
    code, _, err = _run(capsys, "ddr", *args)
    assert code == 2 and match in err and err.count("\n") == 1
