"""Mean-field representations of continuous swarms: histogram vs RBF kernel embedding
(``docs/papers/dec_pomfc.md`` D5; Cui et al. 2024 replace histograms by kernel representations).

For positions ``x_i in [0, 1]``: the histogram ``phi_j = #{i: x_i in bin j} / N`` on ``n_bins`` equal bins
is piecewise constant in the positions (zero derivative almost everywhere, jumps at bin edges); the
kernel embedding ``phi_j = (1/N) sum_i exp(-(x_i - z_j)^2 / (2 b^2))`` on fixed centres ``z_j`` is smooth,
with ``|d phi_j / d x_i| <= max_x |k'(x)| / N = exp(-1/2) / (b N)``.
"""

from __future__ import annotations

import numpy as np

from mdp._validation import as_float_array, check_positive_int, check_real

__all__ = ["histogram_features", "kernel_features", "kernel_features_grad"]


def _positions(x):
    x = as_float_array(x, "positions", ndim=1, allow_bool=False)
    if x.size == 0:
        raise ValueError("positions must hold at least one agent")
    return x


def histogram_features(positions, n_bins: int) -> np.ndarray:
    """Fractions of the agents in ``n_bins`` equal bins of ``[0, 1]`` (positions clipped into it)."""
    x = _positions(positions)
    n_bins = check_positive_int(n_bins, "n_bins")
    idx = np.clip((np.clip(x, 0.0, 1.0) * n_bins).astype(np.int64), 0, n_bins - 1)
    return np.bincount(idx, minlength=n_bins) / x.size


def _centres(centres, bandwidth):
    z = as_float_array(centres, "centres", ndim=1, allow_bool=False)
    if z.size == 0:
        raise ValueError("centres must hold at least one centre")
    return z, check_real(bandwidth, "bandwidth", "(0, inf)")


def kernel_features(positions, centres, bandwidth: float) -> np.ndarray:
    """RBF kernel embedding ``(1/N) sum_i exp(-(x_i - z_j)^2 / (2 b^2))`` ``(J,)``."""
    x = _positions(positions)
    z, b = _centres(centres, bandwidth)
    return np.exp(-((x[:, None] - z[None]) ** 2) / (2 * b * b)).mean(axis=0)


def kernel_features_grad(positions, centres, bandwidth: float) -> np.ndarray:
    """``d phi_j / d x_i`` ``(N, J)`` of :func:`kernel_features`."""
    x = _positions(positions)
    z, b = _centres(centres, bandwidth)
    d = x[:, None] - z[None]
    return -d / (b * b) * np.exp(-(d**2) / (2 * b * b)) / x.size
