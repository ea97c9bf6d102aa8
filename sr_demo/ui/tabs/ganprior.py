"""GAN prior tab: click a 64x64 crop, invert SR Lab's small GAN with many codes (mGANprior), compare."""

from __future__ import annotations

import threading

import gradio as gr
import numpy as np

from sr_demo import ganprior
from sr_demo.errors import UserError
from sr_demo.ui import components
from sr_demo.ui.components import upload_image
from sr_demo.ui.guard import as_whole_number, gradio_progress, guarded

TAB_ID = "ganprior"
TASK_CHOICES = [(label.capitalize(), key) for key, label in ganprior.TASKS.items()]
NO_MODEL = "(none)"
TABLE_HEADERS = ["result", "PSNR-Y (dB) vs the crop", "note"]
NOTE = """**What this shows.** mGANprior ([Gu, Shen & Zhou, 2020](https://arxiv.org/abs/1912.07116)) explains
an image with a trained GAN: it searches latent codes whose generated image matches what was observed. One
code rarely fits a real photo; here *N* codes each make a feature map at the **composing layer**, mixed with a
learned importance per code and channel, and the rest of the generator runs once. For ×4 SR only the
down-sampled result has to match the LR input, so everything else comes from the prior. SR Lab's generator
is small and was trained on this project's 145 training photos on a CPU (its card shows samples next to
their nearest training crops): a narrow prior, so watch where it beats bicubic and where it does not. The
**PSNR against codes** plot measures the same inversion for 1–20 codes, optionally also through an
*untrained* generator of the same architecture: more codes help even a random network; only the gap between
the two curves is the prior's doing."""

_STOP: dict[str, threading.Event] = {}


def _stop_flag(request: gr.Request | None) -> threading.Event:
    """This session's stop flag (direct Python calls share one)."""
    return _STOP.setdefault(getattr(request, "session_hash", None) or "direct-call", threading.Event())


def _fresh_stop_flag(request: gr.Request | None) -> threading.Event:
    """The stop flag, cleared for a new run."""
    flag = _stop_flag(request)
    flag.clear()
    return flag


def stop(request: gr.Request):
    """Ask this session's running inversion to stop after its current iteration (it returns what it reached)."""
    _stop_flag(request).set()


def zoo_choices() -> list[str]:
    """Learned x4 zoo models to set beside the prior's SR (the ones that need no download)."""
    from sr_demo.models import available_entries
    from sr_demo.ui.tabs.superres import default_models

    names = [e.name for e in available_entries() if e.group != "baseline" and e.scale == ganprior.SR_SCALE]
    preferred = [n for n in default_models(1) if n in names]
    return [NO_MODEL] + preferred + [n for n in names if n not in preferred]


def _drawn(state: dict) -> np.ndarray:
    from sr_demo.lam import draw_box

    x, y = state["xy"]
    return draw_box(state["image"], x, y, ganprior.SIDE, ganprior.SIDE, outside=True, edge=2)


@guarded
def load_photo(path: str | None):
    """A new photo: its centre crop is selected."""
    from sr_demo.ganprior.prior import crop_at
    from sr_demo.imaging import load_image

    if not path:
        return None, None, "Upload a photo or pick an example."
    loaded = load_image(path)
    _, xy = crop_at(loaded.rgb)
    state = {"image": loaded.rgb, "xy": xy}
    notes = " ".join(f"({n})" for n in loaded.notes)
    h, w = loaded.rgb.shape[:2]
    return _drawn(state), state, (f"{w}×{h} photo; the centre 64×64 crop is selected: click to move it. "
                                  f"{notes}").strip()


@guarded
def place_crop(state: dict | None, evt: gr.SelectData):
    """Centre the 64x64 crop on the clicked pixel (moved inside the photo)."""
    from sr_demo.ganprior.prior import crop_at

    if not state:
        raise UserError("Upload a photo first.")
    cx, cy = evt.index
    half = ganprior.SIDE // 2
    _, xy = crop_at(state["image"], int(cx) - half, int(cy) - half)
    state = {**state, "xy": xy}
    return _drawn(state), state, f"64×64 crop at ({xy[0]}, {xy[1]})."


def _crop(state: dict | None) -> np.ndarray:
    from sr_demo.ganprior.prior import crop_at

    if not state:
        raise UserError("Upload a photo first.")
    return crop_at(state["image"], *state["xy"])[0]


