"""What to do to an HR image, as frozen, JSON-serialisable dataclasses.

A spec says *what kind* of degradation; `pipeline.sample_ops` turns a spec
plus a seed into the concrete steps. Parsing (`from_dict`) rejects unknown
keys and wrong types, and `validate()` checks every range, so the UI and the
CLI report bad parameters as `UserError`s naming the parameter and its range.
"""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass, field
from typing import Any

from sr_demo.errors import UserError

ALLOWED_SCALES = (1, 2, 3, 4, 8, 16)
DOWNSAMPLE_METHODS = ("bicubic", "bilinear", "area", "nearest")
KERNEL_TYPES = ("iso", "aniso", "generalized_iso", "generalized_aniso", "plateau_iso", "plateau_aniso")
RESIZE_MODES = ("area", "bilinear", "bicubic")
SIGMA_MAX = 20.0
KERNEL_SIZE_RANGE = (3, 41)
POISSON_MAX = 10.0


def _number(name: str, value: Any, lo: float, hi: float, lo_open: bool = False) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise UserError(f"{name} must be a finite number, got {value!r}")
    if value < lo or value > hi or (lo_open and value == lo):
        bracket = "(" if lo_open else "["
        raise UserError(f"{name} must be in {bracket}{lo}, {hi}], got {value}")


def _choice(name: str, value: Any, allowed: tuple) -> None:
    if value not in allowed:
        raise UserError(f"{name} must be one of {', '.join(map(str, allowed))}; got {value!r}")


def _kernel_size(name: str, value: Any) -> None:
    lo, hi = KERNEL_SIZE_RANGE
    if isinstance(value, bool) or not isinstance(value, int) or value % 2 == 0 or not lo <= value <= hi:
        raise UserError(f"{name} must be an odd integer in {lo}..{hi}, got {value!r}")


def _range(name: str, pair: Any, lo: float, hi: float, lo_open: bool = False) -> None:
    if not isinstance(pair, tuple) or len(pair) != 2:
        raise UserError(f"{name} must be a pair (low, high), got {pair!r}")
    _number(f"{name}[0]", pair[0], lo, hi, lo_open)
    _number(f"{name}[1]", pair[1], lo, hi, lo_open)
    if pair[0] > pair[1]:
        raise UserError(f"{name} must have low <= high, got {pair}")


def _probs(name: str, probs: Any, n: int) -> None:
    if not isinstance(probs, tuple) or len(probs) != n:
        raise UserError(f"{name} must list {n} probabilities, got {probs!r}")
    for i, p in enumerate(probs):
        _number(f"{name}[{i}]", p, 0.0, 1.0)
    if abs(sum(probs) - 1.0) > 1e-6:
        raise UserError(f"{name} must sum to 1, got {sum(probs)}")


def _coerce(name: str, value: Any, like: Any) -> Any:
    """Convert a JSON value to the type of `like` (a field default)."""
    if isinstance(like, tuple):
        if not isinstance(value, (list, tuple)):
            raise UserError(f"{name} must be a list, got {value!r}")
        if like and len(value) == len(like):
            return tuple(_coerce(f"{name}[{i}]", v, like[i]) for i, v in enumerate(value))
        return tuple(value)  # length is checked by validate()
    if isinstance(like, bool):
        if not isinstance(value, bool):
            raise UserError(f"{name} must be true or false, got {value!r}")
        return value
    if isinstance(like, (int, float)):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise UserError(f"{name} must be a number, got {value!r}")
        if isinstance(like, int) and value != int(value):
            raise UserError(f"{name} must be an integer, got {value!r}")
        return type(like)(value)
    if isinstance(like, str) and not isinstance(value, str):
        raise UserError(f"{name} must be a string, got {value!r}")
    return value


class _Serialisable:
    """to_dict/from_dict/to_json/from_json shared by the spec dataclasses.

    `_OPTIONAL` names fields whose default is None, with an example value of
    the type they take when set (so JSON numbers coerce to it).
    """

    _OPTIONAL: dict[str, Any] = {}

    def to_dict(self) -> dict:
        return json.loads(self.to_json())

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), sort_keys=True)

    @classmethod
    def _kwargs(cls, d: Any, where: str) -> dict:
        if not isinstance(d, dict):
            raise UserError(f"{where} must be a JSON object, got {d!r}")
        fields = {f.name: f for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - set(fields))
        if unknown:
            raise UserError(f"unknown key(s) {unknown} in {where}; allowed: {sorted(fields)}")
        out = {}
        for name, value in d.items():
            f = fields[name]
            like = f.default if f.default is not dataclasses.MISSING else f.default_factory()
            if value is None and name in cls._OPTIONAL:
                out[name] = None
            else:
                out[name] = _coerce(f"{where}.{name}", value, cls._OPTIONAL.get(name, like))
        return out

    @classmethod
    def from_dict(cls, d: dict):
        spec = cls(**cls._kwargs(d, cls.__name__))
        spec.validate()
        return spec

    @classmethod
    def from_json(cls, s: str):
        try:
            d = json.loads(s)
        except json.JSONDecodeError as e:
            raise UserError(f"{cls.__name__} JSON is not valid JSON: {e}") from None
        return cls.from_dict(d)


