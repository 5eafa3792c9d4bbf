"""Granular GRPO for flow models (G²RPO; Zhou et al. 2025, arXiv:2510.01982; ``docs/papers/g2rpo_flow.md``)
on a toy 2-D flow: singular stochastic sampling, multi-granularity advantage integration and a
GRPO trainer, next to the DanceGRPO-style baseline that injects noise at every step.

The model is the *exact* rectified-flow velocity field of a Gaussian mixture with trainable mixture
logits (:class:`GaussianMixtureFlow`): ``x_t = (1 - t) x_data + t eps``, so ``v(x, t) = E[eps - x_data
| x_t = x]`` in closed form. With one component the field is affine in ``x``, every sampler below is
an affine map of its noises, and the credit claims can be checked against exact values.

Time grid ``t_j = 1 - j / T`` (``j = 0..T``; noise at ``t = 1``, data at ``t = 0``). ODE step
``x_{j+1} = x_j + (t_{j+1} - t_j) v(x_j, t_j)``; SDE step (Flow-GRPO's marginal-preserving form,
constant noise level ``sigma``)::

    x_{j+1} = mu(x_j, t_j) + sigma sqrt(t_j - t_{j+1}) eps,
    mu(x, t) = x + (t_{j+1} - t_j) [v + sigma^2 / (2 t) (x + (1 - t) v)],

a Gaussian transition whose log-density :func:`transition_logprob` gives the policy ratio.
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np
import torch

from mdp._common import result
from mdp._validation import as_float_array, check_positive_int, check_real, check_rng
from mdp.llm.registry import register_estimator

__all__ = [
    "GaussianMixtureFlow",
    "time_grid",
    "sde_mean",
    "transition_logprob",
    "sample_paths",
    "ode_complete",
    "SingularGroup",
    "singular_group",
    "fused_advantages",
    "multi_granularity_advantages",
    "explained_variance",
    "noise_shares",
    "conditional_variance_share",
    "FlowTrainResult",
    "train_flow_grpo",
]

_DT = torch.float64


class GaussianMixtureFlow(torch.nn.Module):
    """Exact rectified-flow velocity of ``sum_c w_c N(m_c, s^2 I)``, ``w = softmax(logits)``.

    For component ``c``, ``x_t | c ~ N((1 - t) m_c, sigma_t^2 I)`` with ``sigma_t^2 = (1 - t)^2 s^2 + t^2``
    and ``E[eps - x_data | x_t = x, c] = (t - (1 - t) s^2) / sigma_t^2 (x - (1 - t) m_c) - m_c``; the
    marginal velocity mixes these with the posterior weights ``gamma_c(x, t)`` (docs/papers/g2rpo_flow.md,
    "As implemented"). The ``logits`` are the trainable parameters (the policy).

    Parameters
    ----------
    means : array_like (C, d)
        Component means.
    std : float
        Component standard deviation ``s > 0``.
    logits : array_like (C,), optional
        Initial mixture logits (default 0: equal weights).
    """

    def __init__(self, means, *, std: float = 0.3, logits=None):
        super().__init__()
        m = as_float_array(means, "means", ndim=2)
        if m.shape[0] < 1 or m.shape[1] < 1:
            raise ValueError(f"means must be (C, d) with C, d >= 1, got shape {m.shape}")
        self.std = check_real(std, "std", "(0, inf)")
        z = np.zeros(m.shape[0]) if logits is None else as_float_array(logits, "logits", ndim=1)
        if z.shape[0] != m.shape[0]:
            raise ValueError(f"logits must have one entry per component ({m.shape[0]}), got {z.shape[0]}")
        self.register_buffer("means", torch.tensor(m, dtype=_DT))
        self.logits = torch.nn.Parameter(torch.tensor(z, dtype=_DT))

    @property
    def dim(self) -> int:
        """Dimension ``d`` of the samples."""
        return int(self.means.shape[1])

    def weights(self) -> torch.Tensor:
        """Mixture weights ``softmax(logits)`` ``(C,)``."""
        return torch.exp(self.logits - torch.logsumexp(self.logits, 0))

    def velocity(self, x: torch.Tensor, t: float) -> torch.Tensor:
        """``v(x, t)`` for ``x`` ``(n, d)`` at time ``t`` in ``(0, 1]`` (``(n, d)``)."""
        s2 = self.std**2
        var = (1.0 - t) ** 2 * s2 + t**2
        diff = x[:, None, :] - (1.0 - t) * self.means[None]  # (n, C, d)
        # torch.softmax stalls for milliseconds on tiny tensors with a multi-thread pool on a busy
        # machine (33 ms vs 0.3 ms measured); exp(x - logsumexp x) does not
        logw = (self.logits - torch.logsumexp(self.logits, 0))[None] - 0.5 * (diff**2).sum(-1) / var
        gam = torch.exp(logw - torch.logsumexp(logw, 1, keepdim=True))  # (n, C)
        v_c = (t - (1.0 - t) * s2) / var * diff - self.means[None]
        return (gam[..., None] * v_c).sum(1)

    def sample_data(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """``n`` exact samples of the data distribution ``(n, d)`` (for checks)."""
        w = self.weights().detach().numpy()
        c = rng.choice(w.size, size=n, p=w / w.sum())
        return self.means.numpy()[c] + self.std * rng.standard_normal((n, self.dim))


def time_grid(n_steps: int) -> np.ndarray:
    """``t_j = 1 - j / T``, ``j = 0..T`` (``(T + 1,)``)."""
    T = check_positive_int(n_steps, "n_steps")
    return 1.0 - np.arange(T + 1) / T


def sde_mean(model: GaussianMixtureFlow, x: torch.Tensor, t: float, t_next: float, noise: float) -> torch.Tensor:
    """Mean ``mu(x, t)`` of the SDE transition from ``t`` to ``t_next < t`` (module docstring)."""
    v = model.velocity(x, t)
    return x + (t_next - t) * (v + noise**2 / (2.0 * t) * (x + (1.0 - t) * v))


def transition_logprob(model, x, x_next, t: float, t_next: float, noise: float) -> torch.Tensor:
    """``log N(x_next; mu(x, t), sigma^2 (t - t_next) I)`` per row ``(n,)`` (differentiable in the
    model's parameters): the only log-probability term of a singular rollout
    (docs/papers/g2rpo_flow.md step 6)."""
    mu = sde_mean(model, x, t, t_next, noise)
    var = noise**2 * (t - t_next)
    d = x.shape[1]
    return -0.5 * ((x_next - mu) ** 2).sum(1) / var - 0.5 * d * math.log(2 * math.pi * var)


def _check_model(model):
    if not isinstance(model, GaussianMixtureFlow):
        raise TypeError(f"model must be a GaussianMixtureFlow, got {type(model).__name__}")
    return model


def _x0(x0, n, d):
    x = torch.as_tensor(as_float_array(x0, "x0"), dtype=_DT)
    if x.dim() == 1:
        x = x[None].expand(n, -1)
    if x.dim() != 2 or x.shape[1] != d or x.shape[0] != n:
        raise ValueError(f"x0 must be ({d},) or ({n}, {d}), got shape {tuple(x.shape)}")
    return x.clone()


def sample_paths(model, x0, *, n_steps: int, noise: float, sde_steps: Sequence[int], n: int, rng, eps=None):
    """Euler(-Maruyama) paths: SDE at the steps in ``sde_steps``, ODE elsewhere.

    Parameters
    ----------
    model : GaussianMixtureFlow
    x0 : array_like (d,) or (n, d)
        Initial noise (a ``(d,)`` vector is shared by the ``n`` paths: the group's shared prefix).
    n_steps : int
        ``T``.
    noise : float
        SDE noise level ``sigma > 0``.
    sde_steps : sequence of int
        Steps ``j`` in ``0..T-1`` that are stochastic (``[k]``: singular sampling; ``range(T)``:
        DanceGRPO-style full SDE).
    n : int
        Number of paths.
    rng : numpy.random.Generator
        Source of the SDE noises (ignored where ``eps`` is given).
    eps : array_like (n, T, d), optional
        The noises to use (rows of unused steps are ignored).

    Returns
    -------
    states : torch.Tensor (n, T + 1, d)
        ``x_0 .. x_T`` (no gradient).
    eps : torch.Tensor (n, T, d)
        The noises (zero at ODE steps).
    """
    model = _check_model(model)
    T = check_positive_int(n_steps, "n_steps")
    n = check_positive_int(n, "n")
    sigma = check_real(noise, "noise", "(0, inf)")
    steps = sorted({int(j) for j in sde_steps})
    if any(j < 0 or j >= T for j in steps):
        raise ValueError(f"sde_steps must lie in 0..{T - 1}, got {steps}")
    d = model.dim
    if eps is None:
        rng = check_rng(rng)
        e = torch.zeros((n, T, d), dtype=_DT)
        if steps:
            e[:, steps] = torch.as_tensor(rng.standard_normal((n, len(steps), d)), dtype=_DT)
    else:
        e = torch.as_tensor(as_float_array(eps, "eps", ndim=3), dtype=_DT).clone()
        if tuple(e.shape) != (n, T, d):
            raise ValueError(f"eps must be ({n}, {T}, {d}), got {tuple(e.shape)}")
        keep = torch.zeros(T, dtype=torch.bool)
        keep[steps] = True
        e[:, ~keep] = 0.0
    ts = time_grid(T)
    x = _x0(x0, n, d)
    out = torch.empty((n, T + 1, d), dtype=_DT)
    out[:, 0] = x
    sde = set(steps)
    with torch.no_grad():
        for j in range(T):
            t, tn = float(ts[j]), float(ts[j + 1])
            if j in sde:
                x = sde_mean(model, x, t, tn, sigma) + sigma * math.sqrt(t - tn) * e[:, j]
            else:
                x = x + (tn - t) * model.velocity(x, t)
            out[:, j + 1] = x
    return out, e


def ode_complete(model, x, start: int, *, n_steps: int, granularity: int = 1) -> torch.Tensor:
    """Deterministic completion from ``x`` at grid index ``start`` to ``t = 0``, merging every
    ``granularity`` Euler steps into one (docs/papers/g2rpo_flow.md step 4); ``(n, d)``."""
    T = check_positive_int(n_steps, "n_steps")
    m = check_positive_int(granularity, "granularity")
    if not 0 <= int(start) <= T:
        raise ValueError(f"start must lie in 0..{T}, got {start}")
    ts = time_grid(T)
    idx = list(range(int(start), T, m)) + [T]
    x = torch.as_tensor(x, dtype=_DT)
    with torch.no_grad():
        for a, b in zip(idx[:-1], idx[1:]):
            x = x + float(ts[b] - ts[a]) * model.velocity(x, float(ts[a]))
    return x


@result
class SingularGroup:
    """One group of :func:`singular_group` (``G`` branches of one shared prefix).

    Attributes
    ----------
    x_k : numpy.ndarray (d,)
        Shared state before the stochastic step.
    x_next : numpy.ndarray (G, d)
        Branched states after step ``k``.
    eps : numpy.ndarray (G, d)
        The step-``k`` noises.
    finals : numpy.ndarray (M, G, d)
        Final samples completed at each granularity.
    granularities : tuple of int
        ``M`` merge factors.
    step : int
        The stochastic step ``k``.
    """

    x_k: np.ndarray
    x_next: np.ndarray
    eps: np.ndarray
    finals: np.ndarray
    granularities: tuple
    step: int


def singular_group(
    model, x0, step: int, group_size: int, *, n_steps: int, noise: float, granularities=(1,), rng
) -> SingularGroup:
    """Singular stochastic sampling (docs/papers/g2rpo_flow.md steps 2-4): ODE from the shared ``x0`` to
    step ``k``, ``G`` SDE branches at step ``k``, ODE completion at every granularity in ``granularities``."""
    T = check_positive_int(n_steps, "n_steps")
    k = int(step)
    if not 0 <= k < T:
        raise ValueError(f"step must lie in 0..{T - 1}, got {step}")
    G = check_positive_int(group_size, "group_size", minimum=2)
    grans = tuple(check_positive_int(m, "granularities[i]") for m in granularities)
    if not grans:
        raise ValueError("granularities must not be empty")
    paths, e = sample_paths(model, np.asarray(x0, dtype=float), n_steps=T, noise=noise, sde_steps=[k], n=G, rng=rng)
    finals = torch.stack([ode_complete(model, paths[:, k + 1], k + 1, n_steps=T, granularity=m) for m in grans])
    return SingularGroup(paths[0, k].numpy(), paths[:, k + 1].numpy(), e[:, k].numpy(), finals.numpy(), grans, k)


def fused_advantages(rewards, *, fuse: str = "sum", epsilon: float = 1e-6, ddof: int = 1) -> np.ndarray:
    """Multi-granularity advantage integration for one group: ``rewards`` ``(G, M)`` (column ``m``:
    the rewards completed at granularity ``m``) -> fused ``A_i = sum_m (r_i^m - mean r^m) / (std r^m +
    eps)`` (or the mean over ``m``), ``(G,)`` (docs/papers/g2rpo_flow.md step 5). A constant column
    contributes 0. Numpy twin of the registered ``"g2rpo"`` estimator."""
    r = as_float_array(rewards, "rewards", ndim=2)
    G, M = r.shape
    if G < 2 or M < 1:
        raise ValueError(f"rewards must be (G, M) with G >= 2 and M >= 1, got shape {r.shape}")
    if fuse not in ("sum", "mean"):
        raise ValueError(f"fuse must be 'sum' or 'mean', got {fuse!r}")
    dev = r - r.mean(0)
    std = r.std(0, ddof=ddof)
    a = dev / (std + epsilon)
    a[:, np.ptp(r, 0) == 0] = 0.0
    return a.sum(1) if fuse == "sum" else a.mean(1)


def multi_granularity_advantages(
    batch, *, fuse: str = "sum", convention: str = "verl", epsilon=None, std_ddof=None, singleton="zero"
):
    """G²RPO multi-granularity advantage: GRPO within each (group, granularity), summed (or averaged) per trajectory.

    Long format, one row per (sample, granularity): ``group_ids`` the prompt group, ``trajectory_ids``
    the sample (its branch), ``step_ids`` the granularity index ``m``; ``rewards`` the reward of the
    sample completed at that granularity. ``A^m_i = (r^m_i - mean_g r^m) / (std_g r^m + eps)`` with the
    registry's ``grpo`` (``convention``, ``epsilon``, ``std_ddof``, ``singleton``), then
    ``A_i = sum_m A^m_i`` (``fuse="sum"``) or the mean; every row of trajectory ``i`` carries ``A_i``
    (take one row per trajectory for the loss). docs/papers/g2rpo_flow.md step 5.
    """
    from mdp.llm.registry import compute_advantages
    from mdp.llm.segments import dense_codes, gather, segment_count, segment_sum

    if fuse not in ("sum", "mean"):
        raise ValueError(f"g2rpo: fuse must be 'sum' or 'mean', got {fuse!r}")
    g, tr, m = batch.group_ids, batch.trajectory_ids, batch.step_ids
    pair = torch.unique(torch.stack([g, m]), dim=1, return_inverse=True)[1]
    tcodes, n_traj = dense_codes(tr)
    if torch.unique(torch.stack([tr, m]), dim=1).shape[1] != batch.n_rows:
        raise ValueError(
            "g2rpo: each (trajectory_ids, step_ids) pair must occur once (one row per sample and granularity)"
        )
    if torch.unique(torch.stack([tr, g]), dim=1).shape[1] != n_traj:
        raise ValueError("g2rpo: every trajectory must belong to one group (trajectory_ids spans several group_ids)")
    gcodes, n_groups = dense_codes(g)
    rows_g = segment_count(gcodes, n_groups)
    rows = torch.arange(batch.n_rows, device=tcodes.device)
    first = torch.full((n_traj,), batch.n_rows, dtype=torch.int64, device=tcodes.device)
    first = first.scatter_reduce(0, tcodes, rows, reduce="amin")
    traj_g = segment_count(gcodes[first], n_groups)
    gran_g = segment_count(torch.unique(torch.stack([gcodes, m]), dim=1)[0], n_groups)
    if not bool(torch.equal(rows_g, traj_g * gran_g)):
        bad = int(torch.nonzero(rows_g != traj_g * gran_g)[0])
        raise ValueError(
            f"g2rpo: group {bad} (dense code) is unbalanced: every trajectory needs one row per granularity "
            f"of its group ({int(rows_g[bad])} rows for {int(traj_g[bad])} trajectories x {int(gran_g[bad])} granularities)"
        )
    opts = {"convention": convention, "epsilon": epsilon, "std_ddof": std_ddof, "singleton": singleton}
    a = compute_advantages("grpo", batch.replace(group_ids=pair), **opts)
    fused = segment_sum(a, tcodes, n_traj)
    if fuse == "mean":
        fused = fused / segment_count(tcodes, n_traj, dtype=a.dtype)
    return gather(fused, tcodes)


register_estimator(
    "g2rpo",
    multi_granularity_advantages,
    needs=("group_ids", "trajectory_ids", "step_ids"),
    options={"fuse": "sum", "convention": "verl", "epsilon": None, "std_ddof": None, "singleton": "zero"},
    paper="G2RPO (Granular GRPO), Zhou et al. 2025, arXiv:2510.01982 (docs/papers/g2rpo_flow.md)",
    equation="A_i = sum_m (r_i^m - mean_g r^m) / (std_g r^m + eps); rows = (sample i, granularity m = step_ids)",
    claims=("GF2",),
)


# ------------------------------------------------------------------------------------------------
# credit diagnostics


def explained_variance(r, eps) -> float:
    """OLS ``R^2`` of ``r`` ``(n,)`` regressed (with intercept) on the noises ``eps`` ``(n, d)``:
    the share of reward variance a linear function of one step's noise explains."""
    y = as_float_array(r, "r", ndim=1)
    X = as_float_array(eps, "eps", ndim=2)
    if X.shape[0] != y.size or y.size <= X.shape[1] + 1:
        raise ValueError(f"r and eps must have the same n > d + 1 rows, got {y.size} and {X.shape}")
    Xc = np.column_stack([np.ones(y.size), X])
    coef, *_ = np.linalg.lstsq(Xc, y, rcond=None)
    res = y - Xc @ coef
    tot = float(((y - y.mean()) ** 2).sum())
    return 1.0 - float(res @ res) / tot if tot > 0 else float("nan")


def noise_shares(model, x0, reward_weight, *, n_steps: int, noise: float, sde_steps) -> np.ndarray:
    """Exact share of reward variance from each step's noise for an affine model (one component)
    and a linear reward ``r = w . x_T``: ``||b_j||^2 / sum_l ||b_l||^2`` with ``b_j = d r / d eps_j``
    (autograd; ``(T,)``, zero at ODE steps). For a nonlinear model it is the linearisation at ``eps = 0``."""
    model = _check_model(model)
    T = check_positive_int(n_steps, "n_steps")
    w = torch.as_tensor(as_float_array(reward_weight, "reward_weight", ndim=1), dtype=_DT)
    steps = sorted({int(j) for j in sde_steps})
    ts = time_grid(T)
    e = torch.zeros((T, model.dim), dtype=_DT, requires_grad=True)
    x = _x0(x0, 1, model.dim)
    for j in range(T):
        t, tn = float(ts[j]), float(ts[j + 1])
        if j in steps:
            x = sde_mean(model, x, t, tn, noise) + noise * math.sqrt(t - tn) * e[j][None]
        else:
            x = x + (tn - t) * model.velocity(x, t)
    (b,) = torch.autograd.grad((x[0] * w).sum(), e)
    s = (b.detach() ** 2).sum(1).numpy()
    return s / s.sum() if s.sum() > 0 else s


def conditional_variance_share(
    model, x0, reward, step: int, *, n_steps: int, noise: float, sde_steps, n_outer: int, n_inner: int, rng
) -> float:
    """Monte-Carlo ``Var(E[r | eps_k]) / Var(r)``, the share of reward variance the step-``k`` noise
    explains (any model, any reward): ``n_outer`` draws of ``eps_k``, each with ``n_inner`` draws of the
    other steps' noises (1 = all of it: ``Var(r | eps_k) = 0`` under singular sampling, claim 1 of
    docs/papers/g2rpo_flow.md). Unbiased within-variance estimate (ddof 1)."""
    T = check_positive_int(n_steps, "n_steps")
    no = check_positive_int(n_outer, "n_outer", minimum=2)
    ni = check_positive_int(n_inner, "n_inner", minimum=2)
    rng = check_rng(rng)
    d = model.dim
    e = rng.standard_normal((no, 1, T, d)).repeat(ni, axis=1)
    e[:, :, [j for j in range(T) if j != step]] = rng.standard_normal((no, ni, T - 1, d))
    paths, _ = sample_paths(
        model, x0, n_steps=T, noise=noise, sde_steps=sde_steps, n=no * ni, rng=rng, eps=e.reshape(no * ni, T, d)
    )
    r = np.asarray(reward(paths[:, -1].numpy()), dtype=float).reshape(no, ni)
    total = r.var(ddof=1)
    within = float(r.var(axis=1, ddof=1).mean())
    return 1.0 - within / total if total > 0 else float("nan")


# ------------------------------------------------------------------------------------------------
# training


@result
class FlowTrainResult:
    """Output of :func:`train_flow_grpo`.

    Attributes
    ----------
    mean_reward : numpy.ndarray (n_iter + 1,)
        Exact-ish expected reward of the ODE sampler before each update (``n_eval`` fresh samples,
        the same noises at every evaluation).
    weights : numpy.ndarray (n_iter + 1, C)
        Mixture weights before each update.
    logits : numpy.ndarray (C,)
        Final logits.
    scheme : str
        ``"singular"`` or ``"full_sde"``.
    granularities : tuple of int
    """

    mean_reward: np.ndarray
    weights: np.ndarray
    logits: np.ndarray
    scheme: str
    granularities: tuple


def train_flow_grpo(
    model,
    reward,
    *,
    scheme: str = "singular",
    granularities=(1,),
    n_iter: int = 300,
    group_size: int = 8,
    n_groups: int = 2,
    n_steps: int = 10,
    noise: float = 0.7,
    sde_window=None,
    learning_rate: float = 0.05,
    clip: float = 0.2,
    n_eval: int = 512,
    rng,
) -> FlowTrainResult:
    """GRPO on a ``GaussianMixtureFlow`` (updates ``model.logits`` in place).

    ``scheme="singular"`` (G²RPO, docs/papers/g2rpo_flow.md steps 1-6): per group, one initial noise,
    one stochastic step ``k`` drawn uniformly from ``sde_window`` (default the first half of the
    steps), ``G`` branches completed at every granularity, fused advantages (registered ``"g2rpo"``),
    PPO loss on the step-``k`` transition only. ``scheme="full_sde"`` (DanceGRPO-like baseline): SDE at
    every step, GRPO advantage of the final reward (granularity 1) broadcast to every transition.
    One optimisation step per batch (ratio 1 at the step, so clipping is inactive), Adam on the logits.
    ``reward(x (n, d)) -> (n,)``.
    """
    from mdp.llm import RolloutBatch, compute_advantages
    from mdp.llm.losses import policy_loss

    model = _check_model(model)
    rng = check_rng(rng)
    if scheme not in ("singular", "full_sde"):
        raise ValueError(f"scheme must be 'singular' or 'full_sde', got {scheme!r}")
    T = check_positive_int(n_steps, "n_steps", minimum=2)
    G = check_positive_int(group_size, "group_size", minimum=2)
    B = check_positive_int(n_groups, "n_groups")
    n_it = check_positive_int(n_iter, "n_iter", minimum=0)
    grans = tuple(check_positive_int(m, "granularities[i]") for m in granularities)
    if not grans:
        raise ValueError("granularities must not be empty")
    if scheme == "full_sde" and grans != (1,):
        raise ValueError("scheme='full_sde' scores the final sample only: granularities must be (1,)")
    window = tuple(range(max(1, T // 2))) if sde_window is None else tuple(int(j) for j in sde_window)
    if not window or any(j < 0 or j >= T for j in window):
        raise ValueError(f"sde_window must be non-empty steps in 0..{T - 1}, got {sde_window}")
    lr = check_real(learning_rate, "learning_rate", "(0, inf)")
    check_real(noise, "noise", "(0, inf)")
    ts = time_grid(T)
    # Adam (Kingma & Ba 2015, beta = (0.9, 0.999)) written out: torch.optim imports torch._dynamo (seconds)
    m1 = torch.zeros_like(model.logits)
    m2 = torch.zeros_like(model.logits)
    eval_x0 = rng.standard_normal((check_positive_int(n_eval, "n_eval"), model.dim))

    def evaluate():
        with torch.no_grad():
            xf = ode_complete(model, torch.as_tensor(eval_x0), 0, n_steps=T)
        return float(np.mean(reward(xf.numpy())))

    curve, wts = [evaluate()], [model.weights().detach().numpy().copy()]
    for _ in range(n_it):
        logps, advs = [], []
        for _g in range(B):
            x0 = rng.standard_normal(model.dim)
            if scheme == "singular":
                k = int(rng.choice(window))
                grp = singular_group(model, x0, k, G, n_steps=T, noise=noise, granularities=grans, rng=rng)
                r = np.stack([np.asarray(reward(f), dtype=float) for f in grp.finals], 1)  # (G, M)
                M = len(grans)
                batch = RolloutBatch(
                    rewards=r.ravel(),
                    group_ids=np.zeros(G * M, dtype=np.int64),
                    trajectory_ids=np.repeat(np.arange(G), M),
                    step_ids=np.tile(np.arange(M), G),
                )
                a = compute_advantages("g2rpo", batch).reshape(G, M)[:, 0]
                xk = torch.tensor(grp.x_k)[None].expand(G, -1)
                lp = transition_logprob(model, xk, torch.tensor(grp.x_next), float(ts[k]), float(ts[k + 1]), noise)
                logps.append(lp[:, None])
                advs.append(a[:, None])
            else:
                paths, _ = sample_paths(model, x0, n_steps=T, noise=noise, sde_steps=range(T), n=G, rng=rng)
                r = np.asarray(reward(paths[:, -1].numpy()), dtype=float)
                a = compute_advantages("grpo", RolloutBatch(rewards=r, group_ids=np.zeros(G, dtype=np.int64)))
                lp = torch.stack(
                    [
                        transition_logprob(model, paths[:, j], paths[:, j + 1], float(ts[j]), float(ts[j + 1]), noise)
                        for j in range(T)
                    ],
                    1,
                )
                logps.append(lp)
                advs.append(a[:, None].expand(G, T))
        logp = torch.cat(logps)
        adv = torch.cat(advs)
        old = logp.detach()
        loss = policy_loss("ppo", logp, old, adv, torch.ones_like(logp), agg="token-mean", eps_low=clip).loss
        (grad,) = torch.autograd.grad(loss, model.logits)
        with torch.no_grad():
            m1.mul_(0.9).add_(0.1 * grad)
            m2.mul_(0.999).add_(0.001 * grad**2)
            t = len(curve)
            model.logits -= lr * (m1 / (1 - 0.9**t)) / ((m2 / (1 - 0.999**t)).sqrt() + 1e-8)
        curve.append(evaluate())
        wts.append(model.weights().detach().numpy().copy())
    return FlowTrainResult(np.asarray(curve), np.asarray(wts), model.logits.detach().numpy().copy(), scheme, grans)
