"""Batched exact-gradient ascent on 2-agent common-payoff matrix games: independent, edge, learned edge.

Many random initialisations run at once (one compiled loop), for the coordination experiments of
``docs/papers/bn_marl.md`` (BN4, lab ``bn_coordination``). Agent 0 plays ``x = softmax(th1)``; agent 1

* ``"independent"``: ``y = softmax(th2)``, ``J = x^T R y``;
* ``"edge"`` (edge ``0 -> 1``): ``y_a = softmax(th2c[a])`` in context ``a``, ``J = sum_a x_a y_a^T R[a]``;
* ``"learned_edge"``: the edge exists with probability ``q = sigmoid(e)``, so agent 1 plays
  ``q y_a + (1 - q) z`` with ``z = softmax(th2)`` its edge-free policy; gradient ascent on
  ``J - beta_t q`` with the sparsity penalty ``beta_t = beta * t / steps`` growing linearly from 0
  (a reconstruction of the paper's "increase the sparsity penalty over training" for one edge), and
  the policy is *executed without the edge*: ``(x, z)``. With ``distill > 0`` the edge-free policy is
  also pulled towards the marginal ``m = sum_a x_a (q y_a + (1 - q) z)`` of agent 1's play by the
  gradient of ``-distill * KL(m || z)`` (an alternative schedule tried here, not the paper's).

Exact gradients (softmax policy gradient of the expected payoff): ``dJ/dth1 = x * (u - J)``,
``dJ/dth2c[a] = q x_a y_a * (R[a] - y_a^T R[a])``, ``dJ/dth2 = (1 - q) z * (w - z^T w)`` with
``w = x^T R``, ``dJ/de = q (1 - q) (J_edge - J_free)``.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from mdp._common import result
from mdp._validation import as_float_array, check_positive_int, check_rng, check_tol

__all__ = [
    "CLIMBING",
    "PENALTY",
    "MatrixAscentResult",
    "bn_matrix_ascent",
    "climbing_penalty_game",
    "matrix_nash_gap",
    "reference_bn_matrix_ascent",
]

#: Claus & Boutilier (1998), climbing game (common payoff; optimum 11 at (0, 0))
CLIMBING = np.array([[11.0, -30.0, 0.0], [-30.0, 7.0, 6.0], [0.0, 0.0, 5.0]])
#: Claus & Boutilier (1998), penalty game with k = -100 (optima 10 at (0, 0) and (2, 2))
PENALTY = np.array([[10.0, 0.0, -100.0], [0.0, 2.0, 0.0], [-100.0, 0.0, 10.0]])

_MODES = {"independent": 0, "edge": 1, "learned_edge": 2}


def climbing_penalty_game(gamma: float = 0.5, *, switch_equal: float = 0.2, switch_other: float = 0.6):
    """A 2-state cooperative game: state 0 plays :data:`CLIMBING`, state 1 :data:`PENALTY`; after the
    agents play equal action indices the state switches with probability ``switch_equal``, otherwise
    with ``switch_other`` (so the visitation depends on the policy). Uniform start."""
    from marl.bn.model import CooperativeGame
    from mdp._validation import check_gamma, check_probability

    for name, p in (("switch_equal", switch_equal), ("switch_other", switch_other)):
        check_probability(p, name)
    switch = np.where(np.eye(3, dtype=bool), float(switch_equal), float(switch_other))
    P = np.empty((2, 3, 3, 2))
    for s in range(2):
        P[s, :, :, 1 - s] = switch
        P[s, :, :, s] = 1 - switch
    return CooperativeGame(P, np.stack([CLIMBING, PENALTY]), check_gamma(gamma))


@njit(cache=True)
def _softmax_row(t, out):
    m = t[0]
    for k in range(1, t.shape[0]):
        m = max(m, t[k])
    tot = 0.0
    for k in range(t.shape[0]):
        out[k] = np.exp(t[k] - m)
        tot += out[k]
    for k in range(t.shape[0]):
        out[k] /= tot


@njit(cache=True)
def _ascent_kernel(R, mode, th1, th2, th2c, e, lr, steps, beta, distill, trace):
    N, A1 = th1.shape
    A2 = th2.shape[1]
    x = np.empty(A1)
    z = np.empty(A2)
    y = np.empty((A1, A2))
    uc = np.empty(A1)
    ui = np.empty(A1)
    w = np.empty(A2)
    for t in range(steps):
        bt = beta * t / steps
        tot = 0.0
        for n in range(N):
            _softmax_row(th1[n], x)
            _softmax_row(th2[n], z)
            q = 0.0
            if mode == 1:
                q = 1.0
            elif mode == 2:
                q = 1.0 / (1.0 + np.exp(-e[n]))
            if mode >= 1:
                for a in range(A1):
                    _softmax_row(th2c[n, a], y[a])
            for a in range(A1):
                c = 0.0
                f = 0.0
                for b in range(A2):
                    if mode >= 1:
                        c += y[a, b] * R[a, b]
                    f += z[b] * R[a, b]
                uc[a] = c
                ui[a] = f
            for b in range(A2):
                s = 0.0
                for a in range(A1):
                    s += x[a] * R[a, b]
                w[b] = s
            Jc = 0.0
            Ji = 0.0
            for a in range(A1):
                Jc += x[a] * uc[a]
                Ji += x[a] * ui[a]
            J = q * Jc + (1.0 - q) * Ji
            tot += J
            # agent 0
            for a in range(A1):
                th1[n, a] += lr * x[a] * (q * uc[a] + (1.0 - q) * ui[a] - J)
            # agent 1, edge-free part
            if mode != 1:
                zw = 0.0
                for b in range(A2):
                    zw += z[b] * w[b]
                if distill > 0.0:
                    # marginal of agent 1's play: m = q sum_a x_a y_a + (1 - q) z; -d KL(m || z)/d th2 = m - z
                    for b in range(A2):
                        mb = (1.0 - q) * z[b]
                        if mode == 2:
                            for a in range(A1):
                                mb += q * x[a] * y[a, b]
                        th2[n, b] += lr * ((1.0 - q) * z[b] * (w[b] - zw) + distill * (mb - z[b]))
                else:
                    for b in range(A2):
                        th2[n, b] += lr * (1.0 - q) * z[b] * (w[b] - zw)
            # agent 1, conditional part
            if mode >= 1:
                for a in range(A1):
                    for b in range(A2):
                        th2c[n, a, b] += lr * q * x[a] * y[a, b] * (R[a, b] - uc[a])
            if mode == 2:
                e[n] += lr * (q * (1.0 - q) * (Jc - Ji - bt))
        trace[t] = tot / N


def reference_bn_matrix_ascent(R, mode, th1, th2, th2c, e, lr, steps, beta, distill):
    """Plain-numpy twin of the batched loop (vectorised over initialisations); returns the updated
    ``(th1, th2, th2c, e, trace)``."""
    th1, th2, th2c, e = (np.array(a, dtype=np.float64) for a in (th1, th2, th2c, e))

    def sm(t):
        z = np.exp(t - t.max(axis=-1, keepdims=True))
        return z / z.sum(axis=-1, keepdims=True)

    trace = np.empty(steps)
    for t in range(steps):
        bt = beta * t / steps
        x, z = sm(th1), sm(th2)
        q = {0: np.zeros(len(e)), 1: np.ones(len(e)), 2: 1 / (1 + np.exp(-e))}[mode]
        y = sm(th2c)
        uc = np.einsum("nab,ab->na", y, R)
        ui = z @ R.T
        w = x @ R
        Jc, Ji = (x * uc).sum(1), (x * ui).sum(1)
        J = q * Jc + (1 - q) * Ji
        trace[t] = J.mean()
        g1 = x * (q[:, None] * uc + (1 - q)[:, None] * ui - J[:, None])
        g2 = (1 - q)[:, None] * z * (w - (z * w).sum(1, keepdims=True))
        if distill > 0 and mode != 1:
            m = (1 - q)[:, None] * z + (q[:, None] * np.einsum("na,nab->nb", x, y) if mode == 2 else 0.0)
            g2 = g2 + distill * (m - z)
        g2c = q[:, None, None] * x[:, :, None] * y * (R[None] - uc[:, :, None])
        ge = q * (1 - q) * (Jc - Ji - bt)
        th1 += lr * g1
        if mode != 1:
            th2 += lr * g2
        if mode >= 1:
            th2c += lr * g2c
        if mode == 2:
            e += lr * ge
    return th1, th2, th2c, e, trace


def matrix_nash_gap(R, x, y) -> np.ndarray:
    """Nash gap over conditional policies in a common-payoff matrix game, batched.

    ``x`` ``(N, A1)``; ``y`` ``(N, A2)`` (independent agent 1) or ``(N, A1, A2)`` (agent 1 observes
    agent 0's action). Returns ``(N,)``: ``max(max_a u(a), sum_a x_a max_b BR) - J``.
    """
    R = np.asarray(R, dtype=np.float64)
    if y.ndim == 2:
        u = y @ R.T
        J = (x * u).sum(1)
        br2 = (x @ R).max(axis=1)
    else:
        u = np.einsum("nab,ab->na", y, R)
        J = (x * u).sum(1)
        br2 = (x * R.max(axis=1)[None, :]).sum(1)
    return np.maximum(u.max(axis=1), br2) - J


@result
class MatrixAscentResult:
    """Batched exact-gradient ascent on a 2-agent common-payoff matrix game.

    Attributes
    ----------
    mode : str
        ``"independent"``, ``"edge"`` or ``"learned_edge"``.
    x : ndarray, shape (N, A1)
        Agent 0's final policy per initialisation.
    y : ndarray, shape (N, A2) or (N, A1, A2)
        Agent 1's executed policy: ``(N, A2)`` when independent or pruned (learned edge), else its
        conditional policy ``(N, A1, A2)``.
    y_edge : ndarray, shape (N, A1, A2)
        Learned edge only (else empty): agent 1's policy with the edge, ``q y_a + (1 - q) z``.
    value : ndarray, shape (N,)
        Expected payoff of the executed policy (learned edge: without the edge).
    value_with_edge : ndarray, shape (N,)
        Learned edge: the payoff before pruning; otherwise equal to ``value``.
    edge_probability : ndarray, shape (N,)
        Final ``q`` (1 for ``"edge"``, 0 for ``"independent"``).
    nash_gap : ndarray, shape (N,)
        Nash gap of the executed policy over conditional policies (:func:`matrix_nash_gap`).
    optimum : float
        ``max R``.
    success : ndarray of bool, shape (N,)
        ``value >= optimum - success_tol``.
    success_rate : float
        Fraction of initialisations that succeed.
    residuals : ndarray, shape (steps,)
        Mean payoff (of the trained, unpruned policy) over initialisations before each step.
    """

    mode: str
    x: np.ndarray
    y: np.ndarray
    y_edge: np.ndarray
    value: np.ndarray
    value_with_edge: np.ndarray
    edge_probability: np.ndarray
    nash_gap: np.ndarray
    optimum: float
    success: np.ndarray
    success_rate: float
    residuals: np.ndarray


def _softmax(t):
    z = np.exp(t - t.max(axis=-1, keepdims=True))
    return z / z.sum(axis=-1, keepdims=True)


def bn_matrix_ascent(
    payoff,
    *,
    mode: str,
    n_init: int = 1000,
    steps: int = 5000,
    lr: float = 0.1,
    rng,
    init_scale: float = 1.0,
    edge_logit0: float = 0.0,
    beta: float = 1.0,
    distill: float = 0.0,
    success_tol: float = 0.1,
) -> MatrixAscentResult:
    """Exact softmax policy-gradient ascent from ``n_init`` random initialisations at once.

    Parameters
    ----------
    payoff : array_like, shape (A1, A2)
        Common payoff (e.g. :data:`CLIMBING`, :data:`PENALTY`).
    mode : {"independent", "edge", "learned_edge"}
        See the module docstring.
    n_init, steps : int
        Initialisations (logits i.i.d. ``N(0, init_scale^2)``) and gradient steps.
    lr : float
        Step size (default 0.1, as in ``docs/papers/bn_marl.md``).
    rng : numpy.random.Generator
    init_scale : float
    edge_logit0 : float
        Learned edge: initial ``e`` (``q = sigmoid(e)``; 0 gives ``q = 1/2``).
    beta : float
        Learned edge: final sparsity penalty (``beta_t = beta t / steps``).
    distill : float
        Learned edge: weight of the pull of the edge-free policy towards agent 1's marginal (0: off).
    success_tol : float
        A run succeeds when its executed payoff is within this of ``max R``.

    Returns
    -------
    MatrixAscentResult
    """
    R = as_float_array(payoff, "payoff", ndim=2)
    if mode not in _MODES:
        raise ValueError(f"mode must be one of {sorted(_MODES)}, got {mode!r}")
    n_init = check_positive_int(n_init, "n_init")
    steps = check_positive_int(steps, "steps")
    lr = check_tol(lr, "lr")
    rng = check_rng(rng)
    init_scale = check_tol(init_scale, "init_scale", allow_zero=True)
    beta = check_tol(beta, "beta", allow_zero=True)
    distill = check_tol(distill, "distill", allow_zero=True)
    success_tol = check_tol(success_tol, "success_tol")
    if (
        isinstance(edge_logit0, bool)
        or not isinstance(edge_logit0, (int, float, np.integer, np.floating))
        or not np.isfinite(edge_logit0)
    ):
        raise TypeError(f"edge_logit0 must be a finite real number, got {edge_logit0!r}")
    edge_logit0 = float(edge_logit0)
    A1, A2 = R.shape
    th1 = init_scale * rng.standard_normal((n_init, A1))
    th2 = init_scale * rng.standard_normal((n_init, A2))
    th2c = init_scale * rng.standard_normal((n_init, A1, A2))
    e = np.full(n_init, edge_logit0)
    trace = np.empty(steps)
    code = _MODES[mode]
    _ascent_kernel(R, code, th1, th2, th2c, e, lr, steps, beta, distill, trace)
    x, z, yc = _softmax(th1), _softmax(th2), _softmax(th2c)
    if code == 0:
        q = np.zeros(n_init)
    elif code == 1:
        q = np.ones(n_init)
    else:
        q = 1 / (1 + np.exp(-e))
    if code == 1:
        y_exec, y_edge = yc, np.empty((0, A1, A2))
        value = np.einsum("na,nab,ab->n", x, yc, R)
        with_edge = value
    else:
        y_exec = z
        value = np.einsum("na,nb,ab->n", x, z, R)
        if code == 2:
            y_edge = q[:, None, None] * yc + (1 - q)[:, None, None] * z[:, None, :]
            with_edge = np.einsum("na,nab,ab->n", x, y_edge, R)
        else:
            y_edge, with_edge = np.empty((0, A1, A2)), value
    optimum = float(R.max())
    success = value >= optimum - success_tol
    return MatrixAscentResult(
        mode=mode,
        x=x,
        y=y_exec,
        y_edge=y_edge,
        value=value,
        value_with_edge=np.array(with_edge),
        edge_probability=q,
        nash_gap=matrix_nash_gap(R, x, y_exec),
        optimum=optimum,
        success=success,
        success_rate=float(success.mean()),
        residuals=trace,
    )
