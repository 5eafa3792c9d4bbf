"""Instances with planted action clusters, for the lab and the claims."""

from __future__ import annotations

import numpy as np

from mdp._validation import check_positive_int, check_probability, check_rng
from mdp.abstraction.grouping.base import ActionGrouping
from mdp.model import TabularMDP

__all__ = ["planted_cluster_mdp"]


def planted_cluster_mdp(
    rng,
    *,
    n_states: int = 10,
    n_clusters: int = 4,
    cluster_size: int = 16,
    sigma: float = 0.2,
    alpha: float = 0.5,
    gamma: float = 0.9,
):
    """An action-wise similar MDP with planted action clusters (``docs/papers/action_grouping.md``, lab section).

    Cluster ``c`` has a base kernel ``P_c(.|s) ~ Dirichlet(alpha)`` and a base reward
    ``r_c(s) ~ U[sigma/2, 1 - sigma/2]``; each of its ``cluster_size`` actions mixes the base kernel
    with its own ``Dirichlet(alpha)`` draw, ``(1 - sigma) P_c + sigma Q_a``, and adds reward noise
    ``U[-sigma/2, sigma/2]`` (rewards stay in ``[0, 1]``). Actions are shuffled, so a cluster's
    actions are not contiguous.

    Parameters
    ----------
    rng : numpy.random.Generator
    n_states, n_clusters, cluster_size : int
        ``S``, the number of clusters and actions per cluster (``A = n_clusters * cluster_size``).
    sigma : float in [0, 1]
        Within-cluster deviation (0: identical actions within a cluster).
    alpha : float
        Dirichlet concentration.
    gamma : float

    Returns
    -------
    (TabularMDP, ActionGrouping)
        The model and its planted clusters (canonical labels).
    """
    from mdp._validation import check_gamma, check_tol

    rng = check_rng(rng)
    S = check_positive_int(n_states, "n_states")
    C = check_positive_int(n_clusters, "n_clusters")
    k = check_positive_int(cluster_size, "cluster_size")
    alpha = check_tol(alpha, "alpha")
    gamma = check_gamma(gamma)
    sigma = check_probability(sigma, "sigma")
    A = C * k

    def dirichlet(shape):
        x = rng.standard_gamma(alpha, size=shape + (S,))
        tot = x.sum(axis=-1, keepdims=True)
        dead = tot[..., 0] == 0
        if np.any(dead):
            x[dead, 0] = 1.0
            tot = x.sum(axis=-1, keepdims=True)
        return x / tot

    base_P = dirichlet((C, S))  # (C, S, S')
    base_R = rng.uniform(sigma / 2, 1 - sigma / 2, size=(C, S))
    own = dirichlet((A, S))  # (A, S, S')
    cluster = np.repeat(np.arange(C), k)
    perm = rng.permutation(A)
    cluster = cluster[perm]
    P = (1 - sigma) * base_P[cluster] + sigma * own  # (A, S, S')
    R = base_R[cluster] + rng.uniform(-sigma / 2, sigma / 2, size=(A, S))
    m = TabularMDP(P.transpose(1, 0, 2), R.T, gamma)
    return m, ActionGrouping(cluster, n_groups=C).canonical()
