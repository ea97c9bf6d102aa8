"""Training hyper-parameters of every in-house zoo model, keyed by zoo name.

What a model *is* (arch, arch_kwargs, scale, description, twin_of, group)
lives in its zoo entry (`sr_demo.models.zoo`, source `Shipped`); a recipe
holds only how it is trained, and reads the rest from the entry, so the two
can never disagree. `train.py`, `evaluate.py` and `run_pending.py` read it;
numbers that end up in a model card are measured, never taken from here
(except the target, which a card states as a target).

Targets are held-out PSNR-Y gains over MATLAB bicubic (dB): x4 models 1.5,
x4 models with >= 1 M parameters 2.0, x2 models 2.0, x16 0.3; real-world
(Real-ESRGAN-trained) models 1.0 averaged over the eight RDSR presets.

Imports only the standard library and the zoo table (no torch), so it runs anywhere.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any

from sr_demo.models.zoo import ZooEntry, get_entry

SEED_SEP = "@seed"

#: zoo group -> degradation family of the training LR
_TRAINING_OF_GROUP = {"bicubic": "bicubic", "real-world": "realesrgan"}


@dataclass(frozen=True)
class Recipe:
    """How one zoo model is trained.

    Args:
        name: zoo name (`NAME@seedS` for a study-seed run of NAME).
        iters: length of the cosine schedule (iterations).
        batch: HR/LR pairs per iteration.
        lr_patch: LR crop side; the HR crop is `lr_patch * scale`.
        lr: Adam's peak learning rate (after `warmup` linear iterations),
            cosine-annealed to `lr * min_lr_ratio` at `iters`.
        target_gain_db: held-out PSNR-Y gain over bicubic the card must show.
        ema_decay: decay of the exported weight average.
        ckpt_every: checkpoint period in iterations (also at the end).
        seed: default training seed (weights, data order, degradations).
        study_seeds: further seeds trained only for the RDSR study (run
            folders `NAME@seedS`, never shipped): gaps of 0.1-0.3 dB are within
            seed noise, so each twin is trained with more than one seed.
        init_from: a recipe whose finished EMA weights this one fine-tunes
            (its run must be complete first).
        adv_weight: weight of the adversarial loss next to L1 (0 = no GAN).
        target_sharpness_gain: for GAN fine-tunes, the increase of the
            held-out sharpness ratio over the `init_from` parent the card must
            show (see evaluate.py); replaces the PSNR target.
    """

    name: str
    iters: int = 20000
    batch: int = 16
    lr_patch: int = 48
    lr: float = 2e-4
    warmup: int = 500
    min_lr_ratio: float = 0.01
    target_gain_db: float = 1.5
    ema_decay: float = 0.999
    ckpt_every: int = 1000
    seed: int = 0
    study_seeds: tuple[int, ...] = ()
    init_from: str | None = None
    adv_weight: float = 0.0
    target_sharpness_gain: float | None = None

    @property
    def entry(self) -> ZooEntry:
        """The zoo entry this recipe trains (a study seed's is its base model's)."""
        return get_entry(self.name.partition(SEED_SEP)[0])

    @property
    def arch(self) -> str:
        return self.entry.arch

    @property
    def scale(self) -> int:
        return self.entry.scale

    @property
    def arch_kwargs(self) -> dict[str, Any]:
        return dict(self.entry.arch_kwargs)

    @property
    def description(self) -> str:
        return self.entry.description

    @property
    def twin_of(self) -> str | None:
        """The model this one differs from in a single factor (dropout, global residual);
        twins must share seed, data and schedule."""
        return self.entry.twin_of

    @property
    def training(self) -> str:
        """Degradation family: "bicubic" (preset "clean": MATLAB bicubic
        down-sampling, 8-bit) or "realesrgan" (second order), from the entry's group."""
        group = self.entry.group
        if group not in _TRAINING_OF_GROUP:
            raise SystemExit(f"{self.name}: zoo group {group!r} has no training pipeline "
                             f"(in-house models are {' or '.join(_TRAINING_OF_GROUP)})")
        return _TRAINING_OF_GROUP[group]

    @property
    def preset(self) -> str:
        """The `sr_demo.degradations.preset_spec` name that makes training LR."""
        return {"bicubic": "clean", "realesrgan": "realesrgan"}[self.training]

    @property
    def hr_patch(self) -> int:
        return self.lr_patch * self.scale

    @property
    def seeds(self) -> tuple[int, ...]:
        """Every seed this recipe is trained with: the shipped one first."""
        return (self.seed, *self.study_seeds)

    def to_dict(self) -> dict[str, Any]:
        """The hyper-parameters and the network they train (as recorded in checkpoints)."""
        return dict(asdict(self), arch=self.arch, scale=self.scale, arch_kwargs=self.arch_kwargs,
                    training=self.training, twin_of=self.twin_of, description=self.description)


