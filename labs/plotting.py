"""Paper-ready figures: Okabe-Ito palette, a ``paper_style()`` context and deterministic saving.

Figures are built with :class:`matplotlib.figure.Figure` (no pyplot, no GUI backend, no global
figure registry). :func:`save_figure` writes a PDF with TrueType (Type 42) fonts embedded and fixed
metadata, so the same figure gives byte-identical files on every run, plus a PNG beside it.

>>> from labs.plotting import paper_style, new_figure, OKABE_ITO
>>> with paper_style():
...     fig, ax = new_figure(1)
...     _ = ax.plot([1, 2, 3], color=OKABE_ITO["blue"])
"""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

import matplotlib

from labs.provenance import atomic_write_bytes

__all__ = [
    "OKABE_ITO",
    "PALETTE",
    "COLUMN_WIDTH",
    "TEXT_WIDTH",
    "PAPER_RC",
    "paper_style",
    "new_figure",
    "figure_bytes",
    "save_figure",
]

#: Okabe & Ito (2008) colour-blind safe palette.
OKABE_ITO = {
    "black": "#000000",
    "orange": "#E69F00",
    "sky_blue": "#56B4E9",
    "bluish_green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "reddish_purple": "#CC79A7",
}
#: Cycle order: strong colours first, yellow (poor on white) last.
PALETTE = [
    OKABE_ITO[k]
    for k in ("blue", "vermillion", "bluish_green", "orange", "reddish_purple", "sky_blue", "black", "yellow")
]

#: Widths in inches for a two-column paper (one column, full text width).
COLUMN_WIDTH = 3.4
TEXT_WIDTH = 7.0

PAPER_RC = {
    "pdf.fonttype": 42,
    "ps.fonttype": 42,
    "svg.fonttype": "none",
    "svg.hashsalt": "rlab",
    "font.family": "sans-serif",
    "font.sans-serif": ["DejaVu Sans"],
    "mathtext.fontset": "dejavusans",
    "font.size": 8,
    "axes.titlesize": 8,
    "axes.labelsize": 8,
    "xtick.labelsize": 7,
    "ytick.labelsize": 7,
    "legend.fontsize": 7,
    "legend.frameon": False,
    "axes.linewidth": 0.6,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.linewidth": 0.4,
    "grid.alpha": 0.35,
    "lines.linewidth": 1.2,
    "lines.markersize": 3.5,
    "xtick.major.width": 0.6,
    "ytick.major.width": 0.6,
    "xtick.minor.width": 0.4,
    "ytick.minor.width": 0.4,
    "axes.prop_cycle": matplotlib.cycler(color=PALETTE),
    "figure.dpi": 150,
    "savefig.dpi": 300,
    "savefig.bbox": "tight",
    "savefig.pad_inches": 0.02,
    "figure.constrained_layout.use": False,
}


@contextlib.contextmanager
def paper_style(**overrides):
    """Context manager applying rlab's paper style (fonts embedded, Okabe-Ito colours, 8 pt text)."""
    rc = dict(PAPER_RC)
    rc.update(overrides)
    with matplotlib.rc_context(rc):
        yield


def new_figure(ncols: int = 1, nrows: int = 1, *, width: float | None = None, height: float = 2.4, **kwargs):
    """A ``Figure`` and its axes sized for a two-column paper (full text width for ``ncols > 1``)."""
    from matplotlib.figure import Figure

    if width is None:
        width = COLUMN_WIDTH if ncols == 1 else TEXT_WIDTH
    fig = Figure(figsize=(width, height), layout="constrained")
    kwargs.setdefault("squeeze", True)
    axes = fig.subplots(nrows, ncols, **kwargs)
    return fig, axes


def _pdf_metadata() -> dict:
    return {
        "Creator": "rlab",
        "Producer": f"rlab (matplotlib {matplotlib.__version__})",
        "CreationDate": None,
        "ModDate": None,
    }


def figure_bytes(fig, fmt: str) -> bytes:
    """Render ``fig`` to bytes in ``fmt`` ("pdf" or "png") with deterministic metadata."""
    buf = io.BytesIO()
    with paper_style():
        if fmt == "pdf":
            fig.savefig(buf, format="pdf", metadata=_pdf_metadata())
        elif fmt == "png":
            fig.savefig(buf, format="png", metadata={"Software": "rlab"})
        else:
            raise ValueError(f"unsupported figure format {fmt!r}")
    return buf.getvalue()


def save_figure(fig, path) -> dict[str, Path]:
    """Write ``fig`` as ``path`` with suffix ``.pdf`` and ``.png`` (atomically); returns both paths."""
    path = Path(path)
    out = {}
    for fmt in ("pdf", "png"):
        target = path.with_suffix(f".{fmt}")
        atomic_write_bytes(target, figure_bytes(fig, fmt))
        out[fmt] = target
    return out
