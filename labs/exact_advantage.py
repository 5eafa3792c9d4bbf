"""Lab ``exact_advantage``: how biased and how noisy is each LLM-RL advantage estimator, exactly?

The environments (:mod:`mdp.llm.toy_envs`) are small episodic MDPs whose true ``Q^pi`` and
``A^pi = Q^pi - V^pi`` come from :func:`mdp.policy_evaluation` (one linear solve): a corridor with
revisitable states (docs/papers/gigpo.md's CPU lab, lengthened: positions ``0..8``, left/stay/right, reward 1 at the
goal) and a branching DAG in which different action sequences reach the same node. ``gamma`` is the
per-step continuation probability (a stochastic turn budget), so the expected *undiscounted*
return the estimators see is exactly the discounted ``Q^pi`` (module docstring of ``toy_envs``).

Panel 1 (estimates). For every group size ``G`` the fixed policy (uniform softmax, ``theta = 0``,
i.e. the start of training) is rolled out in ``n_batches`` batches of ``n_prompts`` groups of ``G``
episodes; every estimator's advantage is computed with :func:`mdp.llm.compute_advantages` at its
registered defaults and compared row by row with the exact ``A^pi(s_t, a_t)``:

* outcome estimators (``grpo``, ``dr_grpo``, ``rloo``, ``reinforce_pp``, ``lite_ppo``,
  ``gaussian_grpo``; optional ``reinforce_pp_baseline``) run on the trajectory batch (one row per
  episode, reward = episode return) and every step of an episode gets its episode's advantage, as
  GRPO does for agents;
* step-level estimators (``gigpo`` with verl-agent's step-row episode statistics, ``gigpo_traj``
  with per-trajectory statistics, ``hgpo``, ``salt`` with the prefix trie, ``salt_state`` with the
  state graph; optional ``gigpo_mean_norm``, ``hgpo_base``) run on the step batch (immediate
  rewards, ``observation_keys`` = state ids, ``extra["action_keys"]`` = chosen actions). Their
  step-return discount stays at the registered default 0.95 (the papers'); the environment already
  discounts through the cut-off, so this adds a preference for shorter paths;
* ``oracle``: the exact ``A^pi`` itself (sign agreement 1, correlation 1; the reference line).

Skipped (their inputs do not exist in these toys; :func:`skipped_estimators` lists every registered
name without a variant here): ``igpo`` (gold-answer log-probabilities), ``gcpo`` (auxiliary
construction flags), ``rlvmr`` (meta-reasoning tags and rewards), ``arena`` (pairwise judge),
``spo`` (preference callable), ``spark`` (per-step verification scores), ``hill`` (hint rollouts).

Metrics per (env, G, estimator), pooled over the batches of a seed (rows = step rows; a cell is a
state-action pair ``(s, a)``; ``Ahat`` estimate, ``A`` exact):

``bias``         ``mean(Ahat - A)`` in the estimator's own units;
``variance``     within-cell variance ``mean((Ahat - mean_cell Ahat)^2)`` (noise), own units;
``corr``         Pearson correlation of ``Ahat`` and ``A`` over rows;
``slope``        OLS slope of ``Ahat`` on ``A`` (the estimator's scale relative to ``A``);
``bias2_frac``   after the best affine rescale ``Ahat_cal = alpha + beta Ahat`` of the estimator's
                 *conditional mean* (``alpha, beta`` = OLS of ``A`` on ``mean_cell Ahat`` over rows,
                 which removes each method's normalisation and offset):
                 ``mean_rows (mean_cell Ahat_cal - A)^2 / Var(A)`` = ``1 - corr(mean_cell Ahat, A)^2``,
                 the systematic error no rescale fixes (more samples per group do not remove it);
``var_frac``     ``mean_rows (Ahat_cal - mean_cell Ahat_cal)^2 / Var(A)``, the calibrated per-row noise;
                 ``bias2_frac + var_frac`` is the calibrated mean squared error ``/ Var(A)`` (the
                 cross term vanishes cell by cell);
``sign_agree``   fraction of rows with ``A != 0`` where ``sign(Ahat) = sign(A)`` (an exact 0 counts
                 as a miss: ``zero_frac`` reports how often an estimator abstains);
``cell_sign_agree``  fraction of (batch, s, a) cells with ``A(s, a) != 0`` whose *summed* ``Ahat``
                 has the sign of ``A(s, a)``: the sign of the tabular policy-gradient step on
                 ``theta[s, a]`` in that batch (up to the ``pi`` term).

Per-row signs of any single-return estimator are limited by the outcome noise (a good action in a
failed episode scores negative), so ``sign_agree`` saturates well below 1; ``cell_sign_agree``
shows whether the estimator's batch signal points the right way, and it is where the step-level
estimators separate from the outcome ones (e.g. on the corridor the outcome estimators' batch signs
stay near 1/2 while hgpo's approach 1 as ``G`` grows).

Panel 2 (training). Tabular softmax policy gradient from ``theta = 0``: each iteration rolls out
``train_prompts`` groups of ``train_group_size`` episodes, computes the estimator's advantages, and
takes one Adam ascent step on ``mean_rows Ahat * grad log pi(a_t | s_t)`` (on-policy, so PPO's ratio
is 1 and clipping is inactive). Success is the *exact* success probability of the current policy
(:func:`mdp.llm.toy_envs.success_probability`), so the curves carry no evaluation noise. The
``oracle`` arm uses the exact ``A^pi`` of the rows.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from labs.base import Lab, register_lab
from labs.executors import limit_threads

__all__ = [
    "ExactAdvantageConfig",
    "VARIANTS",
    "DEFAULT_ESTIMATORS",
    "SKIP_REASONS",
    "skipped_estimators",
    "make_env",
    "estimate_advantages",
    "advantage_metrics",
    "train_policy_gradient",
    "run",
    "plot",
    "LAB",
]

#: variant name -> (registered method, batch level, options)
VARIANTS = {
    "grpo": ("grpo", "trajectory", {}),
    "dr_grpo": ("dr_grpo", "trajectory", {}),
    "rloo": ("rloo", "trajectory", {}),
    "reinforce_pp": ("reinforce_pp", "trajectory", {}),
    "reinforce_pp_baseline": ("reinforce_pp_baseline", "trajectory", {}),
    "lite_ppo": ("lite_ppo", "trajectory", {}),
    "gaussian_grpo": ("gaussian_grpo", "trajectory", {}),
    "gigpo": ("gigpo", "step", {}),
    "gigpo_traj": ("gigpo", "step", {"episode_stats": "trajectories"}),
    "gigpo_mean_norm": ("gigpo", "step", {"mode": "mean_norm"}),
    "hgpo": ("hgpo", "step", {}),
    "hgpo_base": ("hgpo", "step", {"base_group": True}),
    "salt": ("salt", "step", {}),
    "salt_state": ("salt", "step", {"merge": "state"}),
    "oracle": (None, "exact", {}),
}

DEFAULT_ESTIMATORS = (
    "grpo",
    "dr_grpo",
    "rloo",
    "reinforce_pp",
    "lite_ppo",
    "gaussian_grpo",
    "gigpo",
    "gigpo_traj",
    "hgpo",
    "salt",
    "salt_state",
    "oracle",
)

SKIP_REASONS = {
    "igpo": "needs extra['gold_logprobs'] / ['gold_logprob_init'] (gold-answer log-probabilities)",
    "gcpo": "needs extra['aux'] (auxiliary-construction flags of geometry proofs)",
    "rlvmr": "needs extra['tags'] and extra['meta_rewards'] (meta-reasoning annotations)",
    "arena": "needs a pairwise judge callable over responses",
    "spo": "needs a preference callable over responses",
    "spark": "needs extra['step_scores'] (several verifications per step)",
    "hill": "needs extra['hint_rollout_rewards'] (hinted rollouts)",
}

ENVS = ("corridor", "tree")


def skipped_estimators() -> dict:
    """Registered estimators this lab does not run, with the reason (inputs the toys do not have)."""
    from mdp.llm import get_estimator, list_estimators

    used = {v[0] for v in VARIANTS.values() if v[0]}
    out = {}
    for name in list_estimators():
        if name not in used:
            out[name] = SKIP_REASONS.get(name, f"not configured in this lab (needs {get_estimator(name).needs})")
    return out


@dataclass(frozen=True)
class ExactAdvantageConfig:
    """Environments, group sizes, estimators and the training run."""

    envs: tuple[str, ...] = ENVS
    corridor_length: int = 8
    tree_depth: int = 4
    tree_branching: int = 3
    tree_width: int = 5
    gamma: float = 0.95
    slip: float = 0.0
    group_sizes: tuple[int, ...] = (2, 4, 8, 16, 32)
    n_prompts: int = 8
    n_batches: int = 16
    estimators: tuple[str, ...] = DEFAULT_ESTIMATORS
    train_iterations: int = 100
    train_group_size: int = 8
    train_prompts: int = 2
    learning_rate: float = 0.05
    eval_every: int = 5
    threads: int = 1

    def __post_init__(self):
        unknown = sorted(set(self.estimators) - set(VARIANTS))
        if unknown:
            raise ValueError(f"unknown estimator(s) {unknown}; choose from {list(VARIANTS)}")
        bad_env = sorted(set(self.envs) - set(ENVS))
        if bad_env:
            raise ValueError(f"unknown env(s) {bad_env}; choose from {list(ENVS)}")
        if not self.envs or not self.estimators or not self.group_sizes:
            raise ValueError("envs, estimators and group_sizes must be non-empty")
        if any(int(g) < 2 for g in self.group_sizes):
            raise ValueError(f"group_sizes must be >= 2, got {self.group_sizes}")
        if not 0 < self.gamma < 1:
            raise ValueError(f"gamma must lie in (0, 1), got {self.gamma}")
        for name in ("n_prompts", "n_batches", "train_group_size", "train_prompts", "eval_every"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.train_iterations < 0:
            raise ValueError(f"train_iterations must be >= 0, got {self.train_iterations}")
        if not self.learning_rate > 0:
            raise ValueError(f"learning_rate must be > 0, got {self.learning_rate}")


def make_env(name: str, config: ExactAdvantageConfig):
    """The toy environment ``name`` ("corridor" or "tree") with the config's parameters."""
    from mdp.llm import toy_envs

    if name == "corridor":
        return toy_envs.corridor(config.corridor_length, gamma=config.gamma, slip=config.slip)
    if name == "tree":
        return toy_envs.branching_tree(
            config.tree_depth, config.tree_branching, config.tree_width, gamma=config.gamma, slip=config.slip
        )
    raise ValueError(f"unknown env {name!r}; choose from {list(ENVS)}")


