"""Preference-based advantage estimators: ArenaRL tournaments, SPO self-play win rates, SPARK
step-level verification aggregation and HiLL hint rewards.

Registered with :mod:`mdp.llm.registry` at import (``"arena"``, ``"spo"``, ``"spark"``,
``"hill"``); the building blocks are public too:

* **ArenaRL** (Zhang et al. 2026, arXiv:2601.06487; ``docs/papers/arenarl.md``):
  :func:`single_elimination` -- anchor seeding (``N`` judge calls), standard seeded bracket
  (1 vs N, 2 vs N-1, ...; byes to the top seeds), ``N - 1`` matches, ranking by elimination round
  with ties broken by seed; :func:`round_robin` (``N(N-1)/2`` calls); :func:`rank_advantages`
  ``u_k = (N - k)/(N - 1)`` z-normalised in the group (docs/papers/arenarl.md "Algorithm" steps 2-5).
* **SPO** (Swamy et al. 2024, arXiv:2401.04056; ``docs/papers/spo.md``): win-rate rewards
  ``r(xi) = 1/(K-1) sum_{xi' != xi} P(xi > xi')`` (:func:`spo_win_rates`); the tabular self-play
  helper :func:`spo_self_play` and the exact minimax winner :func:`minimax_winner` (the symmetric
  zero-sum game ``P - 1/2`` solved by :func:`marl.zero_sum_matrix_game`).
* **SPARK** (Rahman et al. 2025, arXiv:2512.03244; ``docs/papers/spark.md``):
  :func:`spark_aggregate` (single verification, outcome-level majority, step-level majority,
  meta-critique and combined), :func:`spark_process_reward` (PRM-CoT reward forms with format
  constraints) and :func:`majority_accuracy` (the Condorcet amplification of claim 1).
* **HiLL** (Xia et al. 2026, arXiv:2604.00698; ``docs/papers/hill.md``): :func:`hint_reliance`,
  :func:`hill_hint_reward` ``R(h) = [1 - p^n - (1-p)^n] exp(min(Delta, 0)/T)`` and its variants,
  and :func:`hill_replace_groups` (all-fail groups replaced by the best hint's rollouts).

Judges and preference functions are plain callables, ``judge(a, b) -> float`` in ``[0, 1]`` (the
probability, or score, that ``a`` is preferred to ``b``; a ``bool`` means "``a`` wins"). They are
called once per comparison (twice with ``symmetrize=True``: ``(J(a,b) + 1 - J(b,a)) / 2`` cancels a
position bias), in a deterministic order, so tournaments are reproducible given the judge.
"""
from __future__ import annotations

import math
from typing import Any, Callable, Sequence

import numpy as np

from mdp._validation import as_float_array, check_positive_int, check_rng
from mdp.llm.registry import register_estimator
from mdp._common import result

__all__ = [
    "TournamentResult",
    "single_elimination",
    "round_robin",
    "bracket_order",
    "rank_advantages",
    "arena_advantages",
    "kendall_tau",
    "spo_win_rates",
    "spo_win_rate_matrix",
    "minimax_winner",
    "preference_exploitability",
    "SelfPlayResult",
    "spo_self_play",
    "SparkLabels",
    "spark_aggregate",
    "spark_process_reward",
    "majority_accuracy",
    "HintReward",
    "hint_reliance",
    "hill_hint_reward",
    "hill_replace_groups",
]


# --------------------------------------------------------------------------------------------
# judges
# --------------------------------------------------------------------------------------------
class _Judge:
    """Wraps a pairwise callable: validates each answer and counts calls."""

    def __init__(self, fn: Callable, name: str = "judge", symmetrize: bool = False):
        if not callable(fn):
            raise TypeError(f"{name} must be callable (a, b) -> P(a preferred to b) in [0, 1], got {type(fn).__name__}")
        self.fn, self.name, self.symmetrize, self.calls = fn, name, bool(symmetrize), 0

    def _one(self, a, b) -> float:
        self.calls += 1
        v = self.fn(a, b)
        if isinstance(v, (bool, np.bool_)):
            return 1.0 if v else 0.0
        try:
            p = float(v)
        except (TypeError, ValueError):
            raise TypeError(f"{self.name} must return a number in [0, 1] (or a bool), got {type(v).__name__}") from None
        if not (0.0 <= p <= 1.0):  # also rejects NaN
            raise ValueError(f"{self.name}({a!r}, {b!r}) returned {p}, outside [0, 1]")
        return p

    def __call__(self, a, b) -> float:
        p = self._one(a, b)
        if self.symmetrize:
            p = 0.5 * (p + 1.0 - self._one(b, a))
        return p


# --------------------------------------------------------------------------------------------
# ArenaRL
# --------------------------------------------------------------------------------------------
@result
class TournamentResult:
    """Outcome of :func:`single_elimination` or :func:`round_robin` on one group of ``N`` items.

    Attributes
    ----------
    ranking : numpy.ndarray (N,) int64
        Item indices, best first.
    ranks : numpy.ndarray (N,) int64
        Rank of each item, 1 = best (``ranks[ranking[k]] = k + 1``).
    advantages : numpy.ndarray (N,)
        :func:`rank_advantages` of ``ranks``.
    n_judge_calls : int
        Calls made to the judge (seeding included; doubled by ``symmetrize``).
    n_matches : int
        Pairwise comparisons that decided the tournament (``N - 1`` for a bracket).
    seed_scores : numpy.ndarray (N,) or None
        Seed scores ``sigma`` (anchor comparison, given scores, or None).
    elimination_round : numpy.ndarray (N,) int64
        Round in which the item lost (``n_rounds + 1`` for the champion); for round robin, wins.
    """

    ranking: np.ndarray
    ranks: np.ndarray
    advantages: np.ndarray
    n_judge_calls: int
    n_matches: int
    seed_scores: np.ndarray | None
    elimination_round: np.ndarray


def bracket_order(size: int) -> list[int]:
    """Seeds (1-based) in bracket slot order for a power-of-two ``size``: 1 meets ``size`` in the
    first round, 1 and 2 can meet only in the final (``[1, 8, 4, 5, 2, 7, 3, 6]`` for 8)."""
    size = check_positive_int(size, "size")
    if size & (size - 1):
        raise ValueError(f"size must be a power of two, got {size}")
    order = [1]
    while len(order) < size:
        m = 2 * len(order) + 1
        order = [s for x in order for s in (x, m - x)]
    return order


