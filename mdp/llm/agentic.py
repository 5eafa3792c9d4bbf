"""Agentic (multi-turn, step-level) advantage estimators: GiGPO, HGPO, SALT, IGPO, GCPO, RLVMR.

Each estimator is registered with :func:`mdp.llm.registry.register_estimator` when this module is
imported and is called through ``mdp.llm.compute_advantages(method, batch, **options)``. All return
one advantage per row, shape ``(rows,)``, in ``batch.dtype`` (``broadcast=True`` spreads it over
the response tokens).

Row layout for the step-level methods (gigpo, hgpo, salt, igpo, rlvmr): **one row per environment
step / LLM turn**. ``trajectory_ids`` names the episode of a row (a trajectory is the pair
``(group_id, trajectory_id)``), ``step_ids`` orders the rows of a trajectory in time (rows may be
interleaved in any order), ``rewards`` (or ``rewards.sum(-1)`` for token-level rewards) is the
*immediate* reward ``r_t`` of that step. The episode return is the undiscounted sum of a
trajectory's step rewards (verl-agent's ``episode_rewards``); step returns are discounted with
``gamma``.

Every function states the fields it needs (a missing one is a ``ValueError`` naming it and the
method) and its cost. Nothing loops in Python over rows: grouping of observation keys is
``torch.unique`` on packed integer codes, statistics are scatters (:mod:`mdp.llm.segments`), returns
are a doubling scan (:mod:`mdp.llm._agentic_core`).

Reusable checks of the papers' propositions (each returns ``(observed, bound)``; the claim holds
when ``observed <= bound``): :func:`check_gigpo_reduces_to_grpo`, :func:`check_gigpo_zero_mean`,
:func:`check_hgpo_k0_equals_gigpo_step`, :func:`check_salt_shared_prefix_neutral`,
:func:`check_igpo_telescoping`.
"""

from __future__ import annotations

import math

import torch

from mdp._validation import check_positive_int
from mdp.llm import _agentic_core as C
from mdp.llm._agentic_core import EPS
from mdp.llm.registry import register_estimator
from mdp.llm.segments import dense_codes, segment_count, segment_mean, segment_sum

__all__ = [
    "gigpo",
    "hgpo",
    "salt",
    "igpo",
    "gcpo",
    "rlvmr",
    "gcpo_mask",
    "step_returns",
    "episode_returns",
    "check_gigpo_reduces_to_grpo",
    "check_gigpo_zero_mean",
    "check_hgpo_k0_equals_gigpo_step",
    "check_salt_shared_prefix_neutral",
    "check_igpo_telescoping",
]

_STEP_FIELDS = ("group_ids", "trajectory_ids", "step_ids")


# ============================================================================ validation helpers
def _choice(value, name: str, allowed, method: str):
    if value not in allowed:
        raise ValueError(f"{method}: {name} must be one of {', '.join(map(repr, allowed))}, got {value!r}")
    return value


def _real(value, name: str, method: str, *, lo=None, hi=None, lo_open=False, hi_open=False) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(float(value)):
        raise TypeError(f"{method}: {name} must be a finite real number, got {value!r}")
    v = float(value)
    if lo is not None and (v < lo or (lo_open and v == lo)):
        raise ValueError(f"{method}: {name} must be {'>' if lo_open else '>='} {lo}, got {v}")
    if hi is not None and (v > hi or (hi_open and v == hi)):
        raise ValueError(f"{method}: {name} must be {'<' if hi_open else '<='} {hi}, got {v}")
    return v


def _int(value, name: str, method: str, *, lo=0) -> int:
    return check_positive_int(value, f"{method}: {name}", minimum=lo)


def _layout(batch, method: str) -> C.Layout:
    batch.require(*_STEP_FIELDS, method=method)
    key = ("agentic_layout",)
    lay = batch._cache.get(key)
    if lay is None:
        lay = C.make_layout(batch.group_ids, batch.trajectory_ids, batch.step_ids, method)
        batch._cache[key] = lay
    return lay


# ============================================================================ returns
def step_returns(batch, gamma: float = 0.95, *, method: str = "step_returns") -> torch.Tensor:
    """Discounted reward-to-go ``R_t = sum_{k>=t} gamma^(k-t) r_k`` of every step row ``(rows,)``.

    GiGPO Eq. 5 (arXiv:2505.10978); verl-agent ``compute_step_discounted_returns``. Needs
    ``group_ids, trajectory_ids, step_ids``. ``O(n log n)`` (sort) + ``O(n log T)`` (scan).
    """
    gamma = _real(gamma, "gamma", method, lo=0.0, hi=1.0)
    lay = _layout(batch, method)
    r = batch.sequence_rewards()[lay.order]
    return lay.to_rows(C.discounted_returns(r, lay, gamma))


def episode_returns(batch, *, method: str = "episode_returns") -> torch.Tensor:
    """Undiscounted episode return of each row's trajectory, ``(rows,)`` (sum of its step rewards)."""
    lay = _layout(batch, method)
    r = batch.sequence_rewards()[lay.order]
    tot = segment_sum(r, lay.traj, lay.n_traj)
    return lay.to_rows(tot[lay.traj])


def _episode_advantage(batch, lay, *, mode: str, stats: str, eps: float) -> torch.Tensor:
    """GiGPO episode (macro) advantage in sorted order. ``O(n)`` after the layout."""
    r = batch.sequence_rewards()[lay.order]
    ep_traj = segment_sum(r, lay.traj, lay.n_traj)  # (n_traj,)
    if stats == "trajectories":
        a = C.normalise(ep_traj, lay.traj_group, lay.n_groups, mode=mode, ddof=1, eps=eps, singleton="raw")
        return a[lay.traj]
    # "step_rows": every step row carries its episode return and counts once (verl-agent default)
    return C.normalise(ep_traj[lay.traj], lay.group, lay.n_groups, mode=mode, ddof=1, eps=eps, singleton="raw")


