"""Graph-GRPO, group-relative credit for sampled communication graphs (Cang et al. 2026,
arXiv:2603.02701; ``docs/papers/graph_grpo.md``), with a toy multi-agent task in which one edge matters.

A topology policy gives every candidate directed edge ``e`` (``i -> j``, ``i < j``: always a DAG) a
probability ``p_e = sigmoid(z_e)``, here a logit table per query type. For a query, ``K`` graphs are
sampled edge by edge, ``a^k_e ~ Bernoulli(p_e)``; each is executed and scored ``r_k``; the group-relative
advantage ``A_k = (r_k - mean r) / (std r + eps)`` (0 for an all-equal group) credits every edge
decision of graph ``k``, through ``log pi(G_k) = sum_e a^k_e log p_e + (1 - a^k_e) log(1 - p_e)``. The
diagnostic edge credit is ``Delta_e = mean_{k: a^k_e = 1} A_k - mean_{k: a^k_e = 0} A_k``.

The toy (a **reconstruction**): ``n`` agents, query types ``tau``, query difficulty ``d ~ N(0, s^2)``;
the multi-agent system answers correctly with probability ``sigmoid(d + beta a_{e*(tau)})``: only the
critical edge ``e*(tau)`` of the query's type changes the outcome.
"""

from __future__ import annotations

import numpy as np
import torch

from mdp._common import result
from mdp._validation import as_float_array, check_positive_int, check_real, check_rng
from mdp.llm.registry import register_estimator

__all__ = [
    "BASELINES",
    "graph_grpo_advantages",
    "candidate_edges",
    "sample_graphs",
    "graph_logprob",
    "EdgeCredit",
    "edge_credit",
    "graph_grpo_loss",
    "TopologyTask",
    "make_topology_task",
    "success_probability",
    "policy_gradient",
    "TopologyTrainResult",
    "train_topology",
]

BASELINES = ("group", "mean", "none")


def graph_grpo_advantages(batch, *, baseline="group", convention="verl", epsilon=None, std_ddof=None):
    """Graph-GRPO group-relative advantage of each sampled graph (one row per graph, ``group_ids`` = query).

    ``baseline="group"``: ``A_k = (r_k - mean_g r) / (std_g r + eps)``, 0 for an all-equal group and for
    a single-graph group (the registry's ``grpo`` with ``singleton="zero"``; docs/papers/graph_grpo.md
    step 4); ``"mean"``: ``r_k - mean_g r``; ``"none"``: the absolute reward ``r_k`` (the
    single-sample REINFORCE baseline of the paper's comparison). Every edge decision of graph ``k``
    gets ``A_k``: with one column per candidate edge as the token axis (``response_mask`` all ones),
    ``broadcast=True`` gives the per-edge advantages of the clipped per-edge loss (:func:`graph_grpo_loss`).
    """
    from mdp.llm.registry import compute_advantages

    if baseline not in BASELINES:
        raise ValueError(f"graph_grpo: baseline must be one of {list(BASELINES)}, got {baseline!r}")
    if baseline == "none":
        return batch.sequence_rewards().clone()
    scale = "group" if baseline == "group" else "none"
    return compute_advantages(
        "grpo",
        batch,
        convention=convention,
        epsilon=epsilon,
        std_ddof=std_ddof,
        singleton="zero",
        scale_rewards=scale,
    )


register_estimator(
    "graph_grpo",
    graph_grpo_advantages,
    needs=("group_ids",),
    options={"baseline": "group", "convention": "verl", "epsilon": None, "std_ddof": None},
    paper="Graph-GRPO, Cang et al. 2026, arXiv:2603.02701 (docs/papers/graph_grpo.md)",
    equation="A_k = (r_k - mean_g r) / (std_g r + eps) per sampled graph; every edge decision of graph k gets A_k",
    claims=("GG1", "GG2"),
)


def candidate_edges(n_agents: int) -> np.ndarray:
    """Candidate directed edges ``i -> j``, ``i < j``, in a fixed order (``(n(n-1)/2, 2)`` int64)."""
    n = check_positive_int(n_agents, "n_agents", minimum=2)
    i, j = np.triu_indices(n, 1)
    return np.stack([i, j], 1).astype(np.int64)


