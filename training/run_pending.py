"""Advance every recipe model whose card is missing or below its target.

    python -m training.run_pending [NAME ...] [--budget 1200] [--slice 420] [--device auto] [--dry-run]

Meant for any session that has a GPU and time to spare (design.md, "Training
budget"): for the pending models it resumes training from
`training/runs/NAME/last.pt` (or starts it) for one slice of `--slice`
seconds, all models concurrently on a GPU (one process each) or one after
another on a CPU; then `training/evaluate.py` measures them and publishes
those that pass its gate (fp16-safe, better than bicubic) with their cards;
repeat while `--budget` seconds last. A model whose schedule is complete but
whose card is still below target gets its schedule extended by half the
recipe's length (a warm restart of the cosine), up to twice the recipe's
length; after that it is reported as given up. Prints what it did.

A model is done when `models/NAME.json` exists and says `target_met`; a
study-seed run (`NAME@seedS`, never shipped) when its schedule is complete.
Twins (recipes joined by `twin_of`, with their study seeds) are trained
exactly as long: extending one extends all, and each is pending until it
reaches the group's schedule. A fine-tune (`init_from`) waits until its
parent is done.

Between machines (the GPU machine returns at most 8 files of 16 MiB):
`--pack DIR` writes, after training, one slim checkpoint per run
and the model's published weights and cards into `DIR/NAME.tar` (the EMA
weights in fp16, iteration, schedule, wall time, history; under 10 MB);
`--unpack DIR` puts them back (a local checkpoint that is further along
wins) and regenerates README's zoo table from the cards. A run resumed from
a slim checkpoint continues from its EMA weights with fresh Adam moments
(re-warmed up).
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import subprocess
import sys
import tarfile
import time
from pathlib import Path

from sr_demo.models.zoo import models_dir as zoo_models_dir
from sr_demo.resources import repo_file
from training.recipes import RECIPES, SEED_SEP, get_recipe, study_runs

ROOT = repo_file(".")
DEFAULT_RUNS = repo_file("training/runs")
EVAL_MARGIN_S = 90  # held-out evaluation of all models + process start-up
MIN_SLICE_S = 60
MAX_SCHEDULE_FACTOR = 2  # a model below target after twice its schedule is reported, not trained on
PACK_FILE_LIMIT = 16 * 2**20


def _arg(path: Path) -> str:
    """`path` relative to the repository when inside it, so recorded commands stay portable."""
    try:
        return str(Path(path).resolve().relative_to(ROOT))
    except ValueError:
        return str(path)


def card(name: str, models: Path) -> dict | None:
    path = models / f"{name}.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None


def checkpoint_progress(name: str, runs: Path) -> tuple[int, int] | None:
    """(iteration, schedule length) of the run's last checkpoint, or None."""
    path = runs / name / "last.pt"
    if not path.is_file():
        return None
    return _progress(str(path.resolve()), path.stat().st_mtime_ns)


@functools.lru_cache(maxsize=256)
def _progress(path: str, _mtime_ns: int) -> tuple[int, int]:
    """Cached by modification time: twin groups ask for the same checkpoints many times."""
    import torch

    ck = torch.load(path, map_location="cpu", weights_only=False)
    return int(ck["iteration"]), int(ck["total_iters"])


def status_line(name: str, models: Path, runs: Path) -> str:
    c = card(name, models)
    prog = checkpoint_progress(name, runs)
    run = f"checkpoint {prog[0]}/{prog[1]}" if prog else "no checkpoint"
    if SEED_SEP in name:
        return f"{name}: study seed run (never shipped); {run}"
    if c is None:
        ev = runs / name / "eval.json"
        if ev.is_file():
            e = json.loads(ev.read_text(encoding="utf-8"))
            return f"{name}: no card (last evaluation {e['gain_db']:+.2f} dB, not published: {'; '.join(e['gate'])}); {run}"
        return f"{name}: no card; {run}"
    met = "target met" if c["target_met"] else "BELOW target" + (", given up" if exhausted(name, runs) else "")
    return f"{name}: card {c['gain_db']:+.2f} dB vs target {c['target_gain_db']:+.1f} ({met}), {c['iterations']} iterations; {run}"


