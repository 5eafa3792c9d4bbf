"""The foundation claims F1-F13 (``docs/papers/foundations.md`` sections 1-5) as executable checks.

Every claim measures the lab's own code (``mdp.bellman_operator`` kernels, ``mdp.policy_iteration``,
``mdp.simplex_policy_iteration``, ``mdp.policy_evaluation``, ``TabularMDP.occupancy``,
``mdp.learners.plugin_planner``) against the statement, on random instances drawn with
:func:`mdp.generators.random_mdp` (``alpha in {0.1, 1}``, ``gamma in {0.5, 0.9, 0.99}``,
3-10 states, 2-4 actions, a quarter of them in the sparse CSR form).

Claims with several parts (F1: contraction + monotonicity, F3: a-posteriori bound + greedy
policy, F7: Howard + Simplex, F10, F12, F13) report the part with the worst tightness; the
others are in ``details``. Sequences (F2, F3, F6) are checked at *every* iterate and report the
worst ratio.

Inequalities hold up to a relative tolerance of 1e-12 (docs/papers/foundations.md section 1) plus an absolute
round-off floor of order ``1e3 eps ||V|| / (1 - gamma)``. The contraction modulus in F1-F4 and F6 is
``gamma``, or ``gamma * max row sum`` when the stored rows sum to more than 1 (a float32 ``P`` can exceed
1 by a few ulps; ``TabularMDP.contraction``): the theorems hold for the operator actually stored.

The evaluators ``check_f1`` ... ``check_f13`` are public and take keyword overrides of the
constant or discount they test (e.g. ``check_f4(inst, rng, constant=1.0)``), so a test can build a
deliberately wrong :class:`Claim` and watch it fail.
"""

from __future__ import annotations

import math

import numpy as np

import mdp
from mdp import operators as _ops
from mdp.learners import plugin_planner, sample_next_states
from mdp.solvers.policy_iteration import evaluate_deterministic, improve_policy
from theory_checks import instances as I
from theory_checks.core import CheckResult, Claim, combine, estimate, identity, inequality, register

__all__ = [
    "sample_mdp",
    "sample_model_pair",
    "greedy_loss_tight_example",
    "simulation_bound_tight_example",
    "hard_instance",
    "hard_instance_p",
    "check_f1",
    "check_f2",
    "check_f3",
    "check_f4",
    "check_f5",
    "check_f6",
    "check_f7",
    "check_f8",
    "check_f9",
    "check_f10",
    "check_f11",
    "check_f12",
    "check_f13",
]

_EPS = np.finfo(np.float64).eps


# ============================================================================ instances
def sample_mdp(rng: np.random.Generator) -> mdp.TabularMDP:
    """A random instance of docs/papers/foundations.md: Dirichlet(alpha) rows, ``R ~ U[0, 1]``."""
    S = int(rng.integers(3, 11))
    A = int(rng.integers(2, 5))
    alpha = float(rng.choice([0.1, 1.0]))
    gamma = float(rng.choice([0.5, 0.9, 0.99]))
    return mdp.generators.random_mdp(S, A, rng=rng, alpha=alpha, gamma=gamma, sparse=bool(rng.random() < 0.25))


def sample_model_pair(rng: np.random.Generator):
    """``(M, M_hat)`` on the same ``S, A, gamma``: ``P_hat = (1 - lam) P + lam P'``, ``R_hat = R + noise``.

    ``lam in {0.01, 0.1, 0.5}``; ``R_hat`` is clipped to ``[0, 1]`` so both reward tables lie in ``[0, 1]``.
    In half of the pairs ``R_hat = R``, so that the transition term of F9 (the one with the factor 1/2)
    is the whole bound rather than a small part of it.
    """
    m = sample_mdp(rng).to_dense()
    S, A = m.n_states, m.n_actions
    lam = float(rng.choice([0.01, 0.1, 0.5]))
    other = mdp.generators.random_mdp(S, A, rng=rng, alpha=float(rng.choice([0.1, 1.0])), gamma=m.gamma)
    P_hat = (1.0 - lam) * m.P + lam * other.P
    if rng.random() < 0.5:
        R_hat = m.R
    else:
        R_hat = np.clip(m.R + lam * rng.uniform(-1.0, 1.0, size=m.R.shape), 0.0, 1.0)
    return m, mdp.TabularMDP(P_hat, R_hat, m.gamma)


def simulation_bound_tight_example(gamma: float = 0.9, eps_p: float = 1e-3, r_max: float = 1.0):
    """``(M, M_hat)`` on which F9 (with its factor 1/2) is attained up to a factor ``1 - O(eps_p)``.

    One action; state 0 pays ``r_max`` and loops, state 1 is absorbing with reward 0. In ``M_hat`` the
    loop is certain; in ``M`` it leaks to state 1 with probability ``eps_p / 2`` (so the L1 distance of
    the rows is ``eps_p`` and ``R = R_hat``). Then ``V_hat(0) - V(0) = r_max gamma (eps_p / 2) /
    ((1 - gamma)(1 - gamma + gamma eps_p / 2))``, while F9 bounds it by ``gamma eps_p r_max / (2 (1 - gamma)^2)``:
    tightness ``(1 - gamma) / (1 - gamma + gamma eps_p / 2)``. Without the 1/2 the bound is twice as loose.
    """
    if not 0.0 < eps_p <= 2.0:
        raise ValueError(f"eps_p must lie in (0, 2], got {eps_p}")
    P = np.array([[[1.0 - eps_p / 2.0, eps_p / 2.0]], [[0.0, 1.0]]])
    P_hat = np.array([[[1.0, 0.0]], [[0.0, 1.0]]])
    R = np.array([[float(r_max)], [0.0]])
    return mdp.TabularMDP(P, R, gamma), mdp.TabularMDP(P_hat, R.copy(), gamma)


def greedy_loss_tight_example(gamma: float = 0.9, eps: float = 0.01, slack: float = 1e-9):
    """``(m, V)`` on which the Singh-Yee bound (F4) is attained up to ``slack``.

    State 0: action 0 ("stay") loops with reward ``(1 - gamma) - 2 gamma eps + slack``, action 1
    ("go") moves to the absorbing state 1 with reward 1 (optimal: ``V*(0) = 1``, ``V*(1) = 0``).
    ``V = V* + eps * (1, -1)`` makes "stay" greedy, whose value is ``1 - 2 gamma eps / (1 - gamma)
    + slack / (1 - gamma)``: the loss is ``2 gamma ||V - V*|| / (1 - gamma)`` minus ``slack / (1 - gamma)``.
    Requires ``eps < (1 - gamma) / (2 gamma)`` so that the rewards are non-negative.
    """
    if not 0.0 < eps < (1.0 - gamma) / (2.0 * gamma):
        raise ValueError(f"eps must lie in (0, (1 - gamma) / (2 gamma)) = (0, {(1 - gamma) / (2 * gamma):.4g})")
    P = np.zeros((2, 2, 2))
    P[0, 0, 0] = 1.0
    P[0, 1, 1] = 1.0
    P[1, :, 1] = 1.0
    R = np.array([[(1.0 - gamma) - 2.0 * gamma * eps + slack, 1.0], [0.0, 0.0]])
    return mdp.TabularMDP(P, R, gamma), np.array([1.0 + eps, -eps])


