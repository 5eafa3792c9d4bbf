"""Nash equilibria of two-player general-sum (bimatrix) games ``(A, B)``.

``A[i, j]`` is the row player's payoff and ``B[i, j]`` the column player's payoff when the row
player plays ``i`` (of ``m``) and the column player ``j`` (of ``n``). A profile ``(x, y)`` of mixed
strategies is a Nash equilibrium iff neither player gains by a pure deviation:
``max_i (A y)_i = x^T A y`` and ``max_j (B^T x)_j = x^T B y`` (Nash 1951).

Three methods (von Stengel, "Computing equilibria for two-person games", Handbook of Game
Theory vol. 3, ch. 45, 2002; Avis, Rosenberg, Savani & von Stengel, "Enumeration of Nash
equilibria for two-player games", Economic Theory 42, 2010):

* :func:`support_enumeration` -- for every pair of supports ``I, J`` with ``|I| = |J|`` solve the
  two indifference systems; exact and complete for *nondegenerate* games (von Stengel 2002,
  Thm. 2.10: in a nondegenerate game every equilibrium has equal support sizes and is the
  unique solution of its indifference systems).
* :func:`vertex_enumeration` (``method="vertex"``) -- all completely labelled vertex pairs of the
  best-response polytopes ``P = {x >= 0, B^T x <= 1}``, ``Q = {y >= 0, A y <= 1}`` (payoffs first
  mapped to ``[1, 2]`` by a positive affine map, which keeps the equilibria). This returns all
  *extreme* equilibria of any game, degenerate ones included (Avis et al. 2010, Sec. 3).
* :func:`lemke_howson` -- one equilibrium by complementary pivoting (Lemke & Howson 1964) with the
  lexicographic minimum-ratio test, which makes every pivot well defined and rules out cycling in
  degenerate games (von Stengel 2002, Sec. 2.6).

The enumerations are combinatorial (``C(m + n, m)`` bases); they are meant for the small stage
games of the lab (up to about ``10 x 10``). Everything here is plain numpy: the cost is dominated
by batched ``numpy.linalg`` calls, so a numba kernel would not pay off.

Every returned profile is verified: ``BimatrixEquilibrium.regret`` is the largest gain of a pure
deviation, and profiles with ``regret > tol * max(1, max|A|, max|B|)`` are discarded.
"""

from __future__ import annotations

import itertools
import math

import numpy as np

from mdp._common import result
from mdp._validation import as_float_array, check_index, check_tol

__all__ = [
    "BimatrixEquilibrium",
    "support_enumeration",
    "vertex_enumeration",
    "lemke_howson",
    "nash_equilibria",
    "pure_equilibria",
    "as_bimatrix",
    "regret",
]

_MAX_BASES = 2_000_000  # guard against accidental combinatorial blow-up


@result
class BimatrixEquilibrium:
    """One Nash equilibrium ``(x, y)`` of a bimatrix game.

    Attributes
    ----------
    row_strategy : ndarray, shape (m,)
        ``x``, on the simplex.
    col_strategy : ndarray, shape (n,)
        ``y``, on the simplex.
    row_payoff, col_payoff : float
        ``x^T A y`` and ``x^T B y``.
    regret : float
        ``max(max_i (A y)_i - x^T A y, max_j (B^T x)_j - x^T B y) >= 0``: the largest gain from a
        pure deviation (zero up to round-off for an exact equilibrium).
    row_support, col_support : tuple of int
        Indices where ``x`` (``y``) is positive.
    """

    row_strategy: np.ndarray
    col_strategy: np.ndarray
    row_payoff: float
    col_payoff: float
    regret: float
    row_support: tuple
    col_support: tuple

    @property
    def welfare(self) -> float:
        """``row_payoff + col_payoff``."""
        return self.row_payoff + self.col_payoff


