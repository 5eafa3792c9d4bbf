"""Reproducible labs: declared experiments swept over seeds, cached, plotted for a paper.

>>> import labs
>>> res = labs.run_lab("quickstart", seeds=2, out="results", executor="serial")   # doctest: +SKIP
>>> res.files["pdf"]                                                               # doctest: +SKIP
PosixPath('results/quickstart/quickstart.pdf')

From the shell: ``rlab list``, ``rlab run quickstart --seeds 5``, ``rlab check``, ``rlab demo``.
"""

from labs.base import (
    CacheWarning,
    Lab,
    LabRun,
    LabRunError,
    TimedLabWarning,
    cache_key,
    get_lab,
    list_labs,
    make_config,
    parse_assignments,
    register_lab,
    run_lab,
)
from labs.plotting import OKABE_ITO, PALETTE, paper_style

__all__ = [
    "CacheWarning",
    "Lab",
    "LabRun",
    "LabRunError",
    "OKABE_ITO",
    "PALETTE",
    "TimedLabWarning",
    "cache_key",
    "get_lab",
    "list_labs",
    "make_config",
    "paper_style",
    "parse_assignments",
    "register_lab",
    "run_lab",
]
