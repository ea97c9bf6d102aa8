"""Dropout study (RDSR) view, mounted in the Super-resolve tab: twin models side by side.

All computation lives in `sr_demo.analysis.dropout_study`; this file lays out
components, wires one event and turns results into pictures and rows.
"""

from __future__ import annotations

from pathlib import Path

import gradio as gr

from sr_demo.errors import UserError
from sr_demo.resources import repo_file
from sr_demo.ui.components import upload_image
from sr_demo.ui.guard import as_seed, gradio_progress, guarded

HELDOUT_DIR = repo_file("examples/heldout")
TABLE_HEADERS = ["model", "PSNR-Y ↑", "SSIM-Y ↑", "Gini (0 = even)", "entropy (1 = even)"]
INTRO = """Twin networks trained identically except for one factor (RDSR, [Kong et al. 2022](https://arxiv.org/abs/2112.12089):
channel-wise dropout before the last conv, dropout in the middle, or no global residual) super-resolve the same
degraded image, scored against its HR. The channel saliency maps show how much each channel of the last feature
layer adds to the output (red adds, blue subtracts, one colour scale for both twins): RDSR's claim is that dropout
spreads the work more evenly, which shows as a lower Gini and a higher entropy of the channel shares."""


def heldout_examples() -> list[str]:
    return sorted(str(p) for p in HELDOUT_DIR.glob("*.png"))


def pending_text() -> str:
    from sr_demo.analysis.dropout_study import NO_TWINS

    return f"**Pending.** {NO_TWINS} Until then this view has no twins to compare."


def study_text(table) -> str:
    from sr_demo.analysis.dropout_study import STUDY_COMMAND, TRAIN_COMMAND

    if table is None:
        return ("**Held-out study.** The study has not been run on trained weights yet: train the twins "
                f"(`{TRAIN_COMMAND}`), then run `{STUDY_COMMAND}`.")
    return f"**Held-out study.** {table.caption}"


