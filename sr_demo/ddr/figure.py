"""Plotly figures of a DDR measurement: the scatter (one hue per class, lighter = milder level; or one colour
per photo) and CHI across layers. `scatter_table` gives the same colouring to Gradio's own ScatterPlot."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from sr_demo.ddr.patches import CLASSES, PatchSet

CLASS_HUES = {"clean": "#2ca02c", "blur": "#1f77b4", "noise": "#d62728", "jpeg": "#ff7f0e",
              "blur+noise": "#9467bd", "blur+jpeg": "#17becf", "noise+jpeg": "#8c564b", "realesrgan": "#e377c2"}
PHOTO_PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
                 "#bcbd22", "#17becf", "#393b79", "#637939", "#8c6d31", "#843c39", "#7b4173", "#3182bd")


def _mix(hex_colour: str, white: float) -> str:
    rgb = np.array([int(hex_colour[i:i + 2], 16) for i in (1, 3, 5)], dtype=float)
    rgb = rgb + (255 - rgb) * white
    return "#" + "".join(f"{round(v):02x}" for v in rgb)


def level_colour(cls: str, level: str) -> str:
    """The class hue, lighter for milder levels (the mildest mixed 55% with white, the strongest pure)."""
    labels = [lv.label for lv in CLASSES[cls]]
    n = len(labels)
    i = labels.index(level) if level in labels else n - 1
    return _mix(CLASS_HUES[cls], 0.55 * (n - 1 - i) / (n - 1) if n > 1 else 0.0)


def group_names(patches: PatchSet, colour_by: str) -> list[str]:
    """The legend entry of each patch: "class · level" or the photo."""
    if colour_by == "photo":
        return list(patches.photo)
    return [f"{c} · {lv}" if len(CLASSES[c]) > 1 else c for c, lv in zip(patches.cls, patches.level)]


def colour_map(patches: PatchSet, colour_by: str) -> dict[str, str]:
    names = group_names(patches, colour_by)
    if colour_by == "photo":
        return {p: PHOTO_PALETTE[i % len(PHOTO_PALETTE)] for i, p in enumerate(sorted(set(names)))}
    return {g: level_colour(c, lv) for g, c, lv in zip(names, patches.cls, patches.level)}


def scatter_table(xy: np.ndarray, patches: PatchSet, colour_by: str = "class"):
    """A DataFrame for gr.ScatterPlot: x, y, group (colour), class, level, photo, index (row in the patch set)."""
    import pandas as pd

    return pd.DataFrame({"x": xy[:, 0].astype(float), "y": xy[:, 1].astype(float),
                         "group": group_names(patches, colour_by), "class": list(patches.cls),
                         "level": list(patches.level), "photo": list(patches.photo),
                         "index": np.arange(len(patches))})


def scatter_figure(xy: np.ndarray, patches: PatchSet, colour_by: str = "class", title: str = ""):
    """Plotly scatter, one trace per legend group; hover: class, level, photo."""
    import plotly.graph_objects as go

    names = np.array(group_names(patches, colour_by))
    colours = colour_map(patches, colour_by)
    fig = go.Figure()
    for g in dict.fromkeys(names):
        idx = np.flatnonzero(names == g)
        fig.add_trace(go.Scattergl(
            x=xy[idx, 0], y=xy[idx, 1], mode="markers", name=str(g),
            marker={"color": colours[g], "size": 6, "line": {"width": 0}},
            customdata=np.stack([np.array(patches.cls)[idx], np.array(patches.level)[idx],
                                 np.array(patches.photo)[idx]], axis=1),
            hovertemplate="class %{customdata[0]}<br>level %{customdata[1]}<br>photo %{customdata[2]}"
                          "<extra></extra>"))
    fig.update_layout(title=title, height=520, margin={"l": 10, "r": 10, "t": 40, "b": 10}, legend_title=colour_by,
                      xaxis={"showticklabels": False}, yaxis={"showticklabels": False})
    return fig


def chi_figure(measurements: Sequence):
    """CHI by class (solid) and by photo (dotted) across layers, one colour per model, sd as error bars."""
    import plotly.graph_objects as go

    fig = go.Figure()
    for i, m in enumerate(measurements):
        colour = PHOTO_PALETTE[i % len(PHOTO_PALETTE)]
        labels = [m.net.label(s.layer) for s in m.separations]
        for what, dash in (("class", "solid"), ("photo", "dot")):
            ms = [s.class_mean_sd if what == "class" else s.photo_mean_sd for s in m.separations]
            fig.add_trace(go.Scatter(x=labels, y=[v[0] for v in ms], error_y={"array": [v[1] for v in ms]},
                                     mode="lines+markers", name=f"{m.net.name} by {what}",
                                     line={"color": colour, "dash": dash}))
    fig.update_layout(height=340, margin={"l": 40, "r": 10, "t": 40, "b": 40}, yaxis_title="Calinski-Harabasz index",
                      xaxis_title="layer (shallow → deep)", yaxis_type="log",
                      title="Separation by degradation class (solid) vs by source photo (dotted)")
    return fig


def write_html(measurement, method: str, path) -> float:
    """The scatter of the measurement's deepest layer (and CHI across layers when there are several) as one
    self-contained HTML file; returns the embedding's seconds."""
    import time
    from pathlib import Path

    from sr_demo.ddr.embed import embed
    from sr_demo.errors import UserError

    layer = measurement.layers[-1]
    t0 = time.perf_counter()
    emb = embed(measurement.features[layer], method, seed=0)
    seconds = time.perf_counter() - t0
    title = f"{measurement.net.name}, {measurement.net.label(layer)}: {method} of {len(measurement.patches)} patches"
    parts = [scatter_figure(emb.xy, measurement.patches, "class", title).to_html(full_html=False,
                                                                                 include_plotlyjs=True)]
    if len(measurement.layers) > 1:
        parts.append(chi_figure([measurement]).to_html(full_html=False, include_plotlyjs=False))
    html = f"<!doctype html><html><head><meta charset='utf-8'><title>{title}</title></head><body>{''.join(parts)}" \
           "</body></html>"
    try:
        Path(path).write_text(html, encoding="utf-8")
    except OSError as exc:
        raise UserError(f"Cannot write {path}: {exc.strerror}.") from exc
    return seconds
