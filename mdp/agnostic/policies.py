"""Policy classes as integer tables ``policies[k, h, s]`` (shape ``(K, H, S)``).

The classes of the spanning-capacity examples (Jia et al. 2023, the examples of spanning capacity; project page
``docs/papers/agnostic_rl.md``): all deterministic policies, constant-action policies, singleton
deviations around a default policy, random subsets, and classes built from state features
(linear-argmax and threshold policies), for which ``K`` can be ``10^4`` and more.
"""

from __future__ import annotations

import itertools

import numpy as np

from mdp._validation import as_float_array, check_positive_int, check_rng

__all__ = [
    "all_policies",
    "constant_action",
    "singleton_deviations",
    "random_policies",
    "linear_argmax_policies",
    "threshold_policies",
]

_MAX_ALL = 1 << 20


def _dims(H, S, A):
    return check_positive_int(H, "H"), check_positive_int(S, "S"), check_positive_int(A, "A")


def all_policies(H, S, A) -> np.ndarray:
    """Every deterministic policy: ``A^(H S)`` rows (refused beyond ``2^20``)."""
    H, S, A = _dims(H, S, A)
    n = A ** (H * S)
    if n > _MAX_ALL:
        raise ValueError(
            f"all_policies would have A^(H S) = {A}^{H * S} rows (more than {_MAX_ALL}); use a smaller H, S or A"
        )
    rows = np.array(list(itertools.product(range(A), repeat=H * S)), dtype=np.int64)
    return rows.reshape(n, H, S)


def constant_action(H, S, A) -> np.ndarray:
    """``{pi_a : pi_a(h, s) = a}``, ``K = A`` (spanning capacity ``A``)."""
    H, S, A = _dims(H, S, A)
    return np.broadcast_to(np.arange(A, dtype=np.int64)[:, None, None], (A, H, S)).copy()


def singleton_deviations(H, S, A, default=None) -> np.ndarray:
    """The default policy and, for every ``(h, s)`` and action ``a != default[h, s]``, the policy
    equal to the default except ``a`` at ``(h, s)``: ``K = 1 + H S (A - 1)``.

    ``default`` ``(H, S)`` ints, default all zeros.
    """
    H, S, A = _dims(H, S, A)
    if default is None:
        d = np.zeros((H, S), dtype=np.int64)
    else:
        d = np.asarray(default)
        if d.shape != (H, S) or not np.issubdtype(d.dtype, np.integer):
            raise ValueError(f"default must be an integer array of shape ({H}, {S}), got {d.shape} {d.dtype}")
        if d.min() < 0 or d.max() >= A:
            raise ValueError(f"default must hold actions in [0, {A})")
        d = d.astype(np.int64)
    out = [d.copy()]
    for h in range(H):
        for s in range(S):
            for a in range(A):
                if a != d[h, s]:
                    p = d.copy()
                    p[h, s] = a
                    out.append(p)
    return np.stack(out)


def random_policies(K, H, S, A, *, rng) -> np.ndarray:
    """``K`` policies with i.i.d. uniform actions (a random subset of all policies)."""
    K = check_positive_int(K, "K")
    H, S, A = _dims(H, S, A)
    rng = check_rng(rng)
    return rng.integers(0, A, size=(K, H, S), dtype=np.int64)


def linear_argmax_policies(features, weights) -> np.ndarray:
    """``pi_k(h, s) = argmax_a <weights[k, a], features[h, s]>`` (first argmax).

    Parameters
    ----------
    features : array_like, shape (H, S, d)
        State features per layer.
    weights : array_like, shape (K, A, d)

    Returns
    -------
    ndarray, shape (K, H, S)
    """
    phi = as_float_array(features, "features", ndim=3)
    w = as_float_array(weights, "weights", ndim=3)
    if w.shape[2] != phi.shape[2]:
        raise ValueError(f"weights (K, A, d) and features (H, S, d) must share d, got {w.shape} and {phi.shape}")
    H, S, d = phi.shape
    K, A, _ = w.shape
    out = np.empty((K, H, S), dtype=np.int64)
    flat = phi.reshape(H * S, d)
    for start in range(0, K, 256):  # bounded memory: (chunk, A, H S) scores
        scores = np.einsum("kad,nd->kan", w[start : start + 256], flat)
        out[start : start + 256] = scores.argmax(axis=1).reshape(-1, H, S)
    return out


def threshold_policies(feature, thresholds, *, above: int = 1, below: int = 0) -> np.ndarray:
    """``pi_k(h, s) = above if feature[h, s] >= thresholds[k] else below``.

    ``feature`` ``(H, S)``, ``thresholds`` ``(K,)``; ``K + 1`` distinct thresholds at most give
    distinct policies.
    """
    f = as_float_array(feature, "feature", ndim=2)
    t = as_float_array(thresholds, "thresholds", ndim=1)
    if t.size == 0:
        raise ValueError("thresholds must be nonempty (an empty class)")
    for nm, x in (("above", above), ("below", below)):
        if not isinstance(x, (int, np.integer)) or x < 0:
            raise ValueError(f"{nm} must be a nonnegative action index, got {x!r}")
    return np.where(f[None] >= t[:, None, None], int(above), int(below)).astype(np.int64)
