"""Degrade tab: an image, a preset or hand-set parameters, a seed -> a reproducible LR."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import gradio as gr
import numpy as np

from sr_demo.errors import UserError
from sr_demo.resources import repo_file
from sr_demo.ui.components import upload_image
from sr_demo.ui.guard import as_seed, guarded

SCALES = [2, 3, 4, 8, 16]
DEFAULT_PRESET = "blur+noise+jpeg"
EXAMPLES_DIR = repo_file("examples")


def example_paths() -> list[str]:
    return sorted(str(p) for p in EXAMPLES_DIR.glob("*.png"))


def spec_from_controls(pipeline, scale, blur_on, blur_kind, sigma, sigma_y, theta, ksize, downsample,
                       noise_on, noise_kind, level, gray, jpeg_on, quality, realesrgan=None):
    """The DegradationSpec the controls describe (validated)."""
    from sr_demo.degradations import BlurSpec, DegradationSpec, NoiseSpec, RealESRGANConfig

    try:
        spec = DegradationSpec(
            scale=int(scale), pipeline=pipeline,
            blur=BlurSpec(kind=blur_kind, sigma=float(sigma), sigma_y=float(sigma_y) if blur_kind == "aniso" else None,
                          theta=float(theta), size=int(ksize)) if blur_on else None,
            downsample=downsample,
            noise=NoiseSpec(kind=noise_kind, level=float(level), gray=bool(gray)) if noise_on else None,
            jpeg_quality=int(quality) if jpeg_on else None,
            realesrgan=realesrgan or RealESRGANConfig(),
        )
    except (TypeError, ValueError) as exc:
        raise UserError(f"Invalid degradation parameters: {exc}") from exc
    spec.validate()
    return spec


def controls_from_spec(spec) -> list:
    """Control values for `spec`, in the order of `spec_from_controls`'s arguments."""
    blur, noise = spec.blur, spec.noise
    return [
        spec.pipeline, spec.scale,
        blur is not None, blur.kind if blur else "iso", blur.sigma if blur else 2.0,
        (blur.sigma_y if blur and blur.sigma_y is not None else 2.0), blur.theta if blur else 0.0,
        blur.size if blur else 21, spec.downsample,
        noise is not None, noise.kind if noise else "gaussian", noise.level if noise else 20.0,
        noise.gray if noise else False,
        spec.jpeg_quality is not None, spec.jpeg_quality or 50,
    ]


def spec_text(spec) -> str:
    """The spec as the JSON box shows it: always indented, so the box keeps one shape."""
    return json.dumps(spec.to_dict(), indent=2)


def control_states(pipeline: str, blur_on: bool, noise_on: bool, jpeg_on: bool) -> list:
    """Which classic controls take effect: none under Real-ESRGAN (its ranges live in the JSON), and a
    stage's parameters only while its box is ticked. Order: the `stage_controls` of `build`."""
    classic = pipeline == "classic"

    def live(on: bool):
        return gr.update(interactive=classic and bool(on))

    return ([gr.update(interactive=classic)] * 4  # the three stage boxes and the down-sampling filter
            + [live(blur_on)] * 5 + [live(noise_on)] * 3 + [live(jpeg_on)])


@guarded
def apply_preset(preset: str, scale: int) -> list:
    from sr_demo.degradations import preset_spec

    spec = preset_spec(preset, int(scale))
    return controls_from_spec(spec) + [spec_text(spec)]


@guarded
def apply_json(text: str) -> list:
    """Load a pasted spec (bare, or a record with 'spec' and 'seed') into the controls."""
    from sr_demo.degradations import DegradationSpec

    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UserError(f"Spec is not valid JSON: {exc.msg} at line {exc.lineno}.") from exc
    if not isinstance(data, dict):
        raise UserError("Spec JSON must be an object.")
    seed = data.get("seed", 0)
    spec = DegradationSpec.from_dict(data.get("spec", data))
    spec.validate()
    return controls_from_spec(spec) + [spec_text(spec), seed]


def _spec_from_json_or_controls(spec_json: str, controls: list):
    """The Real-ESRGAN ranges live only in the JSON box; the classic parameters in the controls."""
    from sr_demo.degradations import DegradationSpec

    try:
        data = json.loads(spec_json or "{}")
        realesrgan = DegradationSpec.from_dict(data.get("spec", data)).realesrgan if data else None
    except (UserError, ValueError, TypeError, AttributeError):
        realesrgan = None  # an unparsable box falls back to the default ranges
    return spec_from_controls(*controls, realesrgan=realesrgan)


