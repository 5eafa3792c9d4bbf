"""Correlated and coarse correlated equilibria of N-player matrix games, by linear programming.

A distribution ``mu`` over joint actions ``a = (a_1, .., a_N)`` is a *correlated equilibrium*
(CE; Aumann 1974, "Subjectivity and correlation in randomized strategies", J. Math. Econ. 1) iff
no player gains by replacing a recommended action ``a_i`` with another action ``b``:

    sum_{a_-i} mu(a_i, a_-i) [u_i(b, a_-i) - u_i(a_i, a_-i)] <= 0   for all i, a_i, b != a_i,

and a *coarse correlated equilibrium* (CCE; Moulin & Vial 1978, "Strategically zero-sum games",
Int. J. Game Theory 7) iff no player gains by committing to a fixed ``b`` before the draw:

    sum_a mu(a) [u_i(b, a_-i) - u_i(a)] <= 0   for all i, b.

Summing the CE constraints of player ``i`` over ``a_i`` gives the CCE constraint, so every CE is
a CCE, and every Nash equilibrium (a product distribution) is a CE. Both sets are polytopes, so
optimising a linear objective over them is an LP (Papadimitriou & Roughgarden 2008, "Computing
correlated equilibria in multi-player games", J. ACM 55). The LP is built with ``cvxpy`` (imported
inside the functions) and the solution is checked in numpy afterwards.
"""

from __future__ import annotations

import numpy as np

from mdp._common import result
from mdp._common.deprecation import migrate_signature
from mdp._validation import as_float_array, check_tol

__all__ = [
    "CorrelatedResult",
    "correlated_equilibrium",
    "coarse_correlated_equilibrium",
    "ce_violations",
    "cce_violations",
]


@result
class CorrelatedResult:
    """Result of :func:`correlated_equilibrium` / :func:`coarse_correlated_equilibrium`.

    Attributes
    ----------
    distribution : ndarray, shape (k_1, ..., k_N)
        ``mu``: non-negative, sums to one (the solver's answer clipped at 0 and renormalised).
    payoffs : ndarray, shape (N,)
        Expected payoff of every player under ``mu``.
    max_violation : float
        Largest left-hand side of the incentive constraints above (``<= 0`` is satisfied),
        recomputed in numpy from ``distribution``; ``max(0, .)``.
    objective : float
        Value of the objective at ``distribution`` (``0.0`` for ``"feasible"``).
    status : str
        cvxpy's status string (``"optimal"`` or ``"optimal_inaccurate"``).
    kind : str
        ``"correlated"`` or ``"coarse_correlated"``.
    solver : str
    """

    distribution: np.ndarray
    payoffs: np.ndarray
    max_violation: float
    objective: float
    status: str
    kind: str
    solver: str


# ---------------------------------------------------------------------------- constraints
def _payoffs_of(game) -> np.ndarray:
    from marl.model import MatrixGame

    if isinstance(game, MatrixGame):
        return np.asarray(game.payoffs, dtype=np.float64)
    if isinstance(game, (list, tuple)) or hasattr(game, "__array__"):
        return np.asarray(MatrixGame(game).payoffs, dtype=np.float64)
    raise TypeError(f"game must be a marl.MatrixGame or an (N, k_1, ..., k_N) payoff array, got {type(game).__name__}")


def _ce_matrix(U: np.ndarray) -> np.ndarray:
    """Rows ``(i, a_i, b)``, ``b != a_i``: gain coefficients over the flattened joint actions."""
    N = U.shape[0]
    shape = U.shape[1:]
    J = int(np.prod(shape))
    rows = []
    for i in range(N):
        Ui = np.moveaxis(U[i], i, 0)  # (k_i, rest...)
        k = shape[i]
        for a in range(k):
            for b in range(k):
                if a == b:
                    continue
                coef = np.zeros((k,) + Ui.shape[1:])
                coef[a] = Ui[b] - Ui[a]
                rows.append(np.moveaxis(coef, 0, i).reshape(J))
    return np.array(rows).reshape(-1, J)