def rank_advantages(ranks) -> np.ndarray:
    """ArenaRL's rank advantages: ``u_k = (N - k) / (N - 1)`` z-normalised over the group
    (population std); ``ranks`` is a permutation of ``1..N``. ``N = 1`` gives ``[0]``.

    Since ranks are a permutation, ``mean u = 1/2`` and ``std u = sqrt((N + 1) / (12 (N - 1)))``,
    so ``A_k = (1/2 - (k - 1)/(N - 1)) / sqrt((N + 1) / (12 (N - 1)))`` (docs/papers/arenarl.md step 5).
    """
    k = np.asarray(ranks)
    if k.ndim != 1 or k.size == 0:
        raise ValueError(f"ranks must be a non-empty 1-D permutation of 1..N, got shape {k.shape}")
    N = k.size
    if not np.array_equal(np.sort(k), np.arange(1, N + 1)):
        raise ValueError("ranks must be a permutation of 1..N")
    if N == 1:
        return np.zeros(1)
    u = (N - k.astype(float)) / (N - 1)
    return (u - u.mean()) / u.std()


def _seed_ranks(seed_scores: np.ndarray) -> np.ndarray:
    """Seed number (0-based) of each item: higher score = better seed, ties by index."""
    order = np.lexsort((np.arange(seed_scores.size), -seed_scores))
    seeds = np.empty(seed_scores.size, dtype=np.int64)
    seeds[order] = np.arange(seed_scores.size)
    return seeds


def _seeding(N, judge, seeding, items, anchor, seed_scores, rng):
    if seeding == "anchor":
        if anchor is None:
            raise ValueError("seeding='anchor' needs anchor= (e.g. a greedy decode of the same prompt)")
        sigma = np.array([judge(items[i], anchor) for i in range(N)])
    elif seeding == "scores":
        if seed_scores is None:
            raise ValueError("seeding='scores' needs seed_scores= (one score per item)")
        sigma = as_float_array(seed_scores, "seed_scores", ndim=1)
        if sigma.size != N:
            raise ValueError(f"seed_scores must have {N} entries (one per item), got {sigma.size}")
    elif seeding == "random":
        rng = check_rng(rng)
        sigma = None
        seeds = rng.permutation(N)
        return seeds, sigma
    elif seeding == "index":
        sigma = None
        return np.arange(N), sigma
    else:
        raise ValueError(f"seeding must be 'anchor', 'scores', 'random' or 'index', got {seeding!r}")
    return _seed_ranks(sigma), sigma


def single_elimination(items: Sequence, judge: Callable, *, seeding: str = "anchor", anchor: Any = None,
                       seed_scores=None, rng: np.random.Generator | None = None,
                       symmetrize: bool = False) -> TournamentResult:
    """ArenaRL's seeded single-elimination tournament over ``N = len(items)`` entrants.

    Parameters
    ----------
    items : sequence
        The group's trajectories (anything the judge accepts).
    judge : callable ``(a, b) -> float in [0, 1]`` (or bool)
        ``a`` wins a match when ``judge(a, b) > 1/2``; an exact ``1/2`` goes to the better seed.
    seeding : {"anchor", "scores", "random", "index"}
        ``"anchor"``: ``sigma_i = judge(items[i], anchor)`` (``N`` extra calls; docs/papers/arenarl.md step 2);
        ``"scores"``: given ``seed_scores`` (no calls); ``"random"``: a random bracket from ``rng``;
        ``"index"``: seeds in item order.
    symmetrize : bool
        Judge both orders and average (2 calls per comparison).

    Returns
    -------
    TournamentResult
        ``N - 1`` matches (byes go to the top seeds when ``N`` is not a power of two), so
        ``n_judge_calls = N - 1`` (``2N - 1`` with anchor seeding), times 2 when ``symmetrize``.
        Ranking: champion, finalist, semifinal losers, ..., ties within a round broken by seed.

    Examples
    --------
    >>> q = [0.1, 0.9, 0.5, 0.3]
    >>> res = single_elimination(range(4), lambda a, b: q[a] > q[b], seeding="scores", seed_scores=q)
    >>> res.ranking.tolist(), res.n_judge_calls
    ([1, 2, 3, 0], 3)
    """
    items = list(items)
    N = len(items)
    if N == 0:
        raise ValueError("items must not be empty")
    J = _Judge(judge, "judge", symmetrize)
    seeds, sigma = _seeding(N, J, seeding, items, anchor, seed_scores, rng)
    P = 1 << max(0, (N - 1).bit_length())
    by_seed = np.empty(N, dtype=np.int64)
    by_seed[seeds] = np.arange(N)
    slots = [int(by_seed[s - 1]) if s <= N else None for s in bracket_order(P)]
    n_rounds = int(math.log2(P))
    elim = np.full(N, n_rounds + 1, dtype=np.int64)
    matches = 0
    for rnd in range(1, n_rounds + 1):
        nxt = []
        for a, b in zip(slots[0::2], slots[1::2]):
            if a is None or b is None:
                nxt.append(a if b is None else b)
                continue
            p = J(items[a], items[b])
            matches += 1
            a_wins = p > 0.5 or (p == 0.5 and seeds[a] < seeds[b])
            win, lose = (a, b) if a_wins else (b, a)
            elim[lose] = rnd
            nxt.append(win)
        slots = nxt
    ranking = np.lexsort((seeds, -elim)).astype(np.int64)
    ranks = np.empty(N, dtype=np.int64)
    ranks[ranking] = np.arange(1, N + 1)
    return TournamentResult(ranking, ranks, rank_advantages(ranks), J.calls, matches,
                            None if sigma is None else np.asarray(sigma, dtype=float), elim)


