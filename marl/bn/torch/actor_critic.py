"""DAG sampler, BN actors, and the A2C / MAPPO-style training loop (see :mod:`marl.bn.torch`)."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from mdp._common import result
from mdp._validation import check_gamma, check_positive_int, check_real, check_rng, check_tol

__all__ = ["BNActors", "DAGSampler", "DeepBNResult", "exact_joint_policy", "train_bn_actor_critic"]

_GRAPHS = ("learned", "none", "full")
_OBJECTIVES = ("a2c", "mappo")


def _mlp(n_in: int, n_out: int, hidden: int) -> nn.Module:
    return nn.Sequential(nn.Linear(n_in, hidden), nn.Tanh(), nn.Linear(hidden, n_out))


class DAGSampler(nn.Module):
    """Context -> DAG over ``n`` agents by a relaxed permutation and a Gumbel-sigmoid edge mask.

    ``forward(ctx, tau, sample=True)`` returns ``(adj, order, expected_edges)``: ``adj`` ``(B, n, n)``
    hard 0/1 in value with straight-through gradients (``adj[b, i, j] = 1``: ``i`` is a parent of
    ``j``), ``order`` ``(B, n)`` a topological order of each sample, and ``expected_edges`` ``(B,)``
    the expected number of edges ``sum_ij sigmoid(logit_ij) [rank i < rank j]`` (the sparsity
    penalty's argument). ``sample=False`` gives the mode: no noise, edges where ``sigmoid > 1/2``.
    """

    def __init__(self, n_agents: int, context_dim: int, hidden: int = 32):
        super().__init__()
        self.n = n_agents
        self.net = _mlp(context_dim, n_agents + n_agents * n_agents, hidden)
        self.register_buffer("upper", torch.triu(torch.ones(n_agents, n_agents), diagonal=1))

    def forward(self, ctx, tau: float = 1.0, sample: bool = True, generator=None):
        """``(adj, order, expected_edges)`` for the contexts ``ctx`` (see the class docstring)."""
        B, n = ctx.shape[0], self.n
        out = self.net(ctx)
        scores, logits = out[:, :n], out[:, n:].reshape(B, n, n)
        if sample:
            u = torch.rand(B, n, device=ctx.device, generator=generator).clamp(1e-10, 1 - 1e-10)
            scores = scores - torch.log(-torch.log(u))
        srt, _ = scores.sort(dim=-1, descending=True)
        p_soft = torch.softmax(-(srt[:, :, None] - scores[:, None, :]).abs() / tau, dim=-1)  # (B, pos, agent)
        order = scores.argsort(dim=-1, descending=True)
        p_hard = torch.nn.functional.one_hot(order, n).to(p_soft.dtype)
        perm = p_hard + p_soft - p_soft.detach()
        before = perm.transpose(1, 2) @ self.upper @ perm  # [i, j] = 1 if rank(i) < rank(j)
        if sample:
            u = torch.rand(B, n, n, device=ctx.device, generator=generator).clamp(1e-10, 1 - 1e-10)
            e_soft = torch.sigmoid((logits + torch.log(u) - torch.log1p(-u)) / tau)
        else:
            e_soft = torch.sigmoid(logits)
        e_hard = (e_soft > 0.5).to(e_soft.dtype)
        edges = e_hard + e_soft - e_soft.detach()
        adj = before * edges
        expected = (torch.sigmoid(logits) * before.detach()).sum(dim=(1, 2))
        return adj, order, expected


class BNActors(nn.Module):
    """One MLP per agent on ``[context, adj[:, j, i] * onehot(a_j) for every j]``."""

    def __init__(self, n_actions, context_dim: int, hidden: int = 32):
        super().__init__()
        self.n_actions = tuple(int(a) for a in n_actions)
        self.offsets = np.concatenate([[0], np.cumsum(self.n_actions)]).tolist()
        width = context_dim + self.offsets[-1]
        self.nets = nn.ModuleList(_mlp(width, a, hidden) for a in self.n_actions)

    def logits(self, i: int, ctx, onehots, adj):
        """Agent ``i``'s logits; ``onehots`` ``(B, sum A_j)``, ``adj`` ``(B, n, n)``."""
        mask = torch.cat([adj[:, j, i : i + 1].expand(-1, a) for j, a in enumerate(self.n_actions)], dim=1)
        return self.nets[i](torch.cat([ctx, onehots * mask], dim=1))

    def sample(self, ctx, adj, order, generator=None):
        """Actions ``(B, n)`` sampled agent by agent in ``order`` (each row its own order); no gradient."""
        B, n = ctx.shape[0], len(self.n_actions)
        acts = torch.zeros(B, n, dtype=torch.long, device=ctx.device)
        onehots = torch.zeros(B, self.offsets[-1], device=ctx.device)
        with torch.no_grad():
            for k in range(n):
                who = order[:, k]
                for i in range(n):
                    p = torch.softmax(self.logits(i, ctx, onehots, adj), dim=-1)
                    a = torch.multinomial(p, 1, generator=generator).squeeze(1)
                    sel = who == i
                    acts[:, i] = torch.where(sel, a, acts[:, i])
                    oh = torch.nn.functional.one_hot(acts[:, i], self.n_actions[i]).to(onehots.dtype)
                    cur = onehots[:, self.offsets[i] : self.offsets[i + 1]]
                    onehots[:, self.offsets[i] : self.offsets[i + 1]] = torch.where(sel[:, None], oh, cur)
        return acts

    def onehot(self, acts):
        return torch.cat(
            [torch.nn.functional.one_hot(acts[:, i], a).float() for i, a in enumerate(self.n_actions)], dim=1
        )

    def log_prob(self, ctx, acts, adj, with_entropy: bool = False):
        """``sum_i log pi_i(a_i | ctx, masked parents)`` ``(B,)`` (and the summed entropies)."""
        oh = self.onehot(acts)
        lp, ent = 0.0, 0.0
        for i in range(len(self.n_actions)):
            logp = torch.log_softmax(self.logits(i, ctx, oh, adj), dim=-1)
            lp = lp + logp.gather(1, acts[:, i : i + 1]).squeeze(1)
            if with_entropy:
                ent = ent - (logp.exp() * logp).sum(dim=1)
        return (lp, ent) if with_entropy else lp


@torch.no_grad()
def exact_joint_policy(actors: BNActors, sampler: DAGSampler | None, S: int, mode: str = "graph") -> np.ndarray:
    """The joint policy ``(S, J)`` of the trained actors with the mode graph of each state
    (``mode="graph"``; the full DAG of the order 0, 1, ... when ``sampler`` is None and ``mode="full"``)
    or with no edges (``mode="none"``): every joint action's probability, enumerated."""
    dev = next(actors.parameters()).device
    A = actors.n_actions
    n, J = len(A), int(np.prod(A))
    grid = torch.as_tensor(np.stack(np.unravel_index(np.arange(J), A), axis=-1), device=dev)
    out = np.empty((S, J))
    for s in range(S):
        ctx = torch.zeros(J, S, device=dev)
        ctx[:, s] = 1.0
        if mode == "none":
            adj = torch.zeros(J, n, n, device=dev)
        elif mode == "full" or sampler is None:
            adj = torch.triu(torch.ones(n, n, device=dev), diagonal=1).expand(J, n, n)
        else:
            adj, _, _ = sampler(ctx, sample=False)
        out[s] = actors.log_prob(ctx, grid, adj).exp().cpu().numpy()
    return out


@result
class DeepBNResult:
    """Outcome of :func:`train_bn_actor_critic`.

    Attributes
    ----------
    value_graph : float
        Exact ``J = rho^T V^pi`` with the graph used at execution (the sampler's mode graph; ``graph="full"``:
        the full DAG; ``"none"``: no edges).
    value_independent : float
        Exact ``J`` with every edge removed (decentralised execution).
    values_graph, values_independent : ndarray, shape (n_checkpoints,)
        The same at the checkpoints.
    edge_density : ndarray, shape (n_checkpoints,)
        Mean expected number of edges per state at the checkpoints (0 for ``"none"``).
    checkpoints : ndarray of int
        Iterations done at each checkpoint.
    losses : ndarray, shape (n_checkpoints,)
        Mean training loss (policy + value - entropy + sparsity terms) over the updates since the
        previous checkpoint.
    clip_fraction : ndarray, shape (n_checkpoints,)
        ``objective="mappo"``: mean fraction of samples whose probability ratio left
        ``[1 - clip, 1 + clip]`` over the epochs since the previous checkpoint; ``NaN`` for
        ``"a2c"`` (no ratio is clipped).
    optimum : float
        ``rho^T V*`` of the centralised optimum (:func:`mdp.solve` on the joint-action MDP).
    actors, sampler, critic : torch modules
        The trained networks (``sampler`` is ``None`` unless ``graph="learned"``).
    device : str
    """

    value_graph: float
    value_independent: float
    values_graph: np.ndarray
    values_independent: np.ndarray
    edge_density: np.ndarray
    checkpoints: np.ndarray
    losses: np.ndarray
    clip_fraction: np.ndarray
    optimum: float
    actors: object
    sampler: object
    critic: object
    device: str


def _resolve_device(device):
    if device is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    dev = torch.device(device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError("device is 'cuda' but torch.cuda.is_available() is False on this machine")
    return dev


def train_bn_actor_critic(
    env_fn=None,
    *,
    graph: str = "learned",
    n_iter: int = 2000,
    n_envs: int = 32,
    lr: float = 0.01,
    beta: float = 1.0,
    tau: float = 1.0,
    entropy: float = 0.01,
    hidden: int = 32,
    gamma: float | None = None,
    rng,
    n_checkpoints: int = 10,
    device=None,
    objective: str = "a2c",
    n_steps: int = 8,
    epochs: int = 4,
    clip: float = 0.2,
    gae_lambda: float = 0.95,
) -> DeepBNResult:
    """Train BN actors with a learned (or fixed) DAG by synchronous advantage actor-critic or MAPPO.

    Parameters
    ----------
    env_fn : callable, optional
        ``env_fn() -> pettingzoo ParallelEnv`` whose ``unwrapped.model()`` is a
        :class:`marl.bn.CooperativeGame` and whose observations are the state index (default
        :func:`marl.envs.coop_games_v0.parallel_env` with ``max_cycles=None``).
    graph : {"learned", "none", "full"}
        A context-dependent DAG from :class:`DAGSampler` with the growing sparsity penalty; no edges;
        or the full DAG of the agents' index order.
    n_iter : int
        Updates; an ``"a2c"`` update steps all ``n_envs`` environments once, a ``"mappo"`` update
        ``n_steps`` times.
    lr, beta, tau, entropy, hidden : float, float, float, float, int
        Adam step, final sparsity weight (``beta_t = beta t / n_iter``), relaxation temperature,
        entropy bonus, hidden width.
    gamma : float, optional
        Discount of the advantage and of the exact evaluation (default: the model's).
    rng : numpy.random.Generator
        Seeds torch's generator, the network initialisation and the environments.
    device : str or torch.device, optional
        Default CUDA when available, else CPU.
    objective : {"a2c", "mappo"}
        ``"a2c"`` (default): one TD(0) advantage actor-critic step per environment step.
        ``"mappo"``: collect ``n_steps`` steps of the ``n_envs`` environments, compute GAE(``gamma``,
        ``gae_lambda``) advantages with the centralised state-value critic (bootstrapped from the
        true next state at truncations, the chain cut there), normalise them, then take ``epochs``
        full-batch Adam steps on the clipped surrogate ``-min(rho A, clip(rho, 1 -+ clip) A)`` with
        ``rho = pi(a | s, G) / pi_old(a | s, G)`` (the joint BN probability under the DAG ``G``
        sampled at collection), the value loss to the returns ``A + V_old``, the entropy bonus and
        the sparsity penalty. With ``graph="learned"`` the DAG of each step is re-drawn with the
        same noise, hard in value equal to the collected one, so its straight-through gradient
        reaches the sampler.
    n_steps, epochs : int
        Rollout length and epochs per batch (``"mappo"`` only).
    clip : float
        Ratio clip ``epsilon`` in ``(0, 1)`` (``"mappo"`` only).
    gae_lambda : float
        GAE ``lambda`` in ``[0, 1]``; 0 is the TD(0) advantage (``"mappo"`` only).
    """
    import mdp

    if env_fn is None:
        from marl.envs import coop_games_v0

        def env_fn():
            return coop_games_v0.parallel_env(max_cycles=None)
    elif not callable(env_fn):
        raise TypeError(f"env_fn must be a callable returning a PettingZoo ParallelEnv, got {type(env_fn).__name__}")
    if graph not in _GRAPHS:
        raise ValueError(f"graph must be one of {_GRAPHS}, got {graph!r}")
    n_iter = check_positive_int(n_iter, "n_iter")
    n_envs = check_positive_int(n_envs, "n_envs")
    lr, tau = check_tol(lr, "lr"), check_tol(tau, "tau")
    beta, entropy = check_tol(beta, "beta", allow_zero=True), check_tol(entropy, "entropy", allow_zero=True)
    hidden = check_positive_int(hidden, "hidden")
    n_checkpoints = check_positive_int(n_checkpoints, "n_checkpoints")
    if objective not in _OBJECTIVES:
        raise ValueError(f"objective must be one of {_OBJECTIVES}, got {objective!r}")
    n_steps = check_positive_int(n_steps, "n_steps")
    epochs = check_positive_int(epochs, "epochs")
    clip = check_real(clip, "clip", "(0, 1)")
    gae_lambda = check_real(gae_lambda, "gae_lambda", "[0, 1]")
    rng = check_rng(rng)
    dev = _resolve_device(device)

    envs = [env_fn() for _ in range(n_envs)]
    game = envs[0].unwrapped.model()
    g = game.gamma if gamma is None else check_gamma(gamma)
    S, A, n = game.n_states, game.n_actions, game.n_agents
    agents = envs[0].possible_agents
    torch.manual_seed(int(rng.integers(2**62)))
    gen = torch.Generator(device=dev)
    gen.manual_seed(int(rng.integers(2**62)))
    actors = BNActors(A, S, hidden).to(dev)
    critic = _mlp(S, 1, hidden).to(dev)
    sampler = DAGSampler(n, S, hidden).to(dev) if graph == "learned" else None
    params = list(actors.parameters()) + list(critic.parameters()) + (list(sampler.parameters()) if sampler else [])
    opt = torch.optim.Adam(params, lr=lr)
    eye = torch.eye(S, device=dev)
    full = torch.triu(torch.ones(n, n, device=dev), diagonal=1)
    states = [int(e.reset(seed=int(rng.integers(2**31)))[1][agents[0]]["state"]) for e in envs]

    jm = game.joint_mdp
    optimum = float(np.asarray(game.mu) @ np.asarray(mdp.solve(jm.with_gamma(g) if g != game.gamma else jm).v))

    def evaluate():
        out = []
        m = jm.with_gamma(g) if g != game.gamma else jm
        for mode in ("graph", "none"):
            if mode == "graph" and graph == "none":
                mode = "none"
            pi = exact_joint_policy(actors, sampler, S, "full" if (mode == "graph" and graph == "full") else mode)
            pi /= pi.sum(axis=1, keepdims=True)
            out.append(float(np.asarray(game.mu) @ np.asarray(mdp.policy_evaluation(m, pi).v)))
        if sampler is not None:
            with torch.no_grad():
                dens = float(sampler(eye, sample=False)[2].mean())
        else:
            dens = 0.0 if graph == "none" else float(n * (n - 1) / 2)
        return out[0], out[1], dens

    cps = np.unique(np.linspace(0, n_iter, n_checkpoints + 1).round().astype(np.int64))[1:]
    vg, vi, dens, loss_cp, clip_cp = [], [], [], [], []
    loss_acc, clip_acc = [], []
    k = 0

    def policy_inputs(ctx):
        if sampler is not None:
            seed = int(torch.randint(2**62, (1,), generator=gen, device=gen.device))
            adj, order, expected = sampler(ctx, tau=tau, generator=_seeded(seed))
            return adj, order, expected, seed
        adj = (full if graph == "full" else torch.zeros(n, n, device=dev)).expand(ctx.shape[0], n, n)
        order = torch.arange(n, device=dev).expand(ctx.shape[0], n)
        return adj, order, torch.zeros(ctx.shape[0], device=dev), None

    def _seeded(seed):
        g_ = torch.Generator(device=dev)
        g_.manual_seed(seed)
        return g_

    def env_step(a_np):
        rewards, nxt, true_nxt, cut = [], [], [], []
        for e, env in enumerate(envs):
            _, rew, _, trunc, info = env.step({ag: int(a_np[e, i]) for i, ag in enumerate(agents)})
            rewards.append(rew[agents[0]])
            true_nxt.append(int(info[agents[0]]["state"]))
            nxt.append(true_nxt[-1])
            cut.append(bool(trunc[agents[0]]))
            if cut[-1]:
                nxt[-1] = int(env.reset()[1][agents[0]]["state"])
        return rewards, nxt, true_nxt, cut

    def checkpoint(t):
        nonlocal k
        if k < len(cps) and t + 1 == cps[k]:
            a, b, c = evaluate()
            vg.append(a)
            vi.append(b)
            dens.append(c)
            loss_cp.append(float(np.mean(loss_acc)))
            clip_cp.append(float(np.mean(clip_acc)) if clip_acc else float("nan"))
            loss_acc.clear()
            clip_acc.clear()
            k += 1

    if objective == "mappo":
        for t in range(n_iter):
            ctxs, adjs, seeds, acts_l, logp_old, rews, tnxt, cuts = [], [], [], [], [], [], [], []
            for _ in range(n_steps):
                ctx = eye[torch.as_tensor(states, device=dev)]
                with torch.no_grad():
                    adj, order, _, seed = policy_inputs(ctx)
                    adj = adj.round()
                    acts = actors.sample(ctx, adj, order, generator=gen)
                    lp = actors.log_prob(ctx, acts, adj)
                rewards, nxt, true_nxt, cut = env_step(acts.cpu().numpy())
                ctxs.append(ctx)
                adjs.append(adj)
                seeds.append(seed)
                acts_l.append(acts)
                logp_old.append(lp)
                rews.append(rewards)
                tnxt.append(true_nxt)
                cuts.append(cut)
                states = nxt
            r = torch.as_tensor(rews, dtype=torch.float32, device=dev)  # (T, E)
            cut_t = torch.as_tensor(cuts, dtype=torch.float32, device=dev)
            with torch.no_grad():
                v_old = critic(torch.stack(ctxs)).squeeze(-1)  # (T, E)
                v_next = critic(eye[torch.as_tensor(tnxt, device=dev)]).squeeze(-1)
                delta = r + g * v_next - v_old
                adv = torch.zeros_like(delta)
                run = torch.zeros(n_envs, device=dev)
                for u in range(n_steps - 1, -1, -1):
                    run = delta[u] + g * gae_lambda * (1.0 - cut_t[u]) * run
                    adv[u] = run
                ret = (adv + v_old).reshape(-1)
                adv = adv.reshape(-1)
                if adv.numel() > 1:
                    adv = (adv - adv.mean()) / (adv.std() + 1e-8)
            ctx_b = torch.cat(ctxs)
            acts_b = torch.cat(acts_l)
            lp_old_b = torch.cat(logp_old)
            beta_t = beta * t / n_iter
            for _ in range(epochs):
                if sampler is not None:
                    parts = [sampler(c, tau=tau, generator=_seeded(sd)) for c, sd in zip(ctxs, seeds)]
                    adj_new = torch.cat([p[0] for p in parts])
                    adj_b = torch.cat(adjs) + (adj_new - adj_new.detach())  # collected DAG, ST gradient
                    expected = torch.cat([p[2] for p in parts])
                else:
                    adj_b = torch.cat(adjs)
                    expected = torch.zeros(ctx_b.shape[0], device=dev)
                logp, ent = actors.log_prob(ctx_b, acts_b, adj_b, with_entropy=True)
                ratio = torch.exp(logp - lp_old_b)
                surr = torch.minimum(ratio * adv, ratio.clamp(1.0 - clip, 1.0 + clip) * adv)
                v = critic(ctx_b).squeeze(1)
                loss = -surr.mean() + 0.5 * ((v - ret) ** 2).mean() - entropy * ent.mean() + beta_t * expected.mean()
                opt.zero_grad()
                loss.backward()
                opt.step()
                loss_acc.append(float(loss.detach()))
                clip_acc.append(float(((ratio.detach() - 1.0).abs() > clip).float().mean()))
            checkpoint(t)
        return _finish(vg, vi, dens, cps, loss_cp, clip_cp, optimum, actors, sampler, critic, dev)

    for t in range(n_iter):
        ctx = eye[torch.as_tensor(states, device=dev)]
        if sampler is not None:
            adj, order, expected = sampler(ctx, tau=tau, generator=gen)
        else:
            adj = (full if graph == "full" else torch.zeros(n, n, device=dev)).expand(n_envs, n, n)
            order = torch.arange(n, device=dev).expand(n_envs, n)
            expected = torch.zeros(n_envs, device=dev)
        acts = actors.sample(ctx, adj.detach(), order, generator=gen)
        # gradients reach the sampler through adj (straight-through)
        logp, ent = actors.log_prob(ctx, acts, adj, with_entropy=True)
        a_np = acts.cpu().numpy()
        rewards, nxt = [], []
        for e, env in enumerate(envs):
            _, rew, _, trunc, info = env.step({ag: int(a_np[e, i]) for i, ag in enumerate(agents)})
            rewards.append(rew[agents[0]])
            nxt.append(int(info[agents[0]]["state"]))
            if trunc[agents[0]]:
                nxt[-1] = int(env.reset()[1][agents[0]]["state"])
        r = torch.as_tensor(rewards, dtype=torch.float32, device=dev)
        v = critic(ctx).squeeze(1)
        with torch.no_grad():
            target = r + g * critic(eye[torch.as_tensor(nxt, device=dev)]).squeeze(1)
        adv = target - v
        beta_t = beta * t / n_iter
        loss = -(logp * adv.detach()).mean() + 0.5 * (adv**2).mean() - entropy * ent.mean() + beta_t * expected.mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        loss_acc.append(float(loss.detach()))
        states = nxt
        checkpoint(t)
    return _finish(vg, vi, dens, cps, loss_cp, clip_cp, optimum, actors, sampler, critic, dev)


def _finish(vg, vi, dens, cps, loss_cp, clip_cp, optimum, actors, sampler, critic, dev):
    return DeepBNResult(
        value_graph=vg[-1],
        value_independent=vi[-1],
        values_graph=np.array(vg),
        values_independent=np.array(vi),
        edge_density=np.array(dens),
        checkpoints=cps,
        losses=np.array(loss_cp),
        clip_fraction=np.array(clip_cp),
        optimum=optimum,
        actors=actors,
        sampler=sampler,
        critic=critic,
        device=str(dev),
    )
