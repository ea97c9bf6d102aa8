"""RDSR dropout study and the DDR controls: architecture options, recipes, the study with
seeds and intervals, twin scheduling in run_pending, the real-world and GAN cards, saliency."""

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from sr_demo.analysis.saliency import channel_contributions, channel_saliency, spread
from sr_demo.models import zoo
from sr_demo.models.archs import build_arch
from sr_demo.models.archs.srresnet import MSRResNet
from training import evaluate, recipes, run_pending, study, train

ROOT = Path(__file__).resolve().parents[2]
RDSR = ["srresnet-real-x4", "srresnet-real-dropout-x4", "srresnet-real-dropout-mid-x4", "rrdb-real-x4",
        "rrdb-real-dropout-x4", "msrresnet-nogr-x4"]


@pytest.mark.parametrize("position", ["end", "middle"])
def test_dropout_position_shape_and_keys(position):
    torch.manual_seed(0)
    net = MSRResNet(scale=4, num_feat=8, num_block=4, dropout=0.7, dropout_position=position)
    assert net(torch.rand(1, 3, 6, 5)).shape == (1, 3, 24, 20)
    assert net.state_dict().keys() == MSRResNet(scale=4, num_feat=8, num_block=4).state_dict().keys()


@pytest.mark.parametrize("position", ["end", "middle"])
def test_dropout_off_in_eval_on_in_train(position):
    torch.manual_seed(0)
    net = MSRResNet(scale=4, num_feat=8, num_block=4, dropout=0.7, dropout_position=position)
    x = torch.rand(1, 3, 8, 8)
    net.eval()
    with torch.no_grad():
        assert torch.equal(net(x), net(x))
    net.train()
    with torch.no_grad():
        assert not torch.equal(net(x), net(x))


def test_bad_dropout_position():
    with pytest.raises(ValueError):
        MSRResNet(dropout_position="start")


# --- recipes and training ----------------------------------------------------------------------



def test_rdsr_recipes_build_and_twins_share_everything_but_the_factor():
    table = recipes.RECIPES
    assert set(RDSR) <= set(table)
    for name in RDSR:
        r = table[name]
        net = build_arch(r.arch, scale=r.scale, **r.arch_kwargs)
        assert 2 * sum(p.numel() for p in net.parameters()) < 5_000_000
        if r.twin_of:
            twin = table[r.twin_of]
            same = ("arch", "scale", "training", "iters", "batch", "lr_patch", "lr", "warmup", "min_lr_ratio",
                    "ema_decay", "seed")
            assert all(getattr(r, f) == getattr(twin, f) for f in same), name
            diff = {k for k in set(r.arch_kwargs) | set(twin.arch_kwargs)
                    if r.arch_kwargs.get(k) != twin.arch_kwargs.get(k)}
            assert diff <= {"dropout", "dropout_position", "global_residual"} and diff, name
    assert table["srresnet-real-dropout-x4"].arch_kwargs["dropout"] == 0.7
    assert table["rrdb-real-dropout-x4"].arch_kwargs == dict(table["rrdb-light-x4"].arch_kwargs, dropout=0.5)
    assert table["msrresnet-nogr-x4"].training == "bicubic"
    assert all(table[n].training == "realesrgan" and table[n].target_gain_db == 1.0 for n in RDSR[:5])


def _zoo_with(monkeypatch, *entries) -> None:
    """zoo.ZOO with `entries` in place of those of the same name, appended when new (recipes read it)."""
    new = {e.name: e for e in entries}
    monkeypatch.setattr(zoo, "ZOO", (*(new.pop(e.name, e) for e in zoo.ZOO), *new.values()))


def test_rdsr_dropout_recipe_trains_three_iterations_on_cpu(tmp_path, monkeypatch):
    r = recipes.RECIPES["srresnet-real-dropout-x4"]
    _zoo_with(monkeypatch, dataclasses.replace(r.entry, arch_kwargs=dict(r.arch_kwargs, num_feat=8, num_block=2)))
    tiny = dataclasses.replace(r, iters=3, batch=1, lr_patch=16, warmup=0, ckpt_every=3)
    cfg = train.TrainConfig(out=tmp_path / "runs", data=ROOT / "examples" / "heldout", device="cpu", workers=0,
                            log_every=1, command="pytest")
    result = train.train(tiny, cfg)
    assert result["done"] and result["iteration"] == 3
    ck = torch.load(tmp_path / "runs" / r.name / "last.pt", map_location="cpu", weights_only=False)
    assert ck["recipe"]["seed"] == recipes.RDSR_SEED