# ============================================================================ GiGPO
def _cosine_similarity(emb: torch.Tensor):
    unit = emb / torch.clamp(emb.norm(dim=-1, keepdim=True), min=1e-12)

    def sim(i, j):
        return (unit[i] * unit[j]).sum(-1)

    return sim


def _anchor_groups(batch, lay, *, grouping: str, similarity, threshold: float, method: str):
    """Anchor-state group codes in sorted order: ``(codes (n,), n_codes)``."""
    if grouping == "exact":
        batch.require("observation_keys", method=method)
        obs, n_obs = dense_codes(batch.observation_keys[lay.order])
        return C.combine(lay.group, obs, n_obs)
    # similarity: greedy leader clustering in the original row order (verl-agent's order)
    if similarity is None:
        emb = batch.extra_tensor("observation_embeddings", method=f"{method} with grouping='similarity'")
        if emb.dim() != 2:
            raise ValueError(
                f"{method}: extra['observation_embeddings'] must be (rows, dim), got shape {tuple(emb.shape)}"
            )
        sim_fn = _cosine_similarity(emb)
    elif callable(similarity):
        sim_fn = similarity
    else:
        raise TypeError(
            f"{method}: similarity must be None (cosine of extra['observation_embeddings']) "
            f"or a callable sim(rows, reps) -> (m,) tensor, got {type(similarity).__name__}"
        )
    g_rows = lay.to_rows(lay.group)

    def similar(rows, reps):
        s = sim_fn(rows, reps)
        if not isinstance(s, torch.Tensor) or s.shape != rows.shape:
            raise ValueError(
                f"{method}: similarity(rows, reps) must return a tensor of shape "
                f"{tuple(rows.shape)}, got {getattr(s, 'shape', type(s).__name__)}"
            )
        return s >= threshold

    rep = C.leader_clusters(g_rows, lay.n_groups, similar)
    return dense_codes(rep[lay.order])


def gigpo(
    batch,
    *,
    gamma: float = 0.95,
    step_advantage_w: float = 1.0,
    mode: str = "mean_std_norm",
    episode_stats: str = "step_rows",
    grouping: str = "exact",
    similarity=None,
    similarity_threshold: float = 0.95,
    epsilon: float = EPS,
) -> torch.Tensor:
    """GiGPO: episode-level group advantage plus omega times the anchor-state step advantage.

    Feng et al., *Group-in-Group Policy Optimization for LLM Agent Training*, arXiv:2505.10978
    (Eqs. 3, 5-8); notes ``docs/papers/gigpo.md``. Matches verl-agent
    ``gigpo/core_gigpo.py::compute_gigpo_outcome_advantage`` (parity vectors in
    ``tests/data/llm_parity_agentic``)::

        A(a_t^i) = A_E(tau_i) + omega * A_S(a_t^i)
        A_E = (R(tau_i) - mean) / (std + eps)      R(tau) = sum_t r_t  (episode group)
        A_S = (R_t^i - mean_G) / (std_G + eps)     R_t = sum_{k>=t} gamma^(k-t) r_k
                                                   G = rows of the episode group whose observation
                                                       equals that of the row (anchor state)

    Parameters
    ----------
    batch : RolloutBatch
        Needs ``rewards`` (immediate step rewards), ``group_ids``, ``trajectory_ids``, ``step_ids``,
        and ``observation_keys`` (``grouping="exact"``) or ``extra["observation_embeddings"]``
        ``(rows, dim)`` / a ``similarity`` callable (``grouping="similarity"``).
    gamma : float in [0, 1]
        Discount of the step returns (paper default 0.95).
    step_advantage_w : float
        omega (default 1.0).
    mode : {"mean_std_norm", "mean_norm"}
        F_norm = std (unbiased, ``torch.std``, plus ``epsilon``) or 1. Applies to both levels.
    episode_stats : {"step_rows", "trajectories"}
        Statistics of the episode level. ``"step_rows"`` (verl-agent's default,
        ``compute_mean_std_cross_steps=True``): mean/std over all *step rows* of the group, each
        carrying its episode return, so long trajectories weigh more. ``"trajectories"``
        (textbook, ``compute_mean_std_cross_steps=False``): one value per trajectory.
        An episode group with a single member (row or trajectory) gets mean 0, std 1
        (verl's convention: ``A_E = R`` or ``R / (1 + eps)``).
    grouping : {"exact", "similarity"}
        ``"exact"``: anchor groups are equal ``observation_keys`` inside an episode group.
        ``"similarity"``: verl-agent's greedy clustering (``enable_similarity=True``): in row order,
        a row joins the first cluster whose representative has ``similarity(row, rep) >=
        similarity_threshold``, else founds one (order-dependent, like the reference).
    similarity : callable, optional
        ``similarity(rows, reps)``: two int64 tensors of row indices (row first, representative
        second) -> ``(m,)`` similarities. Default: cosine similarity of
        ``extra["observation_embeddings"]``.
    similarity_threshold : float in (0, 1]
    epsilon : float
        Added to every std (verl-agent 1e-6).

    Returns
    -------
    torch.Tensor ``(rows,)``. Anchor groups of one row have ``A_S = 0``.

    Notes
    -----
    Cost: ``O(n log n)`` (sorts and one ``torch.unique``) plus ``O(n log T)`` for the returns;
    similarity grouping adds ``O(C n)`` similarity evaluations (``C`` = most clusters in a group).
    """
    m = "gigpo"
    gamma = _real(gamma, "gamma", m, lo=0.0, hi=1.0)
    w = _real(step_advantage_w, "step_advantage_w", m)
    _choice(mode, "mode", ("mean_std_norm", "mean_norm"), m)
    _choice(episode_stats, "episode_stats", ("step_rows", "trajectories"), m)
    _choice(grouping, "grouping", ("exact", "similarity"), m)
    thr = _real(similarity_threshold, "similarity_threshold", m, lo=0.0, hi=1.0, lo_open=True)
    eps = _real(epsilon, "epsilon", m, lo=0.0)
    lay = _layout(batch, m)
    a_e = _episode_advantage(batch, lay, mode=mode, stats=episode_stats, eps=eps)
    r = batch.sequence_rewards()[lay.order]
    ret = C.discounted_returns(r, lay, gamma)
    codes, n_codes = _anchor_groups(batch, lay, grouping=grouping, similarity=similarity, threshold=thr, method=m)
    a_s = C.normalise(ret, codes, n_codes, mode=mode, ddof=1, eps=eps, singleton="zero")
    return lay.to_rows(a_e + w * a_s)


