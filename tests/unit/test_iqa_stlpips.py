"""ST-LPIPS on SR Lab's modules against the stlpips-pytorch package's own implementation, offline."""

import importlib.metadata
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from sr_demo.errors import UserError
from sr_demo.iqa import METRICS, score
from sr_demo.iqa import stlpips as st

HELDOUT = sorted(Path("examples/heldout").glob("*.png"))
pytest.importorskip("stlpips_pytorch")  # the runtime dependency whose files we read


def _photo(i, size=(96, 112)):
    from sr_demo.imaging import load_image

    img = load_image(HELDOUT[i]).rgb
    return np.ascontiguousarray(img[:size[0], :size[1]])


def _pairs():
    """Bundled held-out crops against a noisy, a blurred, a JPEG and a 1-px shifted copy."""
    import cv2

    from sr_demo.degradations.jpeg import jpeg

    rng = np.random.default_rng(0)
    out = []
    for i in (0, 5, 11):
        big = _photo(i, (100, 116))
        ref = big[2:98, 2:114]
        out += [(np.clip(ref + rng.normal(0, 0.05, ref.shape), 0, 1).astype(np.float32), ref),
                (cv2.GaussianBlur(ref, (0, 0), 1.5), ref), (jpeg(ref, 30), ref), (big[2:98, 3:115], ref)]
    return out


def _t(a):
    return torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32)).permute(2, 0, 1)[None]


@pytest.fixture(scope="module")
def package_lpips():
    """The package's LPIPS class (needs the undeclared IPython and torchsummary: test-only dependencies)."""
    pytest.importorskip("IPython")
    pytest.importorskip("torchsummary")
    from stlpips_pytorch import stlpips as pkg

    return {net: pkg.LPIPS(net=net, variant="shift_tolerant", verbose=False) for net in ("alex", "vgg")}


@pytest.mark.parametrize("net", ["alex", "vgg"])
def test_values_equal_the_package_on_bundled_pairs(net, package_lpips):
    theirs = package_lpips[net]
    for img, ref in _pairs():
        with torch.no_grad():
            expected = float(theirs(_t(img), _t(ref), normalize=True))  # its [0, 1] input path
        assert score(f"stlpips_{net}", img, ref) == pytest.approx(expected, abs=1e-5)


@pytest.mark.parametrize("net", ["alex", "vgg"])
def test_trunk_stages_equal_the_package_network(net, package_lpips):
    trunk = st.TRUNKS[net]()
    x = _t(_photo(2)) * 2 - 1
    with torch.no_grad():
        ours, theirs = trunk(x), package_lpips[net].net(x)
    assert list(ours) == list(trunk.stage_layers()) and len(ours) == len(theirs) == 5
    for (name, a), b, c in zip(ours.items(), theirs, trunk.channels):
        assert a.shape == b.shape and a.shape[1] == c, name
        assert torch.allclose(a, b, atol=1e-5, rtol=1e-5), name
    assert dict(trunk.named_modules())[trunk.stage_layers()[list(ours)[-1]]] is trunk.stages[list(ours)[-1]]


def test_blur_pool_matches_its_formula():
    """Reflect-pad 2, weights [1,2,1]x[1,2,1]/16, every second position: a loop with numpy's reflect padding."""
    x = torch.randn(1, 2, 7, 8, dtype=torch.float64)
    out = st.BlurPool2d(2).double()(x)
    k = np.outer([1, 2, 1], [1, 2, 1]) / 16
    padded = np.pad(x.numpy(), ((0, 0), (0, 0), (2, 2), (2, 2)), mode="reflect")
    rows, cols = (padded.shape[2] - 3) // 2 + 1, (padded.shape[3] - 3) // 2 + 1
    expected = np.array([[[(padded[0, c, 2 * i:2 * i + 3, 2 * j:2 * j + 3] * k).sum() for j in range(cols)]
                          for i in range(rows)] for c in range(2)])
    assert out.shape[2:] == (rows, cols)
    np.testing.assert_allclose(out[0].numpy(), expected, atol=1e-12)


@pytest.mark.parametrize("name", ["stlpips_alex", "stlpips_vgg", "swdn_v2"])  # the table rows on these trunks
def test_table_conventions_on_identity_and_a_strongly_degraded_pair(name):
    spec = METRICS[name]
    assert spec.full_reference and spec.lower_better and spec.value_range == (0.0, float("inf"))
    ref = _photo(3)
    rng = np.random.default_rng(1)
    bad = np.clip(ref + rng.normal(0, 0.3, ref.shape), 0, 1).astype(np.float32)
    identity, degraded = score(spec.name, ref, ref), score(spec.name, bad, ref)
    assert identity == spec.value_range[0] and spec.value_range[0] < degraded < spec.value_range[1]
    assert score(spec.name, bad, ref, crop_border=4) == pytest.approx(score(spec.name, bad[4:-4, 4:-4],
                                                                            ref[4:-4, 4:-4]))


def test_default_metrics_offer_alex_and_leave_the_slow_vgg_to_be_picked():
    from sr_demo.iqa import DEFAULT_METRICS

    assert "stlpips_alex" in DEFAULT_METRICS
    assert "stlpips_vgg" not in DEFAULT_METRICS and "swdn_v2" not in DEFAULT_METRICS  # a VGG16 pass each


@pytest.mark.parametrize("net", ["alex", "vgg"])
def test_smallest_side_is_the_one_declared(net):
    model = st.STLPIPS(net, pretrained=False).eval()
    n = st.MIN_SIDE[net]
    with torch.no_grad():
        assert np.isfinite(float(model(torch.rand(1, 3, n, n + 5), torch.rand(1, 3, n, n + 5))))
        with pytest.raises(UserError, match=f"at least {n} px"):
            model(torch.rand(1, 3, n - 1, 64), torch.rand(1, 3, n - 1, 64))
        st.MIN_SIDE[net] = 0  # without the check the trunk itself fails one pixel below: the bound is tight
        try:
            with pytest.raises(RuntimeError):
                model(torch.rand(1, 3, n - 1, 64), torch.rand(1, 3, n - 1, 64))
        finally:
            st.MIN_SIDE[net] = n


def test_runs_with_sockets_blocked():
    """A fresh interpreter in which every socket connection fails scores both nets and the shipped SWDN v2."""
    code = """
import socket
def refuse(*args, **kwargs):
    raise OSError("network blocked by the test")
socket.socket.connect = refuse
socket.socket.connect_ex = refuse
socket.create_connection = refuse
import numpy as np
from sr_demo.iqa import score
img = np.random.default_rng(0).random((48, 56, 3)).astype(np.float32)
print(score("stlpips_alex", img * 0.9, img) > 0, score("stlpips_vgg", img * 0.9, img) > 0,
      score("swdn_v2", img * 0.9, img) > 0)
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["True", "True", "True"]


def test_missing_or_altered_package_files_are_user_errors(monkeypatch, tmp_path):
    def missing(name):
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(importlib.metadata, "distribution", missing)
    with pytest.raises(UserError, match="pip install stlpips-pytorch==0.0.2"):
        st.weights_path("alex")
    monkeypatch.undo()

    fake = tmp_path / st.WEIGHTS["alex"][0]
    fake.parent.mkdir(parents=True)
    fake.write_bytes(b"not the weights")

    class Dist:
        version = st.VERSION

        @staticmethod
        def locate_file(rel):
            return tmp_path / rel

    monkeypatch.setattr(importlib.metadata, "distribution", lambda name: Dist)
    with pytest.raises(UserError, match="sha256"):
        st.weights_path("alex")
