"""Game claims (``docs/papers/foundations.md`` sections 6-8) as executable checks.

G1 (non-expansiveness of ``val`` and the Shapley contraction), G2 (the equilibrium certificate),
G3 (player-symmetric games), MM (the minimax theorem: the row player's LP optimum equals the
column player's), G4 (synchronous minimax-Q converges to ``Q*``) and G5 (a returned stationary
profile has Nash gap below ``1e-6``). Each evaluator measures the lab's own code
(:func:`marl.zero_sum_matrix_game`, :func:`marl.shapley_value_iteration`,
:func:`marl.exploitability`, :func:`marl.learners.minimax_q.minimax_q`, :func:`marl.nash_gap`).
"""

from __future__ import annotations

import numpy as np

import marl
from marl import generators as G
from marl.markov import shapley_operator
from marl.matrix import zero_sum_lp
from theory_checks import instances as I
from theory_checks.core import CheckResult, Claim, combine, identity, inequality, register

__all__ = [
    "sample_game",
    "check_g1",
    "check_g2",
    "check_g3",
    "check_minimax_theorem",
    "check_g4",
    "check_g5",
    "check_g6",
]


def sample_game(rng: np.random.Generator) -> marl.MarkovGame:
    """A random zero-sum Markov game: 2-8 states, 1-4 actions per player, gamma in {0.5, 0.9, 0.99},
    Dirichlet(0.1 or 1) rows, a quarter of them sparse with 3 successors."""
    S = int(rng.integers(2, 9))
    A1, A2 = (int(a) for a in rng.integers(1, 5, size=2))
    gamma = float(rng.choice([0.5, 0.9, 0.99]))
    sparse = bool(rng.random() < 0.25)
    return G.random_zero_sum_game(
        S,
        A1,
        A2,
        rng=rng,
        gamma=gamma,
        concentration=float(rng.choice([0.1, 1.0])),
        branching=min(3, S) if sparse else None,
        sparse=sparse,
    )


def check_g1(game, rng, *, gamma=None, n_pairs: int = 8) -> CheckResult:
    """``|val(M1) - val(M2)| <= max|M1 - M2|`` on stage games, and ``||Tv - Tu|| <= gamma ||v - u||``."""
    g = game.gamma if gamma is None else gamma
    S = game.n_states
    ratios_val, ratios_T = [], []
    for k in range(n_pairs):
        v = rng.normal(size=S) * 5
        # half of the pairs differ by a constant shift, where both inequalities are equalities
        u = v + (rng.normal() if k % 2 else rng.normal(size=S))
        M1, M2 = game.q_values(v), game.q_values(u)
        d = np.abs(marl.zero_sum_matrix_game(M1).value - marl.zero_sum_matrix_game(M2).value)
        lip = np.abs(M1 - M2).reshape(S, -1).max(axis=1)
        ratios_val.append(float(np.max(np.where(lip > 0, d / np.maximum(lip, 1e-300), 0.0))))
        lhs = np.abs(shapley_operator(game, v) - shapley_operator(game, u)).max()
        rhs = g * np.abs(v - u).max()
        ratios_T.append((lhs, rhs))
    worst_T = max(ratios_T, key=lambda t: t[0] - t[1])
    parts = {
        "val-nonexpansive": inequality("G1", max(ratios_val), 1.0, rtol=1e-9, atol=1e-12),
        "shapley-contraction": inequality("G1", worst_T[0], worst_T[1], rtol=1e-9, atol=1e-12),
    }
    return combine("G1", parts)


def _solve_game(game):
    """Shapley iteration to 1e-11, or to 4x the float64 round-off floor of the game's joint MDP where
    that is larger (:func:`mdp.attainable_tol`): below it the certificate cannot shrink."""
    import mdp

    return marl.shapley_value_iteration(game, tol=mdp.attainable_tol(game.joint_mdp, 1e-11))


def check_g2(game, rng, *, threshold: float = 1e-8) -> CheckResult:
    """Solve to 1e-11 (or 4x the round-off floor); then V^{x*,y*} = V*, BR_1(y*) = V* = BR_2(x*),
    exploitability < threshold."""
    res = _solve_game(game)
    e = marl.exploitability(game, res.row_policy, res.col_policy)
    scale = 1.0 + float(np.abs(res.v).max())
    parts = {
        "evaluation=V*": identity("G2", np.abs(e.v_pair - res.v).max(), threshold * scale),
        "BR_row(y*)=V*": identity("G2", np.abs(e.v_row_best_response - res.v).max(), threshold * scale),
        "BR_col(x*)=V*": identity("G2", np.abs(e.v_col_best_response - res.v).max(), threshold * scale),
        "exploitability": inequality("G2", e.value, threshold * scale, rtol=0.0, atol=0.0),
    }
    out = combine("G2", parts)
    out.details.update(n_iter=res.n_iter, error_bound=res.error_bound, exploitability=e.value)
    return out


