"""The training pipeline: a CPU smoke run whose loss falls, resume, time limit,
the evaluation card, the recipe table, and the shipped learned weights."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from sr_demo.models import zoo
from training import evaluate, recipes, train

ROOT = Path(__file__).resolve().parents[2]
HELDOUT_EXAMPLES = ROOT / "examples" / "heldout"

TINY_ENTRY = zoo._inhouse("fsrcnn-tiny-x2", "fsrcnn", 2, dict(d=16, s=8, m=1), "bicubic", "toy model of the training tests")
TINY = recipes.Recipe("fsrcnn-tiny-x2", iters=60, batch=8, lr_patch=16, lr=3e-3, warmup=0, ema_decay=0.9, ckpt_every=30,
                      target_gain_db=1.5)
LOSS = re.compile(r"iter (\d+)/\d+ loss ([0-9.]+)")


def _losses(log: Path) -> list[float]:
    return [float(m.group(2)) for m in LOSS.finditer(log.read_text())]


def _cfg(tmp: Path, **kw) -> "train.TrainConfig":
    return train.TrainConfig(out=tmp / "runs", data=HELDOUT_EXAMPLES, device="cpu", workers=0, log_every=10,
                             command="pytest", **kw)


@pytest.fixture(scope="module", autouse=True)
def tiny_entry():
    """The toy model in the zoo table, where recipes read their network from."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(zoo, "ZOO", (*zoo.ZOO, TINY_ENTRY))
        yield


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    """30 iterations, then a resumed run extended to 60: the toy model trained twice."""
    tmp = tmp_path_factory.mktemp("train")
    first = train.train(TINY, _cfg(tmp, iters=30))
    second = train.train(TINY, _cfg(tmp, iters=60, resume=True))
    return tmp, first, second


def test_smoke_training_loss_goes_down_and_resume_continues(tiny_run):
    import torch

    tmp, first, second = tiny_run
    assert first["iteration"] == 30 and first["done"]
    assert second["iteration"] == 60 and second["done"]
    run = tmp / "runs" / TINY.name
    log = (run / "log.txt").read_text()
    assert "resumed at iteration 30/60" in log
    losses = _losses(run / "log.txt")
    assert len(losses) == 6 and losses[-1] < 0.8 * losses[0], losses
    ck = torch.load(run / "last.pt", map_location="cpu", weights_only=False)
    assert ck["iteration"] == 60 and ck["total_iters"] == 60
    assert [h["start_iteration"] for h in ck["history"]] == [0, 30]
    assert {"model", "ema", "optimizer", "scheduler", "rng", "elapsed"} <= set(ck)
    assert ck["scheduler"]["last_epoch"] == 60 and ck["elapsed"] > 0
    # EMA differs from the raw weights but has the same keys (the export layout)
    assert ck["ema"].keys() == ck["model"].keys()


def test_existing_run_needs_resume_and_time_limit_checkpoints(tiny_run, tmp_path):
    import torch

    tmp, _, _ = tiny_run
    with pytest.raises(SystemExit, match="--resume"):
        train.train(TINY, _cfg(tmp, iters=90))
    stopped = train.train(TINY, _cfg(tmp_path, iters=40, time_limit=0.0))
    assert stopped["stopped"] and stopped["iteration"] == 1
    ck = torch.load(tmp_path / "runs" / TINY.name / "last.pt", map_location="cpu", weights_only=False)
    assert ck["iteration"] == 1


def test_lr_schedule_warmup_and_cosine():
    f = train.lr_factor
    assert f(0, 100, 10, 0.01) == pytest.approx(0.1)
    assert f(10, 100, 10, 0.01) == pytest.approx(1.0)
    assert f(100, 100, 10, 0.01) == pytest.approx(0.01)
    assert f(55, 100, 10, 0.0) == pytest.approx(0.5)