def estimate_advantages(rollouts, estimators) -> dict:
    """``{variant: Ahat (rows,)}`` for every variant in ``estimators`` on one :class:`ToyRollouts`."""
    from mdp.llm import compute_advantages

    out = {}
    sb = tb = None
    for name in estimators:
        method, level, opts = VARIANTS[name]
        if level == "exact":
            out[name] = np.array(rollouts.adv)
            continue
        if level == "step":
            sb = rollouts.step_batch() if sb is None else sb
            a = compute_advantages(method, sb, **opts).numpy()
        else:
            tb = rollouts.trajectory_batch() if tb is None else tb
            a = compute_advantages(method, tb, **opts).numpy()
        if a.ndim == 2:  # (rows, 1) token axis of the REINFORCE++ pair
            a = a[:, 0]
        out[name] = a if level == "step" else rollouts.to_rows(a)
    return out


def advantage_metrics(a_hat, a_true, cells, batches=None, *, tol: float = 1e-12) -> dict:
    """Bias, variance, calibrated bias/noise, correlation, slope and sign agreement (module docstring).

    Parameters
    ----------
    a_hat, a_true : ``(rows,)`` estimates and exact ``A^pi(s_t, a_t)``.
    cells : ``(rows,)`` int state-action code ``s * A + a``.
    batches : ``(rows,)`` int batch index, optional (one batch when omitted).
    """
    a_hat = np.asarray(a_hat, dtype=float)
    a_true = np.asarray(a_true, dtype=float)
    cells = np.asarray(cells)
    n = a_hat.shape[0]
    if a_true.shape != (n,) or cells.shape != (n,) or n == 0:
        raise ValueError("a_hat, a_true and cells must be non-empty (rows,) arrays of one length")
    batches = np.zeros(n, dtype=np.int64) if batches is None else np.asarray(batches)
    cid, cinv = np.unique(cells, return_inverse=True)
    cnt = np.bincount(cinv).astype(float)

    def cell_mean(x):
        return (np.bincount(cinv, weights=x) / cnt)[cinv]

    var_true = float(np.var(a_true))
    dh = a_hat - a_hat.mean()
    dt = a_true - a_true.mean()
    var_hat = float(np.mean(dh**2))
    cov = float(np.mean(dh * dt))
    corr = cov / np.sqrt(var_hat * var_true) if var_hat > 0 and var_true > 0 else float("nan")
    slope = cov / var_true if var_true > 0 else float("nan")
    # calibration on the estimator's conditional mean per cell: A ~ alpha + beta * mean_cell(Ahat)
    m_hat = cell_mean(a_hat)
    dm = m_hat - m_hat.mean()
    var_m = float(np.mean(dm**2))
    beta = float(np.mean(dm * dt)) / var_m if var_m > 0 else 0.0
    bias2 = float(np.mean((a_true.mean() + beta * dm - a_true) ** 2))
    noise = beta**2 * float(np.mean((a_hat - m_hat) ** 2))
    nz = np.abs(a_true) > tol
    sign_agree = float(np.mean(np.sign(a_hat[nz]) == np.sign(a_true[nz]))) if nz.any() else float("nan")
    # batch-level: summed Ahat per (batch, s, a) cell
    bc, binv = np.unique(np.stack([batches, cells]), axis=1, return_inverse=True)
    binv = binv.ravel()
    bsum = np.bincount(binv, weights=a_hat)
    btrue = np.zeros(bc.shape[1])
    btrue[binv] = a_true
    bnz = np.abs(btrue) > tol
    cell_sign = float(np.mean(np.sign(bsum[bnz]) == np.sign(btrue[bnz]))) if bnz.any() else float("nan")
    return {
        "bias": float(np.mean(a_hat - a_true)),
        "variance": float(np.mean((a_hat - m_hat) ** 2)),
        "corr": float(corr),
        "slope": float(slope),
        "bias2_frac": bias2 / var_true if var_true > 0 else float("nan"),
        "var_frac": noise / var_true if var_true > 0 else float("nan"),
        "sign_agree": sign_agree,
        "cell_sign_agree": cell_sign,
        "zero_frac": float(np.mean(np.abs(a_hat) <= tol)),
        "var_true": var_true,
        "n_rows": int(n),
        "n_cells": int(len(cid)),
    }