# ============================================================================ HGPO
def _hgpo_sorted(batch, lay, *, gamma, history_length, mode, alpha, base_group, zero_items, eps, levels_out=None):
    r = batch.sequence_rewards()[lay.order]
    ret = C.discounted_returns(r, lay, gamma)
    obs, n_obs = dense_codes(batch.observation_keys[lay.order])
    n = ret.shape[0]
    num = torch.zeros_like(ret)
    den = torch.zeros_like(ret)
    drop = zero_items == "drop"
    if base_group:
        a0 = _episode_advantage(batch, lay, mode=mode, stats="step_rows", eps=eps)
        inc = (a0 != 0) if drop else torch.ones_like(a0, dtype=torch.bool)
        num = num + torch.where(inc, a0, torch.zeros_like(a0))
        den = den + inc.to(ret.dtype)  # w_0 = (0 + 1)^alpha = 1
    rows = torch.arange(n, device=ret.device)  # rows valid at level k
    code, n_code = C.combine(lay.group, obs, n_obs)  # k = 1: (group, o_t)
    for k in range(1, history_length + 2):
        if k > 1:
            keep = lay.pos[rows] >= k - 1
            rows, code = rows[keep], code[keep]
            if rows.numel() == 0:
                break
            code, n_code = C.combine(code, obs[rows - (k - 1)], n_obs)  # append o_{t-k+1}
        vals = ret[rows]
        count = segment_count(code, n_code, dtype=ret.dtype)
        a = C.normalise(vals, code, n_code, mode=mode, ddof=0, eps=eps, singleton="zero")
        member = count[code] >= 2
        if levels_out is not None:
            levels_out.append((rows, code, member))
        inc = member & (a != 0) if drop else member
        wk = float(k + 1) ** alpha
        num.index_add_(0, rows, torch.where(inc, wk * a, torch.zeros_like(a)))
        den.index_add_(0, rows, wk * inc.to(ret.dtype))
    return torch.where(den > 0, num / (den + eps), torch.zeros_like(num))


def hgpo(
    batch,
    *,
    gamma: float = 0.95,
    history_length: int = 2,
    mode: str = "mean_std_norm",
    alpha: float = 1.0,
    base_group: bool = False,
    zero_items: str = "drop",
    epsilon: float = EPS,
) -> torch.Tensor:
    """HGPO: weighted mean of relative advantages over a hierarchy of context groups.

    He, Feng et al., *Hierarchy-of-Groups Policy Optimization for Long-Horizon Agentic Tasks*,
    arXiv:2602.22817 (ICLR 2026); notes ``docs/papers/hgpo.md``. Matches verl-agent
    ``recipe/hgpo/core_hgpo.py::compute_hgpo_outcome_advantage`` (parity vectors committed)::

        G_k(i,t) = {(j,u) in the episode group : (o_{u-k+1..u}) = (o_{t-k+1..t})},  k = 1..K+1
                   (only k <= t+1: contexts are not padded before the trajectory start)
        A_k     = (R_t - mean_{G_k} R) / (std_{G_k} R + eps)   population std; only |G_k| >= 2
        A(i,t)  = sum_k w_k A_k / (sum_k w_k + eps),  w_k = (k+1)^alpha  (over the items kept);
                  0 when no item is kept

    Parameters
    ----------
    batch : RolloutBatch
        Needs ``rewards``, ``group_ids``, ``trajectory_ids``, ``step_ids``, ``observation_keys``.
    gamma : float in [0, 1]
        Discount of the step returns R_t.
    history_length : int >= 0
        K: deepest group uses the current and K previous observations (paper K = 2).
        ``K = 0`` uses only the anchor-state groups (GiGPO's step groups, population std).
    mode : {"mean_std_norm", "mean_norm"}
    alpha : float
        Length-weight exponent (``length_weight_alpha``); 0 = uniform weights.
    base_group : bool
        Add the episode-level advantage (GiGPO's step-row statistics, unbiased std, ``mode``) as an
        item with k = 0 (weight 1).
    zero_items : {"drop", "keep"}
        Zero-variance convention. ``"drop"`` (upstream verl-agent recipe): items whose advantage is
        exactly 0 (every member of a zero-variance group, and a member equal to its group mean)
        are removed before the weights are normalised, so they do not dilute the others.
        ``"keep"`` (the other public copy of ``core_hgpo.py``): every item of a group of size >= 2
        counts. Zero-variance groups score exactly 0 here; the reference computes in float32,
        where a group of equal returns that float32 cannot represent exactly (e.g. powers of
        0.95) can get scores of order 0.1 from a one-ulp error of the mean (and is then *not*
        dropped). The parity vectors therefore use float32-exact returns.
    epsilon : float

    Returns
    -------
    torch.Tensor ``(rows,)``

    Notes
    -----
    Cost: ``O((K+1) n log n)``: level ``k`` refines level ``k-1`` by one ``torch.unique`` on packed
    ``(code_{k-1}, o_{t-k+1})`` pairs (the hierarchy is nested by construction). The reference
    loops in Python over every (row, k) pair and builds tuple keys of length k.
    """
    m = "hgpo"
    gamma = _real(gamma, "gamma", m, lo=0.0, hi=1.0)
    K = _int(history_length, "history_length", m)
    _choice(mode, "mode", ("mean_std_norm", "mean_norm"), m)
    alpha = _real(alpha, "alpha", m)
    if not isinstance(base_group, bool):
        raise TypeError(f"{m}: base_group must be a bool, got {base_group!r}")
    _choice(zero_items, "zero_items", ("drop", "keep"), m)
    eps = _real(epsilon, "epsilon", m, lo=0.0)
    batch.require("observation_keys", method=m)
    lay = _layout(batch, m)
    a = _hgpo_sorted(
        batch,
        lay,
        gamma=gamma,
        history_length=K,
        mode=mode,
        alpha=alpha,
        base_group=base_group,
        zero_items=zero_items,
        eps=eps,
    )
    return lay.to_rows(a)


