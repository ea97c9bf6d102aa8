"""DDR tab: do a network's features group LR patches by degradation or by content? (calls `sr_demo.ddr`)."""

from __future__ import annotations

import gradio as gr
import numpy as np

from sr_demo.errors import UserError
from sr_demo.ui.components import upload_image
from sr_demo.ui.guard import gradio_progress, guarded

TAB_ID = "ddr"
MAX_MODELS = 2
MAX_SHOWN = 60
#: The first view's size: 6 classes x 16 patches x 3 seeds stays well under a minute for SPAN on a 2-core CPU.
DEFAULT_PER_CLASS, DEFAULT_SEEDS = 16, 3
METHOD_CHOICES = [("t-SNE", "tsne"), ("UMAP", "umap"), ("PCA", "pca")]
COLOUR_CHOICES = [("degradation class (lighter = milder level)", "class"), ("source photo", "photo")]
NOTE = """**Deep degradation representations** ([Liu et al. 2021](https://arxiv.org/abs/2108.00406)). Small LR
patches of the held-out photos, each degraded by one class and level, go through a network; each dot is one
patch's features at the chosen layer (global average pooled), mapped to 2-D. The paper found that SR networks,
even ones trained only on clean bicubic data, group patches by **degradation**, while classification networks
group them by **content**. The Calinski-Harabasz index (CHI, on the pooled features, never on the 2-D map;
mean ± sd over patch-set seeds) measures both: by degradation class (solid) and by source photo (dotted).
**Drag across a scatter** to select an x-range and see the patches behind it; upload your own image to place its
patches among them."""


def model_choices() -> list[str]:
    from sr_demo.ddr.nets import net_names

    return list(net_names())


def class_choices() -> list[str]:
    from sr_demo.ddr.patches import CLASSES

    return list(CLASSES)


def default_classes() -> list[str]:
    from sr_demo.ddr.patches import DEFAULT_CLASSES

    return list(DEFAULT_CLASSES)


def _names(names) -> list[str]:
    names = [names] if isinstance(names, str) else list(names or [])
    if not names:
        raise UserError("Pick a model (an SR network from the zoo or a classification trunk).")
    if len(names) > MAX_MODELS:
        raise UserError(f"Pick at most {MAX_MODELS} models to compare side by side.")
    return names


def _layer_props(name: str | None) -> dict:
    """Choices and default (the deepest layer, the paper's choice) of one model's layer dropdown."""
    if name is None:
        return {"choices": [], "value": None, "visible": False}
    from sr_demo.ddr.nets import layer_labels

    labels = layer_labels(name)
    return {"choices": labels, "value": labels[-1], "visible": True, "label": f"Layer of {name} (shallow → deep)"}


@guarded
def update_layers(names):
    """One layer dropdown per chosen model, set to its deepest layer."""
    names = list(names or [])[:MAX_MODELS]
    return tuple(gr.update(**_layer_props(names[i] if i < len(names) else None)) for i in range(MAX_MODELS))


def _scatter(view: dict | None, colour_by: str):
    if view is None:
        return gr.update(value=None, visible=False)
    from sr_demo.ddr.figure import colour_map, scatter_table

    table = scatter_table(view["xy"], view["patches"], colour_by)
    cmap = colour_map(view["patches"], colour_by)
    if view.get("extra_xy") is not None:
        import pandas as pd

        extra = pd.DataFrame({"x": view["extra_xy"][:, 0].astype(float), "y": view["extra_xy"][:, 1].astype(float),
                              "group": "your image", "class": "your image", "level": "-", "photo": "your image",
                              "index": -1})
        table = pd.concat([table, extra], ignore_index=True)
        cmap = {**cmap, "your image": "#000000"}
    return gr.update(value=table, color_map=cmap, visible=True, title=view["title"])


