"""Train SR Lab's in-house zoo models (hyper-parameters in `training/recipes.py`, the network in the zoo entry).

    python -m training.train NAME [NAME ...] [--iters N] [--resume] [--device auto|cpu|cuda]
                             [--out training/runs] [--time-limit SECONDS]

Random HR crops (flips, rot90) come from DataLoader worker processes as
uint8; the LR input is made on the training device with
`sr_demo.degradations.degrade_torch` (preset "clean" for bicubic models,
"realesrgan" for real-world ones; its JPEG is OpenCV's, on the CPU). L1 loss,
Adam, linear warm-up then cosine decay, an EMA of the weights (exported),
bf16 autocast + channels_last on CUDA only.

Every `ckpt_every` iterations, at the end of the schedule and when
`--time-limit` runs out, `training/runs/NAME/last.pt` is written (model, EMA,
optimizer, scheduler, iteration, wall time, RNG states, the commands and
hardware of every slice); `--resume` continues from it, `--iters` changes
(e.g. extends) the schedule's length. Log lines go to stdout and
`training/runs/NAME/log.txt`.

Several NAMEs on a GPU train concurrently, one process each, sharing the
GPU; on a CPU they train one after another. When a model's schedule is
complete its EMA weights are exported through `training/evaluate.py`, which
measures them on the held-out split and writes `models/NAME.safetensors`
with its card (skip with `--no-eval`).

GAN fine-tunes (recipe `init_from` + `adv_weight > 0`, e.g. srresnet-gan-x4):
a fresh run starts from the parent recipe's finished EMA weights (its
complete `training/runs/PARENT/last.pt`, else the shipped
`models/PARENT.safetensors`; the source, its iteration and sha256 are
recorded as the checkpoint's "init") and adds `adv_weight` x a vanilla GAN
loss against a U-Net discriminator (`training/gan.py`) trained alongside;
its weights and optimizer are checkpointed as "disc"/"disc_optimizer".

Study seed runs: `NAME@seedS` (S one of the recipe's `study_seeds`) trains
NAME with seed S into `training/runs/NAME@seedS/`; they are never evaluated
or exported here (the RDSR study reads their checkpoints).

Needs only torch, numpy, OpenCV and safetensors (plus `sr_demo.degradations`
and `sr_demo.models.archs`/`zoo`), so it runs unchanged on the GPU machine.
"""

from __future__ import annotations

import argparse
import copy
import json
import math
import os
import platform
import random
import shlex
import subprocess
import sys
import time
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, IterableDataset, get_worker_info

from sr_demo.degradations import degrade_torch, preset_spec
from sr_demo.models.archs import build_arch
from sr_demo.models.loader import file_sha256
from sr_demo.resources import repo_file
from training.gan import UNetDiscriminatorSN, discriminator_loss, generator_adv_loss
from training.recipes import RECIPES, SEED_SEP, Recipe, get_recipe

ROOT = repo_file(".")
DEFAULT_DATA = repo_file("data/train")
DEFAULT_OUT = repo_file("training/runs")
DISC_FEAT = 64  # the GAN fine-tune's discriminator width (Real-ESRGAN's)


# --- configuration -----------------------------------------------------------


@dataclass
class TrainConfig:
    """Per-run options (the CLI's), on top of the recipe."""

    out: Path = DEFAULT_OUT
    data: Path = DEFAULT_DATA
    device: str = "auto"
    iters: int | None = None  # schedule length; None = the recipe's
    resume: bool = False
    time_limit: float | None = None  # seconds of this process
    workers: int | None = None  # None = from the cores
    threads: int | None = None  # torch intra-op threads; None = from the cores
    seed: int | None = None  # None = the recipe's (twins share it)
    log_every: int = 50
    command: str = ""  # recorded in the checkpoint's history


def resolve_device(device: str) -> torch.device:
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise SystemExit("--device cuda: no CUDA device here")
    return torch.device(device)