def _cce_matrix(U: np.ndarray) -> np.ndarray:
    """Rows ``(i, b)``: ``u_i(b, a_-i) - u_i(a)`` over the flattened joint actions."""
    N = U.shape[0]
    shape = U.shape[1:]
    J = int(np.prod(shape))
    rows = []
    for i in range(N):
        Ui = np.moveaxis(U[i], i, 0)
        for b in range(shape[i]):
            coef = Ui[b][None, ...] - Ui
            rows.append(np.moveaxis(coef, 0, i).reshape(J))
    return np.array(rows).reshape(-1, J)


def _check_distribution(mu, shape) -> np.ndarray:
    mu = as_float_array(mu, "distribution")
    if mu.shape != tuple(shape):
        raise ValueError(f"distribution must have shape {tuple(shape)} (one entry per joint action), got {mu.shape}")
    if mu.min() < -1e-9:
        raise ValueError(f"distribution must be non-negative, has minimum {mu.min()!r}")
    if abs(mu.sum() - 1.0) > 1e-8:
        raise ValueError(f"distribution must sum to 1, sums to {mu.sum()!r}")
    return mu


def ce_violations(game, distribution) -> np.ndarray:
    """Left-hand sides of the CE constraints (one per ``(i, a_i, b != a_i)``; ``<= 0`` holds)."""
    U = _payoffs_of(game)
    mu = _check_distribution(distribution, U.shape[1:])
    return _ce_matrix(U) @ mu.ravel()


def cce_violations(game, distribution) -> np.ndarray:
    """Left-hand sides of the CCE constraints (one per ``(i, b)``; ``<= 0`` holds)."""
    U = _payoffs_of(game)
    mu = _check_distribution(distribution, U.shape[1:])
    return _cce_matrix(U) @ mu.ravel()


# ---------------------------------------------------------------------------- LP
def _default_solver(cp) -> str:
    installed = cp.installed_solvers()
    for name in ("CLARABEL", "HIGHS", "SCIPY", "SCS"):
        if name in installed:
            return name
    raise RuntimeError(f"no LP solver available to cvxpy (installed: {installed})")  # pragma: no cover


def _solve(game, objective, solver, tol, kind):
    U = _payoffs_of(game)
    N = U.shape[0]
    shape = U.shape[1:]
    J = int(np.prod(shape))
    tol = check_tol(tol, "tol")
    flat_U = U.reshape(N, J)
    if isinstance(objective, str):
        if objective == "welfare":
            c = flat_U.sum(axis=0)
        elif objective == "feasible":
            c = np.zeros(J)
        else:
            raise ValueError(f"objective must be 'welfare', 'feasible' or an array, got {objective!r}")
    else:
        w = as_float_array(objective, "objective")
        if w.shape == (N,):
            c = w @ flat_U
        elif w.shape == tuple(shape):
            c = w.reshape(J)
        else:
            raise ValueError(
                f"objective array must have shape (N,) = ({N},) (weights on the players' payoffs) or "
                f"{tuple(shape)} (a coefficient per joint action), got {w.shape}"
            )
    # the LP is solved on payoffs mapped by one positive affine map to [0, 1] (same equilibria, same
    # welfare order) and a unit-scaled objective, so the solvers' absolute tolerances mean the same
    # thing at payoffs of 1e-9 and of 1e9
    lo, hi = float(U.min()), float(U.max())
    span = hi - lo if hi > lo else 1.0
    Gn = (_ce_matrix(U) if kind == "correlated" else _cce_matrix(U)) / span
    c_scale = float(np.abs(c).max())
    cn = c / c_scale if c_scale > 0 else c

    import cvxpy as cp

    if solver is None:
        solver = _default_solver(cp)
    elif not isinstance(solver, str):
        raise TypeError(f"method must be a cvxpy solver name (str), got {type(solver).__name__}")
    elif solver.upper() not in cp.installed_solvers():
        raise ValueError(f"method {solver!r} is not a cvxpy solver installed here; installed: {cp.installed_solvers()}")
    solver = solver.upper()
    mu = cp.Variable(J, nonneg=True)
    cons = [cp.sum(mu) == 1]
    if Gn.shape[0]:
        cons.append(Gn @ mu <= 0)
    prob = cp.Problem(cp.Maximize(cn @ mu), cons)
    try:
        prob.solve(solver=solver)
    except cp.error.SolverError as exc:  # pragma: no cover - depends on the solver build
        raise RuntimeError(f"cvxpy solver {solver} failed on the {kind} equilibrium LP: {exc}") from None
    status = str(prob.status)
    if status not in ("optimal", "optimal_inaccurate") or mu.value is None:
        raise RuntimeError(f"the {kind} equilibrium LP was not solved (cvxpy status {status!r}, solver {solver})")
    p = np.clip(np.asarray(mu.value, dtype=np.float64), 0.0, None)
    p /= p.sum()
    viol_n = float(max(0.0, (Gn @ p).max())) if Gn.shape[0] else 0.0
    viol = viol_n * span
    if viol_n > tol:
        raise RuntimeError(
            f"the {kind} equilibrium returned by {solver} violates an incentive constraint by "
            f"{viol:.3g} (> tol * payoff range = {tol * span:.3g}); try another solver"
        )
    return CorrelatedResult(
        distribution=p.reshape(shape),
        payoffs=flat_U @ p,
        max_violation=viol,
        objective=float(c @ p),
        status=status,
        kind=kind,
        solver=solver,
    )