def round_robin(items: Sequence, judge: Callable, *, symmetrize: bool = False) -> TournamentResult:
    """Full round robin: every pair judged once (``N(N-1)/2`` calls, doubled by ``symmetrize``).

    Items are ranked by wins (a judge answer of exactly 1/2 counts half a win), then by the sum of
    the judge's probabilities, then by index. ``elimination_round`` holds the win counts (x2, int).
    """
    items = list(items)
    N = len(items)
    if N == 0:
        raise ValueError("items must not be empty")
    J = _Judge(judge, "judge", symmetrize)
    wins2 = np.zeros(N, dtype=np.int64)
    soft = np.zeros(N)
    for i in range(N):
        for j in range(i + 1, N):
            p = J(items[i], items[j])
            soft[i] += p
            soft[j] += 1 - p
            wins2[i] += 2 if p > 0.5 else (1 if p == 0.5 else 0)
            wins2[j] += 2 if p < 0.5 else (1 if p == 0.5 else 0)
    ranking = np.lexsort((np.arange(N), -soft, -wins2)).astype(np.int64)
    ranks = np.empty(N, dtype=np.int64)
    ranks[ranking] = np.arange(1, N + 1)
    return TournamentResult(ranking, ranks, rank_advantages(ranks), J.calls, N * (N - 1) // 2, None, wins2)


def kendall_tau(ranks, quality) -> float:
    """Kendall's tau-a between a ranking (``ranks``, 1 = best) and true ``quality`` (higher = better):
    (concordant - discordant) / (N(N-1)/2); pairs tied in quality count as neither."""
    k = np.asarray(ranks, dtype=float)
    q = np.asarray(quality, dtype=float)
    if k.shape != q.shape or k.ndim != 1 or k.size < 2:
        raise ValueError("ranks and quality must be 1-D of the same length >= 2")
    dk = np.sign(k[None, :] - k[:, None])   # > 0 when j is ranked below i
    dq = np.sign(q[:, None] - q[None, :])   # > 0 when i is better than j
    iu = np.triu_indices(k.size, 1)
    return float(np.sum((dk * dq)[iu]) / iu[0].size)


def arena_advantages(group_ids, judge: Callable, *, scheme: str = "single_elimination", seeding: str = "anchor",
                     anchor_judge: Callable | None = None, seed_scores=None, rng=None,
                     symmetrize: bool = False):
    """ArenaRL advantages for a flat batch: one tournament per group over its row indices.

    ``judge(i, j)`` compares rows ``i`` and ``j`` (global row indices); with ``seeding="anchor"``,
    ``anchor_judge(i)`` gives ``P(row i > its group's anchor)`` (one call per row). Returns
    ``(advantages (rows,) float64 numpy, n_judge_calls)``. Judge calls are inherently one Python
    call per comparison; everything else is per-group array work.
    """
    g = np.asarray(group_ids)
    if g.ndim != 1 or g.size == 0:
        raise ValueError(f"group_ids must be a non-empty 1-D array, got shape {g.shape}")
    if scheme not in ("single_elimination", "round_robin"):
        raise ValueError(f"scheme must be 'single_elimination' or 'round_robin', got {scheme!r}")
    seeds_all = None
    if scheme == "single_elimination" and seeding == "scores":
        if seed_scores is None:
            raise ValueError("seeding='scores' needs seed_scores (rows,)")
        seeds_all = as_float_array(seed_scores, "seed_scores", ndim=1)
        if seeds_all.size != g.size:
            raise ValueError(f"seed_scores must have {g.size} entries, got {seeds_all.size}")
    if scheme == "single_elimination" and seeding == "anchor" and anchor_judge is None:
        raise ValueError("seeding='anchor' needs anchor_judge(i) -> P(row i preferred to its group's anchor); "
                         "or use seeding='rewards' / 'random' / 'index'")
    adv = np.zeros(g.size)
    calls = 0
    uniq, inv = np.unique(g, return_inverse=True)
    members = np.argsort(inv, kind="stable")
    bounds = np.concatenate([[0], np.cumsum(np.bincount(inv, minlength=uniq.size))])
    for k in range(uniq.size):
        rows = members[bounds[k]:bounds[k + 1]].tolist()
        if scheme == "round_robin":
            res = round_robin(rows, judge, symmetrize=symmetrize)
        elif seeding == "anchor":
            aj = _Judge(lambda a, _b: anchor_judge(a), "anchor_judge")
            sigma = np.array([aj(i, None) for i in rows])
            calls += aj.calls
            res = single_elimination(rows, judge, seeding="scores", seed_scores=sigma, symmetrize=symmetrize)
        else:
            res = single_elimination(rows, judge, seeding=seeding, rng=rng, symmetrize=symmetrize,
                                     seed_scores=None if seeds_all is None else seeds_all[rows])
        adv[rows] = res.advantages
        calls += res.n_judge_calls
    return adv, calls


def _arena_estimator(batch, *, judge=None, scheme="single_elimination", seeding="anchor", anchor_judge=None,
                     rng=None, symmetrize=False):
    """ArenaRL: rank advantages from a seeded single-elimination tournament (or round robin) per group.

    ``judge(i, j)`` on row indices; seeding ``"anchor"`` (needs ``anchor_judge(i)``), ``"rewards"``
    (the batch's pointwise rewards as seed scores, no calls), ``"random"`` (needs ``rng``) or ``"index"``.
    """
    import torch

    if judge is None:
        raise ValueError("method 'arena' needs judge=callable(i, j) -> P(row i preferred to row j) in [0, 1]")
    if seeding == "rewards":
        seeding, seed_scores = "scores", batch.sequence_rewards().detach().cpu().numpy()
    else:
        seed_scores = None
    adv, _ = arena_advantages(batch.group_ids.cpu().numpy(), judge, scheme=scheme, seeding=seeding,
                              anchor_judge=anchor_judge, seed_scores=seed_scores, rng=rng, symmetrize=symmetrize)
    return torch.as_tensor(adv, dtype=batch.dtype, device=batch.device)


# --------------------------------------------------------------------------------------------
# SPO
# --------------------------------------------------------------------------------------------
def spo_win_rates(items: Sequence, preference: Callable, *, symmetrize: bool = False) -> tuple[np.ndarray, int]:
    """SPO win-rate rewards ``r_i = 1/(K-1) sum_{j != i} P(item_i > item_j)`` (docs/papers/spo.md, SPO loop).

    Each unordered pair is judged once (``P(j > i) = 1 - P(i > j)``), or both orders averaged when
    ``symmetrize``. Returns ``(r (K,), n_calls)``; ``K = 1`` gives ``r = [1/2]`` (no opponent). For any
    such preference ``sum_i r_i = K/2`` (mean 1/2), docs/papers/spo.md's unit test.
    """
    items = list(items)
    K = len(items)
    if K == 0:
        raise ValueError("items must not be empty")
    J = _Judge(preference, "preference", symmetrize)
    M = np.full((K, K), 0.5)
    for i in range(K):
        for j in range(i + 1, K):
            p = J(items[i], items[j])
            M[i, j], M[j, i] = p, 1 - p
    if K == 1:
        return np.array([0.5]), 0
    return (M.sum(1) - 0.5) / (K - 1), J.calls


def spo_win_rate_matrix(P):
    """Vectorised win rates from preference matrices ``P`` ``(..., K, K)`` (``P[i, j] = P(i > j)``,
    diagonal ignored): ``(sum_j P[i, j] - P[i, i]) / (K - 1)``. torch in, torch out (numpy accepted)."""
    import torch

    from mdp.llm.bpo import _float

    M = _float(P, "P")
    if M.dim() < 2 or M.shape[-1] != M.shape[-2] or M.shape[-1] < 2:
        raise ValueError(f"P must be (..., K, K) with K >= 2, got shape {tuple(M.shape)}")
    K = M.shape[-1]
    return (M.sum(-1) - torch.diagonal(M, dim1=-2, dim2=-1)) / (K - 1)


def _check_preference_matrix(P, tol: float = 1e-9) -> np.ndarray:
    M = as_float_array(P, "P", ndim=2)
    if M.shape[0] != M.shape[1] or M.shape[0] == 0:
        raise ValueError(f"P must be a square (n, n) preference matrix, got shape {M.shape}")
    if np.any(M < -tol) or np.any(M > 1 + tol):
        raise ValueError("P must hold probabilities in [0, 1]")
    err = np.abs(M + M.T - 1.0).max()
    if err > 1e-8:
        raise ValueError(f"P must satisfy P + P^T = 1 (a preference function); max |P + P^T - 1| = {err:.3g}")
    return M


def minimax_winner(P):
    """Exact Minimax Winner of the preference matrix ``P`` (``P[i, j] = P(i > j)``, ``P + P^T = 1``).

    The MW ``argmax_p min_q p^T P q`` is the row strategy of the symmetric zero-sum game with payoff
    ``P - 1/2`` (antisymmetric, value 0), solved exactly by :func:`marl.zero_sum_matrix_game`.
    Returns ``(p (n,), value)`` with ``value = min_q p^T P q = 1/2`` up to rounding.
    """
    import marl

    M = _check_preference_matrix(P)
    sol = marl.zero_sum_matrix_game(M - 0.5)
    p = np.asarray(sol.row_strategy, dtype=float)
    return p, float((p @ M).min())


def preference_exploitability(p, P) -> float:
    """``1/2 - min_q p^T P q = max_j (P p)_j - 1/2`` (``>= 0``, 0 exactly at a minimax winner)."""
    M = _check_preference_matrix(P)
    x = as_float_array(p, "p", ndim=1)
    if x.size != M.shape[0]:
        raise ValueError(f"p must have {M.shape[0]} entries, got {x.size}")
    return float(0.5 - (x @ M).min())


@result
class SelfPlayResult:
    """Output of :func:`spo_self_play`.

    ``average_policy`` ``(n,)`` (uniform mixture of the iterates ``p_1..p_T``), ``last_policy``,
    ``exploitability`` ``(T,)`` of the running average, ``regret`` (the learner's realised regret
    ``max_a sum_t (P p_t)_a - sum_t p_t^T P p_t`` on the exact win-rate rewards),
    ``regret_bound`` (Hedge: ``ln n / eta + eta T / 8``; ``nan`` for other updates),
    ``minimax_winner`` (LP), ``step_size``.
    """

    average_policy: np.ndarray
    last_policy: np.ndarray
    exploitability: np.ndarray
    regret: float
    regret_bound: float
    minimax_winner: np.ndarray
    step_size: float


def spo_self_play(P, *, n_iter: int = 2000, update: str = "hedge", step_size: float | None = None,
                  n_samples: int = 8, rng: np.random.Generator | None = None, init_logits=None) -> SelfPlayResult:
    """Tabular SPO: a softmax policy over ``n`` responses trained on its own win rates.

    Parameters
    ----------
    P : array_like (n, n)
        Preference matrix, ``P + P^T = 1`` (possibly intransitive).
    n_iter : int
        Iterations ``T``.
    update : {"hedge", "pg", "sampled"}
        ``"hedge"``: exact win rates against the current policy, ``r_t = P p_t``, and logits
        ``z += eta r_t`` (multiplicative weights = natural policy gradient; no-regret, so
        ``exploitability(p_bar_T) <= Reg(T)/T <= ln n/(eta T) + eta/8`` by docs/papers/spo.md claim 1);
        ``"pg"``: exact softmax policy gradient ``z += eta p * (r_t - p^T r_t)``;
        ``"sampled"``: SPO proper -- ``n_samples`` responses from ``p_t``, win-rate rewards among them
        (:func:`spo_win_rates`), REINFORCE with the mean baseline 1/2 (needs ``rng``).
    step_size : float, optional
        ``eta`` (default ``sqrt(8 ln n / T)`` for hedge, 1.0 otherwise).
    """
    M = _check_preference_matrix(P)
    n = M.shape[0]
    T = check_positive_int(n_iter, "n_iter")
    if update not in ("hedge", "pg", "sampled"):
        raise ValueError(f"update must be 'hedge', 'pg' or 'sampled', got {update!r}")
    if update == "sampled":
        rng = check_rng(rng)
        K = check_positive_int(n_samples, "n_samples", minimum=2)
    if step_size is None:
        eta = math.sqrt(8 * math.log(max(n, 2)) / T) if update == "hedge" else 1.0
    else:
        eta = float(step_size)
        if not (eta > 0 and math.isfinite(eta)):
            raise ValueError(f"step_size must be finite and > 0, got {step_size}")
    z = np.zeros(n) if init_logits is None else as_float_array(init_logits, "init_logits", ndim=1).copy()
    if z.size != n:
        raise ValueError(f"init_logits must have {n} entries, got {z.size}")
    cum_p = np.zeros(n)
    cum_r = np.zeros(n)
    self_pay = 0.0
    expl = np.empty(T)
    for t in range(T):
        p = np.exp(z - z.max())
        p /= p.sum()
        r = M @ p                      # exact win rate of each response against p_t
        cum_p += p
        cum_r += r
        self_pay += float(p @ r)       # = 1/2 by antisymmetry
        pbar = cum_p / (t + 1)
        expl[t] = 0.5 - float((pbar @ M).min())
        if update == "hedge":
            z = z + eta * r
        elif update == "pg":
            z = z + eta * p * (r - p @ r)
        else:
            a = rng.choice(n, size=K, p=p)
            w = (M[a][:, a].sum(1) - 0.5) / (K - 1)
            g = np.zeros(n)
            np.add.at(g, a, w - 0.5)
            g -= (w - 0.5).sum() * p
            z = z + eta * g / K
    regret = float(cum_r.max() - self_pay)
    bound = math.log(n) / eta + eta * T / 8 if update == "hedge" else float("nan")
    mw, _ = minimax_winner(M)
    return SelfPlayResult(cum_p / T, p, expl, regret, bound, mw, eta)


def _base_advantages(base, batch, rewards, base_options, method):
    """``compute_advantages(base, batch with rewards, **base_options)`` with ``singleton="zero"`` by
    default when the base estimator has that option (a one-row group gets advantage 0, not verl's
    ``r / (1 + eps)``); an explicit ``base_options["singleton"]`` overrides it."""
    from collections.abc import Mapping

    from mdp.llm.registry import compute_advantages, get_estimator

    if base_options is None:
        base_options = {}
    if not isinstance(base_options, Mapping):
        raise TypeError(f"{method}: base_options must be a dict of options for the base estimator "
                        f"{base!r}, got {type(base_options).__name__}")
    opts = dict(base_options)
    if "singleton" in get_estimator(base).options:
        opts.setdefault("singleton", "zero")
    return compute_advantages(base, batch.replace(rewards=rewards), **opts)


def _spo_estimator(batch, *, preference=None, symmetrize=False, baseline="mean", base_options=None):
    """SPO: self-play win-rate rewards ``r_i = mean_{j != i} P(i > j)`` within each group.

    ``preference(i, j)`` on row indices. ``baseline="mean"`` subtracts the group mean (exactly 1/2
    for a symmetric preference), ``"none"`` returns the raw win rates, ``"grpo"`` z-scores them with
    the registry's ``grpo`` (``base_options``: its options, e.g. ``{"epsilon": 1e-4}``). Singleton
    groups get win rate 1/2 and advantage 0 with either baseline (``grpo`` is called with
    ``singleton="zero"`` unless ``base_options`` sets ``singleton``).
    """
    import torch

    from mdp.llm.segments import gather, segment_mean

    if preference is None:
        raise ValueError("method 'spo' needs preference=callable(i, j) -> P(row i preferred to row j) in [0, 1]")
    if baseline not in ("mean", "none", "grpo"):
        raise ValueError(f"baseline must be 'mean', 'none' or 'grpo', got {baseline!r}")
    g = batch.group_ids.cpu().numpy()
    uniq, inv = np.unique(g, return_inverse=True)
    members = np.argsort(inv, kind="stable")
    bounds = np.concatenate([[0], np.cumsum(np.bincount(inv, minlength=uniq.size))])
    r = np.empty(g.size)
    for k in range(uniq.size):
        rows = members[bounds[k]:bounds[k + 1]]
        r[rows], _ = spo_win_rates(rows.tolist(), preference, symmetrize=symmetrize)
    rt = torch.as_tensor(r, dtype=batch.dtype, device=batch.device)
    if baseline == "none":
        return rt
    if baseline == "grpo":
        return _base_advantages("grpo", batch, rt, base_options, "spo")
    if base_options is not None:
        raise ValueError("spo: base_options applies to baseline='grpo' only")
    codes, n = batch.group_codes(method="spo")
    return rt - gather(segment_mean(rt, codes, n), codes)


# --------------------------------------------------------------------------------------------
# SPARK
# --------------------------------------------------------------------------------------------
@result
class SparkLabels:
    """Aggregated verification of ``M`` solutions with up to ``K`` steps.

    ``step_labels`` ``(M, K)`` int8: 1 correct, 0 incorrect, -1 padding; ``first_error`` ``(M,)``
    int64: index of the earliest incorrect step, -1 if none (ProcessBench label);
    ``solution_correct`` ``(M,)`` bool; ``prm_labels`` ``(M, K)`` int8: 1 before the first error,
    0 from it on, -1 on padding.
    """

    step_labels: np.ndarray
    first_error: np.ndarray
    solution_correct: np.ndarray
    prm_labels: np.ndarray


SPARK_METHODS = ("single", "outcome_majority", "step_majority", "meta_critique", "combined")


def _binary(x, name):
    a = np.asarray(x)
    if a.dtype == bool:
        return a.astype(np.int8)
    a = as_float_array(a, name)
    if np.any((a != 0) & (a != 1)):
        raise ValueError(f"{name} must hold 0/1 verdicts (1 = judged correct)")
    return a.astype(np.int8)


def _majority(votes, n_votes, tie):
    """1 where correct votes are a strict majority; ties resolved by ``tie``."""
    twice = 2 * votes
    out = (twice > n_votes).astype(np.int8)
    if tie == "correct":
        out = np.where(twice == n_votes, 1, out).astype(np.int8)
    return out


def _first_zero(labels, valid):
    bad = (labels == 0) & valid
    has = bad.any(-1)
    return np.where(has, np.argmax(bad, axis=-1), -1).astype(np.int64)


def _labels_from(step, valid, first):
    K = step.shape[-1]
    pos = np.arange(K)
    prm = np.where(first[:, None] < 0, 1, (pos[None, :] < first[:, None]).astype(np.int8))
    return SparkLabels(np.where(valid, step, -1).astype(np.int8), first, first < 0,
                       np.where(valid, prm, -1).astype(np.int8))


def spark_aggregate(verdicts, *, step_mask=None, method: str = "step_majority", tie: str = "incorrect",
                    final_verdicts=None, revised=None, which: int = 0) -> SparkLabels:
    """Aggregate ``N`` verifications per solution into step labels (docs/papers/spark.md Stage 1).

    Parameters
    ----------
    verdicts : array_like (M, N, K) of 0/1
        Verification ``n`` of solution ``m`` judges step ``k`` correct (1) or not (0).
    step_mask : array_like (M, K) of 0/1, optional
        Valid steps (solutions have different lengths); default all valid.
    method : {"single", "outcome_majority", "step_majority", "meta_critique", "combined"}
        ``"single"``: verification ``which``; ``"outcome_majority"``: majority of the final verdicts
        (default: a verification's final verdict is "all its valid steps correct") decides whether a
        solution is correct, and the first verification agreeing with an "incorrect" majority
        locates the error; ``"step_majority"``: per-step majority of the ``N`` verdicts (docs/papers/spark.md
        (b)); ``"meta_critique"``: per-step majority of the ``revised`` verifications (sequential
        scaling, (c)); ``"combined"``: per-step majority over original and revised (2N votes, (d)).
    tie : {"incorrect", "correct"}
        Even-``N`` ties; "incorrect" is the conservative rule docs/papers/spark.md recommends.
    final_verdicts : array_like (M, N) of 0/1, optional
    revised : array_like (M, N', K) of 0/1, optional
        Revised verifications after the verifier's self-critique.
    which : int
        Verification used by ``"single"``.
    """
    V = _binary(verdicts, "verdicts")
    if V.ndim != 3 or 0 in V.shape:
        raise ValueError(f"verdicts must be (solutions, verifications, steps) and non-empty, got shape {V.shape}")
    M, N, K = V.shape
    if method not in SPARK_METHODS:
        raise ValueError(f"method must be one of {SPARK_METHODS}, got {method!r}")
    if tie not in ("incorrect", "correct"):
        raise ValueError(f"tie must be 'incorrect' or 'correct', got {tie!r}")
    valid = np.ones((M, K), dtype=bool) if step_mask is None else _binary(step_mask, "step_mask").astype(bool)
    if valid.shape != (M, K):
        raise ValueError(f"step_mask must have shape {(M, K)}, got {valid.shape}")
    if method == "single":
        if not 0 <= int(which) < N:
            raise ValueError(f"which must index a verification in [0, {N}), got {which}")
        step = V[:, int(which)]
        return _labels_from(step, valid, _first_zero(step, valid))
    if method in ("meta_critique", "combined"):
        if revised is None:
            raise ValueError(f"method={method!r} needs revised= verifications (M, N', K)")
        R = _binary(revised, "revised")
        if R.ndim != 3 or R.shape[0] != M or R.shape[2] != K:
            raise ValueError(f"revised must have shape ({M}, N', {K}), got {R.shape}")
        pool = R if method == "meta_critique" else np.concatenate([V, R], axis=1)
        step = _majority(pool.sum(1, dtype=np.int64), pool.shape[1], tie)
        return _labels_from(step, valid, _first_zero(step, valid))
    if method == "step_majority":
        step = _majority(V.sum(1, dtype=np.int64), N, tie)
        return _labels_from(step, valid, _first_zero(step, valid))
    # outcome-level majority + location from the first agreeing verification
    first_each = _first_zero(V.reshape(M * N, K), np.repeat(valid, N, axis=0)).reshape(M, N)
    if final_verdicts is None:
        final = (first_each < 0).astype(np.int8)
    else:
        final = _binary(final_verdicts, "final_verdicts")
        if final.shape != (M, N):
            raise ValueError(f"final_verdicts must have shape {(M, N)}, got {final.shape}")
    correct = _majority(final.sum(1, dtype=np.int64), N, tie).astype(bool)
    says_wrong = (final == 0) & (first_each >= 0)
    has = says_wrong.any(1)
    loc = np.where(has, first_each[np.arange(M), np.argmax(says_wrong, axis=1)], K - 1)
    # a majority "incorrect" with no verification locating an error: the last valid step
    last_valid = np.where(valid.any(1), K - 1 - np.argmax(valid[:, ::-1], axis=1), -1)
    loc = np.where(has, loc, last_valid)
    first = np.where(correct, -1, loc).astype(np.int64)
    pos = np.arange(K)
    step = np.where(first[:, None] < 0, 1, (pos[None, :] != first[:, None]).astype(np.int8))
    return _labels_from(step.astype(np.int8), valid, first)


def majority_accuracy(q, n_votes: int, *, tie: str = "incorrect") -> float:
    """Probability that the majority of ``n_votes`` independent verdicts, each right with
    probability ``q``, is right: ``sum_{j > N/2} C(N, j) q^j (1 - q)^(N - j)`` (docs/papers/spark.md claim 1;
    an even-``N`` tie counts as wrong with ``tie="incorrect"``, half with ``"half"``)."""
    from scipy.stats import binom

    N = check_positive_int(n_votes, "n_votes")
    if not 0.0 <= float(q) <= 1.0:
        raise ValueError(f"q must lie in [0, 1], got {q}")
    out = float(binom.sf(N // 2, N, q))
    if N % 2 == 0 and tie == "half":
        out += 0.5 * float(binom.pmf(N // 2, N, q))
    elif tie not in ("incorrect", "half"):
        raise ValueError(f"tie must be 'incorrect' or 'half', got {tie!r}")
    return out


SPARK_REWARDS = ("all", "fraction", "min")


def spark_process_reward(step_scores, step_mask=None, *, mode: str = "all", final_correct=None,
                         format_ok=None, max_steps: int | None = None, violation_reward: float = 0.0) -> np.ndarray:
    """PRM-CoT process rewards per solution (docs/papers/spark.md Stage 3, reconstruction).

    Parameters
    ----------
    step_scores : array_like (rows, K) in [0, 1]
        Step verdicts (0/1) or probabilities from the generative PRM.
    step_mask : array_like (rows, K), optional
    mode : {"all", "fraction", "min"}
        ``"all"``: 1 iff every valid step scores 1 (product for probabilities); ``"fraction"``: mean
        over valid steps; ``"min"``: minimum over valid steps.
    final_correct : array_like (rows,) in [0, 1], optional
        The judged final-answer verdict, multiplied in.
    format_ok : array_like (rows,) bool, optional
        Format check (one boxed answer, no appended problems, ...); violations get ``violation_reward``.
    max_steps : int, optional
        Solutions with more valid steps violate the format (blocks step padding, docs/papers/spark.md claim 3).

    Returns
    -------
    numpy.ndarray (rows,)
    """
    S = as_float_array(step_scores, "step_scores", ndim=2)
    if np.any((S < 0) | (S > 1)):
        raise ValueError("step_scores must lie in [0, 1]")
    valid = np.ones(S.shape, dtype=bool) if step_mask is None else _binary(step_mask, "step_mask").astype(bool)
    if valid.shape != S.shape:
        raise ValueError(f"step_mask must have shape {S.shape}, got {valid.shape}")
    n = valid.sum(1)
    if np.any(n == 0):
        raise ValueError(f"step_mask row {int(np.argmax(n == 0))} has no valid step")
    if mode == "all":
        r = np.prod(np.where(valid, S, 1.0), axis=1)
    elif mode == "fraction":
        r = np.where(valid, S, 0.0).sum(1) / n
    elif mode == "min":
        r = np.where(valid, S, np.inf).min(1)
    else:
        raise ValueError(f"mode must be one of {SPARK_REWARDS}, got {mode!r}")
    if final_correct is not None:
        f = as_float_array(final_correct, "final_correct", ndim=1)
        if f.size != S.shape[0]:
            raise ValueError(f"final_correct must have {S.shape[0]} entries, got {f.size}")
        r = r * f
    bad = np.zeros(S.shape[0], dtype=bool)
    if format_ok is not None:
        ok = np.asarray(format_ok)
        if ok.shape != (S.shape[0],):
            raise ValueError(f"format_ok must have shape ({S.shape[0]},), got {ok.shape}")
        bad |= ~ok.astype(bool)
    if max_steps is not None:
        bad |= n > check_positive_int(max_steps, "max_steps")
    return np.where(bad, float(violation_reward), r)


def _spark_estimator(batch, *, mode="all", max_steps=None, violation_reward=0.0, base="grpo", base_options=None):
    """SPARK: process rewards from PRM step verdicts (``extra['step_scores']`` (rows, K), optional
    ``extra['step_mask']``, ``extra['final_correct']``, ``extra['format_ok']``), then the ``base``
    estimator (``"grpo"`` by default) on those rewards, with ``base_options``; a singleton group
    gets advantage 0 (``singleton="zero"`` is passed unless ``base_options`` sets it)."""
    import torch

    ex = batch.extra
    S = batch.extra_tensor("step_scores", method="spark", ndim=2).cpu().numpy()
    get = lambda k: (batch.extra_tensor(k, method="spark").cpu().numpy() if k in ex else None)  # noqa: E731
    r = spark_process_reward(S, get("step_mask"), mode=mode, final_correct=get("final_correct"),
                             format_ok=get("format_ok"), max_steps=max_steps, violation_reward=violation_reward)
    rt = torch.as_tensor(r, dtype=batch.dtype, device=batch.device)
    return _base_advantages(base, batch, rt, base_options, "spark")


# --------------------------------------------------------------------------------------------
# HiLL
# --------------------------------------------------------------------------------------------
HILL_REWARDS = ("transfer_weighted_non_deg", "non_deg", "variance", "transfer_weighted_variance")


@result
class HintReward:
    """:func:`hill_hint_reward` output, one entry per hint (``(H,)`` arrays): ``reward``,
    ``base_term`` (non-degeneracy or variance), ``weight`` (transfer weight, 1 when unused),
    ``p_hat`` (fraction of correct hinted rollouts), ``zero_variance`` (all hinted rollouts equal),
    ``gated`` (parse failure / answer leak: reward = gate penalty)."""

    reward: np.ndarray
    base_term: np.ndarray
    weight: np.ndarray
    p_hat: np.ndarray
    zero_variance: np.ndarray
    gated: np.ndarray


def hint_reliance(logp_plain, logp_hint, response_mask):
    """Hint reliance ``Delta(y) = mean_t log pi(y_t | q, y_<t) - mean_t log pi(y_t | q, h, y_<t)``
    per row (docs/papers/hill.md step 5; ``<= 0`` when the hint makes ``y`` more likely). torch ``(rows,)``.

    By the change of measure (docs/papers/hill.md claim 1), ``pi(y | q) = pi(y | q, h) exp(|y| Delta(y))``.
    """
    import torch

    from mdp.llm.bpo import _float, _tensor

    a = _float(logp_plain, "logp_plain")
    b = _float(logp_hint, "logp_hint").to(a.dtype)
    m = _tensor(response_mask, "response_mask").to(a.dtype)
    if a.dim() != 2 or a.shape != b.shape or a.shape != m.shape:
        raise ValueError(f"logp_plain, logp_hint and response_mask must share a (rows, tokens) shape, got "
                         f"{tuple(a.shape)}, {tuple(b.shape)}, {tuple(m.shape)}")
    L = m.sum(1)
    if bool((L == 0).any()):
        raise ValueError(f"response_mask row {int(torch.nonzero(L == 0)[0])} has no valid token")
    return ((a - b) * m).sum(1) / L


def hill_hint_reward(rollout_rewards, *, reliance=None, reward_type: str = "transfer_weighted_non_deg",
                     temperature: float = 0.3, positive_threshold: float = 0.5, parsed=None, passed=None,
                     gate_penalty: float = -0.2, original_base_term=0.0) -> HintReward:
    """HiLL hint rewards for ``H`` hints, each re-rolled ``n`` times (docs/papers/hill.md step 6, confirmed code).

    ``p = mean(rewards > positive_threshold)``; base term ``1 - p^n - (1 - p)^n`` ("non_deg") or
    ``p(1 - p)`` ("variance"); transfer weight ``w = exp(min(Delta_bar, 0) / T)`` with ``Delta_bar`` the
    mean reliance over the *correct* hinted rollouts (``w = 1`` when none is correct or ``reliance`` is
    not given); ``R = base * w`` for the ``transfer_weighted_*`` types. ``R = 0`` when the base term does
    not exceed ``original_base_term`` (0 for an all-incorrect question); hints failing the ``parsed`` /
    ``passed`` (no answer leak) gates get ``gate_penalty``.

    Parameters
    ----------
    rollout_rewards : array_like (H, n)
    reliance : array_like (H,) (``Delta_bar`` per hint) or (H, n) (``Delta(y)`` per rollout), optional
    """
    R = as_float_array(rollout_rewards, "rollout_rewards", ndim=2)
    H, n = R.shape
    if H == 0 or n == 0:
        raise ValueError(f"rollout_rewards must be non-empty (hints, rollouts), got shape {R.shape}")
    if reward_type not in HILL_REWARDS:
        raise ValueError(f"reward_type must be one of {HILL_REWARDS}, got {reward_type!r}")
    if not float(temperature) > 0:
        raise ValueError(f"temperature must be > 0, got {temperature}")
    correct = R > positive_threshold
    p = correct.mean(1)
    base = 1.0 - p ** n - (1.0 - p) ** n if reward_type.endswith("non_deg") else p * (1 - p)
    base = np.where((p == 0) | (p == 1), 0.0, base)
    w = np.ones(H)
    if reward_type.startswith("transfer_weighted") and reliance is not None:
        D = as_float_array(reliance, "reliance")
        if D.shape == (H, n):
            cnt = correct.sum(1)
            Dbar = np.divide(np.where(correct, D, 0.0).sum(1), cnt, out=np.zeros(H), where=cnt > 0)
            use = cnt > 0
        elif D.shape == (H,):
            Dbar, use = D, correct.any(1)
        else:
            raise ValueError(f"reliance must have shape ({H},) or ({H}, {n}), got {D.shape}")
        w = np.where(use, np.exp(np.minimum(Dbar, 0.0) / float(temperature)), 1.0)
    reward = np.where(base > np.asarray(original_base_term, dtype=float), base * w, 0.0)
    gated = np.zeros(H, dtype=bool)
    for name, g in (("parsed", parsed), ("passed", passed)):
        if g is not None:
            ga = np.asarray(g)
            if ga.shape != (H,):
                raise ValueError(f"{name} must have shape ({H},), got {ga.shape}")
            gated |= ~ga.astype(bool)
    reward = np.where(gated, float(gate_penalty), reward)
    return HintReward(reward, base, w, p, np.all(R == R[:, :1], axis=1), gated)


def hill_replace_groups(rewards, hint_rollout_rewards, hint_scores, *, positive_threshold: float = 0.5):
    """Replace all-incorrect groups by their best hint's rollouts (docs/papers/hill.md step 7).

    Parameters
    ----------
    rewards : array_like (Q, n)
        Original rollouts' rewards per question.
    hint_rollout_rewards : array_like (Q, M, n)
        Rewards of the ``n`` re-rolls under each of ``M`` hints (ignored for questions that are not
        all-incorrect).
    hint_scores : array_like (Q, M)
        ``R(h)`` from :func:`hill_hint_reward`.

    Returns
    -------
    (new_rewards (Q, n), chosen (Q,) int64 hint index or -1, replaced (Q,) bool)
        A hard question (all rewards ``<= positive_threshold``) takes the rollouts of its
        highest-scoring hint (first on ties) when that hint's group has mixed outcomes (base term > 0).
    """
    r = as_float_array(rewards, "rewards", ndim=2)
    Hr = as_float_array(hint_rollout_rewards, "hint_rollout_rewards", ndim=3)
    S = as_float_array(hint_scores, "hint_scores", ndim=2)
    Q, n = r.shape
    if Hr.shape[0] != Q or Hr.shape[2] != n:
        raise ValueError(f"hint_rollout_rewards must have shape ({Q}, M, {n}), got {Hr.shape}")
    if S.shape != Hr.shape[:2]:
        raise ValueError(f"hint_scores must have shape {Hr.shape[:2]}, got {S.shape}")
    hard = np.all(r <= positive_threshold, axis=1)
    best = np.argmax(S, axis=1)
    hb = Hr[np.arange(Q), best]
    c = hb > positive_threshold
    mixed = c.any(1) & ~c.all(1)
    replaced = hard & mixed
    new = np.where(replaced[:, None], hb, r)
    return new, np.where(replaced, best, -1).astype(np.int64), replaced


def _hill_estimator(batch, *, reward_type="transfer_weighted_non_deg", temperature=0.3, positive_threshold=0.5,
                    gate_penalty=-0.2, base="grpo", base_options=None):
    """HiLL (hinter side): rows are hints, groups are questions; ``R(h)`` from
    ``extra['hint_rollout_rewards']`` (rows, n) and optional ``extra['hint_reliance']`` (rows,) or
    (rows, n), ``extra['hint_parsed']``, ``extra['hint_passed']``; then ``base`` (GRPO) over hints
    with ``base_options``; a question with a single hint gets advantage 0 (``singleton="zero"`` is
    passed unless ``base_options`` sets it)."""
    import torch

    ex = batch.extra
    R = batch.extra_tensor("hint_rollout_rewards", method="hill", ndim=2).cpu().numpy()
    get = lambda k: (batch.extra_tensor(k, method="hill").cpu().numpy() if k in ex else None)  # noqa: E731
    hr = hill_hint_reward(R, reliance=get("hint_reliance"), reward_type=reward_type, temperature=temperature,
                          positive_threshold=positive_threshold, parsed=get("hint_parsed"),
                          passed=get("hint_passed"), gate_penalty=gate_penalty)
    rt = torch.tensor(hr.reward, dtype=batch.dtype, device=batch.device)  # a copy: result arrays are read-only
    return _base_advantages(base, batch, rt, base_options, "hill")


# --------------------------------------------------------------------------------------------
# registration
# --------------------------------------------------------------------------------------------
register_estimator(
    "arena", _arena_estimator, needs=("group_ids",),
    options={"judge": None, "scheme": "single_elimination", "seeding": "anchor", "anchor_judge": None,
             "rng": None, "symmetrize": False},
    paper="ArenaRL, Zhang et al. 2026, arXiv:2601.06487 (docs/papers/arenarl.md)",
    equation="u_k = (N - k)/(N - 1); A = (u - mean u)/std u, k = tournament rank",
)
register_estimator(
    "spo", _spo_estimator, needs=("group_ids",),
    options={"preference": None, "symmetrize": False, "baseline": "mean", "base_options": None},
    paper="SPO, Swamy et al. 2024, arXiv:2401.04056 (docs/papers/spo.md)",
    equation="r_i = 1/(K-1) sum_{j != i} P(i > j); A_i = r_i - mean_g r",
)
register_estimator(
    "spark", _spark_estimator, needs=("group_ids", "step_scores"),
    options={"mode": "all", "max_steps": None, "violation_reward": 0.0, "base": "grpo", "base_options": None},
    paper="SPARK, Rahman et al. 2025, arXiv:2512.03244 (docs/papers/spark.md)",
    equation="r = prod_k v_k | mean_k v_k | min_k v_k (format violations -> violation_reward); A = grpo(r)",
)
register_estimator(
    "hill", _hill_estimator, needs=("group_ids", "hint_rollout_rewards"),
    options={"reward_type": "transfer_weighted_non_deg", "temperature": 0.3, "positive_threshold": 0.5,
             "gate_penalty": -0.2, "base": "grpo", "base_options": None},
    paper="HiLL, Xia et al. 2026, arXiv:2604.00698 (docs/papers/hill.md)",
    equation="R(h) = [1 - p^n - (1-p)^n] exp(min(Delta_bar, 0)/T); A = grpo(R) over the hints of a question",
)