def seed_run_name(name: str, seed: int) -> str:
    """The run folder of `name` trained with a study seed (`NAME@seedS`)."""
    return f"{name}{SEED_SEP}{seed}"


RDSR_SEED = 1234


def _rdsr_recipes() -> list[Recipe]:
    """The dropout study's models; the no-dropout twin is listed first."""
    common = dict(iters=30000, batch=16, lr_patch=48, target_gain_db=1.0, seed=RDSR_SEED)
    two_seeds = dict(common, study_seeds=(RDSR_SEED + 1,))  # SRResNet twins: two seeds each (issue 4)
    return [
        Recipe("srresnet-real-x4", lr=4e-4, **two_seeds),
        Recipe("srresnet-real-dropout-x4", lr=4e-4, **two_seeds),
        Recipe("srresnet-real-dropout-mid-x4", lr=4e-4, **two_seeds),
        Recipe("rrdb-real-x4", lr=2e-4, **common),
        Recipe("rrdb-real-dropout-x4", lr=2e-4, **common),
        Recipe("msrresnet-nogr-x4", iters=30000, batch=16, lr_patch=48, lr=4e-4, target_gain_db=2.0),
        # DDR factor 2: msrresnet-x4 fine-tuned with L1 + a vanilla GAN loss against a U-Net
        # discriminator trained here (no VGG loss: no ImageNet weights). Real-ESRGAN's GAN weight of 0.1
        # has a perceptual loss beside it; with L1 alone it overwhelmed L1 in a CPU diagnostic (training
        # L1 0.049 -> 0.126 within 10 iterations once D was confident, then D stuck at chance), 0.02 did not.
        Recipe("srresnet-gan-x4", iters=20000, batch=16, lr_patch=48, lr=1e-4, warmup=0, min_lr_ratio=1.0,
               init_from="msrresnet-x4", adv_weight=0.02, target_gain_db=0.0, target_sharpness_gain=0.1),
    ]


RECIPES: dict[str, Recipe] = {
    r.name: r
    for r in (
        # The CPU-trainable one: paper-size FSRCNN (d=56, s=12, m=4; ~25 k params).
        # Small LR patches and a high learning rate converge fastest on 2 CPU cores.
        Recipe("fsrcnn-x4", iters=10000, batch=16, lr_patch=32, lr=1e-3, warmup=100, target_gain_db=1.5,
               ema_decay=0.999, ckpt_every=250),
        Recipe("edsr-baseline-x2", iters=30000, batch=16, lr_patch=48, lr=4e-4, target_gain_db=2.0),
        Recipe("edsr-baseline-x4", iters=30000, batch=16, lr_patch=48, lr=4e-4, target_gain_db=2.0),
        Recipe("msrresnet-x4", iters=30000, batch=16, lr_patch=48, lr=4e-4, target_gain_db=2.0),
        Recipe("rrdb-light-x4", iters=30000, batch=16, lr_patch=48, lr=2e-4, target_gain_db=2.0),
        Recipe("edsr-x16", iters=30000, batch=16, lr_patch=16, lr=2e-4, target_gain_db=0.3),
        Recipe("a2n-x2", iters=30000, batch=16, lr_patch=48, lr=5e-4, target_gain_db=2.0),
        Recipe("a2n-x4", iters=30000, batch=16, lr_patch=48, lr=5e-4, target_gain_db=2.0),
        # the zoo entry's img_size only sizes the saved attention masks (16 keeps fp16 weights at ~3 MB)
        Recipe("swinir-light-x4", iters=30000, batch=16, lr_patch=48, lr=2e-4, target_gain_db=1.5),
        # RDSR study (issue 4): twins differ only in dropout / global residual.
        *_rdsr_recipes(),
    )
}


def get_recipe(name: str) -> Recipe:
    """A recipe by name; `NAME@seedS` is NAME trained with one of its study seeds."""
    base, sep, seed = name.partition(SEED_SEP)
    if base not in RECIPES:
        raise SystemExit(f"no training recipe for {name!r}; recipes: {', '.join(RECIPES)}")
    recipe = RECIPES[base]
    if not sep:
        return recipe
    if not seed.isdigit() or int(seed) not in recipe.study_seeds:
        raise SystemExit(f"{name!r}: {base} has study seeds {list(recipe.study_seeds) or 'none'}")
    return replace(recipe, name=name, seed=int(seed))


def study_runs() -> list[str]:
    """Run names of every study seed (`NAME@seedS`): trained, never shipped."""
    return [seed_run_name(r.name, s) for r in RECIPES.values() for s in r.study_seeds]