_PARAMS_DOC = """
    Parameters
    ----------
    game : MatrixGame or array_like
        An N-player :class:`marl.MatrixGame` or its ``(N, k_1, ..., k_N)`` payoff array.
    objective : {"welfare", "feasible"} or array_like, default "welfare"
        ``"welfare"``: maximise the expected sum of payoffs; ``"feasible"``: any point of the set
        (objective 0); an ``(N,)`` array ``w``: maximise ``sum_i w_i E_mu[u_i]``; a
        ``(k_1, ..., k_N)`` array ``c``: maximise ``sum_a c[a] mu(a)``.
    method : str, optional
        A cvxpy solver name; default the first installed of CLARABEL, HIGHS, SCIPY, SCS
        (``solver=`` is the deprecated name of this keyword).
    tol : float, default 1e-6
        The numpy re-check must give ``max_violation <= tol * (max u - min u)``, else RuntimeError.

    Returns
    -------
    CorrelatedResult

    Raises
    ------
    TypeError, ValueError
        On a bad game, objective or solver name.
    RuntimeError
        If the LP is not solved to optimality or the solution violates the constraints.
"""


@migrate_signature(renamed={"solver": "method"})
def correlated_equilibrium(
    game, objective="welfare", *, method: str | None = None, tol: float = 1e-6
) -> CorrelatedResult:
    return _solve(game, objective, method, tol, "correlated")


@migrate_signature(renamed={"solver": "method"})
def coarse_correlated_equilibrium(
    game, objective="welfare", *, method: str | None = None, tol: float = 1e-6
) -> CorrelatedResult:
    return _solve(game, objective, method, tol, "coarse_correlated")


correlated_equilibrium.__doc__ = (
    """A correlated equilibrium (Aumann 1974) optimising ``objective``, by LP.

    Constraints: ``mu >= 0``, ``sum mu = 1`` and, for every player ``i`` and actions
    ``a_i != b``, ``sum_{a_-i} mu(a_i, a_-i) [u_i(b, a_-i) - u_i(a_i, a_-i)] <= 0``.
"""
    + _PARAMS_DOC
    + """
    Examples
    --------
    Chicken (the "correlated equilibrium" example of Aumann 1974 with the payoffs usually quoted):

    >>> import numpy as np, marl
    >>> U = np.array([[[6, 2], [7, 0]], [[6, 7], [2, 0]]], dtype=float)
    >>> round(marl.correlated_equilibrium(U).objective, 6)
    10.5
"""
)

coarse_correlated_equilibrium.__doc__ = (
    """A coarse correlated equilibrium (Moulin & Vial 1978) optimising ``objective``, by LP.

    Constraints: ``mu >= 0``, ``sum mu = 1`` and, for every player ``i`` and action ``b``,
    ``sum_a mu(a) [u_i(b, a_-i) - u_i(a)] <= 0``. The CCE set contains the CE set, so its
    welfare optimum is at least the CE one.
"""
    + _PARAMS_DOC
)