def _estimate_rows(env_name, env, config, rng) -> list:
    from mdp.llm import toy_envs

    theta = np.zeros((env.n_states, env.n_actions))
    exact = toy_envs.exact_values(env, toy_envs.softmax_policy(theta))
    rows = []
    for G in config.group_sizes:
        parts = {name: [] for name in config.estimators}
        true, cells, batch_ids = [], [], []
        for b in range(config.n_batches):
            ro = toy_envs.rollout(env, theta, group_size=int(G), n_prompts=config.n_prompts, rng=rng, exact=exact)
            est = estimate_advantages(ro, config.estimators)
            for name in config.estimators:
                parts[name].append(est[name])
            true.append(np.array(ro.adv))
            cells.append(ro.states * env.n_actions + ro.actions)
            batch_ids.append(np.full(ro.n_rows, b))
        a_true, c, bid = np.concatenate(true), np.concatenate(cells), np.concatenate(batch_ids)
        for name in config.estimators:
            m = advantage_metrics(np.concatenate(parts[name]), a_true, c, bid)
            rows.append({"panel": "estimate", "env": env_name, "estimator": name, "group_size": int(G), **m})
    return rows


def train_policy_gradient(
    env,
    estimator: str,
    *,
    iterations: int,
    group_size: int,
    n_prompts: int,
    learning_rate: float,
    rng,
    eval_every: int = 5,
) -> list:
    """Tabular softmax policy gradient with Adam; returns ``[(iteration, exact success), ...]``.

    Gradient of ``mean_rows Ahat_t log pi(a_t | s_t)`` in ``theta``: row ``t`` adds
    ``Ahat_t (e_{a_t} - pi(. | s_t))`` to ``theta[s_t]`` (Williams 1992; Sutton & Barto 2018,
    Eq. 13.8 with the softmax score). Adam (Kingma & Ba 2015) with ``beta = (0.9, 0.999)``.
    """
    from mdp.llm import toy_envs

    S, A = env.n_states, env.n_actions
    theta = np.zeros((S, A))
    m1 = np.zeros_like(theta)
    m2 = np.zeros_like(theta)
    b1, b2, eps = 0.9, 0.999, 1e-8
    curve = []
    for it in range(iterations + 1):
        pi = toy_envs.softmax_policy(theta)
        if it % eval_every == 0 or it == iterations:
            curve.append((it, toy_envs.success_probability(env, pi)))
        if it == iterations:
            break
        exact = toy_envs.exact_values(env, pi)
        ro = toy_envs.rollout(env, theta, group_size=group_size, n_prompts=n_prompts, rng=rng, exact=exact)
        a_hat = estimate_advantages(ro, (estimator,))[estimator]
        score = -pi[ro.states]
        score[np.arange(ro.n_rows), ro.actions] += 1.0
        grad = np.zeros_like(theta)
        np.add.at(grad, ro.states, a_hat[:, None] * score)
        grad /= ro.n_rows
        m1 = b1 * m1 + (1 - b1) * grad
        m2 = b2 * m2 + (1 - b2) * grad**2
        t = it + 1
        theta = theta + learning_rate * (m1 / (1 - b1**t)) / (np.sqrt(m2 / (1 - b2**t)) + eps)
    return curve


