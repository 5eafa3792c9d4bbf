"""Independent PPO learners with Gaussian effort policies in a sequential public-goods game (torch, CPU).

``import marl.spgg`` never imports torch; ``marl.spgg.torch`` loads this subpackage on first access.

The digest's lab (b) in continuous effort (``docs/papers/mac_spgg.md``): agent ``i`` draws
``e_i ~ N(m_i(S_i), sigma_i^2)`` with the mean an MLP of its predecessors' summed effort ``S_i`` (the
"full observation" statistic) and a learned state-independent ``log sigma_i``; its effort is
``q_i = clip(e_i, 0, 1)``; its payoff is :func:`marl.spgg.spgg_payoffs` (any efforts in ``[0, 1]``). Each
agent runs PPO on its own payoff (clipped ratio ``1 +- clip``, ``epochs`` passes per batch, batch-mean
baseline, no value network), independently of the others: the paper's setting without the LLMs (its
policy networks output generation parameters and the quality comes from an evaluator).
"""

from __future__ import annotations

import numpy as np

from marl.spgg.model import SPGGame, require_game, spgg_payoffs
from mdp._common import result
from mdp._validation import check_positive_int, check_real, check_rng

__all__ = ["PPOResult", "spgg_ppo"]


@result
class PPOResult:
    """Training trace of independent PPO learners.

    Attributes
    ----------
    effort : ndarray, shape (n_updates, N)
        Batch-mean effort ``q_i`` of each agent at each update.
    total : ndarray, shape (n_updates,)
        Batch-mean public good.
    penalised : ndarray, shape (n_updates,)
        Fraction of episodes with ``T < B``.
    mean_effort_path : ndarray, shape (N,)
        Efforts on the path of the policies' means after training (``clip(m_i(S_i), 0, 1)``).
    """

    effort: np.ndarray
    total: np.ndarray
    penalised: np.ndarray
    mean_effort_path: np.ndarray


def spgg_ppo(
    game: SPGGame,
    *,
    n_updates: int = 200,
    batch: int = 64,
    lr: float = 3e-3,
    clip: float = 0.2,
    epochs: int = 4,
    hidden: int = 16,
    init_std: float = 0.3,
    rng,
) -> PPOResult:
    """Train independent PPO learners with Gaussian effort policies (``docs/papers/mac_spgg.md``, lab (b)).

    Parameters
    ----------
    game : SPGGame
        Only the payoff parameters are used (efforts are continuous in ``[0, 1]``).
    n_updates, batch, lr, clip, epochs, hidden, init_std
        PPO budget: updates, episodes per update, Adam step, ratio clip, passes per batch, MLP width,
        initial policy standard deviation (initial mean 0.5).
    rng : numpy.random.Generator
        Seeds torch and draws the episodes' noise.

    Returns
    -------
    PPOResult
    """
    import torch

    game = require_game(game)
    n_updates = check_positive_int(n_updates, "n_updates")
    batch = check_positive_int(batch, "batch", minimum=2)
    epochs = check_positive_int(epochs, "epochs")
    hidden = check_positive_int(hidden, "hidden")
    lr = check_real(lr, "lr", "(0, inf)")
    clip = check_real(clip, "clip", "(0, 1)")
    init_std = check_real(init_std, "init_std", "(0, inf)")
    rng = check_rng(rng)
    gen = torch.Generator().manual_seed(int(rng.integers(2**62)))
    N = game.n_agents
    nets, log_std, opts = [], [], []
    for _ in range(N):
        net = torch.nn.Sequential(torch.nn.Linear(1, hidden), torch.nn.Tanh(), torch.nn.Linear(hidden, 1)).double()
        with torch.no_grad():
            for prm in net.parameters():
                prm.copy_(torch.randn(prm.shape, generator=gen, dtype=torch.float64) * 0.1)
            net[2].bias.fill_(0.5)
        ls = torch.nn.Parameter(torch.tensor(float(np.log(init_std)), dtype=torch.float64))
        nets.append(net)
        log_std.append(ls)
        opts.append(torch.optim.Adam([*net.parameters(), ls], lr=lr))
    effort = np.zeros((n_updates, N))
    total = np.zeros(n_updates)
    pen = np.zeros(n_updates)
    for k in range(n_updates):
        with torch.no_grad():
            S = torch.zeros(batch, dtype=torch.float64)
            obs, acts, logp_old = [], [], []
            q = torch.zeros(batch, N, dtype=torch.float64)
            for i in range(N):
                m = nets[i](S[:, None])[:, 0]
                e = m + torch.exp(log_std[i]) * torch.randn(batch, generator=gen, dtype=torch.float64)
                dist = torch.distributions.Normal(m, torch.exp(log_std[i]))
                obs.append(S.clone())
                acts.append(e)
                logp_old.append(dist.log_prob(e))
                q[:, i] = e.clamp(0.0, 1.0)
                S = S + q[:, i]
        qn = q.numpy()
        u = spgg_payoffs(game, qn)
        effort[k] = qn.mean(axis=0)
        total[k] = qn.sum(axis=1).mean()
        pen[k] = np.mean(qn.sum(axis=1) < game.threshold - 1e-9)
        for i in range(N):
            adv = torch.as_tensor(u[:, i] - u[:, i].mean())
            adv = adv / (adv.std() + 1e-8)
            for _ in range(epochs):
                m = nets[i](obs[i][:, None])[:, 0]
                logp = torch.distributions.Normal(m, torch.exp(log_std[i])).log_prob(acts[i])
                ratio = torch.exp(logp - logp_old[i])
                loss = -torch.min(ratio * adv, ratio.clamp(1 - clip, 1 + clip) * adv).mean()
                opts[i].zero_grad()
                loss.backward()
                opts[i].step()
    with torch.no_grad():
        S, path = 0.0, []
        for i in range(N):
            m = float(nets[i](torch.tensor([[S]], dtype=torch.float64))[0, 0])
            path.append(min(1.0, max(0.0, m)))
            S += path[-1]
    return PPOResult(effort, total, pen, np.asarray(path))
