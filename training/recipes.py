"""One table of training recipes: every learned zoo model and how it is trained.

`train.py`, `evaluate.py` and `run_pending.py` read it; numbers that end up
in a model card are measured, never taken from here (except the target,
which a card states as a target).

Targets are held-out PSNR-Y gains over MATLAB bicubic (dB): x4 models 1.5,
x4 models with >= 1 M parameters 2.0, x2 models 2.0, x16 0.3; real-world
(Real-ESRGAN-trained) models 1.0 averaged over the eight RDSR presets.

Imports nothing beyond the standard library, so it runs anywhere.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import Any


@dataclass(frozen=True)
class Recipe:
    """How one model is built and trained.

    Args:
        name: zoo name, `arch-variant-xS`.
        arch: `sr_demo.models.archs` name; `arch_kwargs` its keyword arguments
            (besides `scale`).
        scale: upscaling factor.
        training: degradation family: "bicubic" (preset "clean": MATLAB
            bicubic down-sampling, 8-bit) or "realesrgan" (second order).
        iters: length of the cosine schedule (iterations).
        batch: HR/LR pairs per iteration.
        lr_patch: LR crop side; the HR crop is `lr_patch * scale`.
        lr: Adam's peak learning rate (after `warmup` linear iterations),
            cosine-annealed to `lr * min_lr_ratio` at `iters`.
        target_gain_db: held-out PSNR-Y gain over bicubic the card must show.
        ema_decay: decay of the exported weight average.
        ckpt_every: checkpoint period in iterations (also at the end).
        pad_multiple: what the zoo entry's runner needs (RRDBNet x2 unshuffles).
        seed: default training seed (weights, data order, degradations).
        twin_of: the recipe this one differs from in a single factor (dropout,
            global residual); twins must share seed, data and schedule.
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
    arch: str
    scale: int
    arch_kwargs: dict[str, Any] = field(default_factory=dict, hash=False)
    training: str = "bicubic"
    iters: int = 20000
    batch: int = 16
    lr_patch: int = 48
    lr: float = 2e-4
    warmup: int = 500
    min_lr_ratio: float = 0.01
    target_gain_db: float = 1.5
    ema_decay: float = 0.999
    ckpt_every: int = 1000
    pad_multiple: int = 1
    seed: int = 0
    twin_of: str | None = None
    study_seeds: tuple[int, ...] = ()
    init_from: str | None = None
    adv_weight: float = 0.0
    target_sharpness_gain: float | None = None
    description: str = ""

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
        return asdict(self)


SEED_SEP = "@seed"


def seed_run_name(name: str, seed: int) -> str:
    """The run folder of `name` trained with a study seed (`NAME@seedS`)."""
    return f"{name}{SEED_SEP}{seed}"


RDSR_SEED = 1234
_SRRESNET = dict(num_feat=64, num_block=16)
_RRDB_LIGHT = dict(num_feat=64, num_block=3, num_grow_ch=32)


def _rdsr_recipes() -> list[Recipe]:
    """The dropout study's models; the no-dropout twin is listed first."""
    common = dict(iters=30000, batch=16, lr_patch=48, training="realesrgan", target_gain_db=1.0, seed=RDSR_SEED)
    two_seeds = dict(common, study_seeds=(RDSR_SEED + 1,))  # SRResNet twins: two seeds each (issue 4)
    srr, rrdb = "srresnet-real-x4", "rrdb-real-x4"
    return [
        Recipe(srr, "srresnet", 4, _SRRESNET, lr=4e-4, **two_seeds,
               description="MSRResNet, 16 blocks, trained on the Real-ESRGAN pipeline (RDSR baseline), x4."),
        Recipe("srresnet-real-dropout-x4", "srresnet", 4, dict(_SRRESNET, dropout=0.7), lr=4e-4, twin_of=srr,
               **two_seeds, description="As srresnet-real-x4 plus Dropout2d(0.7) before conv_last (RDSR), x4."),
        Recipe("srresnet-real-dropout-mid-x4", "srresnet", 4, dict(_SRRESNET, dropout=0.7, dropout_position="middle"),
               lr=4e-4, twin_of=srr, **two_seeds,
               description="As srresnet-real-x4 plus Dropout2d(0.7) after body block 8 of 16 (RDSR position check), x4."),
        Recipe(rrdb, "rrdbnet", 4, _RRDB_LIGHT, lr=2e-4, **common,
               description="RRDBNet, 3 RRDB blocks, trained on the Real-ESRGAN pipeline (RDSR baseline), x4."),
        Recipe("rrdb-real-dropout-x4", "rrdbnet", 4, dict(_RRDB_LIGHT, dropout=0.5), lr=2e-4, twin_of=rrdb,
               **common, description="As rrdb-real-x4 plus Dropout2d(0.5) before conv_last (RDSR), x4."),
        Recipe("msrresnet-nogr-x4", "srresnet", 4, dict(_SRRESNET, global_residual=False),
               iters=30000, batch=16, lr_patch=48, lr=4e-4, target_gain_db=2.0, twin_of="msrresnet-x4",
               description="msrresnet-x4 without its global residual (DDR factor 1), x4."),
        # DDR factor 2: msrresnet-x4 fine-tuned with L1 + a vanilla GAN loss against a U-Net
        # discriminator trained here (no VGG loss: no ImageNet weights). Real-ESRGAN's GAN weight of 0.1
        # has a perceptual loss beside it; with L1 alone it overwhelmed L1 in a CPU diagnostic (training
        # L1 0.049 -> 0.126 within 10 iterations once D was confident, then D stuck at chance), 0.02 did not.
        Recipe("srresnet-gan-x4", "srresnet", 4, _SRRESNET, iters=20000, batch=16, lr_patch=48, lr=1e-4, warmup=0,
               min_lr_ratio=1.0, init_from="msrresnet-x4", adv_weight=0.02, target_gain_db=0.0,
               target_sharpness_gain=0.1,
               description="msrresnet-x4 fine-tuned with L1 + adversarial loss (DDR factor 2; GAN textures), x4."),
    ]


