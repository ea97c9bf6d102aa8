"""Super-resolve tab: zoo models or an uploaded checkpoint, a before/after slider, a loupe."""

from __future__ import annotations

import dataclasses
import tempfile
from pathlib import Path

import gradio as gr
import numpy as np

from sr_demo.errors import UserError
from sr_demo.ui.components import example_paths, upload_image
from sr_demo.ui.guard import gradio_progress, guarded
from sr_demo.ui.tabs import dropout_study, model_guide

TAB_ID = "superresolve"
HR_LABEL = "HR reference"
LR_LABEL = "LR input (nearest)"
CAPTION_PX, CAPTION_BAND = 18, 28  # loupe captions: font size and the band under the crops (px)
TABLE_HEADERS = ["model", "scale", "PSNR-Y ↑", "SSIM-Y ↑", "PSNR-RGB ↑", "SSIM-RGB ↑", "seconds", "device",
                 "weights sha256"]
UPLOAD_PREFIX = "upload: "
LOUPE_SIZE = 48  # output px, the slider's default


def model_choices() -> list[str]:
    from sr_demo.models import available_entries

    return [entry.name for entry in available_entries()]


def model_items() -> list[tuple[str, str]]:
    """Dropdown (label, name) pairs: the available zoo, grouped by what each model was trained for."""
    from sr_demo.models import available_entries

    return model_guide.choices(available_entries())


#: first-run picks, in order of preference: the best fidelity model that runs in about a second on a
#: bundled example, then a blind real-world GAN model, so the first comparison shows the
#: perception-distortion trade-off (bicubic comes along as reference)
PREFERRED_DEFAULTS = ("span-x4", "srmdnf-x4", "rdn-medium-x4", "realesrgan-x4plus", "realsr-df2k-x4")


def default_models(limit: int = 2) -> list[str]:
    """At most `limit` learned ×4 models: one of each training target (bicubic, then real-world)
    from PREFERRED_DEFAULTS, filled up in zoo order; else bicubic-x4."""
    from sr_demo.models import available_entries

    learned = [e for e in available_entries() if e.group != "baseline" and e.scale == 4]
    rank = {name: i for i, name in enumerate(PREFERRED_DEFAULTS)}
    learned.sort(key=lambda e: rank.get(e.name, len(rank)))  # stable: zoo order after the preferred ones
    picks = [next(e for e in learned if e.group == group) for group in ("bicubic", "real-world")
             if any(e.group == group for e in learned)]
    picks += [e for e in learned if e not in picks]
    return [e.name for e in picks[:limit]] or ["bicubic-x4"]


@guarded
def add_checkpoint(file_path: str | None, uploads: dict | None, selected: list[str] | None):
    """Validate an uploaded checkpoint and offer it in the model list."""
    from sr_demo.models import get_uploaded_model

    if not file_path:
        raise UserError("Choose a .safetensors or .pth file first.")
    loaded = get_uploaded_model(file_path)
    label = f"{UPLOAD_PREFIX}{Path(file_path).stem} (×{loaded.scale}, {loaded.arch})"
    uploads = {**(uploads or {}), label: file_path}
    selected = [*(selected or []), label]
    choices = model_items() + [(label, label) for label in uploads]
    return (gr.Dropdown(choices=choices, value=selected, multiselect=True), uploads,
            f"Loaded **{label}**: {loaded.params:,} parameters, sha256 `{(loaded.sha256 or '')[:12]}…`. {loaded.notes}")


def resolve_model(name: str, uploads: dict):
    """A zoo name or an upload label of this session -> LoadedModel."""
    from sr_demo.models import get_model, get_uploaded_model

    if name.startswith(UPLOAD_PREFIX):
        if name not in uploads:
            raise UserError(f"{name} is no longer loaded in this session; upload it again.")
        return dataclasses.replace(get_uploaded_model(uploads[name]), name=name)
    return get_model(name)


