"""Generators of small POMDPs and model classes for the UMT-PSR checks (``docs/papers/multitask_psr.md``).

* :func:`random_factored_class`: ``M_O`` Dirichlet emission matrices and ``M_T`` Dirichlet transition
  arrays (the lab's shared-emission class);
* :func:`needle_pair`: two POMDPs whose trajectory distributions differ on exactly one open-loop
  action sequence (claim MT4; construction ours);
* :func:`duplicate_states`: the same observable process with two persistent copies of every hidden
  state (``2S`` states, same Hankel matrices: the PSR rank is a property of the process).
"""

from __future__ import annotations

import numpy as np

from mdp._validation import check_open_unit, check_positive_int, check_rng
from mdp.pomdp.mle import FactoredClass
from mdp.pomdp.model import POMDP

__all__ = ["random_factored_class", "needle_pair", "duplicate_states"]


def random_factored_class(n_emissions, n_transitions, S, A, O, H, *, rng, concentration: float = 1.0) -> FactoredClass:
    """``FactoredClass`` with ``M_O = n_emissions`` emission matrices (rows ``~ Dirichlet(c)``) and
    ``M_T = n_transitions`` transition arrays (rows ``~ Dirichlet(c)``), uniform start."""
    M_O, M_T, S, A, O, H = (
        check_positive_int(x, n)
        for x, n in (
            (n_emissions, "n_emissions"),
            (n_transitions, "n_transitions"),
            (S, "S"),
            (A, "A"),
            (O, "O"),
            (H, "H"),
        )
    )
    rng = check_rng(rng)
    if not concentration > 0:
        raise ValueError(f"concentration must be > 0, got {concentration!r}")
    Es = rng.dirichlet(np.full(O, float(concentration)), size=(M_O, S))
    Ts = rng.dirichlet(np.full(S, float(concentration)), size=(M_T, A, S))
    return FactoredClass(Es / Es.sum(-1, keepdims=True), Ts / Ts.sum(-1, keepdims=True), np.full(S, 1.0 / S), H)


def needle_pair(A, H, sequence, *, eps: float = 0.1) -> tuple:
    """Two POMDPs that differ only after the open-loop action sequence ``sequence``.

    States ``0..H-1`` count how many actions of ``sequence`` were matched so far, ``H`` is "off track"
    and ``H + 1`` "needle reached"; the start is state 0 and every transition is deterministic (the
    next action of ``sequence`` advances, any other goes off track for good). Every state emits one
    of two observations uniformly, except the needle state, which emits ``(1 - eps, eps)`` in the
    first model and ``(eps, 1 - eps)`` in the second. So ``P(. || a)`` is the same for both models on
    every ``a != sequence``, and their TV on ``sequence`` is ``1 - 2 eps``.

    Parameters
    ----------
    A, H : int
    sequence : int or array_like of H actions
        The needle, as a row-major index in ``[0, A^H)`` or as its actions.
    eps : float
        In ``(0, 1/2)``.

    Returns
    -------
    (POMDP, POMDP)
    """
    A = check_positive_int(A, "A")
    H = check_positive_int(H, "H")
    eps = check_open_unit(eps, "eps")
    if eps >= 0.5:
        raise ValueError(f"eps must lie in (0, 1/2) (the two needle emissions must differ), got {eps}")
    if np.ndim(sequence) == 0:
        k = check_positive_int(sequence, "sequence", minimum=0)
        if k >= A**H:
            raise ValueError(f"sequence must index one of the A^H = {A**H} action sequences, got {k}")
        seq = [(k // A ** (H - 1 - h)) % A for h in range(H)]
    else:
        seq = [int(x) for x in np.asarray(sequence).ravel()]
        if len(seq) != H or min(seq) < 0 or max(seq) >= A:
            raise ValueError(f"sequence must hold H = {H} actions in [0, {A}), got {seq}")
    S = H + 2
    off, end = H, H + 1
    T = np.zeros((A, S, S))
    for a in range(A):
        for s in range(H):
            T[a, s, (s + 1 if s + 1 < H else end) if a == seq[s] else off] = 1.0
        T[a, off, off] = 1.0
        T[a, end, end] = 1.0
    E1 = np.full((S, 2), 0.5)
    E2 = E1.copy()
    E1[end] = (1 - eps, eps)
    E2[end] = (eps, 1 - eps)
    rho0 = np.eye(S)[0]
    return POMDP(T, E1, rho0, H), POMDP(T, E2, rho0, H)


def duplicate_states(model, *, split=0.5) -> POMDP:
    """Two persistent copies of every hidden state, entered with probabilities ``split`` and ``1 - split``.

    The start picks copy 0 or 1 once and the chain never leaves it (``T`` block-diagonal, each block
    the original ``T``); both copies emit like the original. The observable process is the mixture
    ``split P + (1 - split) P = P``, so every trajectory probability, hence every Hankel matrix, is
    unchanged while ``S`` doubles. Perturbing one copy's emissions makes it a mixture of two different
    POMDPs, whose rank can reach ``2S`` (``docs/notebooks/psr_hankel_rank.py``).
    """
    if not isinstance(model, POMDP):
        raise TypeError(f"model must be an mdp.pomdp.POMDP, got {type(model).__name__}")
    w = check_open_unit(split, "split")
    A, S = model.n_actions, model.n_states
    T2 = np.zeros((A, 2 * S, 2 * S))
    for c in (0, 1):
        T2[:, c * S : (c + 1) * S, c * S : (c + 1) * S] = model.T
    E2 = np.concatenate([model.E, model.E])
    rho2 = np.concatenate([model.rho0 * w, model.rho0 * (1 - w)])
    return POMDP(T2, E2, rho2, model.horizon)