# ============================================================================ SALT
def _trajectory_advantage(
    R: torch.Tensor, traj_group: torch.Tensor, n_groups: int, base: str, eps: float
) -> torch.Tensor:
    """Base trajectory advantages ``(n_traj,)`` from episode returns; singleton groups get 0."""
    if base == "grpo":
        return C.normalise(R, traj_group, n_groups, mode="mean_std_norm", ddof=1, eps=eps, singleton="zero")
    if base == "dr_grpo":
        return C.normalise(R, traj_group, n_groups, mode="mean_norm", ddof=1, eps=eps, singleton="zero")
    # rloo: R_i - mean_{j != i} R_j = n/(n-1) (R_i - mean)
    count = segment_count(traj_group, n_groups, dtype=R.dtype)[traj_group]
    dev = C.normalise(R, traj_group, n_groups, mode="mean_norm", ddof=1, eps=eps, singleton="zero")
    return torch.where(count > 1, dev * count / torch.clamp(count - 1, min=1), torch.zeros_like(dev))


def salt(batch, *, merge: str = "prefix", base: str = "grpo", epsilon: float = EPS) -> torch.Tensor:
    """SALT: step advantage = mean trajectory advantage over the trajectories sharing the step's edge.

    Li et al., *SALT: Step-level Advantage Assignment for Long-horizon Agents via Trajectory
    Graph*, arXiv:2510.20022; notes ``docs/papers/salt.md`` (the graph construction there is a
    reconstruction; no official code)::

        edge(i,t) = (o_1, a_1, ..., o_t, a_t)   (merge="prefix": trie of interaction prefixes)
                  = (o_t, a_t)                   (merge="state": state graph, may have cycles)
        A(i,t)    = mean_{j in T(edge(i,t))} A_j   (T = distinct trajectories of the group using it)

    Parameters
    ----------
    batch : RolloutBatch
        Needs ``rewards``, ``group_ids``, ``trajectory_ids``, ``step_ids``, ``observation_keys`` and
        ``extra["action_keys"]`` ``(rows,)`` int64 (key of the *executed* action, not the raw text).
        Base trajectory advantages come from the episode returns (sum of step rewards), or from
        ``extra["trajectory_advantages"]`` ``(rows,)`` (constant inside a trajectory) when
        ``base="supplied"`` (e.g. the output of any registered outcome estimator).
    merge : {"prefix", "state"}
    base : {"grpo", "dr_grpo", "rloo", "supplied"}
        ``grpo``: ``(R - mean) / (std + eps)`` (unbiased std); ``dr_grpo``: ``R - mean``;
        ``rloo``: ``R - mean of the others``. Groups with one trajectory get 0.
    epsilon : float

    Returns
    -------
    torch.Tensor ``(rows,)``. Steps no other trajectory shares keep their trajectory's advantage;
    an edge every trajectory of the group uses gets 0 (with a zero-mean base).

    Notes
    -----
    Cost: ``O(n log n)`` for ``merge="state"``; ``merge="prefix"`` runs one vectorised
    ``torch.unique`` per time step over the rows at that step, ``O(n log n)`` in total.
    """
    m = "salt"
    _choice(merge, "merge", ("prefix", "state"), m)
    _choice(base, "base", ("grpo", "dr_grpo", "rloo", "supplied"), m)
    eps = _real(epsilon, "epsilon", m, lo=0.0)
    batch.require("observation_keys", method=m)
    act_rows = batch.extra_tensor("action_keys", method=m, dtype=torch.int64, ndim=1)
    lay = _layout(batch, m)
    obs, n_obs = dense_codes(batch.observation_keys[lay.order])
    act, n_act = dense_codes(act_rows[lay.order])
    step, n_step = C.combine(obs, act, n_act)  # (o_t, a_t)
    if base == "supplied":
        sup = batch.extra_tensor("trajectory_advantages", method=f"{m} with base='supplied'", ndim=1)
        sup = sup[lay.order]
        first = segment_mean(sup, lay.traj, lay.n_traj)
        if not torch.allclose(sup, first[lay.traj], rtol=0, atol=1e-12 + 1e-9 * float(sup.abs().max())):
            raise ValueError(f"{m}: extra['trajectory_advantages'] must be constant inside each trajectory")
        A = first
    else:
        R = segment_sum(batch.sequence_rewards()[lay.order], lay.traj, lay.n_traj)
        A = _trajectory_advantage(R, lay.traj_group, lay.n_groups, base, eps)
    if merge == "state":
        edge, n_edge = C.combine(lay.group, step, n_step)
    else:
        n = step.shape[0]
        edge = torch.empty(n, dtype=torch.int64, device=step.device)
        at0 = torch.nonzero(lay.pos == 0).flatten()
        c, nc = C.combine(lay.group[at0], step[at0], n_step)
        edge[at0] = c
        offset = nc
        for t in range(1, lay.max_len):
            rows = torch.nonzero(lay.pos == t).flatten()
            c, nc = C.combine(edge[rows - 1], step[rows], n_step)  # parent prefix + (o_t, a_t)
            edge[rows] = c + offset
            offset += nc
        n_edge = offset
    # distinct (edge, trajectory) pairs, then the mean of A over the pairs of each edge
    pair, n_pair = C.combine(edge, lay.traj, lay.n_traj)
    first_row = torch.full((n_pair,), step.shape[0], dtype=torch.int64, device=step.device)
    first_row.scatter_reduce_(0, pair, torch.arange(step.shape[0], device=step.device), reduce="amin")
    e_adv = segment_mean(A[lay.traj[first_row]], edge[first_row], n_edge)
    return lay.to_rows(e_adv[edge])