def hard_instance_p(gamma: float) -> float:
    """The self-loop probability ``p = (4 gamma - 1) / (3 gamma)`` of :func:`hard_instance`."""
    return (4.0 * gamma - 1.0) / (3.0 * gamma)


def hard_instance(gamma: float) -> mdp.TabularMDP:
    """The lower-bound instance of docs/papers/foundations.md section 5 (one action).

    State 0 pays 1 and loops with probability ``p = (4 gamma - 1) / (3 gamma)``, else falls into the
    absorbing zero-reward state 1; ``V(0) = 1 / (1 - gamma p)`` with ``1 - gamma p = 4 (1 - gamma) / 3``.
    """
    p = hard_instance_p(gamma)
    P = np.array([[[p, 1.0 - p]], [[0.0, 1.0]]])
    return mdp.TabularMDP(P, np.array([[1.0], [0.0]]), gamma)


# ============================================================================ helpers
def _vstar(m):
    res = mdp.policy_iteration(m)
    return np.asarray(res.v), np.asarray(res.q)


def _modulus(m) -> float:
    """The contraction modulus the bounds use: ``gamma``, or ``gamma * max row sum`` when the stored rows
    sum to more than 1 (a float32 ``P`` can exceed 1 by a few ulps; ``TabularMDP.contraction``)."""
    return max(float(m.gamma), float(m.contraction))


def _roundoff(m, v) -> float:
    """Absolute round-off floor for comparisons of values of size ``||v||`` (linear solves lose 1/(1-gamma))."""
    return 1e3 * _EPS * max(1.0, float(np.abs(v).max())) / (1.0 - m.gamma)


def _sequence(claim: str, observed, bound, atol: float, rtol: float = 1e-12, **details) -> CheckResult:
    """``observed[i] <= bound[i] (1 + rtol) + atol`` for every ``i``.

    Tightness = worst ``(observed - atol)^+ / bound`` over the entries whose bound exceeds ``10 atol``
    (entries at round-off level cannot say how tight a bound is).
    """
    observed, bound = np.asarray(observed, dtype=float), np.asarray(bound, dtype=float)
    ok = observed <= bound * (1.0 + rtol) + atol
    meaningful = bound > 10.0 * atol
    if meaningful.any():
        # credit the round-off allowance, so that tightness <= 1 + rtol exactly when the check holds
        excess = np.maximum(observed - atol, 0.0)
        ratios = np.where(meaningful, excess / np.where(meaningful, bound, 1.0), -np.inf)
        i = int(np.argmax(ratios))
        tight = float(ratios[i])
    else:
        i, tight = int(np.argmax(observed - bound)), 0.0
    if not ok.all():
        i = int(np.argmax(~ok))
        tight = math.inf if bound[i] <= 0 else max(tight, float(observed[i] / bound[i]))
    return CheckResult(
        claim,
        float(observed[i]),
        float(bound[i]),
        bool(ok.all()),
        tight,
        dict(details, worst_index=i, n_checked=int(observed.size)),
    )


def _random_policy(rng, S, A):
    return rng.dirichlet(np.ones(A), size=S)


def _howard_trace(m, pi0, rtol=1e-12):
    """Howard PI (same improvement rule as :func:`mdp.policy_iteration`), keeping every ``(pi_t, v_t, q_t)``."""
    pi = np.array(pi0, dtype=np.int64)
    trace = []
    for _ in range(10_000):
        v = evaluate_deterministic(m, pi)
        q = _ops.q_values(m, v)
        trace.append((pi.copy(), v, q))
        step = improve_policy(q, pi, rtol=rtol)
        if step.n_changed == 0:
            break
        pi = step.pi.copy()
    return trace


def _vi_sequence(m, v0, n_steps):
    """``[V_0, ..., V_n]`` and the greedy policies ``pi_t`` w.r.t. ``V_{t-1}`` (``pi_0`` unused)."""
    vs = [np.asarray(v0, dtype=float)]
    pis = [None]
    for _ in range(n_steps):
        v, pi = _ops.bellman_operator(m, vs[-1])
        vs.append(v)
        pis.append(pi)
    return vs, pis


def _vi_steps(gamma: float, decades: float = 12.0, cap: int = 3000) -> int:
    """Iterations until ``gamma^t`` falls below ``10^-decades`` (at most ``cap``)."""
    if gamma == 0.0:
        return 2
    return int(min(cap, math.ceil(decades * math.log(10.0) / -math.log(gamma)) + 1))


# ============================================================================ F1
def check_f1(m, rng, *, gamma=None, n_pairs: int = 8) -> CheckResult:
    """Contraction ``||TV - TU|| <= gamma ||V - U||`` and quantitative monotonicity on random pairs.

    ``gamma`` overrides the discount used in the bounds (a wrong value makes the check fail).
    Monotonicity is checked in the sharper form ``min(TU - TV) >= gamma min(U - V) > 0`` for ``U >= V``.
    """
    g = _modulus(m) if gamma is None else float(gamma)
    scale = max(1.0, m.r_max) / (1.0 - m.gamma)
    S = m.n_states
    obs, bnd, mono_lhs, mono_rhs = [], [], [], []
    for k in range(n_pairs):
        V = rng.uniform(-scale, scale, S)
        if k % 2 == 0:  # at (k = 0) or near a constant shift, where the contraction is attained
            noise = 0.0 if k == 0 else 1e-3
            U = V + rng.uniform(-1, 1) * scale + rng.uniform(-noise, noise, S) * scale
        else:
            U = rng.uniform(-scale, scale, S)
        TV, _ = _ops.bellman_operator(m, V)
        TU, _ = _ops.bellman_operator(m, U)
        obs.append(np.abs(TV - TU).max())
        bnd.append(g * np.abs(V - U).max())
        W = V + rng.exponential(scale, S) + 1e-3 * scale  # W >= V componentwise
        TW, _ = _ops.bellman_operator(m, W)
        mono_lhs.append(g * (W - V).min())
        mono_rhs.append((TW - TV).min())
    atol = 1e3 * _EPS * scale
    parts = {
        "contraction": _sequence("F1", obs, bnd, atol),
        # gamma min(W - V) <= min(TW - TV): observed = the lower bound, bound = the measured increase
        "monotonicity": _sequence("F1", mono_lhs, mono_rhs, atol),
    }
    return combine("F1", parts)


