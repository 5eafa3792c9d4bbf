"""ArenaRL (Zhang et al. 2026, arXiv:2601.06487; ``docs/papers/arenarl.md``): seeded single-elimination
and round-robin tournaments of a pairwise judge, turned into rank-based group advantages."""

from __future__ import annotations

import math
from typing import Any, Callable, Sequence

import numpy as np

from mdp._common import result
from mdp._validation import as_float_array, check_positive_int, check_rng
from mdp.llm._preference import _Judge
from mdp.llm.registry import register_estimator

__all__ = [
    "TournamentResult",
    "single_elimination",
    "round_robin",
    "bracket_order",
    "rank_advantages",
    "arena_advantages",
    "kendall_tau",
]


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


def single_elimination(
    items: Sequence,
    judge: Callable,
    *,
    seeding: str = "anchor",
    anchor: Any = None,
    seed_scores=None,
    rng: np.random.Generator | None = None,
    symmetrize: bool = False,
) -> TournamentResult:
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
    return TournamentResult(
        ranking,
        ranks,
        rank_advantages(ranks),
        J.calls,
        matches,
        None if sigma is None else np.asarray(sigma, dtype=float),
        elim,
    )


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
    dk = np.sign(k[None, :] - k[:, None])  # > 0 when j is ranked below i
    dq = np.sign(q[:, None] - q[None, :])  # > 0 when i is better than j
    iu = np.triu_indices(k.size, 1)
    return float(np.sum((dk * dq)[iu]) / iu[0].size)


def arena_advantages(
    group_ids,
    judge: Callable,
    *,
    scheme: str = "single_elimination",
    seeding: str = "anchor",
    anchor_judge: Callable | None = None,
    seed_scores=None,
    rng=None,
    symmetrize: bool = False,
):
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
        raise ValueError(
            "seeding='anchor' needs anchor_judge(i) -> P(row i preferred to its group's anchor); "
            "or use seeding='rewards' / 'random' / 'index'"
        )
    adv = np.zeros(g.size)
    calls = 0
    uniq, inv = np.unique(g, return_inverse=True)
    members = np.argsort(inv, kind="stable")
    bounds = np.concatenate([[0], np.cumsum(np.bincount(inv, minlength=uniq.size))])
    for k in range(uniq.size):
        rows = members[bounds[k] : bounds[k + 1]].tolist()
        if scheme == "round_robin":
            res = round_robin(rows, judge, symmetrize=symmetrize)
        elif seeding == "anchor":
            aj = _Judge(lambda a, _b: anchor_judge(a), "anchor_judge")
            sigma = np.array([aj(i, None) for i in rows])
            calls += aj.calls
            res = single_elimination(rows, judge, seeding="scores", seed_scores=sigma, symmetrize=symmetrize)
        else:
            res = single_elimination(
                rows,
                judge,
                seeding=seeding,
                rng=rng,
                symmetrize=symmetrize,
                seed_scores=None if seeds_all is None else seeds_all[rows],
            )
        adv[rows] = res.advantages
        calls += res.n_judge_calls
    return adv, calls


def _arena_estimator(
    batch, *, judge=None, scheme="single_elimination", seeding="anchor", anchor_judge=None, rng=None, symmetrize=False
):
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
    adv, _ = arena_advantages(
        batch.group_ids.cpu().numpy(),
        judge,
        scheme=scheme,
        seeding=seeding,
        anchor_judge=anchor_judge,
        seed_scores=seed_scores,
        rng=rng,
        symmetrize=symmetrize,
    )
    return torch.as_tensor(adv, dtype=batch.dtype, device=batch.device)


register_estimator(
    "arena",
    _arena_estimator,
    needs=("group_ids",),
    options={
        "judge": None,
        "scheme": "single_elimination",
        "seeding": "anchor",
        "anchor_judge": None,
        "rng": None,
        "symmetrize": False,
    },
    paper="ArenaRL, Zhang et al. 2026, arXiv:2601.06487 (docs/papers/arenarl.md)",
    equation="u_k = (N - k)/(N - 1); A = (u - mean u)/std u, k = tournament rank",
)
