"""LAM tab: click a window on the SR output, see which LR pixels each model used for it."""

from __future__ import annotations

from pathlib import Path

import gradio as gr
import numpy as np

from sr_demo.errors import UserError
from sr_demo.ui import components
from sr_demo.ui.components import upload_image
from sr_demo.ui.guard import gradio_progress, guarded
from sr_demo.ui.tabs.superres import add_checkpoint, model_choices, resolve_model

TAB_ID = "lam"
MAX_MODELS = 4
#: Preferred first model: learned ×4 networks light enough that LAM's batched backward passes stay quick on a CPU
#: (SPAN, a published bicubic-trained net; fsrcnn-x4, SR Lab's own, always shipped).
DEFAULT_MODELS = ("span-x4", "fsrcnn-x4")
#: Display height of the SR view (px) and the screen pixels the window outline should span there.
VIEW_HEIGHT, OUTLINE_SCREEN_PX, MIN_WINDOW_SCREEN_PX = 420, 3, 24
#: Rows of the attribution gallery are this tall (px): two square cells side by side in the wide column, so that
#: every model's row shows without an inner scroll.
GALLERY_ROW_PX = 440
PATH_CHOICES = [("progressive blur (LAM)", "blur"), ("straight line from the blurred image", "linear-blur"),
                ("straight line from black", "linear-black")]
CONTEXT_CHOICES = [("64×64 LR context around the window (DI comparable between images)", "context"),
                   ("whole image (exact; DI then depends on the image size)", "exact")]
TABLE_HEADERS = ["model", "DI", "50% radius", "90% radius", "receptive field", "canvas", "seconds", "device",
                 "note"]
NOTE = """**Reading the map.** LAM ([Gu & Dong, 2021](https://arxiv.org/abs/2011.11036)) asks which input pixels
made the SR output's edges inside the red window what they are: it integrates the gradient of the window's
edge strength along a path from a blurred copy of the input to the input itself. **Red** LR pixels mattered
most, **white** ones not at all (the green box is the window's own footprint). The **diffusion index** (DI,
0–100) says how widely that spreads over the LR canvas: low = a few pixels next to the window, high = many
pixels far away; the paper found that networks with a higher DI tend to reach a higher PSNR. The radii are the
rings around the window (in LR pixels) holding 50% and 90% of the attribution, next to the network's
theoretical receptive field, which is usually far larger than the range actually used. Networks marked in the
note column see a different input when cropped, so their map depends on the context."""


def _models(names: list[str] | None, uploads: dict | None) -> list:
    if not names:
        raise UserError("Pick at least one model.")
    if len(names) > MAX_MODELS:
        raise UserError(f"Pick at most {MAX_MODELS} models to compare.")
    models = [resolve_model(n, uploads or {}) for n in names]
    scales = sorted({m.scale for m in models})
    if len(scales) > 1:
        raise UserError(f"The selected models have different scales ({', '.join(f'×{s}' for s in scales)}); "
                        "pick models of one scale so that they share the window.")
    return models


def _window(state: dict, size: int) -> tuple[int, int, int]:
    """The window (x, y, size) centred on the chosen point, inside the output."""
    from sr_demo.lam.region import clamp_window

    h, w = state["sr"].shape[:2]
    cx, cy = state["center"]
    return clamp_window(round(cx - size / 2), round(cy - size / 2), int(size), h, w)


def default_model(choices: list[str]) -> list[str]:
    """A learned model first: LAM of an interpolation kernel only shows the kernel."""
    from sr_demo.ui.tabs.superres import default_models

    preferred = [n for n in DEFAULT_MODELS if n in choices] or default_models(1)
    return preferred[:1]


def example_paths() -> list[str]:
    return components.example_paths("lam")


def example_source(path: str | None) -> str:
    return f"Input: the bundled example `{Path(path).name}`." if path else ""


