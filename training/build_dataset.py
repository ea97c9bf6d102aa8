"""Build SR Lab's photo dataset from the allow-listed Debian packages.

Why this exists: no model hub or dataset host is reachable, only Debian's apt
repositories.  A few Debian packages ship real, freely licensed photographs;
``training/manifest.json`` lists the ones reviewed by eye (licence, credit,
content tag, train/held-out split by photo, and how much to down-scale soft
photos so that HR targets are sharp).  This script fetches those packages
(``apt-get download`` + ``dpkg -x``, never installed), checks every photo
against the manifest's sha256, down-scales with antialiased bicubic and writes
deterministic PNG crops plus ``dataset.json``:

    python -m training.build_dataset --out data            # train + held-out
    python -m training.build_dataset --out data --heldout-only
    python -m training.build_dataset --export-heldout examples/heldout

The whole output stays under 24 MiB so that it travels with the code to the
GPU machine; the exported held-out subset is committed for tests and the UI.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import subprocess
import tempfile
import time
from pathlib import Path
from urllib.parse import unquote

import numpy as np
from PIL import Image

from sr_demo.resources import repo_file
from training.rcc import read_rcc

ROOT = repo_file(".")
MANIFEST = repo_file("training/manifest.json")
#: The only packages we train on (design.md, "Weights and data").
ALLOW_LIST = (
    "mate-backgrounds",
    "plasma-workspace-wallpapers",
    "lomiri-wallpapers",
    "lomiri-wallpapers-16.04",
    "lomiri-wallpapers-20.04",
    "gcompris-qt-data",
)
#: Crop sides are multiples of 12 so every crop mod-crops cleanly at x2, x3 and x4.
TRAIN_CROP = 300
TRAIN_CROPS_PER_PHOTO = 1
HELDOUT_CROP = 240
HELDOUT_CROPS_PER_PHOTO = 2
#: Licences we are happy to redistribute inside the repository (examples/heldout).
EXPORT_LICENCES = ("CC0-1.0", "public-domain", "CC-BY-2.0", "CC-BY-3.0", "CC-BY-4.0", "CC-BY-SA-3.0", "CC-BY-SA-4.0")
SIZE_LIMIT = 24 * 2**20


def load_manifest(path: Path = MANIFEST) -> list[dict]:
    """The reviewed photo list: one dict per kept photo."""
    return json.loads(path.read_text(encoding="utf-8"))["photos"]


def fetch(packages: list[str], work: Path) -> dict[str, Path]:
    """Download and unpack each package once into ``work``; return its unpacked root."""
    debs, roots = work / "debs", {}
    debs.mkdir(parents=True, exist_ok=True)
    for pkg in packages:
        if pkg not in ALLOW_LIST:
            raise SystemExit(f"{pkg} is not on the allow-list")
        found = sorted(debs.glob(f"{pkg}_*.deb"))
        if not found:
            print(f"apt-get download {pkg}", flush=True)
            if subprocess.run(["apt-get", "download", pkg], cwd=debs).returncode:
                raise SystemExit(f"apt-get download {pkg} failed: run `apt-get update` first (needs Debian's mirror)")
            found = sorted(debs.glob(f"{pkg}_*.deb"))
        root = work / "x" / pkg
        if not (root / ".unpacked").exists():
            root.mkdir(parents=True, exist_ok=True)
            subprocess.run(["dpkg", "-x", str(found[-1]), str(root)], check=True)
            (root / ".unpacked").write_text(found[-1].name)
        roots[pkg] = root
    return roots


def read_photo(entry: dict, roots: dict[str, Path], rcc_cache: dict) -> bytes:
    """The photo's original bytes, from the package tree or from inside a GCompris ``.rcc``."""
    path = roots[entry["package"]] / entry["file"]
    if "member" in entry:
        if path not in rcc_cache:
            rcc_cache[path] = read_rcc(path).entries
        data = rcc_cache[path][entry["member"]]
    else:
        data = path.read_bytes()
    if hashlib.sha256(data).hexdigest() != entry["sha256"]:
        raise SystemExit(f"{entry['id']}: file changed in the package; review it again and update the manifest")
    return data


