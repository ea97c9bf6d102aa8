"""Degrade tab: controls that take no effect are disabled; the spec box keeps one shape."""

import json

from sr_demo.ui.tabs import degrade as dtab


def _interactive(updates):
    return [u["interactive"] for u in updates]


def test_realesrgan_disables_every_classic_control():
    assert _interactive(dtab.control_states("realesrgan", True, True, True)) == [False] * 13


def test_an_unticked_stage_disables_only_its_own_parameters():
    states = _interactive(dtab.control_states("classic", False, True, False))
    assert states[:4] == [True] * 4  # stage boxes and the down-sampling filter
    assert states[4:9] == [False] * 5 and states[9:12] == [True] * 3 and states[12] is False


def test_spec_box_always_holds_indented_json():
    *_, preset_text = dtab.apply_preset("blur+noise+jpeg", 4)
    *_, applied_text, _seed = dtab.apply_json(json.dumps({"spec": json.loads(preset_text), "seed": 3}))
    assert preset_text == applied_text and preset_text.count("\n") > 5


def test_notes_say_which_file_was_degraded(chelsea_path):
    *controls, spec_json = dtab.apply_preset("clean", 2)
    notes = dtab.run_degrade(chelsea_path, 0, spec_json, *controls, progress=lambda *a, **k: None)[3]
    assert notes.splitlines()[0] == "- Input: chelsea.png"