@guarded
def run_degrade(image_path, seed, spec_json, *controls, progress=gr.Progress()):
    """Degrade the uploaded image; return views, the record, notes, the session triple and a download."""
    from sr_demo.api import degrade
    from sr_demo.imaging import load_image, nearest_upscale, save_png

    if not image_path:
        raise UserError("Upload an image or pick an example first.")
    progress(0.1, desc="decoding")
    image = load_image(image_path)
    spec = _spec_from_json_or_controls(spec_json, list(controls))
    progress(0.4, desc="degrading")
    result = degrade(image.rgb, spec, as_seed(seed))
    record = result.record()
    out_dir = Path(tempfile.mkdtemp(prefix="srlab_degrade_"))
    lr_path = save_png(result.lr, out_dir / f"lr_x{spec.scale}_seed{result.seed}.png")
    (out_dir / "degradation.json").write_text(json.dumps(record, indent=2))
    notes = [f"Input: {Path(image_path).name}",  # an upload or an example keeps its file name
             f"HR {result.hr.shape[1]}×{result.hr.shape[0]} → LR {result.lr.shape[1]}×{result.lr.shape[0]} "
             f"(×{spec.scale}, seed {result.seed})"]
    if result.hr.shape[:2] != image.rgb.shape[:2]:
        notes.append(f"HR cropped from {image.size_text} to a multiple of {spec.scale}")
    notes += image.notes
    zoom = max(1, min(spec.scale, 1024 // max(result.lr.shape[:2])))
    triple = {"hr": result.hr, "lr": result.lr, "record": record}
    return (nearest_upscale(result.lr, zoom), result.lr, json.dumps(record, indent=2),
            "\n".join(f"- {n}" for n in notes), triple, [str(lr_path), str(out_dir / "degradation.json")])


def build() -> tuple[gr.State, gr.Button]:
    """Lay out the tab; returns the (HR, LR, record) state and the send button for the app to wire."""
    from sr_demo.degradations import PRESET_NAMES, preset_spec

    triple = gr.State(None, time_to_live=3600)
    with gr.Row():
        with gr.Column(scale=1):
            image = upload_image(label="HR image (upload, paste or pick an example)", height=320)
            gr.Examples(example_paths(), inputs=image, label="Bundled examples (see examples/LICENSES.md)")
            with gr.Row():
                preset = gr.Dropdown(list(PRESET_NAMES), value=DEFAULT_PRESET, label="Preset (RDSR test sets)")
                scale = gr.Dropdown(SCALES, value=4, label="Scale ×")
                seed = gr.Number(0, precision=0, minimum=0, label="Seed")
            with gr.Accordion("All parameters", open=False):
                pipeline = gr.Radio(["classic", "realesrgan"], value="classic", label="Pipeline",
                                    info="classic: blur → down-sample → noise → JPEG; realesrgan: second-order "
                                         "random pipeline, its ranges in the JSON below")
                with gr.Row():
                    blur_on = gr.Checkbox(True, label="Blur")
                    blur_kind = gr.Radio(["iso", "aniso"], value="iso", label="Kernel")
                    ksize = gr.Slider(3, 41, 21, step=2, label="Kernel size")
                with gr.Row():
                    sigma = gr.Slider(0.1, 20, 2.0, step=0.1, label="σ (σx)")
                    sigma_y = gr.Slider(0.1, 20, 2.0, step=0.1, label="σy (aniso)")
                    theta = gr.Slider(0, 180, 0, step=1, label="θ° (aniso)")
                downsample = gr.Radio(["bicubic", "bilinear", "area", "nearest"], value="bicubic",
                                      label="Down-sampling", info="bicubic is MATLAB imresize with antialiasing")
                with gr.Row():
                    noise_on = gr.Checkbox(True, label="Noise")
                    noise_kind = gr.Radio(["gaussian", "poisson"], value="gaussian", label="Noise type")
                    gray = gr.Checkbox(False, label="Grey noise")
                level = gr.Slider(0, 255, 20, step=0.5, label="Noise level (Gaussian σ in /255; Poisson scale)")
                with gr.Row():
                    jpeg_on = gr.Checkbox(True, label="JPEG")
                    quality = gr.Slider(1, 100, 50, step=1, label="JPEG quality")
            go = gr.Button("Degrade", variant="primary")
        with gr.Column(scale=1):
            notes = gr.Markdown()  # above the images: a small LR's true-size view is too short to sit beside text
            lr_zoom = gr.Image(label="LR, nearest-upscaled to show its pixels", format="png", interactive=False,
                               height=420)
            lr_true = gr.Image(label="LR at true size", format="png", interactive=False)
            send = gr.Button("Send HR + LR to Super-resolve →")
            files = gr.File(label="Download LR PNG and degradation record", file_count="multiple")
            spec_json = gr.Code(spec_text(preset_spec(DEFAULT_PRESET, 4)), language="json",
                                label="Degradation spec (edit and apply, or paste a record)", interactive=True,
                                lines=18, max_lines=18)  # one height for a spec and a long record alike
            apply = gr.Button("Apply JSON to the controls", size="sm")

    controls = [pipeline, scale, blur_on, blur_kind, sigma, sigma_y, theta, ksize, downsample,
                noise_on, noise_kind, level, gray, jpeg_on, quality]
    gr.on([preset.input, scale.input], apply_preset, [preset, scale], controls + [spec_json])
    stage_controls = [blur_on, noise_on, jpeg_on, downsample, blur_kind, ksize, sigma, sigma_y, theta,
                      noise_kind, level, gray, quality]
    gr.on([pipeline.change, blur_on.change, noise_on.change, jpeg_on.change], control_states,
          [pipeline, blur_on, noise_on, jpeg_on], stage_controls)
    apply.click(apply_json, spec_json, controls + [spec_json, seed])
    go.click(run_degrade, [image, seed, spec_json] + controls,
             [lr_zoom, lr_true, spec_json, notes, triple, files], concurrency_limit=2)
    return triple, send


@guarded
def send_to_sr(triple: dict | None):
    if not triple:
        raise UserError("Degrade an image first.")
    from sr_demo.ui.tabs.superres import TAB_ID

    return triple["lr"], triple["hr"], gr.Tabs(selected=TAB_ID)


def lr_matches(triple: dict | None, lr: np.ndarray) -> bool:
    """Is `lr` the LR of this triple (so its record describes it)?"""
    from sr_demo.imaging import to_uint8

    return bool(triple) and triple["lr"].shape == lr.shape and np.array_equal(to_uint8(triple["lr"]), to_uint8(lr))
