"""mGANprior: the composition against a loop, the generator's split, the inversion's behaviour, the weights file,
and the GAN trainer's exact resume. CPU, randomly initialised generators (the shipped one is not needed)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from sr_demo.degradations.resize import imresize
from sr_demo.errors import UserError
from sr_demo.ganprior import LAYERS
from sr_demo.ganprior.generator import Z_DIM, Generator, layer_channels
from sr_demo.ganprior.inversion import compose, invert, lr_of, observe
from sr_demo.ganprior.weights import load_generator, save_generator


@pytest.fixture(scope="module")
def generator() -> Generator:
    torch.manual_seed(0)
    return Generator().eval().requires_grad_(False)


@pytest.fixture(scope="module")
def target() -> np.ndarray:
    """A smooth colour pattern with an edge: something a random generator cannot produce exactly."""
    y, x = np.mgrid[0:64, 0:64] / 63.0
    return np.stack([x, y, (x + y > 1).astype(float) * 0.8 + 0.1], -1).astype(np.float32)


def test_compose_equals_a_loop_over_codes_and_channels():
    g = torch.Generator().manual_seed(1)
    feats, imp = torch.randn(5, 7, 4, 3, generator=g), torch.randn(5, 7, generator=g)
    loop = torch.zeros(7, 4, 3)
    for n in range(5):
        for c in range(7):
            loop[c] += imp[n, c] * feats[n, c]
    assert torch.allclose(compose(feats, imp)[0], loop, atol=1e-5)


@pytest.mark.parametrize("layer", LAYERS)
def test_head_then_tail_is_the_whole_generator(generator, layer):
    z = torch.randn(3, Z_DIM)
    feats = generator.head(z, layer)
    assert feats.shape == (3, layer_channels(layer), int(layer), int(layer))
    assert torch.allclose(generator.tail(feats, layer), generator(z), atol=1e-6)


def test_one_code_with_unit_importance_is_the_plain_generator(generator):
    z = torch.randn(1, Z_DIM)
    composed = compose(generator.head(z, "16"), torch.ones(1, layer_channels("16")))
    assert torch.allclose(generator.tail(composed, "16"), generator(z), atol=1e-6)


def test_sr_observation_is_matlab_bicubic_down_sampling(target):
    lr = lr_of(target)
    assert lr.shape == (16, 16, 3)
    reference = np.clip(imresize(target, 0.25), 0, 1)  # the numpy path, independent of the torch matrices
    assert np.abs(lr - reference).max() < 1e-5
    img = torch.from_numpy(target).permute(2, 0, 1)[None]
    assert observe(img, "recon") is img


@pytest.mark.parametrize("task", ["recon", "sr"])
def test_inversion_lowers_the_loss(generator, target, task):
    obs = target if task == "recon" else lr_of(target)
    r = invert(generator, obs, task, codes=4, layer="8", iters=25, perceptual=False)
    assert r.iters == 25 and len(r.loss) == 25
    assert r.loss[-1] < 0.7 * r.loss[0]
    assert r.image.shape == (64, 64, 3) and 0 <= r.image.min() and r.image.max() <= 1


def test_more_codes_never_raise_the_optimum_on_a_fixed_seed(generator, target):
    finals = [min(invert(generator, target, "recon", codes=n, layer="16", iters=40, perceptual=False, seed=3).loss)
              for n in (1, 4, 12)]
    assert finals[0] >= finals[1] >= finals[2], finals


def test_perceptual_term_used_only_where_the_observation_allows(generator, target):
    recon = invert(generator, target, "recon", codes=1, layer="8", iters=1)
    sr = invert(generator, lr_of(target), "sr", codes=1, layer="8", iters=1)
    assert recon.perceptual == "ST-LPIPS alex"  # the package is a dependency
    assert "too small" in sr.perceptual


def test_stop_returns_what_was_reached(generator, target):
    calls = iter(range(100))
    r = invert(generator, target, "recon", codes=2, layer="8", iters=50, perceptual=False,
               should_stop=lambda: next(calls) >= 5)
    assert r.stopped and r.iters == 5 and r.image.shape == (64, 64, 3)


@pytest.mark.parametrize("kwargs, message", [
    ({"codes": 0}, "codes"), ({"codes": 31}, "codes"), ({"layer": "64"}, "layer"), ({"iters": 0}, "Iterations"),
    ({"task": "inpaint"}, "Task"), ({"task": "sr"}, "16×16"),
])
def test_bad_requests_get_one_clear_message(generator, target, kwargs, message):
    with pytest.raises(UserError, match=message):
        invert(generator, target, **{"task": "recon", **kwargs})


def test_weights_round_trip_in_fp16_and_refuse_other_files(generator, tmp_path):
    path = save_generator(generator, tmp_path / "g.safetensors", {"iterations": 7})
    loaded, card = load_generator(path)
    assert card == {"iterations": 7}
    z = torch.randn(2, Z_DIM)
    assert (loaded(z) - generator(z)).abs().max() < 5e-3  # fp16 storage
    from safetensors.torch import save_file

    save_file({"w": torch.zeros(1)}, str(tmp_path / "other.safetensors"))
    with pytest.raises(UserError, match="not an SR Lab GAN generator"):
        load_generator(tmp_path / "other.safetensors")
    with pytest.raises(UserError, match="No generator"):
        load_generator(tmp_path / "missing.safetensors")


def test_gan_training_resumes_exactly(tmp_path):
    """Two iterations, checkpoint, one more == three straight: G, D, EMA, optimisers and RNGs all restored."""
    from training import train_gan

    photos = [np.random.default_rng(0).random((80, 90, 3), dtype=np.float32)]

    def run(iters: int, state: dict) -> dict:
        for _ in range(iters):
            train_gan.train_step(state, train_gan._batch(photos, state["rng"]))
            state["it"] += 1
        return state

    straight = run(3, train_gan.load_state(0, tmp_path / "a"))
    train_gan.save_checkpoint(run(2, train_gan.load_state(0, tmp_path / "b")), tmp_path / "b")
    resumed = run(1, train_gan.load_state(0, tmp_path / "b"))
    for key in ("g", "d", "ema"):
        for a, b in zip(straight[key].state_dict().values(), resumed[key].state_dict().values()):
            assert torch.equal(a, b), key