@guarded
def send_to_lam(results: dict | None):
    """The Super-resolve tab's LR comes over without a re-upload (the LAM tab then shows its SR)."""
    if not results:
        raise UserError("Super-resolve an image first.")
    return (results["lr"], "Input: the LR of the Super-resolve tab's last run.", gr.Tabs(selected=TAB_ID))


def _drawn(state: dict, size: int) -> np.ndarray:
    """The SR output with the window outlined about OUTLINE_SCREEN_PX screen pixels thick at the shown size,
    and, when the window is too small to find on screen, a second ring around it."""
    from sr_demo.lam import draw_box

    x, y, s = _window(state, size)
    image = state["sr"]
    per_screen_px = max(image.shape[0] / VIEW_HEIGHT, image.shape[1] / (VIEW_HEIGHT * 1.6), 1 / 8)
    edge = max(1, round(OUTLINE_SCREEN_PX * per_screen_px))
    out = draw_box(image, x, y, s, s, edge=edge, outside=True)
    ring = round(MIN_WINDOW_SCREEN_PX * per_screen_px)
    if s < ring:  # a locator ring around the window, so that a 16 px window in a big output can be found
        pad = (ring - s) // 2 + 2 * edge
        out = draw_box(out, x - pad, y - pad, s + 2 * pad, s + 2 * pad, edge=edge, rgb=(1.0, 0.85, 0.0))
    return out


@guarded
def show_sr(lr_path: str | None, names: list[str] | None, size: int, uploads: dict | None, state: dict | None):
    """Super-resolve the LR with the first model, to click on; keeps the window when the image stays."""
    from sr_demo.api import super_resolve
    from sr_demo.imaging import load_image

    if not lr_path:
        return None, None, "Upload an LR image."
    lr_image = load_image(lr_path)
    lr = lr_image.rgb
    model = _models(names, uploads)[0]
    sr = super_resolve(lr, model).sr
    same = state is not None and state["sr"].shape == sr.shape and np.array_equal(state["lr"], lr)
    center = state["center"] if same else (sr.shape[1] / 2, sr.shape[0] / 2)
    state = {"lr": lr, "scale": model.scale, "sr": sr, "center": center}
    notes = " ".join(f"({n})" for n in lr_image.notes)
    info = (f"LR {lr.shape[1]}×{lr.shape[0]} → ×{model.scale} by {model.name}. Click the output to place the "
            f"window and run LAM. {notes}").strip()
    return _drawn(state, size), state, info


@guarded
def place_window(state: dict | None, size: int, evt: gr.SelectData):
    """Centre the window where the user clicked (image pixels)."""
    if not state:
        raise UserError("Upload an LR image first.")
    x, y = evt.index
    state = {**state, "center": (float(x), float(y))}
    return _drawn(state, size), state


@guarded
def redraw(state: dict | None, size: int):
    return (_drawn(state, size) if state else None), state


def _row(r) -> list:
    rf = "unknown" if r.receptive_radius is None else round(r.receptive_radius, 2)
    canvas = f"{r.box[2]}×{r.box[3]} LR" + (" (whole image)" if r.mode == "exact" else "")
    return [r.model, round(r.di, 2), r.radii[0.5], r.radii[0.9], rf, canvas, round(r.seconds, 2), r.device,
            "; ".join(r.notes)]


