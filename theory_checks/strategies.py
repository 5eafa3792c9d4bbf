"""Hypothesis strategies for tabular MDPs, value vectors and policies.

The random-instance generator of ``docs/papers/foundations.md``: ``P[s, a, :] ~ Dirichlet(alpha * 1)``
with ``alpha in {0.1, 1}`` (0.1 gives nearly deterministic, hard cases), ``R ~ U[0, 1]``,
``gamma in {0.5, 0.9, 0.99}``.

Shrinking: hypothesis draws the sizes, the discount, the concentration, the form (dense/sparse),
whether rows have a restricted support, and one integer seed; the arrays themselves come from a
``numpy.random.Generator`` seeded by that integer. A failing example therefore shrinks towards
few states, few actions, the first listed ``gamma``/``alpha``, full support and seed 0, and the
printed example is reproducible from the drawn values alone.

>>> from hypothesis import given
>>> from theory_checks.strategies import mdps
>>> @given(mdps(max_states=4))
... def test_rows_sum_to_one(m):
...     assert abs(m.dense_P().sum(axis=2) - 1).max() < 1e-12
"""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import mdp

__all__ = [
    "DEFAULT_GAMMAS",
    "DEFAULT_ALPHAS",
    "seeds",
    "mdps",
    "value_vectors",
    "policies",
    "sparse_mdps",
]

DEFAULT_GAMMAS = (0.5, 0.9, 0.99)
DEFAULT_ALPHAS = (0.1, 1.0)

#: integer seeds for ``numpy.random.default_rng`` (shrink towards 0)
seeds = st.integers(min_value=0, max_value=2**32 - 1)


def _dirichlet_rows(rng: np.random.Generator, S: int, A: int, alpha: float, restrict_support: bool) -> np.ndarray:
    """``P[s, a, :] ~ Dirichlet(alpha * 1)`` on all of ``range(S)`` or on a random support per row."""
    P = np.zeros((S, A, S))
    for s in range(S):
        for a in range(A):
            if restrict_support and S > 1:
                k = int(rng.integers(1, S + 1))
                support = rng.choice(S, size=k, replace=False)
            else:
                support = np.arange(S)
            row = rng.dirichlet(np.full(support.size, alpha)) if support.size > 1 else np.ones(1)
            total = row.sum()
            if not np.isfinite(total) or total <= 0:  # alpha tiny: all mass underflowed
                row = np.zeros(support.size)
                row[int(rng.integers(support.size))] = 1.0
            P[s, a, support] = row / row.sum()
    return P


@st.composite
def mdps(
    draw,
    min_states: int = 1,
    max_states: int = 8,
    min_actions: int = 1,
    max_actions: int = 4,
    sparse: bool | None = None,
    gammas=None,
    alphas=None,
    dtype=np.float64,
):
    """Strategy of random :class:`mdp.TabularMDP`.

    Parameters
    ----------
    min_states, max_states, min_actions, max_actions : int
        Size ranges (inclusive).
    sparse : bool or None
        ``True``: CSR storage, ``False``: dense, ``None``: either (drawn).
    gammas : sequence of float, optional
        Discounts to sample from (default ``(0.5, 0.9, 0.99)``).
    alphas : sequence of float, optional
        Dirichlet concentrations to sample from (default ``(0.1, 1.0)``).
    dtype : numpy.float64 or numpy.float32
        Storage type of ``P``.

    Rows of ``P`` are Dirichlet draws, either over all states or (drawn) over a random support of
    random size, so that CSR models have rows of different lengths and dense models exact zeros.
    ``R ~ U[0, 1]``.
    """
    S = draw(st.integers(min_value=min_states, max_value=max_states))
    A = draw(st.integers(min_value=min_actions, max_value=max_actions))
    gamma = draw(st.sampled_from(tuple(DEFAULT_GAMMAS if gammas is None else gammas)))
    alpha = draw(st.sampled_from(tuple(DEFAULT_ALPHAS if alphas is None else alphas)))
    is_sparse = draw(st.booleans()) if sparse is None else bool(sparse)
    restrict_support = draw(st.booleans())
    seed = draw(seeds)
    rng = np.random.default_rng(seed)
    P = _dirichlet_rows(rng, S, A, float(alpha), restrict_support)
    R = rng.random((S, A))
    m = mdp.TabularMDP(P, R, gamma, dtype=dtype)
    return m.to_sparse() if is_sparse else m


