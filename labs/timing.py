"""Timing curves with time caps, shared by the labs that measure wall time (``solver_scaling``,
``game_scaling``).

A contender whose time at one size exceeds the lab's cap (``max_seconds``) is not run at the larger
sizes of that sweep: its rows there say ``status = "capped"`` (``seconds`` is NaN). Assuming its time
grows with the size, a capped run would have taken at least the time its seed measured at the smaller
size (itself above the cap), so the summaries here count it so, never drop it: the median over
seeds is the median over *all* seeds. Where the capped runs leave it undetermined, the point is its
lower bound (capped runs set to those floors), drawn as a hollow up-triangle ("median >= this").
Points where not every seed finished carry the fraction that did (``k/n``).
"""

from __future__ import annotations

import numpy as np

__all__ = ["plot_times", "summarise_times"]


def _capped_floor(sub, x: str, *, cap: float, value: str, status: str):
    """Per row, the least time a capped run can have taken: its seed's largest measured time at a
    smaller ``x`` (the one that exceeded the cap), at least ``cap``; the measured time otherwise."""
    floors = np.full(len(sub), np.nan)
    order = np.argsort(sub[x].to_numpy(), kind="stable")
    seeds = sub["seed"].to_numpy()[order] if "seed" in sub else np.zeros(len(sub))
    capped = (sub[status] == "capped").to_numpy()[order]
    t = sub[value].to_numpy(dtype=float)[order]
    best: dict = {}
    for i in range(len(order)):
        if capped[i]:
            floors[order[i]] = max(float(cap), best.get(seeds[i], -np.inf))
        else:
            floors[order[i]] = t[i]
            if np.isfinite(t[i]):
                best[seeds[i]] = max(best.get(seeds[i], -np.inf), t[i])
    return floors


def summarise_times(sub, x: str, *, cap: float, value: str = "seconds", status: str = "status"):
    """Per ``x``: ``(x, median, lo, hi, n_finished, n_seeds, lower_bound_only)`` over all seeds.

    A capped row (``status == "capped"``) is only known to be at least its floor: the time that
    seed measured at a smaller ``x`` (which exceeded the cap; times assumed to grow with ``x``), at
    least ``cap``. The median over all seeds then lies between the median with capped runs at their
    floors and the one with them at ``+inf``; where the two differ, ``median`` is the first (a lower
    bound) and ``lower_bound_only`` is True. ``lo``/``hi`` are the range over the seeds, capped runs
    at their floors.
    """
    out = []
    floors = _capped_floor(sub, x, cap=cap, value=value, status=status)
    capped_all = (sub[status] == "capped").to_numpy()
    xcol = sub[x].to_numpy()
    for xv in sorted(set(xcol)):
        sel = xcol == xv
        capped = capped_all[sel]
        at_floor = floors[sel]
        lower = float(np.median(at_floor))
        upper = float(np.median(np.where(capped, np.inf, at_floor)))
        n, k = int(sel.sum()), int((~capped).sum())
        out.append((xv, lower, float(at_floor.min()), float(at_floor.max()), k, n, bool(upper != lower)))
    return out


def plot_times(ax, sub, x: str, *, cap: float, colour, marker: str, label: str, index: int = 0, band: bool = True):
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
        ax.plot(
            xs[ge],
            med[ge],
            ls="none",
            marker="^",
            markersize=6,
            markerfacecolor="white",
            markeredgecolor=colour,
            markeredgewidth=1.1,
        )
    ax.plot(xs, np.where(ge, np.nan, med), marker=marker, color=colour, label=label)
    if band and sub["seed"].nunique() > 1:
        ax.fill_between(xs, lo, hi, color=colour, alpha=0.15, lw=0)
    for xv, m, _, _, k, n, _ in rows:
        if k < n:
            ax.annotate(
                f"{k}/{n}", (xv, m), textcoords="offset points", xytext=(5, -4 + 3 * index), fontsize=6, color=colour
            )