# ---------------------------------------------------------------------------- input handling
def as_bimatrix(game, B=None) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(A, B)`` as float64 ``(m, n)`` arrays.

    ``game`` is a two-player :class:`marl.MatrixGame`, a payoff stack of shape ``(2, m, n)``, or
    the row player's matrix ``A`` with ``B`` given separately.
    """
    from marl.model import MatrixGame

    if isinstance(game, MatrixGame):
        if B is not None:
            raise TypeError("B must not be given when game is a MatrixGame (its payoffs already hold B)")
        if game.n_players != 2:
            raise ValueError(f"a bimatrix game needs exactly two players; game has {game.n_players}")
        return np.array(game.A, dtype=np.float64), np.array(game.B, dtype=np.float64)
    if B is None:
        arr = as_float_array(game, "game")
        if arr.ndim != 3 or arr.shape[0] != 2:
            raise ValueError(
                "game must be a two-player MatrixGame, a (2, m, n) payoff stack, or the matrix A "
                f"together with B; got an array of shape {arr.shape} and no B"
            )
        A, B = arr[0], arr[1]
    else:
        A = as_float_array(game, "A", ndim=2)
        B = as_float_array(B, "B", ndim=2)
    if A.shape != B.shape:
        raise ValueError(f"A and B must have the same shape (m, n), got {A.shape} and {B.shape}")
    if A.size == 0:
        raise ValueError(f"every player needs at least one action; A has shape {A.shape}")
    return np.array(A, dtype=np.float64), np.array(B, dtype=np.float64)


def _to_unit(M) -> np.ndarray:
    """Positive affine image of ``M`` with entries in ``[1, 2]`` (keeps best responses)."""
    lo, hi = float(M.min()), float(M.max())
    span = hi - lo if hi > lo else 1.0
    return (M - lo) / span + 1.0


def regret(A, B, x, y) -> tuple[float, float]:
    """Largest pure-deviation gain of the row and of the column player at ``(x, y)``."""
    Ay = A @ y
    Bx = B.T @ x
    return float(Ay.max() - x @ Ay), float(Bx.max() - Bx @ y)


def _make(A, B, x, y, support_tol=1e-12) -> BimatrixEquilibrium:
    x = np.clip(x, 0.0, None)
    y = np.clip(y, 0.0, None)
    x = x / x.sum()
    y = y / y.sum()
    x[x < support_tol] = 0.0
    y[y < support_tol] = 0.0
    x = x / x.sum()
    y = y / y.sum()
    r1, r2 = regret(A, B, x, y)
    return BimatrixEquilibrium(
        row_strategy=x,
        col_strategy=y,
        row_payoff=float(x @ A @ y),
        col_payoff=float(x @ B @ y),
        regret=max(0.0, r1, r2),
        row_support=tuple(int(i) for i in np.flatnonzero(x)),
        col_support=tuple(int(j) for j in np.flatnonzero(y)),
    )


def _finish(A, B, cands, tol) -> tuple:
    """Verify, deduplicate (strategies equal to ``1e-9``) and order the candidate profiles.

    Order: by support size ``|supp x| + |supp y|``, then row support, then column support, then
    the strategies themselves (lexicographically).
    """
    # verify in the scale-free payoffs (each player's mapped to [1, 2]): the regret is then relative
    # to that player's payoff range, so the test means the same at payoffs of 1e-12 and of 1e12
    Au, Bu = _to_unit(A), _to_unit(B)
    kept: list[BimatrixEquilibrium] = []
    for x, y in cands:
        if _make(Au, Bu, x, y).regret > tol:
            continue
        eq = _make(A, B, x, y)
        if any(
            np.abs(eq.row_strategy - k.row_strategy).max() <= 1e-9
            and np.abs(eq.col_strategy - k.col_strategy).max() <= 1e-9
            for k in kept
        ):
            continue
        kept.append(eq)
    kept.sort(
        key=lambda e: (
            len(e.row_support) + len(e.col_support),
            e.row_support,
            e.col_support,
            tuple(np.round(e.row_strategy, 12)),
            tuple(np.round(e.col_strategy, 12)),
        )
    )
    return tuple(kept)


# ---------------------------------------------------------------------------- pure equilibria
def pure_equilibria(game, B=None) -> tuple[tuple[int, int], ...]:
    """All pure equilibria ``(i, j)`` (exact comparisons), in row-major order."""
    A, B = as_bimatrix(game, B)
    ok = (A >= A.max(axis=0, keepdims=True)) & (B >= B.max(axis=1, keepdims=True))
    return tuple((int(i), int(j)) for i, j in np.argwhere(ok))


# ---------------------------------------------------------------------------- support enumeration
def _indifference(M, rows, cols):
    """Solve ``M[rows, cols] z = u 1, sum z = 1`` for ``z`` (length ``|cols|``); None if singular.

    With ``k = |rows| = |cols|`` the system ``[[M_IJ, -1], [1^T, 0]] (z, u) = (0, 1)`` is square.
    """
    k = len(cols)
    K = np.zeros((k + 1, k + 1))
    K[:k, :k] = M[np.ix_(rows, cols)]
    K[:k, k] = -1.0
    K[k, :k] = 1.0
    rhs = np.zeros(k + 1)
    rhs[k] = 1.0
    s = np.linalg.svd(K, compute_uv=False)
    if s[-1] <= 1e-11 * s[0]:
        return None
    return np.linalg.solve(K, rhs)[:k]


def support_enumeration(game, B=None, *, tol: float = 1e-9) -> tuple[BimatrixEquilibrium, ...]:
    """Nash equilibria by support enumeration (von Stengel 2002, Alg. 2.11).

    For ``k = 1 .. min(m, n)`` and every pair of supports ``I`` (rows), ``J`` (columns) with
    ``|I| = |J| = k``: ``y`` solves the row player's indifference system ``A[I, J] y_J = u 1``,
    ``sum y_J = 1``; ``x`` solves ``B[I, J]^T x_I = v 1``, ``sum x_I = 1``; the pair is kept when
    ``x, y >= 0`` and no pure strategy outside the supports pays more (checked by the regret).

    Parameters
    ----------
    game : MatrixGame or array_like
        A two-player :class:`marl.MatrixGame`, a ``(2, m, n)`` payoff stack, or ``A`` ``(m, n)``
        when ``B`` is given.
    B : array_like, optional
        Column player's payoffs ``(m, n)`` (only with an array ``game``).
    tol : float, default 1e-9
        Profiles whose regret exceeds ``tol`` times the deviating player's payoff range are rejected
        (checked on each player's payoffs mapped to ``[1, 2]``, so the test is scale-free).

    Returns
    -------
    tuple of BimatrixEquilibrium
        Deduplicated, ordered by total support size, then supports (see :func:`nash_equilibria`).

        * Nondegenerate game: *all* equilibria (an odd number; von Stengel 2002, Thm. 2.10 and
          Cor. 3.7).
        * Degenerate game (some mixed strategy with support size ``k`` has more than ``k`` pure
          best responses): every profile that solves the indifference systems of some candidate
          pair ``I, J`` with ``|I| = |J|`` and *nonsingular* systems, is non-negative and has no
          profitable deviation (zeros inside ``I`` or ``J`` are allowed, so ``|supp x|`` and
          ``|supp y|`` may differ). Pairs with a singular system (e.g. duplicate rows/columns,
          all-zero payoffs) are skipped, so interiors of equilibrium components and some extreme
          equilibria can be missing. All pure equilibria are always listed (their ``1 x 1``
          systems are never singular), but the result can be empty for a degenerate game without
          pure equilibria;           use ``method="vertex"`` for the extreme equilibria of any game.

    Examples
    --------
    >>> import numpy as np
    >>> eqs = support_enumeration(np.array([[1., -1.], [-1., 1.]]), np.array([[-1., 1.], [1., -1.]]))
    >>> [e.row_strategy.tolist() for e in eqs]
    [[0.5, 0.5]]
    """
    A, B = as_bimatrix(game, B)
    tol = check_tol(tol, "tol")
    m, n = A.shape
    n_bases = sum(math.comb(m, k) * math.comb(n, k) for k in range(1, min(m, n) + 1))
    if n_bases > _MAX_BASES:
        raise ValueError(
            f"support enumeration would visit {n_bases} support pairs (more than {_MAX_BASES}); "
            "use lemke_howson for a single equilibrium of a large game"
        )
    Au, Bu = _to_unit(A), _to_unit(B)  # same equilibria; well-scaled indifference systems
    cands = []
    for k in range(1, min(m, n) + 1):
        for I in itertools.combinations(range(m), k):
            for J in itertools.combinations(range(n), k):
                yJ = _indifference(Au, I, J)
                if yJ is None or yJ.min() < -1e-12:
                    continue
                xI = _indifference(Bu.T, J, I)
                if xI is None or xI.min() < -1e-12:
                    continue
                x = np.zeros(m)
                y = np.zeros(n)
                x[list(I)] = xI
                y[list(J)] = yJ
                cands.append((x, y))
    return _finish(A, B, cands, tol)


# ---------------------------------------------------------------------------- vertex enumeration
def _vertices(M, first_nonneg: bool):
    """Vertices of ``{z >= 0, M z <= 1}`` (``M`` is ``(p, d)`` positive) and their label sets.

    Labels are numbered as in the game: if ``first_nonneg`` the ``d`` non-negativity constraints
    carry labels ``0..d-1`` and the ``p`` rows of ``M`` labels ``d..d+p-1``; otherwise the rows of
    ``M`` carry ``0..p-1`` and the non-negativity constraints ``p..p+d-1``.
    Returns ``(Z (nv, d), labels (nv, d + p) bool)``, the origin excluded.
    """
    p, d = M.shape
    G = np.vstack([-np.eye(d), M]) if first_nonneg else np.vstack([M, -np.eye(d)])
    h = np.concatenate([np.zeros(d), np.ones(p)]) if first_nonneg else np.concatenate([np.ones(p), np.zeros(d)])
    subsets = np.array(list(itertools.combinations(range(d + p), d)), dtype=np.int64)
    mats = G[subsets]  # (nb, d, d)
    rhs = h[subsets]
    sv = np.linalg.svd(mats, compute_uv=False)
    ok = sv[:, -1] > 1e-11 * sv[:, 0]
    if not ok.any():
        return np.zeros((0, d)), np.zeros((0, d + p), dtype=bool)
    Z = np.linalg.solve(mats[ok], rhs[ok][..., None])[..., 0]
    slack = h[None, :] - Z @ G.T  # >= 0 when feasible
    feas = (slack.min(axis=1) >= -1e-9) & (Z.max(axis=1) > 1e-9)
    Z = Z[feas]
    if Z.shape[0] == 0:
        return np.zeros((0, d)), np.zeros((0, d + p), dtype=bool)
    # deduplicate vertices reached from several bases (degenerate polytopes)
    key = np.round(Z, 9)
    _, first = np.unique(key, axis=0, return_index=True)
    Z = Z[np.sort(first)]
    labels = np.abs(h[None, :] - Z @ G.T) <= 1e-9
    return Z, labels


def vertex_enumeration(game, B=None, *, tol: float = 1e-9) -> tuple[BimatrixEquilibrium, ...]:
    """All extreme Nash equilibria by enumerating the vertices of the best-response polytopes.

    With ``A'``, ``B'`` the payoffs mapped to ``[1, 2]`` by positive affine maps (which keep the
    best responses), ``P = {x in R^m : x >= 0, B'^T x <= 1}`` with labels ``i`` for ``x_i = 0`` and
    ``m + j`` for ``(B'^T x)_j = 1``, and ``Q = {y in R^n : A' y <= 1, y >= 0}`` with labels ``i``
    for ``(A' y)_i = 1`` and ``m + j`` for ``y_j = 0``. A pair of nonzero vertices ``(x, y)`` whose
    labels cover ``{0, .., m + n - 1}`` is, after normalisation, an extreme equilibrium, and all
    extreme equilibria arise this way, degenerate games included (Avis, Rosenberg, Savani & von
    Stengel 2010, Sec. 3; von Stengel 2002, Thm. 2.14). Every equilibrium is a convex combination
    of extreme ones within a maximal Nash subset (Winkels 1979).

    Vertices are found by solving every choice of ``m`` (``n``) tight constraints (``C(m+n, m)``
    bases), so this is for small games. Parameters and ordering as in :func:`support_enumeration`.
    """
    A, B = as_bimatrix(game, B)
    tol = check_tol(tol, "tol")
    m, n = A.shape
    if math.comb(m + n, m) > _MAX_BASES:
        raise ValueError(
            f"vertex enumeration would solve {math.comb(m + n, m)} bases (more than {_MAX_BASES}); "
            "use lemke_howson for a single equilibrium of a large game"
        )
    X, LX = _vertices(_to_unit(B).T, first_nonneg=True)  # P: x >= 0 labels 0..m-1
    Y, LY = _vertices(_to_unit(A), first_nonneg=False)  # Q: A'y <= 1 labels 0..m-1
    if X.shape[0] == 0 or Y.shape[0] == 0:  # pragma: no cover - polytopes are bounded with vertices
        return ()
    missing = (~LX).astype(np.int64) @ (~LY).astype(np.int64).T  # labels absent from both
    cands = [(X[a], Y[b]) for a, b in np.argwhere(missing == 0)]
    return _finish(A, B, cands, tol)


# ---------------------------------------------------------------------------- Lemke-Howson
def _lex_min_ratio(T, col, basis_cols, eps=1e-12):
    """Leaving row for entering column ``col`` by the lexicographic minimum-ratio test.

    Rows with ``T[r, col] > eps`` compete on ``T[r, -1] / T[r, col]`` (the ordinary ratio); ties
    (within ``1e-12``) are broken by the columns of the initial basis, in order. Because those
    columns hold ``B^{-1}`` (nonsingular), no two rows tie on all of them, so the leaving row is
    unique and the pivoting cannot cycle (Dantzig, Orden & Wolfe 1955; von Stengel 2002, Sec. 2.6).
    """
    cand = np.flatnonzero(T[:, col] > eps)
    if cand.size == 0:  # pragma: no cover - impossible for bounded polytopes
        raise RuntimeError("Lemke-Howson: unbounded ray (payoffs were not made positive)")
    piv = T[cand, col]
    for c in [T.shape[1] - 1, *basis_cols]:
        ratios = T[cand, c] / piv
        best = ratios.min()
        keep = ratios <= best + 1e-12 * max(1.0, abs(best))
        cand, piv = cand[keep], piv[keep]
        if cand.size == 1:
            break
    return int(cand[0])


def _pivot(T, row, col):
    T[row] /= T[row, col]
    f = T[:, col].copy()
    f[row] = 0.0
    T -= np.outer(f, T[row])


def _lemke_howson_core(A, B, k, max_pivots):
    """Complementary pivoting from the artificial equilibrium ``(0, 0)`` dropping label ``k``.

    Tableaux (variable index = label): ``Q``: ``r + A' y = 1`` with slacks ``r_i`` (label ``i``)
    and ``y_j`` (label ``m + j``); ``P``: ``B'^T x + s = 1`` with ``x_i`` (label ``i``) and slacks
    ``s_j`` (label ``m + j``). Returns ``(x, y, n_pivots)``.
    """
    A1, B1 = _to_unit(A), _to_unit(B)
    m, n = A.shape
    TQ = np.hstack([np.eye(m), A1, np.ones((m, 1))])  # rows: m, cols: m + n + 1
    TP = np.hstack([B1.T, np.eye(n), np.ones((n, 1))])  # rows: n
    basis_Q = list(range(m))  # slacks r
    basis_P = list(range(m, m + n))  # slacks s
    init_Q = list(range(m))
    init_P = list(range(m, m + n))
    entering = k
    in_P = k < m  # label k < m: x_k enters P; otherwise y_{k-m} enters Q
    pivots = 0
    while True:
        if pivots >= max_pivots:
            raise RuntimeError(f"Lemke-Howson did not terminate within {max_pivots} pivots")
        T, basis, init = (TP, basis_P, init_P) if in_P else (TQ, basis_Q, init_Q)
        row = _lex_min_ratio(T, entering, init)
        leaving = basis[row]
        basis[row] = entering
        _pivot(T, row, entering)
        pivots += 1
        if leaving == k:
            break
        entering = leaving
        in_P = not in_P
    x = np.zeros(m)
    y = np.zeros(n)
    for r, var in enumerate(basis_P):
        if var < m:
            x[var] = TP[r, -1]
    for r, var in enumerate(basis_Q):
        if var >= m:
            y[var - m] = TQ[r, -1]
    return x, y, pivots


def lemke_howson(
    game, B=None, *, initial_label: int = 0, tol: float = 1e-9, max_pivots: int | None = None
) -> BimatrixEquilibrium:
    """One Nash equilibrium by the Lemke-Howson algorithm (Lemke & Howson 1964).

    Starts at the artificial equilibrium ``(0, 0)`` of the polytopes ``P``, ``Q`` of
    :func:`vertex_enumeration`, drops ``initial_label`` and follows the path of almost completely
    labelled pairs by alternating pivots in the two tableaux until the missing label is picked up
    again (von Stengel 2002, Alg. 2.9). The leaving variable is chosen by the lexicographic
    minimum-ratio test (``_lex_min_ratio``), so the path is well defined and finite in
    degenerate games too.

    Parameters
    ----------
    game, B
        As in :func:`support_enumeration`.
    initial_label : int, default 0
        Label dropped first: ``0..m-1`` are the row player's pure strategies, ``m..m+n-1`` the
        column player's.
    tol : float, default 1e-9
        The end point is verified (regret ``<= tol`` times the payoff range) or RuntimeError.
    max_pivots : int, optional
        Safety cap, default ``10 * 2^min(m, n) + 100`` (paths can be exponentially long; Savani
        & von Stengel 2006).

    Returns
    -------
    BimatrixEquilibrium
    """
    A, B = as_bimatrix(game, B)
    tol = check_tol(tol, "tol")
    m, n = A.shape
    initial_label = check_index(initial_label, "initial_label", m + n)
    if max_pivots is None:
        max_pivots = 10 * 2 ** min(min(m, n), 40) + 100
    x, y, _ = _lemke_howson_core(A, B, int(initial_label), int(max_pivots))
    eq = _make(A, B, x, y)
    if _make(_to_unit(A), _to_unit(B), x, y).regret > tol:  # pragma: no cover - severe ill-conditioning
        raise RuntimeError(
            f"Lemke-Howson ended at a profile with regret {eq.regret:.3g}; the game is too badly "
            "conditioned for floating-point pivoting"
        )
    return eq


# ---------------------------------------------------------------------------- convenience
_METHODS = ("support_enumeration", "vertex", "lemke_howson")


def nash_equilibria(
    game, B=None, *, method: str = "support_enumeration", tol: float = 1e-9
) -> tuple[BimatrixEquilibrium, ...]:
    """Nash equilibria of a bimatrix game.

    Parameters
    ----------
    game, B
        As in :func:`support_enumeration`.
    method : {"support_enumeration", "vertex", "lemke_howson"}
        ``"support_enumeration"``: :func:`support_enumeration` (all equilibria of a nondegenerate
        game). ``"vertex"``: :func:`vertex_enumeration` (all extreme equilibria of any game).
        ``"lemke_howson"``: :func:`lemke_howson` from every initial label ``0..m+n-1``, the
        distinct end points (a subset of the equilibria, at least one).
    tol : float, default 1e-9
        Verification tolerance (relative to each player's payoff range).

    Returns
    -------
    tuple of BimatrixEquilibrium
        Verified, deduplicated (strategies equal within ``1e-9``), ordered by total support size,
        then row support, then column support, then the strategies (lexicographically).
    """
    if method == "support_enumeration":
        return support_enumeration(game, B, tol=tol)
    if method == "vertex":
        return vertex_enumeration(game, B, tol=tol)
    if method == "lemke_howson":
        A, B2 = as_bimatrix(game, B)
        m, n = A.shape
        eqs = [lemke_howson(A, B2, initial_label=k, tol=tol) for k in range(m + n)]
        return _finish(A, B2, [(e.row_strategy, e.col_strategy) for e in eqs], check_tol(tol, "tol"))
    raise ValueError(f"method must be one of {_METHODS}, got {method!r}")