def prepare(data: bytes, downscale: int) -> np.ndarray:
    """Decode to RGB uint8 and shrink by ``downscale`` with antialiased bicubic (like MATLAB's imresize)."""
    img = Image.open(io.BytesIO(data)).convert("RGB")
    w, h = img.size
    w, h = w - w % downscale, h - h % downscale
    img = img.crop((0, 0, w, h))
    if downscale > 1:
        img = img.resize((w // downscale, h // downscale), Image.Resampling.BICUBIC)
    return np.asarray(img)


def detail(patch: np.ndarray) -> float:
    """Mean absolute gradient of the grey image: flat sky scores low, texture high."""
    g = patch.astype(np.float64).mean(axis=2)
    return float(np.abs(np.diff(g, axis=0)).mean() + np.abs(np.diff(g, axis=1)).mean())


def pick_crops(img: np.ndarray, side: int, count: int, focus=None) -> list[tuple[int, int, int, int]]:
    """``count`` squares (x0, y0, x1, y1): one centred on the manifest's ``focus`` (fractions of
    width/height) if it has one, then the most detailed cells of a centred grid, never overlapping."""
    h, w = img.shape[:2]
    side = min(side, h - h % 12, w - w % 12)
    boxes = []
    if focus:
        x = min(max(round(focus[0] * w) - side // 2, 0), w - side)
        y = min(max(round(focus[1] * h) - side // 2, 0), h - side)
        boxes.append((x, y, x + side, y + side))
    nx, ny = w // side, h // side
    ox, oy = (w - nx * side) // 2, (h - ny * side) // 2
    cells = [(ox + i * side, oy + j * side) for j in range(ny) for i in range(nx)]
    scores = [round(detail(img[y:y + side, x:x + side]), 6) for x, y in cells]
    for k in sorted(range(len(cells)), key=lambda k: (-scores[k], k)):
        x, y = cells[k]
        if len(boxes) < count and all(x >= b[2] or b[0] >= x + side or y >= b[3] or b[1] >= y + side for b in boxes):
            boxes.append((x, y, x + side, y + side))
    return boxes


def save_png(arr: np.ndarray, path: Path) -> None:
    """PNG at zlib level 9: lossless, and the same bytes on every run."""
    Image.fromarray(arr).save(path, format="PNG", compress_level=9)


def build(entries: list[dict], roots: dict[str, Path], out: Path, splits: tuple[str, ...]) -> list[dict]:
    """Write the crops of ``splits`` under ``out/<split>/`` and return their records."""
    sizes = {"train": (TRAIN_CROP, TRAIN_CROPS_PER_PHOTO), "heldout": (HELDOUT_CROP, HELDOUT_CROPS_PER_PHOTO)}
    for split in ("train", "heldout"):
        (out / split).mkdir(parents=True, exist_ok=True)
        for old in (out / split).glob("*.png"):
            old.unlink()  # no stale crops: the folder is exactly what dataset.json lists
    records, rcc_cache = [], {}
    for entry in entries:
        if entry["split"] not in splits:
            continue
        img = prepare(read_photo(entry, roots, rcc_cache), entry["downscale"])
        side, count = sizes[entry["split"]]
        for k, box in enumerate(pick_crops(img, side, count, entry.get("focus"))):
            name = f"{entry['split']}/{entry['id']}_{k}.png"
            save_png(img[box[1]:box[3], box[0]:box[2]], out / name)
            records.append({"file": name, "photo": entry["id"], "split": entry["split"], "kind": entry["kind"],
                            "tag": entry["tag"], "downscale": entry["downscale"], "box": list(box)})
    return records


def export_heldout(entries: list[dict], data: Path, dest: Path, versions: dict[str, str]) -> None:
    """Copy the first held-out crop of every freely licensed photo to ``dest`` with CREDITS.md."""
    dest.mkdir(parents=True, exist_ok=True)
    for old in dest.glob("*.png"):
        old.unlink()
    lines = [
        "# Held-out photo crops",
        "",
        "Made by `python -m training.build_dataset --export-heldout examples/heldout` from the",
        "held-out split of `training/manifest.json`: down-scaled by the manifest's factor",
        "(antialiased bicubic), then cropped. Never used for training. Each crop is a",
        "modified (cropped, resized) copy of the original under the licence given here.",
        "",
        "| file | source package | original file | licence | credit |",
        "|---|---|---|---|---|",
    ]
    for e in entries:
        if e["split"] != "heldout" or e["licence"] not in EXPORT_LICENCES:
            continue
        name = f"{e['id']}_0.png"
        (dest / name).write_bytes((data / "heldout" / name).read_bytes())
        original = f"{e['file']}:{e['member']}" if "member" in e else e["file"]
        credit = e["credit"] + (f", {e['source']}" if e.get("source") else "")
        pkg = f"{e['package']} {versions.get(e['package'], '')}".strip()
        lines.append(f"| `{name}` | {pkg} | `{original}` | {e['licence']} | {credit.replace('|', '/')} |")
    (dest / "CREDITS.md").write_text("\n".join(lines) + "\n", encoding="utf-8")


def folder_size(path: Path) -> int:
    """Bytes of all files under ``path``."""
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "data", help="output folder (git-ignored)")
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "srlab_pkgs",
                        help="where packages are downloaded and unpacked (never the repo)")
    parser.add_argument("--heldout-only", action="store_true", help="build only the held-out split")
    parser.add_argument("--export-heldout", type=Path, metavar="DIR",
                        help="also copy the licensed held-out crops with CREDITS.md into DIR")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    entries = load_manifest()
    splits = ("heldout",) if args.heldout_only else ("train", "heldout")
    packages = sorted({e["package"] for e in entries if e["split"] in splits})
    roots = fetch(packages, args.work)
    versions = {p: unquote((r / ".unpacked").read_text().split("_")[1]) for p, r in roots.items()}
    records = build(entries, roots, args.out, splits)
    meta = {"packages": versions, "splits": list(splits), "files": records,
            "note": "box: x0, y0, x1, y1 in the photo after down-scaling it by `downscale`"}
    (args.out / "dataset.json").write_text(json.dumps(meta, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    for split in splits:
        photos = {r["photo"] for r in records if r["split"] == split}
        print(f"{split}: {sum(r['split'] == split for r in records)} crops from {len(photos)} photos")
    total = folder_size(args.out)
    print(f"{args.out}: {total / 2**20:.2f} MiB in {time.perf_counter() - start:.0f} s")
    if total > SIZE_LIMIT:
        raise SystemExit(f"{args.out} is over {SIZE_LIMIT // 2**20} MiB: shrink the crops")
    if args.export_heldout:
        export_heldout(entries, args.out, args.export_heldout, versions)
        print(f"{args.export_heldout}: {folder_size(args.export_heldout) / 2**20:.2f} MiB")


if __name__ == "__main__":
    main()
