"""Score tab: every metric of the table on a set of images, where metrics disagree, and why.

The reference is an upload or the Super-resolve tab's HR; the images are
uploads plus every output of the Super-resolve tab (they come over when it
runs). Beside the table: a bar chart per metric, Kendall tau between metrics
(meaningless under 8 images, and said so), the shift demo (PSNR/SSIM punish a
pixel of misalignment, SWDN is built not to), "you judge" (which metric
agrees with your own choices) and the perception–distortion view (zoo models
on one image, a distortion measure against a perceptual one; computed in
sr_demo.iqa.perception_distortion).
"""

from __future__ import annotations

import functools
import math
import random
from pathlib import Path

import gradio as gr
import numpy as np

from sr_demo.errors import UserError
from sr_demo.ui.components import upload_image
from sr_demo.ui.guard import guarded

TAB_ID = "score"
MIN_IMAGES_FOR_AGREEMENT = 8
SHIFT_METRICS = ("psnr_y", "ssim_y", "swdn")
SHIFT_MAX = 4
JUDGE_ROUNDS = 5


def metric_choices() -> list[tuple[str, str]]:
    from sr_demo.iqa import METRICS

    return [(f"{m.label} {m.arrow}" + (" (needs internet on first use)" if m.needs_download else ""), n)
            for n, m in METRICS.items()]


def default_metrics() -> list[str]:
    from sr_demo.iqa import DEFAULT_METRICS

    return [n for n in DEFAULT_METRICS if not n.endswith("_rgb")]


def conventions_markdown(names: list[str] | None = None) -> str:
    """One line per metric: direction, range, input convention, source."""
    from sr_demo.iqa import METRICS
    from sr_demo.iqa.niqe import load_model

    lines = ["| metric | better | range | convention | source |", "|---|---|---|---|---|"]
    for n in names or list(METRICS):
        m = METRICS[n]
        convention = m.convention
        if n == "niqe":
            try:
                convention += f" (corpus: {load_model()['corpus']})"
            except UserError:
                pass
        if n == "swdn":
            convention += f"; {swdn_label()}"
        better = "lower ↓" if m.lower_better else "higher ↑"
        kind = "" if m.full_reference else " (no-reference)"
        download = " — needs internet on first use" if m.needs_download else ""
        lines.append(f"| {m.label}{kind} | {better} | {m.range_text} | {convention}{download} | {m.citation} |")
    return "\n".join(lines)


def swdn_label() -> str:
    """What the shipped SWDN weights are, from their card (written by training/evaluate_swdn.py)."""
    import json

    from sr_demo.models.zoo import models_dir

    card = models_dir() / "swdn-inhouse.json"
    if not card.is_file():
        return "in-house weights, not PIPAL-trained (no card found)"
    return json.loads(card.read_text())["label"]


def shift_evidence() -> str:
    """The measured shift tolerance from the SWDN card, so the demo's claim is a number, not a promise."""
    import json

    from sr_demo.models.zoo import models_dir

    card = models_dir() / "swdn-inhouse.json"
    if not card.is_file():
        return ""
    ev = json.loads(card.read_text())["evaluation"]
    parts = [f"{name} {ev[name]['shift_ratio']:.0%}" for name in ("swdn", "maxpool", "nowarp", "PSNR-Y", "SSIM-Y")
             if name in ev]
    return ("Measured on held-out photos (models/swdn-inhouse.md): a 1-px shift changes each score by this share "
            "of the change JPEG quality 90 causes — " + ", ".join(parts) + " (maxpool, nowarp: SWDN ablations).")


@guarded
def receive_sr(results: dict | None):
    """Take the Super-resolve tab's outputs (images to score), its HR (reference) and its scale (border crop).

    The HR was mod-cropped to the scale for scoring there; the same crop is applied here and said.
    """
    if not results or not results.get("outputs"):
        return gr.update(), None, "", gr.update()
    outputs = {name: r.sr for name, r in results["outputs"].items()}
    hr, scale = results.get("hr"), int(results.get("scale") or 0)
    info = f"Input: {len(outputs)} output(s) of the Super-resolve tab (×{scale}), ready to score"
    if hr is None:
        return gr.update(), {"hr": None, "outputs": outputs}, info + "; it had no HR: upload a reference.", scale
    h, w = next(iter(outputs.values())).shape[:2]
    if hr.shape[:2] != (h, w) and 0 <= hr.shape[0] - h < max(scale, 1) and 0 <= hr.shape[1] - w < max(scale, 1):
        info += (f"; the reference is its HR, mod-cropped from {hr.shape[1]}×{hr.shape[0]} to {w}×{h} as the SR "
                 "protocol does.")
        hr = hr[:h, :w]
        return hr, {"hr": hr, "outputs": outputs}, info, scale
    return hr, {"hr": hr, "outputs": outputs}, info + "; the reference is its HR.", scale


