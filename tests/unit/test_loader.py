"""Checkpoint loading on files written here in the published key layouts."""

import dataclasses
import hashlib

import pytest
import torch
from safetensors.torch import save_file

from sr_demo.errors import UserError
from sr_demo.models import cache, zoo
from sr_demo.models.archs import build_arch, detect_arch
from sr_demo.models.loader import (
    load_checkpoint_file,
    load_zoo_model,
    read_state_dict,
    resolve_weights,
)

SMALL = {
    "edsr": dict(scale=4, num_feat=16, num_block=3),
    "srresnet": dict(scale=2, num_feat=16, num_block=2),
    "rrdbnet": dict(scale=4, num_feat=16, num_block=2, num_grow_ch=8),
}


def _net(arch, seed=0, **overrides):
    torch.manual_seed(seed)
    net = build_arch(arch, **{**SMALL[arch], **overrides}).eval()
    for p in net.parameters():  # BasicSR's 0.1-scaled init hides errors: use larger weights
        p.data.normal_(0, 0.05)
    return net


def _same_output(a, b, atol=0.0):
    x = torch.rand(1, 3, 9, 11, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        ya, yb = a(x), b(x)
    assert ya.shape == yb.shape
    assert (ya - yb).abs().max().item() <= atol


@pytest.mark.parametrize("arch", sorted(SMALL))
@pytest.mark.parametrize("wrap", ["params", "params_ema", "module", "safetensors"])
def test_basicsr_layouts_round_trip(tmp_path, arch, wrap):
    net = _net(arch)
    sd = net.state_dict()
    if wrap == "safetensors":
        path = tmp_path / "net.safetensors"
        save_file(sd, path)
    else:
        path = tmp_path / "net.pth"
        if wrap == "module":
            payload = {f"module.{k}": v for k, v in sd.items()}
        elif wrap == "params_ema":  # BasicSR ships both; EMA weights win
            payload = {"params": _net(arch, seed=1).state_dict(), "params_ema": sd}
        else:
            payload = {"params": sd}
        torch.save(payload, path)
    loaded = load_checkpoint_file(path)
    assert loaded.arch == arch and loaded.source == "upload" and loaded.scale == SMALL[arch]["scale"]
    assert loaded.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert loaded.params == sum(p.numel() for p in net.parameters())
    assert not loaded.module.training and not any(p.requires_grad for p in loaded.module.parameters())
    _same_output(net, loaded.module)


@pytest.mark.parametrize(
    "arch,kwargs",
    [
        ("edsr", dict(scale=2, num_feat=8, num_block=5)),
        ("edsr", dict(scale=3, num_feat=8, num_block=1)),
        ("edsr", dict(scale=8, num_feat=8, num_block=2)),
        ("srresnet", dict(scale=3, num_feat=8, num_block=4)),
        ("srresnet", dict(scale=4, num_feat=12, num_block=1)),
        ("rrdbnet", dict(scale=2, num_feat=8, num_block=3, num_grow_ch=4)),
        ("rdn", dict(scale=3, num_feat=8, num_blocks=3, convs_per_block=2, growth=4)),
        ("rrdn", dict(scale=8, num_feat=8, num_rrdb=2, dense_blocks=3, convs_per_block=2, growth=4)),
        ("span", dict(scale=2, feature_channels=8)),
        ("compact", dict(scale=3, num_feat=8, num_conv=2)),
    ],
)
def test_infer_layout(arch, kwargs):
    sd = build_arch(arch, **kwargs).state_dict()
    inferred_arch, inferred = detect_arch(sd)
    assert inferred_arch == arch
    assert {k: inferred[k] for k in kwargs} == kwargs


@pytest.mark.parametrize("scale", [2, 4])
def test_rrdbnet_through_spandrel_matches_ours(tmp_path, scale):
    import spandrel

    net = _net("rrdbnet", scale=scale, num_grow_ch=32)  # spandrel's ESRGAN fixes the growth at 32
    path = tmp_path / "rrdb.pth"
    torch.save({"params_ema": net.state_dict()}, path)
    desc = spandrel.ModelLoader().load_from_file(path)
    assert desc.architecture.id == "ESRGAN" and desc.scale == scale
    x = torch.rand(1, 3, 12, 16)  # multiples of 4: spandrel pads x2 RRDBs to 4, which changes borders
    with torch.no_grad():
        ours = net(x)
    assert (desc(x) - ours.clamp(0, 1)).abs().max().item() <= 1e-5  # descriptors clamp to [0, 1]
    assert (desc.model(x) - ours).abs().max().item() <= 1e-5


def test_compact_checkpoints_load_through_our_spec(tmp_path):
    """spandrel's own Compact checkpoint layout is recognised by archs/compact.py (spandrel's class inside)."""
    from spandrel.architectures.Compact import Compact

    torch.manual_seed(0)
    net = Compact(num_feat=8, num_conv=2, upscale=2).eval()
    path = tmp_path / "compact.safetensors"
    save_file(net.state_dict(), path)
    loaded = load_checkpoint_file(path, name="mine")
    assert (loaded.name, loaded.arch, loaded.scale, loaded.tiling_ok) == ("mine", "compact", 2, True)
    _same_output(net, loaded.module)


@pytest.mark.filterwarnings("ignore:torch.meshgrid")  # inside spandrel's SwinIR
def test_spandrel_swinir_flags(tmp_path):
    from spandrel.architectures.SwinIR import SwinIR

    net = SwinIR(upscale=2, img_size=16, window_size=4, embed_dim=12, depths=[1], num_heads=[2], mlp_ratio=2,
                 upsampler="pixelshuffledirect")
    path = tmp_path / "swinir.pth"
    torch.save({"params": net.state_dict()}, path)
    loaded = load_checkpoint_file(path)
    assert loaded.arch == "SwinIR" and loaded.scale == 2
    assert not loaded.tiling_ok and not loaded.supports_half and loaded.min_size == 16


def test_malicious_pickle_is_not_executed(tmp_path):
    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    path = tmp_path / "evil.pth"
    torch.save({"params": {"conv_first.weight": torch.zeros(1)}, "x": Evil()}, path)
    with pytest.raises(UserError, match="run code"):
        read_state_dict(path)
    with pytest.raises(UserError):
        load_checkpoint_file(path)
    assert not marker.exists()
    torch.load(path, weights_only=False)  # proves the file really is malicious
    assert marker.exists()


@pytest.mark.parametrize(
    "name,content,message",
    [
        ("garbage.pth", b"\x00not a checkpoint" * 10, "not a"),
        ("garbage.safetensors", b"\xff" * 64, "not a readable safetensors"),
        ("weights.bin", b"", "unsupported file type"),
    ],
)
def test_unreadable_files(tmp_path, name, content, message):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(UserError, match=message):
        load_checkpoint_file(path)


def test_non_tensor_payload_and_unknown_layout(tmp_path):
    path = tmp_path / "meta.pth"
    torch.save({"params": {"conv_first.weight": torch.zeros(1), "iter": 5}}, path)
    with pytest.raises(UserError, match="'iter' is a int"):
        read_state_dict(path)
    path = tmp_path / "other.pth"
    torch.save({"encoder.weight": torch.zeros(3, 3)}, path)
    with pytest.raises(UserError, match="Not a super-resolution checkpoint"):
        load_checkpoint_file(path)


# --- zoo weights: shipped -> cache -> URL ----------------------------------


@pytest.fixture
def learned_entry(tmp_path, monkeypatch):
    """A zoo entry whose weights are only at a file:// URL."""
    net = _net("edsr")
    source = tmp_path / "published" / "edsr-tiny-x4.safetensors"
    source.parent.mkdir()
    save_file(net.state_dict(), source)
    entry = zoo.ZooEntry(
        name="edsr-tiny-x4",
        arch="edsr",
        scale=4,
        arch_kwargs=dict(num_feat=16, num_block=3),
        source=zoo.Url(source.as_uri(), source.name, hashlib.sha256(source.read_bytes()).hexdigest()),
    )
    monkeypatch.setattr(zoo, "ZOO", zoo.ZOO + (entry,))
    monkeypatch.setenv("SR_DEMO_MODELS_DIR", str(tmp_path / "models"))
    monkeypatch.setenv("SR_DEMO_CACHE", str(tmp_path / "cache"))
    return entry, net


def test_resolve_weights_downloads_into_cache(tmp_path, learned_entry):
    entry, net = learned_entry
    path = resolve_weights(entry)
    assert path == tmp_path / "cache" / entry.weights and path.is_file()
    assert list(path.parent.iterdir()) == [path]  # no .part left behind
    model = load_zoo_model(entry.name)
    assert (model.source, model.sha256, model.scale) == ("zoo", entry.sha256, 4)
    _same_output(net, model.module)
    assert entry in zoo.available_entries()


def test_shipped_file_wins_over_url(tmp_path, learned_entry):
    entry, _ = learned_entry
    shipped = tmp_path / "models" / entry.weights
    shipped.parent.mkdir()
    shipped.write_bytes((tmp_path / "published" / entry.weights).read_bytes())
    assert resolve_weights(dataclasses.replace(entry, source=zoo.Shipped(entry.weights, entry.sha256))) == shipped


def test_sha256_mismatch(tmp_path, learned_entry):
    entry, _ = learned_entry
    bad = dataclasses.replace(entry, source=dataclasses.replace(entry.source, sha256="0" * 64))
    with pytest.raises(UserError, match="expected 0{64}, got " + entry.sha256):
        resolve_weights(bad)
    assert not any((tmp_path / "cache").iterdir())  # the bad download was not kept


def test_missing_weights_without_url_say_what_to_do(learned_entry):
    entry, _ = learned_entry
    with pytest.raises(UserError, match="not trained yet.*training.run_pending"):
        resolve_weights(dataclasses.replace(entry, source=zoo.Shipped(entry.weights, None)))


def test_baseline_loads_without_weights():
    model = load_zoo_model("bicubic-x4")
    assert (model.source, model.params, model.sha256, model.scale) == ("builtin", 0, None, 4)


def test_uploads_cached_by_content(tmp_path):
    cache.clear()
    net = _net("srresnet")
    a, b = tmp_path / "a.pth", tmp_path / "b.pth"
    torch.save(net.state_dict(), a)
    b.write_bytes(a.read_bytes())
    assert cache.get_uploaded_model(a) is cache.get_uploaded_model(b)
    for name in ("nearest-x2", "nearest-x3", "nearest-x4", "nearest-x16", "bicubic-x2"):
        cache.get_model(name)
    assert len(cache._models) == cache.MAX_MODELS
    assert cache.get_model("bicubic-x2") is cache.get_model("bicubic-x2")
    cache.clear()



@pytest.mark.parametrize("scale, file_name", [(2, "a2n_mine.safetensors"), (3, "aan_x3.safetensors"),
                                              (4, "a2n.safetensors")])
def test_official_a2n_layout_loads_with_its_scale(tmp_path, scale, file_name):
    torch.manual_seed(0)
    net = build_arch("a2n", scale=scale, num_feat=8, num_up_feat=4, num_block=2).eval()
    path = tmp_path / file_name
    save_file({k: v.contiguous() for k, v in net.state_dict().items()}, str(path))
    loaded = load_checkpoint_file(path)
    assert (loaded.arch, loaded.scale) == ("a2n", scale)
    x = torch.rand(1, 3, 9, 11)
    with torch.no_grad():
        torch.testing.assert_close(loaded.module(x), net(x), rtol=0, atol=1e-6)


@pytest.mark.parametrize("name", ["rdn-slim-x3", "fsrcnn-x4"])
def test_shipped_files_load_as_uploads(name):
    """A file the zoo itself serves is recognised as a community upload too."""
    zoo_model = load_zoo_model(name)
    upload = load_checkpoint_file(zoo.models_dir() / zoo.get_entry(name).weights)
    assert (upload.arch, upload.scale) == (zoo_model.arch, zoo_model.scale)
    x = torch.rand(1, 3, 9, 7)
    with torch.no_grad():
        torch.testing.assert_close(upload.module(x), zoo_model.module(x))
