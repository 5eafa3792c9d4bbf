"""Vectorised building blocks of the agentic (multi-turn, step-level) estimators.

Everything works on a *sorted layout*: the rows of a batch sorted by ``(group, trajectory, step)``,
so each trajectory is a contiguous run. Costs are stated per function; ``n`` is the number of rows,
``T`` the longest trajectory. No Python loop runs over rows; the only loops run over ``log2 T``
doubling rounds, over the history depth ``k`` or over time steps (each a vectorised pass).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from mdp.llm.segments import dense_codes, segment_count, segment_mean, segment_sum

EPS = 1e-6


@dataclass(frozen=True)
class Layout:
    """Rows sorted by ``(group, trajectory, step)``.

    Attributes (all ``(n,)`` in sorted order unless stated)
    ----------
    order : int64 — sorted position -> original row
    group : int64 — dense group code in ``[0, n_groups)``
    traj : int64 — dense trajectory code in ``[0, n_traj)``; trajectories are ``(group, id)`` pairs
    pos : int64 — position of the row inside its trajectory (``0..len-1``, by ``step_ids``)
    length : int64 — length of the row's trajectory
    traj_group : ``(n_traj,)`` int64 — group code of each trajectory
    n_groups, n_traj, max_len : int
    """

    order: torch.Tensor
    group: torch.Tensor
    traj: torch.Tensor
    pos: torch.Tensor
    length: torch.Tensor
    traj_group: torch.Tensor
    n_groups: int
    n_traj: int
    max_len: int

    def to_rows(self, sorted_values: torch.Tensor) -> torch.Tensor:
        """Scatter values given in sorted order back to the original row order."""
        out = torch.empty_like(sorted_values)
        out[self.order] = sorted_values
        return out


def combine(a: torch.Tensor, b: torch.Tensor, nb: int) -> tuple[torch.Tensor, int]:
    """Dense codes of the pairs ``(a, b)`` (``a`` any int64 codes, ``b`` in ``[0, nb)``).

    ``O(n log n)`` (one ``torch.unique``). The pair is packed as ``a * nb + b``; both are dense codes
    below ``n``, so the packed value stays far below ``2**63`` for any realistic ``n``.
    """
    return dense_codes(a * nb + b)


def make_layout(
    group_ids: torch.Tensor, trajectory_ids: torch.Tensor, step_ids: torch.Tensor | None, method: str
) -> Layout:
    """Sort rows by ``(group, trajectory, step)``; ``O(n log n)`` (three sorts).

    Without ``step_ids`` the batch order inside each trajectory is its time order (verl-agent's
    convention). Duplicate ``(group, trajectory, step)`` triples are a ``ValueError``.
    """
    n = group_ids.shape[0]
    dev = group_ids.device
    g, ng = dense_codes(group_ids)
    t, nt = dense_codes(trajectory_ids)
    gt, n_traj = combine(g, t, nt)  # trajectory = (group, trajectory id)
    if step_ids is None:
        order = torch.argsort(gt, stable=True)
    else:
        o1 = torch.argsort(step_ids, stable=True)
        order = o1[torch.argsort(gt[o1], stable=True)]
        s_sorted = step_ids[order]
        gt_sorted = gt[order]
        dup = (gt_sorted[1:] == gt_sorted[:-1]) & (s_sorted[1:] == s_sorted[:-1])
        if bool(dup.any()):
            i = int(order[1:][dup][0])
            raise ValueError(
                f"{method}: step_ids must be unique inside each trajectory; row {i} repeats "
                f"step {int(step_ids[i])} of trajectory {int(trajectory_ids[i])}"
            )
    traj = gt[order]
    counts = segment_count(traj, n_traj, dtype=torch.int64)
    start = torch.cumsum(counts, 0) - counts
    pos = torch.arange(n, device=dev) - start[traj]
    length = counts[traj]
    traj_group = torch.zeros(n_traj, dtype=torch.int64, device=dev)
    traj_group[traj] = g[order]
    return Layout(
        order=order,
        group=g[order],
        traj=traj,
        pos=pos,
        length=length,
        traj_group=traj_group,
        n_groups=ng,
        n_traj=n_traj,
        max_len=int(counts.max()),
    )


def discounted_returns(r_sorted: torch.Tensor, lay: Layout, gamma: float) -> torch.Tensor:
    """Reward-to-go ``R_t = sum_{k >= t} gamma^(k-t) r_k`` per trajectory, in sorted order.

    Segmented Hillis-Steele doubling scan: after round ``j`` each entry holds the next ``2^j`` terms,
    so ``ceil(log2 T)`` vectorised rounds suffice; ``O(n log T)`` time, ``O(n)`` memory, and only
    sums of ``gamma^j r`` terms (no ``gamma^-t`` rescaling), so it is as accurate as the loop.
    """
    out = r_sorted.clone()
    n = out.shape[0]
    idx = torch.arange(n, device=out.device)
    d, gd = 1, float(gamma)
    while d < lay.max_len:
        ok = lay.pos + d < lay.length
        nxt = out[torch.clamp(idx + d, max=n - 1)]
        out = out + gd * torch.where(ok, nxt, torch.zeros_like(nxt))
        d, gd = 2 * d, gd * gd
    return out


def normalise(
    values: torch.Tensor, codes: torch.Tensor, n: int, *, mode: str, ddof: int, eps: float, singleton: str
) -> torch.Tensor:
    """Group-relative scores ``(v - mean_g) [/ (std_g + eps)]`` of ``values`` ``(m,)``.

    ``mode``: ``"mean_norm"`` (no division) or ``"mean_std_norm"``; ``ddof`` 1 (unbiased, as
    ``torch.std``) or 0 (population). Groups of one member follow ``singleton``:
    ``"zero"`` (mean = the value, std = 1, so the score is 0) or ``"raw"`` (mean 0, std 1, so the
    score is the value itself: verl/verl-agent's episode-level convention). ``O(m)``.

    Zero-variance groups (all members equal, at least two) score exactly 0. A literal
    ``(v - mean) / (std + eps)`` leaves rounding residue there: ``1e-16 / 1e-6`` in float64, but in
    float32 (verl-agent's HGPO) a one-ulp error of the mean gives scores of order 0.1.
    """
    count = segment_count(codes, n, dtype=values.dtype)
    mean = segment_mean(values, codes, n)
    dev = values - mean[codes]
    vmax = torch.full((n,), -math.inf, dtype=values.dtype, device=values.device).scatter_reduce_(
        0, codes, values, reduce="amax"
    )
    vmin = torch.full((n,), math.inf, dtype=values.dtype, device=values.device).scatter_reduce_(
        0, codes, values, reduce="amin"
    )
    dev = torch.where((vmax == vmin)[codes], torch.zeros_like(dev), dev)
    ss = segment_sum(dev * dev, codes, n)
    single = count[codes] <= 1
    if mode == "mean_norm":
        out = dev
    else:
        std = torch.sqrt(ss / torch.clamp(count - ddof, min=1))
        out = dev / (std[codes] + eps)
    if singleton == "zero":
        out = torch.where(single, torch.zeros_like(out), out)
    else:  # "raw": mean 0, std 1
        raw = values if mode == "mean_norm" else values / (1.0 + eps)
        out = torch.where(single, raw, out)
    return out


def leader_clusters(group: torch.Tensor, n_groups: int, similar) -> torch.Tensor:
    """Greedy leader clustering inside each group, in row order (verl-agent's similarity GiGPO).

    A row joins the first cluster (in creation order) whose representative it is similar to
    (``similar(rows, reps) >= threshold`` is decided by the callable, which returns a bool tensor);
    otherwise it founds a new cluster and is its representative. Equivalent formulation used here:
    repeatedly take, in every group at once, the first unassigned row as a new representative and
    assign every unassigned row of its group that is similar to it. ``O(C * n)`` similarity
    evaluations for ``C`` = the largest number of clusters in a group. Returns the representative's
    row index for every row (a cluster id).
    """
    n = group.shape[0]
    dev = group.device
    ar = torch.arange(n, device=dev)
    cluster = torch.full((n,), -1, dtype=torch.int64, device=dev)
    unassigned = torch.ones(n, dtype=torch.bool, device=dev)
    while bool(unassigned.any()):
        cand = torch.where(unassigned, ar, torch.full_like(ar, n))
        lead = torch.full((n_groups,), n, dtype=torch.int64, device=dev).scatter_reduce_(0, group, cand, reduce="amin")
        rows = torch.nonzero(unassigned).flatten()
        reps = lead[group[rows]]
        join = similar(rows, reps) | (rows == reps)
        cluster[rows[join]] = reps[join]
        unassigned[rows[join]] = False
    return cluster