@dataclass(frozen=True)
class BlurSpec(_Serialisable):
    """Gaussian blur kernel; theta rotates the sigma (x) axis, in degrees."""

    kind: str = "iso"
    sigma: float = 2.0
    sigma_y: float | None = None
    theta: float = 0.0
    size: int = 21

    _OPTIONAL = {"sigma_y": 1.0}

    def validate(self) -> None:
        _choice("blur.kind", self.kind, ("iso", "aniso"))
        _number("blur.sigma", self.sigma, 0.0, SIGMA_MAX, lo_open=True)
        if self.sigma_y is not None:
            _number("blur.sigma_y", self.sigma_y, 0.0, SIGMA_MAX, lo_open=True)
        _number("blur.theta (degrees)", self.theta, -180.0, 180.0)
        _kernel_size("blur.size", self.size)


@dataclass(frozen=True)
class NoiseSpec(_Serialisable):
    """Additive noise: Gaussian sigma in 0..255 units, or Real-ESRGAN Poisson scale."""

    kind: str = "gaussian"
    level: float = 20.0
    gray: bool = False

    def validate(self) -> None:
        _choice("noise.kind", self.kind, ("gaussian", "poisson"))
        if self.kind == "gaussian":
            _number("noise.level (Gaussian sigma, 0..255 units)", self.level, 0.0, 255.0)
        else:
            _number("noise.level (Poisson scale)", self.level, 0.0, POISSON_MAX, lo_open=True)
        if not isinstance(self.gray, bool):
            raise UserError(f"noise.gray must be true or false, got {self.gray!r}")