def sample_symmetric(rng: np.random.Generator):
    """A player-symmetric zero-sum game (``symmetrize``) with a random involution of its states."""
    S = int(rng.integers(2, 8))
    A = int(rng.integers(1, 5))
    perm = rng.permutation(S)
    swap = np.arange(S)
    for i in range(0, S - 1, 2):  # pair up states (perm[i], perm[i+1]); an odd one out is a fixed point
        a, b = perm[i], perm[i + 1]
        swap[a], swap[b] = b, a
    base = G.random_zero_sum_game(S, A, rng=rng, gamma=float(rng.choice([0.5, 0.9, 0.95])))
    M = rng.normal(size=(A, A))
    return G.symmetrize(base, swap=swap), swap, M - M.T


def check_g3(instance, rng) -> CheckResult:
    """``V*(sigma s) = -V*(s)`` for a symmetric Markov game; ``val(M) = 0`` for antisymmetric ``M``."""
    game, swap, M = instance
    v = _solve_game(game).v
    scale = 1.0 + float(np.abs(v).max())
    parts = {
        "markov": identity("G3", np.abs(v[swap] + v).max(), 1e-10 * scale),
        "matrix": identity("G3", abs(marl.zero_sum_matrix_game(M).value), 1e-12 * (1 + np.abs(M).max())),
    }
    return combine("G3", parts)


def sample_matrices(rng: np.random.Generator) -> np.ndarray:
    """A batch of 20 random games of one random size up to 7x7 (Gaussian or small-integer payoffs)."""
    k1, k2 = (int(k) for k in rng.integers(1, 8, size=2))
    if rng.random() < 0.5:
        return rng.normal(size=(20, k1, k2))
    return rng.integers(-3, 4, size=(20, k1, k2)).astype(float)


def check_minimax_theorem(M, rng) -> CheckResult:
    """max_x min_y x^T M y = min_y max_x x^T M y: the two HiGHS LPs, and the simplex certificate."""
    ref = zero_sum_lp(M)
    ours = marl.zero_sum_matrix_game(M)
    scale = 1.0 + float(np.abs(M).max())
    parts = {
        "highs primal=dual": identity("MM", float(np.max(ref.upper - ref.lower)), 1e-8 * scale),
        "simplex gap": identity("MM", float(np.max(ours.gap)), 1e-12 * scale),
        "simplex=highs": identity("MM", float(np.abs(ours.value - ref.value).max()), 1e-9 * scale),
    }
    return combine("MM", parts)


def sample_g4(rng: np.random.Generator) -> list:
    """Ten games: 5 states, 2x2 actions, Dirichlet(1) rows, rewards uniform in [0, 1), gamma = 0.5."""
    out = []
    for _ in range(10):
        base = G.random_zero_sum_game(5, 2, rng=rng, gamma=0.5)
        out.append(marl.MarkovGame(base.P, rng.random(base.R.shape), 0.5))
    return out


def check_g4(games, rng, *, n_sweeps: int = 20_000, threshold: float = 1e-2) -> CheckResult:
    """Synchronous minimax-Q with ``alpha_t = (t + 1)^{-0.6}``: the median over the games of
    ``max |Q_T - Q*|`` is below ``threshold`` (the worst game is reported in ``details``)."""
    from marl.learners.minimax_q import minimax_q

    if isinstance(games, marl.MarkovGame):
        games = [games]
    errors = []
    for game in games:
        q_star = _solve_game(game).q
        res = minimax_q(game, n_iter=n_sweeps, rng=rng, step_size="polynomial", omega=0.6, q_star=q_star)
        errors.append(float(res.errors[-1]))
    errors = np.array(errors)
    return inequality(
        "G4",
        float(np.median(errors)),
        threshold,
        rtol=0.0,
        atol=0.0,
        worst=float(errors.max()),
        fraction_below=float(np.mean(errors < threshold)),
        n_sweeps=n_sweeps,
    )


def sample_g5(rng: np.random.Generator):
    """Either a zero-sum Markov game (profile from Shapley VI) or a repeated bimatrix game whose
    profile is a stage Nash equilibrium played at every step (a stationary equilibrium)."""
    if rng.random() < 0.5:
        return ("zero-sum", sample_game(rng))
    k1, k2 = (int(k) for k in rng.integers(2, 4, size=2))
    A, B = rng.normal(size=(2, k1, k2))
    return ("repeated-bimatrix", (A, B, float(rng.choice([0.5, 0.9]))))


