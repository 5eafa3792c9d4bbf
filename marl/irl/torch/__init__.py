"""Deep MAMQL in torch (CPU by default, CUDA when asked for): MLP marginal critics trained from
joint demonstrations with the IQ-Learn-style objective of :mod:`marl.irl.inverse`.

``import marl.irl`` never imports torch; ``marl.irl.torch`` loads this subpackage (and torch) on
first access. See ``docs/papers/mamql.md`` (the deep variant is a reconstruction of the paper's
critic training: the tabular objective of :mod:`marl.irl.inverse` with its ``gamma^t`` weights,
on MLP critics).
"""

from marl.irl.torch.deep import (
    DeepMAMQLResult,
    collect_demonstrations,
    deep_mamql,
    one_hot_positions,
)

__all__ = ["DeepMAMQLResult", "collect_demonstrations", "deep_mamql", "one_hot_positions"]