@guarded
def run_sr(lr_path, hr_path, names, tile, uploads, triple, noise_level=None, progress=gr.Progress()):
    """Run every selected model on the LR image; score against the HR when there is one."""
    from sr_demo.api import super_resolve
    from sr_demo.bundle import write_bundle
    from sr_demo.imaging import load_image
    from sr_demo.ui.tabs.degrade import lr_matches

    if not lr_path:
        raise UserError("Upload an LR image, or degrade one in the Degrade tab and send it here.")
    if not names:
        raise UserError("Pick at least one model.")
    lr_image = load_image(lr_path)
    lr = lr_image.rgb
    hr = load_image(hr_path).rgb if hr_path else None
    models = [resolve_model(n, uploads or {}) for n in names]
    scales = sorted({m.scale for m in models})
    if len(scales) > 1:
        raise UserError(f"The selected models have different scales ({', '.join(f'×{s}' for s in scales)}); "
                        "pick models of one scale to compare them.")
    scale = scales[0]
    reference = f"bicubic-x{scale}"
    if reference not in names and reference in model_choices():
        models.insert(0, resolve_model(reference, {}))
    tile_arg = None if not tile else int(tile)
    outputs = {}
    for i, model in enumerate(models):
        def step(fraction, text, i=i, name=model.name):
            progress((i + fraction) / len(models), desc=f"{name}: {text}")

        progress(i / len(models), desc=f"running {model.name}")
        conditions = {"noise_level": float(noise_level)} if "noise_level" in model.inputs and noise_level is not None \
            else None
        outputs[model.name] = super_resolve(lr, model, hr=hr, tile=tile_arg, progress=step, conditions=conditions)
        if conditions:
            outputs[model.name].note = "; ".join(filter(None, [f"noise level σ={float(noise_level):g}",
                                                               outputs[model.name].note]))
    record = triple["record"] if lr_matches(triple, lr) else None
    bundle = write_bundle(Path(tempfile.mkdtemp(prefix="srlab_sr_")) / "sr_lab_result.zip",
                          lr=lr, hr=hr, degradation=record, results=list(outputs.values()))
    state = {"lr": lr, "hr": hr, "outputs": outputs, "scale": scale, "overview": list(outputs)[-1]}
    views = _view_names(state)
    left, right = views[0], state["overview"]
    info = [f"LR {lr.shape[1]}×{lr.shape[0]} → ×{scale}. " + " ".join(f"({n})" for n in lr_image.notes)]
    info += [f"**{r.model}**: {r.note}" for r in outputs.values() if r.note]
    if hr is None:
        info.append("No HR reference: PSNR/SSIM need one (degrade an image in the first tab, or upload its HR).")
    info.insert(0, "Input: the Degrade tab's LR (its record travels with the download)." if record is not None
                else "Input: an uploaded LR.")
    overview, strip = loupe_views(state, *textured_centre(_view(state, state["overview"]), LOUPE_SIZE), LOUPE_SIZE)
    return (_pair(state, left, right), gr.Dropdown(choices=views, value=left), gr.Dropdown(choices=views, value=right),
            metrics_table(outputs), overview, strip, str(bundle), "\n\n".join(info), state)


def _view_names(state: dict) -> list[str]:
    return [LR_LABEL, *state["outputs"], *([HR_LABEL] if state["hr"] is not None else [])]


def _view(state: dict, name: str) -> np.ndarray:
    from sr_demo.imaging import nearest_upscale

    if name == HR_LABEL and state["hr"] is not None:
        return state["hr"]
    if name == LR_LABEL:
        return nearest_upscale(state["lr"], state["scale"])
    if name in state["outputs"]:
        return state["outputs"][name].sr
    raise UserError(f"{name} is not among this run's outputs.")


def _pair(state: dict, left: str, right: str):
    a, b = _view(state, left), _view(state, right)
    if a.shape != b.shape:  # HR is mod-cropped to the scale, so sizes can differ by a pixel row
        h, w = min(a.shape[0], b.shape[0]), min(a.shape[1], b.shape[1])
        a, b = a[:h, :w], b[:h, :w]
    return a, b


@guarded
def compare(state: dict | None, left: str, right: str):
    if not state:
        raise UserError("Run a model first.")
    return _pair(state, left, right)


def metrics_table(outputs: dict) -> list[list]:
    def fmt(value):
        return "-" if value is None else round(float(value), 4)

    return [[r.model, f"×{r.scale}", fmt(r.metrics.get("psnr_y")), fmt(r.metrics.get("ssim_y")),
             fmt(r.metrics.get("psnr_rgb")), fmt(r.metrics.get("ssim_rgb")), round(r.seconds, 3), r.device,
             (r.sha256 or "builtin")[:12]] for r in outputs.values()]


def loupe_views(state: dict, fx: float, fy: float, size: int, tile: int = 192):
    """The overview with the loupe drawn on it, and one strip holding the same crop of every view.

    Crops are enlarged by pixel replication on the server, so the strip stays pixelated whatever
    the browser does when it scales the image.
    """
    base = _view(state, state["overview"])
    h, w = base.shape[:2]
    size = int(min(size, h, w))
    x0 = int(np.clip(round(fx * w - size / 2), 0, w - size))
    y0 = int(np.clip(round(fy * h - size / 2), 0, h - size))
    crops = [(_view(state, name)[y0:y0 + size, x0:x0 + size], name) for name in _view_names(state)]
    return _draw_box(base, x0, y0, size), loupe_strip(crops, tile)