RECIPES: dict[str, Recipe] = {
    r.name: r
    for r in (
        # The CPU-trainable one: paper-size FSRCNN (d=56, s=12, m=4; ~25 k params).
        # Small LR patches and a high learning rate converge fastest on 2 CPU cores.
        Recipe(
            "fsrcnn-x4", "fsrcnn", 4, dict(d=56, s=12, m=4),
            iters=10000, batch=16, lr_patch=32, lr=1e-3, warmup=100, target_gain_db=1.5,
            ema_decay=0.999, ckpt_every=250,
            description="FSRCNN (Dong et al. 2016) on RGB: tiny, fast, trained on a CPU.",
        ),
        Recipe(
            "edsr-baseline-x2", "edsr", 2, dict(num_feat=64, num_block=16),
            iters=30000, batch=16, lr_patch=48, lr=4e-4, target_gain_db=2.0,
            description="EDSR baseline (Lim et al. 2017), 16 blocks x 64 channels, x2.",
        ),
        Recipe(
            "edsr-baseline-x4", "edsr", 4, dict(num_feat=64, num_block=16),
            iters=30000, batch=16, lr_patch=48, lr=4e-4, target_gain_db=2.0,
            description="EDSR baseline (Lim et al. 2017), 16 blocks x 64 channels, x4.",
        ),
        Recipe(
            "msrresnet-x4", "srresnet", 4, dict(num_feat=64, num_block=16),
            iters=30000, batch=16, lr_patch=48, lr=4e-4, target_gain_db=2.0,
            description="MSRResNet (SRResNet without BN, BasicSR), 16 blocks, x4.",
        ),
        Recipe(
            "rrdb-light-x4", "rrdbnet", 4, dict(num_feat=64, num_block=3, num_grow_ch=32),
            iters=30000, batch=16, lr_patch=48, lr=2e-4, target_gain_db=2.0,
            description="RRDBNet (ESRGAN's generator, Wang et al. 2018) with 3 RRDB blocks, PSNR-trained, x4.",
        ),
        Recipe(
            "edsr-x16", "edsr", 16, dict(num_feat=64, num_block=16),
            iters=30000, batch=16, lr_patch=16, lr=2e-4, target_gain_db=0.3,
            description="EDSR baseline body with a x16 sub-pixel tail (4 x2 stages).",
        ),
        Recipe(
            "a2n-x2", "a2n", 2, dict(num_feat=40, num_up_feat=24, num_block=16),
            iters=30000, batch=16, lr_patch=48, lr=5e-4, target_gain_db=2.0,
            description="A2N, attention in attention (Chen et al. 2021), 16 blocks, x2.",
        ),
        Recipe(
            "a2n-x4", "a2n", 4, dict(num_feat=40, num_up_feat=24, num_block=16),
            iters=30000, batch=16, lr_patch=48, lr=5e-4, target_gain_db=2.0,
            description="A2N, attention in attention (Chen et al. 2021), 16 blocks, x4.",
        ),
        # img_size only sizes the saved attention masks: 16 keeps fp16 weights at ~3 MB (64: ~9 MB)
        # and spandrel still loads them; inputs of any size work.
        Recipe(
            "swinir-light-x4", "swinir", 4, dict(img_size=16),
            iters=30000, batch=16, lr_patch=48, lr=2e-4, target_gain_db=1.5,
            description="SwinIR lightweight (Liang et al. 2021): embed 60, 4 stages of depth 6, window 8, x4.",
        ),
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
