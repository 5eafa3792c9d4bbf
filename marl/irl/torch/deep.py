"""Deep MAMQL: per-agent MLP marginal critics ``Qbar_i(s) in R^{A_i}`` trained from demonstrations.

For agent ``i`` the loss (to minimise) over a batch of transitions ``(s_t, a_i, s_{t+1})`` with weights
``w_t = gamma^t`` is the negative of the objective of :func:`marl.irl.mamql` (Haynam et al. 2025,
arXiv:2503.04679, Sec. 4; IQ-Learn, Garg et al. 2021, Eq. 10; ``docs/papers/mamql.md``)::

    x    = Q(s)[a_i] - gamma V(s'),         V(s) = logsumexp(lam Q(s)) / lam
    loss = - sum_t w_t [phi(x) - (V(s) - gamma V(s'))] / sum_t w_t

with ``phi(x) = x - x^2 / (4 alpha)`` or ``x``. With one-hot state features and no hidden layer the
critic is a table and the loss is exactly the tabular objective (tested against
:func:`marl.irl.mamql`).
"""

from __future__ import annotations

import numbers

import numpy as np
import torch

from marl.irl.equilibrium import Demonstrations
from mdp._common import result
from mdp._validation import check_positive_int
from mdp.solvers.soft_value_iteration import check_lam

__all__ = ["DeepMAMQLResult", "collect_demonstrations", "deep_mamql", "one_hot_positions"]


def one_hot_positions(states, grid_cells: int = 16) -> np.ndarray:
    """Features of gems joint states ``s = c_0 * cells + c_1``: one-hot cell of each agent, ``(n, 2 cells)``."""
    s = np.asarray(states, dtype=np.int64)
    out = np.zeros((s.size, 2 * grid_cells), dtype=np.float32)
    out[np.arange(s.size), s // grid_cells] = 1.0
    out[np.arange(s.size), grid_cells + s % grid_cells] = 1.0
    return out


def collect_demonstrations(env, policies, *, n_episodes: int, seed: int) -> Demonstrations:
    """Roll out the stationary profile ``policies = (x, y)`` in a two-player PettingZoo Parallel env of
    :mod:`marl.envs` (its ``infos[agent]["state"]`` is the model's state index) until truncation."""
    n_episodes = check_positive_int(n_episodes, "n_episodes")
    rng = np.random.default_rng(seed)
    x, y = (np.asarray(p, dtype=np.float64) for p in policies)
    states, actions = [], []
    for k in range(n_episodes):
        _, infos = env.reset(seed=int(seed) + k)
        a0, a1 = env.possible_agents
        s = infos[a0]["state"]
        traj_s, traj_a = [s], []
        while env.agents:
            acts = (int(rng.choice(x.shape[1], p=x[s])), int(rng.choice(y.shape[1], p=y[s])))
            _, _, _, _, infos = env.step({a0: acts[0], a1: acts[1]})
            s = infos[a0]["state"]
            traj_s.append(s)
            traj_a.append(acts)
        states.append(traj_s)
        actions.append(traj_a)
    H = min(len(a) for a in actions)
    return Demonstrations(
        states=np.array([s[: H + 1] for s in states], dtype=np.int64),
        actions=np.array([a[:H] for a in actions], dtype=np.int64),
    )


@result
class DeepMAMQLResult:
    """Trained critics.

    Attributes
    ----------
    critics : tuple of torch.nn.Module
        ``critics[i](features) -> (n, A_i)`` marginal critic of agent ``i`` (on ``device``, eval mode).
    losses : ndarray, shape (2, steps)
        Training loss per step and agent.
    device : str
    """

    critics: tuple
    losses: np.ndarray
    device: str


def _mlp(d_in, d_out, hidden):
    layers, d = [], d_in
    for h in hidden:
        layers += [torch.nn.Linear(d, h), torch.nn.ReLU()]
        d = h
    layers.append(torch.nn.Linear(d, d_out))
    return torch.nn.Sequential(*layers)


def deep_mamql(
    demonstrations,
    features,
    n_actions,
    gamma,
    lam,
    *,
    phi: str = "chi2",
    alpha: float = 0.5,
    hidden=(64, 64),
    steps: int = 2000,
    lr: float = 1e-2,
    batch_size: int | None = None,
    seed: int = 0,
    device: str | None = None,
) -> DeepMAMQLResult:
    """Train both agents' MLP marginal critics on demonstrations (module docstring).

    Parameters
    ----------
    demonstrations : Demonstrations
        ``states (n, H + 1)``, ``actions (n, H, 2)``.
    features : callable
        ``features(states (k,) int) -> (k, d)`` float array.
    n_actions : (int, int)
    gamma : float in [0, 1); lam : float > 0
    phi, alpha : as :func:`marl.irl.mamql`.
    hidden : tuple of int
        Hidden layer widths (``()``: a linear critic).
    steps : int
        Adam steps per agent.
    batch_size : int, optional
        Transitions per step (default: the full batch).
    seed : int
        ``torch.manual_seed`` for the initialisation and minibatches.
    device : str, optional
        ``"cpu"`` (default) or ``"cuda"``.
    """
    if not isinstance(demonstrations, Demonstrations):
        raise TypeError(f"demonstrations must be a marl.irl.Demonstrations, got {type(demonstrations).__name__}")
    lam = check_lam(lam)
    if not (isinstance(gamma, numbers.Real) and 0 <= gamma < 1):
        raise ValueError(f"gamma must lie in [0, 1), got {gamma!r}")
    if phi not in ("chi2", "linear"):
        raise ValueError(f"phi must be 'chi2' or 'linear', got {phi!r}")
    if not (isinstance(alpha, numbers.Real) and alpha > 0):
        raise ValueError(f"alpha must be > 0, got {alpha!r}")
    steps = check_positive_int(steps, "steps")
    device = "cpu" if device is None else str(device)
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError(f"device={device!r} requested but torch.cuda.is_available() is False")
    torch.manual_seed(int(seed))
    S_t, A_t = demonstrations.states, demonstrations.actions
    n, H = A_t.shape[:2]
    s = torch.as_tensor(features(S_t[:, :-1].ravel()), dtype=torch.float32, device=device)
    s2 = torch.as_tensor(features(S_t[:, 1:].ravel()), dtype=torch.float32, device=device)
    w = torch.as_tensor(
        np.broadcast_to(gamma ** np.arange(H), (n, H)).ravel().copy(), dtype=torch.float32, device=device
    )
    N = w.shape[0]
    critics, losses = [], np.zeros((2, steps))
    for i in (0, 1):
        a = torch.as_tensor(A_t[:, :, i].ravel(), dtype=torch.int64, device=device)
        net = _mlp(s.shape[1], int(n_actions[i]), tuple(hidden)).to(device)
        opt = torch.optim.Adam(net.parameters(), lr=lr)
        for t in range(steps):
            idx = (
                slice(None)
                if batch_size is None or batch_size >= N
                else torch.randint(0, N, (int(batch_size),), device=device)
            )
            q, q2, wb, ab = net(s[idx]), net(s2[idx]), w[idx], a[idx]
            v = torch.logsumexp(lam * q, dim=1) / lam
            v2 = torch.logsumexp(lam * q2, dim=1) / lam
            x = q.gather(1, ab[:, None])[:, 0] - gamma * v2
            f = x if phi == "linear" else x - x * x / (4 * alpha)
            loss = -((wb * (f - (v - gamma * v2))).sum() / wb.sum())
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses[i, t] = float(loss.detach())
        net.eval()
        critics.append(net)
    return DeepMAMQLResult(critics=tuple(critics), losses=losses, device=device)
