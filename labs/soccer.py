"""Lab ``soccer``: Littman's (1994) soccer solved exactly, minimax-Q learning against it.

The exact model is :func:`marl.envs.soccer_v0.model` (760 states, 5x5 joint actions, the
conventions of docs/papers/foundations.md section 6; ``gamma = 0.9``). Each seed:

1. solves the game with :func:`marl.shapley_value_iteration` to a certified ``1e-10`` and
   certifies the strategies with :func:`marl.exploitability` (the exact reference);
2. trains minimax-Q online (:func:`marl.learners.minimax_q.minimax_q`, exploration 0.2, a draw --
   restart from a kick-off -- with probability 0.1 per step, as in Littman 1994): ``MM`` in
   self-play (the column player acts from the same ``Q``) and ``MR`` against a uniformly random
   opponent, both with per-visit step sizes ``(n + 1)^-0.6``; ``MM-L`` is self-play with
   Littman's global schedule ``alpha_t = 0.9999954^t``, which all but stops learning after
   ``~10^6`` steps (his budget) -- the figure shows where it stalls;
3. trains an independent Q-learner (``IQ``: the row player ignores the opponent's action, i.e.
   Q-learning on the MDP induced by the random opponent, :func:`mdp.learners.q_learning` with per-visit
   step sizes ``(n + 1)^-0.6``; each checkpoint is a run of that length from the same seed) as the
   baseline Littman compares with;
4. at log-spaced checkpoints records, for the learned row strategy ``x_t``: the error of the
   learned kick-off value ``|val Q_t(s0) - V*(s0)|`` (minimax-Q only), and its *exploitability*
   ``V*(s0) - min_y V^{x_t, y}(s0)``: how much a best-responding opponent (exact, by
   :func:`marl.best_response`) takes away from the value the exact strategy guarantees. Both are
   averaged over the two kick-off states (A or B has the ball).

The headline (Littman 1994, Table 1): minimax-Q strategies are hard to exploit, independent-Q
strategies are deterministic and beaten by their challenger; here the "challenger" is the exact
best response, so the exploitability is measured, not estimated by play.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from labs.base import Lab, register_lab
from labs.executors import limit_threads

__all__ = ["SoccerConfig", "run", "plot", "LAB"]

LEARNERS = {
    "MM": "minimax-Q, self-play",
    "MR": "minimax-Q vs random",
    "MM-L": "minimax-Q, self-play, Littman's schedule",
    "IQ": "independent Q vs random",
}


@dataclass(frozen=True)
class SoccerConfig:
    """Training length, checkpoints and Littman's (1994) hyper-parameters."""

    n_steps: int = 10_000_000
    n_checkpoints: int = 13
    gamma: float = 0.9
    epsilon: float = 0.2
    decay: float = 0.9999954
    draw_probability: float = 0.1
    omega: float = 0.6
    learners: tuple[str, ...] = ("MM", "MR", "MM-L", "IQ")
    threads: int = 1

    def __post_init__(self):
        unknown = sorted(set(self.learners) - set(LEARNERS))
        if unknown:
            raise ValueError(f"unknown learner(s) {unknown}; choose from {list(LEARNERS)}")
        if self.n_steps < 10 or self.n_checkpoints < 1:
            raise ValueError("n_steps must be >= 10 and n_checkpoints >= 1")
        if not 0 < self.gamma < 1:
            raise ValueError(f"gamma must lie in (0, 1), got {self.gamma}")


def _checkpoints(config: SoccerConfig) -> list[int]:
    pts = np.unique(np.geomspace(min(1000, config.n_steps), config.n_steps, config.n_checkpoints).astype(int))
    return [int(p) for p in pts]


def _exploitability_at_kickoff(game, x, v_star, kickoff) -> float:
    import marl

    br = marl.best_response(game, x, 1, tol=1e-9)  # column player's best response: value -min_y V^{x,y}
    guaranteed = -np.asarray(br.v)
    return float(np.mean(v_star[kickoff] - guaranteed[kickoff]))


