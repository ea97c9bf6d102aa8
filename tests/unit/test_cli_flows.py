"""The CLI flows a new user runs end to end: upscale then score, sizes that differ, metrics that cannot run."""

import json
import subprocess
import sys

import numpy as np
import pytest

from sr_demo.cli import main
from sr_demo.imaging import load_image, save_png
from sr_demo.iqa import score


def run_cli(capsys, *args):
    code = main([str(a) for a in args])
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture
def lr_and_sr(capsys, tmp_path, chelsea_path):
    """The README flow: degrade the 451×300 example at ×4, upscale it (448×300 out)."""
    lr, sr = tmp_path / "lr.png", tmp_path / "sr.png"
    assert run_cli(capsys, "degrade", chelsea_path, lr, "--preset", "clean", "--scale", "4")[0] == 0
    assert run_cli(capsys, "upscale", lr, sr, "--model", "bicubic-x4")[0] == 0
    return lr, sr


def test_score_against_the_original_needs_and_states_crop_to_common(capsys, chelsea_path, lr_and_sr):
    _, sr = lr_and_sr
    code, _, err = run_cli(capsys, "score", chelsea_path, sr, "--metrics", "psnr")
    assert code == 2 and "448×300" in err and "451×300" in err
    code, out, _ = run_cli(capsys, "score", chelsea_path, sr, "--metrics", "psnr,ssim", "--crop-to-common",
                           "--crop-border", "4", "--json")
    payload = json.loads(out)
    ref, img = load_image(chelsea_path).rgb[:300, :448], load_image(sr).rgb
    assert code == 0 and payload["scores"][0]["psnr_rgb"] == pytest.approx(score("psnr_rgb", img, ref, 4))
    assert "cropped to their common top-left 448×300" in payload["cropped"][0]


def test_one_metric_that_cannot_run_is_skipped_with_its_reason(capsys, tmp_path, chelsea_path):
    small_ref, small = tmp_path / "ref.png", tmp_path / "img.png"
    img = load_image(chelsea_path).rgb
    save_png(img[:100, :120], small_ref)
    save_png(np.clip(img[:100, :120] + 0.02, 0, 1), small)
    code, out, _ = run_cli(capsys, "score", small_ref, small, "--metrics", "psnr,ms_ssim")
    assert code == 0 and "skipped MS-SSIM-RGB: MS-SSIM needs at least 161×161" in out
    row = out.splitlines()[1].split()
    assert float(row[1]) == pytest.approx(score("psnr_rgb", load_image(small).rgb, load_image(small_ref).rgb, 0),
                                          abs=1e-4) and row[2] == "-"
    code, _, err = run_cli(capsys, "score", small_ref, small, "--metrics", "ms_ssim")
    assert code == 2 and "161" in err  # nothing left to report: an error, not an empty table


def test_upscale_with_a_wrong_size_hr_fails_and_says_why(capsys, tmp_path, chelsea_path, lr_and_sr):
    lr, _ = lr_and_sr
    code, _, err = run_cli(capsys, "upscale", lr, tmp_path / "o.png", "--model", "bicubic-x2", "--hr", chelsea_path)
    assert code == 2 and "no scores" in err and "224×150" in err and (tmp_path / "o.png").is_file()


def test_degrade_refuses_an_lr_that_upscale_would_refuse(capsys, tmp_path, chelsea_path):
    small = tmp_path / "small.png"
    save_png(load_image(chelsea_path).rgb[:64, :64], small)
    code, _, err = run_cli(capsys, "degrade", small, tmp_path / "lr.png", "--preset", "clean", "--scale", "16")
    assert code == 2 and "under 8 pixels" in err and not (tmp_path / "lr.png").exists()
    save_png(load_image(chelsea_path).rgb[:128, :128], small)  # ×16 gives 8×8: the smallest image upscale takes
    assert run_cli(capsys, "degrade", small, tmp_path / "lr.png", "--preset", "clean", "--scale", "16")[0] == 0
    assert run_cli(capsys, "upscale", tmp_path / "lr.png", tmp_path / "sr.png", "--model", "bicubic-x16")[0] == 0


def test_lam_window_outside_is_an_error_and_a_moved_one_is_said(capsys, tmp_path, chelsea_path):
    lr = tmp_path / "lr.png"
    save_png(load_image(chelsea_path).rgb[110:150, 170:218], lr)  # 48×40 -> 192×160 at ×4
    code, _, err = run_cli(capsys, "lam", lr, "--model", "bicubic-x4", "--x", 500, "--y", 10)
    assert code == 2 and "outside the 192×160 output" in err and "0..191" in err
    code, out, _ = run_cli(capsys, "lam", lr, "--model", "bicubic-x4", "--x", 185, "--y", 10, "--fold", 5, "--json")
    payload = json.loads(out)
    assert code == 0 and payload["window"][:2] == [176, 10]
    assert payload["notes"][0] == "window moved from (185, 10) to (176, 10) to fit inside the output"


def test_negative_crop_border_gets_the_right_reason(capsys, chelsea_path):
    code, _, err = run_cli(capsys, "score", chelsea_path, chelsea_path, "--crop-border", "-4")
    assert code == 2 and "0 or more, got -4" in err


def test_models_imports_neither_torch_nor_gradio():
    """`sr-demo models` only reads the zoo table: importing torch made it take seconds."""
    code = ("import sys; from sr_demo.cli import main; main(['models']); "
            "print(sorted(m for m in ('torch', 'gradio', 'spandrel', 'cv2') if m in sys.modules))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and proc.stdout.strip().splitlines()[-1] == "[]"


def test_ganprior_writes_the_result_and_reports_psnr_against_bicubic(capsys, tmp_path, chelsea_path):
    out = tmp_path / "prior.png"
    code, stdout, _ = run_cli(capsys, "ganprior", chelsea_path, "--task", "sr", "--codes", "3", "--layer", "16",
                              "--iters", "4", "--x", "400", "--y", "10", "--out", out, "--json")
    payload = json.loads(stdout)
    assert code == 0 and payload["crop"] == [387, 10, 64, 64]  # moved inside the 451×300 image
    assert (payload["codes"], payload["layer"], payload["iters"], payload["task"]) == (3, "16", 4, "sr")
    crop = load_image(chelsea_path).rgb[10:74, 387:451]
    result = load_image(out).rgb
    from sr_demo.iqa.fidelity import psnr

    assert result.shape == (64, 64, 3)
    assert abs(psnr(result, crop) - payload["psnr_y"]) < 0.2  # the PNG's 8-bit rounding
    assert payload["bicubic_psnr_y"] > 0 and payload["loss_last"] <= payload["loss_first"] * 1.5


@pytest.mark.parametrize("args, message", [
    (["--task", "recon", "--x", "3"], "both --x and --y"),
    (["--task", "recon", "--codes", "31"], "from 1 to 30"),
    (["--task", "recon", "--iters", "0"], "Iterations"),
])
def test_ganprior_bad_flags_get_one_line(capsys, chelsea_path, args, message):
    code, _, err = run_cli(capsys, "ganprior", chelsea_path, *args)
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1