def twin_group(name: str) -> list[str]:
    """Every run trained exactly as long as `name`: recipes joined by `twin_of`, and their study seeds."""
    def root(n: str) -> str:
        while RECIPES[n].twin_of:
            n = RECIPES[n].twin_of
        return n

    top = root(name.partition(SEED_SEP)[0])
    members = [n for n in RECIPES if root(n) == top]
    return members + [s for s in study_runs() if s.partition(SEED_SEP)[0] in members]


def planned_total(name: str, runs: Path, models: Path) -> int:
    """The schedule this run should reach now: its own (extended by half when it is complete and
    still below target), raised to the longest of its twin group."""
    def own(n: str) -> int:
        prog = checkpoint_progress(n, runs)
        if prog is None:
            return get_recipe(n).iters
        it, total = prog
        below = SEED_SEP not in n and not (card(n, models) or {}).get("target_met") and not exhausted(n, runs)
        return total + get_recipe(n).iters // 2 if it >= total and below else total

    return max(own(n) for n in twin_group(name))


def waiting_for(name: str, models: Path, runs: Path) -> str | None:
    """The parent a fine-tune still waits for, or None."""
    parent = get_recipe(name).init_from
    if parent and _pending_alone(parent, models, runs):
        return parent
    return None


def exhausted(name: str, runs: Path) -> bool:
    """Complete at MAX_SCHEDULE_FACTOR x its recipe's length: further warm restarts are not worth the GPU."""
    prog = checkpoint_progress(name, runs)
    return prog is not None and prog[0] >= prog[1] >= MAX_SCHEDULE_FACTOR * get_recipe(name).iters


def _pending_alone(name: str, models: Path, runs: Path) -> bool:
    prog = checkpoint_progress(name, runs)
    if SEED_SEP in name:
        return prog is None or prog[0] < prog[1]
    c = card(name, models)
    return (c is None or not c.get("target_met")) and not exhausted(name, runs)


def pending(names: list[str], models: Path, runs: Path = DEFAULT_RUNS) -> list[str]:
    """Names still to train: not done themselves, or behind their twin group's schedule."""
    out = []
    for name in names:
        prog = checkpoint_progress(name, runs)
        if _pending_alone(name, models, runs) or (prog is not None and prog[0] < planned_total(name, runs, models)):
            out.append(name)
    return out


def ready_to_train(names: list[str], models: Path, runs: Path) -> list[str]:
    """`names` without the fine-tunes whose parent is not done yet (said once per call)."""
    out = []
    for name in names:
        parent = waiting_for(name, models, runs)
        if parent:
            print(f"{name}: waits for {parent} (it fine-tunes its finished weights)")
        else:
            out.append(name)
    return out


def choose(todo: list[str], limit: int) -> list[str]:
    """At most `limit` runs for one slice, in table order, twin groups whole (twins train side by side)."""
    chosen: list[str] = []
    for name in todo:
        if name in chosen:
            continue
        group = [n for n in todo if n in twin_group(name) and n not in chosen] or [name]
        if chosen and len(chosen) + len(group) > limit:
            continue
        chosen += group
    return chosen


def train_commands(names: list[str], runs: Path, slice_s: float, device: str, models: Path) -> list[list[str]]:
    cmds = []
    for name in names:
        cmd = [sys.executable, "-m", "training.train", name, "--resume", "--no-eval", "--device", device,
               "--out", _arg(runs), "--time-limit", str(int(slice_s))]
        prog = checkpoint_progress(name, runs)
        total = planned_total(name, runs, models)
        if total != (prog[1] if prog else get_recipe(name).iters):  # extended, or raised to the twins' schedule
            cmd += ["--iters", str(total)]
        cmds.append(cmd)
    return cmds


def gpu_available(device: str) -> bool:
    if device == "cpu":
        return False
    import torch

    return torch.cuda.is_available()