# ============================================================================ IGPO
def _gold_belief(batch, method: str) -> tuple[torch.Tensor, torch.Tensor]:
    lp = batch.extra_tensor("gold_logprobs", method=method)
    if lp.dim() == 2:
        if "gold_mask" in batch.extra:
            gm = batch.extra_tensor("gold_mask", method=method, ndim=2).to(lp.dtype)
            if gm.shape != lp.shape:
                raise ValueError(
                    f"{method}: extra['gold_mask'] must have the shape of extra['gold_logprobs'] "
                    f"{tuple(lp.shape)}, got {tuple(gm.shape)}"
                )
        else:
            gm = torch.ones_like(lp)
        cnt = gm.sum(-1)
        if bool((cnt == 0).any()):
            i = int(torch.nonzero(cnt == 0)[0])
            raise ValueError(f"{method}: extra['gold_mask'] row {i} has no gold-answer token")
        lp = (lp * gm).sum(-1) / cnt
    elif lp.dim() != 1:
        raise ValueError(f"{method}: extra['gold_logprobs'] must be (rows,) or (rows, answer_tokens)")
    lp0 = batch.extra_tensor("gold_logprob_init", method=method, ndim=1)
    for name, t in (("gold_logprobs", lp), ("gold_logprob_init", lp0)):
        if bool((t > 0).any()):
            i = int(torch.nonzero(t > 0)[0])
            raise ValueError(
                f"{method}: extra[{name!r}] holds log-probabilities, which must be <= 0; row {i} has {float(t[i])}"
            )
    return lp, lp0


def igpo(batch, *, gamma: float = 1.0, mode: str = "mean_std_norm", epsilon: float = EPS) -> torch.Tensor:
    """IGPO: information-gain turn rewards, outcome on the last turn, group-normalised, discounted.

    Wang et al., *Information Gain-based Policy Optimization*, arXiv:2510.14967 (paper's
    description; ``docs/papers/igpo.md``)::

        p_{i,t} = exp(mean_j log pi(a_j | q, o_{i,<=t}, a_{<j}))    (gold-answer belief)
        r_{i,t} = p_{i,t} - p_{i,t-1}   for t < T_i;   r_{i,T_i} = outcome reward
        r~      = (r - mean_group) / (std_group + eps)   (all turn rewards of the group jointly)
        A_{i,t} = sum_{k >= t} gamma^(k-t) r~_{i,k}

    Parameters
    ----------
    batch : RolloutBatch
        One row per turn. Needs ``rewards`` (the outcome is read from each trajectory's *last*
        turn; rewards on earlier turns are ignored), ``group_ids``, ``trajectory_ids``,
        ``step_ids``, ``extra["gold_logprobs"]`` ``(rows,)`` mean log-probability of the gold
        answer after the turn (or ``(rows, answer_tokens)`` token log-probabilities, averaged over
        ``extra["gold_mask"]`` when given) and ``extra["gold_logprob_init"]`` ``(rows,)`` the same
        from the prompt alone (p_{i,0}; must be constant inside a trajectory).
    gamma : float in [0, 1]
        Turn discount (default 1).
    mode : {"mean_std_norm", "mean_norm"}
        Unbiased std; a group with a single turn reward gets r~ = 0.
    epsilon : float

    Returns
    -------
    torch.Tensor ``(rows,)``. Cost ``O(n log n)``.
    """
    m = "igpo"
    gamma = _real(gamma, "gamma", m, lo=0.0, hi=1.0)
    _choice(mode, "mode", ("mean_std_norm", "mean_norm"), m)
    eps = _real(epsilon, "epsilon", m, lo=0.0)
    lay = _layout(batch, m)
    lp, lp0 = _gold_belief(batch, m)
    lp, lp0 = lp[lay.order], lp0[lay.order]
    if not torch.equal(lp0, segment_mean(lp0, lay.traj, lay.n_traj)[lay.traj]) and not torch.allclose(
        lp0, segment_mean(lp0, lay.traj, lay.n_traj)[lay.traj], rtol=1e-9, atol=1e-12
    ):
        raise ValueError(f"{m}: extra['gold_logprob_init'] must be constant inside each trajectory")
    p = torch.exp(lp)
    prev = torch.where(lay.pos == 0, torch.exp(lp0), torch.roll(p, 1))
    last = lay.pos == lay.length - 1
    r = torch.where(last, batch.sequence_rewards()[lay.order], p - prev)
    rn = C.normalise(r, lay.group, lay.n_groups, mode=mode, ddof=1, eps=eps, singleton="zero")
    return lay.to_rows(C.discounted_returns(rn, lay, gamma))


