"""What an attacker or a careless user sends, through the app's HTTP API (gradio_client) and the CLI: each case
gets the exact message the user sees, the server keeps answering, and nothing is written outside temp folders."""

from __future__ import annotations

import json
import os
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from sr_demo.cli import main
from sr_demo.imaging import load_image
from tests.app import hostile_files
from tests.conftest import ROOT

gradio_client = pytest.importorskip("gradio_client")

NOT_AN_IMAGE = "This file is not an image SR Lab can read (PNG, JPEG, WebP, BMP, TIFF, GIF)."
TOO_SMALL = "Image is {}; SR Lab needs at least 8 pixels on each side."
#: file -> the one message the user gets (refused) or the conversion note the result carries (accepted)
IMAGES = {
    "zero_byte.png": ("refused", NOT_AN_IMAGE),
    "truncated.png": ("refused", "The image file is corrupt or truncated and cannot be decoded."),
    "huge_header.png": ("refused", "Image is 100000×100000 = 10000.0 MP, over this server's limit of 16.8 MP. "
                                   "Crop or shrink it first."),
    "one_pixel.png": ("refused", TOO_SMALL.format("1×1 pixels")),
    "strip_20000x4.png": ("refused", TOO_SMALL.format("20000×4 pixels")),
    "not_an_image.png": ("refused", NOT_AN_IMAGE),
    "sixteen_bit.png": ("accepted", "16-bit greyscale converted to float"),
    "rgba.png": ("accepted", "transparent pixels composited onto white"),
    "cmyk.jpg": ("accepted", "CMYK converted to RGB"),
    "animated.gif": ("accepted", "first of 3 frames used"),
}
SKIP_DIRS = {".git", ".venv", "node_modules", "__pycache__", ".pytest_cache"}
#: File names the cases write: one of them appearing in the checkout means a case wrote there (other files may
#: change while this runs: other processes can work in the same checkout).
OUTPUT_NAMES = {"degradation.json", "sr_lab_result.zip", "same.png", "PWNED_BY_PICKLE", "o.png", "lr.png",
                *IMAGES, "runs_code.pth", "wrong_shapes.safetensors"}


def _new_outputs(since: float) -> list[str]:
    found = []
    for dirpath, dirnames, filenames in os.walk(ROOT):
        dirnames[:] = [d for d in dirnames if d not in SKIP_DIRS]
        found += [os.path.join(dirpath, f) for f in filenames if (f in OUTPUT_NAMES or f.startswith("lr_x"))
                  and os.stat(os.path.join(dirpath, f)).st_mtime >= since]
    return found


@pytest.fixture(scope="module", autouse=True)
def nothing_written_in_the_repository():
    """Every output of every case lands in a temp folder (the app's, or pytest's), never in the checkout."""
    start = time.time() - 1
    yield
    assert _new_outputs(start) == []


@pytest.fixture(scope="module")
def files(tmp_path_factory, request):
    photo = load_image(ROOT / "examples" / "chelsea.png").rgb
    return hostile_files.build(tmp_path_factory.mktemp("hostile"), photo)


@pytest.fixture(scope="module")
def client(app_url):
    return gradio_client.Client(app_url, verbose=False)


@pytest.fixture(scope="module")
def clean_controls(client):
    *controls, spec_json = client.predict("clean", 2, api_name="/apply_preset")
    return controls, spec_json


def _answers(client) -> bool:
    *_, spec_json = client.predict("clean", 3, api_name="/apply_preset")
    return json.loads(spec_json)["scale"] == 3


def _degrade(client, controls, spec_json, path, seed=0):
    return client.predict(gradio_client.handle_file(str(path)), seed, spec_json, *controls, api_name="/run_degrade")


def _error(fn) -> str:
    with pytest.raises(Exception) as info:
        fn()
    return str(info.value)


@pytest.mark.parametrize("name", list(IMAGES))
def test_hostile_image_through_the_api(client, clean_controls, files, name):
    outcome, message = IMAGES[name]
    controls, spec_json = clean_controls
    if outcome == "refused":
        assert _error(lambda: _degrade(client, controls, spec_json, files[name])) == message
    else:
        _, lr_true, _, notes, _ = _degrade(client, controls, spec_json, files[name])
        assert message in notes and np.asarray(Image.open(lr_true)).shape[2] == 3
    assert _answers(client)


@pytest.mark.parametrize("name", list(IMAGES))
def test_hostile_image_through_the_cli(capsys, tmp_path, files, name):
    outcome, message = IMAGES[name]
    code = main(["degrade", str(files[name]), str(tmp_path / "lr.png"), "--preset", "clean", "--scale", "2",
                 "--json"])
    out = capsys.readouterr()
    if outcome == "refused":
        assert code == 2 and out.err.endswith(f"sr-demo degrade: error: {message}\n")  # the server may log too
    else:
        assert code == 0 and message in json.loads(out.out)["conversions"]


