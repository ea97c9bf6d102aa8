"""The shipped generator's file: fp16 safetensors with the card in its metadata."""

from __future__ import annotations

import json
from pathlib import Path

from sr_demo.errors import UserError
from sr_demo.ganprior.generator import Generator

FORMAT = "sr_demo.gan-generator/1"


def save_generator(g: Generator, path: str | Path, card: dict) -> Path:
    from safetensors.torch import save_file

    tensors = {k: v.detach().half().contiguous() for k, v in g.state_dict().items()}
    save_file(tensors, str(path), metadata={"format": FORMAT, "card": json.dumps(card)})
    return Path(path)


def load_generator(path: str | Path) -> tuple[Generator, dict]:
    """The generator (fp32, eval, frozen) and its card."""
    from safetensors import safe_open
    from safetensors.torch import load_file

    path = Path(path)
    if not path.is_file():
        raise UserError(f"No generator at {path}: train it with `python -m training.train_gan`, then --export.")
    with safe_open(str(path), "pt") as f:
        meta = f.metadata() or {}
    if meta.get("format") != FORMAT:
        raise UserError(f"{path.name} is not an SR Lab GAN generator (format {meta.get('format')!r}).")
    g = Generator()
    g.load_state_dict({k: v.float() for k, v in load_file(str(path)).items()})
    return g.eval().requires_grad_(False), json.loads(meta.get("card", "{}"))