def loupe_strip(crops: list[tuple[np.ndarray, str]], tile: int) -> np.ndarray:
    """Crops side by side, each enlarged to about `tile` px, captioned with its name."""
    from PIL import Image, ImageDraw, ImageFont

    from sr_demo.imaging import nearest_upscale, to_uint8

    size = crops[0][0].shape[0]
    zoom = max(1, round(tile / size))
    side, gap = size * zoom, 6
    font = ImageFont.load_default(size=CAPTION_PX)  # a scalable font stays legible when the browser shrinks
    canvas = Image.new("RGB", (len(crops) * (side + gap) - gap, side + CAPTION_BAND), "white")
    draw = ImageDraw.Draw(canvas)
    for i, (crop, name) in enumerate(crops):
        x = i * (side + gap)
        canvas.paste(Image.fromarray(to_uint8(nearest_upscale(crop, zoom))), (x, 0))
        draw.text((x + 2, side + 4), _fit(name, font, side - 4), fill="black", font=font)
    return np.asarray(canvas, dtype=np.float32) / 255.0


def _fit(text: str, font, width: int) -> str:
    """`text`, shortened with an ellipsis to fit `width` px in `font`."""
    if font.getlength(text) <= width:
        return text
    while text and font.getlength(text + "…") > width:
        text = text[:-1]
    return text + "…"