@dataclass(frozen=True)
class RealESRGANConfig(_Serialisable):
    """Every range and probability of Real-ESRGAN's second-order pipeline.

    Defaults are those of `train_realesrnet_x4plus.yml`. Kernel probabilities
    follow the order of `KERNEL_TYPES`; resize probabilities are
    (up, down, keep); sigmas are in pixels, Gaussian noise in 0..255 units,
    rotations in degrees (Real-ESRGAN's [-pi, pi]).
    """

    kernel_range: tuple[int, int] = (7, 21)
    kernel_prob: tuple[float, ...] = (0.45, 0.25, 0.12, 0.03, 0.12, 0.03)
    sinc_prob: float = 0.1
    blur_sigma: tuple[float, float] = (0.2, 3.0)
    betag_range: tuple[float, float] = (0.5, 4.0)
    betap_range: tuple[float, float] = (1.0, 2.0)
    rotation_range: tuple[float, float] = (-180.0, 180.0)
    resize_prob: tuple[float, float, float] = (0.2, 0.7, 0.1)
    resize_range: tuple[float, float] = (0.15, 1.5)
    gaussian_noise_prob: float = 0.5
    noise_range: tuple[float, float] = (1.0, 30.0)
    poisson_scale_range: tuple[float, float] = (0.05, 3.0)
    gray_noise_prob: float = 0.4
    jpeg_range: tuple[int, int] = (30, 95)

    second_blur_prob: float = 0.8
    kernel_prob2: tuple[float, ...] = (0.45, 0.25, 0.12, 0.03, 0.12, 0.03)
    sinc_prob2: float = 0.1
    blur_sigma2: tuple[float, float] = (0.2, 1.5)
    betag_range2: tuple[float, float] = (0.5, 4.0)
    betap_range2: tuple[float, float] = (1.0, 2.0)
    resize_prob2: tuple[float, float, float] = (0.3, 0.4, 0.3)
    resize_range2: tuple[float, float] = (0.3, 1.2)
    gaussian_noise_prob2: float = 0.5
    noise_range2: tuple[float, float] = (1.0, 25.0)
    poisson_scale_range2: tuple[float, float] = (0.05, 2.5)
    gray_noise_prob2: float = 0.4
    jpeg_range2: tuple[int, int] = (30, 95)

    final_sinc_prob: float = 0.8

    def validate(self) -> None:
        p = "realesrgan."
        _range(p + "kernel_range", self.kernel_range, *KERNEL_SIZE_RANGE)
        _kernel_size(p + "kernel_range[0]", self.kernel_range[0])
        _kernel_size(p + "kernel_range[1]", self.kernel_range[1])
        for sfx in ("", "2"):
            _probs(p + "kernel_prob" + sfx, getattr(self, "kernel_prob" + sfx), len(KERNEL_TYPES))
            _number(p + "sinc_prob" + sfx, getattr(self, "sinc_prob" + sfx), 0.0, 1.0)
            _range(p + "blur_sigma" + sfx, getattr(self, "blur_sigma" + sfx), 0.0, SIGMA_MAX, lo_open=True)
            for beta in ("betag_range", "betap_range"):
                name = p + beta + sfx
                _range(name, getattr(self, beta + sfx), 0.0, 20.0, lo_open=True)
                if not getattr(self, beta + sfx)[0] <= 1.0 <= getattr(self, beta + sfx)[1]:
                    raise UserError(f"{name} must contain 1 (shape beta is drawn below or above 1)")
            _probs(p + "resize_prob" + sfx, getattr(self, "resize_prob" + sfx), 3)
            _range(p + "resize_range" + sfx, getattr(self, "resize_range" + sfx), 0.0, 4.0, lo_open=True)
            if not getattr(self, "resize_range" + sfx)[0] <= 1.0 <= getattr(self, "resize_range" + sfx)[1]:
                raise UserError(f"{p}resize_range{sfx} must contain 1 (down below 1, up above 1)")
            _number(p + "gaussian_noise_prob" + sfx, getattr(self, "gaussian_noise_prob" + sfx), 0.0, 1.0)
            _range(p + "noise_range" + sfx, getattr(self, "noise_range" + sfx), 0.0, 255.0)
            _range(p + "poisson_scale_range" + sfx, getattr(self, "poisson_scale_range" + sfx), 0.0,
                   POISSON_MAX, lo_open=True)
            _number(p + "gray_noise_prob" + sfx, getattr(self, "gray_noise_prob" + sfx), 0.0, 1.0)
            jpeg = getattr(self, "jpeg_range" + sfx)
            _range(p + "jpeg_range" + sfx, jpeg, 1, 100)
            if any(isinstance(q, float) for q in jpeg):
                raise UserError(f"{p}jpeg_range{sfx} must hold integers, got {jpeg}")
        _range(p + "rotation_range (degrees)", self.rotation_range, -180.0, 180.0)
        _number(p + "second_blur_prob", self.second_blur_prob, 0.0, 1.0)
        _number(p + "final_sinc_prob", self.final_sinc_prob, 0.0, 1.0)


@dataclass(frozen=True)
class DegradationSpec(_Serialisable):
    """A whole degradation: classic (any of blur/noise/JPEG) or Real-ESRGAN's.

    With pipeline="realesrgan" the classic fields (blur, downsample, noise,
    jpeg_quality) are ignored and `realesrgan` holds the random ranges.
    """

    scale: int = 4
    pipeline: str = "classic"
    blur: BlurSpec | None = None
    downsample: str = "bicubic"
    noise: NoiseSpec | None = None
    jpeg_quality: int | None = None
    realesrgan: RealESRGANConfig = field(default_factory=RealESRGANConfig)

    _OPTIONAL = {"jpeg_quality": 1}

    def validate(self) -> None:
        if self.scale not in ALLOWED_SCALES or isinstance(self.scale, bool):
            raise UserError(f"scale must be one of {ALLOWED_SCALES}, got {self.scale!r}")
        _choice("pipeline", self.pipeline, ("classic", "realesrgan"))
        _choice("downsample", self.downsample, DOWNSAMPLE_METHODS)
        for name, cls in (("blur", BlurSpec), ("noise", NoiseSpec), ("realesrgan", RealESRGANConfig)):
            value = getattr(self, name)
            if value is None and name != "realesrgan":
                continue
            if not isinstance(value, cls):
                raise UserError(f"{name} must be a {cls.__name__}, got {type(value).__name__}")
            value.validate()
        q = self.jpeg_quality
        if q is not None and (isinstance(q, bool) or not isinstance(q, int) or not 1 <= q <= 100):
            raise UserError(f"jpeg_quality must be an integer in 1..100 (or none), got {q!r}")

    @classmethod
    def from_dict(cls, d: dict) -> DegradationSpec:
        kwargs = cls._kwargs(d, "DegradationSpec")
        for name, sub in (("blur", BlurSpec), ("noise", NoiseSpec), ("realesrgan", RealESRGANConfig)):
            if kwargs.get(name) is not None:
                kwargs[name] = sub(**sub._kwargs(kwargs[name], name))
        spec = cls(**kwargs)
        spec.validate()
        return spec