@guarded
def send_to_score(results: dict | None):
    """Open this tab: the Super-resolve tab's outputs are already here (they come over when it runs)."""
    if not results:
        raise UserError("Super-resolve an image first.")
    return gr.Tabs(selected=TAB_ID)


def _collect(ref_path, uploads, sr_outputs, crop_common: bool):
    from sr_demo.imaging import load_image
    from sr_demo.iqa.inputs import crop_to_common

    if ref_path:
        ref = load_image(ref_path).rgb
    elif sr_outputs and sr_outputs.get("hr") is not None:
        ref = sr_outputs["hr"]
    else:
        raise UserError("Give a reference image (upload one, or super-resolve a degraded image first).")
    images: dict[str, np.ndarray] = {}
    for name, sr in ((sr_outputs or {}).get("outputs") or {}).items():
        images[name] = sr
    for path in uploads or []:
        path = getattr(path, "name", path)
        images[_unique(images, Path(path).name)] = load_image(path).rgb
    if not images:
        raise UserError("Add at least one image to score (upload, or run the Super-resolve tab).")
    h, w = ref.shape[:2]
    for name, img in images.items():
        if img.shape != ref.shape:
            if not crop_common:
                raise UserError(f"{name} is {img.shape[1]}×{img.shape[0]} but the reference is {w}×{h}. "
                                "Scores compare pixel by pixel and are never computed on a silent resize: "
                                "tick 'crop to common size' to compare the common top-left region.")
            h, w = min(h, img.shape[0]), min(w, img.shape[1])
    if crop_common:
        images = {n: crop_to_common(img, ref[:h, :w])[0] for n, img in images.items()}
        ref = ref[:h, :w]
    return ref, images


def _unique(existing: dict, name: str) -> str:
    candidate, i = name, 2
    while candidate in existing:
        candidate, i = f"{name} ({i})", i + 1
    return candidate


@guarded
def run_scores(ref_path, uploads, sr_outputs, metrics, crop_border, crop_common, progress=gr.Progress()):
    """Score every image with every chosen metric; table, charts, agreement, and the state the demos use."""
    from sr_demo.iqa import METRICS, score

    if not metrics:
        raise UserError("Pick at least one metric.")
    ref, images = _collect(ref_path, uploads, sr_outputs, bool(crop_common))
    crop = int(crop_border or 0)
    scores: dict[str, dict[str, float]] = {}
    problems: dict[str, str] = {}
    for i, (name, img) in enumerate(images.items()):
        progress(i / len(images), desc=f"scoring {name}")
        scores[name] = {}
        for m in metrics:
            try:
                scores[name][m] = score(m, img, ref, crop)
            except UserError as exc:  # one metric that cannot score this input must not hide the others
                problems[m] = str(exc)
    metrics = [m for m in metrics if m not in problems]
    if not metrics:
        raise UserError(" ".join(problems.values()))
    state = {"ref": ref, "images": images, "scores": scores, "metrics": metrics, "crop": crop}
    headers = ["image"] + [f"{METRICS[m].label} {METRICS[m].arrow}" for m in metrics]
    rows = [[name] + [_fmt(scores[name][m]) for m in metrics] for name in images]
    figure, warning = agreement_figure(state)
    warning += "".join(f"\n\n⚠️ **{METRICS[m].label} left out:** {why}" for m, why in problems.items())
    names = list(images)
    return (gr.Dataframe(value=rows, headers=headers), bar_figure(state), figure, warning,
            conventions_markdown(list(metrics)), gr.Dropdown(choices=names, value=names[0]), state,
            *judge_start(state))


def _fmt(value: float) -> float | str:
    return "∞" if math.isinf(value) else round(float(value), 4)