def _big(img: np.ndarray) -> np.ndarray:
    """A 64 px image shown 4x with nearest neighbours, so pixels stay pixels."""
    from sr_demo.imaging import nearest_upscale

    return nearest_upscale(np.clip(img, 0, 1), 256 // img.shape[0])


def loss_figure(inv):
    import plotly.graph_objects as go

    fig = go.Figure(go.Scatter(x=list(range(1, len(inv.loss) + 1)), y=inv.loss, mode="lines"))
    fig.update_layout(height=260, margin=dict(l=50, r=10, t=40, b=40), xaxis_title="Adam iteration",
                      yaxis_title="loss", yaxis_type="log",
                      title=f"Inversion loss, {inv.codes} codes at layer {inv.layer}")
    return fig


@guarded
def run(state: dict | None, task: str, codes, layer: str, iters, zoo_name: str | None, request: gr.Request = None,
        progress=gr.Progress()):
    """Invert the shipped generator on the selected crop; bicubic and a zoo model beside it for SR."""
    from sr_demo.ganprior.prior import psnr_y, run_prior, shipped_generator

    crop = _crop(state)
    codes, iters = as_whole_number(codes, "The number of codes"), as_whole_number(iters, "Iterations")
    generator, card = shipped_generator()
    stop_flag = _fresh_stop_flag(request)
    res = run_prior(crop, task, codes, layer, iters, generator, progress=gradio_progress(progress),
                    should_stop=stop_flag.is_set)
    inv = res.inversion
    rows = [["GAN prior", round(res.psnr, 2), f"{inv.codes} codes at layer {inv.layer}, {inv.iters} iterations"]]
    pictures = [(_big(crop), "the crop (ground truth)")]
    if task == "sr":
        pictures.append((_big(res.observation), "LR input (16×16, shown with nearest neighbours)"))
        pictures.append((_big(res.bicubic), f"bicubic ×4: {res.bicubic_psnr:.2f} dB"))
        rows.append(["bicubic ×4", round(res.bicubic_psnr, 2), "MATLAB bicubic from the same LR"])
        if zoo_name and zoo_name != NO_MODEL:
            from sr_demo.api import super_resolve
            from sr_demo.models import get_model

            sr = np.clip(super_resolve(res.observation, get_model(zoo_name)).sr, 0, 1)
            value = psnr_y(sr, crop)
            pictures.append((_big(sr), f"{zoo_name}: {value:.2f} dB"))
            rows.append([zoo_name, round(value, 2), "zoo model on the same LR"])
    pictures.append((_big(inv.image), f"GAN prior, {inv.codes} codes: {res.psnr:.2f} dB"))
    stopped = f" Stopped at iteration {inv.iters} of {iters}, as asked." if inv.stopped else ""
    info = (f"{ganprior.TASKS[task].capitalize()} of the crop at {tuple(state['xy'])} in {inv.seconds:.1f} s; "
            f"perceptual term: {inv.perceptual}; generator trained {card.get('iterations', '?')} iterations "
            f"(models/{ganprior.GENERATOR}.md).{stopped}")
    return pictures, rows, loss_figure(inv), info


def codes_figure(curves: dict[str, list[float]], codes: tuple[int, ...], bicubic: float | None, task: str):
    import plotly.graph_objects as go

    fig = go.Figure([go.Scatter(x=list(codes[:len(v)]), y=v, mode="lines+markers", name=name)
                     for name, v in curves.items()])
    if bicubic is not None:
        fig.add_hline(y=bicubic, line_dash="dot", annotation_text=f"bicubic {bicubic:.2f} dB")
    fig.update_layout(height=300, margin=dict(l=50, r=10, t=40, b=40), xaxis_title="number of codes",
                      yaxis_title="PSNR-Y (dB) vs the crop", title=f"{ganprior.TASKS[task].capitalize()}: "
                      "PSNR against the number of codes (measured on this crop)")
    return fig


@guarded
def sweep(state: dict | None, task: str, layer: str, iters, control: bool, request: gr.Request = None,
          progress=gr.Progress()):
    """Measure PSNR for 1, 5, 10, 20 codes on this crop (and through the untrained control when asked)."""
    from sr_demo.ganprior.inversion import lr_of
    from sr_demo.ganprior.prior import (
        CODE_SWEEP,
        bicubic_up,
        psnr_vs_codes,
        psnr_y,
        shipped_generator,
        untrained_generator,
    )

    crop = _crop(state)
    iters = as_whole_number(iters, "Iterations")
    generators = {"trained generator": shipped_generator()[0]}
    if control:
        generators["untrained control"] = untrained_generator()
    stop_flag = _fresh_stop_flag(request)
    curves = psnr_vs_codes(crop, task, layer, iters, generators, progress=gradio_progress(progress),
                           should_stop=stop_flag.is_set)
    bicubic = psnr_y(bicubic_up(lr_of(crop)), crop) if task == "sr" else None
    return codes_figure(curves, CODE_SWEEP, bicubic, task)


def generator_card() -> tuple[str | None, str]:
    """The shipped generator's sample sheet and what its card says about it (no torch needed)."""
    import json

    from sr_demo.models.zoo import models_dir

    card_path = models_dir() / f"{ganprior.GENERATOR}.json"
    sheet = models_dir() / f"{ganprior.GENERATOR}-samples.png"
    if not card_path.is_file():
        return None, "No generator is shipped: run `python -m training.train_gan`, then `--export`."
    card = json.loads(card_path.read_text())
    diversity = card.get("diversity", {})
    text = (f"{card['narrowness']}\n\nSample sheet: {card['samples']}. Nearest-crop RMSE "
            f"{', '.join(f'{r:.3f}' for r in card['nearest_training_crop_rmse'])}. Diversity (per-pixel std "
            f"across 256 images): generated {diversity.get('generated')}, training crops "
            f"{diversity.get('training_crops')}. Full card: `models/{ganprior.GENERATOR}.md`.")
    return (str(sheet) if sheet.is_file() else None), text


def build() -> None:
    """Lay out the tab and wire its events."""
    state = gr.State(None, time_to_live=3600)
    with gr.Row():
        with gr.Column(scale=1):
            photo = upload_image(label="Photo", height=200, elem_id="ganprior-input")
            gr.Examples(components.example_paths("heldout"), inputs=photo,
                        label="Examples: held-out photos (never seen by the generator)")
            task = gr.Radio(TASK_CHOICES, value="sr", label="Task")
            codes = gr.Slider(1, ganprior.MAX_CODES, ganprior.DEFAULT_CODES, step=1, label="Latent codes",
                              elem_id="ganprior-ncodes")
            layer = gr.Dropdown(list(ganprior.LAYERS), value=ganprior.DEFAULT_LAYER,
                                label="Composing layer (side of its feature map, px)")
            iters = gr.Slider(10, 500, ganprior.DEFAULT_ITERS, step=10, label="Adam iterations",
                              elem_id="ganprior-iters")
            zoo_names = zoo_choices()
            zoo = gr.Dropdown(zoo_names, value=zoo_names[1] if len(zoo_names) > 1 else NO_MODEL,
                              label="Zoo model beside it (SR)")
            with gr.Row():
                go = gr.Button("Invert", variant="primary", elem_id="ganprior-run")
                halt = gr.Button("Stop", elem_id="ganprior-stop")
            gr.Markdown(NOTE)
            sheet, card_text = generator_card()
            with gr.Accordion("The generator: samples and their nearest training crops", open=False):
                if sheet:
                    gr.Image(sheet, show_label=False, interactive=False, elem_classes="pixelated")
                gr.Markdown(card_text)
        with gr.Column(scale=2):
            view = gr.Image(label="Click to place the 64×64 crop", format="png", interactive=False, height=360,
                            elem_id="ganprior-view", elem_classes="pixelated")
            info = gr.Markdown(elem_id="ganprior-info")
            gallery = gr.Gallery(label="Results (shown 4×)", format="png", columns=5, height=300,
                                 object_fit="contain", elem_id="ganprior-results", elem_classes="pixelated")
            table = gr.Dataframe(headers=TABLE_HEADERS, interactive=False, elem_id="ganprior-table")
            loss = gr.Plot(label="Loss", elem_id="ganprior-loss")
            with gr.Row():
                control = gr.Checkbox(True, label="also through an untrained generator (control)")
                measure = gr.Button("Measure PSNR against codes", elem_id="ganprior-sweep")
            curve = gr.Plot(label="PSNR against codes", elem_id="ganprior-codes")

    photo.change(load_photo, photo, [view, state, info], api_name="ganprior_load", concurrency_id="gpu",
                 concurrency_limit=1)
    view.select(place_crop, state, [view, state, info], show_progress="hidden")
    go.click(run, [state, task, codes, layer, iters, zoo], [gallery, table, loss, info], api_name="ganprior_run",
             concurrency_id="gpu", concurrency_limit=1)
    measure.click(sweep, [state, task, layer, iters, control], curve, api_name="ganprior_sweep",
                  concurrency_id="gpu", concurrency_limit=1)
    halt.click(stop, None, None, api_name="ganprior_stop", concurrency_id="ganprior-stop", concurrency_limit=None)