def check_g5(instance, rng, *, threshold: float = 1e-6) -> CheckResult:
    kind, data = instance
    if kind == "zero-sum":
        res = _solve_game(data)
        gap = marl.nash_gap(data, (res.row_policy, res.col_policy))
        return inequality("G5", gap.value, threshold, rtol=0.0, atol=0.0, kind=kind)
    A, B, gamma = data
    eqs = marl.support_enumeration(marl.MatrixGame.bimatrix(A, B))
    game = marl.MarkovGame(np.ones((1, *A.shape, 1)), np.stack([A, B])[:, None], gamma)
    worst = max(marl.nash_gap(game, (e.row_strategy[None], e.col_strategy[None])).value for e in eqs)
    return inequality("G5", worst, threshold, rtol=0.0, atol=0.0, kind=kind, n_equilibria=len(eqs))


def sample_g6(rng: np.random.Generator) -> marl.MarkovGame:
    """A small zero-sum game: 2-5 states, 1-3 actions per player, gamma in {0.5, 0.9}."""
    S = int(rng.integers(2, 6))
    A1, A2 = (int(a) for a in rng.integers(1, 4, size=2))
    return G.random_zero_sum_game(S, A1, A2, rng=rng, gamma=float(rng.choice([0.5, 0.9])))


def check_g6(game, rng, *, n_sweeps: int = 30) -> CheckResult:
    """Synchronous Nash-Q and minimax-Q, same step sizes ``1/(t+1)`` and the same generative-model
    draws (one seed), produce the same ``Q`` in a zero-sum game (player 0's table; player 1's is ``-Q``)."""
    from marl.learners.minimax_q import minimax_q
    from marl.learners.nash_q import nash_q

    seed = int(rng.integers(2**63))
    nq = nash_q(game, n_iter=n_sweeps, rng=np.random.default_rng(seed), mode="synchronous", step_size="count")
    mq = minimax_q(game, n_iter=n_sweeps, rng=np.random.default_rng(seed), step_size="polynomial", omega=1.0)
    Q = np.asarray(nq.Q)
    err = max(float(np.abs(Q[0] - mq.q).max()), float(np.abs(Q[1] + mq.q).max()))
    return identity("G6", err, 1e-9 * (1.0 + float(np.abs(mq.q).max())), n_sweeps=n_sweeps)


# ----------------------------------------------------------------------------------- user instances
_GAME = "a zero-sum marl.MarkovGame (R of shape (S, A1, A2))"


def _accept_g3(x, name="instance"):
    """``(game, swap, M)``: a player-symmetric zero-sum game under the state involution ``swap`` (the
    theorem's premise is verified here), and an antisymmetric square matrix ``M``."""
    game, swap, M = I.tuple_of(I.zero_sum_game, I.int_array(1), I.float_array(2), names=("game", "swap", "M"))(x, name)
    S, (A1, A2) = game.n_states, game.n_actions
    if A1 != A2:
        raise ValueError(f"{name}: a player-symmetric game needs A1 == A2, got {A1} and {A2}")
    if (
        swap.shape != (S,)
        or not np.array_equal(np.sort(swap), np.arange(S))
        or not np.array_equal(swap[swap], np.arange(S))
    ):
        raise ValueError(f"{name}: swap must be an involution of range({S}) (swap[swap[s]] == s)")
    P, R = game.dense_P(), game.R
    dev = max(
        float(np.abs(R[swap].transpose(0, 2, 1) + R).max()),
        float(np.abs(P[swap].transpose(0, 2, 1, 3)[:, :, :, swap] - P).max()),
    )
    if dev > 1e-12 * (1.0 + float(np.abs(R).max())):
        raise ValueError(
            f"{name}: the game is not player-symmetric under swap (R(swap s, b, a) = -R(s, a, b) and "
            f"P(swap s, b, a, swap t) = P(s, a, b, t) are off by {dev:.3g}; marl.generators.symmetrize "
            "makes a game symmetric)"
        )
    if M.shape[0] != M.shape[1] or float(np.abs(M + M.T).max()) > 1e-12 * (1.0 + float(np.abs(M).max())):
        raise ValueError(f"{name}: M must be square and antisymmetric (M = -M^T), got shape {M.shape}")
    return game, swap, M