# ============================================================================ F2
def check_f2(m, rng, *, rate=None) -> CheckResult:
    """``||V_t - V*|| <= gamma^t ||V_0 - V*||`` at every VI iterate (V* from policy iteration)."""
    g = _modulus(m) if rate is None else float(rate)
    v_star, _ = _vstar(m)
    v0 = rng.uniform(0.0, 1.0, m.n_states) * max(1.0, m.r_max) / (1.0 - m.gamma)
    n = _vi_steps(m.gamma)
    vs, _ = _vi_sequence(m, v0, n)
    err = np.array([np.abs(v - v_star).max() for v in vs])
    t = np.arange(n + 1)
    return _sequence("F2", err[1:], (g**t * err[0])[1:], _roundoff(m, v_star), iterations=n)


# ============================================================================ F3
def check_f3(m, rng, *, factor=None) -> CheckResult:
    """(a) ``||V_{t+1} - V*|| <= gamma/(1-gamma) ||V_{t+1} - V_t||`` for every t; (b) the greedy policy
    w.r.t. ``V_{t+1}`` has loss ``<= eps_t := 2 gamma/(1-gamma) ||V_{t+1} - V_t||`` (the stopping rule of
    Puterman Thm 6.3.1 holds for every ``eps > eps_t``). ``factor`` overrides ``gamma / (1 - gamma)``.
    """
    g = m.gamma
    kappa = _modulus(m)
    k = kappa / (1.0 - kappa) if factor is None else float(factor)
    v_star, _ = _vstar(m)
    v0 = rng.uniform(0.0, 1.0, m.n_states) * max(1.0, m.r_max) / (1.0 - g)
    n = _vi_steps(g)
    vs, pis = _vi_sequence(m, v0, n + 1)
    diffs = np.array([np.abs(vs[t + 1] - vs[t]).max() for t in range(n)])
    errs = np.array([np.abs(vs[t + 1] - v_star).max() for t in range(n)])
    # greedy policy w.r.t. V_{t+1} is the argmax returned when computing V_{t+2} = T V_{t+1}
    cache: dict = {}
    losses = np.empty(n)
    for t in range(n):
        pi = pis[t + 2]
        key = pi.tobytes()
        if key not in cache:
            cache[key] = float(np.abs(v_star - evaluate_deterministic(m, pi)).max())
        losses[t] = cache[key]
    atol = _roundoff(m, v_star)
    parts = {
        "a_posteriori": _sequence("F3", errs, k * diffs, atol),
        "greedy_eps_optimal": _sequence("F3", losses, 2.0 * k * diffs, atol, distinct_policies=len(cache)),
    }
    return combine("F3", parts)


# ============================================================================ F4
def check_f4(instance, rng, *, constant: float = 2.0) -> CheckResult:
    """Singh & Yee: ``||V* - V^{pi_V}|| <= constant * gamma ||V - V*|| / (1 - gamma)`` (constant 2).

    ``instance`` is a model (``V = V* + noise`` at 5 noise levels x 3 draws) or a pair ``(m, V)``.
    """
    if isinstance(instance, tuple):
        m, V = instance
        vs = [np.asarray(V, dtype=float)]
    else:
        m = instance
        vs = None
    g = _modulus(m)
    v_star, q_star = _vstar(m)
    if vs is None:
        gaps = q_star.max(axis=1, keepdims=True) - q_star
        base = float(np.max(gaps)) if np.max(gaps) > 0 else 1.0
        vs = [v_star + rng.uniform(-1.0, 1.0, m.n_states) * base * 10.0 ** (-j / 2) for j in range(5) for _ in range(3)]
    obs, bnd = [], []
    for V in vs:
        pi = np.argmax(_ops.q_values(m, V), axis=1).astype(np.int64)
        obs.append(np.abs(v_star - evaluate_deterministic(m, pi)).max())
        bnd.append(constant * g * np.abs(V - v_star).max() / (1.0 - g))
    return _sequence("F4", obs, bnd, _roundoff(m, v_star))


# ============================================================================ F5 / F6
def _random_pi0(m, rng):
    return rng.integers(0, m.n_actions, m.n_states).astype(np.int64)


def check_f5(m, rng) -> CheckResult:
    """PI improvement along Howard's PI from a random ``pi_0``, at every step ``t``:

    * ``monotone``: ``V_{t+1} - V_t >= 0`` componentwise;
    * ``increase_ge_advantage``: ``V_{t+1} - V_t >= a_t := T_{pi_{t+1}} V_t - V_t`` (tightness = max over
      states of ``a_t(s) / (V_{t+1} - V_t)(s)``, 1 when the state is not revisited);
    * ``advantage_nonneg``: ``a_t >= 0`` (what makes the step an improvement);
    * ``strict_where_switched``: ``a_t(s) > 0`` wherever ``pi_{t+1}(s) != pi_t(s)``, hence
      ``V_{t+1}(s) > V_t(s)`` there; every step before the last switches at least one state, so the
      increase is strict somewhere until the policy is optimal.
    """
    trace = _howard_trace(m, _random_pi0(m, rng))
    S = m.n_states
    v_last = trace[-1][1]
    if len(trace) < 2:
        return inequality("F5", 0.0, 0.0, iterations=1)
    adv, inc, switched = [], [], []
    for (pi0, v0, q0), (pi1, v1, _) in zip(trace[:-1], trace[1:]):
        adv.append(q0[np.arange(S), pi1] - v0)
        inc.append(v1 - v0)
        switched.append(pi1 != pi0)
    adv, inc, switched = np.concatenate(adv), np.concatenate(inc), np.concatenate(switched)
    atol = _roundoff(m, v_last)
    zeros = np.zeros_like(inc)
    min_switch_adv = float(adv[switched].min()) if switched.any() else math.inf
    strict_ok = bool(switched.any() and min_switch_adv > 0.0)
    parts = {
        "monotone": _sequence("F5", -inc, zeros, atol, min_increase=float(inc.min())),
        "increase_ge_advantage": _sequence("F5", adv, inc, atol, iterations=len(trace)),
        "advantage_nonneg": _sequence("F5", -adv, zeros, atol, min_advantage=float(adv.min())),
        # a strict inequality: observed = the smallest advantage at a switched state, which must be > 0
        "strict_where_switched": CheckResult(
            "F5", min_switch_adv, 0.0, strict_ok, 0.0 if strict_ok else math.inf, {"n_switched": int(switched.sum())}
        ),
    }
    return combine("F5", parts)


def check_f6(m, rng, *, rate=None) -> CheckResult:
    """``||V* - V^{pi_t}|| <= gamma^t ||V* - V^{pi_0}||`` along Howard's PI from a random ``pi_0``."""
    g = _modulus(m) if rate is None else float(rate)
    v_star, _ = _vstar(m)
    trace = _howard_trace(m, _random_pi0(m, rng))
    err = np.array([np.abs(v_star - v).max() for _, v, _ in trace])
    if len(err) < 2:
        return inequality("F6", 0.0, 0.0, iterations=1)
    t = np.arange(len(err))
    return _sequence("F6", err[1:], (g**t * err[0])[1:], _roundoff(m, v_star), iterations=len(err))


