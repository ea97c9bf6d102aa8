"""GAN fine-tunes (DDR factor 2): the U-Net SN discriminator, the GAN losses,
initialisation from a parent run, resume with the discriminator, and study
seed runs. CPU only, tiny networks."""

from __future__ import annotations

import dataclasses
import hashlib
import math
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from torch.nn.utils import parametrize

from sr_demo.models import zoo
from training import gan, recipes, train

ROOT = Path(__file__).resolve().parents[2]
HELDOUT = ROOT / "examples" / "heldout"
TINY_NET = {"num_feat": 8, "num_block": 2}


def _tiny(recipe: recipes.Recipe, **kw) -> recipes.Recipe:
    """A short schedule of `recipe`; the `tiny_nets` fixture shrinks its network."""
    small = {"iters": 3, "batch": 1, "lr_patch": 16, "warmup": 0, "ckpt_every": 3}
    return dataclasses.replace(recipe, **{**small, **kw})


@pytest.fixture(autouse=True)
def tiny_nets(monkeypatch):
    """The zoo entries these tests train, with tiny networks (recipes read their network from the zoo)."""
    tiny = {"msrresnet-x4", "srresnet-gan-x4", "srresnet-real-x4"}
    monkeypatch.setattr(zoo, "ZOO", tuple(
        dataclasses.replace(e, arch_kwargs={**e.arch_kwargs, **TINY_NET}) if e.name in tiny else e for e in zoo.ZOO))


def _cfg(tmp: Path, **kw) -> train.TrainConfig:
    return train.TrainConfig(out=tmp / "runs", data=HELDOUT, device="cpu", workers=0, log_every=1,
                             command="pytest", **kw)


def _load(path: Path) -> dict:
    return torch.load(path, map_location="cpu", weights_only=False)


@pytest.fixture
def no_shipped(tmp_path, monkeypatch):
    """No shipped models/ weights to fall back on (a real msrresnet-x4 may ship one day)."""
    models = tmp_path / "models"
    models.mkdir()
    monkeypatch.setenv("SR_DEMO_MODELS_DIR", str(models))
    monkeypatch.setattr(train, "DISC_FEAT", 8)  # a tiny discriminator in the tiny runs
    return models


@pytest.fixture
def parent(tmp_path, no_shipped):
    """A complete tiny msrresnet-x4 run (the GAN recipe's parent) in tmp_path/runs."""
    tiny = _tiny(recipes.RECIPES["msrresnet-x4"])
    assert train.train(tiny, _cfg(tmp_path))["done"]
    return tmp_path / "runs" / "msrresnet-x4" / "last.pt"


GAN = _tiny(recipes.RECIPES["srresnet-gan-x4"])


# --- the discriminator and the losses ------------------------------------------------------------


@pytest.mark.parametrize("size", [(64, 64), (48, 80)])
def test_discriminator_gives_one_logit_per_pixel(size):
    torch.manual_seed(0)
    d = gan.UNetDiscriminatorSN(num_feat=8)
    out = d(torch.rand(2, 3, *size))
    assert out.shape == (2, 1, *size)
    assert torch.isfinite(out).all()


def test_discriminator_rejects_sides_not_divisible_by_8():
    with pytest.raises(ValueError, match="divisible by 8"):
        gan.UNetDiscriminatorSN(num_feat=8)(torch.rand(1, 3, 60, 64))


def test_spectral_norm_is_applied():
    torch.manual_seed(0)
    d = gan.UNetDiscriminatorSN(num_feat=8).train()
    sn = d.sn_modules()
    assert len(sn) == 8  # 3 down, 3 up, 2 extra; not the input conv nor the output conv
    assert not parametrize.is_parametrized(d.conv0) and not parametrize.is_parametrized(d.conv_out)
    with torch.no_grad():
        for m in sn:  # scale the raw weights up: the normalised ones must not follow
            m.parametrizations.weight.original.mul_(7.0)
        for _ in range(30):  # power iterations, one per training forward
            d(torch.rand(1, 3, 16, 16))
        for m in sn:
            sigma = torch.linalg.matrix_norm(m.weight.flatten(1), ord=2).item()
            raw = torch.linalg.matrix_norm(m.parametrizations.weight.original.flatten(1), ord=2).item()
            assert sigma == pytest.approx(1.0, abs=0.03) and raw > 2.0


def test_gan_losses_on_hand_cases():
    big = torch.full((2, 1, 8, 8), 30.0)
    zero = torch.zeros(2, 1, 8, 8)
    assert gan.discriminator_loss(big, -big).item() == pytest.approx(0.0, abs=1e-6)  # perfect D
    assert gan.discriminator_loss(zero, zero).item() == pytest.approx(2 * math.log(2))  # undecided D
    assert gan.discriminator_loss(-big, big).item() == pytest.approx(60.0, rel=1e-4)  # D fooled both ways
    assert gan.generator_adv_loss(zero).item() == pytest.approx(math.log(2))
    assert gan.generator_adv_loss(big).item() == pytest.approx(0.0, abs=1e-6)  # G fools D
    assert gan.generator_adv_loss(-big).item() == pytest.approx(30.0, rel=1e-4)
    # the generator lowers its loss by raising D's logits on its output; D by lowering them
    fake = zero.clone().requires_grad_(True)
    gan.generator_adv_loss(fake).backward()
    assert (fake.grad < 0).all()
    fake.grad = None
    gan.discriminator_loss(zero, fake).backward()
    assert (fake.grad > 0).all()
    assert gan.generator_adv_loss(zero.bfloat16()).dtype == torch.float32