# --- the study ---------------------------------------------------------------------------------



def test_paired_bootstrap_constant_difference_has_zero_width():
    assert study.paired_bootstrap(np.full(7, 0.3)) == pytest.approx((0.3, 0.3))


def test_paired_bootstrap_symmetric_case_centres_on_the_mean():
    d = 0.5 + np.array([-2.0, -1.0, -0.5, 0.0, 0.5, 1.0, 2.0] * 3)
    lo, hi = study.paired_bootstrap(d)
    assert lo < 0.5 < hi and (lo + hi) / 2 == pytest.approx(0.5, abs=0.03)
    # standard error of the mean: the 95% interval is about +-1.96 SE wide
    se = d.std() / np.sqrt(len(d))
    assert (hi - lo) / 2 == pytest.approx(1.96 * se, rel=0.1)


def test_study_end_to_end_on_two_tiny_random_twins(tmp_path):
    import cv2

    heldout = tmp_path / "heldout"
    heldout.mkdir()
    rng = np.random.default_rng(0)
    for i in range(2):
        cv2.imwrite(str(heldout / f"p{i}.png"), cv2.GaussianBlur(rng.integers(0, 256, (32, 32, 3), np.uint8), (5, 5), 1))
    runs = []
    for name, kw, twin in (("base-x4", {}, None), ("drop-x4", dict(dropout=0.7), "base-x4")):
        torch.manual_seed(len(runs))
        net = MSRResNet(scale=4, num_feat=8, num_block=2, **kw)
        recipe = dict(name=name, arch="srresnet", scale=4, arch_kwargs=dict(num_feat=8, num_block=2, **kw),
                      twin_of=twin)
        (tmp_path / name).mkdir()
        torch.save(dict(recipe=recipe, ema=net.state_dict()), tmp_path / name / "last.pt")
        runs.append(str(tmp_path / name))
    out = tmp_path / "out" / "study"
    assert study.main([*runs, "--heldout", str(heldout), "--out", str(out), "--resamples", "200",
                       "--models-dir", str(tmp_path / "none")]) == 0
    res = json.loads(out.with_suffix(".json").read_text())
    assert set(res["psnr_y"]) == {"bicubic", "base-x4", "drop-x4"} and not res["all_shipped"]
    assert list(res["psnr_y"]["bicubic"]) == [*study.PRESETS, "mean"]
    (pair,) = res["pairs"]
    assert pair["model"] == "drop-x4" and pair["twin"] == "base-x4"
    d = pair["diff"]["mean"]
    assert d["ci95"][0] <= d["diff"] <= d["ci95"][1]
    want = res["psnr_y"]["drop-x4"]["mean"] - res["psnr_y"]["base-x4"]["mean"]
    assert d["diff"] == pytest.approx(want)
    assert "drop-x4 - base-x4" in out.with_suffix(".md").read_text()
    again = study.study(runs, heldout, tmp_path / "none", resamples=200)  # fixed seeds: reproducible
    assert again["psnr_y"] == res["psnr_y"]


# --- channel saliency --------------------------------------------------------------------------



@pytest.mark.parametrize("global_residual", [True, False])
def test_gradient_x_activation_equals_ablating_each_channel(global_residual):
    torch.manual_seed(0)
    net = MSRResNet(scale=4, num_feat=6, num_block=2, dropout=0.7, global_residual=global_residual).double().eval()
    x = torch.rand(1, 3, 5, 6, dtype=torch.float64)
    contrib = channel_contributions(net, x)
    with torch.no_grad():
        full = net(x).sum().item()
        for c in range(6):
            def zero_c(_m, inputs, c=c):
                a = inputs[0].clone()
                a[:, c] = 0
                return (a,)

            h = net.conv_last.register_forward_pre_hook(zero_c)
            assert full - net(x).sum().item() == pytest.approx(contrib[c], rel=1e-9, abs=1e-9)
            h.remove()
    s = channel_saliency(net, x)
    assert s.sum() == pytest.approx(1.0) and np.allclose(s, np.abs(contrib) / np.abs(contrib).sum())


def test_spread_summaries():
    even, one = spread(np.full(8, 1 / 8)), spread(np.eye(8)[0])
    assert even["gini"] == pytest.approx(0.0) and even["entropy"] == pytest.approx(1.0)
    assert one["gini"] == pytest.approx(1 - 1 / 8) and one["entropy"] == pytest.approx(0.0)