# ============================================================================ F7
def f7_howard_bound(m) -> int:
    """``m * ceil(log(1/(1-gamma)) / (1-gamma)) + 1`` with ``m = S * A`` (explicit instance of Scherrer's O(.))."""
    g = m.gamma
    return m.n_states * m.n_actions * math.ceil(math.log(1.0 / (1.0 - g)) / (1.0 - g)) + 1


def check_f7(m, rng) -> CheckResult:
    """Howard PI iterations ``<= f7_howard_bound(m)``; Simplex-PI switches ``>=`` number of states whose
    initial action is suboptimal (and ``<= n * S * A * ceil(log(1/(1-gamma))/(1-gamma))``)."""
    pi0 = _random_pi0(m, rng)
    S = m.n_states
    k = math.ceil(math.log(1.0 / (1.0 - m.gamma)) / (1.0 - m.gamma))
    # iteration caps just above the bounds: a run stopped by its cap has exceeded the bound
    howard = mdp.policy_iteration(m, pi0=pi0, max_iter=f7_howard_bound(m) + 1)
    simplex = mdp.simplex_policy_iteration(m, pi0=pi0, max_iter=S * S * m.n_actions * k + 2)
    v_star, q_star = np.asarray(howard.v), np.asarray(howard.q)
    tol = 1e-9 * max(1.0, float(np.abs(v_star).max()))
    n_subopt = int(np.sum(q_star[np.arange(S), pi0] < v_star - tol))
    switches = simplex.n_iter - 1
    same = bool(np.abs(np.asarray(simplex.v) - v_star).max() <= _roundoff(m, v_star))
    parts = {
        "howard_upper": inequality("F7", howard.n_iter, f7_howard_bound(m)),
        # n_subopt <= switches
        "simplex_lower": inequality("F7", n_subopt, switches, simplex_reaches_v_star=same),
        "simplex_upper": inequality("F7", switches, S * S * m.n_actions * k),
    }
    res = combine("F7", parts)
    for name, r in (("howard", howard), ("simplex", simplex)):
        if not r.converged:  # a run cut off by max_iter says nothing about the iteration bound
            return CheckResult(
                "F7",
                res.observed,
                res.bound,
                False,
                math.inf,
                dict(res.details, error=f"{name} policy iteration stopped at max_iter without converging"),
            )
    if not same:
        return CheckResult(
            "F7", res.observed, res.bound, False, math.inf, dict(res.details, error="simplex-PI did not reach V*")
        )
    return res


# ============================================================================ F8-F10
def _policies(rng, m, extra=()):
    S, A = m.n_states, m.n_actions
    pols = [_random_policy(rng, S, A) for _ in range(3)]
    pols += [rng.integers(0, A, S).astype(np.int64) for _ in range(2)]
    return pols + list(extra)


def check_f8(pair, rng, *, gamma=None) -> CheckResult:
    """Simulation identity ``V^pi_M - V^pi_Mhat = (I - g P_pi)^{-1}[(r_pi - rhat_pi) + g (P_pi - Phat_pi) V^pi_Mhat]``
    for 5 random policies; ``gamma`` overrides ``g`` in the right-hand side."""
    m, mh = pair
    g = m.gamma if gamma is None else float(gamma)
    S = m.n_states
    worst, scale = 0.0, 1.0
    for pi in _policies(rng, m):
        v = mdp.policy_evaluation(m, pi).v
        vh = mdp.policy_evaluation(mh, pi).v
        P_pi, Ph_pi = _dense(m.policy_matrix(pi)), _dense(mh.policy_matrix(pi))
        rhs = np.linalg.solve(
            np.eye(S) - m.gamma * P_pi, (m.policy_reward(pi) - mh.policy_reward(pi)) + g * (P_pi - Ph_pi) @ vh
        )
        worst = max(worst, float(np.abs((v - vh) - rhs).max()))
        scale = max(scale, float(np.abs(v).max()))
    return identity("F8", worst, 1e-10 * scale, value_scale=scale)


def _dense(x):
    return x.toarray() if hasattr(x, "toarray") else np.asarray(x)


def _model_gaps(m, mh):
    eps_r = float(np.abs(m.R - mh.R).max())
    eps_p = float(np.abs(m.dense_P() - mh.dense_P()).sum(axis=2).max())
    r_range = float(max(m.R.max(), mh.R.max()) - min(m.R.min(), mh.R.min()))
    return eps_r, eps_p, r_range


def f9_bound(m, mh, *, half: float = 0.5) -> float:
    """``(eps_r + gamma eps_P R_max half / (1 - gamma)) / (1 - gamma)`` (``half = 1/2`` is F9's factor)."""
    g = m.gamma
    eps_r, eps_p, r_range = _model_gaps(m, mh)
    return (eps_r + g * eps_p * r_range * half / (1.0 - g)) / (1.0 - g)


def check_f9(pair, rng, *, half: float = 0.5) -> CheckResult:
    """``||V^pi_M - V^pi_Mhat|| <= f9_bound`` for random stochastic and deterministic policies and both optima."""
    m, mh = pair
    extra = (mdp.policy_iteration(m).pi, mdp.policy_iteration(mh).pi)
    obs = [
        np.abs(mdp.policy_evaluation(m, pi).v - mdp.policy_evaluation(mh, pi).v).max()
        for pi in _policies(rng, m, extra)
    ]
    b = f9_bound(m, mh, half=half)
    eps_r, eps_p, r_range = _model_gaps(m, mh)
    return _sequence("F9", obs, np.full(len(obs), b), 1e-12, eps_r=eps_r, eps_P=eps_p, R_max=r_range)


def check_f10(pair, rng, *, factor: float = 1.0) -> CheckResult:
    """``V*_M - V^{pihat}_M <= ||D_{pi*}|| + ||D_{pihat}|| <= 2 sup_pi ||D_pi||`` with ``D_pi = V^pi_M - V^pi_Mhat``,
    and ``<= 2 * f9_bound``. ``factor`` scales the bounds (a value < 1 can make the check fail)."""
    m, mh = pair
    sol, solh = mdp.policy_iteration(m), mdp.policy_iteration(mh)
    v_pihat = evaluate_deterministic(m, solh.pi)
    loss = float(np.max(sol.v - v_pihat))
    d_star = float(np.abs(sol.v - evaluate_deterministic(mh, sol.pi)).max())
    d_hat = float(np.abs(v_pihat - solh.v).max())
    parts = {
        "two_policy_bound": inequality(
            "F10",
            loss,
            factor * (d_star + d_hat),
            atol=_roundoff(m, sol.v),
            policies_differ=bool(np.any(sol.pi != solh.pi)),
        ),
        "via_f9": inequality("F10", loss, factor * 2.0 * f9_bound(m, mh), atol=_roundoff(m, sol.v)),
    }
    return combine("F10", parts)