def value_vectors(n_states: int, *, min_value: float = -10.0, max_value: float = 10.0):
    """Strategy of finite float64 value vectors of shape ``(n_states,)`` in ``[min_value, max_value]``."""
    return hnp.arrays(
        np.float64,
        (int(n_states),),
        elements=st.floats(min_value=min_value, max_value=max_value, allow_nan=False, allow_infinity=False),
    )


@st.composite
def policies(draw, m, stochastic: bool = False):
    """Strategy of policies for ``m`` (a :class:`mdp.TabularMDP` or an ``(S, A)`` pair).

    ``stochastic=False``: int64 ``(S,)`` actions. ``stochastic=True``: float64 ``(S, A)`` rows on the
    simplex, each row either one-hot or a Dirichlet(1) draw (so deterministic policies written as
    rows are covered too).
    """
    S, A = (m.n_states, m.n_actions) if isinstance(m, mdp.TabularMDP) else (int(m[0]), int(m[1]))
    if not stochastic:
        return draw(hnp.arrays(np.int64, (S,), elements=st.integers(min_value=0, max_value=A - 1)))
    one_hot = draw(st.lists(st.booleans(), min_size=S, max_size=S))
    rng = np.random.default_rng(draw(seeds))
    pi = rng.dirichlet(np.ones(A), size=S) if A > 1 else np.ones((S, 1))
    for s, hot in enumerate(one_hot):
        if hot:
            pi[s] = 0.0
            pi[s, int(rng.integers(A))] = 1.0
    return pi / pi.sum(axis=1, keepdims=True)


@st.composite
def _garnets(draw, max_states, max_actions, gammas, dtype):
    S = draw(st.integers(min_value=2, max_value=max_states))
    A = draw(st.integers(min_value=1, max_value=max_actions))
    b = draw(st.integers(min_value=1, max_value=min(S, 4)))
    gamma = draw(st.sampled_from(gammas))
    rng = np.random.default_rng(draw(seeds))
    return mdp.generators.garnet(S, A, b, rng=rng, gamma=gamma, dtype=dtype)


@st.composite
def _gridworlds(draw, max_side, gammas, dtype):
    W = draw(st.integers(min_value=1, max_value=max_side))
    H = draw(st.integers(min_value=2 if W == 1 else 1, max_value=max_side))
    slip = draw(st.sampled_from((0.0, 0.1, 0.3, 1.0)))
    gamma = draw(st.sampled_from(gammas))
    rng = np.random.default_rng(draw(seeds))
    gx, gy = int(rng.integers(W)), int(rng.integers(H))
    walls = rng.random((H, W)) < draw(st.sampled_from((0.0, 0.2)))
    walls[gy, gx] = False
    step_reward = draw(st.sampled_from((0.0, -0.1)))
    return mdp.generators.gridworld(
        W, H, slip=slip, walls=walls, goal=(gx, gy), step_reward=step_reward, gamma=gamma, dtype=dtype
    )


def sparse_mdps(*, max_states: int = 30, max_actions: int = 4, max_side: int = 6, gammas=None, dtype=np.float64):
    """Strategy of small structured sparse models: GARNET (``S <= max_states``, branching ``<= 4``)
    or slippery gridworlds (``<= max_side x max_side``, random walls and goal)."""
    gammas = tuple(DEFAULT_GAMMAS if gammas is None else gammas)
    return st.one_of(_garnets(max_states, max_actions, gammas, dtype), _gridworlds(max_side, gammas, dtype))
