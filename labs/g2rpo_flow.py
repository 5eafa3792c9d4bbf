"""Lab ``g2rpo_flow``: G²RPO's singular stochastic sampling and multi-granularity advantages on a toy
2-D flow (docs/papers/g2rpo_flow.md, CPU-scale lab).

Model: :class:`mdp.llm.flow_grpo.GaussianMixtureFlow`, the exact rectified-flow velocity of four
Gaussian modes at ``(+-r, +-r)`` (std ``s``) with trainable mixture logits (equal at the start);
``T`` Euler steps, SDE noise level ``sigma``. Reward: a Gaussian bump on the first ("preferred") mode,
``R(x) = exp(-||x - m_0||^2 / (2 w^2))``.

Panels:

* credit: for each step ``k``, the share of reward variance the step-``k`` noise explains,
  ``Var(E[r | eps_k]) / Var(r)`` (nested Monte Carlo, :func:`mdp.llm.flow_grpo.conditional_variance_share`),
  under singular sampling (SDE at ``k`` only; 1 by construction, claim 1 / GF1) and under full-SDE
  sampling (SDE at every step), at the initial model, one shared ``x_0`` per estimate;
* gradient noise: relative variance ``tr Cov(g) / ||E g||^2`` of the step-``k`` policy-gradient estimate
  ``g = (1/G) sum_i A_i grad log p(x^i_{k+1} | x_k)`` over independent groups at the initial model,
  singular (fused advantage) vs full SDE (terminal advantage), for each ``k`` of the training window
  (the notes' claim 2);
* training: exact-noise evaluation of the ODE sampler's mean reward over GRPO updates for three arms,
  full-SDE GRPO (DanceGRPO-like: all ``T`` transitions, terminal advantage), singular ``M = {1}``, and
  singular + multi-granularity ``M = {1, 2, 3}``;
* mode weights after training (mode coverage, the notes' reward-hacking check).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from labs.base import Lab, register_lab
from labs.executors import limit_threads

__all__ = ["G2rpoFlowConfig", "ARMS", "make_model", "run", "plot", "LAB"]

#: arm -> (scheme, granularities)
ARMS = {
    "full SDE (DanceGRPO-like)": ("full_sde", (1,)),
    "singular, M={1}": ("singular", (1,)),
    "singular, M={1,2,3}": ("singular", (1, 2, 3)),
}


@dataclass(frozen=True)
class G2rpoFlowConfig:
    """Model, sampler, credit estimates and training run."""

    radius: float = 1.5
    std: float = 0.3
    reward_width: float = 0.5
    n_steps: int = 10
    noise: float = 0.7
    credit_outer: int = 32
    credit_inner: int = 12
    grad_groups: int = 40
    group_size: int = 8
    n_groups: int = 2
    n_iter: int = 100
    learning_rate: float = 0.02
    n_eval: int = 128
    threads: int = 1

    def __post_init__(self):
        for name in ("n_steps", "credit_outer", "credit_inner", "grad_groups", "group_size", "n_eval"):
            if int(getattr(self, name)) < 2:
                raise ValueError(f"{name} must be >= 2, got {getattr(self, name)}")
        if self.n_groups < 1:
            raise ValueError(f"n_groups must be >= 1, got {self.n_groups}")
        if self.n_iter < 0:
            raise ValueError(f"n_iter must be >= 0, got {self.n_iter}")
        for name in ("radius", "std", "reward_width", "noise", "learning_rate"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be > 0, got {getattr(self, name)}")


def make_model(config: G2rpoFlowConfig):
    """The four-mode flow and the reward of the first mode."""
    from mdp.llm.flow_grpo import GaussianMixtureFlow

    r = config.radius
    means = np.array([[r, r], [-r, r], [-r, -r], [r, -r]])

    def reward(x):
        return np.exp(-((np.asarray(x) - means[0]) ** 2).sum(-1) / (2 * config.reward_width**2))

    return GaussianMixtureFlow(means, std=config.std), reward


def _grad_relvar(model, reward, config, k, scheme, rng):
    """``tr Cov(g) / ||E g||^2`` of the step-k gradient estimate over independent groups."""
    import torch

    from mdp.llm import RolloutBatch, compute_advantages
    from mdp.llm.flow_grpo import sample_paths, singular_group, time_grid, transition_logprob

    ts = time_grid(config.n_steps)
    G = config.group_size
    gs = []
    for _ in range(config.grad_groups):
        x0 = rng.standard_normal(2)
        if scheme == "singular":
            grp = singular_group(
                model, x0, k, G, n_steps=config.n_steps, noise=config.noise, granularities=(1, 2, 3), rng=rng
            )
            r = np.stack([reward(f) for f in grp.finals], 1)
            b = RolloutBatch(
                rewards=r.ravel(),
                group_ids=np.zeros(r.size, np.int64),
                trajectory_ids=np.repeat(np.arange(G), 3),
                step_ids=np.tile(np.arange(3), G),
            )
            a = compute_advantages("g2rpo", b).reshape(G, 3)[:, 0]
            xk, xn = torch.tensor(grp.x_k)[None].expand(G, -1), torch.tensor(grp.x_next)
        else:
            paths, _ = sample_paths(
                model, x0, n_steps=config.n_steps, noise=config.noise, sde_steps=range(config.n_steps), n=G, rng=rng
            )
            r = reward(paths[:, -1].numpy())
            a = compute_advantages("grpo", RolloutBatch(rewards=r, group_ids=np.zeros(G, np.int64)))
            xk, xn = paths[:, k], paths[:, k + 1]
        lp = transition_logprob(model, xk, xn, float(ts[k]), float(ts[k + 1]), config.noise)
        (g,) = torch.autograd.grad((a * lp).mean(), model.logits)
        gs.append(g.numpy().copy())
    g = np.asarray(gs)
    mean = g.mean(0)
    return float(g.var(0, ddof=1).sum() / max(float(mean @ mean), 1e-300)), float(mean @ mean)


def run(config: G2rpoFlowConfig, rng: np.random.Generator) -> list[dict]:
    rng = np.random.default_rng(rng)
    rows = []
    with limit_threads(config.threads):
        import torch

        from mdp.llm.flow_grpo import conditional_variance_share, train_flow_grpo

        torch.set_num_threads(max(1, int(config.threads)))
        model, reward = make_model(config)
        T = config.n_steps
        for k in range(T):
            x0 = rng.standard_normal(2)
            for scheme, steps in (("singular", [k]), ("full SDE", range(T))):
                share = conditional_variance_share(
                    model,
                    x0,
                    reward,
                    k,
                    n_steps=T,
                    noise=config.noise,
                    sde_steps=steps,
                    n_outer=config.credit_outer,
                    n_inner=config.credit_inner,
                    rng=rng,
                )
                rows.append({"panel": "credit", "scheme": scheme, "step": k, "value": share})
        for k in range(max(1, T // 2)):
            for scheme in ("singular", "full SDE"):
                rv, m2 = _grad_relvar(model, reward, config, k, "singular" if scheme == "singular" else "full", rng)
                rows.append({"panel": "gradvar", "scheme": scheme, "step": k, "value": rv, "mean_sq_norm": m2})
        arm_seed = int(rng.integers(2**62))  # every arm sees the same evaluation and training noises at the start
        for arm, (scheme, grans) in ARMS.items():
            m, _ = make_model(config)
            res = train_flow_grpo(
                m,
                reward,
                scheme=scheme,
                granularities=grans,
                n_iter=config.n_iter,
                group_size=config.group_size,
                n_groups=config.n_groups,
                n_steps=T,
                noise=config.noise,
                learning_rate=config.learning_rate,
                n_eval=config.n_eval,
                rng=np.random.default_rng(arm_seed),
            )
            rows += [
                {"panel": "train", "scheme": arm, "step": i, "value": float(v)} for i, v in enumerate(res.mean_reward)
            ]
            rows += [
                {"panel": "weights", "scheme": arm, "step": c, "value": float(w)} for c, w in enumerate(res.weights[-1])
            ]
    return rows


def plot(table, config: G2rpoFlowConfig):
    from matplotlib.ticker import FormatStrFormatter, LogLocator, MaxNLocator, NullFormatter

    from labs.plotting import PALETTE, TEXT_WIDTH, new_figure

    fig, axes = new_figure(4, 1, width=TEXT_WIDTH, height=2.7)
    colours = {"singular": PALETTE[0], "full SDE": PALETTE[1]}
    n_seeds = int(table["seed"].nunique()) if "seed" in table else 1
    for ax, panel, title, ylabel in (
        (
            axes[0],
            "credit",
            "(a) reward variance explained\nby the step-$k$ noise",
            r"Var$(E[r|\varepsilon_k])$ / Var$(r)$",
        ),
        (axes[1], "gradvar", "(b) step-$k$ gradient noise\n(initial model)", r"tr Cov$(g)$ / $\|E g\|^2$"),
    ):
        t = table[table["panel"] == panel]
        for scheme, colour in colours.items():
            s = t[t["scheme"] == scheme].groupby("step")["value"]
            ax.plot(s.mean().index, s.mean().values, color=colour, marker="o", label=scheme)
            if n_seeds > 1:
                ax.fill_between(s.mean().index, s.min().values, s.max().values, color=colour, alpha=0.15, lw=0)
        ax.set_xlabel("stochastic step $k$")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_title(title)
        ax.set_ylabel(ylabel)
    axes[0].axhline(1 / config.n_steps, color="0.5", lw=0.7, ls=":", label="$1/T$")
    axes[0].set_ylim(-0.05, 1.05)
    axes[0].legend(loc="center right")
    axes[1].set_yscale("log")
    axes[1].yaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 3.0, 5.0)))
    axes[1].yaxis.set_major_formatter(FormatStrFormatter("%g"))
    axes[1].yaxis.set_minor_formatter(NullFormatter())
    t = table[table["panel"] == "train"]
    arm_colours = dict(zip(ARMS, (PALETTE[1], PALETTE[0], PALETTE[2])))
    for arm, colour in arm_colours.items():
        s = t[t["scheme"] == arm].groupby("step")["value"]
        axes[2].plot(s.mean().index, s.mean().values, color=colour, label=arm)
        if n_seeds > 1:
            axes[2].fill_between(s.mean().index, s.min().values, s.max().values, color=colour, alpha=0.15, lw=0)
    axes[2].set_xlabel("GRPO update")
    axes[2].set_ylabel("mean reward (ODE sampler)")
    axes[2].set_title(f"(c) training, lr {config.learning_rate:g}")
    handles, labels = axes[2].get_legend_handles_labels()
    fig.legend(
        handles,
        labels,
        loc="outside lower center",
        ncols=3,
    )
    t = table[table["panel"] == "weights"]
    width = 0.8 / len(ARMS)
    for j, (arm, colour) in enumerate(arm_colours.items()):
        s = t[t["scheme"] == arm].groupby("step")["value"].mean()
        axes[3].bar(s.index + (j - 1) * width, s.values, width=width, color=colour, label=arm)
    axes[3].axhline(0.25, color="0.5", lw=0.7, ls=":")
    axes[3].set_xticks(range(4))
    axes[3].set_xticklabels(["mode 0\n(rewarded)", "1", "2", "3"])
    axes[3].set_ylabel("mixture weight")
    axes[3].set_xlabel("mixture component")
    axes[3].set_title(f"(d) after {config.n_iter} updates\n(dotted: initial 1/4)")
    fig.suptitle(
        f"G$^2$RPO on a 4-mode 2-D flow: T = {config.n_steps} Euler steps, noise {config.noise:g}, "
        f"{config.n_groups} groups x G = {config.group_size} per update; mean of {n_seeds} seed(s), band = range",
        fontsize=7,
    )
    return fig


LAB = register_lab(
    Lab(
        name="g2rpo_flow",
        subjects=(
            "mdp.llm.flow_grpo.train_flow_grpo",
            "mdp.llm.flow_grpo.conditional_variance_share",
            "mdp.llm.compute_advantages",
        ),
        config_cls=G2rpoFlowConfig,
        run=run,
        plot=plot,
        description="G2RPO on a toy 2-D flow: credit of the step-k noise, gradient noise, training vs DanceGRPO-like full SDE.",
    )
)
