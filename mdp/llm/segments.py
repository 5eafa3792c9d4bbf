"""Vectorised group statistics shared by every estimator in :mod:`mdp.llm`.

Rows carry an integer group code in ``[0, n_groups)`` (see :func:`dense_codes`); every statistic
is a scatter (``index_add_``) over those codes, so the cost is ``O(rows)`` (``O(rows log rows)``
where a sort is needed) with no Python loop over rows or groups.

Conventions
-----------
* ``values`` is ``(rows,)`` or ``(rows, ...)``; reductions act on dim 0 and keep trailing dims.
* Per-group outputs are ``(n_groups, ...)``; :func:`gather` maps them back to rows.
* Variances are two-pass (mean first, then squared deviations) for accuracy. ``ddof=1`` is the
  unbiased (Bessel-corrected) estimator ``torch.std`` uses by default; a group with ``count <= ddof``
  gets ``nan`` (exactly what ``torch.std`` returns for a single element), and callers choose a
  named policy for it (see ``mdp.llm.estimators``).
"""

from __future__ import annotations

import torch

__all__ = [
    "dense_codes",
    "segment_sum",
    "segment_count",
    "segment_mean",
    "segment_var",
    "segment_std",
    "group_stats",
    "constant_groups",
    "gather",
    "group_ordinal_ranks",
    "group_average_ranks",
    "broadcast_to_tokens",
    "masked_sum",
    "masked_mean",
]


def dense_codes(ids: torch.Tensor) -> tuple[torch.Tensor, int]:
    """Map arbitrary int64 ids ``(rows,)`` to dense codes in ``[0, n)`` (sorted by id value).

    Returns ``(codes (rows,) int64, n)``. ``O(rows log rows)`` (one ``torch.unique``).
    """
    uniq, inverse = torch.unique(ids, sorted=True, return_inverse=True)
    return inverse.to(torch.int64), int(uniq.numel())


def _zeros(n: int, like: torch.Tensor) -> torch.Tensor:
    return torch.zeros((n,) + tuple(like.shape[1:]), dtype=like.dtype, device=like.device)