def sample_graphs(probs, n_graphs: int, *, rng) -> np.ndarray:
    """``n_graphs`` graphs with independent edges ``a_e ~ Bernoulli(p_e)``: ``(K, E)`` 0/1 int64
    (``probs`` ``(E,)``, or ``(K, E)`` one row per graph)."""
    p = as_float_array(probs, "probs")
    if p.ndim not in (1, 2) or np.any(p < 0) or np.any(p > 1):
        raise ValueError("probs must be (E,) or (K, E) probabilities in [0, 1]")
    K = check_positive_int(n_graphs, "n_graphs")
    rng = check_rng(rng)
    if p.ndim == 2 and p.shape[0] != K:
        raise ValueError(f"probs (K, E) must have n_graphs = {K} rows, got {p.shape[0]}")
    E = p.shape[-1]
    return (rng.random((K, E)) < p).astype(np.int64)


def graph_logprob(logits, actions) -> torch.Tensor:
    """``log pi(G_k) = sum_e a_e z_e - softplus(z_e)`` per graph ``(K,)`` (docs/papers/graph_grpo.md step 5),
    for ``logits`` ``(E,)`` or ``(K, E)`` and 0/1 ``actions`` ``(K, E)``; differentiable in ``logits``."""
    return _edge_logprob(logits, actions).sum(-1)


def _edge_logprob(logits, actions) -> torch.Tensor:
    z = logits if isinstance(logits, torch.Tensor) else torch.as_tensor(as_float_array(logits, "logits"))
    a = torch.as_tensor(np.asarray(actions), dtype=z.dtype)
    if a.shape[-1] != z.shape[-1]:
        raise ValueError(f"actions have {a.shape[-1]} edges, logits {z.shape[-1]}")
    if not bool(((a == 0) | (a == 1)).all()):
        raise ValueError("actions must be 0/1 edge indicators")
    return a * z - torch.nn.functional.softplus(z)


@result
class EdgeCredit:
    """Output of :func:`edge_credit`.

    Attributes
    ----------
    delta : numpy.ndarray (E,)
        Mean over the groups where it is defined of ``Delta_e`` (``nan`` if never defined).
    per_group : numpy.ndarray (n_groups, E)
        ``Delta_e`` of each group (``nan`` when edge ``e`` was in all or none of its graphs).
    n_defined : numpy.ndarray (E,) int64
        Groups where ``Delta_e`` is defined.
    stderr : numpy.ndarray (E,)
        Standard error of ``delta`` over those groups (``nan`` with fewer than 2).
    """

    delta: np.ndarray
    per_group: np.ndarray
    n_defined: np.ndarray
    stderr: np.ndarray