def test_pickle_that_would_run_code_is_refused_and_runs_nothing(client, files, capsys, tmp_path):
    marker = files["pickle_marker"]
    message = _error(lambda: client.predict(gradio_client.handle_file(str(files["runs_code.pth"])), [],
                                            api_name="/add_checkpoint"))
    assert message == "runs_code.pth is not a PyTorch checkpoint (unreadable pickle)"
    code = main(["upscale", str(ROOT / "examples" / "lam" / "chelsea_lr64.png"), str(tmp_path / "o.png"),
                 "--weights", str(files["runs_code.pth"])])
    assert code == 2 and capsys.readouterr().err.endswith(f"error: {message}\n")
    assert not marker.exists() and _answers(client)


def test_safetensors_with_wrong_shapes_is_refused(client, files):
    message = _error(lambda: client.predict(gradio_client.handle_file(str(files["wrong_shapes.safetensors"])), [],
                                            api_name="/add_checkpoint"))
    assert message.startswith("Not a super-resolution checkpoint SR Lab recognises: wrong_shapes.safetensors "
                              "matches none of SR Lab's layouts")
    assert _answers(client)


@pytest.mark.parametrize("spec, message", [
    ('{"scale": -4}', "scale"),
    ('{"scale": 4, "blur": {"kind": "iso", "sigma": -1}}', "sigma"),
])
def test_absurd_degradation_parameters(client, spec, message):
    assert message in _error(lambda: client.predict(spec, api_name="/apply_json")).lower()
    assert _answers(client)


def test_seed_minus_one(client, clean_controls, capsys, tmp_path):
    controls, spec_json = clean_controls
    chelsea = ROOT / "examples" / "chelsea.png"
    expected = "Seed must be an integer in [0, 2^32), got -1."
    # the seed box's minimum is checked by Gradio itself, before the handler
    assert _error(lambda: _degrade(client, controls, spec_json, chelsea, seed=-1)) == ("Value -1 is less than "
                                                                                      "minimum value 0.")
    code = main(["degrade", str(chelsea), str(tmp_path / "lr.png"), "--preset", "clean", "--seed", "-1"])
    assert code == 2 and capsys.readouterr().err.endswith(f"sr-demo degrade: error: {expected}\n")
    assert _answers(client)


@pytest.mark.parametrize("args, message", [
    (["--x", "10000", "--y", "0"], "--x 10000 --y 0 lies outside the 256×256 output"),
    (["--x", "0", "--y", "0", "--fold", "0"], "fold"),
    (["--x", "0", "--y", "0", "--fold", "1000000"], "fold"),
    (["--x", "0", "--y", "0", "--window", "0"], "window size must be at least 1"),
])
def test_absurd_lam_parameters_in_the_cli(capsys, args, message):
    lr = ROOT / "examples" / "lam" / "chelsea_lr64.png"
    code = main(["lam", str(lr), "--model", "bicubic-x4", *args])
    err = capsys.readouterr().err
    assert code == 2 and message in err.splitlines()[-1]


@pytest.mark.parametrize("fold", [0, 10**6])
def test_absurd_fold_through_the_api(client, fold):
    lr = gradio_client.handle_file(str(ROOT / "examples" / "lam" / "chelsea_lr64.png"))
    client.predict(lr, ["bicubic-x4"], 16, api_name="/show_sr")
    message = _error(lambda: client.predict(["bicubic-x4"], 16, fold, "blur", "context", api_name="/run_lam"))
    assert "fold" in message.lower() or "minimum" in message.lower() or "maximum" in message.lower()
    assert _answers(client)


def test_negative_scale_in_the_cli(capsys, tmp_path):
    code = main(["degrade", str(ROOT / "examples" / "chelsea.png"), str(tmp_path / "lr.png"), "--preset", "clean",
                 "--scale", "-4"])
    err = capsys.readouterr().err
    assert code == 2 and "scale" in err.splitlines()[-1]


def test_concurrent_uploads_of_the_same_file_name(app_url, clean_controls, tmp_path):
    """Four clients upload different pictures all called same.png at once: each gets its own LR back."""
    controls, spec_json = clean_controls
    photo = load_image(ROOT / "examples" / "chelsea.png").rgb
    paths = []
    for i in range(4):
        folder = tmp_path / str(i)
        folder.mkdir()
        path = folder / "same.png"
        Image.fromarray((np.roll(photo, 40 * i, axis=1)[:96, :128] * 255).round().astype(np.uint8)).save(path)
        paths.append(path)

    def run(path):
        client = gradio_client.Client(app_url, verbose=False)
        return np.asarray(Image.open(_degrade(client, controls, spec_json, path)[1]))

    start = time.perf_counter()
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(run, paths))
    from sr_demo.api import degrade
    from sr_demo.degradations import preset_spec

    for path, lr in zip(paths, results):
        expected = degrade(load_image(path).rgb, preset_spec("clean", 2), 0).lr
        assert np.array_equal(lr, (expected * 255).round().astype(np.uint8))
    assert time.perf_counter() - start < 120