def test_random_crops_are_augmented_uint8_patches():
    images = [np.arange(40 * 50 * 3, dtype=np.uint8).reshape(40, 50, 3)]
    stream = iter(train.RandomCrops(images, 16, seed=0, stream=0))
    crops = [next(stream) for _ in range(40)]
    assert all(c.shape == (3, 16, 16) and str(c.dtype) == "torch.uint8" for c, _ in crops)
    assert len({c.numpy().tobytes() for c, _ in crops}) > 30
    again = iter(train.RandomCrops(images, 16, seed=0, stream=0))
    assert np.array_equal(next(again)[0].numpy(), crops[0][0].numpy())


def test_evaluate_writes_measured_card_and_readme_table(tiny_run, tmp_path, monkeypatch):
    from safetensors.torch import load_file

    from sr_demo.degradations import imresize
    from sr_demo.iqa import psnr

    tmp, _, _ = tiny_run
    models = tmp_path / "models"
    monkeypatch.setenv("SR_DEMO_MODELS_DIR", str(models))
    heldout = tmp_path / "heldout"
    heldout.mkdir()
    for p in sorted(HELDOUT_EXAMPLES.glob("*.png"))[:2]:
        shutil.copy(p, heldout / p.name)
    readme = tmp_path / "README.md"
    readme.write_text(f"# x\n\n## Model zoo\n\n{evaluate.START}\nold\n{evaluate.END}\n\n## Layout\n")
    card = evaluate.evaluate(TINY, weights_from=tmp / "runs", heldout=heldout, readme=readme, device="cpu",
                             require_gain=False)
    assert card["published"]
    on_disk = json.loads((models / f"{TINY.name}.json").read_text())
    assert on_disk["sha256"] == hashlib.sha256((models / f"{TINY.name}.safetensors").read_bytes()).hexdigest()
    assert on_disk["iterations"] == 60 and on_disk["scale"] == 2 and on_disk["heldout"]["images"] == 2
    assert on_disk["params"] == sum(v.numel() for v in load_file(models / f"{TINY.name}.safetensors").values())
    assert all(v.dtype.itemsize == 2 for v in load_file(models / f"{TINY.name}.safetensors").values())
    assert on_disk["gain_db"] == pytest.approx(on_disk["psnr_y"] - on_disk["bicubic_psnr_y"], abs=1e-3)
    assert on_disk["target_met"] is False and on_disk["target_gain_db"] == 1.5
    assert on_disk["fp16_psnr_y_delta_db"] < 0.01
    assert "CPU" in on_disk["hardware"][0] and on_disk["commands"][0] == "pytest"
    assert {"psnr_y", "ssim_y", "psnr_rgb", "ssim_rgb"} <= set(on_disk["heldout_scores"])
    # bicubic's number is the SR protocol on MATLAB-bicubic LR, recomputed here
    expected = []
    for p in sorted(heldout.glob("*.png")):
        hr = evaluate.read_rgb(p)
        lr = evaluate.quantise(imresize(hr, scale=0.5))
        expected.append(psnr(evaluate.quantise(imresize(lr, scale=2)), hr, 2, True))
    assert on_disk["bicubic_psnr_y"] == pytest.approx(float(np.mean(expected)), abs=1e-3)
    md = (models / f"{TINY.name}.md").read_text()
    assert "NOT met" in md and on_disk["sha256"] in md and f"{on_disk['psnr_y']:.2f}" in md
    text = readme.read_text()
    assert "old" not in text and f"`{TINY.name}`" in text and text.endswith("\n\n## Layout\n")


def test_evaluate_gate_refuses_a_model_worse_than_bicubic(tiny_run, tmp_path):
    tmp, _, _ = tiny_run
    heldout = tmp_path / "heldout"
    heldout.mkdir()
    shutil.copy(sorted(HELDOUT_EXAMPLES.glob("*.png"))[0], heldout)
    card = evaluate.evaluate(TINY, weights_from=tmp / "runs", models=tmp_path / "models", heldout=heldout,
                             readme=None, device="cpu")
    assert card["gain_db"] < 0 and not card["published"] and card["gate"]
    assert not (tmp_path / "models").exists()
    assert json.loads((tmp / "runs" / TINY.name / "eval.json").read_text())["published"] is False


