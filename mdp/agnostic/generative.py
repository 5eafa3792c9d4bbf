"""The trajectory-tree learner with a generative model, and a model-based baseline.

Trajectory trees (Kearns, Mansour & Ng 1999, "Approximate planning in large POMDPs via reusable
trajectories"), as the agnostic-RL thesis uses them (G. Li 2025; Jia et al. 2023, the
generative-model upper bound; project page ``docs/papers/agnostic_rl.md``, "Trajectory-tree learner"). One tree:
draw ``s_0 ~ rho0``; at each layer query the generative model *once* per distinct reachable pair
``(s, a)`` (a pair some policy of the class reaches and plays in this tree) and send every policy
taking that pair to the same sampled successor. A tree is a deterministic MDP, so the queries of one
tree are ``sum_h |Reach_h(Pi; tree)| <= sum_h C_h(Pi)``, independent of ``S``, and the return of
each policy along its path is an unbiased estimate of ``V(pi)``. With returns in ``[0, 1]``,
Hoeffding and a union bound over the ``K`` policies give, for ``n`` trees,

    P( max_k |V_hat(pi_k) - V(pi_k)| > t ) <= 2 K exp(-2 n t^2),

so ``n = ceil(2 log(2K / delta) / eps^2)`` (``t = eps / 2``) makes the empirical best
``eps``-optimal in the class with probability ``>= 1 - delta`` (the constant is derived here, see
the Corrections of the paper notes).

The kernel walks the policy table twice per layer: a branch-free pass gathers every policy's action
and reward (its table reads overlap in memory), then a second pass de-duplicates the pairs with a
stamp array of size ``S A`` (no Python loop, no hashing) and samples one successor per new pair. Uniforms come from the caller's generator in a fixed
layout (``u[tree, off[h] + j]`` for the ``j``-th new pair of layer ``h``, in policy order; layer ``h``
has at most ``min(K, S A, A^(h+1))`` of them), so the numba kernel and its numpy twin
(:func:`reference_tree_returns`) agree exactly. The kernel reads the class in layer-major order
(``int8`` when ``A <= 127``): for ``K = 10^4``, ``H = 10``, ``S = 10^3`` the ``(K, H, S)`` int64 table
is 800 MB and its per-layer reads would each touch a different page.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from mdp._common import result
from mdp._validation import check_open_unit, check_positive_int, check_rng
from mdp.agnostic.model import LayeredMDP, check_policy_table

__all__ = [
    "TrajectoryTreeResult",
    "ModelBasedResult",
    "trajectory_tree",
    "tree_returns",
    "reference_tree_returns",
    "required_trees",
    "model_based",
    "reference_model_based_values",
]

_CHUNK_FLOATS = 1 << 22


@result
class TrajectoryTreeResult:
    """What the trajectory-tree learner returns, with the guarantee it was run for.

    Attributes
    ----------
    best : int
        Index of the empirical best policy (first argmax of ``estimates``).
    pi : ndarray, shape (H, S)
        ``policies[best]``.
    estimates : ndarray, shape (K,)
        Mean return of each policy over the trees.
    n_trees : int
    queries : ndarray, shape (n_trees,)
        Generative-model queries of each tree (distinct reachable pairs, summed over layers).
    eps, delta : float
        The accuracy and confidence asked for.
    n_required : int
        ``ceil(2 log(2K / delta) / eps^2)``.
    accuracy : float
        ``t = sqrt(log(2K / delta) / (2 n_trees))``: with probability ``>= 1 - delta`` every
        estimate is within ``t``, so ``V(best) >= max_k V(pi_k) - 2t`` (``2t <= eps`` iff
        ``n_trees >= n_required``).
    guarantee : str
        The statement in words.
    """

    best: int
    pi: np.ndarray
    estimates: np.ndarray
    n_trees: int
    queries: np.ndarray
    eps: float
    delta: float
    n_required: int
    accuracy: float
    guarantee: str


@result
class ModelBasedResult:
    """Model-based baseline: best policy of the class in the estimated model.

    Attributes
    ----------
    best : int
    pi : ndarray, shape (H, S)
    estimates : ndarray, shape (K,)
        Values of the policies in the estimated model.
    n_queries : int
        Generative queries spent (spread uniformly over the ``(H - 1) S A`` triples).
    per_triple : float
        ``n_queries / ((H - 1) S A)``.
    """

    best: int
    pi: np.ndarray
    estimates: np.ndarray
    n_queries: int
    per_triple: float


def _require_model(model):
    if not isinstance(model, LayeredMDP):
        raise TypeError(f"model must be an mdp.agnostic.LayeredMDP, got {type(model).__name__}")
    return model


def _check_unit(x, name):
    return check_open_unit(x, name)


def required_trees(n_policies: int, eps: float, delta: float) -> int:
    """``ceil(2 log(2K / delta) / eps^2)``: trees for an ``eps``-optimal pick w.p. ``1 - delta``."""
    K = check_positive_int(n_policies, "n_policies")
    eps, delta = _check_unit(eps, "eps"), _check_unit(delta, "delta")
    return int(math.ceil(2.0 * math.log(2.0 * K / delta) / eps**2))


@njit(cache=True, inline="always")
def _first_above(c, x):
    lo, hi = 0, c.shape[0] - 1
    while lo < hi:
        mid = (lo + hi) // 2
        if c[mid] > x:
            hi = mid
        else:
            lo = mid + 1
    return lo


@njit(cache=True)
def _trees_kernel(pol_l, nxt, cdf, R, rho0_cdf, u0, u, off, G, out, queries, q_off, stamp, stamp_next, st, tag0):
    """Sample ``len(u0)`` trees; ``G[k] +=`` the return of policy ``k`` on each tree (``out[t, k]``
    too when ``out`` has rows). ``pol_l[h, k, s]`` is the class in layer-major order (policy ``k``'s
    layer-``h`` row is contiguous, so the sweep over ``k`` reads memory in order). Returns the next
    unused stamp tag."""
    H, K, S = pol_l.shape
    A = R.shape[2]
    B = cdf.shape[3]
    keys = np.empty(K, dtype=np.int64)
    Rf = R.reshape(-1)
    n = u0.shape[0]
    keep = out.shape[0] > 0
    tag = tag0
    for t in range(n):
        s0 = _first_above(rho0_cdf, u0[t] * rho0_cdf[S - 1])
        for k in range(K):
            st[k] = s0
        q = 0
        for h in range(H):
            tag += 1
            cnt = 0
            last = h == H - 1
            base = off[h]
            row = pol_l[h]
            for k in range(K):  # branch-free pass first: the table and reward reads overlap in memory
                s = st[k]
                a = row[k, s]
                key = s * A + a
                keys[k] = key
                r = Rf[h * S * A + key]
                G[k] += r
                if keep:
                    out[t, k] += r
            for k in range(K):  # then one generative query per new pair, shared by every policy taking it
                key = keys[k]
                if stamp[key] != tag:
                    stamp[key] = tag
                    cnt += 1
                    if not last:  # inverse CDF on the row cdf[h, s, a, :] (no array view: views cost refcounts)
                        s = key // A
                        a = key - s * A
                        x = u[t, base + cnt - 1] * cdf[h, s, a, B - 1]
                        lo, hi = 0, B - 1
                        while lo < hi:
                            mid = (lo + hi) // 2
                            if cdf[h, s, a, mid] > x:
                                hi = mid
                            else:
                                lo = mid + 1
                        stamp_next[key] = nxt[h, s, a, lo]
                if not last:
                    st[k] = stamp_next[key]
            q += cnt
        queries[q_off + t] = q
    return tag


def _layout(K, H, S, A):
    """Offsets of each layer's uniforms: layer ``h`` has at most ``min(K, S A, A^(h+1))`` new pairs."""
    sizes = [min(K, S * A, A ** min(h + 1, 60)) for h in range(max(H - 1, 1))]
    return np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)