# ============================================================================ F11
def check_f11(m, rng, *, factor=None) -> CheckResult:
    """Performance difference ``V^{pi'}(rho) - V^pi(rho) = 1/(1-g) E_{d^{pi'}_rho} E_{pi'}[A^pi]`` (5 random pairs);
    ``factor`` overrides ``1/(1-g)``."""
    g = m.gamma
    c = 1.0 / (1.0 - g) if factor is None else float(factor)
    S, A = m.n_states, m.n_actions
    worst, scale = 0.0, 1.0
    for _ in range(5):
        pi, pi2 = _random_policy(rng, S, A), _random_policy(rng, S, A)
        rho = rng.dirichlet(np.ones(S))
        ev, ev2 = mdp.policy_evaluation(m, pi), mdp.policy_evaluation(m, pi2)
        adv = np.asarray(ev.q) - np.asarray(ev.v)[:, None]
        d2 = m.occupancy(pi2, rho)
        lhs = rho @ (ev2.v - ev.v)
        rhs = c * d2 @ np.einsum("sa,sa->s", pi2, adv)
        worst = max(worst, abs(lhs - rhs))
        scale = max(scale, float(np.abs(ev.v).max()))
    return identity("F11", worst, 1e-10 * scale, value_scale=scale)


# ============================================================================ F12
def f12_bound(gamma: float, span_v: float, n_pairs: int, n: int, delta: float) -> float:
    """Derived high-probability bound ``gamma span(V*) / (1 - gamma) * sqrt(log(2 S A / delta) / (2 N))``."""
    return gamma * span_v / (1.0 - gamma) * math.sqrt(math.log(2.0 * n_pairs / delta) / (2.0 * n))


def sample_f12(rng):
    return sample_mdp(rng), int(rng.choice([30, 100, 300]))


def check_f12(instance, rng, *, delta: float = 0.1, reps: int = 200, factor: float = 1.0) -> CheckResult:
    """Plug-in planner error vs the derived bound.

    (a) deterministic, every repetition: ``||Q* - Qhat*|| <= gamma/(1-gamma) ||(P - Phat) V*||_inf``;
    (b) high probability: the empirical ``(1 - delta)``-quantile of ``||Q* - Qhat*||`` over ``reps`` runs
    is ``<= f12_bound`` (scaled by ``factor``).
    """
    m, n = instance if isinstance(instance, tuple) else (instance, 100)
    g = m.gamma
    v_star, q_star = _vstar(m)
    P = m.dense_P()
    errs, det_bounds = np.empty(reps), np.empty(reps)
    for i in range(reps):
        res = plugin_planner(m, n, rng=rng)
        errs[i] = np.abs(np.asarray(res.q) - q_star).max()
        det_bounds[i] = g / (1.0 - g) * np.abs((P - res.model.dense_P()) @ v_star).max()
    span = float(v_star.max() - v_star.min())
    hp = factor * f12_bound(g, span, m.n_states * m.n_actions, n, delta)
    quantile = float(np.quantile(errs, 1.0 - delta))
    parts = {
        "deterministic": _sequence("F12", errs, factor * det_bounds, _roundoff(m, v_star)),
        "high_probability": inequality(
            "F12", quantile, hp, N=n, delta=delta, reps=reps, frac_above_bound=float(np.mean(errs > hp))
        ),
    }
    return combine("F12", parts)


# ============================================================================ F13
F13_SETTINGS = dict(
    gammas=(0.8, 0.9, 0.95, 0.98), n_fixed=10_000, gamma_fixed=0.9, ns=(500, 2_000, 8_000, 32_000), reps=2_000
)


_F13_CHUNK = 1 << 21  # generative-model calls per sampler call (bounds the memory of the uniforms)