def _shown_box(r) -> tuple[int, int, int, int]:
    """The part of the canvas to show (x, y, w, h in canvas LR px): all of it, except on a whole-image canvas
    larger than the 64 px context, where the map would be a speck: there a square around the footprint that
    holds the 90% radius twice over (at least 32 px)."""
    from sr_demo.lam import DEFAULT_CONTEXT

    h, w = r.map.shape[:2]
    if r.mode != "exact" or max(h, w) <= DEFAULT_CONTEXT:
        return 0, 0, w, h
    fx, fy, fw, fh = r.footprint  # relative to the canvas
    half = max(16, int(np.ceil(2 * r.radii[0.9])) + max(fw, fh) // 2)
    cx, cy = fx + fw // 2, fy + fh // 2
    x0, y0 = max(0, cx - half), max(0, cy - half)
    return x0, y0, min(w, cx + half) - x0, min(h, cy + half) - y0


def _pictures(r) -> list[tuple[np.ndarray, str]]:
    from sr_demo.lam import draw_box, heatmap, overlay
    from sr_demo.lam.render import FOOTPRINT_RGB

    fx, fy, fw, fh = r.footprint
    s = r.scale
    x0, y0, w, h = _shown_box(r)
    lam_map, lr = r.map[y0:y0 + h, x0:x0 + w], r.lr[y0:y0 + h, x0:x0 + w]
    where = "" if (w, h) == r.map.shape[1::-1] else f" ({w}×{h} LR px around the window)"

    def boxed(img):  # outside the footprint, so that it hides none of the map
        return draw_box(img, (fx - x0) * s, (fy - y0) * s, fw * s, fh * s, rgb=FOOTPRINT_RGB, outside=True)

    return [(boxed(overlay(lam_map, lr, s)), f"{r.model}: DI {r.di:.2f}{where}"),
            (boxed(heatmap(lam_map, s)), f"{r.model}: map")]


def di_figure(results: list):
    import plotly.graph_objects as go

    fig = go.Figure(go.Bar(x=[r.model for r in results], y=[r.di for r in results],
                           text=[f"{r.di:.2f}" for r in results], textposition="outside"))
    fig.update_layout(yaxis_title="diffusion index (0–100)", height=300, margin=dict(l=40, r=10, t=30, b=40),
                      yaxis_range=[0, 100],  # DI's own scale: an auto range makes 0.2 look diffuse
                      title="Diffusion index on the same window (0–100 scale)")
    return fig


def branch_figure(results: list, models: list):
    """Attention-branch weight per block for every A2N among `models` (None when there is none)."""
    import plotly.graph_objects as go

    from sr_demo.lam import branch_weights

    traces = []
    for r, model in zip(results, models):
        weights = branch_weights(model, r.lr)
        if weights is not None:
            traces.append(go.Bar(name=r.model, x=list(range(1, len(weights) + 1)), y=weights[:, 0].tolist()))
    if not traces:
        return None
    fig = go.Figure(traces)
    fig.update_layout(barmode="group", height=300, margin=dict(l=40, r=10, t=30, b=40), yaxis_range=[0, 1],
                      xaxis_title="attention-in-attention block", yaxis_title="weight of the attention branch",
                      title="A2N attention dropout on this canvas (1 − weight goes to the non-attention branch)")
    return fig


@guarded
def run_lam(state: dict | None, names: list[str] | None, size: int, fold: int, path: str, context: str,
            uploads: dict | None, progress=gr.Progress()):
    """LAM of every selected model for the current window."""
    from sr_demo.lam import DEFAULT_CONTEXT, compute_lam

    if not state:
        raise UserError("Upload an LR image first.")
    models = _models(names, uploads)
    if models[0].scale != state["scale"]:
        raise UserError("The models' scale changed: click the output again.")
    x, y, s = _window(state, size)
    update = gradio_progress(progress)
    results = []
    for i, model in enumerate(models):
        def step(fraction, text, i=i, name=model.name):
            update((i + fraction) / len(models), f"{name}: {text}")

        step(0.0, "starting")
        results.append(compute_lam(model, state["lr"], x, y, window=s, fold=int(fold), path=path,
                                   context=DEFAULT_CONTEXT if context == "context" else None, progress=step))
    gallery = [pic for r in results for pic in _pictures(r)]
    first = results[0]
    info = (f"Window {s}×{s} at ({x}, {y}) of the ×{first.scale} output; LR footprint "
            f"{first.footprint[2]}×{first.footprint[3]} px. Canvas: LR box {first.box[2]}×{first.box[3]} at "
            f"({first.box[0]}, {first.box[1]}); {first.fold} steps along the {path} path, fp32.")
    plot = gr.Plot(value=di_figure(results) if len(results) > 1 else None, visible=len(results) > 1)
    branches = branch_figure(results, models)
    gallery = gr.update(value=gallery, height=GALLERY_ROW_PX * len(results) + 60)  # every row shows, no inner scroll
    return gallery, [_row(r) for r in results], plot, gr.Plot(value=branches, visible=branches is not None), info


def build() -> dict:
    """Lay out the tab and wire its events; returns the components other tabs write into."""
    uploads = gr.State({}, time_to_live=3600)
    view = gr.State(None, time_to_live=3600)
    choices = model_choices()
    with gr.Row():
        with gr.Column(scale=1):
            lr_image = upload_image(label="LR input", height=220, elem_id="lam-input")
            source = gr.Markdown("Input: upload an LR image, pick an example, or send one from Super-resolve.",
                                 elem_id="lam-source")
            gr.Examples(example_paths(), inputs=lr_image, outputs=source, fn=example_source, run_on_click=True,
                        label="Examples: 64×64 LR crops (examples/LICENSES.md)")
            models = gr.Dropdown(choices, value=default_model(choices), multiselect=True, max_choices=MAX_MODELS,
                                 label=f"Models (up to {MAX_MODELS}, one scale)")
            with gr.Accordion("Community checkpoint", open=False):
                ckpt = gr.File(label=".safetensors or .pth (BasicSR layouts, or any architecture spandrel knows)",
                               file_types=[".safetensors", ".pth", ".pt", ".ckpt"], type="filepath")
                ckpt_info = gr.Markdown()
            size = gr.Slider(8, 64, 16, step=1, label="Window (output pixels)")
            fold = gr.Slider(5, 100, 50, step=1, label="Path steps (fold)")
            path = gr.Radio(PATH_CHOICES, value="blur", label="Integration path")
            context = gr.Radio(CONTEXT_CHOICES, value="context", label="Canvas")
            go = gr.Button("Run LAM", variant="primary")
            gr.Markdown(NOTE)
        with gr.Column(scale=2):
            sr_view = gr.Image(label="SR output: click to place the window", format="png", interactive=False,
                               height=420, elem_id="lam-sr", elem_classes="pixelated")
            info = gr.Markdown(elem_id="lam-info")
            gallery = gr.Gallery(label="Attribution per model", format="png", columns=2, height=GALLERY_ROW_PX + 60,
                                 object_fit="contain", elem_id="lam-maps", elem_classes="pixelated")
            table = gr.Dataframe(headers=TABLE_HEADERS, interactive=False, elem_id="lam-table",
                                 label="Diffusion index; radii and receptive field in LR pixels around the window")
            plot = gr.Plot(visible=False, label="DI by model", elem_id="lam-di")
            branches = gr.Plot(visible=False, label="A2N branch weights", elem_id="lam-branches")

    lam_inputs = [view, models, size, fold, path, context, uploads]
    lam_outputs = [gallery, table, plot, branches, info]
    ckpt.upload(add_checkpoint, [ckpt, uploads, models], [models, uploads, ckpt_info],
                concurrency_id="gpu", concurrency_limit=1)
    lr_image.upload(lambda: "Input: your upload.", None, source)
    gr.on([lr_image.change, models.change], show_sr, [lr_image, models, size, uploads, view],
          [sr_view, view, info], concurrency_id="gpu", concurrency_limit=1)
    # Instant redraws show no progress overlay: one would cover the image just when a click lands on it (typing a
    # size, then clicking the image, releases the slider on that same click).
    size.release(redraw, [view, size], [sr_view, view], show_progress="hidden")
    sr_view.select(place_window, [view, size], [sr_view, view], show_progress="hidden").success(
        run_lam, lam_inputs, lam_outputs, concurrency_id="gpu", concurrency_limit=1)
    go.click(run_lam, lam_inputs, lam_outputs, concurrency_id="gpu", concurrency_limit=1)
    return {"lr": lr_image, "source": source, "tab_id": TAB_ID}