def bar_figure(state: dict):
    """One bar chart per metric, images on the x axis, the best bar outlined."""
    from plotly.subplots import make_subplots

    from sr_demo.iqa import METRICS

    metrics, names = state["metrics"], list(state["images"])
    cols = min(3, len(metrics))
    rows = math.ceil(len(metrics) / cols)
    fig = make_subplots(rows=rows, cols=cols, subplot_titles=[
        f"{METRICS[m].label} {METRICS[m].arrow}" for m in metrics], vertical_spacing=0.5 / rows)
    for k, m in enumerate(metrics):
        values = [state["scores"][n][m] for n in names]
        finite = [v for v in values if math.isfinite(v)]
        cap = (max(finite) if finite else 1.0)
        shown = [v if math.isfinite(v) else cap for v in values]
        best = (min if METRICS[m].lower_better else max)(range(len(values)), key=lambda i: values[i])
        fig.add_bar(x=names, y=shown, row=k // cols + 1, col=k % cols + 1, showlegend=False,
                    text=[_fmt(v) for v in values], textposition="auto",
                    marker_line_width=[3 if i == best else 0 for i in range(len(names))],
                    marker_line_color="black")
    fig.update_layout(height=280 * rows + 40, margin=dict(l=30, r=10, t=80, b=30))
    return fig


def agreement_figure(state: dict):
    import plotly.graph_objects as go

    from sr_demo.iqa import METRICS

    n = len(state["images"])
    if len(state["metrics"]) < 2:
        return None, "Pick two or more metrics to see whether they agree."
    from sr_demo.iqa.agreement import metric_agreement

    metrics = state["metrics"]
    tau = metric_agreement({name: state["scores"][name] for name in state["images"]}, metrics)
    labels = [METRICS[m].label for m in metrics]
    fig = go.Figure(go.Heatmap(z=tau, x=labels, y=labels, zmin=-1, zmax=1, colorscale="RdBu",
                               text=np.round(tau, 2), texttemplate="%{text}"))
    fig.update_layout(height=120 + 40 * len(labels), margin=dict(l=10, r=10, t=30, b=10),
                      title=f"Kendall τ between metrics over {n} images (+1: same ranking)")
    if n < MIN_IMAGES_FOR_AGREEMENT:
        warning = (f"⚠️ **Only {n} image(s): this matrix is meaningless.** Rank agreement needs at least "
                   f"{MIN_IMAGES_FOR_AGREEMENT} scored images (e.g. the zoo's outputs on one input).")
    else:
        warning = f"Kendall τ over {n} images; each metric oriented so that higher means better."
    return fig, warning


@guarded
def shift_demo(state: dict | None, name: str | None, shift: int):
    """PSNR-Y, SSIM-Y and SWDN of one image moved 0..4 px right against the reference (sr_demo.iqa.shift)."""
    import plotly.graph_objects as go

    from sr_demo.iqa import METRICS
    from sr_demo.iqa.shift import quality_lost_curve, shift_curves

    if not state:
        raise UserError("Score some images first.")
    img = state["images"].get(name) if name else next(iter(state["images"].values()))
    if img is None:
        raise UserError(f"{name} is not among the scored images.")
    curves, skipped = shift_curves(img, state["ref"], SHIFT_METRICS, SHIFT_MAX, state["crop"])
    for m, why in skipped.items():
        gr.Warning(f"{METRICS[m].label} left out of the shift demo: {why}")
    fig = go.Figure()
    for m, values in curves.items():
        fig.add_scatter(x=list(range(SHIFT_MAX + 1)), y=quality_lost_curve(m, values), mode="lines+markers",
                        name=METRICS[m].label)
    fig.add_vline(x=int(shift), line_dash="dot")
    fig.update_layout(height=320, xaxis_title="shift (px)", yaxis_title="quality lost vs. no shift (%)",
                      margin=dict(l=40, r=10, t=30, b=40))
    s = int(shift)
    rows = [[METRICS[m].label + " " + METRICS[m].arrow, _fmt(curves[m][0]), _fmt(curves[m][s])] for m in curves]
    return fig, gr.Dataframe(value=rows, headers=["metric", "no shift", f"shifted {s} px"])


