"""A2N's attention-dropout weights on the LAM canvas (the A2N paper's own analysis).

Each attention-in-attention block weighs its attention branch against its
non-attention branch from a global pooling of its input, so the weights
depend on the canvas: computing them on the same LR crop LAM used answers
"how much did attention matter for the region I clicked".
"""

from __future__ import annotations

import numpy as np
import torch

from sr_demo.models.loader import LoadedModel


def branch_weights(model: LoadedModel, canvas: np.ndarray) -> np.ndarray | None:
    """(num_block, 2) weights (attention, non-attention) per block, or None for non-A2N models."""
    module = model.module
    if not hasattr(module, "branch_weights"):
        return None
    device = next(module.parameters()).device
    x = torch.from_numpy(np.ascontiguousarray(canvas, dtype=np.float32)).permute(2, 0, 1)[None].to(device)
    return module.branch_weights(x)[:, 0, :].float().cpu().numpy()