def run(config: SoccerConfig, rng: np.random.Generator) -> list[dict]:
    import marl
    import mdp
    from marl.envs import soccer_v0
    from marl.learners.minimax_q import minimax_q
    from marl.matrix import zero_sum_matrix_game

    rng = np.random.default_rng(rng)
    rows = []
    with limit_threads(config.threads):
        game = soccer_v0.model(gamma=config.gamma)
        kickoff = list(soccer_v0.KICKOFF_STATES)
        exact = marl.shapley_value_iteration(game, tol=1e-10)
        cert = marl.exploitability(game, exact.row_policy, exact.col_policy)
        v_star = np.asarray(exact.v)
        cps = _checkpoints(config)
        base = {"n_states": game.n_states, "v_star_kickoff_A": float(v_star[kickoff[0]])}
        for step in cps:
            rows.append(
                {
                    **base,
                    "learner": "exact",
                    "step": step,
                    "value_error": 0.0,
                    "exploitability": max(float(np.mean(cert.per_state[kickoff])), 0.0),
                    "certified_error": float(exact.error_bound),
                }
            )
        reset = np.zeros(game.n_states)
        reset[kickoff] = 0.5
        for learner in config.learners:
            if learner in ("MM", "MR", "MM-L"):
                schedule = (
                    dict(step_size="littman", decay=config.decay)
                    if learner == "MM-L"
                    else dict(step_size="polynomial", omega=config.omega)
                )
                res = minimax_q(
                    game,
                    n_iter=config.n_steps,
                    rng=rng,
                    mode="online",
                    epsilon=config.epsilon,
                    opponent="random" if learner == "MR" else "minimax",
                    s0=kickoff[0],
                    reset_prob=config.draw_probability,
                    reset_dist=reset,
                    checkpoints=cps,
                    **schedule,
                )
                for step, q in zip(cps, res.q_checkpoints):
                    sol = zero_sum_matrix_game(q[kickoff])
                    sol_all = zero_sum_matrix_game(q)
                    rows.append(
                        {
                            **base,
                            "learner": learner,
                            "step": step,
                            "value_error": float(np.mean(np.abs(np.asarray(sol.value) - v_star[kickoff]))),
                            "exploitability": _exploitability_at_kickoff(
                                game, np.asarray(sol_all.row_strategy), v_star, kickoff
                            ),
                            "certified_error": float("nan"),
                        }
                    )
            else:
                # independent Q: the row player's MDP against the uniformly random opponent
                m = game.fixed_column_mdp(np.full((game.n_states, game.n_actions[1]), 1.0 / game.n_actions[1]))
                iq_seed = int(rng.integers(2**63))
                for step in cps:
                    # a fresh run of `step` steps from the same seed (per-visit step sizes restart otherwise)
                    res = mdp.learners.q_learning(
                        m,
                        n_iter=step,
                        rng=np.random.default_rng(iq_seed),
                        mode="online",
                        epsilon=config.epsilon,
                        step_size="polynomial",
                        omega=config.omega,
                        s0=kickoff[0],
                    )
                    pi = np.asarray(res.pi)
                    rows.append(
                        {
                            **base,
                            "learner": learner,
                            "step": step,
                            "value_error": float("nan"),
                            "exploitability": _exploitability_at_kickoff(game, pi, v_star, kickoff),
                            "certified_error": float("nan"),
                        }
                    )
    return rows


# why a learner has no curve in a panel (its values there are NaN by construction)
_NO_CURVE = {("IQ", "value_error"): "its Q ignores the opponent: no game value"}