def _accept_matrices(x, name="instance"):
    """One payoff matrix ``(k1, k2)`` or a batch ``(n, k1, k2)``; returned as a batch."""
    arr = I.float_array()(x, name)
    if arr.ndim == 2:
        arr = arr[None]
    if arr.ndim != 3 or 0 in arr.shape:
        raise ValueError(f"{name} must be a payoff matrix (k1, k2) or a batch (n, k1, k2), got shape {arr.shape}")
    return arr


def _accept_g4(x, name="instance"):
    """A zero-sum game or a non-empty list of them."""
    games = list(x) if isinstance(x, (list, tuple)) else [x]
    if not games:
        raise ValueError(f"{name} must hold at least one game")
    games = [I.zero_sum_game(g, f"{name}[{i}]") for i, g in enumerate(games)]
    for i, g in enumerate(games):  # the threshold 1e-2 was set for this class (notes of the claim)
        R = np.asarray(g.R)
        if g.gamma > 0.5 or float(R.max() - R.min()) > 1.0:
            raise ValueError(
                f"{name}[{i}]: G4's threshold 1e-2 holds for gamma <= 0.5 and rewards spanning at most 1 "
                f"(got gamma = {g.gamma}, reward range {float(R.max() - R.min()):.3g}); the final error is "
                "a noise floor ~ sqrt(alpha_T) sd(V) / (1 - gamma), not a rate"
            )
    return games


def _accept_g5(x, name="instance"):
    """A zero-sum game (profile from Shapley iteration), ``("zero-sum", game)`` or
    ``("repeated-bimatrix", (A, B, gamma))``."""
    import marl

    if isinstance(x, marl.MarkovGame):
        return "zero-sum", I.zero_sum_game(x, name)
    kind, data = I.tuple_of(I.choice("zero-sum", "repeated-bimatrix"), lambda d, n: d, names=("kind", "data"))(x, name)
    if kind == "zero-sum":
        return kind, I.zero_sum_game(data, f"{name}[1]")
    A, B, gamma = I.tuple_of(I.float_array(2), I.float_array(2), I.real("[0, 1)"), names=("A", "B", "gamma"))(
        data, f"{name}[1]"
    )
    if A.shape != B.shape:
        raise ValueError(f"{name}: A and B must have the same shape, got {A.shape} and {B.shape}")
    return kind, (A, B, gamma)


_SHAPLEY = "Shapley (1953), Stochastic games, PNAS 39"

register(
    Claim(
        id="G1",
        name="shapley-contraction",
        statement=r"|\mathrm{val}(M_1) - \mathrm{val}(M_2)| \le \max_{a,o}|M_1 - M_2|;\ \ \|TV - TU\|_\infty \le \gamma\|V - U\|_\infty",
        source=f"{_SHAPLEY}; docs/papers/foundations.md G1",
        constant="source",
        tolerance=1e-9,
        sample=sample_game,
        evaluate=check_g1,
        notes="8 value pairs per game, half of them constant shifts (equality case). The val part is checked per "
        "state with the stage games Q(V), Q(U); tightness is the worst ratio.",
        subjects=("marl.zero_sum_matrix_game", "marl.shapley_operator", "marl.MarkovGame.q_values"),
        instance=_GAME,
        accepts=I.zero_sum_game,
    )
)

register(
    Claim(
        id="G2",
        name="game-equilibrium-certificate",
        statement=r"V^{x^*,y^*} = V^*,\ \ \max_x V^{x,y^*} = V^* = \min_y V^{x^*,y},\ \ \text{exploitability} < 10^{-8}",
        source=f"{_SHAPLEY}; docs/papers/foundations.md G2",
        constant="source",
        tolerance=1e-8,
        sample=sample_game,
        evaluate=check_g2,
        notes="Strategies from marl.shapley_value_iteration(tol=1e-11, or 4x the float64 round-off floor where larger); best responses with mdp.solve likewise; "
        "threshold scaled by 1 + ||V*||.",
        subjects=("marl.shapley_value_iteration", "marl.exploitability"),
        instance=_GAME,
        accepts=I.zero_sum_game,
    )
)

register(
    Claim(
        id="G3",
        name="symmetric-game-value",
        statement=r"R(\sigma s, b, a) = -R(s, a, b),\ P(\sigma s, b, a, \sigma t) = P(s, a, b, t) \Rightarrow V^*(\sigma s) = -V^*(s);\ \ M = -M^\top \Rightarrow \mathrm{val}(M) = 0",
        source="docs/papers/foundations.md G3 (a consequence of the uniqueness of V*)",
        constant="none",
        tolerance=1e-10,
        sample=sample_symmetric,
        evaluate=check_g3,
        subjects=("marl.shapley_value_iteration", "marl.zero_sum_matrix_game", "marl.generators.symmetrize"),
        instance="(game, swap, M): a zero-sum marl.MarkovGame that is player-symmetric under the state involution swap (int array (S,)), and an antisymmetric matrix M",
        accepts=_accept_g3,
    )
)