def test_saliency_works_on_rrdbnet():
    torch.manual_seed(0)
    net = build_arch("rrdbnet", scale=4, num_feat=8, num_block=1, num_grow_ch=4, dropout=0.5).eval()
    s = channel_saliency(net, torch.rand(1, 3, 4, 4))
    assert s.shape == (8,) and s.sum() == pytest.approx(1.0)


# --- study seeds and `evaluate.py --study rdsr` -----------------------------------------------


def _tiny_heldout(tmp_path: Path, n: int = 3, side: int = 32) -> Path:
    import cv2

    heldout = tmp_path / "heldout"
    heldout.mkdir(exist_ok=True)
    rng = np.random.default_rng(0)
    for i in range(n):
        img = cv2.GaussianBlur(rng.integers(0, 256, (side, side, 3), np.uint8), (5, 5), 1)
        cv2.imwrite(str(heldout / f"p{i}.png"), img)
    return heldout


def _save_run(folder: Path, recipe: dict, net: torch.nn.Module, iteration: int = 10, total: int = 10) -> str:
    folder.mkdir(parents=True)
    torch.save(dict(recipe=recipe, ema=net.state_dict(), iteration=iteration, total_iters=total), folder / "last.pt")
    return str(folder)


def test_study_pairs_twins_per_seed_and_averages_over_seeds(tmp_path):
    heldout = _tiny_heldout(tmp_path)
    runs = []
    for seed in (1, 2):
        for name, kw, twin in (("base-x4", {}, None), ("drop-x4", dict(dropout=0.7), "base-x4")):
            torch.manual_seed(seed * 10 + len(kw))
            net = MSRResNet(scale=4, num_feat=8, num_block=2, **kw)
            recipe = dict(name=f"{name}@seed{seed}", arch="srresnet", scale=4, seed=seed, twin_of=twin,
                          arch_kwargs=dict(num_feat=8, num_block=2, **kw))
            runs.append(_save_run(tmp_path / f"{name}@seed{seed}", recipe, net))
    res = study.study(runs, heldout, tmp_path / "none", resamples=300)
    assert res["all_shipped"]  # study-seed runs are final in their folders
    rows = {p["seed"]: p for p in res["pairs"]}
    assert set(rows) == {1, 2, "mean of 2 seeds"} and all(p["model"] == "drop-x4" for p in rows.values())
    for seed in (1, 2):
        want = res["psnr_y"][f"drop-x4@seed{seed}"]["blur"] - res["psnr_y"][f"base-x4@seed{seed}"]["blur"]
        assert rows[seed]["diff"]["blur"]["diff"] == pytest.approx(want)
    avg = rows["mean of 2 seeds"]["diff"]["mean"]
    assert avg["diff"] == pytest.approx((rows[1]["diff"]["mean"]["diff"] + rows[2]["diff"]["mean"]["diff"]) / 2)
    assert avg["ci95"][0] <= avg["diff"] <= avg["ci95"][1]
    assert "| drop-x4 - base-x4 | mean of 2 seeds |" in study.markdown(res)


def _ship_full_size(models: Path, names: list[str]) -> None:
    from safetensors.torch import save_file

    models.mkdir(exist_ok=True)
    for i, name in enumerate(names):
        r = recipes.RECIPES[name]
        torch.manual_seed(i)
        net = build_arch(r.arch, scale=r.scale, **r.arch_kwargs)
        save_file({k: v.half().contiguous() for k, v in net.state_dict().items()}, str(models / f"{name}.safetensors"))


def test_evaluate_study_rdsr_names_what_is_missing(tmp_path):
    with pytest.raises(SystemExit, match="srresnet-real-x4.*run_pending"):
        evaluate.main(["--study", "rdsr", "--models-dir", str(tmp_path), "--weights-from", str(tmp_path / "runs"),
                       "--heldout", str(_tiny_heldout(tmp_path)), "--no-readme", "--device", "cpu"])


