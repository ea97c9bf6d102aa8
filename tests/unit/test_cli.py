"""The `sr-demo` CLI on a bundled example: JSON out, one clear line on bad input."""

import json
import subprocess
import sys

import numpy as np
import pytest

from sr_demo.cli import main
from sr_demo.imaging import load_image


def run_cli(capsys, *args):
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_degrade_preset_json_and_reproducible(capsys, tmp_path, chelsea_path):
    out1, out2 = tmp_path / "a.png", tmp_path / "b.png"
    code, stdout, _ = run_cli(capsys, "degrade", chelsea_path, str(out1), "--preset", "noise", "--scale", "2",
                              "--seed", "5", "--json")
    assert code == 0
    record = json.loads(stdout)
    assert record["seed"] == 5 and record["spec"]["scale"] == 2 and record["lr_size"] == [225, 150]
    spec_file = tmp_path / "spec.json"
    spec_file.write_text(json.dumps(record["spec"]))
    assert run_cli(capsys, "degrade", chelsea_path, str(out2), "--spec", str(spec_file), "--seed", "5")[0] == 0
    assert out1.read_bytes() == out2.read_bytes()


def test_upscale_with_reference_reports_scores(capsys, tmp_path, chelsea_path):
    lr = tmp_path / "lr.png"
    hr_crop = tmp_path / "hr.png"
    run_cli(capsys, "degrade", chelsea_path, str(lr), "--preset", "clean", "--scale", "4")
    from sr_demo.imaging import mod_crop, save_png

    save_png(mod_crop(load_image(chelsea_path).rgb, 4), hr_crop)
    code, stdout, _ = run_cli(capsys, "upscale", str(lr), str(tmp_path / "sr.png"), "--model", "bicubic-x4",
                              "--hr", str(hr_crop), "--json")
    assert code == 0
    payload = json.loads(stdout)
    assert payload["model"] == "bicubic-x4" and payload["scale"] == 4 and payload["device"] == "cpu"
    assert 20 < payload["metrics"]["psnr_y"] < 40
    assert load_image(tmp_path / "sr.png").rgb.shape == (300, 448, 3)


def test_models_json_lists_the_baselines(capsys):
    code, stdout, _ = run_cli(capsys, "models", "--json")
    names = {m["name"]: m for m in json.loads(stdout)["models"]}
    assert code == 0 and {"bicubic-x4", "nearest-x2", "lanczos-x16"} <= set(names)
    assert names["bicubic-x4"]["scale"] == 4 and names["bicubic-x4"]["params"] == 0


def test_models_table_says_which_models_are_not_trained_yet(capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("SR_DEMO_MODELS_DIR", str(tmp_path))  # no weights: every learned model pending
    code, stdout, _ = run_cli(capsys, "models")
    rows = {line.split()[0]: line for line in stdout.splitlines()[1:]}
    assert code == 0 and rows["bicubic-x4"].split()[4] == "ready"
    assert "not trained yet" in rows["srresnet-real-dropout-mid-x4"] and "not trained yet" in rows["fsrcnn-x4"]
    header = stdout.splitlines()[0]
    assert all(line.index("×") == header.index("scale") for line in rows.values())  # columns line up


@pytest.mark.parametrize("args, match", [
    (["degrade", "missing.png", "o.png", "--preset", "clean"], "No image file"),
    (["degrade", "{ex}", "o.png", "--preset", "nope"], "nope"),
    (["degrade", "{ex}", "o.png", "--preset", "blur", "--scale", "5"], "scale"),
    (["upscale", "{ex}", "o.png", "--model", "no-such-model"], "no-such-model"),
    (["upscale", "{ex}", "o.png"], "--model"),
])
def test_bad_input_is_one_line_and_exit_2(capsys, tmp_path, chelsea_path, args, match):
    args = [a.replace("{ex}", chelsea_path).replace("o.png", str(tmp_path / "o.png")) for a in args]
    code, _, err = run_cli(capsys, *args)
    assert code == 2 and match in err and err.count("\n") == 1 and "Traceback" not in err


def test_console_script_entry_point_runs(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "sr_demo.cli", "models"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and "bicubic-x4" in proc.stdout