def judge_start(state: dict):
    """New pairs for 'you judge': (image A, image B, prompt, judge state)."""
    names = list(state["images"])
    if len(names) < 2:
        return None, None, "Score at least two images to judge them.", None
    rng = random.Random(len(names))
    pairs = [tuple(rng.sample(names, 2)) for _ in range(JUDGE_ROUNDS)]
    judge = {"pairs": pairs, "round": 0, "agree": {m: 0 for m in state["metrics"]}, "done": 0}
    a, b = pairs[0]
    return state["images"][a], state["images"][b], _judge_prompt(judge), judge


def _judge_prompt(judge: dict) -> str:
    return f"Round {judge['round'] + 1} of {len(judge['pairs'])}: which looks better, A or B?"


@guarded
def judge_pick(state: dict | None, judge: dict | None, choice: str):
    """Record the user's pick; after each one show how often each metric agreed with them."""
    from sr_demo.iqa import METRICS

    if not state or not judge:
        raise UserError("Score at least two images first.")
    if judge["round"] >= len(judge["pairs"]):
        raise UserError("All rounds are done: score again for new pairs.")
    a, b = judge["pairs"][judge["round"]]
    winner, loser = (a, b) if choice == "A" else (b, a)
    agree = dict(judge["agree"])
    for m in agree:
        won, lost = state["scores"][winner][m], state["scores"][loser][m]
        agree[m] += int((won < lost) if METRICS[m].lower_better else (won > lost))
    judge = {**judge, "agree": agree, "round": judge["round"] + 1, "done": judge["done"] + 1}
    rows = sorted(([METRICS[m].label, f"{k}/{judge['done']}"] for m, k in judge["agree"].items()),
                  key=lambda r: -int(r[1].split("/")[0]))
    table = gr.Dataframe(value=rows, headers=["metric", "agreed with you"])
    if judge["round"] >= len(judge["pairs"]):
        return gr.update(), gr.update(), _verdict(judge), judge, table
    a, b = judge["pairs"][judge["round"]]
    return state["images"][a], state["images"][b], _judge_prompt(judge), judge, table


def pd_metric_choices(names: tuple[str, ...]) -> list[tuple[str, str]]:
    from sr_demo.iqa import METRICS

    return [(f"{METRICS[n].label} {METRICS[n].arrow}", n) for n in names]


@guarded
def pd_models_for_scale(scale):
    """The model checkboxes for a new scale: every model available at it, the default ones ticked."""
    from sr_demo.iqa import perception_distortion as pd

    return gr.CheckboxGroup(choices=pd.candidates(int(scale)), value=pd.default_models(int(scale)))


@guarded
def run_perception_distortion(image_path, scale, models, x_metric, y_metric, progress=gr.Progress()):
    """Every picked zoo model on one image, then the scatter and the rankings (sr_demo.iqa.perception_distortion)."""
    from sr_demo.imaging import load_image
    from sr_demo.iqa import perception_distortion as pd

    if not image_path:
        raise UserError("Give an HR image for the perception–distortion view.")
    study = pd.run_models(load_image(image_path).rgb, int(scale), list(models or []),
                          progress=lambda f, desc: progress(f, desc=desc))
    return (*perception_distortion_view(study, x_metric, y_metric), study)


@guarded
def replot_perception_distortion(study, x_metric, y_metric):
    """New axes for the models already run (each metric scored once, kept in the study)."""
    if study is None:
        raise UserError("Run the models first.")
    return (*perception_distortion_view(study, x_metric, y_metric), study)