def test_evaluate_study_rdsr_end_to_end(tmp_path):
    """Random full-size weights stand in for trained ones: the plumbing, not the finding, is tested."""
    models, runs = tmp_path / "models", tmp_path / "runs"
    _ship_full_size(models, study.rdsr_models())
    for name in study.rdsr_models():
        for seed in recipes.RECIPES[name].study_seeds:
            r = recipes.get_recipe(recipes.seed_run_name(name, seed))
            torch.manual_seed(seed)
            _save_run(runs / r.name, r.to_dict(), build_arch(r.arch, scale=4, **r.arch_kwargs), 5, 5)
    heldout = _tiny_heldout(tmp_path, 2)
    base = recipes.RECIPES["srresnet-real-x4"]  # give one model a real card, as evaluate.py writes it
    torch.manual_seed(0)
    _save_run(runs / base.name, base.to_dict(), build_arch(base.arch, scale=4, **base.arch_kwargs), 5, 5)
    ck = torch.load(runs / base.name / "last.pt", weights_only=False)
    torch.save(dict(ck, elapsed=1.0, history=[]), runs / base.name / "last.pt")
    assert evaluate.evaluate(base, weights_from=runs, models=models, heldout=heldout, readme=None, device="cpu",
                             require_gain=False)["published"]
    readme = tmp_path / "README.md"
    readme.write_text(f"intro\n{study.START}\nold\n{study.END}\nrest\n")
    res = study.run_rdsr(models, runs, heldout, "cpu", readme, resamples=200)
    assert set(res["psnr_y"]) == {"bicubic", *study.rdsr_models(), *[f"{n}@seed1235" for n in RDSR[:3]]}
    seeds = {(p["model"], p["seed"]) for p in res["pairs"]}
    assert ("srresnet-real-dropout-x4", "mean of 2 seeds") in seeds and ("rrdb-real-dropout-x4", 0) not in seeds
    assert ("rrdb-real-dropout-x4", recipes.RDSR_SEED) in seeds
    text = readme.read_text()
    assert "old" not in text and text.startswith("intro\n") and text.endswith("rest\n")
    assert study.COMMAND in text and "srresnet-real-dropout-mid-x4 - srresnet-real-x4" in text
    assert json.loads((models / "rdsr-study.json").read_text())["psnr_y"] == res["psnr_y"]
    card = json.loads((models / "srresnet-real-x4.json").read_text())
    assert card["rdsr_study"]["psnr_y"] == res["psnr_y"]["srresnet-real-x4"]
    assert {p["model"] for p in card["rdsr_study"]["pairs"]} == {"srresnet-real-dropout-x4", "srresnet-real-dropout-mid-x4"}
    md = (models / "srresnet-real-x4.md").read_text()
    assert "RDSR dropout study" in md and "srresnet-real-dropout-x4 minus srresnet-real-x4 (seed mean of 2 seeds)" in md


# --- run_pending: twins trained exactly as long, fine-tunes wait for their parent -----------


def _fake_progress(runs: Path, name: str, iteration: int, total: int) -> None:
    (runs / name).mkdir(parents=True, exist_ok=True)
    torch.save(dict(iteration=iteration, total_iters=total), runs / name / "last.pt")


def _card(models: Path, name: str, met: bool) -> None:
    models.mkdir(exist_ok=True)
    (models / f"{name}.json").write_text(json.dumps(dict(target_met=met, gain_db=0.1, target_gain_db=1.0,
                                                         iterations=1)))


def test_twin_groups_hold_twins_and_their_seeds():
    group = run_pending.twin_group("srresnet-real-dropout-x4@seed1235")
    assert set(group) == {*RDSR[:3], *[f"{n}@seed1235" for n in RDSR[:3]]}
    assert set(run_pending.twin_group("msrresnet-x4")) == {"msrresnet-x4", "msrresnet-nogr-x4"}
    assert run_pending.twin_group("fsrcnn-x4") == ["fsrcnn-x4"]


