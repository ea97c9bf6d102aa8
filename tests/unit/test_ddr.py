"""DDR library against independent references: manual forwards, the CHI formula, planted clusters, seeds."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from sr_demo.ddr.embed import embed, nearest_labels, place
from sr_demo.ddr.features import layer_features
from sr_demo.ddr.patches import make_patches
from sr_demo.ddr.separation import chi, separation
from sr_demo.errors import UserError
from sr_demo.models.archs import build_arch


def _chi_by_hand(x: np.ndarray, labels) -> float:
    """tr(B)/(k-1) / (tr(W)/(n-k)), straight from the definition."""
    labels = np.asarray(labels)
    groups = sorted(set(labels.tolist()))
    n, k, mean = len(x), len(groups), x.mean(0)
    between = sum((labels == g).sum() * ((x[labels == g].mean(0) - mean) ** 2).sum() for g in groups)
    within = sum(((x[labels == g] - x[labels == g].mean(0)) ** 2).sum() for g in groups)
    return (between / (k - 1)) / (within / (n - k))


def _planted(n_per: int = 40, k: int = 4, dim: int = 16, gap: float = 8.0, seed: int = 0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(k, dim)) * gap
    x = np.concatenate([c + rng.normal(size=(n_per, dim)) for c in centres]).astype(np.float32)
    return x, np.repeat([f"c{i}" for i in range(k)], n_per)


@pytest.fixture(scope="module")
def patches():
    return make_patches(("clean", "blur", "noise"), per_class=6, seed=3)


def test_hooks_return_each_layers_true_output(patches):
    torch.manual_seed(0)
    net = build_arch("srresnet", scale=4, num_feat=8, num_block=3).eval()
    got = layer_features(net, patches.lr, ["conv_first", "body.1", "body"], reduce="flat", batch=5)
    x = torch.from_numpy(patches.lr)
    with torch.no_grad():  # SRResNet's forward by hand: lrelu(conv_first) feeds the body
        first = net.conv_first(x)
        feat = torch.nn.functional.leaky_relu(first, 0.1)
        body1 = net.body[1](net.body[0](feat))
        body = net.body[2](body1)
    for name, ref in (("conv_first", first), ("body.1", body1), ("body", body)):
        np.testing.assert_allclose(got[name], ref.flatten(1).numpy(), rtol=1e-5, atol=1e-5)
    pooled = layer_features(net, patches.lr, ["body.1"], reduce="gap")["body.1"]
    np.testing.assert_allclose(pooled, body1.mean((2, 3)).numpy(), rtol=1e-5, atol=1e-5)


def test_forward_stops_at_the_last_hooked_layer(patches):
    net = build_arch("srresnet", scale=4, num_feat=8, num_block=3).eval()
    ran = []
    net.upconv1.register_forward_hook(lambda *_: ran.append("upconv1"))
    layer_features(net, patches.lr, ["body.0"])
    assert ran == []
    layer_features(net, patches.lr, ["upconv1"])
    assert ran == ["upconv1"]


def test_unknown_layer_is_a_user_error(patches):
    net = build_arch("fsrcnn", scale=4).eval()
    with pytest.raises(UserError, match="No layer 'nope'"):
        layer_features(net, patches.lr, ["nope"])


def test_chi_matches_the_formula():
    x, labels = _planted(n_per=7, k=3, dim=5, gap=1.0)
    assert chi(x, labels) == pytest.approx(_chi_by_hand(x.astype(np.float64), labels), rel=1e-9)


def test_planted_clusters_give_high_chi_and_a_separating_scatter():
    x, labels = _planted()
    shuffled = np.random.default_rng(1).permutation(labels)
    assert chi(x, labels) > 50 * chi(x, shuffled)
    for method in ("pca", "tsne"):
        xy = embed(x, method, seed=0).xy
        # every point's nearest 2-D neighbour is of its own cluster
        d = ((xy[:, None] - xy[None]) ** 2).sum(-1) + np.eye(len(xy)) * 1e12
        assert (labels[d.argmin(1)] == labels).mean() > 0.95, method


def test_separation_reports_mean_and_sd_over_seeds():
    runs = []
    for s in range(3):
        x, labels = _planted(seed=s)
        runs.append((x, labels, np.tile(["a", "b"], len(labels) // 2)))
    sep = separation("layer", runs)
    values = [chi(x, c) for x, c, _ in runs]
    assert sep.class_mean_sd == pytest.approx((np.mean(values), np.std(values, ddof=1)))
    assert sep.ratio > 10  # planted by class, random by "photo"


def test_patch_sets_are_reproducible_from_the_seed(patches):
    again = make_patches(("clean", "blur", "noise"), per_class=6, seed=3)
    other = make_patches(("clean", "blur", "noise"), per_class=6, seed=4)
    assert np.array_equal(again.lr, patches.lr) and again.photo == patches.photo and again.level == patches.level
    assert not np.array_equal(other.lr, patches.lr)
    assert patches.lr.shape == (18, 3, 32, 32) and patches.cls == ("clean",) * 6 + ("blur",) * 6 + ("noise",) * 6
    assert set(patches.level) == {"bicubic", "σ1", "σ2", "σ3", "σ4", "n5", "n10", "n20", "n30"}
    assert np.allclose(patches.lr * 255, np.round(patches.lr * 255), atol=1e-4)  # 8-bit valued LR


def test_bad_patch_set_requests_are_user_errors():
    with pytest.raises(UserError, match="Unknown degradation class"):
        make_patches(("fog",))
    with pytest.raises(UserError, match="Patches per class"):
        make_patches(per_class=0)


@pytest.mark.parametrize("method", ["pca", "umap"])
def test_transform_places_a_known_patch_next_to_its_class(method):
    x, labels = _planted(n_per=30, k=3)
    emb = embed(x, method, seed=0)
    probe = x[labels == "c1"][:3] + 0.05  # members of c1, slightly moved
    base, new = place(emb, probe)
    assert np.array_equal(base, emb.xy)
    centres = {c: emb.xy[labels == c].mean(0) for c in set(labels)}
    for p in new:
        assert min(centres, key=lambda c: np.linalg.norm(p - centres[c])) == "c1"
    assert nearest_labels(emb, probe, labels)[0][0] == "c1"


def test_tsne_placing_reruns_with_the_new_patches():
    x, labels = _planted(n_per=25, k=3)
    emb = embed(x, "tsne", seed=0)
    base, new = place(emb, x[labels == "c2"][:2] + 0.05)
    assert base.shape == emb.xy.shape and new.shape == (2, 2)
    centres = {c: base[labels == c].mean(0) for c in set(labels)}
    assert all(min(centres, key=lambda c: np.linalg.norm(p - centres[c])) == "c2" for p in new)


def test_feature_cache_survives_a_restart_and_computes_once(tmp_path, monkeypatch):
    import threading
    import time

    from sr_demo.ddr import cache

    monkeypatch.setenv("SR_DEMO_CACHE", str(tmp_path))
    cache.clear_memory()
    calls = []

    def compute():
        calls.append(1)
        time.sleep(0.2)
        return {"body.1": np.arange(6, dtype=np.float32).reshape(2, 3)}

    k = cache.key(net="sha", layers=["body.1"], seed=0)
    threads = [threading.Thread(target=cache.once, args=(k, compute)) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(calls) == 1
    cache.clear_memory()  # a new process: only the disk copy is left
    np.testing.assert_array_equal(cache.get(k)["body.1"], compute()["body.1"])
    assert cache.stats["disk"] == 1 and cache.key(net="other", layers=["body.1"], seed=0) != k
