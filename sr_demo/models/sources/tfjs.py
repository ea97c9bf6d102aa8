"""TensorFlow.js layers models: `model.json` (Keras topology + weights
manifest) and its binary shards -> named float32 arrays.

The manifest lists weights group by group; each group's shards, joined in
order, are the weights' bytes back to back with no padding, so a group must
add up to exactly its shards' length (a short or long group means a wrong or
truncated download, not something to read past).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from sr_demo.errors import UserError

_DTYPES = {"float32": np.dtype("<f4")}


@dataclass(frozen=True)
class Layer:
    """One Keras layer: class, name, its config and the layer names it reads."""

    cls: str
    name: str
    config: dict[str, Any]
    inputs: tuple[str, ...]


@dataclass(frozen=True)
class LayersModel:
    layers: tuple[Layer, ...]
    weights: dict[str, np.ndarray]

    def layer(self, name: str) -> Layer:
        for layer in self.layers:
            if layer.name == name:
                return layer
        raise UserError(f"TensorFlow.js model has no layer {name!r}")

    def tensor(self, name: str) -> np.ndarray:
        if name not in self.weights:
            raise UserError(f"TensorFlow.js model has no weight {name!r}")
        return self.weights[name]


def read_layers_model(model_json: Path) -> LayersModel:
    """Topology and weights of the layers model at `model_json` (shards beside it)."""
    model_json = Path(model_json)
    try:
        spec = json.loads(model_json.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise UserError(f"{model_json}: not a readable TensorFlow.js model.json ({e})") from e
    if spec.get("format") != "layers-model" or "weightsManifest" not in spec:
        raise UserError(f"{model_json}: not a TensorFlow.js layers model (format {spec.get('format')!r})")
    weights: dict[str, np.ndarray] = {}
    for group in spec["weightsManifest"]:
        weights.update(_read_group(model_json, group))
    return LayersModel(_layers(spec["modelTopology"]), weights)


def _layers(topology: dict[str, Any]) -> tuple[Layer, ...]:
    config = topology.get("model_config", topology)
    out = []
    for entry in config["config"]["layers"]:
        nodes = entry.get("inbound_nodes") or [[]]
        out.append(Layer(entry["class_name"], entry["name"], entry["config"], tuple(n[0] for n in nodes[0])))
    return tuple(out)


def _read_group(model_json: Path, group: dict[str, Any]) -> dict[str, np.ndarray]:
    chunks = []
    for rel in group["paths"]:
        shard = model_json.parent / rel
        if not shard.is_file():
            raise UserError(f"{model_json.name}: weight shard {rel} is missing beside it")
        chunks.append(shard.read_bytes())
    buffer = b"".join(chunks)
    weights, offset = {}, 0
    for w in group["weights"]:
        if "quantization" in w:
            raise UserError(f"{model_json.name}: weight {w['name']} is quantized ({w['quantization']}); "
                            "only unquantized float32 weights are read")
        dtype = _DTYPES.get(w["dtype"])
        if dtype is None:
            raise UserError(f"{model_json.name}: weight {w['name']} has dtype {w['dtype']!r}; "
                            f"known: {', '.join(_DTYPES)}")
        count = int(np.prod(w["shape"], dtype=np.int64))
        end = offset + count * dtype.itemsize
        if end > len(buffer):
            raise UserError(f"{model_json.name}: shards {', '.join(group['paths'])} are short: "
                            f"{len(buffer)} bytes, the manifest needs at least {end} (truncated download?)")
        weights[w["name"]] = np.frombuffer(buffer, dtype, count, offset).reshape(w["shape"]).copy()
        offset = end
    if offset != len(buffer):
        raise UserError(f"{model_json.name}: shards {', '.join(group['paths'])} hold {len(buffer)} bytes, "
                        f"the manifest describes {offset}")
    return weights


def conv_oihw(kernel_hwio: np.ndarray) -> np.ndarray:
    """A Keras Conv2D kernel (H, W, in, out) as PyTorch's (out, in, H, W)."""
    return np.ascontiguousarray(kernel_hwio.transpose(3, 2, 0, 1))


def depth_to_space_order(channels: int, scale: int) -> np.ndarray:
    """Index into a TF depth-to-space input for each `pixel_shuffle` input channel.

    TF reads channel (i*s + j)*C + c for output (c, offset i, j);
    `pixel_shuffle` reads c*s*s + i*s + j. Reorder a conv's output channels
    with this and a plain `nn.PixelShuffle` computes TF's layer.
    """
    c, i, j = np.meshgrid(np.arange(channels), np.arange(scale), np.arange(scale), indexing="ij")
    return ((i * scale + j) * channels + c).reshape(-1)
