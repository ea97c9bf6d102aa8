"""A zip that lets anyone reproduce a result: images, spec, seed, scores, weights' sha256."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np

from sr_demo import __version__
from sr_demo.imaging import png_bytes


def safe_name(name: str) -> str:
    """Model names become file names: keep letters, digits, '-', '_' and '.'."""
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name)[:80] or "model"


def write_bundle(path: str | Path, *, lr: np.ndarray, hr: np.ndarray | None = None, degradation: dict | None = None,
                 results: list = ()) -> Path:
    """Write `path` (a .zip) holding hr.png, lr.png, one PNG per result and record.json."""
    path = Path(path)
    record = {"sr_demo_version": __version__, "degradation": degradation, "results": []}
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("lr.png", png_bytes(lr))
        if hr is not None:
            zf.writestr("hr.png", png_bytes(hr))
        for res in results:
            file_name = f"sr_{safe_name(res.model)}.png"
            zf.writestr(file_name, png_bytes(res.sr))
            record["results"].append({
                "model": res.model, "file": file_name, "scale": res.scale, "weights_sha256": res.sha256,
                "metrics": res.metrics, "seconds": round(res.seconds, 4), "device": res.device,
                "precision": res.precision, "note": res.note,
            })
        zf.writestr("record.json", json.dumps(record, indent=2, allow_nan=True))
    return path