# ============================================================================ GCPO
def gcpo(
    batch,
    *,
    eta: float = 0.1,
    lambda_aux: float = 0.5,
    lambda_len: float = 0.0,
    min_subset: int = 1,
    mode: str = "mean_std_norm",
    epsilon: float = EPS,
) -> torch.Tensor:
    """GCPO (GeometryZero): group-contrastive masking of the auxiliary-construction reward, then GRPO.

    Wang et al., *GeometryZero*, arXiv:2506.07160; notes ``docs/papers/gcpo_geometryzero.md``
    (thresholds are a reconstruction)::

        acc+ = mean R_acc over rollouts with aux = 1,  acc- = over aux = 0   (per group)
        M    = +1 if acc+ - acc- > eta;  -1 if acc- - acc+ > eta;  0 otherwise
               (0 also when either subset has fewer than ``min_subset`` rollouts)
        R    = R_acc + R_fmt + lambda_aux * M * aux + lambda_len * R_len
        A    = (R - mean_group) / (std_group + eps)     (unbiased std; singleton groups -> 0)

    Parameters
    ----------
    batch : RolloutBatch
        One row per rollout. Needs ``rewards`` (accuracy reward), ``group_ids``,
        ``extra["aux"]`` ``(rows,)`` 0/1 (auxiliary construction used); optional
        ``extra["format_rewards"]`` and ``extra["length_rewards"]`` ``(rows,)``.
    eta : float >= 0
    lambda_aux, lambda_len : float
    min_subset : int >= 1
    mode : {"mean_std_norm", "mean_norm"}
    epsilon : float

    Returns
    -------
    torch.Tensor ``(rows,)``. Cost ``O(n log n)`` (one ``torch.unique``).
    """
    m = "gcpo"
    eta = _real(eta, "eta", m, lo=0.0)
    lam_a = _real(lambda_aux, "lambda_aux", m)
    lam_l = _real(lambda_len, "lambda_len", m)
    k = _int(min_subset, "min_subset", m, lo=1)
    _choice(mode, "mode", ("mean_std_norm", "mean_norm"), m)
    eps = _real(epsilon, "epsilon", m, lo=0.0)
    g, ng, aux, acc, M = _gcpo_mask(batch, eta, k, m)
    R = acc + lam_a * M[g] * aux
    if "format_rewards" in batch.extra:
        R = R + batch.extra_tensor("format_rewards", method=m, ndim=1)
    if "length_rewards" in batch.extra:
        R = R + lam_l * batch.extra_tensor("length_rewards", method=m, ndim=1)
    return C.normalise(R, g, ng, mode=mode, ddof=1, eps=eps, singleton="zero")


def _gcpo_mask(batch, eta: float, k: int, m: str):
    batch.require("group_ids", method=m)
    aux = batch.extra_tensor("aux", method=m, ndim=1)
    if not bool(((aux == 0) | (aux == 1)).all()):
        raise ValueError(f"{m}: extra['aux'] must contain only 0 and 1")
    aux = aux.to(batch.dtype)
    acc = batch.sequence_rewards()
    g, ng = batch.group_codes(method=m)
    n_plus = segment_sum(aux, g, ng)
    n_minus = segment_count(g, ng, dtype=acc.dtype) - n_plus
    acc_plus = segment_sum(acc * aux, g, ng) / torch.clamp(n_plus, min=1)
    acc_minus = segment_sum(acc * (1 - aux), g, ng) / torch.clamp(n_minus, min=1)
    diff = acc_plus - acc_minus
    one = torch.ones_like(diff)
    M = torch.where(diff > eta, one, torch.where(-diff > eta, -one, torch.zeros_like(diff)))
    M = torch.where((n_plus >= k) & (n_minus >= k), M, torch.zeros_like(M))
    return g, ng, aux, acc, M


def gcpo_mask(batch, *, eta: float = 0.1, min_subset: int = 1) -> torch.Tensor:
    """Group contrastive mask M(q) of ``gcpo`` for every row, ``(rows,)`` in {-1, 0, 1}."""
    eta = _real(eta, "eta", "gcpo", lo=0.0)
    k = _int(min_subset, "min_subset", "gcpo", lo=1)
    g, _, _, _, M = _gcpo_mask(batch, eta, k, "gcpo")
    return M[g]


# ============================================================================ RLVMR
def rlvmr(batch, *, meta_weight: float = 1.0, mode: str = "mean_std_norm", epsilon: float = EPS) -> torch.Tensor:
    """RLVMR (GRPO-MR): outcome advantage plus meta-reasoning advantage normalised per tag.

    Zhang et al., *RLVMR*, arXiv:2507.22844; notes ``docs/papers/rlvmr.md`` (combination is a
    reconstruction)::

        A^O_i    = (R_i - mean_group R) / (std + eps)          R_i = sum of the trajectory's rewards
        A^M_{i,t} = (m_{i,t} - mean_{group, tag} m) / (std + eps)   over step rows with the same tag
        A_{i,t}  = A^O_i + meta_weight * A^M_{i,t}

    Parameters
    ----------
    batch : RolloutBatch
        One row per step. Needs ``rewards`` (outcome: summed per trajectory), ``group_ids``,
        ``trajectory_ids``, ``extra["tags"]`` ``(rows,)`` int (0..n_tags-1 for planning / explore /
        reflection / monitor ...; a negative tag = untagged, which gets ``A^M = 0``) and
        ``extra["meta_rewards"]`` ``(rows,)`` (the verifiable rule-based meta rewards).
    meta_weight : float
        lambda.
    mode : {"mean_std_norm", "mean_norm"}
        Unbiased std; groups (or tag groups) with one member get 0.
    epsilon : float

    Returns
    -------
    torch.Tensor ``(rows,)``. Cost ``O(n log n)``.
    """
    m = "rlvmr"
    lam = _real(meta_weight, "meta_weight", m)
    _choice(mode, "mode", ("mean_std_norm", "mean_norm"), m)
    eps = _real(epsilon, "epsilon", m, lo=0.0)
    batch.require("group_ids", "trajectory_ids", method=m)
    tags = batch.extra_tensor("tags", method=m, dtype=torch.int64, ndim=1)
    meta = batch.extra_tensor("meta_rewards", method=m, ndim=1)
    g, ng = batch.group_codes(method=m)
    t, nt = dense_codes(batch.trajectory_ids)
    traj, n_traj = C.combine(g, t, nt)
    R = segment_sum(batch.sequence_rewards(), traj, n_traj)
    traj_group = torch.zeros(n_traj, dtype=torch.int64, device=g.device)
    traj_group[traj] = g
    a_o = C.normalise(R, traj_group, ng, mode=mode, ddof=1, eps=eps, singleton="zero")[traj]
    a_m = torch.zeros_like(meta)
    idx = torch.nonzero(tags >= 0).flatten()  # untagged rows (tag < 0) keep A^M = 0
    if idx.numel():
        tcode, ntc = C.combine(g[idx], dense_codes(tags[idx])[0], int(tags.max()) + 1)
        a_m[idx] = C.normalise(meta[idx], tcode, ntc, mode=mode, ddof=1, eps=eps, singleton="zero")
    return a_o + lam * a_m


