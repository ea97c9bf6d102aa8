"""Fit NIQE's pristine model from SR Lab's train split; write models/niqe-pristine.json.

    python -m training.fit_niqe [--split train] [--sharpness 0.75]

NIQE is defined by a Gaussian fitted to patch statistics of pristine photos
(Mittal et al. 2013 keep the patches whose sharpness is at least 0.75 of the
sharpest one of each photo). We fit it on `data/train` (built by
`training/build_dataset.py`), never on the held-out photos that evaluations
use, and record which corpus, how many photos and patches, and this command.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from datetime import datetime, timezone

import numpy as np

from sr_demo.iqa.niqe import _grey, default_model_path, patch_features
from training.train_swdn import load_photos


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--split", default="train", choices=["train"], help="only the train split is allowed")
    parser.add_argument("--sharpness", type=float, default=0.75)
    args = parser.parse_args(argv)
    photos = load_photos(args.split)
    kept = []
    for photo in photos:
        feats, sharp = patch_features(_grey(photo))
        kept.append(feats[sharp >= args.sharpness * sharp.max()])
    feats = np.concatenate(kept)
    out = {"corpus": f"SR Lab train split: {len(photos)} photos from Debian packages (training/manifest.json)",
           "photos": len(photos), "patches": len(feats), "patch": 96, "sharpness_threshold": args.sharpness,
           "command": "python -m training.fit_niqe " + shlex.join(sys.argv[1:]),
           "written": datetime.now(timezone.utc).isoformat(timespec="seconds"),
           "mu": feats.mean(0).tolist(), "cov": np.cov(feats, rowvar=False).tolist()}
    path = default_model_path()
    path.write_text(json.dumps(out) + "\n")
    print(f"wrote {path}: {len(feats)} patches of {len(photos)} photos")


if __name__ == "__main__":
    main()