def edge_credit(advantages, actions, group_ids) -> EdgeCredit:
    """Diagnostic edge credit ``Delta_e = mean_{k: a_e = 1} A_k - mean_{k: a_e = 0} A_k`` per group
    (docs/papers/graph_grpo.md step 5 and claim 3); ``advantages`` ``(rows,)``, ``actions`` ``(rows, E)``
    0/1, ``group_ids`` ``(rows,)``."""
    A = as_float_array(advantages, "advantages", ndim=1)
    a = as_float_array(actions, "actions", ndim=2)
    g = np.asarray(group_ids)
    if a.shape[0] != A.size or g.shape != (A.size,):
        raise ValueError(
            f"advantages, actions and group_ids need one row per graph ({A.size}); got {a.shape}, {g.shape}"
        )
    if not np.isin(a, (0.0, 1.0)).all():
        raise ValueError("actions must be 0/1 edge indicators")
    uniq, inv = np.unique(g, return_inverse=True)
    n = uniq.size
    on = np.zeros((n, a.shape[1]))
    cnt_on = np.zeros_like(on)
    tot = np.bincount(inv, weights=A, minlength=n)
    cnt = np.bincount(inv, minlength=n).astype(float)
    np.add.at(on, inv, a * A[:, None])
    np.add.at(cnt_on, inv, a)
    cnt_off = cnt[:, None] - cnt_on
    with np.errstate(invalid="ignore", divide="ignore"):
        per = on / cnt_on - (tot[:, None] - on) / cnt_off
    per[(cnt_on == 0) | (cnt_off == 0)] = np.nan
    ok = ~np.isnan(per)
    nd = ok.sum(0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(nd > 0, np.nansum(per, 0) / np.maximum(nd, 1), np.nan)
        var = np.nansum((per - mean) ** 2, 0) / np.maximum(nd - 1, 1)
        se = np.where(nd > 1, np.sqrt(var / np.maximum(nd, 1)), np.nan)
    return EdgeCredit(mean, per, nd.astype(np.int64), se)


def graph_grpo_loss(logits, old_logits, actions, advantages, *, clip: float = 0.2):
    """Clipped per-edge surrogate ``-(1/K) sum_k sum_e min(rho_{k,e} A_k, clip(rho_{k,e}) A_k)``,
    ``rho_{k,e} = pi(a^k_e) / pi_old(a^k_e)`` (docs/papers/graph_grpo.md step 6): the edges are the token
    axis of :func:`mdp.llm.policy_loss` (``"ppo"``, ``agg="seq-mean-token-sum"``). ``logits``,
    ``old_logits`` ``(K, E)`` (or ``(E,)`` shared), ``actions`` ``(K, E)``, ``advantages`` ``(K,)``.
    Returns the scalar loss tensor."""
    from mdp.llm.losses import policy_loss

    a = np.asarray(actions)
    if a.ndim != 2:
        raise ValueError(f"actions must be (K, E), got shape {a.shape}")
    z = logits if isinstance(logits, torch.Tensor) else torch.as_tensor(as_float_array(logits, "logits"))
    zo = torch.as_tensor(old_logits, dtype=z.dtype).detach()
    lp = _edge_logprob(z.expand(a.shape) if z.dim() == 1 else z, a)
    olp = _edge_logprob(zo.expand(a.shape) if zo.dim() == 1 else zo, a)
    adv = torch.as_tensor(np.asarray(advantages, dtype=float), dtype=z.dtype)
    if adv.shape != (a.shape[0],):
        raise ValueError(f"advantages must be ({a.shape[0]},), got {tuple(adv.shape)}")
    eps = check_real(clip, "clip", "(0, 1)")
    return policy_loss("ppo", lp, olp, adv, torch.ones_like(lp), agg="seq-mean-token-sum", eps_low=eps).loss


# ------------------------------------------------------------------------------------------------
# toy multi-agent task


@result
class TopologyTask:
    """Toy topology-learning task (module docstring).

    Attributes
    ----------
    edges : numpy.ndarray (E, 2) int64
        Candidate edges ``i -> j``.
    critical : numpy.ndarray (n_types,) int64
        Index of the edge that matters for each query type.
    effect : float
        ``beta``, the log-odds gain of the critical edge.
    difficulty_sd : float
        Standard deviation ``s`` of the query difficulty.
    """

    edges: np.ndarray
    critical: np.ndarray
    effect: float
    difficulty_sd: float

    @property
    def n_edges(self) -> int:
        """Number of candidate edges ``E``."""
        return int(self.edges.shape[0])

    @property
    def n_types(self) -> int:
        """Number of query types."""
        return int(self.critical.shape[0])


def make_topology_task(
    *, n_agents: int = 5, n_types: int = 3, effect: float = 2.0, difficulty_sd: float = 2.0, rng
) -> TopologyTask:
    """Random critical edge per query type among the ``n(n-1)/2`` candidates."""
    rng = check_rng(rng)
    E = candidate_edges(n_agents)
    T = check_positive_int(n_types, "n_types")
    crit = rng.integers(0, E.shape[0], size=T).astype(np.int64)
    return TopologyTask(E, crit, check_real(effect, "effect"), check_real(difficulty_sd, "difficulty_sd", "[0, inf)"))


def _sigmoid(x):
    return 0.5 * (1.0 + np.tanh(0.5 * np.asarray(x, dtype=float)))


def success_probability(task: TopologyTask, types, difficulty, actions) -> np.ndarray:
    """``sigmoid(d + beta a_{e*(tau)})`` per graph ``(n,)``."""
    t = np.asarray(types, dtype=np.int64)
    a = np.asarray(actions)
    return _sigmoid(np.asarray(difficulty, dtype=float) + task.effect * a[np.arange(a.shape[0]), task.critical[t]])


def policy_gradient(advantages, actions, probs) -> np.ndarray:
    """``(1/K) sum_k A_k grad_z log pi(G_k) = (1/K) sum_k A_k (a^k - p)`` for one query's group ``(E,)``
    (the score of a Bernoulli-logit edge is ``a - p``)."""
    A = as_float_array(advantages, "advantages", ndim=1)
    a = np.asarray(actions, dtype=float)
    return (A[:, None] * (a - np.asarray(probs, dtype=float))).mean(0)


@result
class TopologyTrainResult:
    """Output of :func:`train_topology`.

    Attributes
    ----------
    accuracy : numpy.ndarray (n_iter + 1,)
        Exact expected success before each update, averaged over a fixed set of evaluation queries.
    probs : numpy.ndarray (n_iter + 1, n_types, E)
        Edge probabilities before each update.
    grad_sq_norm : numpy.ndarray (n_iter,)
        Squared norm of each update's gradient estimate (before the learning rate).
    method : str
    """

    accuracy: np.ndarray
    probs: np.ndarray
    grad_sq_norm: np.ndarray
    method: str


METHODS = ("graph_grpo", "reinforce", "reinforce_ema")


def train_topology(
    task: TopologyTask,
    *,
    method: str = "graph_grpo",
    n_iter: int = 300,
    group_size: int = 8,
    queries_per_iter: int = 4,
    learning_rate: float = 0.5,
    ema: float = 0.9,
    n_eval: int = 2000,
    rng,
) -> TopologyTrainResult:
    """Train the per-type edge logits (from 0) by policy gradient.

    ``method``: ``"graph_grpo"`` (registered ``"graph_grpo"``, baseline ``"group"``), ``"reinforce"``
    (absolute reward, baseline ``"none"``) or ``"reinforce_ema"`` (reward minus an exponential moving
    average of past rewards, decay ``ema``). Every method sees ``queries_per_iter`` queries x
    ``group_size`` graphs per update (equal sample budgets); sampled outcomes ``r ~ Bernoulli(success)``.
    Plain gradient ascent on the logits (one step per batch, so the ratio is 1).
    """
    from mdp.llm import RolloutBatch, compute_advantages

    if not isinstance(task, TopologyTask):
        raise TypeError(f"task must be a TopologyTask, got {type(task).__name__}")
    if method not in METHODS:
        raise ValueError(f"method must be one of {list(METHODS)}, got {method!r}")
    rng = check_rng(rng)
    n_it = check_positive_int(n_iter, "n_iter", minimum=0)
    K = check_positive_int(group_size, "group_size", minimum=2)
    B = check_positive_int(queries_per_iter, "queries_per_iter")
    lr = check_real(learning_rate, "learning_rate", "(0, inf)")
    beta = check_real(ema, "ema", "[0, 1)")
    ne = check_positive_int(n_eval, "n_eval")
    z = np.zeros((task.n_types, task.n_edges))
    ev_t = rng.integers(0, task.n_types, size=ne)
    ev_d = task.difficulty_sd * rng.standard_normal(ne)
    s0, s1 = _sigmoid(ev_d), _sigmoid(ev_d + task.effect)

    def accuracy():
        pc = _sigmoid(z)[ev_t, task.critical[ev_t]]
        return float(np.mean(pc * s1 + (1 - pc) * s0))

    acc, probs, gsq = [accuracy()], [_sigmoid(z)], []
    base = 0.0
    baseline = {"graph_grpo": "group", "reinforce": "none", "reinforce_ema": "none"}[method]
    for it in range(n_it):
        types = rng.integers(0, task.n_types, size=B)
        diff = task.difficulty_sd * rng.standard_normal(B)
        p = _sigmoid(z[types])  # (B, E)
        acts = np.concatenate([sample_graphs(p[b], K, rng=rng) for b in range(B)])
        rt = np.repeat(types, K)
        r = (rng.random(B * K) < success_probability(task, rt, np.repeat(diff, K), acts)).astype(float)
        A = compute_advantages(
            "graph_grpo", RolloutBatch(rewards=r, group_ids=np.repeat(np.arange(B), K)), baseline=baseline
        ).numpy()
        if method == "reinforce_ema":
            A = A - base
            base = beta * base + (1 - beta) * float(r.mean()) if it else float(r.mean())
        grad = np.zeros_like(z)
        for b in range(B):
            grad[types[b]] += policy_gradient(A[b * K : (b + 1) * K], acts[b * K : (b + 1) * K], p[b]) / B
        gsq.append(float((grad**2).sum()))
        z = z + lr * grad
        acc.append(accuracy())
        probs.append(_sigmoid(z))
    return TopologyTrainResult(np.asarray(acc), np.asarray(probs), np.asarray(gsq), method)