# ============================================================================ checks (claims)
def _distinct_obs(batch):
    n = batch.n_rows
    return batch.replace(observation_keys=torch.arange(n, dtype=torch.int64, device=batch.device))


def check_gigpo_reduces_to_grpo(batch, *, mode: str = "mean_std_norm", gamma: float = 0.95):
    """GiGPO with all observations distinct equals GRPO on the episode returns (docs/papers/gigpo.md claim 2).

    Replaces ``observation_keys`` by distinct keys (every anchor group a singleton, so A_S = 0),
    computes GiGPO with per-trajectory episode statistics, and compares every row with the
    registered ``grpo`` estimator (``convention="verl"``, ``zero_variance="formula"``; for
    ``mode="mean_norm"`` the registered ``dr_grpo``) run on a separate batch with one row per
    trajectory carrying its episode return. Returns ``(observed, bound)`` =
    ``(max |difference|, 1e-8 * max(1, max |A|))``.
    """
    from mdp.llm.batch import RolloutBatch
    from mdp.llm.registry import compute_advantages

    b = _distinct_obs(batch)
    a = gigpo(b, gamma=gamma, mode=mode, episode_stats="trajectories")
    lay = _layout(b, "gigpo")
    R = segment_sum(b.sequence_rewards()[lay.order], lay.traj, lay.n_traj)
    traj_batch = RolloutBatch(rewards=R, group_ids=lay.traj_group)
    if mode == "mean_norm":
        ref = compute_advantages("dr_grpo", traj_batch, convention="verl", zero_variance="formula")
    else:
        ref = compute_advantages("grpo", traj_batch, convention="verl", zero_variance="formula")
    expect = lay.to_rows(ref[lay.traj])
    obs = float((a - expect).abs().max())
    return obs, 1e-8 * max(1.0, float(expect.abs().max()))


def check_gigpo_zero_mean(batch, *, gamma: float = 0.95):
    """Zero mean per group (docs/papers/gigpo.md claim 1) with ``mode="mean_norm"``.

    The episode advantages of the trajectories of a group with at least two trajectories sum to 0
    (per-trajectory statistics; a group of one gets verl's ``A_E = R``, excluded) and the step advantages ``A - A_E`` of every anchor group sum to 0. Returns
    ``(max |group sum|, 1e-9 * (1 + sum |returns|))``.
    """
    lay = _layout(batch, "gigpo")
    full = gigpo(batch, gamma=gamma, mode="mean_norm", episode_stats="trajectories")
    ep_only = gigpo(batch, gamma=gamma, mode="mean_norm", episode_stats="trajectories", step_advantage_w=0.0)
    a_e = ep_only[lay.order]
    traj_first = torch.zeros(lay.n_traj, dtype=a_e.dtype, device=a_e.device)
    traj_first[lay.traj] = a_e
    multi = segment_count(lay.traj_group, lay.n_groups, dtype=a_e.dtype) >= 2  # verl: singleton A_E = R
    s1 = (
        torch.where(
            multi, segment_sum(traj_first, lay.traj_group, lay.n_groups), torch.zeros_like(multi, dtype=a_e.dtype)
        )
        .abs()
        .max()
    )
    a_s = (full - ep_only)[lay.order]
    obs, n_obs = dense_codes(batch.observation_keys[lay.order])
    code, nc = C.combine(lay.group, obs, n_obs)
    s2 = segment_sum(a_s, code, nc).abs().max()
    scale = 1.0 + float(step_returns(batch, gamma).abs().sum())
    return float(torch.maximum(s1, s2)), 1e-9 * scale


def check_hgpo_k0_equals_gigpo_step(batch, *, gamma: float = 0.95):
    """HGPO with K = 0 (``mean_norm``) equals GiGPO's step advantage times ``w/(w + eps)``.

    docs/papers/hgpo.md claim 6: with only the anchor-state groups (k = 1, weight 2^alpha) the weighted mean
    is the single item ``A_1 * w / (w + eps)``, and in ``mean_norm`` mode (no std, so the
    population/unbiased difference vanishes) ``A_1`` is GiGPO's ``A_S``. Returns
    ``(max |difference|, 1e-9 * (1 + max|A_S|))``.
    """
    h = hgpo(batch, gamma=gamma, history_length=0, mode="mean_norm", zero_items="keep")
    g1 = gigpo(batch, gamma=gamma, mode="mean_norm", step_advantage_w=1.0)
    g0 = gigpo(batch, gamma=gamma, mode="mean_norm", step_advantage_w=0.0)
    a_s = g1 - g0
    w = 2.0
    diff = (h - a_s * w / (w + EPS)).abs().max()
    return float(diff), 1e-9 * (1.0 + float(a_s.abs().max()))