def run_slice(names: list[str], runs: Path, slice_s: float, device: str, models: Path) -> None:
    gpu = gpu_available(device)
    cmds = train_commands(names, runs, slice_s if gpu else slice_s / len(names), device, models)
    for c in cmds:
        print("$", " ".join(c[1:]), flush=True)
    if gpu:  # all at once: one light net leaves most of the GPU idle
        cores = os.cpu_count() or 1
        per = max(1, cores // len(cmds))
        procs = []
        for c in cmds:
            env = dict(os.environ, OMP_NUM_THREADS=str(max(1, min(4, per // 2))))
            procs.append(subprocess.Popen(c + ["--workers", str(max(1, min(6, per - 1)))], env=env, cwd=ROOT))
        codes = [p.wait() for p in procs]
    else:
        codes = [subprocess.call(c, cwd=ROOT) for c in cmds]  # a CPU: one after another, sharing the slice
    for name, code in zip(names, codes):
        if code:
            print(f"{name}: training exited with status {code}", flush=True)


def evaluate(names: list[str], runs: Path, models: Path | None) -> None:
    ready = [n for n in names if SEED_SEP not in n and (runs / n / "last.pt").is_file()]  # study seeds never ship
    if not ready:
        return
    cmd = [sys.executable, "-m", "training.evaluate", *ready, "--weights-from", _arg(runs)]
    if models is not None:
        cmd += ["--models-dir", _arg(models)]
    print("$", " ".join(cmd[1:]), flush=True)
    subprocess.call(cmd, cwd=ROOT)


def tar_name(name: str) -> str:
    """`NAME.tar`, with `@` spelled out: the GPU machine returns only plain file names."""
    return name.replace(SEED_SEP, "_seed") + ".tar"


def pack(dest: Path, names: list[str], runs: Path, models: Path) -> list[Path]:
    """One tar per model (see the module doc): `last.pt` slimmed to its fp16 EMA
    weights (and a GAN's discriminator) and progress, plus the model's published files."""
    import io

    import torch

    dest.mkdir(parents=True, exist_ok=True)
    written = []
    for name in names:
        src = runs / name / "last.pt"
        published = [models / f"{name}{ext}" for ext in (".safetensors", ".json", ".md")]
        published = [f for f in published if f.is_file()]
        if not src.is_file() and not published:
            continue
        with tarfile.open(dest / tar_name(name), "w") as tar:
            if src.is_file():
                ck = torch.load(src, map_location="cpu", weights_only=False)
                slim = {k: ck[k] for k in ("recipe", "iteration", "total_iters", "elapsed", "history", "init") if k in ck}
                for key in ("ema", "disc"):
                    if key in ck:
                        slim[key] = {k: (v.half() if v.is_floating_point() else v).contiguous() for k, v in ck[key].items()}
                buf = io.BytesIO()
                torch.save(slim, buf)
                info = tarfile.TarInfo(f"runs/{name}/last.pt")
                info.size = buf.tell()
                buf.seek(0)
                tar.addfile(info, buf)
            for f in published:
                tar.add(f, arcname=f"models/{f.name}")
        written.append(dest / tar_name(name))
    for f in written:
        size = f.stat().st_size
        print(f"packed {f} ({size / 2**20:.1f} MiB)" + (" OVER the 16 MiB a file" if size > PACK_FILE_LIMIT else ""))
    return written


def unpack(src: Path, runs: Path, models: Path, readme: Path | None = None) -> None:
    """The inverse of `pack`; a local checkpoint that is further along is kept;
    `readme`'s zoo table is regenerated from the cards in `models`."""
    import io

    import torch

    for tar_path in sorted(src.glob("*.tar")):
        with tarfile.open(tar_path) as tar:
            runs_in = {m.name.split("/")[1] for m in tar.getmembers() if m.name.startswith("runs/")}
            name = runs_in.pop() if len(runs_in) == 1 else tar_path.stem
            try:
                get_recipe(name)
            except SystemExit:
                print(f"unpack: skipped {tar_path} (no such recipe or study seed: {name})")
                continue
            for member in tar.getmembers():
                data = tar.extractfile(member).read() if member.isfile() else None
                if data is not None and member.name == f"runs/{name}/last.pt":
                    target = runs / name / "last.pt"
                    new_it = int(torch.load(io.BytesIO(data), map_location="cpu", weights_only=False)["iteration"])
                    if target.is_file():
                        old_it = int(torch.load(target, map_location="cpu", weights_only=False)["iteration"])
                        if old_it >= new_it:
                            print(f"unpack: kept {target} (iteration {old_it} >= packed {new_it})")
                            continue
                    target.parent.mkdir(parents=True, exist_ok=True)
                    target.write_bytes(data)
                    print(f"unpack: {target} (iteration {new_it})")
                elif data is not None and member.name in {f"models/{name}{e}" for e in (".safetensors", ".json", ".md")}:
                    models.mkdir(parents=True, exist_ok=True)
                    (models / Path(member.name).name).write_bytes(data)
                    print(f"unpack: {models / Path(member.name).name}")
                else:
                    print(f"unpack: skipped {member.name} in {tar_path}")
    if readme is not None:
        from training import evaluate

        evaluate.update_readme(readme, models)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("names", nargs="*", metavar="NAME", help="default: every recipe and study seed (NAME@seedS)")
    ap.add_argument("--budget", type=float, default=1200, help="seconds for the whole job (default 1200)")
    ap.add_argument("--slice", type=float, default=420, help="training seconds between evaluations (default 420)")
    ap.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    ap.add_argument("--out", type=Path, default=DEFAULT_RUNS, help="run folders (default training/runs)")
    ap.add_argument("--models-dir", type=Path, help="cards and weights (default models/)")
    ap.add_argument("--max-concurrent", type=int, default=8,
                    help="runs per slice (default 8: a 16-core GPU machine feeds about that many); twin groups stay whole")
    ap.add_argument("--dry-run", action="store_true", help="print the plan, train nothing")
    ap.add_argument("--unpack", type=Path, metavar="DIR", help="first restore what --pack wrote into DIR")
    ap.add_argument("--pack", type=Path, metavar="DIR", help="at the end, write slim checkpoints + published files to DIR")
    args = ap.parse_args(argv)
    names = args.names or [*RECIPES, *study_runs()]
    for n in names:
        get_recipe(n)
    models = args.models_dir or zoo_models_dir()
    if args.unpack:
        unpack(args.unpack, args.out, models, ROOT / "README.md")
    t0 = time.time()
    print("before:")
    for n in names:
        print("  " + status_line(n, models, args.out))
    todo = ready_to_train(pending(names, models, args.out), models, args.out)
    if not todo:
        print("nothing to train now: every card meets its target, or waits for its parent")
        if args.pack:
            pack(args.pack, names, args.out, models)
        return 0
    if args.dry_run:
        print(f"would train {', '.join(choose(todo, args.max_concurrent))} first (of {len(todo)} pending) for slices "
              f"of {args.slice:.0f} s within {args.budget:.0f} s, then evaluate")
        return 0
    rounds = 0
    while todo:
        left = args.budget - (time.time() - t0) - EVAL_MARGIN_S
        slice_s = min(args.slice, left)
        if slice_s < MIN_SLICE_S:
            break
        rounds += 1
        batch = choose(todo, args.max_concurrent)
        print(f"round {rounds}: training {', '.join(batch)} for {slice_s:.0f} s", flush=True)
        run_slice(batch, args.out, slice_s, args.device, models)
        evaluate(batch, args.out, args.models_dir)
        todo = ready_to_train(pending(names, models, args.out), models, args.out)
    print(f"after {rounds} round(s), {time.time() - t0:.0f} s:")
    for n in names:
        print("  " + status_line(n, models, args.out))
    still = pending(names, models, args.out)
    print("still pending: " + (", ".join(still) if still else "none"))
    if args.pack:
        pack(args.pack, names, args.out, models)
    return 0


if __name__ == "__main__":
    sys.exit(main())
