"""Score tab: a readable hand-over sentence, honest tie wording, and a shift demo that agrees with the table."""

import numpy as np
import pytest

from sr_demo.api import SuperResolved
from sr_demo.iqa import METRICS, score
from sr_demo.ui.tabs import score as sctab


def _result(sr):
    return SuperResolved(model="bicubic-x4", scale=4, sr=sr, seconds=0.1, device="cpu", precision="fp32", tiles=1,
                         sha256=None)


def test_received_outputs_say_where_they_came_from_in_one_sentence():
    sr = np.zeros((40, 48, 3), np.float32)
    _, _, info, _ = sctab.receive_sr({"outputs": {"a": _result(sr)}, "hr": np.zeros((42, 49, 3), np.float32),
                                      "scale": 4})
    assert info == ("Input: 1 output(s) of the Super-resolve tab (×4), ready to score; the reference is its HR, "
                    "mod-cropped from 49×42 to 48×40 as the SR protocol does.")
    _, _, info, _ = sctab.receive_sr({"outputs": {"a": _result(sr)}, "hr": None, "scale": 4})
    assert info.endswith("ready to score; it had no HR: upload a reference.")


@pytest.mark.parametrize("agree, expected", [
    ({"psnr_y": 2, "ssim_y": 2, "swdn": 2}, "Done: every metric agreed with you equally often (2/5)."),
    ({"psnr_y": 3, "ssim_y": 3, "swdn": 1}, "Done: {psnr_y} and {ssim_y} tie, each agreeing with you 3/5 times."),
    ({"psnr_y": 1, "ssim_y": 4, "swdn": 2}, "Done: {ssim_y} agreed with you most often (4/5)."),
])
def test_verdict_names_a_tie_as_one(agree, expected):
    labels = {m: METRICS[m].label for m in agree}
    assert sctab._verdict({"agree": agree, "done": 5}) == expected.format(**labels)


def test_shift_demo_no_shift_equals_the_table(chelsea_path):
    from sr_demo.imaging import load_image

    ref = load_image(chelsea_path).rgb[:96, :128]
    img = np.clip(ref + 0.03, 0, 1)
    state = {"images": {"x": img}, "ref": ref, "crop": 4}
    _, table = sctab.shift_demo(state, "x", 1)
    row = next(r for r in table.value["data"] if r[0].startswith(METRICS["psnr_y"].label))
    assert row[1] == round(score("psnr_y", img, ref, 4), 4)