def test_tiny_discriminator_learns_sharp_from_blurred():
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    images = [cv2.imread(str(p))[:, :, ::-1].astype(np.float32) / 255 for p in sorted(HELDOUT.glob("*.png"))]

    def crops(n=4, p=32):
        sharp, blurred = [], []
        for _ in range(n):
            im = images[rng.integers(len(images))]
            y, x = rng.integers(im.shape[0] - p + 1), rng.integers(im.shape[1] - p + 1)
            c = np.ascontiguousarray(im[y : y + p, x : x + p])
            sharp.append(c)
            blurred.append(cv2.GaussianBlur(c, (0, 0), 2.0))
        return [torch.from_numpy(np.stack(b)).permute(0, 3, 1, 2).contiguous() for b in (sharp, blurred)]

    d = gan.UNetDiscriminatorSN(num_feat=8)
    opt = torch.optim.Adam(d.parameters(), lr=1e-3, betas=(0.9, 0.99))
    losses = []
    for _ in range(120):
        real, fake = d(torch.cat(crops())).chunk(2)
        loss = gan.discriminator_loss(real, fake)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert np.mean(losses[:5]) > 1.3  # starts undecided (2 log 2 = 1.386)
    assert np.mean(losses[-10:]) < 1.2, losses[-10:]
    with torch.no_grad():  # unseen crops: sharp ones score higher than their blurred copies
        sharp, blurred = crops(16)
        gap = d(sharp).mean(dim=(1, 2, 3)) - d(blurred).mean(dim=(1, 2, 3))
    assert (gap > 0).float().mean() >= 0.8


# --- the GAN fine-tune in train.py ----------------------------------------------------------


def test_gan_finetune_starts_from_the_parent_ema(tmp_path, parent, monkeypatch):
    parent_ck = _load(parent)
    first = {}
    real_update = train.ema_update

    def spy(ema, model, decay, it):  # called after the first step, before the EMA moves
        if not first:
            first["ema"] = {k: v.clone() for k, v in ema.state_dict().items()}
            first["model"] = {k: v.detach().clone() for k, v in model.state_dict().items()}
        real_update(ema, model, decay, it)

    monkeypatch.setattr(train, "ema_update", spy)
    result = train.train(GAN, _cfg(tmp_path))
    assert result["done"] and result["iteration"] == 3
    for k, v in parent_ck["ema"].items():
        assert torch.equal(first["ema"][k], v), k
        # one Adam step moves each weight by at most about lr
        assert (first["model"][k] - v).abs().max().item() <= 1.5 * GAN.lr, k
    ck = _load(tmp_path / "runs" / "srresnet-gan-x4" / "last.pt")
    init = ck["init"]
    assert init["parent"] == "msrresnet-x4" and init["source"] == "run" and init["iteration"] == 3
    assert init["path"].endswith("msrresnet-x4/last.pt")
    assert init["sha256"] == hashlib.sha256(parent.read_bytes()).hexdigest()
    assert {"disc", "disc_optimizer", "disc_scheduler"} <= set(ck)
    assert any(k.endswith("parametrizations.weight.original") for k in ck["disc"])
    assert not any(torch.equal(ck["ema"][k], v) for k, v in parent_ck["ema"].items() if v.dim() == 4)  # it trained
    log = (tmp_path / "runs" / "srresnet-gan-x4" / "log.txt").read_text()
    assert "initialised from msrresnet-x4" in log and init["sha256"] in log
    assert "d_loss" in log and "d_real" in log and "d_fake" in log


def test_gan_finetune_falls_back_to_the_shipped_parent(tmp_path, parent, no_shipped):
    from safetensors.torch import save_file

    ema16 = {k: v.half().contiguous() for k, v in _load(parent)["ema"].items()}
    save_file(ema16, str(no_shipped / "msrresnet-x4.safetensors"))
    parent.unlink()  # no run: the shipped file it is
    cfg = _cfg(tmp_path, iters=1)
    train.train(GAN, cfg)
    init = _load(tmp_path / "runs" / "srresnet-gan-x4" / "last.pt")["init"]
    assert init["source"] == "shipped" and init["path"].endswith("msrresnet-x4.safetensors")
    assert init["sha256"] == hashlib.sha256((no_shipped / "msrresnet-x4.safetensors").read_bytes()).hexdigest()