def shares_figure(results: list):
    """Rank curve and Lorenz curve of the channel shares of both twins."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    fig = make_subplots(rows=1, cols=2, subplot_titles=("Channel shares, largest first",
                                                        "Lorenz curve (diagonal = every channel equal)"))
    colours = ("#1f77b4", "#d62728")
    for r, colour in zip(results, colours):
        ranked = r.ranked_shares
        fig.add_trace(go.Scatter(x=list(range(1, len(ranked) + 1)), y=(100 * ranked).tolist(), mode="lines+markers",
                                 name=f"{r.name} (Gini {r.gini:.3f})", line=dict(color=colour),
                                 marker=dict(size=4)), row=1, col=1)
        x, y = r.lorenz
        fig.add_trace(go.Scatter(x=x.tolist(), y=y.tolist(), mode="lines", name=r.name, showlegend=False,
                                 line=dict(color=colour)), row=1, col=2)
    fig.add_trace(go.Scatter(x=[0, 1], y=[0, 1], mode="lines", name="equal shares", showlegend=False,
                             line=dict(color="grey", dash="dot")), row=1, col=2)
    fig.update_xaxes(title_text="channel rank", row=1, col=1)
    fig.update_yaxes(title_text="share of |contribution| (%)", row=1, col=1)
    fig.update_xaxes(title_text="fraction of channels (smallest first)", row=1, col=2)
    fig.update_yaxes(title_text="fraction of the work", row=1, col=2)
    fig.update_layout(height=340, margin=dict(l=50, r=10, t=40, b=40), legend=dict(orientation="h", y=-0.25))
    return fig


@guarded
def compare(image_path: str | None, tab_hr_path: str | None, model: str | None, preset: str, seed,
            progress=gr.Progress()):
    """Both twins on the degraded image: LR, outputs, scores, saliency grids, share curves."""
    from sr_demo.analysis.dropout_study import compare_twins, find_pair
    from sr_demo.imaging import load_image, nearest_upscale

    pair = find_pair(model)
    path = image_path or tab_hr_path
    if not path:
        raise UserError("Choose an HR image: upload one here, pick a held-out crop, or set the tab's HR reference.")
    loaded = load_image(path)
    res = compare_twins(loaded.rgb, pair.model, pair.twin, preset, as_seed(seed), progress=gradio_progress(progress))
    twin, variant = res.results

    def sr_image(r):
        psnr = r.metrics.get("psnr_y")
        return gr.update(value=r.sr, label=f"{r.name}: " + (f"PSNR-Y {psnr:.2f} dB" if psnr is not None else "no PSNR"))

    def grid_image(r):
        return gr.update(value=r.grid, label=f"Channel saliency of {r.name}")

    def num(value, digits):
        return "-" if value is None else round(float(value), digits)

    rows = [[r.name, num(r.metrics.get("psnr_y"), 3), num(r.metrics.get("ssim_y"), 4), round(r.gini, 4),
             round(r.entropy, 4)] for r in res.results]
    lr_h, lr_w = res.lr.shape[:2]
    source = "the uploaded/example image" if image_path else "the tab's HR reference"
    gap = variant.gini - twin.gini
    better = "as evenly as" if abs(gap) < 5e-4 else ("more evenly than" if gap < 0 else "less evenly than")
    info = [(f"HR {res.hr.shape[1]}×{res.hr.shape[0]} from {source} → LR {lr_w}×{lr_h} (shown with its pixels "
             f"enlarged ×4): preset **{res.preset}**, seed {res.seed}, ×4. **{pair.model}** ({pair.factor}) "
             f"spreads the work {better} **{pair.twin}** on this crop (Gini {variant.gini:.3f} vs "
             f"{twin.gini:.3f})."),
            *loaded.notes, *res.notes,
            (f"Saliency maps: channels ordered by |contribution|, largest first, each captioned with its share; "
             f"one colour scale for both twins, ±{res.color_limit:.3g} (clipped at the 99.5th percentile).")]
    return (nearest_upscale(res.lr, 4), sr_image(twin), sr_image(variant), rows, grid_image(twin),
            grid_image(variant), shares_figure(list(res.results)), "\n\n".join(info))


def build(hr_component: gr.components.Component | None = None) -> dict:
    """The "Dropout study (RDSR)" accordion; `hr_component` is the tab's HR image (a file path)."""
    from sr_demo.analysis.dropout_study import DEFAULT_PRESET, PRESETS, study_table, twin_pairs

    pairs = twin_pairs()
    study = study_table()
    with gr.Accordion("Dropout study (RDSR)", open=False, elem_id="dropout-study") as accordion:
        gr.Markdown(INTRO)
        if not pairs:
            gr.Markdown(pending_text(), elem_id="dropout-pending")
        # without a trained pair there is nothing to compare: only the explanation and the study show
        with gr.Column(visible=bool(pairs), elem_id="dropout-workspace") as workspace:
            with gr.Row():
                with gr.Column(scale=1):
                    image = upload_image(label="HR image (else the HR reference above)", height=200,
                                         elem_id="dropout-hr")
                    gr.Examples(heldout_examples(), inputs=image, examples_per_page=8,
                                label="Held-out crops, never trained on (examples/heldout/CREDITS.md)")
                    pair = gr.Dropdown([(p.label, p.model) for p in pairs],
                                       value=pairs[0].model if pairs else None, label="Twin pair",
                                       elem_id="dropout-pair")
                    preset = gr.Dropdown(list(PRESETS), value=DEFAULT_PRESET,
                                         label="Degradation preset (×4, RDSR test sets)", elem_id="dropout-preset")
                    seed = gr.Number(0, precision=0, minimum=0, maximum=2**32 - 1, label="Seed")
                    go = gr.Button("Compare twins", variant="primary", elem_id="dropout-go")
                    info = gr.Markdown(elem_id="dropout-info")
                with gr.Column(scale=2):
                    with gr.Row():
                        # no buttons over these narrow images: they would hide the labels (names and PSNR-Y)
                        lr = gr.Image(label="Degraded LR", format="png", interactive=False, height=260,
                                      buttons=[], elem_id="dropout-lr", elem_classes="pixelated")
                        sr_twin = gr.Image(label="Twin", format="png", interactive=False, height=260, buttons=[],
                                           elem_id="dropout-sr-twin")
                        sr_model = gr.Image(label="Model", format="png", interactive=False, height=260, buttons=[],
                                            elem_id="dropout-sr-model")
                    table = gr.Dataframe(headers=TABLE_HEADERS, interactive=False, elem_id="dropout-scores",
                                         label="Scores against the HR (SR protocol, 4 px border cropped) and how "
                                               "evenly the channels share the work")
                    plot = gr.Plot(label="Channel shares", show_label=False, elem_id="dropout-plot")
            with gr.Row():
                grid_twin = gr.Image(label="Channel saliency of the twin", format="png", interactive=False,
                                     buttons=["download", "fullscreen"], elem_id="dropout-grid-twin")
                grid_model = gr.Image(label="Channel saliency of the model", format="png", interactive=False,
                                      buttons=["download", "fullscreen"], elem_id="dropout-grid-model")
        gr.Markdown(study_text(study), elem_id="dropout-study-text")
        study_rows = gr.Dataframe(value=study.rows if study else None, headers=study.headers if study else None,
                                  interactive=False, visible=bool(study and study.rows),
                                  elem_id="dropout-study-table")

    hr_input = hr_component if hr_component is not None else gr.State(None)
    go.click(compare, [image, hr_input, pair, preset, seed],
             [lr, sr_twin, sr_model, table, grid_twin, grid_model, plot, info],
             concurrency_id="gpu", concurrency_limit=1)
    return {"accordion": accordion, "workspace": workspace, "image": image, "pair": pair, "preset": preset,
            "seed": seed, "go": go, "study": study_rows}