def plot(table, config: SoccerConfig):
    from labs.plotting import PALETTE, TEXT_WIDTH, new_figure

    fig, axes = new_figure(2, width=TEXT_WIDTH, height=2.6)
    colours = {"MM": PALETTE[0], "MR": PALETTE[1], "MM-L": PALETTE[3], "IQ": PALETTE[2]}
    markers = {"MM": "o", "MR": "s", "MM-L": "D", "IQ": "^"}
    panels = (
        (axes[0], "value_error", r"learned kick-off value: $|\mathrm{val}\,Q_t(s_0) - V^*(s_0)|$"),
        (axes[1], "exploitability", r"exploitability at kick-off: $V^*(s_0) - \min_y V^{x_t,y}(s_0)$"),
    )
    exact = table[table["learner"] == "exact"]
    for ax, col, title in panels:
        absent = []
        for learner in [k for k in LEARNERS if k in config.learners]:
            s = table[table["learner"] == learner]
            if s.empty or s[col].isna().all():
                absent.append(learner)
                continue
            g = s.groupby("step")[col]
            med, lo, hi = g.median(), g.min(), g.max()
            ax.plot(
                med.index,
                med.values,
                color=colours[learner],
                label=f"{learner}: {LEARNERS[learner]}",
                marker=markers[learner],
            )
            if s["seed"].nunique() > 1:
                ax.fill_between(med.index, lo.values, hi.values, color=colours[learner], alpha=0.15, lw=0)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("training steps")
        ax.set_title(title)
        notes = []
        shown = [k for k in LEARNERS if k in config.learners and k not in absent]
        med = table[table["learner"].isin(shown)].pivot_table(
            index="step", columns="learner", values=col, aggfunc="median"
        )
        if med.shape[1] > 1 and not med.empty:
            # curves drawn on top of each other from the first checkpoint on: say so
            same = (med.max(axis=1) <= 1.01 * med.min(axis=1)).to_numpy()
            n_same = int(same.argmin()) if not same.all() else len(same)
            if n_same >= 2:
                notes.append((f"{', '.join(med.columns)} coincide up to {int(med.index[n_same - 1]):.0e} steps", "0.2"))
        for learner in absent:  # a legend entry without a curve in this panel says why
            notes.append((f"{learner}: no curve here, {_NO_CURVE.get((learner, col), 'no values')}", colours[learner]))
        for k, (text, colour) in enumerate(notes):
            ax.text(
                0.03,
                0.13 + 0.09 * k,
                text,
                transform=ax.transAxes,
                ha="left",
                va="bottom",
                fontsize=6,
                color=colour,
                in_layout=False,
            )
    if not exact.empty:
        axes[1].text(
            0.03,
            0.04,
            f"exact strategies (Shapley VI): {exact['exploitability'].max():.1e}",
            transform=axes[1].transAxes,
            fontsize=7,
        )
        axes[0].text(
            0.03,
            0.04,
            f"Shapley VI certified error: {exact['certified_error'].max():.1e}",
            transform=axes[0].transAxes,
            fontsize=7,
        )
    vstar = float(table["v_star_kickoff_A"].iloc[0])
    axes[0].set_ylabel("absolute error")
    axes[1].set_ylabel("value conceded\nto a best response")
    handles, labs_ = axes[1].get_legend_handles_labels()
    fig.legend(handles, labs_, loc="outside lower center", ncols=2)
    fig.suptitle(
        rf"Littman's soccer ($\gamma = {config.gamma:g}$, 760 states), $V^*$(kick-off, A has ball) = "
        rf"{vstar:+.6f}; exploration {config.epsilon:g}, draws {config.draw_probability:g}"
        "\n"
        f"{table['seed'].nunique()} seed(s): "
        "median over seeds, band = range",
        fontsize=8,
    )
    return fig


LAB = register_lab(
    Lab(
        name="soccer",
        subjects=(
            "marl.shapley_value_iteration",
            "marl.best_response",
            "marl.exploitability",
            "marl.learners.minimax_q",
            "marl.envs.soccer_v0",
        ),
        config_cls=SoccerConfig,
        run=run,
        plot=plot,
        description="Littman's soccer: exact Shapley solution, minimax-Q learning curves and exploitability vs exact.",
        version=2,
    )
)