def test_recipe_table_matches_the_issue():
    from sr_demo.models.archs import build_arch

    zoo_one = {"fsrcnn-x4", "edsr-baseline-x2", "edsr-baseline-x4", "msrresnet-x4", "rrdb-light-x4", "edsr-x16",
               "a2n-x2", "a2n-x4", "swinir-light-x4"}
    zoo_two = {"srresnet-real-x4", "srresnet-real-dropout-x4", "srresnet-real-dropout-mid-x4", "rrdb-real-x4",
               "rrdb-real-dropout-x4", "msrresnet-nogr-x4", "srresnet-gan-x4"}
    assert set(recipes.RECIPES) == zoo_one | zoo_two
    for r in recipes.RECIPES.values():
        assert r.name.endswith(f"-x{r.scale}")
        params = sum(p.numel() for p in build_arch(r.arch, scale=r.scale, **r.arch_kwargs).parameters())
        assert 2 * params < 5_000_000, r.name  # fp16 file under 5 MB
        if r.adv_weight:  # judged by sharpness next to its L1 parent, and must still beat bicubic
            assert r.target_gain_db == 0.0 and r.target_sharpness_gain > 0 and r.init_from in recipes.RECIPES
            continue
        want = (1.0 if r.training == "realesrgan" else 0.3 if r.scale == 16
                else 2.0 if r.scale == 2 or params >= 1_000_000 else 1.5)
        assert r.target_gain_db == want, r.name
        assert r.hr_patch <= 240 if r.scale < 16 else r.hr_patch <= 300  # fits the 300 px training crops
    assert sum(p.numel() for p in build_arch("fsrcnn", scale=4, **recipes.RECIPES["fsrcnn-x4"].arch_kwargs).parameters()) < 100_000
    rrdb = recipes.RECIPES["rrdb-light-x4"]
    assert sum(p.numel() for p in build_arch(rrdb.arch, scale=4, **rrdb.arch_kwargs).parameters()) <= 2_500_000


