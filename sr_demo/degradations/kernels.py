"""Blur kernels of Real-ESRGAN (BasicSR `degradations.py`), in numpy only.

Gaussian (iso/aniso), generalized Gaussian, plateau and circular sinc
kernels, each normalised to sum 1. Coordinates: x runs along columns
(right), y along rows (down); `theta` (degrees) rotates the x axis of the
covariance as BasicSR's `sigma_matrix2` does. The sinc kernel needs the
Bessel function J1, computed here because scipy is not available.
"""

from __future__ import annotations

import math

import numpy as np

_J1_NODES = 256  # trapezoid nodes; exact to ~1e-15 for |x| < ~200


def bessel_j1(x: np.ndarray) -> np.ndarray:
    """Bessel J1 by Bessel's integral, (1/2pi) int cos(t - x sin t) dt over a period.

    The trapezoid rule on a periodic integrand converges exponentially, so a
    fixed number of nodes is exact to float64 precision for the arguments a
    41x41 kernel can produce.
    """
    x = np.asarray(x, dtype=np.float64)
    t = np.linspace(0.0, 2.0 * math.pi, _J1_NODES, endpoint=False)
    return np.cos(t - x[..., None] * np.sin(t)).mean(axis=-1)


def _quadratic_form(size: int, sigma_x: float, sigma_y: float, theta_deg: float) -> np.ndarray:
    """[x y] Sigma^-1 [x y]^T on the size x size grid centred at 0."""
    ax = np.arange(size, dtype=np.float64) - size // 2
    xx, yy = np.meshgrid(ax, ax)
    t = math.radians(theta_deg)
    rot = np.array([[math.cos(t), -math.sin(t)], [math.sin(t), math.cos(t)]])
    cov = rot @ np.diag([sigma_x**2, sigma_y**2]) @ rot.T
    inv = np.linalg.inv(cov)
    return inv[0, 0] * xx * xx + (inv[0, 1] + inv[1, 0]) * xx * yy + inv[1, 1] * yy * yy


def _normalised(k: np.ndarray) -> np.ndarray:
    return k / k.sum()


def gaussian_kernel(size: int, sigma_x: float, sigma_y: float | None = None, theta: float = 0.0) -> np.ndarray:
    """Bivariate Gaussian; sigma_y=None gives the isotropic kernel."""
    sigma_y = sigma_x if sigma_y is None else sigma_y
    return _normalised(np.exp(-0.5 * _quadratic_form(size, sigma_x, sigma_y, theta)))


def generalized_gaussian_kernel(size: int, sigma_x: float, sigma_y: float, theta: float, beta: float) -> np.ndarray:
    """exp(-0.5 q^beta): beta < 1 heavy tails, beta > 1 flat top (beta = 1 is Gaussian)."""
    return _normalised(np.exp(-0.5 * np.power(_quadratic_form(size, sigma_x, sigma_y, theta), beta)))


def plateau_kernel(size: int, sigma_x: float, sigma_y: float, theta: float, beta: float) -> np.ndarray:
    """1 / (q^beta + 1): a plateau with polynomially decaying tails."""
    return _normalised(1.0 / (np.power(_quadratic_form(size, sigma_x, sigma_y, theta), beta) + 1.0))


def sinc_kernel(size: int, omega_c: float) -> np.ndarray:
    """Circular low-pass (2-D sinc) with cut-off omega_c in radians/pixel: ringing and overshoot."""
    ax = np.arange(size, dtype=np.float64) - (size - 1) / 2
    r = np.hypot(*np.meshgrid(ax, ax))
    centre = r == 0
    r[centre] = 1.0  # value replaced below; avoids 0/0
    k = omega_c * bessel_j1(omega_c * r) / (2.0 * math.pi * r)
    k[centre] = omega_c**2 / (4.0 * math.pi)
    return _normalised(k)


def make_kernel(params: dict) -> np.ndarray:
    """Build the kernel that a parameter dict (an op's summary) describes."""
    kind, size = params["type"], params["size"]
    if kind == "sinc":
        return sinc_kernel(size, params["omega_c"])
    sx, sy, theta = params["sigma_x"], params.get("sigma_y", params["sigma_x"]), params.get("theta", 0.0)
    if kind in ("iso", "aniso"):
        return gaussian_kernel(size, sx, sy, theta)
    if kind.startswith("generalized"):
        return generalized_gaussian_kernel(size, sx, sy, theta, params["beta"])
    if kind.startswith("plateau"):
        return plateau_kernel(size, sx, sy, theta, params["beta"])
    raise ValueError(f"unknown kernel type {kind!r}")