register(
    Claim(
        id="MM",
        name="minimax-theorem",
        statement=r"\max_x \min_y x^\top M y = \min_y \max_x x^\top M y",
        source="von Neumann (1928), Zur Theorie der Gesellschaftsspiele; LP duality (Dantzig 1951)",
        constant="none",
        tolerance=1e-8,
        sample=sample_matrices,
        evaluate=check_minimax_theorem,
        notes="Both players' LPs solved by HiGHS; their optima (recomputed from the returned strategies) must meet. "
        "Also checks the numba simplex's own certificate gap (<= 1e-12 relative) and its agreement with HiGHS.",
        subjects=("marl.zero_sum_matrix_game", "marl.zero_sum_lp"),
        instance="a payoff matrix (k1, k2) or a batch of them (n, k1, k2)",
        accepts=_accept_matrices,
    )
)

register(
    Claim(
        id="G4",
        name="minimax-q-convergence",
        statement=r"\mathrm{median}\,\max|Q_T - Q^*| < 10^{-2},\ T = 2\cdot 10^4 \text{ synchronous sweeps},\ \alpha_t = (t+1)^{-0.6}",
        source="Littman (1994), Markov games as a framework for MARL; Littman & Szepesvari (1996); docs/papers/foundations.md G4",
        constant="derived",
        tolerance=1e-2,
        sample=sample_g4,
        evaluate=check_g4,
        default_instances=2,
        notes="docs/papers/foundations.md leaves the reward scale and discount open; the instances are fixed here: rewards uniform "
        "in [0, 1), gamma = 0.5, Dirichlet(1) rows. The final error is a noise floor, not a deterministic rate, so "
        "the claim is checked on the median of 10 games per instance: over 60 games the final error had median "
        "0.006, 90% quantile 0.0098 and maximum 0.018 (6 of 60 above 1e-2). With N(0, 1) rewards and gamma = 0.9 "
        "the same budget leaves 0.04-0.08: the floor scales like sqrt(alpha_T) sd(V) / (1 - gamma).",
        subjects=("marl.learners.minimax_q", "marl.shapley_value_iteration"),
        instance="a zero-sum marl.MarkovGame with gamma <= 0.5 and rewards spanning at most 1, or a list of them (the median final error over the list is checked; 2e4 sweeps each)",
        accepts=_accept_g4,
    )
)

register(
    Claim(
        id="G5",
        name="nash-gap-certificate",
        statement=r"\mathrm{NashGap}(\pi) = \max_j \max_s (V_j^{BR}(s) - V_j^{\pi}(s)) < 10^{-6}",
        source="Fink (1964) (existence); docs/papers/foundations.md G5",
        constant="source",
        tolerance=1e-6,
        sample=sample_g5,
        evaluate=check_g5,
        notes="Profiles from marl.shapley_value_iteration (zero-sum) and from every stage equilibrium found by "
        "marl.support_enumeration played stationarily in a repeated bimatrix game.",
        subjects=("marl.nash_gap", "marl.shapley_value_iteration", "marl.support_enumeration"),
        instance='a zero-sum marl.MarkovGame, ("zero-sum", game) or ("repeated-bimatrix", (A, B, gamma)) with payoff matrices A, B of one shape',
        accepts=_accept_g5,
    )
)

register(
    Claim(
        id="G6",
        name="nash-q-is-minimax-q",
        statement=r"R_2 = -R_1 \Rightarrow \mathrm{NashQ}_1(s') = \mathrm{val}(Q_1(s')):\ \text{Nash-Q} \equiv \text{minimax-Q}",
        source="Hu & Wellman (2003), JMLR 4, Sec. 4; Littman (1994); docs/papers/foundations.md G6",
        constant="none",
        tolerance=1e-9,
        sample=sample_g6,
        evaluate=check_g6,
        notes="Every Nash equilibrium of a zero-sum stage game has the LP value, so with the same samples and step "
        "sizes the two learners coincide; checked after 30 synchronous sweeps (marl.learners.nash_q with its "
        "equilibrium selection vs marl.learners.minimax_q with the numba simplex).",
        subjects=("marl.learners.nash_q", "marl.learners.minimax_q"),
        instance=_GAME,
        accepts=I.zero_sum_game,
    )
)