def test_missing_or_incomplete_parent_is_a_clear_error(tmp_path, no_shipped):
    with pytest.raises(SystemExit, match=r"msrresnet-x4.*no .*last\.pt.*python -m training\.train msrresnet-x4"):
        train.train(GAN, _cfg(tmp_path))
    assert not (tmp_path / "runs" / "srresnet-gan-x4" / "last.pt").exists()
    stopped = train.train(_tiny(recipes.RECIPES["msrresnet-x4"]), _cfg(tmp_path, time_limit=0))
    assert stopped["stopped"] and stopped["iteration"] == 1
    with pytest.raises(SystemExit, match=r"incomplete \(iteration 1/3\).*train the parent first"):
        train.train(GAN, _cfg(tmp_path))


def test_gan_resume_restores_the_discriminator(tmp_path, parent, monkeypatch):
    first = train.train(GAN, _cfg(tmp_path, time_limit=0))
    assert first["stopped"] and first["iteration"] == 1
    ck1 = _load(tmp_path / "runs" / "srresnet-gan-x4" / "last.pt")
    seen = []

    class Recording(gan.UNetDiscriminatorSN):
        def forward(self, x):
            if not seen:  # the discriminator as training resumes
                seen.append({k: v.clone() for k, v in self.state_dict().items()})
            return super().forward(x)

    monkeypatch.setattr(train, "UNetDiscriminatorSN", Recording)
    second = train.train(GAN, _cfg(tmp_path, resume=True))
    assert second["done"] and second["iteration"] == 3
    for key in ("down1.parametrizations.weight.original", "down1.parametrizations.weight.0._u", "conv0.weight"):
        assert torch.equal(seen[0][key], ck1["disc"][key]), key
    ck = _load(tmp_path / "runs" / "srresnet-gan-x4" / "last.pt")
    steps = {int(s["step"]) for s in ck["disc_optimizer"]["state"].values()}
    assert steps == {3}  # Adam's moments carried over: 1 step + 2 more
    assert [h["start_iteration"] for h in ck["history"]] == [0, 1]
    assert ck["init"] == ck1["init"]  # the provenance survives the resume
    assert "resumed at iteration 1/3" in (tmp_path / "runs" / "srresnet-gan-x4" / "log.txt").read_text()


def test_slim_gan_checkpoint_resumes_with_a_fresh_discriminator(tmp_path, parent):
    train.train(GAN, _cfg(tmp_path, time_limit=0))
    path = tmp_path / "runs" / "srresnet-gan-x4" / "last.pt"
    ck = _load(path)
    slim = {k: ck[k] for k in ("recipe", "iteration", "total_iters", "elapsed", "history")}
    slim["ema"] = {k: v.half() for k, v in ck["ema"].items()}
    torch.save(slim, path)
    assert train.train(GAN, _cfg(tmp_path, resume=True))["iteration"] == 3
    assert "checkpoint holds no discriminator: a fresh one starts here" in (path.parent / "log.txt").read_text()
    assert "disc" in _load(path)


# --- study seed runs ------------------------------------------------------------------------------


def test_seed_run_trains_into_its_own_folder_with_its_seed(tmp_path):
    name = recipes.seed_run_name("srresnet-real-x4", 1235)
    r = recipes.get_recipe(name)
    assert r.name == name and r.seed == 1235
    result = train.train(_tiny(r), _cfg(tmp_path))
    assert result["done"]
    ck = _load(tmp_path / "runs" / name / "last.pt")
    assert ck["recipe"]["seed"] == 1235 and ck["recipe"]["name"] == name
    assert not (tmp_path / "runs" / "srresnet-real-x4").exists()
    assert "seed 1235" in (tmp_path / "runs" / name / "log.txt").read_text()


def test_seed_run_reads_its_network_from_the_base_zoo_entry(monkeypatch):
    base = zoo.get_entry("srresnet-real-x4")
    monkeypatch.setattr(zoo, "ZOO", (dataclasses.replace(base, arch="edsr", arch_kwargs={"num_block": 2}),))
    r = recipes.get_recipe(recipes.seed_run_name(base.name, 1235))
    assert (r.arch, r.arch_kwargs, r.scale, r.training) == ("edsr", {"num_block": 2}, 4, "realesrgan")
    assert r.to_dict()["arch"] == "edsr"  # what the checkpoint records


def test_main_never_evaluates_seed_runs(tmp_path, monkeypatch):
    def no_eval(argv):
        raise AssertionError(f"evaluate.main called with {argv}")

    from training import evaluate

    monkeypatch.setattr(evaluate, "main", no_eval)
    monkeypatch.setattr(train, "get_recipe", lambda name: _tiny(recipes.get_recipe(name), iters=1))
    name = recipes.seed_run_name("srresnet-real-x4", 1235)
    rc = train.main([name, "--device", "cpu", "--out", str(tmp_path / "runs"), "--data", str(HELDOUT),
                     "--workers", "0"])
    assert rc == 0
    assert _load(tmp_path / "runs" / name / "last.pt")["iteration"] == 1