def run(config: ExactAdvantageConfig, rng: np.random.Generator) -> list[dict]:
    rng = np.random.default_rng(rng)
    rows = []
    with limit_threads(config.threads):
        import torch

        torch.set_num_threads(max(1, int(config.threads)))
        for env_name in config.envs:
            env = make_env(env_name, config)
            rows += _estimate_rows(env_name, env, config, rng)
        if config.train_iterations > 0:
            for env_name in config.envs:
                env = make_env(env_name, config)
                for name in config.estimators:
                    curve = train_policy_gradient(
                        env,
                        name,
                        iterations=config.train_iterations,
                        group_size=config.train_group_size,
                        n_prompts=config.train_prompts,
                        learning_rate=config.learning_rate,
                        rng=rng,
                        eval_every=config.eval_every,
                    )
                    rows += [
                        {"panel": "train", "env": env_name, "estimator": name, "iteration": int(i), "success": float(p)}
                        for i, p in curve
                    ]
    return rows


# figure styles: outcome estimators (one advantage per episode, nearly coinciding) in greys, solid;
# step-level estimators in Okabe-Ito colours, dashed; the exact oracle black, dotted
_OUTCOME_GREYS = ("0.10", "0.25", "0.40", "0.52", "0.64", "0.76", "0.85")
_FIG_MARKERS = ("o", "v", "^", "D", "s", "P", "X", "<", ">")


