"""Finite-state mean-field model of Dec-POMFC (Cui et al. 2024; ``docs/papers/dec_pomfc.md``).

``N`` exchangeable agents with states ``x in {0..X-1}``, observations ``y ~ O(. | x, mu)``, actions
``u ~ h(. | y)`` from a shared decision rule ``h`` ``(Y, U)`` and transitions ``x' ~ P(. | x, u, mu)``,
where ``mu`` is the (empirical) distribution of the states. The dependence on ``mu`` is a mixture,
which keeps every row stochastic for any ``mu`` and is 1-Lipschitz in ``mu`` (total variation):

``O(y | x, mu) = sum_z mu(z) O_z[z, x, y]``,  ``P(x' | x, u, mu) = sum_z mu(z) P_z[z, x, u, x']``

(a kernel given without the leading ``z`` axis does not depend on ``mu``). The shared reward is
``r(mu) = w . mu - kappa ||mu - target||_1``. The mean-field transition of the lifted MDP is

``T(mu, h)(x') = sum_x mu(x) sum_y O(y | x, mu) sum_u h(u | y) P(x' | x, u, mu)``,

and the objective of a decision-rule sequence ``h_0..h_{H-1}`` from ``mu_0`` is
``J = sum_{t=1}^{H} r(mu_t)`` (the reward of the distributions reached; ``mu_0`` is fixed).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from mdp._validation import as_float_array, check_positive_int, check_real

__all__ = [
    "MeanFieldModel",
    "check_distribution",
    "check_rules",
    "mf_objective",
    "mf_rollout",
    "mf_step",
    "reference_mf_step",
    "ring_aggregation",
]

_ATOL = 1e-9


def check_distribution(mu, n: int, name: str = "mu") -> np.ndarray:
    """A probability vector of length ``n`` (non-negative, sums to 1 within 1e-9)."""
    m = as_float_array(mu, name, ndim=1, allow_bool=False)
    if m.shape[0] != n:
        raise ValueError(f"{name} must have length {n}, got {m.shape[0]}")
    if m.min() < 0:
        raise ValueError(f"{name} must be non-negative, got {name}[{int(np.argmin(m))}] = {m.min():g}")
    if abs(m.sum() - 1.0) > _ATOL:
        raise ValueError(f"{name} must sum to 1 (a distribution), got {m.sum():.12g}")
    return m


def _stochastic(arr, name, axis=-1):
    if arr.min() < 0:
        raise ValueError(f"{name} must be non-negative")
    s = arr.sum(axis=axis)
    if np.max(np.abs(s - 1.0)) > _ATOL:
        bad = np.unravel_index(int(np.argmax(np.abs(s - 1.0))), s.shape)
        raise ValueError(f"{name} rows must sum to 1; the row {bad} sums to {s[bad]:.12g}")


class MeanFieldModel:
    """A finite-state Dec-POMFC model (``docs/papers/dec_pomfc.md``, Model).

    Parameters
    ----------
    P : array_like, shape (X, U, X) or (X, X, U, X)
        Transitions ``P[x, u, x']``, or ``P[z, x, u, x']`` mixed by ``mu(z)``.
    O : array_like, shape (X, Y) or (X, X, Y)
        Observations ``O[x, y]``, or ``O[z, x, y]`` mixed by ``mu(z)``.
    mu0 : array_like, shape (X,)
        Initial distribution.
    horizon : int
        ``H >= 1`` decision steps.
    reward : array_like, shape (X,), optional
        Linear reward weights ``w`` (default zeros).
    target : array_like, shape (X,), optional
        Target distribution of the ``-kappa ||mu - target||_1`` term.
    target_weight : float, default 1.0
        ``kappa >= 0`` (used only with a target).

    Attributes
    ----------
    P : ndarray, shape (X, X, U, X)
        Mixture form (equal slices when ``P`` does not depend on ``mu``).
    O : ndarray, shape (X, X, Y)
    mu_dependent : bool
        Whether a given kernel had the ``z`` axis with unequal slices.
    """

    def __init__(self, P, O, mu0, horizon, *, reward=None, target=None, target_weight: float = 1.0):
        P = as_float_array(P, "P", allow_bool=False)
        O = as_float_array(O, "O", allow_bool=False)
        if P.ndim == 3:
            P = np.broadcast_to(P, (P.shape[0], *P.shape)).copy()
        if O.ndim == 2:
            O = np.broadcast_to(O, (O.shape[0], *O.shape)).copy()
        if P.ndim != 4 or P.shape[0] != P.shape[1] or P.shape[3] != P.shape[0]:
            raise ValueError(f"P must have shape (X, U, X) or (X, X, U, X), got {P.shape}")
        X, U = P.shape[0], P.shape[2]
        if O.ndim != 3 or O.shape[:2] != (X, X):
            raise ValueError(f"O must have shape (X, Y) or (X, X, Y) with X = {X}, got {O.shape}")
        if X < 1 or U < 1 or O.shape[2] < 1:
            raise ValueError("P and O need at least one state, action and observation")
        _stochastic(P, "P")
        _stochastic(O, "O")
        self.P, self.O = P, O
        self.mu0 = check_distribution(mu0, X, "mu0")
        self.horizon = check_positive_int(horizon, "horizon")
        self.reward = np.zeros(X) if reward is None else as_float_array(reward, "reward", ndim=1, allow_bool=False)
        if self.reward.shape[0] != X:
            raise ValueError(f"reward must have length X = {X}, got {self.reward.shape[0]}")
        self.has_target = target is not None
        self.target = check_distribution(target, X, "target") if target is not None else np.zeros(X)
        self.target_weight = check_real(target_weight, "target_weight", "[0, inf)") if self.has_target else 0.0
        self.mu_dependent = bool(np.ptp(P, axis=0).max() > 0 or np.ptp(O, axis=0).max() > 0)
        for a in (self.P, self.O, self.mu0, self.reward, self.target):
            a.flags.writeable = False

    @property
    def n_states(self) -> int:
        return int(self.P.shape[0])

    @property
    def n_actions(self) -> int:
        return int(self.P.shape[2])

    @property
    def n_obs(self) -> int:
        return int(self.O.shape[2])

    def with_mu0(self, mu0) -> MeanFieldModel:
        """The same model from another initial distribution."""
        return MeanFieldModel(
            self.P,
            self.O,
            mu0,
            self.horizon,
            reward=self.reward,
            target=self.target if self.has_target else None,
            target_weight=self.target_weight if self.has_target else 1.0,
        )

    def r(self, mu) -> float:
        """``r(mu) = w . mu - kappa ||mu - target||_1``."""
        mu = np.asarray(mu, dtype=np.float64)
        return float(mu @ self.reward - self.target_weight * np.abs(mu - self.target).sum(axis=-1))

    def __repr__(self) -> str:
        return (
            f"MeanFieldModel(X={self.n_states}, Y={self.n_obs}, U={self.n_actions}, horizon={self.horizon}, "
            f"mu_dependent={self.mu_dependent})"
        )


def require_model(model, name: str = "model") -> MeanFieldModel:
    if not isinstance(model, MeanFieldModel):
        raise TypeError(f"{name} must be a marl.mean_field.MeanFieldModel, got {type(model).__name__}")
    return model


def check_rules(h, model: MeanFieldModel, name: str = "h", *, single: bool = False) -> np.ndarray:
    """Decision rules ``(H, Y, U)`` (or one rule ``(Y, U)`` with ``single``), rows summing to 1."""
    want = 2 if single else 3
    a = as_float_array(h, name, ndim=want, allow_bool=False)
    shape = (model.n_obs, model.n_actions) if single else (model.horizon, model.n_obs, model.n_actions)
    if a.shape != shape:
        raise ValueError(f"{name} must have shape {shape}, got {a.shape}")
    _stochastic(a, name)
    return a


@njit(cache=True)
def _mix(mu, P, O, Pm, Om):
    """``Pm[x, u, x'] = sum_z mu_z P[z, x, u, x']``, ``Om[x, y] = sum_z mu_z O[z, x, y]``."""
    X = P.shape[0]
    Pm[:] = 0.0
    Om[:] = 0.0
    for z in range(X):
        w = mu[z]
        if w == 0.0:
            continue
        for x in range(X):
            for u in range(P.shape[2]):
                for xp in range(X):
                    Pm[x, u, xp] += w * P[z, x, u, xp]
            for y in range(O.shape[2]):
                Om[x, y] += w * O[z, x, y]


@njit(cache=True)
def _mf_step(mu, h, P, O, out):
    X, U, Y = P.shape[0], P.shape[2], O.shape[2]
    Pm = np.empty((X, U, X))
    Om = np.empty((X, Y))
    _mix(mu, P, O, Pm, Om)
    out[:] = 0.0
    for x in range(X):
        if mu[x] == 0.0:
            continue
        for u in range(U):
            k = 0.0
            for y in range(Y):
                k += Om[x, y] * h[y, u]
            w = mu[x] * k
            if w == 0.0:
                continue
            for xp in range(X):
                out[xp] += w * Pm[x, u, xp]


def reference_mf_step(model: MeanFieldModel, mu, h) -> np.ndarray:
    """Plain-numpy twin of :func:`mf_step` (einsum of the definition)."""
    mu = np.asarray(mu, dtype=np.float64)
    Pm = np.einsum("z,zxuy->xuy", mu, model.P)
    Om = np.einsum("z,zxy->xy", mu, model.O)
    return np.einsum("x,xy,yu,xuv->v", mu, Om, np.asarray(h), Pm)


def mf_step(model: MeanFieldModel, mu, h) -> np.ndarray:
    """One mean-field transition ``T(mu, h)`` (``docs/papers/dec_pomfc.md``, Model).

    Returns
    -------
    ndarray, shape (X,)
    """
    model = require_model(model)
    mu = check_distribution(mu, model.n_states)
    h = check_rules(h, model, single=True)
    out = np.empty(model.n_states)
    _mf_step(mu, h, model.P, model.O, out)
    return out


def mf_rollout(model: MeanFieldModel, h, mu0=None) -> np.ndarray:
    """The mean-field trajectory ``mu_0..mu_H`` ``(H + 1, X)`` under the rule sequence ``h`` ``(H, Y, U)``."""
    model = require_model(model)
    h = check_rules(h, model)
    mu = model.mu0 if mu0 is None else check_distribution(mu0, model.n_states, "mu0")
    traj = np.empty((model.horizon + 1, model.n_states))
    traj[0] = mu
    for t in range(model.horizon):
        _mf_step(traj[t], h[t], model.P, model.O, traj[t + 1])
    return traj


def mf_objective(model: MeanFieldModel, h, mu0=None) -> float:
    """``J(h) = sum_{t=1}^{H} r(mu_t)`` of the mean-field rollout."""
    traj = mf_rollout(model, h, mu0)
    return float(sum(model.r(m) for m in traj[1:]))


def ring_aggregation(
    n_cells: int = 8, n_sectors: int = 4, *, slip: float = 0.1, horizon: int = 12, crowding: float = 0.0
) -> MeanFieldModel:
    """The digest's lab task: aggregation on a ring with partial observation (``docs/papers/dec_pomfc.md``).

    ``n_cells`` cells on a ring; the observation is the own cell's sector (``n_sectors`` equal arcs);
    actions left / stay / right; with probability ``slip`` the move is replaced by a uniformly random one
    of the three; ``r(mu) = -||mu - target||_1`` with the target 1/2 on cells 0 and 1; ``mu_0`` uniform.
    With ``crowding > 0`` the transition depends on ``mu``: a move into cell ``x'`` fails (the agent stays)
    with probability ``crowding * mu(x')`` (a mixture over ``z = x'``), which makes D1's ``mu``-dependent case.
    """
    X = check_positive_int(n_cells, "n_cells", minimum=3)
    Y = check_positive_int(n_sectors, "n_sectors")
    if X % Y:
        raise ValueError(f"n_sectors must divide n_cells, got {Y} and {X}")
    slip = check_real(slip, "slip", "[0, 1]")
    crowding = check_real(crowding, "crowding", "[0, 1]")
    moves = (-1, 0, 1)
    base = np.zeros((X, 3, X))
    for x in range(X):
        for u, d in enumerate(moves):
            base[x, u, (x + d) % X] += 1 - slip
            for d2 in moves:
                base[x, u, (x + d2) % X] += slip / 3
    P = np.empty((X, X, 3, X))
    for z in range(X):
        P[z] = base
        # the mass that moves into z stays put with probability crowding (mixture weight mu(z))
        for x in range(X):
            if x == z:
                continue
            for u in range(3):
                moved = crowding * base[x, u, z]
                P[z, x, u, z] -= moved
                P[z, x, u, x] += moved
    O = np.zeros((X, Y))
    for x in range(X):
        O[x, x // (X // Y)] = 1.0
    target = np.zeros(X)
    target[:2] = 0.5
    return MeanFieldModel(P, O, np.full(X, 1.0 / X), horizon, target=target)