def check_salt_shared_prefix_neutral(batch, *, base: str = "grpo"):
    """SALT neutralisation (docs/papers/salt.md claim 1): an edge used by *every* trajectory of its group gets 0.

    Returns ``(max |A| over rows whose prefix edge is shared by all trajectories of the group,
    1e-9)``; ``(0.0, 1e-9)`` when no such edge exists.
    """
    a = salt(batch, merge="prefix", base=base)
    lay = _layout(batch, "salt")
    obs, _ = dense_codes(batch.observation_keys[lay.order])
    act_rows = batch.extra_tensor("action_keys", method="salt", dtype=torch.int64, ndim=1)
    act, na = dense_codes(act_rows[lay.order])
    # rows at the first step whose (o, a) is shared by every trajectory of the group
    at0 = lay.pos == 0
    step, ns = C.combine(obs, act, na)
    code, nc = C.combine(lay.group, step, ns)
    cnt = segment_count(code[at0], nc, dtype=torch.float64)
    n_traj_g = segment_count(lay.traj_group, lay.n_groups, dtype=torch.float64)
    shared = at0 & (cnt[code] == n_traj_g[lay.group])
    vals = a[lay.order][shared]
    return (float(vals.abs().max()) if vals.numel() else 0.0), 1e-9


def check_igpo_telescoping(batch):
    """IGPO telescoping (docs/papers/igpo.md claim 1): sum of a trajectory's info-gain rewards = p_{T-1} - p_0.

    Recomputes the turn rewards of every non-final turn and compares each trajectory's sum with
    its net belief change. Returns ``(max |difference|, 1e-9)``.
    """
    lay = _layout(batch, "igpo")
    lp, lp0 = _gold_belief(batch, "igpo")
    lp, lp0 = lp[lay.order].double(), lp0[lay.order].double()
    p = torch.exp(lp)
    prev = torch.where(lay.pos == 0, torch.exp(lp0), torch.roll(p, 1))
    nonlast = lay.pos < lay.length - 1
    ig = torch.where(nonlast, p - prev, torch.zeros_like(p))
    tot = segment_sum(ig, lay.traj, lay.n_traj)
    # p at the second-to-last turn (p_0 for one-turn trajectories)
    sel = lay.pos == lay.length - 2
    p_end = torch.exp(lp0[lay.pos == 0]).clone()  # per trajectory, in trajectory order
    p_end[lay.traj[sel]] = p[sel]
    p_start = torch.exp(lp0[lay.pos == 0])
    return float((tot - (p_end - p_start)).abs().max()), 1e-9


# ============================================================================ registration
_PAPERS = {
    "gigpo": "Feng, Xue, Liu, An. Group-in-Group Policy Optimization for LLM Agent Training. arXiv:2505.10978 "
    "(NeurIPS 2025); docs/papers/gigpo.md",
    "hgpo": "He, Feng, Wei, Cheng, Feng, An. Hierarchy-of-Groups Policy Optimization for Long-Horizon Agentic "
    "Tasks. arXiv:2602.22817 (ICLR 2026); docs/papers/hgpo.md",
    "salt": "Li et al. SALT: Step-level Advantage Assignment for Long-horizon Agents via Trajectory Graph. "
    "arXiv:2510.20022; docs/papers/salt.md",
    "igpo": "Wang et al. Information Gain-based Policy Optimization. arXiv:2510.14967; docs/papers/igpo.md",
    "gcpo": "Wang et al. GeometryZero: Group Contrastive Policy Optimization. arXiv:2506.07160; "
    "docs/papers/gcpo_geometryzero.md",
    "rlvmr": "Zhang et al. RLVMR: Reinforcement Learning with Verifiable Meta-Reasoning Rewards. arXiv:2507.22844; "
    "docs/papers/rlvmr.md",
}


def _opts(fn) -> dict:
    import inspect

    return {k: p.default for k, p in inspect.signature(fn).parameters.items() if p.kind is p.KEYWORD_ONLY}


register_estimator(
    "gigpo",
    gigpo,
    needs=_STEP_FIELDS,
    options=_opts(gigpo),
    paper=_PAPERS["gigpo"],
    option_needs={"grouping": {"exact": ("observation_keys",)}},
    equation="A = A_E(tau) + omega * (R_t - mean_G) / (std_G + eps), G = anchor-state group",
)
register_estimator(
    "hgpo",
    hgpo,
    needs=_STEP_FIELDS + ("observation_keys",),
    options=_opts(hgpo),
    paper=_PAPERS["hgpo"],
    equation="A = sum_k (k+1)^alpha A_k / (sum_k (k+1)^alpha + eps), A_k over context group G_k",
)
register_estimator(
    "salt",
    salt,
    needs=_STEP_FIELDS + ("observation_keys", "action_keys"),
    options=_opts(salt),
    paper=_PAPERS["salt"],
    equation="A(i,t) = mean_{j through edge(i,t)} A_j",
)
register_estimator(
    "igpo",
    igpo,
    needs=_STEP_FIELDS + ("gold_logprobs", "gold_logprob_init"),
    options=_opts(igpo),
    paper=_PAPERS["igpo"],
    equation="r_t = p_t - p_{t-1} (t<T), r_T = outcome; A_t = sum_k gamma^(k-t) z(r)_k",
)
register_estimator(
    "gcpo",
    gcpo,
    needs=("group_ids", "aux"),
    options=_opts(gcpo),
    paper=_PAPERS["gcpo"],
    equation="R = acc + fmt + lambda_aux M aux + lambda_len len; A = z-score(R)",
)
register_estimator(
    "rlvmr",
    rlvmr,
    needs=("group_ids", "trajectory_ids", "tags", "meta_rewards"),
    options=_opts(rlvmr),
    paper=_PAPERS["rlvmr"],
    equation="A = z_group(R_traj) + lambda z_{group,tag}(m)",
)