def available_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def hardware(device: torch.device) -> str:
    """'NVIDIA H100 80GB HBM3' or 'CPU: <model name> (N cores)'."""
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    name = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                name = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"CPU: {name} ({available_cores()} cores)"


# --- data ----------------------------------------------------------------------


def load_images(folder: Path) -> list[np.ndarray]:
    """Every PNG in `folder` as HxWx3 uint8 RGB (sorted by name)."""
    paths = sorted(Path(folder).glob("*.png"))
    if not paths:
        raise SystemExit(f"no training images (*.png) in {folder}; build them: python -m training.build_dataset --out data")
    images = []
    for p in paths:
        bgr = cv2.imread(str(p), cv2.IMREAD_COLOR)
        if bgr is None:
            raise SystemExit(f"cannot read {p}")
        images.append(np.ascontiguousarray(bgr[:, :, ::-1]))
    return images


class RandomCrops(IterableDataset):
    """An endless stream of (HR crop CxHxW uint8, degradation seed): a random
    image, a random `patch`-sized window, a random flip and rot90.

    Each worker draws from its own generator, seeded by (seed, stream, worker),
    so a resumed run (a new `stream`, its start iteration) sees fresh crops.
    """

    def __init__(self, images: list[np.ndarray], patch: int, seed: int, stream: int) -> None:
        super().__init__()
        usable = [im for im in images if min(im.shape[:2]) >= patch]
        if not usable:
            raise SystemExit(f"HR patch {patch} is larger than every training image")
        self.skipped = len(images) - len(usable)  # smaller than one patch
        self.images, self.patch, self.seed, self.stream = usable, patch, seed, stream

    def __iter__(self):
        info = get_worker_info()
        rng = np.random.default_rng([self.seed, self.stream, info.id if info else 0])
        p = self.patch
        while True:
            img = self.images[int(rng.integers(len(self.images)))]
            y = int(rng.integers(img.shape[0] - p + 1))
            x = int(rng.integers(img.shape[1] - p + 1))
            crop = img[y : y + p, x : x + p]
            t = int(rng.integers(8))
            if t & 4:
                crop = crop[:, ::-1]
            crop = np.rot90(crop, t & 3)
            yield torch.from_numpy(np.ascontiguousarray(crop.transpose(2, 0, 1))), int(rng.integers(2**31))


def make_loader(images: list[np.ndarray], recipe: Recipe, batch: int, workers: int, seed: int, stream: int,
                pin: bool) -> DataLoader:
    dataset = RandomCrops(images, recipe.hr_patch, seed, stream)
    kwargs = dict(batch_size=batch, num_workers=workers, pin_memory=pin)
    if workers > 0:
        kwargs.update(persistent_workers=True, prefetch_factor=4)
    return DataLoader(dataset, **kwargs)


# --- schedule, EMA, checkpoints ---------------------------------------------------------


def lr_factor(it: int, total: int, warmup: int, min_ratio: float) -> float:
    """Linear warm-up over `warmup` iterations, then cosine from 1 to `min_ratio` at `total`."""
    if warmup > 0 and it < warmup:
        return (it + 1) / warmup
    t = min(1.0, (it - warmup) / max(1, total - warmup))
    return min_ratio + (1 - min_ratio) * 0.5 * (1 + math.cos(math.pi * t))


@torch.no_grad()
def ema_update(ema: torch.nn.Module, model: torch.nn.Module, decay: float, it: int) -> None:
    """EMA with BasicSR's decay, warmed up ((1+it)/(10+it)) so that short runs are not dominated by the init."""
    d = min(decay, (1 + it) / (10 + it))
    e_params, m_params = list(ema.parameters()), list(model.parameters())
    torch._foreach_lerp_(e_params, m_params, 1 - d)
    for eb, mb in zip(ema.buffers(), model.buffers()):
        eb.copy_(mb)