def _expand_rows(w: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """Reshape a ``(rows,)`` weight so it broadcasts against ``like`` ``(rows, ...)``."""
    return w.reshape((-1,) + (1,) * (like.dim() - 1))


def segment_sum(values: torch.Tensor, codes: torch.Tensor, n: int) -> torch.Tensor:
    """Per-group sum ``(n, ...)`` of ``values`` ``(rows, ...)``."""
    return _zeros(n, values).index_add_(0, codes, values)


def segment_count(
    codes: torch.Tensor, n: int, *, weights: torch.Tensor | None = None, dtype: torch.dtype = torch.float64
) -> torch.Tensor:
    """Per-group row count ``(n,)`` (or total weight when ``weights`` ``(rows,)`` is given)."""
    w = torch.ones(codes.shape[0], dtype=dtype, device=codes.device) if weights is None else weights.to(dtype)
    return torch.zeros(n, dtype=dtype, device=codes.device).index_add_(0, codes, w)


def segment_mean(
    values: torch.Tensor, codes: torch.Tensor, n: int, *, weights: torch.Tensor | None = None
) -> torch.Tensor:
    """Per-group (optionally ``weights``-weighted) mean ``(n, ...)``; empty groups give ``nan``."""
    if weights is None:
        total = segment_sum(values, codes, n)
        count = segment_count(codes, n, dtype=values.dtype)
    else:
        w = weights.to(values.dtype)
        total = segment_sum(values * _expand_rows(w, values), codes, n)
        count = segment_count(codes, n, weights=w, dtype=values.dtype)
    return total / _expand_rows(count, total)


def segment_var(
    values: torch.Tensor,
    codes: torch.Tensor,
    n: int,
    *,
    ddof: int = 1,
    mean: torch.Tensor | None = None,
    weights: torch.Tensor | None = None,
) -> torch.Tensor:
    """Per-group variance ``(n, ...)``: ``sum w (x - mean)^2 / (sum w - ddof)``.

    ``count - ddof <= 0`` gives ``nan`` (as ``torch.var`` does for one element with ``ddof=1``).
    """
    if mean is None:
        mean = segment_mean(values, codes, n, weights=weights)
    dev = values - mean.index_select(0, codes)
    sq = dev * dev
    if weights is None:
        count = segment_count(codes, n, dtype=values.dtype)
    else:
        w = weights.to(values.dtype)
        sq = sq * _expand_rows(w, sq)
        count = segment_count(codes, n, weights=w, dtype=values.dtype)
    denom = count - ddof
    ss = segment_sum(sq, codes, n)
    out = ss / _expand_rows(denom, ss)
    return torch.where(_expand_rows(denom, ss) > 0, out, torch.full_like(out, float("nan")))


def segment_std(
    values: torch.Tensor,
    codes: torch.Tensor,
    n: int,
    *,
    ddof: int = 1,
    mean: torch.Tensor | None = None,
    weights: torch.Tensor | None = None,
) -> torch.Tensor:
    """Per-group standard deviation ``(n, ...)`` (``sqrt`` of :func:`segment_var`)."""
    return segment_var(values, codes, n, ddof=ddof, mean=mean, weights=weights).sqrt()


def group_stats(values: torch.Tensor, codes: torch.Tensor, n: int, *, ddof: int = 1):
    """``(count (n,), mean (n, ...), std (n, ...))`` in one call (std ``nan`` where count <= ddof)."""
    count = segment_count(codes, n, dtype=values.dtype)
    mean = segment_mean(values, codes, n)
    std = segment_std(values, codes, n, ddof=ddof, mean=mean)
    return count, mean, std


def constant_groups(values: torch.Tensor, codes: torch.Tensor, n: int) -> torch.Tensor:
    """Boolean ``(n,)``: every value of the group is equal (``max == min``, exact comparison).

    The zero-variance test of the ``zero_variance="zero"`` policy: rounding makes a computed std
    of such a group ~1e-8 in float32 rather than 0, so the test is on the values themselves.
    Groups with no rows give ``False``.
    """
    hi = torch.full((n,), -torch.inf, dtype=values.dtype, device=values.device).scatter_reduce(
        0, codes, values, reduce="amax"
    )
    lo = torch.full((n,), torch.inf, dtype=values.dtype, device=values.device).scatter_reduce(
        0, codes, values, reduce="amin"
    )
    return hi == lo


def gather(per_group: torch.Tensor, codes: torch.Tensor) -> torch.Tensor:
    """Row view ``(rows, ...)`` of a per-group tensor ``(n, ...)``."""
    return per_group.index_select(0, codes)


def group_ordinal_ranks(values: torch.Tensor, codes: torch.Tensor, n: int):
    """Ascending within-group ordinal ranks and tie blocks.

    Returns ``(ranks (rows,) in 1..count, tie_block (rows,) int64, n_blocks)``: ties are broken by
    row order (stable sort); rows with equal ``(code, value)`` share a ``tie_block`` id.
    ``O(rows log rows)``: two stable sorts (by value, then by group code).
    """
    rows = values.shape[0]
    if rows == 0:
        empty = torch.zeros(0, dtype=torch.int64, device=values.device)
        return values.new_zeros(0), empty, 0
    order = torch.argsort(values, stable=True)
    order = order[torch.argsort(codes[order], stable=True)]
    c_sorted = codes[order]
    v_sorted = values[order]
    pos = torch.arange(rows, device=values.device)
    count = segment_count(codes, n, dtype=torch.int64)
    start = torch.cumsum(count, 0) - count  # first sorted position of each group
    rank_sorted = (pos - start[c_sorted] + 1).to(values.dtype)
    new_block = torch.ones(rows, dtype=torch.bool, device=values.device)
    new_block[1:] = (c_sorted[1:] != c_sorted[:-1]) | (v_sorted[1:] != v_sorted[:-1])
    block_sorted = torch.cumsum(new_block.to(torch.int64), 0) - 1
    n_blocks = int(block_sorted[-1].item()) + 1
    ranks = torch.empty_like(rank_sorted)
    ranks[order] = rank_sorted
    block = torch.empty_like(block_sorted)
    block[order] = block_sorted
    return ranks, block, n_blocks


def group_average_ranks(values: torch.Tensor, codes: torch.Tensor, n: int) -> torch.Tensor:
    """Ascending within-group ranks ``(rows,)`` in ``1..count``, ties given their average rank.

    Same numbers as ``scipy.stats.rankdata(method="average")`` applied group by group.
    """
    ranks, block, n_blocks = group_ordinal_ranks(values, codes, n)
    if ranks.numel() == 0:
        return ranks
    return segment_mean(ranks, block, n_blocks).index_select(0, block)


def broadcast_to_tokens(adv: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """``(rows,)`` advantages -> ``(rows, tokens)``: ``adv[:, None] * mask`` (zeros off the mask)."""
    if adv.dim() == 2:
        return adv * mask.to(adv.dtype)
    return adv.unsqueeze(-1) * mask.to(adv.dtype)


def masked_sum(values: torch.Tensor, mask: torch.Tensor, dim=None) -> torch.Tensor:
    """``sum(values * mask)`` over ``dim`` (all dims when ``None``)."""
    prod = values * mask.to(values.dtype)
    return prod.sum() if dim is None else prod.sum(dim=dim)


def masked_mean(values: torch.Tensor, mask: torch.Tensor, dim=None) -> torch.Tensor:
    """``sum(values * mask) / sum(mask)`` over ``dim`` (``nan`` where the mask sums to 0)."""
    m = mask.to(values.dtype)
    if dim is None:
        return (values * m).sum() / m.sum()
    return (values * m).sum(dim=dim) / m.sum(dim=dim)
