"""Every metric of the Score tab against degradation level on the held-out crops: the README's IQA table.

    python -m training.evaluate_iqa --rows "ST-LPIPS alex" "ST-LPIPS vgg" [--stride 1] [--threads 1]
    python -m training.evaluate_iqa --table [--table-out PATH]

The protocol is training/evaluate_swdn.py's (`prepare`, `measure`): for every
held-out crop (`data/heldout`, else `examples/heldout`) and every degradation
type of `evaluate_swdn.KINDS` (blur, noise, JPEG, resize and Real-ESRGAN's
second order at five strengths), SRCC and PLCC between level (1..5) and each
metric's badness, pooled over photos (for one type, every (photo, level) pair
is one point: a metric must rank levels and also be comparable across
contents); and the 1-px shift / JPEG q90 change ratio. Badness: -PSNR-Y (MSE
for the shift ratio, PSNR being infinite on identical images), 1 - SSIM-Y,
1 - MS-SSIM-Y, NIQE (no-reference: the reference is not used), the
distances of ST-LPIPS and SWDN.

Each row is computed once and kept in `training/runs/iqa-eval/` with the
held-out files' digest and the command that made it, so slow rows can run in
parallel processes; `--table` assembles the markdown table from those files
(refusing rows made on other held-out files) and lists their commands.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shlex
import sys
from collections.abc import Callable

import numpy as np
import torch

from sr_demo.resources import repo_file
from training.evaluate_swdn import (
    KINDS,
    _t,
    classic,
    measure,
    prepare,
    results_table,
    swdn_badness,
)
from training.train_swdn import ROOT, load_photos

CACHE = ROOT / "training" / "runs" / "iqa-eval"


def one_minus_ms_ssim(dists: list[np.ndarray], ref: np.ndarray) -> list[float]:
    from sr_demo.iqa.msssim import ms_ssim

    return [1.0 - ms_ssim(d, ref) for d in dists]


def niqe_badness(dists: list[np.ndarray], _ref: np.ndarray) -> list[float]:
    from sr_demo.iqa.niqe import niqe

    return [niqe(d) for d in dists]


def stlpips_badness(net: str):
    """ST-LPIPS distances of a batch to one reference, its features computed once."""
    from sr_demo.iqa.stlpips import load_stlpips

    model = load_stlpips(net)

    @torch.no_grad()
    def fn(dists: list[np.ndarray], ref: np.ndarray) -> list[float]:
        ref_f = model.features(_t(ref))
        out = []
        for i in range(0, len(dists), 4):
            batch = torch.cat([_t(d) for d in dists[i:i + 4]])
            out += model.distance(model.features(batch), ref_f).tolist()
        return out

    return fn


def shipped_swdn():
    from sr_demo.iqa.swdn import load_swdn

    return swdn_badness(load_swdn(repo_file("models/swdn-inhouse.safetensors")))


V2_RUNS = ROOT / "training" / "runs" / "swdn-v2"
#: channel vectors of SWDN v2 per (pool, radii, id(ref), id(image)): the no-warp ablation reuses the trunk pass
#: of the L2-pooled model when both rows are measured in one process (`prepare`'s images live that long).
_V2_VECTORS: dict[tuple, torch.Tensor] = {}


def swdn_v2_badness(variant: str):
    """SWDN v2 (or an ablation) distances, from training/runs/swdn-v2/VARIANT.safetensors."""
    from sr_demo.iqa.swdn_v2 import SWDNv2, SWDNv2Config, load_swdn_v2

    path = V2_RUNS / f"{variant}.safetensors"
    if not path.is_file():
        raise SystemExit(f"No {path}: run `python -m training.train_swdn_v2` first.")
    model = load_swdn_v2(path)
    pool = model.config.pool
    radii_sets = [model.config.radii] + ([(0,) * 5, (2, 1, 1, 1, 1)] if pool == "l2" else [])
    nets = {r: SWDNv2(SWDNv2Config(pool=pool, radii=r), trunk=model.trunk) for r in dict.fromkeys(radii_sets)}

    @torch.no_grad()
    def fn(dists: list[np.ndarray], ref: np.ndarray) -> list[float]:
        todo = [d for d in dists if (pool, model.config.radii, id(ref), id(d)) not in _V2_VECTORS]
        if todo:
            fr = model.features(_t(ref))
            for i in range(0, len(todo), 4):
                chunk = todo[i:i + 4]
                fd = model.features(torch.cat([_t(d) for d in chunk]))
                for radii, net in nets.items():
                    v = net.channel_vector([a.expand(len(chunk), -1, -1, -1) for a in fr], fd)
                    for d, row in zip(chunk, v):
                        _V2_VECTORS[(pool, radii, id(ref), id(d))] = row
        return [float(model.distance_from_vector(_V2_VECTORS[(pool, model.config.radii, id(ref), id(d))][None]))
                for d in dists]

    return fn


#: Row name -> () -> (badness, shift badness or None for the same one). Built lazily: only the rows asked for load.
ROWS: dict[str, Callable[[], tuple[Callable, Callable | None]]] = {
    "PSNR-Y": lambda: (classic("psnr_y"), classic("mse_y")),
    "SSIM-Y": lambda: (classic("ssim_y"), None),
    "MS-SSIM-Y": lambda: (one_minus_ms_ssim, None),
    "NIQE": lambda: (niqe_badness, None),
    "ST-LPIPS alex": lambda: (stlpips_badness("alex"), None),
    "ST-LPIPS vgg": lambda: (stlpips_badness("vgg"), None),
    "SWDN in-house (old, shipped)": lambda: (shipped_swdn(), None),
    "SWDN v2": lambda: (swdn_v2_badness("swdn-v2"), None),
    "SWDN v2 no-warp ablation": lambda: (swdn_v2_badness("nowarp"), None),
    "SWDN v2 max-pool ablation": lambda: (swdn_v2_badness("maxpool"), None),
}


def heldout_digest(stride: int) -> tuple[str, int, str]:
    """(folder, crops used, sha256 over their names and bytes): which held-out files a row was measured on."""
    for folder in (ROOT / "data" / "heldout", ROOT / "examples" / "heldout"):
        files = sorted(folder.glob("*.png"))[::stride]
        if files:
            digest = hashlib.sha256()
            for f in files:
                digest.update(f.name.encode() + f.read_bytes())
            return str(folder.relative_to(ROOT)), len(files), digest.hexdigest()
    raise SystemExit("No held-out photos: run `python -m training.build_dataset --out data --heldout-only` first.")


def _cache_file(row: str, stride: int):
    slug = "".join(c if c.isalnum() else "-" for c in row.lower()).strip("-")
    return CACHE / f"{slug}-stride{stride}.json"


def compute_rows(rows: list[str], stride: int) -> None:
    folder, count, digest = heldout_digest(stride)
    items = prepare(load_photos("heldout")[::stride])
    CACHE.mkdir(parents=True, exist_ok=True)
    for row in rows:
        fn, shift_fn = ROWS[row]()
        result = measure(fn, items, shift_fn=shift_fn)
        _save(row, stride, folder, count, digest, result)


def _save(row: str, stride: int, folder: str, count: int, digest: str, result: dict) -> None:
    record = {"row": row, "heldout": folder, "crops": count, "sha256": digest, "result": result,
              "command": "python -m training.evaluate_iqa " + shlex.join(sys.argv[1:])}
    _cache_file(row, stride).write_text(json.dumps(record, indent=1) + "\n")
    print(results_table({row: result}).splitlines()[-1], flush=True)


def _calls(item: dict) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """The two batches `measure` scores per item: every level of every type, then reference, shifts, JPEG q90."""
    return ([img for k in KINDS for img in item["levels"][k]],
            [item["ref"], *item["shifts"], item["jpeg90"]])


def compute_part(row: str, stride: int, part: int, parts: int) -> None:
    """The raw scores of every `parts`-th crop from `part` on, so one slow row can use several processes."""
    _, _, digest = heldout_digest(stride)
    items = prepare(load_photos("heldout")[::stride])
    fn, shift_fn = ROWS[row]()
    values = {}
    for i in range(part, len(items), parts):
        levels, shifts = _calls(items[i])
        values[i] = {"levels": fn(levels, items[i]["ref"]), "shifts": (shift_fn or fn)(shifts, items[i]["ref"])}
    CACHE.mkdir(parents=True, exist_ok=True)
    path = _cache_file(row, stride).with_suffix(f".part{part}of{parts}")
    path.write_text(json.dumps({"sha256": digest, "values": values,
                                "command": "python -m training.evaluate_iqa " + shlex.join(sys.argv[1:])}))
    print(f"{row}: part {part} of {parts} ({len(values)} crops) written", flush=True)


def merge_parts(row: str, stride: int, parts: int) -> None:
    """`measure` over all crops, replaying the scores the part processes wrote (same statistics code)."""
    folder, count, digest = heldout_digest(stride)
    values, commands = {}, []
    for part in range(parts):
        record = json.loads(_cache_file(row, stride).with_suffix(f".part{part}of{parts}").read_text())
        if record["sha256"] != digest:
            raise SystemExit(f"{row}: part {part} was measured on other held-out files.")
        values.update({int(k): v for k, v in record["values"].items()})
        commands.append(record["command"])
    if sorted(values) != list(range(count)):
        raise SystemExit(f"{row}: the parts hold crops {sorted(values)}, not all {count}.")
    # the scores are all known: `measure` only needs each crop's layout, the reference standing for its index
    items = [{"ref": i, "levels": {k: [None] * 5 for k in KINDS}, "shifts": [None, None], "jpeg90": None}
             for i in range(count)]
    result = measure(lambda dists, ref: values[ref]["levels"], items,
                     shift_fn=lambda dists, ref: values[ref]["shifts"])
    _save(row, stride, folder, count, digest, result)
    record = json.loads(_cache_file(row, stride).read_text())
    record["command"] = "\n".join(commands + [record["command"]])
    _cache_file(row, stride).write_text(json.dumps(record, indent=1) + "\n")


def table(stride: int) -> str:
    """The markdown table of every cached row measured on the current held-out files, with the commands."""
    folder, count, digest = heldout_digest(stride)
    results, commands, missing = {}, [], []
    for row in ROWS:
        path = _cache_file(row, stride)
        record = json.loads(path.read_text()) if path.is_file() else None
        if record is None or record["sha256"] != digest or list(record["result"]["srcc"]) != list(KINDS):
            missing.append(row)
            continue
        results[row] = record["result"]
        commands.append(record["command"])
    text = (f"{count} held-out crops ({folder}, sha256 {digest[:12]}…); SRCC/PLCC of each metric's badness with "
            "degradation level, pooled over photos; last column: 1-px shift / JPEG q90 change.\n\n"
            + results_table(results) + "\n\n```\n"
            + "\n".join(dict.fromkeys(commands + ["python -m training.evaluate_iqa " + shlex.join(sys.argv[1:])]))
            + "\n```\n")
    if missing:
        text += "\nNot measured yet on these files with these degradation types: " + ", ".join(missing) + "\n"
    return text


#: Issue 11's targets for SWDN v2, checked against ST-LPIPS-vgg measured on the same crops.
V2_TARGETS = {"srcc_min": 0.85, "srcc_below_stlpips_vgg_at_most": 0.03, "shift_ratio": 0.25}


def ship_v2(stride: int) -> None:
    """models/swdn-v2.safetensors and its card (JSON + Markdown) from the trained run and the cached rows."""
    import shutil

    from sr_demo.models.loader import file_sha256

    folder, count, digest = heldout_digest(stride)
    rows = {}
    for row in ("SWDN v2", "SWDN v2 no-warp ablation", "SWDN v2 max-pool ablation", "ST-LPIPS vgg", "PSNR-Y",
                "SSIM-Y", "SWDN in-house (old, shipped)"):
        path = _cache_file(row, stride)
        record = json.loads(path.read_text()) if path.is_file() else None
        if record and record["sha256"] == digest and list(record["result"]["srcc"]) == list(KINDS):
            rows[row] = record
    if "SWDN v2" not in rows:
        raise SystemExit("Measure the SWDN v2 row first (--rows 'SWDN v2').")
    target = repo_file("models") / "swdn-v2.safetensors"
    shutil.copyfile(V2_RUNS / "swdn-v2.safetensors", target)
    training = json.loads((V2_RUNS / "swdn-v2.json").read_text())
    v2 = rows["SWDN v2"]["result"]
    passes = {"srcc_min": v2["min_srcc"] >= V2_TARGETS["srcc_min"], "shift_ratio": v2["shift_ratio"] <= V2_TARGETS["shift_ratio"]}
    if "ST-LPIPS vgg" in rows:
        st = rows["ST-LPIPS vgg"]["result"]["srcc"]
        passes["srcc_vs_stlpips_vgg"] = all(v2["srcc"][k] >= st[k] - V2_TARGETS["srcc_below_stlpips_vgg_at_most"]
                                            for k in st)
    card = {
        "name": "swdn-v2",
        "label": "SWDN v2: ST-LPIPS's VGG16 (frozen) + per-channel weights trained in-house on synthetic "
                 "degradation levels and 0-2 px shifts (CPU), not PIPAL-trained",
        "weights": target.name, "sha256": file_sha256(target), "bytes": target.stat().st_size,
        "trunk": "stlpips-pytorch 0.0.2 vgg_shift_tolerant.pth (sha256 pinned in sr_demo/iqa/stlpips.py)",
        "training": training,
        "heldout": {"folder": folder, "crops": count, "sha256": digest},
        "evaluation": {row: r["result"] for row, r in rows.items()},
        "targets": V2_TARGETS, "passes": passes,
        "commands": list(dict.fromkeys([training["command"]] + [r["command"] for r in rows.values()]
                                       + ["python -m training.evaluate_iqa " + shlex.join(sys.argv[1:])])),
    }
    (repo_file("models") / "swdn-v2.json").write_text(json.dumps(card, indent=1) + "\n")
    (repo_file("models") / "swdn-v2.md").write_text(
        f"# swdn-v2 ({card['label']})\n\nTrunk: {card['trunk']}. Learned: {training['items']} train crops x 7 "
        f"images, {training['steps']} full-batch Adam steps on cached channel vectors ({training['train_seconds']} s). "
        "Objective: see training/train_swdn_v2.py.\n\n"
        f"Held-out evaluation on {count} crops ({folder}); SRCC/PLCC of each metric's badness with degradation "
        "level, pooled over photos; last column: 1-px shift / JPEG q90 change.\n\n"
        + results_table(card["evaluation"]) + f"\n\nTargets {V2_TARGETS}: {passes}\n\n```\n"
        + "\n".join(card["commands"]) + "\n```\n")
    print(f"wrote {target} and models/swdn-v2.json/.md; targets met: {passes}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", nargs="+", default=[], choices=list(ROWS), help="rows to (re)measure")
    parser.add_argument("--stride", type=int, default=1, help="every Nth held-out crop (1: all 34)")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    parser.add_argument("--table", action="store_true", help="print the table of the measured rows")
    parser.add_argument("--table-out", help="also write the table to this file")
    parser.add_argument("--ship-v2", action="store_true", help="copy SWDN v2's weights to models/ with their card")
    parser.add_argument("--part", help="K/N: raw scores of every N-th crop from K on, for the one row in --rows")
    parser.add_argument("--merge", type=int, default=0, help="N: assemble the rows in --rows from their N parts")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    if args.part:
        k, n = (int(v) for v in args.part.split("/"))
        for row in args.rows:
            compute_part(row, args.stride, k, n)
    elif args.merge:
        for row in args.rows:
            merge_parts(row, args.stride, args.merge)
    else:
        compute_rows(args.rows, args.stride)
    if args.table or args.table_out:
        text = table(args.stride)
        print(text)
        if args.table_out:
            from pathlib import Path

            Path(args.table_out).write_text(text)
    if args.ship_v2:
        ship_v2(args.stride)


if __name__ == "__main__":
    main()