def perception_distortion_view(study, x_metric: str, y_metric: str):
    """(scatter of y against x, one point per model; rankings of every scored metric side by side; note)."""
    import plotly.graph_objects as go

    from sr_demo.iqa import METRICS
    from sr_demo.iqa import perception_distortion as pd
    from sr_demo.models import GROUP_TITLES

    pd.add_scores(study, [x_metric, y_metric, *pd.RANKED])
    for m in (x_metric, y_metric):
        if m in study.skipped:
            raise UserError(f"{METRICS[m].label} cannot score these outputs: {study.skipped[m]}")
    names = list(study.outputs)
    fig = go.Figure()
    for group in dict.fromkeys(study.groups[n] for n in names):
        members = [n for n in names if study.groups[n] == group]
        fig.add_scatter(x=[study.scores[n][x_metric] for n in members], y=[study.scores[n][y_metric] for n in members],
                        mode="markers+text", text=members, textposition="top center", name=GROUP_TITLES[group],
                        marker=dict(size=11))
    x_spec, y_spec = METRICS[x_metric], METRICS[y_metric]
    fig.update_layout(height=420, margin=dict(l=50, r=10, t=40, b=50), legend=dict(orientation="h", y=-0.2),
                      xaxis_title=f"{x_spec.label} {x_spec.arrow} (distortion)",
                      yaxis_title=f"{y_spec.label} {y_spec.arrow} (perceptual)",
                      title=f"{len(names)} models, ×{study.scale}, on one {study.hr.shape[1]}×{study.hr.shape[0]} image")
    scored = [m for m in METRICS if m in next(iter(study.scores.values()))]
    ranks = {m: pd.ranking(study, m) for m in scored}
    table = gr.Dataframe(value=[[i + 1] + [ranks[m][i] for m in scored] for i in range(len(names))],
                         headers=["rank"] + [f"{METRICS[m].label} {METRICS[m].arrow}" for m in scored])
    note = (f"LR: MATLAB-bicubic ×{study.scale} down-sampling of the HR; scores crop {study.scale} border px. "
            + "".join(f"Input: {n}. " for n in study.notes))
    if len(names) >= 3:
        note += (f"Kendall τ between the {x_spec.label} and {y_spec.label} rankings: "
                 f"{pd.rank_agreement(study, x_metric, y_metric):+.2f} (+1 same order, −1 reversed). ")
    note += "".join(f"{METRICS[m].label} left out: {why} " for m, why in study.skipped.items())
    return fig, table, note


def _verdict(judge: dict) -> str:
    """Who agreed with the user most often; a tie is named as one."""
    from sr_demo.iqa import METRICS

    best = max(judge["agree"].values())
    top = [METRICS[m].label for m, k in judge["agree"].items() if k == best]
    if len(top) == len(judge["agree"]) > 1:
        return f"Done: every metric agreed with you equally often ({best}/{judge['done']})."
    if len(top) > 1:
        return f"Done: {', '.join(top[:-1])} and {top[-1]} tie, each agreeing with you {best}/{judge['done']} times."
    return f"Done: {top[0]} agreed with you most often ({best}/{judge['done']})."