def _rel(path: Path) -> str:
    try:
        return str(Path(path).resolve().relative_to(ROOT))
    except ValueError:
        return str(Path(path).resolve())


def run_dir(out: Path, name: str) -> Path:
    return Path(out) / name


def save_checkpoint(path: Path, state: dict) -> None:
    """Atomic: write beside, then rename, so a kill never leaves half a checkpoint."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    torch.save(state, tmp)
    os.replace(tmp, path)


def load_checkpoint(path: Path) -> dict:
    # Our own file (RNG states need more than weights_only allows).
    return torch.load(path, map_location="cpu", weights_only=False)


def _rng_states() -> dict:
    return {
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
        "numpy": np.random.get_state(),
        "python": random.getstate(),
    }


def _set_rng_states(s: dict) -> None:
    torch.set_rng_state(s["torch"])
    if s.get("cuda") and torch.cuda.is_available() and len(s["cuda"]) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all(s["cuda"])
    np.random.set_state(s["numpy"])
    random.setstate(s["python"])


def parent_weights(recipe: Recipe, out: Path, models: Path | None = None) -> tuple[dict[str, torch.Tensor], dict]:
    """The finished EMA weights a fine-tune (`recipe.init_from`) starts from,
    and a record of where they came from (for the checkpoint and the card).

    The parent's own run `out/PARENT/last.pt` when its schedule is complete,
    else the shipped `PARENT.safetensors` (fp16) in `models` (default: the
    zoo's models dir), else SystemExit."""
    parent = recipe.init_from
    ck_path = run_dir(out, parent) / "last.pt"
    missing = []
    if ck_path.is_file():
        ck = load_checkpoint(ck_path)
        if ck["iteration"] >= ck["total_iters"]:
            if ck["recipe"]["arch"] != recipe.arch:
                raise SystemExit(f"{recipe.name}: parent {ck_path} is a {ck['recipe']['arch']}, not a {recipe.arch}")
            return ck["ema"], {"parent": parent, "source": "run", "path": _rel(ck_path), "iteration": ck["iteration"],
                               "total_iters": ck["total_iters"], "sha256": file_sha256(ck_path)}
        missing.append(f"{ck_path} is incomplete (iteration {ck['iteration']}/{ck['total_iters']})")
    else:
        missing.append(f"no {ck_path}")
    from sr_demo.models.zoo import models_dir

    weights = Path(models or models_dir()) / f"{parent}.safetensors"
    if weights.is_file():
        from safetensors.torch import load_file

        digest = file_sha256(weights)
        iteration = None
        card_path = weights.with_suffix(".json")
        if card_path.is_file():
            try:
                card = json.loads(card_path.read_text())
            except ValueError:
                card = {}
            if card.get("sha256") == digest:
                iteration = card.get("iterations")
        return load_file(str(weights)), {"parent": parent, "source": "shipped", "path": _rel(weights),
                                         "iteration": iteration, "total_iters": None, "sha256": digest}
    missing.append(f"no {weights}")
    cmd = f"python -m training.train {parent}" + ("" if Path(out) == DEFAULT_OUT else f" --out {out}")
    raise SystemExit(f"{recipe.name} fine-tunes {parent}, whose finished weights are missing ({'; '.join(missing)}); "
                     f"train the parent first: {cmd}")


def _adam_moments_like_params(opt: torch.optim.Optimizer) -> None:
    """Adam's moments in the parameters' (channels_last) layout after load_state_dict."""
    for param, state in opt.state.items():
        for key, value in state.items():
            if torch.is_tensor(value) and value.shape == param.shape:
                state[key] = torch.empty_like(param).copy_(value)


class Logger:
    def __init__(self, path: Path, name: str) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.f = open(path, "a", buffering=1, encoding="utf-8")
        self.name = name

    def __call__(self, msg: str) -> None:
        line = f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M:%S} {self.name} {msg}"
        print(line, flush=True)
        self.f.write(line + "\n")

    def close(self) -> None:
        self.f.close()