@guarded
def run_ddr(names, layer_a, layer_b, method, per_class, classes, seeds, colour_by, progress=gr.Progress()):
    """Measure CHI over every layer of each model, embed the chosen layer's patches."""
    from sr_demo.ddr.analysis import measure, scatter
    from sr_demo.ddr.figure import chi_figure
    from sr_demo.ddr.nets import get_net

    names = _names(names)
    update = gradio_progress(progress)
    views, measurements = [], []
    for i, (name, layer) in enumerate(zip(names, (layer_a, layer_b))):
        net = get_net(name)

        def step(fraction, text, i=i):
            update((i + 0.8 * fraction) / len(names), text)

        m = measure(net, list(net.layers), classes or [], int(per_class), int(seeds), progress=step)
        dotted = net.resolve(layer or net.default_layer)
        update((i + 0.85) / len(names), f"{name}: {method} of {len(m.patches)} patches")
        emb = scatter(m, dotted, method)
        sep = next(s for s in m.separations if s.layer == dotted)
        views.append({"name": name, "layer": net.label(dotted), "dotted": dotted, "method": method,
                      "xy": emb.xy, "patches": m.patches, "emb": emb,
                      "title": f"{name} · {net.label(dotted)}: CHI by class {sep.class_mean_sd[0]:.1f}, "
                               f"by photo {sep.photo_mean_sd[0]:.1f}"})
        measurements.append(m)
    state = {"views": views}
    lines = [f"**{v['name']}**, layer {v['layer']}: {len(v['patches'])} patches; features "
             f"{m.seconds['features']:.1f} s, total {m.seconds['total']:.1f} s over {int(seeds)} seed(s)."
             + (f" ({m.net.note})" if m.net.note else "") for v, m in zip(views, measurements)]
    plots = [_scatter(views[i] if i < len(views) else None, colour_by) for i in range(MAX_MODELS)]
    return (*plots, chi_figure(measurements), "\n\n".join(lines), state, [])


@guarded
def recolour(state, colour_by):
    views = (state or {}).get("views", [])
    return tuple(_scatter(views[i] if i < len(views) else None, colour_by) for i in range(MAX_MODELS))


def _tile(patch: np.ndarray, zoom: int = 4) -> np.ndarray:
    img = np.clip(patch.transpose(1, 2, 0) * 255 + 0.5, 0, 255).astype(np.uint8)
    return img.repeat(zoom, 0).repeat(zoom, 1)


def patches_in_range(state, which: int, lo: float, hi: float) -> tuple[list, str]:
    """Gallery items (zoomed LR patch, caption) of the patches whose x lies in [lo, hi] on scatter `which`."""
    views = (state or {}).get("views", [])
    if which >= len(views):
        raise UserError("Run DDR first.")
    view = views[which]
    lo, hi = sorted((float(lo), float(hi)))
    idx = np.flatnonzero((view["xy"][:, 0] >= lo) & (view["xy"][:, 0] <= hi))
    p = view["patches"]
    items = [(_tile(p.lr[i]), f"{p.cls[i]} · {p.level[i]} · {p.photo[i]}") for i in idx[:MAX_SHOWN]]
    counts = {}
    for i in idx:
        counts[p.cls[i]] = counts.get(p.cls[i], 0) + 1
    summary = ", ".join(f"{c} {n}" for c, n in sorted(counts.items(), key=lambda kv: -kv[1]))
    more = f" (first {MAX_SHOWN} shown)" if len(idx) > MAX_SHOWN else ""
    return items, f"{view['name']}: {len(idx)} patches with x in [{lo:.2f}, {hi:.2f}]{more}: {summary or 'none'}."


def _on_select(which: int):
    @guarded
    def show(state, evt: gr.SelectData):
        lo, hi = evt.index if isinstance(evt.index, (list, tuple)) else (evt.index, evt.index)
        return patches_in_range(state, which, lo, hi)

    show.__name__ = f"show_region_{which}"
    return show


@guarded
def place_image(state, image_path, colour_by, progress=gr.Progress()):
    """Cut patches from the user's image (used as it is, an LR image) and place them into each scatter."""
    from sr_demo.ddr.embed import nearest_labels, place
    from sr_demo.ddr.features import layer_features
    from sr_demo.ddr.nets import get_net
    from sr_demo.ddr.patches import image_patches
    from sr_demo.imaging import load_image

    views = (state or {}).get("views", [])
    if not views:
        raise UserError("Run DDR first, then place your image into its scatter.")
    if not image_path:
        raise UserError("Upload an image.")
    lr = image_patches(load_image(image_path).rgb, n=24)
    lines, new_views = [], []
    for i, view in enumerate(views):
        progress(i / len(views), desc=f"{view['name']}: placing your patches")
        net = get_net(view["name"])
        feats = layer_features(net.module, lr, [view["dotted"]], prepare=net.prepare)[view["dotted"]]
        base, new = place(view["emb"], feats)
        near = nearest_labels(view["emb"], feats, view["patches"].cls)
        new_views.append({**view, "xy": base, "extra_xy": new})
        lines.append(f"**{view['name']}**: the nearest patches (in feature space) to yours are "
                     + ", ".join(f"{c} {share:.0%}" for c, share in near[:3]) + ".")
    state = {"views": new_views}
    plots = [_scatter(new_views[i] if i < len(new_views) else None, colour_by) for i in range(MAX_MODELS)]
    return (*plots, "\n\n".join(lines), state)