def test_training_scripts_import_nothing_the_gpu_machine_lacks():
    code = (
        "import sys, training.train, training.evaluate, training.run_pending, training.recipes, training.study, training.gan,"
        " training.published_cards;"
        "bad = {'gradio', 'spandrel', 'kornia', 'plotly', 'torchvision', 'pyiqa', 'sr_demo.ui'} & set(sys.modules); print(sorted(bad))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.strip() == "[]"


def test_run_pending_dry_run_lists_missing_cards(tmp_path):
    out = subprocess.run(
        [sys.executable, "-m", "training.run_pending", "fsrcnn-x4", "--dry-run", "--models-dir", str(tmp_path),
         "--out", str(tmp_path / "runs")],
        capture_output=True, text=True, check=True, cwd=ROOT,
    )
    assert "fsrcnn-x4: no card" in out.stdout and "would train fsrcnn-x4" in out.stdout


# --- the shipped learned weights ------------------------------------------------------------

def _learned():
    """Shipped in-house weights (a recipe made them); shipped conversions of published weights have
    their own checks (tests/unit/test_tfjs_sources.py, test_published_cards.py)."""
    return [e for e in zoo.ZOO if e.name in recipes.RECIPES and isinstance(e.source, zoo.Shipped) and e.sha256]


@pytest.mark.parametrize("entry", _learned() or [None], ids=lambda e: e.name if e else "none-shipped")
def test_shipped_learned_model_loads_checked_and_beats_bicubic(entry):
    """Behavioural: the shipped weights (sha256-checked) beat bicubic on a bundled held-out crop."""
    if entry is None:
        pytest.skip("no learned model shipped yet")
    from sr_demo.degradations import imresize
    from sr_demo.iqa import psnr
    from sr_demo.models.loader import file_sha256, load_zoo_model
    from sr_demo.models.runner import upscale

    path = zoo.models_dir() / entry.weights
    assert entry.sha256 == file_sha256(path)
    card = zoo.card_summary(entry)
    assert card["sha256"] == entry.sha256 and card["scale"] == entry.scale
    model = load_zoo_model(entry.name)
    hr = evaluate.read_rgb(HELDOUT_EXAMPLES / "gcompris-monuments-colosseum_0.png")
    hr = hr[: hr.shape[0] // entry.scale * entry.scale, : hr.shape[1] // entry.scale * entry.scale]
    lr = evaluate.quantise(imresize(hr, scale=1 / entry.scale))
    sr = evaluate.quantise(upscale(model, lr, device="cpu").sr)
    bicubic = evaluate.quantise(imresize(lr, scale=entry.scale))
    assert psnr(sr, hr, entry.scale, True) > psnr(bicubic, hr, entry.scale, True)


def test_evaluate_keeps_a_better_published_card(tiny_run, tmp_path):
    tmp, _, _ = tiny_run
    heldout = tmp_path / "heldout"
    heldout.mkdir()
    shutil.copy(sorted(HELDOUT_EXAMPLES.glob("*.png"))[0], heldout)
    kw = dict(weights_from=tmp / "runs", models=tmp_path / "models", heldout=heldout, readme=None, device="cpu",
              require_gain=False)
    first = evaluate.evaluate(TINY, **kw)
    assert first["published"]
    path = tmp_path / "models" / f"{TINY.name}.json"
    better = dict(json.loads(path.read_text()), gain_db=first["gain_db"] + 1.0)
    path.write_text(json.dumps(better))
    second = evaluate.evaluate(TINY, **kw)
    assert not second["published"] and "published card is better" in second["gate"][0]
    assert json.loads(path.read_text())["gain_db"] == better["gain_db"]


def test_pack_unpack_and_resume_from_a_slim_checkpoint(tiny_run, tmp_path, monkeypatch):
    import tarfile

    import torch

    from training import run_pending
    monkeypatch.setitem(recipes.RECIPES, TINY.name, TINY)
    tmp, _, _ = tiny_run
    packed = run_pending.pack(tmp_path / "out", [TINY.name], tmp / "runs", tmp_path / "no-models")
    assert [p.name for p in packed] == [f"{TINY.name}.tar"]
    with tarfile.open(packed[0]) as tar:
        assert tar.getnames() == [f"runs/{TINY.name}/last.pt"]
    other = tmp_path / "elsewhere"
    run_pending.unpack(tmp_path / "out", other / "runs", tmp_path / "models", readme=None)
    slim = torch.load(other / "runs" / TINY.name / "last.pt", weights_only=False)
    assert "optimizer" not in slim and all(v.dtype == torch.float16 for v in slim["ema"].values())
    resumed = train.train(TINY, _cfg(other, iters=70, resume=True))
    assert resumed["iteration"] == 70
    log = (other / "runs" / TINY.name / "log.txt").read_text()
    assert "slim checkpoint" in log and "resumed at iteration 60/70" in log


@pytest.mark.parametrize("name", ["fsrcnn-x4", "srresnet-real-dropout-x4"])
def test_published_zoo_line_rebuilds_the_entry_with_the_new_sha256(name):
    """The `_inhouse(...)` line evaluate.py prints, run in zoo.py's namespace, is the entry pinned to the new file."""
    import dataclasses

    entry, sha = zoo.get_entry(name), "ab" * 32
    line = evaluate.zoo_entry_source(recipes.RECIPES[name], sha)
    assert line.lstrip().startswith(f"_inhouse({name!r}")
    rebuilt = eval(line.strip().rstrip(","), vars(zoo))  # our own generated source
    assert rebuilt == dataclasses.replace(entry, source=zoo.Shipped(f"{name}.safetensors", sha))