# --- training ----------------------------------------------------------------------------


def train(recipe: Recipe, cfg: TrainConfig) -> dict:
    """Train (or resume) one model; returns a summary (iteration, total, elapsed, done)."""
    t_start = time.time()
    device = resolve_device(cfg.device)
    cuda = device.type == "cuda"
    cores = available_cores()
    torch.set_flush_denormal(True)  # denormals slow CPU convolutions by 5-10x early in training
    workers = cfg.workers if cfg.workers is not None else (max(1, min(4, cores - 1)) if not cuda else max(1, min(6, cores // 2)))
    # On a CPU the loader workers take cores too; oversubscribed OpenMP threads
    # collapse (2 threads on a busy 2-core box: 1 it/s instead of 12).
    torch.set_num_threads(cfg.threads or (max(1, cores - workers) if not cuda else max(1, min(4, cores // 2))))
    rdir = run_dir(cfg.out, recipe.name)
    ckpt_path = rdir / "last.pt"
    log = Logger(rdir / "log.txt", recipe.name)

    seed = recipe.seed if cfg.seed is None else cfg.seed
    torch.manual_seed(seed)
    np.random.seed(seed)
    random.seed(seed)
    model = build_arch(recipe.arch, scale=recipe.scale, **recipe.arch_kwargs).to(device)
    if cuda:  # before the optimizer and EMA exist, so their tensors share the layout
        torch.backends.cudnn.benchmark = True
        model = model.to(memory_format=torch.channels_last)
    ema = copy.deepcopy(model).eval().requires_grad_(False)
    opt = torch.optim.Adam(model.parameters(), lr=recipe.lr, betas=(0.9, 0.99))
    gan = recipe.adv_weight > 0
    if gan:  # the discriminator, trained alongside (Real-ESRGAN's optimizer settings)
        disc = UNetDiscriminatorSN(num_feat=DISC_FEAT).to(device)
        if cuda:
            disc = disc.to(memory_format=torch.channels_last)
        opt_d = torch.optim.Adam(disc.parameters(), lr=recipe.lr, betas=(0.9, 0.99))
    schedule = {"total": cfg.iters or recipe.iters, "rewarm": None}

    def factor(it: int) -> float:
        f = lr_factor(it, schedule["total"], recipe.warmup, recipe.min_lr_ratio)
        if schedule["rewarm"] is not None:  # fresh Adam moments: warm up again
            f *= min(1.0, (it - schedule["rewarm"] + 1) / max(1, recipe.warmup))
        return f

    sched = torch.optim.lr_scheduler.LambdaLR(opt, factor)
    sched_d = torch.optim.lr_scheduler.LambdaLR(opt_d, factor) if gan else None
    start_it, elapsed, history, init = 0, 0.0, [], None
    fresh = not ckpt_path.is_file()
    if not fresh:
        if not cfg.resume:
            raise SystemExit(f"{ckpt_path} exists: pass --resume to continue it (or delete the run folder)")
        ck = load_checkpoint(ckpt_path)
        if ck["recipe"]["arch"] != recipe.arch or ck["recipe"]["arch_kwargs"] != dict(recipe.arch_kwargs):
            raise SystemExit(f"{ckpt_path} holds a different network than recipe {recipe.name}")
        ema.load_state_dict(ck["ema"])
        start_it, elapsed, history, init = ck["iteration"], ck["elapsed"], ck["history"], ck.get("init")
        if "optimizer" in ck:
            model.load_state_dict(ck["model"])
            opt.load_state_dict(ck["optimizer"])
            _adam_moments_like_params(opt)
            sched.load_state_dict(ck["scheduler"])
            _set_rng_states(ck["rng"])
        else:  # a slim checkpoint (run_pending.py --pack): the EMA only; Adam's moments restart
            model.load_state_dict(ck["ema"])
            sched.last_epoch = start_it
            schedule["rewarm"] = start_it
            log("slim checkpoint: training continues from the EMA weights with fresh Adam moments")
        if gan:
            if "disc" in ck:
                disc.load_state_dict(ck["disc"])
                if "disc_optimizer" in ck and "optimizer" in ck:
                    opt_d.load_state_dict(ck["disc_optimizer"])
                    _adam_moments_like_params(opt_d)
                    sched_d.load_state_dict(ck["disc_scheduler"])
                else:
                    sched_d.last_epoch = start_it
                    log("discriminator restored without its optimizer state: fresh Adam moments")
            else:
                sched_d.last_epoch = start_it
                log("checkpoint holds no discriminator: a fresh one starts here")
        schedule["total"] = cfg.iters or ck["total_iters"]
        for o in (opt, opt_d) if gan else (opt,):
            for g in o.param_groups:  # the schedule may have been extended
                g["lr"] = recipe.lr * factor(start_it)
        log(f"resumed at iteration {start_it}/{schedule['total']} ({elapsed:.0f} s trained so far)")
    elif cfg.resume:
        log(f"no checkpoint at {ckpt_path}: starting from scratch")
    if fresh and recipe.init_from:  # a new fine-tune starts from the parent's finished EMA weights
        weights, init = parent_weights(recipe, cfg.out)
        try:
            model.load_state_dict(weights)
            ema.load_state_dict(weights)
        except RuntimeError as e:
            raise SystemExit(f"{recipe.name}: {init['path']} does not fit the recipe's network: {e}") from None
        it_txt = f"iteration {init['iteration']}" if init["iteration"] is not None else "iteration unknown"
        log(f"initialised from {init['parent']}'s EMA weights: {init['path']} ({it_txt}, sha256 {init['sha256']})")
    total = schedule["total"]
    params = sum(p.numel() for p in model.parameters())
    spec = preset_spec(recipe.preset, recipe.scale)
    slice_info = dict(
        command=cfg.command, hardware=hardware(device), device=device.type, torch=torch.__version__,
        start_iteration=start_it, started=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        batch=recipe.batch, lr_patch=recipe.lr_patch, workers=workers, data=_rel(cfg.data),
    )
    log(f"{recipe.arch} {recipe.arch_kwargs} x{recipe.scale}, {params} params; device {slice_info['hardware']}; "
        f"batch {recipe.batch} of {recipe.lr_patch}px LR; degradation {recipe.preset}; seed {seed}; "
        f"iterations {start_it}->{total}; {workers} loader workers; torch threads {torch.get_num_threads()}")
    if gan:
        log(f"GAN fine-tune: L1 + {recipe.adv_weight} x vanilla GAN loss; U-Net SN discriminator "
            f"({sum(p.numel() for p in disc.parameters())} params, width {DISC_FEAT})")

    def checkpoint(it: int) -> None:
        state = dict(
            recipe=recipe.to_dict(), model=model.state_dict(), ema=ema.state_dict(), optimizer=opt.state_dict(),
            scheduler=sched.state_dict(), iteration=it, total_iters=total,
            elapsed=elapsed + (time.time() - t_train), rng=_rng_states(),
            history=history + [dict(slice_info, end_iteration=it, seconds=round(time.time() - t_train, 1))],
        )
        if init is not None:
            state["init"] = init
        if gan:
            state.update(disc=disc.state_dict(), disc_optimizer=opt_d.state_dict(), disc_scheduler=sched_d.state_dict())
        save_checkpoint(ckpt_path, state)

    model.train()
    if gan:
        disc.train()
    t_train = time.time()
    it = start_it
    if it >= total:
        log(f"schedule already complete ({it}/{total}); pass --iters to extend it")
        log.close()
        return dict(name=recipe.name, iteration=it, total=total, elapsed=elapsed, done=True, stopped=False)
    loader = make_loader(load_images(cfg.data), recipe, recipe.batch, workers, seed, start_it, pin=cuda)
    if loader.dataset.skipped:
        log(f"{loader.dataset.skipped} training image(s) smaller than the {recipe.hr_patch}px HR patch left out")
    batches = iter(loader)
    loss_sum = torch.zeros((), device=device)
    gan_sums = torch.zeros(3, device=device)  # D loss, mean D logit on real, on fake
    n_sum, t_log, it_log = 0, time.time(), it
    stopped = False
    while it < total:
        hr_u8, seeds = next(batches)
        hr = hr_u8.to(device, non_blocking=True).float().div_(255.0)
        lr_img = degrade_torch(hr, spec, seeds.tolist())
        if cuda:
            lr_img = lr_img.contiguous(memory_format=torch.channels_last)
        with torch.autocast(device_type="cuda", dtype=torch.bfloat16, enabled=cuda):
            sr = model(lr_img)
        if not gan:
            loss = F.l1_loss(sr.float(), hr)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
        else:
            # G step: L1 + adv_weight x "D should call sr real"; D frozen (its gradients are not wanted here).
            disc.requires_grad_(False)
            with torch.autocast(device_type="cuda", dtype=torch.bfloat16, enabled=cuda):
                fake_logits = disc(sr)
            loss = F.l1_loss(sr.float(), hr)
            g_loss = loss + recipe.adv_weight * generator_adv_loss(fake_logits)
            opt.zero_grad(set_to_none=True)
            g_loss.backward()
            opt.step()
            sched.step()
            # D step on real HR and the (detached) SR of this iteration, one forward for both.
            disc.requires_grad_(True)
            pair = torch.cat([hr, sr.detach().float()])
            if cuda:
                pair = pair.contiguous(memory_format=torch.channels_last)
            with torch.autocast(device_type="cuda", dtype=torch.bfloat16, enabled=cuda):
                real_logits, fake_logits = disc(pair).chunk(2)
            d_loss = discriminator_loss(real_logits, fake_logits)
            opt_d.zero_grad(set_to_none=True)
            d_loss.backward()
            opt_d.step()
            sched_d.step()
            with torch.no_grad():
                gan_sums += torch.stack([d_loss.detach(), real_logits.float().mean(), fake_logits.float().mean()])
        ema_update(ema, model, recipe.ema_decay, it)
        it += 1
        loss_sum += loss.detach()
        n_sum += 1
        if it % cfg.log_every == 0 or it == total:
            now = time.time()
            d_txt = ""
            if gan:
                d_loss_m, real_m, fake_m = (gan_sums / n_sum).tolist()
                d_txt = f" d_loss {d_loss_m:.4f} d_real {real_m:+.3f} d_fake {fake_m:+.3f}"
                gan_sums.zero_()
            log(f"iter {it}/{total} loss {loss_sum.item() / n_sum:.5f}{d_txt} lr {opt.param_groups[0]['lr']:.2e} "
                f"{(it - it_log) / (now - t_log):.2f} it/s elapsed {elapsed + now - t_train:.0f} s")
            loss_sum.zero_()
            n_sum, t_log, it_log = 0, now, it
        if it % recipe.ckpt_every == 0 or it == total:
            checkpoint(it)
        if cfg.time_limit is not None and time.time() - t_start >= cfg.time_limit and it < total:
            checkpoint(it)
            log(f"time limit {cfg.time_limit:.0f} s reached at iteration {it}/{total}: checkpoint saved, stopping")
            stopped = True
            break
    elapsed += time.time() - t_train
    if not stopped:
        log(f"done: {it}/{total} iterations, {elapsed:.0f} s of training in all; checkpoint {ckpt_path}")
    del batches, loader  # stops the persistent workers
    log.close()
    return dict(name=recipe.name, iteration=it, total=total, elapsed=elapsed, done=it >= total, stopped=stopped)


# --- CLI ---------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("names", nargs="+", metavar="NAME", help=f"recipes: {', '.join(RECIPES)} (NAME@seedS: a study seed run)")
    ap.add_argument("--iters", type=int, help="schedule length (total iterations); default: the recipe's")
    ap.add_argument("--resume", action="store_true", help="continue from training/runs/NAME/last.pt")
    ap.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT, help="run folders (default training/runs)")
    ap.add_argument("--time-limit", type=float, help="seconds per model process; checkpoint and exit when reached")
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA, help="folder of HR training PNGs (default data/train)")
    ap.add_argument("--batch", type=int, help="override the recipe's batch size")
    ap.add_argument("--patch", type=int, help="override the recipe's LR patch side")
    ap.add_argument("--workers", type=int, help="DataLoader workers per model (default: from the cores)")
    ap.add_argument("--seed", type=int, help="default: the recipe's (twins share it)")
    ap.add_argument("--log-every", type=int, default=50)
    ap.add_argument("--no-eval", action="store_true", help="do not evaluate/export finished models")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    return ap.parse_args(argv)


def _recipe_with_overrides(name: str, args: argparse.Namespace) -> Recipe:
    recipe = get_recipe(name)
    if args.batch:
        recipe = replace(recipe, batch=args.batch)
    if args.patch:
        recipe = replace(recipe, lr_patch=args.patch)
    return recipe


def _command(argv: list[str]) -> str:
    return " ".join(shlex.quote(a) for a in ["python", "-m", "training.train", *argv])


def _concurrent(names: list[str], argv: list[str], args: argparse.Namespace) -> list[int]:
    """One child process per model, all on the GPU; returns their exit codes."""
    cores = available_cores()
    per = max(1, cores // len(names))
    own = [a for a in argv if a not in names and a != "--no-eval"]
    procs = []
    for name in names:
        cmd = [sys.executable, "-m", "training.train", name, *own, "--child", "--no-eval"]
        if args.workers is None:
            cmd += ["--workers", str(max(1, min(6, per - 1)))]
        env = dict(os.environ, OMP_NUM_THREADS=str(max(1, min(4, per // 2))), SR_TRAIN_COMMAND=_command([name, *own]))
        procs.append((name, subprocess.Popen(cmd, env=env)))
    return [p.wait() for _, p in procs]


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(argv)
    for name in args.names:
        get_recipe(name)
    device = resolve_device(args.device)
    rc = 0
    if device.type == "cuda" and len(args.names) > 1 and not args.child:
        codes = _concurrent(args.names, argv, args)
        rc = max(codes)
        for name, code in zip(args.names, codes):
            if code:
                print(f"{name}: training process exited with status {code}", file=sys.stderr)
    else:
        for name in args.names:
            cfg = TrainConfig(
                out=args.out, data=args.data, device=args.device, iters=args.iters, resume=args.resume,
                time_limit=args.time_limit, workers=args.workers, seed=args.seed, log_every=args.log_every,
                command=os.environ.get("SR_TRAIN_COMMAND") or _command(argv),
                threads=int(os.environ["OMP_NUM_THREADS"]) if os.environ.get("OMP_NUM_THREADS", "").isdigit() else None,
            )
            train(_recipe_with_overrides(name, args), cfg)
    if not args.no_eval and not args.child:
        done = []
        for name in args.names:
            if SEED_SEP in name:  # study seed runs are never shipped
                continue
            ck = run_dir(args.out, name) / "last.pt"
            if ck.is_file():
                state = load_checkpoint(ck)
                if state["iteration"] >= state["total_iters"]:
                    done.append(name)
        if done:
            from training import evaluate

            rc = max(rc, evaluate.main([*done, "--weights-from", str(args.out)]))
    return rc


if __name__ == "__main__":
    sys.exit(main())