def textured_centre(image: np.ndarray, size: int) -> tuple[float, float]:
    """(fx, fy) of the `size`-px square with the most gradient energy, on a half-size stride: a first loupe
    on a flat patch shows nothing."""
    gray = np.asarray(image, dtype=np.float64).mean(axis=2)
    energy = np.zeros_like(gray)
    energy[:, 1:] += np.abs(np.diff(gray, axis=1))
    energy[1:, :] += np.abs(np.diff(gray, axis=0))
    h, w = gray.shape
    size = int(min(size, h, w))
    total = np.pad(energy.cumsum(0).cumsum(1), ((1, 0), (1, 0)))
    step = max(1, size // 2)
    ys, xs = np.arange(0, h - size + 1, step), np.arange(0, w - size + 1, step)
    sums = (total[ys[:, None] + size, xs[None, :] + size] - total[ys[:, None], xs[None, :] + size]
            - total[ys[:, None] + size, xs[None, :]] + total[ys[:, None], xs[None, :]])
    iy, ix = np.unravel_index(int(np.argmax(sums)), sums.shape)
    return (xs[ix] + size / 2) / w, (ys[iy] + size / 2) / h


def _draw_box(image: np.ndarray, x0: int, y0: int, size: int) -> np.ndarray:
    out = image.copy()
    edge = max(1, min(image.shape[:2]) // 200)
    red = np.array([1.0, 0.1, 0.1], dtype=out.dtype)
    out[y0:y0 + edge, x0:x0 + size] = red
    out[y0 + size - edge:y0 + size, x0:x0 + size] = red
    out[y0:y0 + size, x0:x0 + edge] = red
    out[y0:y0 + size, x0 + size - edge:x0 + size] = red
    return out


@guarded
def move_loupe(state: dict | None, size: int, evt: gr.SelectData):
    """Centre the loupe where the user clicked on the overview (the last model's output)."""
    if not state:
        raise UserError("Run a model first.")
    base = _view(state, state["overview"])
    x, y = evt.index
    centre = (x / base.shape[1], y / base.shape[0])
    return (*loupe_views(state, *centre, int(size)), centre)


@guarded
def resize_loupe(state: dict | None, size: int, centre: tuple[float, float] | None = None):
    """The loupe at the slider's size, where it was (after a new run: on the most textured patch)."""
    if not state:
        return gr.skip()  # nothing shown yet: the slider waits for the first run
    centre = centre or textured_centre(_view(state, state["overview"]), int(size))
    return (*loupe_views(state, *centre, int(size)), centre)


@guarded
def estimate(lr_path, names, triple):
    """Before a run: warn about slow models on big images; prefill the noise level from the Degrade tab."""
    from sr_demo.imaging import load_image
    from sr_demo.ui.tabs.degrade import lr_matches

    takes_noise = any(model_guide.takes_noise_level(n) for n in names or [])
    if not lr_path:
        return "", gr.update(visible=takes_noise)
    lr = load_image(lr_path).rgb
    note = model_guide.estimate_note(list(names or []), lr.shape[0], lr.shape[1])
    sigma = model_guide.noise_from_record(triple["record"]) if lr_matches(triple, lr) else None
    return note, gr.update(visible=takes_noise) if sigma is None else gr.update(value=sigma, visible=takes_noise)


def build(triple: gr.State | None = None) -> dict:
    """Lay out the tab; returns the components other tabs write into."""
    uploads = gr.State({}, time_to_live=3600)
    results = gr.State(None, time_to_live=3600)
    triple = triple if triple is not None else gr.State(None)
    with gr.Row():
        with gr.Column(scale=1):
            lr_image = upload_image(label="LR input", height=260)
            gr.Examples(example_paths("lam"), inputs=lr_image, label="Examples: 64×64 LR crops (examples/LICENSES.md)")
            hr_image = upload_image(label="HR (optional: PSNR/SSIM)", height=200)
            models = gr.Dropdown(model_items(), value=default_models(), multiselect=True,
                                 label="Models (bicubic at the same scale is added as reference)")
            speed_note = gr.Markdown(elem_id="sr-speed-note")
            noise_level = gr.Slider(0, 75, 10, step=1, label="Noise level σ (0-255) for non-blind models (SRMD)",
                                    visible=any(model_guide.takes_noise_level(n) for n in default_models()),
                                    info="SRMD is told the noise level instead of guessing it; filled in from the "
                                         "Degrade tab's spec when the image came from there. Its blur-kernel "
                                         "input is fixed to the one vector the published package ships.")
            with gr.Accordion("Community checkpoint", open=False):
                ckpt = gr.File(label=".safetensors or .pth (BasicSR layouts, or any architecture spandrel knows)",
                               file_types=[".safetensors", ".pth", ".pt", ".ckpt"], type="filepath")
                ckpt_info = gr.Markdown()
            tile = gr.Number(0, precision=0, minimum=0, maximum=4096, label="Tile size in LR px (0 = automatic)")
            go = gr.Button("Super-resolve", variant="primary")
            info = gr.Markdown()
            loupe_size = gr.Slider(8, 256, 48, step=8, label="Loupe size (output px)")
            overview = gr.Image(label="Click to move the loupe", format="png", interactive=False, height=300,
                                elem_id="sr-overview")
        with gr.Column(scale=2):
            with gr.Row():
                left = gr.Dropdown([], label="Left of the slider")
                right = gr.Dropdown([], label="Right of the slider")
            slider = gr.ImageSlider(label="Before / after", format="png", type="numpy", max_height=640,
                                    buttons=["download", "fullscreen"])
            table = gr.Dataframe(headers=TABLE_HEADERS, elem_id="sr-scores", label="Scores (SR protocol: border of "
                                 "`scale` px cropped; Y is BT.601 16-235)", interactive=False)
            gr.Markdown("**Loupe**: the same crop of every view, pixels enlarged (click the overview to move it)")
            loupe = gr.Image(show_label=False, format="png", interactive=False, elem_id="sr-loupe")
            with gr.Row():
                to_lam = gr.Button("Send the LR to LAM →", size="sm")
                to_score = gr.Button("Score these outputs →", size="sm")
            bundle = gr.File(label="Download everything (PNGs, spec, seed, scores, weights sha256)")
    with gr.Accordion("Model guide: what each model was trained for", open=False):
        gr.Markdown(model_guide.guide_markdown())
    dropout_study.build(hr_image)

    ckpt.upload(add_checkpoint, [ckpt, uploads, models], [models, uploads, ckpt_info],
                concurrency_id="gpu", concurrency_limit=1)
    gr.on([lr_image.change, models.change], estimate, [lr_image, models, triple], [speed_note, noise_level])
    run = go.click(run_sr, [lr_image, hr_image, models, tile, uploads, triple, noise_level],
             [slider, left, right, table, overview, loupe, bundle, info, results],
             concurrency_id="gpu", concurrency_limit=1)
    gr.on([left.input, right.input], compare, [results, left, right], slider)
    loupe_at = gr.State(None)
    # instant redraws: no progress overlay to blank the loupe (or catch a click on the overview)
    overview.select(move_loupe, [results, loupe_size], [overview, loupe, loupe_at], show_progress="hidden")
    run.then(resize_loupe, [results, loupe_size], [overview, loupe, loupe_at],  # a new run: a textured patch
             show_progress="hidden")
    loupe_size.release(resize_loupe, [results, loupe_size, loupe_at], [overview, loupe, loupe_at],
                       show_progress="hidden")
    return {"lr": lr_image, "hr": hr_image, "results": results, "to_lam": to_lam, "to_score": to_score}
