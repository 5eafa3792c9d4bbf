"""Timing curves with time caps, shared by the labs that measure wall time (``solver_scaling``,
``game_scaling``).

A contender whose time at one size exceeds the lab's cap (``max_seconds``) is not run at the larger
sizes of that sweep: its rows there say ``status = "capped"`` (``seconds`` is NaN). Assuming its time
grows with the size, a capped run would have taken at least the cap, so the summaries here count it
as ``>= cap``, never drops it: the median over seeds is the median over *all* seeds. Where the
capped runs leave it undetermined, the point is its lower bound (capped runs set to the cap), drawn
as a hollow up-triangle ("median >= this"). Points where not every seed finished carry the fraction
that did (``k/n``).
"""
from __future__ import annotations

import numpy as np

__all__ = ["plot_times", "summarise_times"]


def summarise_times(sub, x: str, *, cap: float, value: str = "seconds", status: str = "status"):
    """Per ``x``: ``(x, median, lo, hi, n_finished, n_seeds, lower_bound_only)`` over all seeds.

    A capped row (``status == "capped"``) is only known to be ``>= cap``. The median over all seeds
    is then known to lie between the median with capped runs set to ``cap`` and the one with them set
    to ``+inf``; where the two differ, ``median`` is the first (a lower bound) and
    ``lower_bound_only`` is True. ``lo``/``hi`` are the range over the seeds, capped runs at ``cap``.
    """
    out = []
    for xv, g in sub.groupby(x, sort=True):
        capped = (g[status] == "capped").to_numpy()
        t = g[value].to_numpy(dtype=float)
        at_cap = np.where(capped, float(cap), t)
        lower = float(np.median(at_cap))
        upper = float(np.median(np.where(capped, np.inf, t)))
        n, k = len(t), int((~capped).sum())
        out.append((xv, lower, float(at_cap.min()), float(at_cap.max()), k, n, bool(upper != lower)))
    return out


def plot_times(ax, sub, x: str, *, cap: float, colour, marker: str, label: str, index: int = 0,
               band: bool = True):
    """Draw one contender's median time against ``x``: solid where the median is known, a dotted
    line to hollow up-triangles where it is only a lower bound (capped runs), a range band, and
    ``k/n`` where only ``k`` of ``n`` seeds finished (offset by ``index`` so contenders do not overlap)."""
    rows = summarise_times(sub, x, cap=cap)
    if not rows:
        return
    xs = np.array([r[0] for r in rows], dtype=float)
    med = np.array([r[1] for r in rows])
    lo = np.array([r[2] for r in rows])
    hi = np.array([r[3] for r in rows])
    ge = np.array([r[6] for r in rows])
    if ge.any():
        ax.plot(xs, med, color=colour, ls=":", lw=0.9)
        ax.plot(xs[ge], med[ge], ls="none", marker="^", markersize=6, markerfacecolor="white",
                markeredgecolor=colour, markeredgewidth=1.1)
    ax.plot(xs, np.where(ge, np.nan, med), marker=marker, color=colour, label=label)
    if band and sub["seed"].nunique() > 1:
        ax.fill_between(xs, lo, hi, color=colour, alpha=0.15, lw=0)
    for xv, m, _, _, k, n, _ in rows:
        if k < n:
            ax.annotate(f"{k}/{n}", (xv, m), textcoords="offset points", xytext=(4, -10 + 7 * index),
                        fontsize=6, color=colour)
