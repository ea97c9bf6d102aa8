"""What a new user hit in the LAM tab: examples, a learned default, a visible window, a readable map and chart."""

from types import SimpleNamespace

import numpy as np

from sr_demo.imaging import load_image
from sr_demo.lam.render import WINDOW_RGB
from sr_demo.models.zoo import ZOO
from sr_demo.ui.tabs import lam as ltab
from sr_demo.ui.tabs.superres import model_choices


def test_examples_are_small_lr_images():
    paths = ltab.example_paths()
    assert len(paths) >= 3
    assert all(load_image(p).rgb.shape == (64, 64, 3) for p in paths)
    assert ltab.example_source(paths[0]) == f"Input: the bundled example `{paths[0].rsplit('/', 1)[1]}`."


def test_default_model_is_a_learned_one():
    groups = {e.name: e.group for e in ZOO}
    (name,) = ltab.default_model(model_choices())
    assert groups[name] != "baseline"


def test_window_outline_keeps_its_screen_thickness_and_gets_a_locator_ring():
    sr = np.full((1680, 1680, 3), 0.5, dtype=np.float32)  # shown 420 px high: 4 image px per screen px
    out = ltab._drawn({"sr": sr, "center": (840.0, 840.0)}, 16)
    red = np.all(np.isclose(out, WINDOW_RGB), axis=-1)
    row = red[840]  # through the window's middle: the left and right outlines, each OUTLINE_SCREEN_PX * 4 wide
    assert row.sum() == 2 * ltab.OUTLINE_SCREEN_PX * 4
    assert np.array_equal(out[832:848, 832:848], sr[832:848, 832:848])  # the window itself is not painted over
    yellow = np.all(np.isclose(out, (1.0, 0.85, 0.0)), axis=-1)
    assert yellow.any() and not yellow[800:880, 800:880][20:60, 20:60].any()  # a ring around, not on, the window
    small = ltab._drawn({"sr": sr[:160, :192], "center": (96.0, 80.0)}, 32)
    assert not np.all(np.isclose(small, (1.0, 0.85, 0.0)), axis=-1).any()  # big enough on screen: no ring


def test_whole_image_map_is_shown_around_the_window():
    r = SimpleNamespace(map=np.zeros((200, 300)), mode="exact", footprint=(100, 120, 4, 4), radii={0.9: 3.0})
    assert ltab._shown_box(r) == (102 - 16, 122 - 16, 32, 32)  # half side max(16, 2*3 + 2)
    r.radii = {0.9: 40.0}
    assert ltab._shown_box(r) == (102 - 82, 122 - 82, 164, 78 + 82)  # clipped by the canvas' bottom edge
    r.mode = "context"
    assert ltab._shown_box(r) == (0, 0, 300, 200)


def test_di_chart_uses_the_whole_0_to_100_scale():
    results = [SimpleNamespace(model="nearest-x4", di=0.2), SimpleNamespace(model="span-x4", di=12.0)]
    assert tuple(ltab.di_figure(results).layout.yaxis.range) == (0, 100)