def test_extending_one_twin_extends_the_other(tmp_path):
    runs, models = tmp_path / "runs", tmp_path / "models"
    full = recipes.RECIPES["msrresnet-x4"].iters
    _fake_progress(runs, "msrresnet-x4", full, full)
    _fake_progress(runs, "msrresnet-nogr-x4", full, full)
    _card(models, "msrresnet-x4", True)
    _card(models, "msrresnet-nogr-x4", False)  # below target: a warm restart for both
    names = ["msrresnet-x4", "msrresnet-nogr-x4"]
    assert run_pending.pending(names, models, runs) == names
    cmds = run_pending.train_commands(names, runs, 60, "cpu", models)
    assert all(c[c.index("--iters") + 1] == str(full + full // 2) for c in cmds)
    _card(models, "msrresnet-nogr-x4", True)
    assert run_pending.pending(names, models, runs) == []


def test_gan_fine_tune_waits_for_its_parent_and_study_seeds_never_publish(tmp_path, capsys):
    runs, models = tmp_path / "runs", tmp_path / "models"
    assert run_pending.ready_to_train(["srresnet-gan-x4", "fsrcnn-x4"], models, runs) == ["fsrcnn-x4"]
    assert "waits for msrresnet-x4" in capsys.readouterr().out
    _card(models, "msrresnet-x4", True)
    assert run_pending.ready_to_train(["srresnet-gan-x4"], models, runs) == ["srresnet-gan-x4"]
    seed_run = "srresnet-real-x4@seed1235"
    assert run_pending.pending([seed_run], models, runs) == [seed_run]
    _fake_progress(runs, seed_run, 10, 10)  # complete, but behind its twin group's schedule
    assert run_pending.pending([seed_run], models, runs) == [seed_run]
    full = recipes.RECIPES["srresnet-real-x4"].iters
    _fake_progress(runs, seed_run, full, full)
    assert run_pending.pending([seed_run], models, runs) == []


def test_choose_keeps_twin_groups_whole():
    todo = ["fsrcnn-x4", "srresnet-real-x4", "srresnet-real-dropout-x4", "srresnet-real-dropout-mid-x4",
            "edsr-x16", "srresnet-real-x4@seed1235"]
    assert run_pending.choose(todo, 3) == ["fsrcnn-x4", "edsr-x16"]
    assert run_pending.choose(todo, 5) == ["fsrcnn-x4", "srresnet-real-x4", "srresnet-real-dropout-x4",
                                           "srresnet-real-dropout-mid-x4", "srresnet-real-x4@seed1235"]
    assert run_pending.choose(todo[1:4], 1) == todo[1:4]  # a group bigger than the limit still runs whole


def test_a_model_below_target_after_twice_its_schedule_is_given_up(tmp_path):
    runs, models = tmp_path / "runs", tmp_path / "models"
    full = recipes.RECIPES["fsrcnn-x4"].iters
    _card(models, "fsrcnn-x4", False)
    _fake_progress(runs, "fsrcnn-x4", 2 * full, 2 * full)
    assert run_pending.pending(["fsrcnn-x4"], models, runs) == []
    assert "given up" in run_pending.status_line("fsrcnn-x4", models, runs)


def test_pack_names_study_seed_tars_plainly_and_unpacks_them(tmp_path):
    runs = tmp_path / "runs"
    name = "srresnet-real-x4@seed1235"
    r = recipes.get_recipe(name)
    net = build_arch(r.arch, scale=4, num_feat=4, num_block=1)
    (runs / name).mkdir(parents=True)
    torch.save(dict(recipe=r.to_dict(), ema=net.state_dict(), disc={"w": torch.ones(2)}, iteration=3, total_iters=9,
                    elapsed=1.0, history=[]), runs / name / "last.pt")
    (packed,) = run_pending.pack(tmp_path / "out", [name], runs, tmp_path / "models")
    assert packed.name == "srresnet-real-x4_seed1235.tar"
    run_pending.unpack(tmp_path / "out", tmp_path / "back", tmp_path / "models", readme=None)
    slim = torch.load(tmp_path / "back" / name / "last.pt", weights_only=False)
    assert slim["iteration"] == 3 and slim["disc"]["w"].dtype == torch.float16


# --- the real-world and GAN cards ------------------------------------------------------------


def test_sharpness_is_one_for_the_photo_below_for_blur_above_for_sharpening():
    import cv2

    rng = np.random.default_rng(1)
    hr = cv2.GaussianBlur(rng.random((64, 64, 3)).astype(np.float32), (5, 5), 1.0)
    blurred = cv2.GaussianBlur(hr, (7, 7), 2.0)
    sharpened = np.clip(hr + 1.5 * (hr - blurred), 0, 1)
    assert evaluate.sharpness(hr, hr, 4) == pytest.approx(1.0)
    assert evaluate.sharpness(blurred, hr, 4) < 0.8 < 1.2 < evaluate.sharpness(sharpened, hr, 4)


def _tiny_recipe(monkeypatch, name: str, group: str = "bicubic", **kw) -> "recipes.Recipe":
    """A toy in-house zoo entry (tiny MSRResNet) and its recipe."""
    _zoo_with(monkeypatch, zoo._inhouse(name, "srresnet", 4, dict(num_feat=8, num_block=2), group, "toy"))
    return recipes.Recipe(name, iters=5, target_gain_db=1.0, **kw)


def test_real_world_card_is_judged_over_the_eight_presets(tmp_path, monkeypatch):
    tiny = _tiny_recipe(monkeypatch, "tinyreal-x4", "real-world")
    torch.manual_seed(0)
    net = build_arch(tiny.arch, scale=4, **tiny.arch_kwargs)
    _save_run(tmp_path / "runs" / tiny.name, tiny.to_dict(), net, 5, 5)
    ck = torch.load(tmp_path / "runs" / tiny.name / "last.pt", weights_only=False)
    torch.save(dict(ck, elapsed=1.0, history=[]), tmp_path / "runs" / tiny.name / "last.pt")
    card = evaluate.evaluate(tiny, weights_from=tmp_path / "runs", models=tmp_path / "models", readme=None,
                             heldout=_tiny_heldout(tmp_path, 2), device="cpu", require_gain=False)
    rows = card["preset_scores"]
    assert list(rows) == list(evaluate.RDSR_PRESETS)
    assert card["gain_db"] == pytest.approx(np.mean([v["psnr_y"] - v["bicubic_psnr_y"] for v in rows.values()]), abs=1e-3)
    assert rows["clean"]["bicubic_psnr_y"] == pytest.approx(card["bicubic_scores"]["psnr_y"], abs=1e-3)
    assert "Under the eight RDSR test presets" in (tmp_path / "models" / "tinyreal-x4.md").read_text()


def test_gan_card_compares_with_its_parent(tmp_path, monkeypatch):
    parent = _tiny_recipe(monkeypatch, "tinyparent-x4")
    child = _tiny_recipe(monkeypatch, "tinygan-x4", init_from=parent.name, adv_weight=0.1, target_sharpness_gain=0.1)
    monkeypatch.setitem(recipes.RECIPES, parent.name, parent)
    runs = tmp_path / "runs"
    for i, r in enumerate((parent, child)):
        torch.manual_seed(i)
        _save_run(runs / r.name, r.to_dict(), build_arch(r.arch, scale=4, **r.arch_kwargs), 5, 5)
        ck = torch.load(runs / r.name / "last.pt", weights_only=False)
        torch.save(dict(ck, elapsed=1.0, history=[]), runs / r.name / "last.pt")
    card = evaluate.evaluate(child, weights_from=runs, models=tmp_path / "models", readme=None,
                             heldout=_tiny_heldout(tmp_path, 2, side=112), device="cpu", require_gain=False)
    g = card["gan"]
    assert set(g["rows"]) == {"tinygan-x4", "tinyparent-x4", "bicubic"} and g["parent"] == parent.name
    assert g["psnr_drop_db"] == pytest.approx(g["rows"]["tinyparent-x4"]["psnr_y"] - g["rows"]["tinygan-x4"]["psnr_y"],
                                              abs=1e-3)
    assert card["target_met"] == (card["gain_db"] >= 1.0 and g["sharpness_gain"] >= 0.1)
    assert "PSNR-Y drop against the parent" in evaluate.card_markdown(dict(card, sha256="x"))


def test_study_notes_twins_trained_for_different_lengths(tmp_path):
    heldout = _tiny_heldout(tmp_path, 2)
    runs = []
    for name, kw, twin, its in (("base-x4", {}, None, 10), ("drop-x4", dict(dropout=0.7), "base-x4", 7)):
        recipe = dict(name=name, arch="srresnet", scale=4, twin_of=twin, arch_kwargs=dict(num_feat=8, num_block=2, **kw))
        runs.append(_save_run(tmp_path / name, recipe, MSRResNet(scale=4, num_feat=8, num_block=2, **kw), its, its))
    res = study.study(runs, heldout, tmp_path / "none", resamples=100)
    assert "drop-x4 has 7 training iterations, base-x4 10" in res["note"]


def test_zoo_table_shows_real_world_models_by_their_preset_means(tmp_path):
    presets = {p: dict(psnr_y=24.0 + i, bicubic_psnr_y=23.0 + i) for i, p in enumerate(evaluate.RDSR_PRESETS)}
    card = dict(name="srresnet-real-x4", params=1, training="realesrgan", iterations=9, target_gain_db=1.0,
                gain_db=1.0, target_met=True, heldout_scores=dict(psnr_y=20.0, ssim_y=0.5),
                bicubic_scores=dict(psnr_y=19.0), preset_scores=presets)
    (tmp_path / "srresnet-real-x4.json").write_text(json.dumps(card))
    row = next(line for line in evaluate.zoo_table(tmp_path).splitlines() if "`srresnet-real-x4`" in line)
    assert "realesrgan (8 presets\\*)" in row and "| 27.50 | 26.50 |" in row  # means 24..31 and 23..30
    assert "means over the eight RDSR test presets" in evaluate.zoo_table(tmp_path)