def _ce_values(gamma: float, n: int, reps: int, rng) -> tuple[np.ndarray, float]:
    """``reps`` certainty-equivalent estimates ``V_hat(0)`` on :func:`hard_instance`, from the lab's own
    generative model and planner, and the largest gap between the planner and the closed form.

    The first repetition runs :func:`mdp.learners.plugin_planner` end to end. The others draw their
    ``N`` next states per pair with :func:`mdp.learners.sample_next_states` (``N * k`` draws per call,
    cut into ``k`` repetitions of ``N``; the same law as ``k`` separate runs), and evaluate the empirical
    model in closed form, ``1 / (1 - gamma p_hat)`` (the only random row is state 0's; state 1 is
    absorbing, and a draw leaving it would be a sampler bug that is reported as a gap).
    """
    m = hard_instance(gamma)
    first = plugin_planner(m, n, rng=rng)
    p0 = float(first.model.dense_P()[0, 0, 0])
    gap = abs(float(first.v[0]) - 1.0 / (1.0 - gamma * p0))
    p_hat = [np.array([p0])]
    left = reps - 1
    per_call = max(1, _F13_CHUNK // n)
    while left > 0:
        k = min(left, per_call)
        draws = sample_next_states(m, n * k, rng=rng)
        if np.any(draws[1, 0] != 1):
            gap = math.inf
        p_hat.append((draws[0, 0].reshape(k, n) == 0).mean(axis=1))
        left -= k
    p_hat = np.concatenate(p_hat)
    return 1.0 / (1.0 - gamma * p_hat), gap


def f13_exact_rmse(gamma: float, n: int) -> float:
    """Exact RMSE of ``1 / (1 - gamma K / N)`` with ``K ~ Binomial(N, p)``, ``p = (4 gamma - 1) / (3 gamma)``."""
    from scipy.stats import binom

    p = hard_instance_p(gamma)
    k = np.arange(n + 1)
    err = 1.0 / (1.0 - gamma * k / n) - 1.0 / (1.0 - gamma * p)
    return float(np.sqrt(np.sum(binom.pmf(k, n, p) * err**2)))


def check_f13(settings, rng, *, gamma_slope: float = 1.5, n_slope: float = -0.5, level: float = 1.0) -> CheckResult:
    """Slopes of ``log RMSE`` vs ``log 1/(1-gamma)`` (target 1.5 +- 0.2) and vs ``log N`` (-0.5 +- 0.1), and
    the level: every measured RMSE within 10% of its exact binomial value (``level`` scales the latter).

    The slopes are invariant to a constant factor in the sample size; the level part is what catches a
    sampler that draws fewer (or biased) samples than asked.
    """
    s = dict(F13_SETTINGS, **(settings or {}))
    reps = s["reps"]
    points = [(g, s["n_fixed"]) for g in s["gammas"]] + [(s["gamma_fixed"], n) for n in s["ns"]]
    rmse, exact, gap = [], [], 0.0
    for g, n in points:
        vals, gp = _ce_values(g, n, reps, rng)
        rmse.append(float(np.sqrt(np.mean((vals - 1.0 / (1.0 - g * hard_instance_p(g))) ** 2))))
        exact.append(level * f13_exact_rmse(g, n))
        gap = max(gap, gp)
    ng = len(s["gammas"])
    rm_g, rm_n = rmse[:ng], rmse[ng:]
    slope_g = float(np.polyfit(np.log(1.0 / (1.0 - np.array(s["gammas"]))), np.log(rm_g), 1)[0])
    slope_n = float(np.polyfit(np.log(np.array(s["ns"], dtype=float)), np.log(rm_n), 1)[0])
    ratios = np.array(rmse) / np.array(exact)
    worst = int(np.argmax(np.abs(ratios - 1.0)))
    parts = {
        "gamma_slope": estimate("F13", slope_g, gamma_slope, 0.2, rmse=rm_g, gammas=list(s["gammas"])),
        "n_slope": estimate("F13", slope_n, n_slope, 0.1, rmse=rm_n, ns=list(s["ns"])),
        "rmse_level": estimate(
            "F13",
            float(ratios[worst]),
            1.0,
            0.1,
            ratios=ratios.tolist(),
            worst_point=dict(gamma=points[worst][0], N=points[worst][1]),
        ),
    }
    res = combine("F13", parts)
    if gap > 1e-8:
        return CheckResult(
            "F13",
            res.observed,
            res.bound,
            False,
            math.inf,
            dict(
                res.details,
                error=f"plug-in planner differs from the closed form by {gap:.3g} "
                "(or the sampler left the absorbing state)",
            ),
        )
    return res


# ============================================================================ user instances
_MDP = "an mdp.TabularMDP (dense or sparse)"
_PAIR = "(M, M_hat): two mdp.TabularMDP with the same S, A and gamma"


def _accept_f4(x, name="instance"):
    """A model, or ``(m, V)`` with ``V`` of shape ``(S,)``."""
    if not isinstance(x, (tuple, list)):
        return I.tabular_mdp(x, name)
    m, V = I.tuple_of(I.tabular_mdp, I.float_array(1), names=("m", "V"))(x, name)
    if V.shape != (m.n_states,):
        raise ValueError(f"{name}: V must have shape (S,) = ({m.n_states},), got {V.shape}")
    return m, V


def _accept_f12(x, name="instance"):
    """A model (``N = 100``) or ``(m, N)``."""
    if not isinstance(x, (tuple, list)):
        return I.tabular_mdp(x, name), 100
    return I.tuple_of(I.tabular_mdp, I.positive_int, names=("m", "N"))(x, name)


def _accept_f13(x, name="instance"):
    """A dict overriding some of :data:`F13_SETTINGS`."""
    if not isinstance(x, dict):
        raise TypeError(f"{name} must be a dict overriding some of {sorted(F13_SETTINGS)}, got {I.kind_name(x)}")
    unknown = sorted(set(map(str, x)) - set(F13_SETTINGS))
    if unknown:
        raise ValueError(f"{name}: unknown settings {unknown}; known: {sorted(F13_SETTINGS)}")
    out = dict(x)
    for key in ("gammas", "ns"):
        if key in out:
            arr = np.asarray(out[key], dtype=float)
            if arr.ndim != 1 or arr.size < 2:
                raise ValueError(f"{name}[{key!r}] must list at least two values (a slope is fitted), got {out[key]!r}")
            out[key] = tuple(int(v) if key == "ns" else float(v) for v in arr)
    for key in ("gammas", "gamma_fixed"):
        vals = np.atleast_1d(np.asarray(out.get(key, F13_SETTINGS[key]), dtype=float))
        if np.any((vals <= 0.25) | (vals >= 1.0)):
            raise ValueError(
                f"{name}[{key!r}]: every gamma must lie in (1/4, 1) (p = (4 gamma - 1)/(3 gamma) "
                f"must be a probability), got {out.get(key)!r}"
            )
    for key in ("n_fixed", "reps"):
        if key in out:
            out[key] = I.positive_int(out[key], f"{name}[{key!r}]")
    return out


# ============================================================================ registry
_SRC_PUTERMAN = "Puterman (1994), Markov Decision Processes"

register(
    Claim(
        id="F1",
        name="bellman-contraction",
        statement=r"\|TV - TU\|_\infty \le \gamma \|V - U\|_\infty;\quad U \ge V \Rightarrow TU - TV \ge \gamma \min_s (U - V)(s)\,\mathbf{1} \ge 0",
        source=f"{_SRC_PUTERMAN}, Prop. 6.2.4 (contraction); monotonicity: Bertsekas, Dynamic Programming and Optimal "
        "Control Vol. II, Lemma 1.1.1; docs/papers/foundations.md F1",
        constant="source",
        tolerance=1e-12,
        sample=sample_mdp,
        evaluate=check_f1,
        notes="8 pairs per instance: one exact constant shift U = V + c (where the contraction is an equality, so a "
        "modulus 1e-10 too large fails), three near such a shift, four independent. Monotonicity is checked in the sharper form min(TU - TV) >= gamma min(U - V), which follows "
        "from evaluating TU at the maximiser of TV; tightness of that part = gamma min(U-V) / min(TU-TV).",
        subjects=("mdp.bellman_operator",),
        instance=_MDP,
        accepts=I.tabular_mdp,
    )
)

register(
    Claim(
        id="F2",
        name="vi-geometric-convergence",
        statement=r"\|V_t - V^*\|_\infty \le \gamma^t \|V_0 - V^*\|_\infty \quad \forall t,\ V_{t+1} = T V_t",
        source=f"{_SRC_PUTERMAN}, Thm 6.2.3 (Banach fixed point) applied to T; docs/papers/foundations.md F2",
        constant="source",
        tolerance=1e-12,
        sample=sample_mdp,
        evaluate=check_f2,
        notes="V* from Howard PI (exact solves); every iterate until gamma^t < 1e-12 (at most 3000) is compared; "
        "a round-off floor 1e3 eps ||V*|| / (1 - gamma) is added and excluded from the tightness.",
        subjects=("mdp.bellman_operator", "mdp.policy_iteration"),
        instance=_MDP,
        accepts=I.tabular_mdp,
    )
)

register(
    Claim(
        id="F3",
        name="vi-stopping-rule",
        statement=r"\|V_{t+1} - V^*\|_\infty \le \tfrac{\gamma}{1-\gamma}\|V_{t+1} - V_t\|_\infty;\ "
        r"\|V_{t+1}-V_t\|_\infty < \tfrac{\varepsilon(1-\gamma)}{2\gamma} \Rightarrow \|V^* - V^{\pi_{V_{t+1}}}\|_\infty \le \varepsilon",
        source=f"{_SRC_PUTERMAN}, Thm 6.3.1",
        constant="source",
        tolerance=1e-12,
        sample=sample_mdp,
        evaluate=check_f3,
        notes="Both parts at every VI iterate; part (b) with the smallest admissible eps, eps_t = 2 gamma/(1-gamma) "
        "||V_{t+1} - V_t|| (the implication holds for every eps > eps_t, hence at eps_t by continuity).",
        subjects=("mdp.bellman_operator", "mdp.policy_iteration"),
        instance=_MDP,
        accepts=I.tabular_mdp,
    )
)

register(
    Claim(
        id="F4",
        name="greedy-policy-loss",
        statement=r"\|V^* - V^{\pi_V}\|_\infty \le \frac{2\gamma}{1-\gamma}\|V - V^*\|_\infty",
        source="Singh & Yee (1994), An upper bound on the loss from approximate optimal-value functions, "
        "Machine Learning 16(3):227-233; tight: Williams & Baird (1993), NU-CCS-93-14",
        constant="source",
        tolerance=1e-12,
        sample=sample_mdp,
        evaluate=check_f4,
        notes="V = V* + uniform noise at 5 levels (relative to the largest action gap) x 3 draws. "
        "greedy_loss_tight_example() attains the constant 2 (tightness 1 - O(slack)).",
        subjects=("mdp.q_values", "mdp.policy_iteration"),
        instance=_MDP + " (V = V* + noise at 5 levels x 3 draws), or (TabularMDP, V) with V of shape (S,)",
        accepts=_accept_f4,
    )
)

register(
    Claim(
        id="F5",
        name="pi-monotone-improvement",
        statement=r"V^{\pi_{t+1}} - V^{\pi_t} \ge T_{\pi_{t+1}} V^{\pi_t} - V^{\pi_t} \ge 0,\ \text{strict where } \pi_{t+1} \ne \pi_t",
        source=f"{_SRC_PUTERMAN}, Prop. 6.4.1; the lower bound is (I - gamma P)^(-1) >= I applied to the advantage",
        constant="none",
        tolerance=1e-12,
        sample=sample_mdp,
        evaluate=check_f5,
        notes="Howard PI from a random pi_0 with the solver's own improvement rule (mdp.improve_policy). Four parts at every step: "
        "the increase is >= 0, it is >= the advantage a_t = T_(pi_(t+1)) V_t - V_t, a_t >= 0, and a_t > 0 at every "
        "switched state (so the increase is strict there, and strict somewhere at every step before the last). "
        "Tightness = max over (t, s) of advantage / increase (1 when the state is not revisited).",
        subjects=("mdp.policy_iteration", "mdp.improve_policy"),
        instance=_MDP,
        accepts=I.tabular_mdp,
    )
)

register(
    Claim(
        id="F6",
        name="pi-faster-than-vi",
        statement=r"\|V^* - V^{\pi_t}\|_\infty \le \gamma^t \|V^* - V^{\pi_0}\|_\infty",
        source=f"{_SRC_PUTERMAN}, Sec. 6.4 (V^(pi_(t+1)) >= T V^(pi_t)); docs/papers/foundations.md F6",
        constant="source",
        tolerance=1e-12,
        sample=sample_mdp,
        evaluate=check_f6,
        notes="Every PI iterate from a random pi_0.",
        subjects=("mdp.policy_iteration",),
        instance=_MDP,
        accepts=I.tabular_mdp,
    )
)

register(
    Claim(
        id="F7",
        name="pi-iteration-count",
        statement=r"\#\text{Howard} \le |S||A| \lceil \tfrac{\log(1/(1-\gamma))}{1-\gamma} \rceil + 1;\ "
        r"\#\text{switches}_{\text{Simplex}} \ge |\{s : \pi_0(s) \text{ suboptimal}\}|",
        source="Scherrer (2016), Improved and generalized upper bounds on the complexity of policy iteration, "
        "Math. Oper. Res. 41(3) (arXiv:1306.0386); Hansen, Miltersen & Zwick (2013), JACM 60(1); Ye (2011), Math. Oper. Res.",
        constant="derived",
        tolerance=0.0,
        sample=sample_mdp,
        evaluate=check_f7,
        notes="The upper bounds are an explicit instantiation (constant 1, plus 1 for the final evaluation) of "
        "Scherrer's O(m/(1-gamma) log 1/(1-gamma)) (Howard) and O(n m/(1-gamma) log 1/(1-gamma)) (Simplex), "
        "chosen in docs/papers/foundations.md; they are regression guards, loose on random instances. The Simplex lower "
        "bound is exact: Simplex-PI changes one state per switch and ends optimal, and an optimal deterministic "
        "policy uses an optimal action in every state. Iterations = exact evaluations (switches + 1).",
        subjects=("mdp.policy_iteration", "mdp.simplex_policy_iteration"),
        instance=_MDP,
        accepts=I.tabular_mdp,
    )
)

register(
    Claim(
        id="F8",
        name="simulation-identity",
        statement=r"V^\pi_M - V^\pi_{\hat M} = (I-\gamma P_\pi)^{-1}\big[(r_\pi - \hat r_\pi) + \gamma (P_\pi - \hat P_\pi) V^\pi_{\hat M}\big]",
        source="docs/papers/foundations.md F8; the Q-form of the identity is the 'simulation lemma' of Agarwal, Jiang, Kakade & Sun, "
        "Reinforcement Learning: Theory and Algorithms, ch. 2 (Kearns & Singh 2002's simulation lemma is the "
        "approximate-model bound, not this identity)",
        constant="none",
        tolerance=1e-10,
        sample=sample_model_pair,
        evaluate=check_f8,
        notes="Derivation: subtract V_hat = r_hat + g P_hat V_hat from V = r + g P V, add and subtract g P V_hat, and solve "
        "for V - V_hat. 5 policies (3 stochastic, 2 deterministic); tolerance 1e-10 * max(1, ||V^pi_M||).",
        subjects=("mdp.policy_evaluation", "mdp.TabularMDP.policy_matrix", "mdp.TabularMDP.policy_reward"),
        instance=_PAIR,
        accepts=I.mdp_pair,
    )
)

register(
    Claim(
        id="F9",
        name="simulation-bound",
        statement=r"\|V^\pi_M - V^\pi_{\hat M}\|_\infty \le \frac{1}{1-\gamma}\Big(\varepsilon_r + \frac{\gamma\,\varepsilon_P R_{\max}}{2(1-\gamma)}\Big)",
        source="docs/papers/foundations.md F9: the simulation lemma (Kearns & Singh 2002, Machine Learning 49) with "
        "|(p-q)^T V| <= ||p-q||_1 span(V)/2",
        constant="derived",
        tolerance=1e-12,
        sample=sample_model_pair,
        evaluate=check_f9,
        notes="Derived from F8: ||(I - g P_pi)^-1|| = 1/(1-g), |(p-q)^T V| <= ||p-q||_1 span(V)/2 because p-q sums to 0, "
        "and span(V^pi_Mhat) <= R_max/(1-g); the factor 1/2 is this derivation's, not Kearns & Singh's. "
        "R_max = range of rewards over both models (shifting rewards does not change V_M - V_Mhat, so the "
        "range is a valid R_max); eps_r, eps_P exact maxima over (s, a). 7 policies incl. both optima; half of the "
        "random pairs share R, so the transition term is the whole bound. simulation_bound_tight_example() attains "
        "it up to 1 - O(eps_P).",
        subjects=("mdp.policy_evaluation", "mdp.policy_iteration"),
        instance=_PAIR,
        accepts=I.mdp_pair,
    )
)

register(
    Claim(
        id="F10",
        name="wrong-model-planning",
        statement=r"V^*_M - V^{\hat\pi}_M \le \|V^{\pi^*}_M - V^{\pi^*}_{\hat M}\|_\infty + \|V^{\hat\pi}_M - V^{\hat\pi}_{\hat M}\|_\infty \le 2\sup_\pi \|V^\pi_M - V^\pi_{\hat M}\|_\infty",
        source="docs/papers/foundations.md F10 (F9 applied to pi* and pi_hat)",
        constant="source",
        tolerance=1e-9,
        sample=sample_model_pair,
        evaluate=check_f10,
        notes="sup over policies is not computed: the check uses the two-policy middle term, which is <= 2 sup, so "
        "passing it implies the stated bound; also checked against 2 x the F9 bound.",
        subjects=("mdp.policy_iteration",),
        instance=_PAIR,
        accepts=I.mdp_pair,
    )
)

register(
    Claim(
        id="F11",
        name="performance-difference",
        statement=r"V^{\pi'}(\rho) - V^\pi(\rho) = \frac{1}{1-\gamma}\mathbb{E}_{s\sim d^{\pi'}_\rho}\mathbb{E}_{a\sim\pi'(\cdot|s)} A^\pi(s,a)",
        source="Kakade & Langford (2002), ICML, Lemma 6.1",
        constant="none",
        tolerance=1e-10,
        sample=sample_mdp,
        evaluate=check_f11,
        notes="5 random stochastic pairs and start distributions; occupancy from TabularMDP.occupancy; "
        "tolerance 1e-10 * max(1, ||V^pi||).",
        subjects=("mdp.policy_evaluation", "mdp.TabularMDP.occupancy"),
        instance=_MDP,
        accepts=I.tabular_mdp,
    )
)

register(
    Claim(
        id="F12",
        name="plugin-generative-upper-bound",
        statement=r"\Pr\Big(\|Q^* - \hat Q^*\|_\infty \le \frac{\gamma\,\mathrm{span}(V^*)}{1-\gamma}\sqrt{\frac{\log(2|S||A|/\delta)}{2N}}\Big) \ge 1-\delta",
        source="Azar, Munos & Kappen (2013), Machine Learning 91(3):325-349, Thm 1 (rate m log(m/delta)/((1-gamma)^3 eps^2)); "
        "bound checked here derived (Hoeffding + union bound + fixed-point argument)",
        constant="derived",
        tolerance=0.0,
        sample=sample_f12,
        evaluate=check_f12,
        default_instances=1,
        notes="Derivation: Q* - Qhat* = gamma (P - Phat) V* + gamma Phat (V* - Vhat*) and ||V* - Vhat*|| <= ||Q* - Qhat*||, "
        "so ||Q* - Qhat*|| <= gamma/(1-gamma) ||(P - Phat) V*||_inf (deterministic, part a). V* is fixed, so for each "
        "(s,a) Hoeffding on N i.i.d. values in an interval of length span(V*) gives |(P - Phat)(s,a) V*| <= "
        "span(V*) sqrt(log(2SA/delta)/(2N)) w.p. 1 - delta/(SA); a union bound over the SA pairs gives part (b). "
        "span(V*) <= R_max/(1-gamma), i.e. eps ~ (1-gamma)^-2 N^-1/2: a factor (1-gamma)^-1/2 looser than Azar et al.'s "
        "Bernstein-based rate, whose explicit constant we did not confirm. Part (b) is checked as the empirical "
        "(1-delta)-quantile over 200 plug-in runs (delta = 0.1).",
        subjects=("mdp.learners.plugin_planner",),
        instance=_MDP + " (N = 100 samples per pair), or (TabularMDP, N) with N a positive int",
        accepts=_accept_f12,
    )
)

register(
    Claim(
        id="F13",
        name="generative-rate-slopes",
        statement=r"\mathrm{RMSE}(\hat V) \propto (1-\gamma)^{-3/2} N^{-1/2}\ \text{on } p = \tfrac{4\gamma-1}{3\gamma}:\ "
        r"\text{slopes } 1.5 \pm 0.2 \text{ in } \log\tfrac{1}{1-\gamma},\ -0.5 \pm 0.1 \text{ in } \log N;\ "
        r"\mathrm{RMSE} = (1 \pm 0.1)\,\mathrm{RMSE}_{\mathrm{Bin}(N, p)}",
        source="Azar, Munos & Kappen (2013), Machine Learning 91(3), lower-bound construction; docs/papers/foundations.md section 5",
        constant="none",
        tolerance=0.2,
        sample=lambda rng: dict(F13_SETTINGS),
        evaluate=check_f13,
        default_instances=1,
        notes="Delta method: sd(Vhat) ~ gamma sqrt(p(1-p)/N)/(1-gamma p)^2 = const sqrt(gamma p) (1-gamma)^(-3/2) N^(-1/2); "
        "the sqrt(gamma p) factor adds about +0.06 to the gamma slope over gamma in {0.8,...,0.98}. 2000 repetitions "
        "per point with N = 1e4 (gamma sweep) and gamma = 0.9 (N sweep, N in 500..32000). The samples come from the "
        "lab's generative model (sample_next_states; the first repetition of each point runs plugin_planner end "
        "to end and is cross-checked against the closed form Vhat = 1/(1 - gamma p_hat)). Level part: each RMSE "
        "within 10% of the exact RMSE under K ~ Binomial(N, p) (summed over the pmf); with 2000 repetitions the "
        "relative sd of an RMSE is about 1.6%, and a sampler drawing N/2 samples gives a ratio of 1.41.",
        subjects=("mdp.learners.plugin_planner", "mdp.learners.sample_next_states"),
        instance="a dict overriding some of F13_SETTINGS (gammas, n_fixed, gamma_fixed, ns, reps); the instance is always the hard two-state chain of foundations section 5",
        accepts=_accept_f13,
    )
)