_warming: list = []


def warm() -> None:
    """Compute what the default view needs (the default model's features, UMAP's compile) in a background
    thread, once per server, when the tab is first opened: the first click then finds them ready."""
    import logging
    import threading

    from sr_demo.ddr.analysis import warm as warm_ddr

    if _warming:
        return

    def run() -> None:
        try:
            warm_ddr(per_class=DEFAULT_PER_CLASS, seeds=DEFAULT_SEEDS)
        except Exception:
            logging.getLogger("sr_demo.ui").exception("DDR warm-up failed")

    _warming.append(threading.Thread(target=run, name="ddr-warm", daemon=True))
    _warming[0].start()


def build(tab: gr.Tab | None = None) -> None:
    """Lay out the tab and wire its events; `tab.select` warms the default view."""
    state = gr.State(None, time_to_live=3600)
    from sr_demo.ddr.nets import default_net

    choices, default = model_choices(), default_net()
    with gr.Row():
        with gr.Column(scale=1):
            models = gr.Dropdown(choices, value=[default] if default else [], multiselect=True,
                                 max_choices=MAX_MODELS,
                                 label=f"Models (up to {MAX_MODELS}: zoo networks or classification trunks)",
                                 elem_id="ddr-models")
            layer_a = gr.Dropdown(**_layer_props(default), elem_id="ddr-layer-a")
            layer_b = gr.Dropdown(**_layer_props(None), elem_id="ddr-layer-b")
            method = gr.Radio(METHOD_CHOICES, value="tsne", label="2-D map")
            per_class = gr.Slider(8, 128, DEFAULT_PER_CLASS, step=8, label="Patches per class (32×32 LR)")
            seeds = gr.Slider(1, 10, DEFAULT_SEEDS, step=1, label="Patch-set seeds (CHI mean ± sd)")
            classes = gr.CheckboxGroup(class_choices(), value=default_classes(), label="Degradation classes")
            colour_by = gr.Radio(COLOUR_CHOICES, value="class", label="Colour by")
            go = gr.Button("Run DDR", variant="primary", elem_id="ddr-run")
            with gr.Accordion("Your image: which degradation does it look like?", open=False):
                mine = upload_image(label="An LR image (used as it is)", height=180, elem_id="ddr-mine")
                place_btn = gr.Button("Place its patches")
            gr.Markdown(NOTE)
        with gr.Column(scale=2):
            info = gr.Markdown(elem_id="ddr-info")
            with gr.Row():
                plot_a = gr.ScatterPlot(x="x", y="y", color="group", tooltip=["class", "level", "photo"],
                                        x_title=" ", y_title=" ", height=420, visible=False, elem_id="ddr-scatter-a",
                                        label="Scatter (drag to select an x-range)")
                plot_b = gr.ScatterPlot(x="x", y="y", color="group", tooltip=["class", "level", "photo"],
                                        x_title=" ", y_title=" ", height=420, visible=False, elem_id="ddr-scatter-b",
                                        label="Scatter (drag to select an x-range)")
            chi_plot = gr.Plot(label="CHI across layers", elem_id="ddr-chi")
            region = gr.Markdown(elem_id="ddr-region")
            gallery = gr.Gallery(label="Patches in the selected range (LR, zoomed ×4)", columns=10, height="auto",
                                 format="png", elem_id="ddr-patches", elem_classes="pixelated")

    models.change(update_layers, models, [layer_a, layer_b])
    go.click(run_ddr, [models, layer_a, layer_b, method, per_class, classes, seeds, colour_by],
             [plot_a, plot_b, chi_plot, info, state, gallery], concurrency_id="gpu", concurrency_limit=1)
    colour_by.change(recolour, [state, colour_by], [plot_a, plot_b])
    plot_a.select(_on_select(0), state, [gallery, region])
    plot_b.select(_on_select(1), state, [gallery, region])
    place_btn.click(place_image, [state, mine, colour_by], [plot_a, plot_b, info, state],
                    concurrency_id="gpu", concurrency_limit=1)
    if tab is not None:
        tab.select(warm, None, None, queue=False)