def _figure_style(estimators) -> dict:
    """``{variant: (colour, linestyle, marker, family)}`` for the estimators of a config."""
    from labs.plotting import PALETTE

    out, n_out, n_step = {}, 0, 0
    for name in estimators:
        level = VARIANTS[name][1]
        if level == "exact":
            out[name] = ("black", ":", None, "exact")
        elif level == "trajectory":
            out[name] = (
                _OUTCOME_GREYS[n_out % len(_OUTCOME_GREYS)],
                "-",
                _FIG_MARKERS[n_out % len(_FIG_MARKERS)],
                "outcome",
            )
            n_out += 1
        else:
            out[name] = (PALETTE[n_step % (len(PALETTE) - 2)], "--", _FIG_MARKERS[n_step % len(_FIG_MARKERS)], "step")
            n_step += 1
    return out


def plot(table, config: ExactAdvantageConfig):
    """Two metrics and the training curves per environment (the other metrics are in the table).

    Shown: batch sign agreement (``cell_sign_agree``) and the calibrated bias (``bias2_frac``) against
    ``G``, and the exact success of policy gradient. Row sign agreement and correlation, which
    outcome noise saturates for every single-return estimator (module docstring), stay in the CSV.
    """
    from matplotlib.lines import Line2D
    from matplotlib.ticker import FormatStrFormatter, LogLocator, NullFormatter

    from labs.plotting import TEXT_WIDTH, new_figure

    envs = [e for e in config.envs if e in set(table["env"])]
    panels = (
        ("cell_sign_agree", "batch sign agreement\n(sign of the PG step on each (s, a))"),
        ("bias2_frac", "calibrated bias$^2$ / Var$(A^\\pi)$\n(error no rescaling removes)"),
    )
    style = _figure_style(config.estimators)
    fig, axes = new_figure(len(panels) + 1, len(envs), width=TEXT_WIDTH, height=2.1 * len(envs) + 1.4, squeeze=False)
    est = table[table["panel"] == "estimate"]
    train = table[table["panel"] == "train"] if "panel" in table else table.iloc[:0]
    for r, env_name in enumerate(envs):
        e = est[est["env"] == env_name]
        for c, (col, title) in enumerate(panels):
            ax = axes[r, c]
            for name in config.estimators:
                s = e[e["estimator"] == name]
                if s.empty or (col == "bias2_frac" and name == "oracle"):
                    continue
                colour, ls, marker, family = style[name]
                g = s.groupby("group_size")[col]
                mean = g.mean()
                ax.plot(
                    mean.index,
                    mean.values,
                    color=colour,
                    ls=ls,
                    marker=marker,
                    label=name,
                    lw=0.9 if family == "outcome" else 1.3,
                    markersize=3 if family == "outcome" else 4,
                    zorder=2 if family == "outcome" else 3,
                )
                if s["seed"].nunique() > 1 and family != "outcome":
                    ax.fill_between(mean.index, g.min().values, g.max().values, color=colour, alpha=0.1, lw=0)
            ax.set_xscale("log", base=2)
            ax.set_xticks(list(config.group_sizes))
            ax.set_xticklabels([str(g) for g in config.group_sizes])
            ax.xaxis.set_minor_formatter(NullFormatter())
            if col == "bias2_frac":
                ax.set_yscale("log")
                ax.yaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
                ax.yaxis.set_major_formatter(FormatStrFormatter("%g"))
                ax.yaxis.set_minor_formatter(NullFormatter())
            else:
                ax.axhline(0.5, color="0.6", lw=0.6, ls="-", zorder=1)
            if r == len(envs) - 1:
                ax.set_xlabel("group size G")
            if r == 0:
                ax.set_title(title)
        ax = axes[r, len(panels)]
        t = train[train["env"] == env_name]
        for name in config.estimators:
            s = t[t["estimator"] == name]
            if s.empty:
                continue
            colour, ls, _, family = style[name]
            mean = s.groupby("iteration")["success"].mean()
            ax.plot(
                mean.index,
                mean.values,
                color=colour,
                ls=ls,
                lw=0.9 if family == "outcome" else (1.3 if family == "step" else 1.8),
            )
        ax.set_ylim(0, 1)
        if r == 0:
            ax.set_title("policy gradient from $\\theta = 0$:\nexact success probability")
        if r == len(envs) - 1:
            ax.set_xlabel("iteration")
        axes[r, 0].set_ylabel(f"{env_name}\n\nfraction of (batch, s, a)")
        axes[r, 1].set_ylabel("fraction of Var$(A^\\pi)$")
        axes[r, 2].set_ylabel("success probability")
    handles, labels = axes[0, 0].get_legend_handles_labels()
    fam = {n: style[n][3] for n in labels}
    # one legend row per family: outcome estimators (greys, solid), step-level (colours, dashed) + oracle
    blank = Line2D([], [], ls="none")
    rows = [
        ("outcome:", [n for n in labels if fam[n] == "outcome"]),
        ("step-level, exact:", [n for n in labels if fam[n] in ("step", "exact")]),
    ]
    ncols = max(len(r[1]) for r in rows) + 1
    hs, ls_ = [], []
    for head, names in rows:
        row_h = [blank] + [handles[labels.index(n)] for n in names]
        row_l = [head] + names
        row_h += [blank] * (ncols - len(row_h))
        row_l += [""] * (ncols - len(row_l))
        hs.append(row_h)
        ls_.append(row_l)
    # matplotlib fills legend columns first: interleave so that each family is one row
    order = [(r, c) for c in range(ncols) for r in range(len(rows))]
    fig.legend(
        [hs[r][c] for r, c in order],
        [ls_[r][c] for r, c in order],
        loc="outside lower center",
        ncols=ncols,
        columnspacing=1.0,
        handlelength=2.2,
    )
    n_seeds = int(table["seed"].nunique()) if "seed" in table else 1
    fig.suptitle(
        rf"Advantage estimators vs exact $A^\pi$: uniform softmax policy, continuation $\gamma={config.gamma:g}$, "
        rf"{config.n_batches} batches x {config.n_prompts} groups per $G$;"
        "\n"
        rf"PG with "
        rf"{config.train_prompts}x{config.train_group_size} episodes/iter, Adam lr {config.learning_rate:g}"
        "\n"
        f"mean of {n_seeds} seed(s) (band = range, step-level only); grey line at 1/2 = chance; "
        "row sign agreement and correlation are in the CSV",
        fontsize=7,
    )
    return fig


LAB = register_lab(
    Lab(
        name="exact_advantage",
        subjects=("mdp.llm.compute_advantages", "mdp.llm.toy_envs"),
        config_cls=ExactAdvantageConfig,
        run=run,
        plot=plot,
        description="LLM-RL advantage estimators (GRPO ... GiGPO, HGPO, SALT) vs exact A^pi on toy MDPs; PG training.",
        version=2,
    )
)