def build(sr_results: gr.State | None = None) -> None:
    """Lay out the tab; `sr_results` is the Super-resolve tab's results state (its outputs come over)."""
    sr_outputs = gr.State(None, time_to_live=3600)
    scored = gr.State(None, time_to_live=3600)
    judge = gr.State(None, time_to_live=3600)
    with gr.Row():
        with gr.Column(scale=1):
            ref_image = upload_image(label="Reference (HR)", height=220,  # a long label overlaps the image
                                     elem_id="score-ref")
            uploads = gr.File(label="Images to score (uploads)", file_count="multiple", file_types=["image"],
                              type="filepath", elem_id="score-uploads")
            sr_info = gr.Markdown("Outputs of the Super-resolve tab appear here when it runs.")
            metrics = gr.CheckboxGroup(metric_choices(), value=default_metrics(), label="Metrics")
            with gr.Row():
                crop_border = gr.Number(0, precision=0, minimum=0, maximum=64,
                                        label="Border crop (px; SR papers crop the scale)")
                crop_common = gr.Checkbox(False, label="crop to common size if sizes differ")
            go = gr.Button("Score", variant="primary")
        with gr.Column(scale=2):
            table = gr.Dataframe(label="Scores (arrow: which way is better)", interactive=False,
                                 elem_id="score-table")
            bars = gr.Plot(label="One bar chart per metric (best outlined)", elem_id="score-bars")
            agree_note = gr.Markdown()
            agree = gr.Plot(label="Rank agreement", elem_id="score-agreement")
    with gr.Accordion("Each metric's convention", open=False):
        notes = gr.Markdown(conventions_markdown(default_metrics()))
    with gr.Accordion("Shift demo: one pixel of misalignment", open=True):
        gr.Markdown("Slide the scored image 0–4 px against the reference (its last columns repeated to keep its "
                    "size; the SR border crop hides them, and no shift equals the table). PSNR and SSIM "
                    "compare pixels at the same place, so they fall; SWDN compares each feature with the best "
                    "match within a small neighbourhood (±2 px here), so it should hold up to 2 px. "
                    + shift_evidence())
        with gr.Row():
            shift_image = gr.Dropdown([], label="Image to shift")
            shift = gr.Slider(0, SHIFT_MAX, 0, step=1, label="Shift (px)")
        with gr.Row():
            shift_plot = gr.Plot(label="Quality lost by shifting", elem_id="score-shift-plot")
            shift_table = gr.Dataframe(headers=["metric", "no shift", "shifted"], interactive=False,
                                       elem_id="score-shift-table")
    with gr.Accordion("Perception–distortion: zoo models on one image", open=False):
        perception_distortion_block()
    with gr.Accordion("You judge: which metric agrees with you?", open=False):
        prompt = gr.Markdown()
        with gr.Row():
            img_a = gr.Image(label="A", format="png", interactive=False, height=520)
            img_b = gr.Image(label="B", format="png", interactive=False, height=520)
        with gr.Row():
            pick_a = gr.Button("A is better")
            pick_b = gr.Button("B is better")
        judge_table = gr.Dataframe(interactive=False)

    go.click(run_scores, [ref_image, uploads, sr_outputs, metrics, crop_border, crop_common],
             [table, bars, agree, agree_note, notes, shift_image, scored, img_a, img_b, prompt, judge],
             concurrency_id="gpu", concurrency_limit=1).then(
        shift_demo, [scored, shift_image, shift], [shift_plot, shift_table], concurrency_id="gpu")
    gr.on([shift.release, shift_image.input], shift_demo, [scored, shift_image, shift], [shift_plot, shift_table])
    pick_a.click(functools.partial(judge_pick, choice="A"), [scored, judge],
                 [img_a, img_b, prompt, judge, judge_table])
    pick_b.click(functools.partial(judge_pick, choice="B"), [scored, judge],
                 [img_a, img_b, prompt, judge, judge_table])
    if sr_results is not None:
        sr_results.change(receive_sr, sr_results, [ref_image, sr_outputs, sr_info, crop_border])


def perception_distortion_block() -> None:
    """Zoo models on one HR image: a distortion measure against a perceptual one, and each metric's ranking."""
    from sr_demo.iqa import perception_distortion as pd
    from sr_demo.resources import repo_file

    gr.Markdown("Every picked model super-resolves the bicubic LR of one image. Models that minimise pixel error "
                "(PSNR-oriented) sit at the high-PSNR end; GAN-trained ones (Real-ESRGAN) trade PSNR for texture, "
                "which perceptual metrics reward — and the metrics' rankings disagree most on them (PIPAL).")
    with gr.Row():
        with gr.Column(scale=1):
            image = upload_image(label="HR image (a held-out crop by default)", height=200, elem_id="score-pd-image",
                                 value=str(repo_file("examples/heldout/gcompris-monuments-colosseum_0.png")))
            scale = gr.Radio([2, 3, 4], value=4, label="Scale")
            models = gr.CheckboxGroup(pd.candidates(4), value=pd.default_models(4), label="Zoo models",
                                      elem_id="score-pd-models")
            with gr.Row():
                x_metric = gr.Dropdown(pd_metric_choices(pd.DISTORTION), value="psnr_y", label="Distortion (x)")
                y_metric = gr.Dropdown(pd_metric_choices(pd.PERCEPTUAL), value="stlpips_alex",
                                       label="Perceptual (y)")
            go = gr.Button("Run the models and plot", elem_id="score-pd-run")
        with gr.Column(scale=2):
            plot = gr.Plot(label="Perception–distortion plane (one point per model)", elem_id="score-pd-plot")
            note = gr.Markdown()
            ranks = gr.Dataframe(label="Rankings, best first, one column per metric", interactive=False,
                                 elem_id="score-pd-ranks")
    study = gr.State(None, time_to_live=3600)
    scale.change(pd_models_for_scale, scale, models)
    go.click(run_perception_distortion, [image, scale, models, x_metric, y_metric], [plot, ranks, note, study],
             concurrency_id="gpu", concurrency_limit=1)
    gr.on([x_metric.input, y_metric.input], replot_perception_distortion, [study, x_metric, y_metric],
          [plot, ranks, note, study], concurrency_id="gpu")