def _draws(rng, m, off):
    return rng.random(m), rng.random((m, int(off[-1])))


def _chunk(off):
    return max(1, _CHUNK_FLOATS // int(off[-1]))


def _layer_major(pol, A):
    dt = np.int8 if A <= 127 else (np.int16 if A <= 32767 else np.int64)
    out = np.empty((pol.shape[1], pol.shape[0], pol.shape[2]), dtype=dt)
    for h in range(pol.shape[1]):
        out[h] = pol[:, h, :]
    return out


def tree_returns(model, policies, n_trees, *, rng) -> tuple[np.ndarray, np.ndarray]:
    """Returns of every policy on ``n_trees`` independent trees: ``(returns (n, K), queries (n,))``.

    Each row is an unbiased estimate of the class's values (the per-tree statistic of
    :func:`trajectory_tree`).
    """
    model = _require_model(model)
    pol = check_policy_table(policies, model)
    n = check_positive_int(n_trees, "n_trees")
    rng = check_rng(rng)
    out = np.zeros((n, pol.shape[0]))
    G, queries = _run(model, pol, n, rng, out)
    return out, queries


def _run(model, pol, n, rng, out=None):
    K, H, S = pol.shape
    A = model.n_actions
    G = np.zeros(K)
    queries = np.zeros(n, dtype=np.int64)
    stamp = np.zeros(S * A, dtype=np.int64)
    stamp_next = np.zeros(S * A, dtype=np.int64)
    st = np.empty(K, dtype=np.int64)
    off = _layout(K, H, S, A)
    step = _chunk(off)
    pol_l = _layer_major(pol, A)
    tag = 0
    empty = np.zeros((0, K))
    for start in range(0, n, step):
        m = min(step, n - start)
        u0, u = _draws(rng, m, off)
        o = out[start : start + m] if out is not None else empty
        tag = _trees_kernel(
            pol_l,
            model.next_states,
            model.next_cdf,
            model.R,
            model.rho0_cdf,
            u0,
            u,
            off,
            G,
            o,
            queries,
            start,
            stamp,
            stamp_next,
            st,
            tag,
        )
    return G, queries


def reference_tree_returns(model, policies, n_trees, *, rng):
    """Plain-numpy twin of the trajectory-tree sampler (``np.unique`` per layer): same draws,
    same ``(returns (n, K), queries (n,))`` as :func:`tree_returns`."""
    pol = np.asarray(policies, dtype=np.int64)
    K, H, S = pol.shape
    A = model.n_actions
    off = _layout(K, H, S, A)
    step = _chunk(off)
    out = np.zeros((n_trees, K))
    queries = np.zeros(n_trees, dtype=np.int64)
    ks = np.arange(K)
    for start in range(0, n_trees, step):
        m = min(step, n_trees - start)
        u0, u = _draws(rng, m, off)
        for i in range(m):
            t = start + i
            c0 = model.rho0_cdf
            s0 = min(int((c0 <= u0[i] * c0[-1]).sum()), S - 1)
            st = np.full(K, s0, dtype=np.int64)
            for h in range(H):
                a = pol[ks, h, st]
                out[t] += model.R[h, st, a]
                keys = st * A + a
                uniq, first, inv = np.unique(keys, return_index=True, return_inverse=True)
                inv = inv.reshape(-1)
                queries[t] += uniq.size
                if h < H - 1:
                    rank = np.empty(uniq.size, dtype=np.int64)
                    rank[np.argsort(first, kind="stable")] = np.arange(uniq.size)
                    us, ua = uniq // A, uniq % A
                    c = model.next_cdf[h, us, ua]  # (m, B)
                    b = np.minimum((c <= (u[i, off[h] + rank] * c[:, -1])[:, None]).sum(axis=1), c.shape[1] - 1)
                    st = model.next_states[h, us, ua, b][inv]
    return out, queries


def trajectory_tree(model, policies, eps, delta, *, rng, n_trees=None) -> TrajectoryTreeResult:
    """Agnostic learning with a generative model by trajectory trees (module docstring).

    Parameters
    ----------
    model : LayeredMDP
        Returns must lie in ``[0, 1]`` (checked; :meth:`LayeredMDP.scaled` maps any model there).
    policies : array_like, shape (K, H, S)
        The class (need not contain an optimal policy).
    eps, delta : float in (0, 1)
        Accuracy and failure probability.
    rng : numpy.random.Generator
    n_trees : int, optional
        Default ``ceil(2 log(2K / delta) / eps^2)``; with fewer the result's ``accuracy`` says
        what is still guaranteed.

    Returns
    -------
    TrajectoryTreeResult
    """
    model = _require_model(model)
    pol = check_policy_table(policies, model)
    eps, delta = _check_unit(eps, "eps"), _check_unit(delta, "delta")
    rng = check_rng(rng)
    if not model.returns_in_unit_interval():
        lo, hi = model.return_range()
        raise ValueError(
            f"model's returns must lie in [0, 1] for the Hoeffding bound (they lie in [{lo:g}, {hi:g}]); use model.scaled()"
        )
    K = pol.shape[0]
    need = required_trees(K, eps, delta)
    n = need if n_trees is None else check_positive_int(n_trees, "n_trees")
    G, queries = _run(model, pol, n, rng)
    est = G / n
    best = int(np.argmax(est))
    acc = math.sqrt(math.log(2.0 * K / delta) / (2.0 * n))
    guarantee = (
        f"with probability >= 1 - {delta:g}: |V_hat - V| <= {acc:.4g} for all {K} policies, so "
        f"V(best) >= max_k V(pi_k) - {2 * acc:.4g} (Hoeffding + union bound, returns in [0, 1]; "
        + ("eps-optimal as asked" if n >= need else f"fewer trees than the {need} needed for eps = {eps:g}")
        + ")"
    )
    return TrajectoryTreeResult(
        best=best,
        pi=pol[best].copy(),
        estimates=est,
        n_trees=n,
        queries=queries,
        eps=eps,
        delta=delta,
        n_required=need,
        accuracy=acc,
        guarantee=guarantee,
    )


@njit(cache=True)
def _empirical_values_kernel(pol, samples, counts, R, rho0):
    """Values of every policy in the empirical model (unsampled triples: uniform successor)."""
    K, H, S = pol.shape
    out = np.empty(K)
    v = np.empty(S)
    vn = np.empty(S)
    for k in range(K):
        for s in range(S):
            v[s] = R[H - 1, s, pol[k, H - 1, s]]
        for h in range(H - 2, -1, -1):
            mean = 0.0
            for s in range(S):
                mean += v[s]
            mean /= S
            for s in range(S):
                a = pol[k, h, s]
                c = counts[h, s, a]
                if c == 0:
                    cont = mean
                else:
                    acc = 0.0
                    for j in range(c):
                        acc += v[samples[h, s, a, j]]
                    cont = acc / c
                vn[s] = R[h, s, a] + cont
            for s in range(S):
                v[s] = vn[s]
        tot = 0.0
        for s in range(S):
            tot += rho0[s] * v[s]
        out[k] = tot
    return out


def reference_model_based_values(pol, samples, counts, R, rho0):
    """Plain-numpy twin of the empirical-model evaluation."""
    K, H, S = pol.shape
    out = np.empty(K)
    for k in range(K):
        v = R[H - 1, np.arange(S), pol[k, H - 1]]
        for h in range(H - 2, -1, -1):
            vn = np.empty(S)
            for s in range(S):
                a = pol[k, h, s]
                c = counts[h, s, a]
                vn[s] = R[h, s, a] + (v.mean() if c == 0 else v[samples[h, s, a, :c]].mean())
            v = vn
        out[k] = rho0 @ v
    return out


def _spread(model, n_queries, rng):
    H, S, A = model.R.shape
    N = (H - 1) * S * A
    q, r = divmod(n_queries, N) if N else (0, 0)
    counts = np.full(N, q, dtype=np.int64)
    if r:
        counts[rng.choice(N, size=r, replace=False)] += 1
    m = max(int(counts.max()) if N else 0, 1)
    samples = np.zeros((N, m), dtype=np.int64)
    rows = np.repeat(np.arange(N), counts)
    cols = np.arange(rows.size) - np.repeat(np.cumsum(counts) - counts, counts)
    if rows.size:
        c = model.next_cdf.reshape(N, -1)[rows]
        b = np.minimum((c <= (rng.random(rows.size) * c[:, -1])[:, None]).sum(axis=1), c.shape[1] - 1)
        samples[rows, cols] = model.next_states.reshape(N, -1)[rows, b]
    return samples.reshape(H - 1, S, A, m), counts.reshape(H - 1, S, A)


def model_based(model, policies, n_queries, *, rng) -> ModelBasedResult:
    """Model-based baseline: the same generative budget spread uniformly over all triples.

    Each ``(h, s, a)`` with ``h < H - 1`` gets ``floor(n / ((H - 1) S A))`` next-state samples (the
    remainder goes to distinct random triples); the empirical model takes the sample mean of the
    next values, and a triple never sampled gets a uniform successor over the next layer (no
    information). Rewards and ``rho0`` are known, as for the tree learner. The best policy of the
    class in that model is returned.
    """
    model = _require_model(model)
    pol = check_policy_table(policies, model)
    n = check_positive_int(n_queries, "n_queries")
    rng = check_rng(rng)
    samples, counts = _spread(model, n, rng)
    est = _empirical_values_kernel(pol, samples, counts, model.R, model.rho0)
    best = int(np.argmax(est))
    H, S, A = model.R.shape
    return ModelBasedResult(
        best=best, pi=pol[best].copy(), estimates=est, n_queries=n, per_triple=n / max((H - 1) * S * A, 1)
    )
