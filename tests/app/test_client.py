"""The launched app driven through its HTTP API with gradio_client: degrade, then upscale."""

import json

import numpy as np
import pytest
from PIL import Image

gradio_client = pytest.importorskip("gradio_client")


@pytest.fixture(scope="module")
def client(app_url):
    return gradio_client.Client(app_url, verbose=False)


def _controls(client, preset, scale):
    return client.predict(preset, scale, api_name="/apply_preset")


def test_degrade_then_upscale(client, chelsea_path):
    controls = _controls(client, "blur+noise", 4)
    *control_values, spec_json = controls
    assert json.loads(spec_json)["scale"] == 4
    out = client.predict(gradio_client.handle_file(chelsea_path), 7, spec_json, *control_values,
                         api_name="/run_degrade")
    lr_zoom, lr_true, record_json, notes, files = out
    record = json.loads(record_json)
    assert record["seed"] == 7 and record["spec"]["noise"]["level"] == 20.0
    lr = np.asarray(Image.open(lr_true))
    assert lr.shape[:2] == (300 // 4, 448 // 4)  # chelsea is 451×300, mod-cropped to 448×300

    # The same spec and seed give the same LR bytes through the API.
    again = client.predict(gradio_client.handle_file(chelsea_path), 7, spec_json, *control_values,
                           api_name="/run_degrade")
    assert np.array_equal(np.asarray(Image.open(again[1])), lr)

    sr_out = client.predict(gradio_client.handle_file(lr_true), gradio_client.handle_file(chelsea_path),
                            ["bicubic-x4", "lanczos-x4"], 0, api_name="/run_sr")
    slider, left, right, table, overview, loupe, bundle, info, = sr_out
    rows = table["data"]
    assert [r[0] for r in rows] == ["bicubic-x4", "lanczos-x4"]
    assert all(20 < float(r[2]) < 40 for r in rows)  # PSNR-Y against the HR, in dB
    assert bundle.endswith(".zip")


def test_bad_upload_is_a_clear_error(client, tmp_path):
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"not a png")
    controls = _controls(client, "clean", 2)
    with pytest.raises(Exception, match="not an image"):
        client.predict(gradio_client.handle_file(str(bad)), 0, controls[-1], *controls[:-1],
                       api_name="/run_degrade")


def test_ganprior_through_the_api(client):
    """Load a photo, invert its centre crop for x4 SR: the table has the prior and bicubic with PSNRs."""
    view, info = client.predict(gradio_client.handle_file("examples/heldout/gcompris-monuments-colosseum_0.png"),
                                api_name="/ganprior_load")
    assert "centre 64×64 crop" in info
    gallery, table, _, info = client.predict("sr", 2, "8", 10, "(none)", api_name="/ganprior_run")
    rows = {r[0]: float(r[1]) for r in table["data"]}
    assert set(rows) == {"GAN prior", "bicubic ×4"} and all(5 < v < 60 for v in rows.values())
    assert len(gallery) == 4 and "crop at (88, 88)" in info
