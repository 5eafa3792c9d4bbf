"""Lab ``policy_cliff``: reward perturbations against policy change on the reasoning tree.

The toy of ``docs/papers/policy_cliff.md`` (:func:`mdp.stability.reasoning_tree`): 3 token steps,
4 tokens each, 64 traces; the verifier pays 1 on 6 traces (3 faithful, 3 shortcuts), so the
optimal policy is not unique (ties at the root and inside both correct subtrees). Per seed:

* perturbation: ``n_draws`` i.i.d. noises ``eps N(0, 1)`` on the 64 verifier entries for every
  ``eps``; learners (a) the exact argmax with a fixed tie-break (smallest action index,
  :func:`mdp.stability.action_gap`), (b) the soft-optimal policy at each ``tau``
  (:func:`mdp.stability.soft_optimal_policy`), (c) exact softmax policy gradient
  (:func:`mdp.stability.softmax_pg`, ``pg_steps`` steps of size ``pg_lr`` from the root) from a random
  initialisation ``N(0, 1)``, run on the clean and the perturbed reward from the *same*
  initialisation and, second variant, from a *fresh* one;
* metrics: the largest per-state total variation between the policies before and after (what PC5
  bounds; its bound ``|dR|_inf / (2 tau (1 - gamma))`` per draw), the mass on shortcut traces and
  how far the noise moved it, the clean return;
* weight sweep: ``R(w) = (1 - w) verifier + w format`` for ``w`` on a grid; mass on correct and on
  shortcut traces for the argmax and the soft policies, with the exact breakpoints of
  :func:`mdp.stability.effective_reward_path` at the root;
* price: ``V* - V^{pi_tau}`` at the root against ``tau log A / (1 - gamma)`` over a ``tau`` grid.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from labs.base import Lab, register_lab

__all__ = ["PolicyCliffConfig", "run", "plot", "LAB"]


@dataclass(frozen=True)
class PolicyCliffConfig:
    """Perturbation sizes, temperatures and budgets of the policy_cliff lab."""

    eps: tuple[float, ...] = (1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1)
    taus: tuple[float, ...] = (0.01, 0.1, 0.5)
    n_draws: int = 100
    pg_draws: int = 20
    pg_steps: int = 1000
    pg_lr: float = 10.0
    gamma: float = 0.9
    w_grid: int = 201
    price_taus: int = 15

    def __post_init__(self):
        if not self.eps or any(not e > 0 for e in self.eps):
            raise ValueError(f"eps must be positive perturbation sizes, got {self.eps}")
        if not self.taus or any(not t > 0 for t in self.taus):
            raise ValueError(f"taus must be positive temperatures, got {self.taus}")
        if min(self.n_draws, self.pg_draws, self.pg_steps) < 1 or self.w_grid < 2 or self.price_taus < 2:
            raise ValueError("n_draws, pg_draws, pg_steps must be >= 1 and w_grid, price_taus >= 2")
        if not 0 < self.gamma < 1 or not self.pg_lr > 0:
            raise ValueError(f"gamma must lie in (0, 1) and pg_lr be > 0, got {self.gamma}, {self.pg_lr}")


def run(config: PolicyCliffConfig, rng) -> list[dict]:
    import mdp
    from mdp import stability as st

    rng = np.random.default_rng(rng)
    c = config
    tree = st.reasoning_tree(gamma=c.gamma)
    m = tree.mdp
    S, A = m.n_states, m.n_actions
    dec = tree.decision_states
    root = np.eye(S)[0]
    vstar = float(mdp.solve(m, tol=1e-12).v[0])

    def summary(pi):
        p = st.trace_distribution(tree, pi)
        return p, float(p[tree.shortcut].sum()), float(mdp.policy_evaluation(m, pi).v[0])

    def clean_and(pi_clean, pi_pert, **row):
        p0, short0, _ = summary(pi_clean)
        p1, short, ret = summary(pi_pert)
        return {
            "kind": "perturb",
            **row,
            "state_tv": float(st.policy_tv(pi_clean, pi_pert, A)[dec].max()),
            "trace_tv": float(0.5 * np.abs(p0 - p1).sum()),
            "shortcut": short,
            "shortcut_move": abs(short - short0),
            "ret": ret,
            "v_star": vstar,
        }

    rows = []
    base_argmax = st.action_gap(m, states=dec).pi
    base_soft = {tau: st.soft_optimal_policy(m, tau).pi for tau in c.taus}
    leaf = (tree.leaf_state, tree.leaf_action)
    for eps in c.eps:
        for d in range(c.n_draws):
            R = m.R.copy()
            R[leaf] += eps * rng.standard_normal(len(tree.leaf_state))
            mp = st.with_reward(m, R)
            dR = float(np.abs(R - m.R).max())
            rows.append(clean_and(base_argmax, st.action_gap(mp, states=dec).pi, learner="argmax", eps=eps, draw=d))
            for tau in c.taus:
                so = st.soft_optimal_policy(mp, tau)
                row = clean_and(base_soft[tau], so.pi, learner=f"soft tau={tau:g}", eps=eps, draw=d, tau=tau)
                row["bound"] = dR * so.lipschitz / 2  # PC5 in total variation
                rows.append(row)
    for d in range(c.pg_draws):
        th = rng.standard_normal((S, A))
        th_fresh = rng.standard_normal((S, A))
        clean = st.softmax_pg(m, th, rho=root, lr=c.pg_lr, n_steps=c.pg_steps).pi
        for eps in c.eps:
            R = m.R.copy()
            R[leaf] += eps * rng.standard_normal(len(tree.leaf_state))
            mp = st.with_reward(m, R)
            same = st.softmax_pg(mp, th, rho=root, lr=c.pg_lr, n_steps=c.pg_steps).pi
            fresh = st.softmax_pg(mp, th_fresh, rho=root, lr=c.pg_lr, n_steps=c.pg_steps).pi
            rows.append(clean_and(clean, same, learner="PG, same init", eps=eps, draw=d))
            rows.append(clean_and(clean, fresh, learner="PG, fresh init", eps=eps, draw=d))
    # weight sweep (deterministic; the same in every seed)
    path = st.effective_reward_path(m, tree.verifier, tree.weak)
    root_breaks = [float(w) for w, ch in zip(path.breakpoints, path.changed_states) if 0 in ch.tolist()]
    for w in np.linspace(0.0, 1.0, c.w_grid):
        mw = st.with_reward(m, (1 - w) * tree.verifier + w * tree.weak)
        pols = {"argmax": st.action_gap(mw, states=dec).pi}
        pols.update({f"soft tau={tau:g}": st.soft_optimal_policy(mw, tau).pi for tau in c.taus})
        for name, pi in pols.items():
            p = st.trace_distribution(tree, pi)
            rows.append(
                {
                    "kind": "sweep",
                    "learner": name,
                    "w": float(w),
                    "correct": float(p[tree.correct].sum()),
                    "shortcut": float(p[tree.shortcut].sum()),
                    "root_breaks": ";".join(f"{b:.12g}" for b in root_breaks),
                }
            )
    for tau in np.geomspace(1e-3, 1.0, c.price_taus):
        so = st.soft_optimal_policy(m, float(tau))
        rows.append(
            {
                "kind": "price",
                "tau": float(tau),
                "loss": vstar - float(mdp.policy_evaluation(m, so.pi).v[0]),
                "bound": so.price_bound,
            }
        )
    return rows


def plot(table, config: PolicyCliffConfig):
    from labs.plotting import OKABE_ITO, TEXT_WIDTH, new_figure

    c = config
    fig, axes = new_figure(2, 2, width=TEXT_WIDTH, height=5.2)
    (ax_tv, ax_sh), (ax_w, ax_p) = axes
    pe = table[table["kind"] == "perturb"]
    soft_cols = [OKABE_ITO[k] for k in ("sky_blue", "blue", "bluish_green")]
    style = {"argmax": (OKABE_ITO["vermillion"], "o", "-", 5)}
    for tau, col in zip(c.taus, soft_cols):
        style[f"soft tau={tau:g}"] = (col, "s", "-", 3)
    style["PG, fresh init"] = (OKABE_ITO["orange"], "^", "--", 3)
    style["PG, same init"] = (OKABE_ITO["reddish_purple"], "v", "--", 3)
    floor = 1e-9
    for name, (col, mk, ls, ms) in style.items():
        sub = pe[pe["learner"] == name]
        if sub.empty:
            continue
        agg = sub.groupby("eps")[["state_tv", "shortcut_move"]].agg(["mean", "std"])
        lab = name.replace("tau", r"$\tau$")
        ax_tv.plot(
            agg.index,
            agg[("state_tv", "mean")].clip(lower=floor),
            color=col,
            marker=mk,
            ms=ms,
            lw=1.2,
            ls=ls,
            label=lab,
        )
        ax_sh.plot(
            agg.index,
            agg[("shortcut_move", "mean")].clip(lower=floor),
            color=col,
            marker=mk,
            ms=ms,
            lw=1.2,
            ls=ls,
            label=lab,
        )
        if name.startswith("soft"):
            b = sub.groupby("eps")["bound"].mean()
            ax_tv.plot(b.index, b.clip(upper=1.0), color=col, lw=0.8, ls=":")
    ax_tv.plot([], [], color="0.3", lw=0.8, ls=":", label=r"PC5 bound $|dR|_\infty/(2\tau(1-\gamma))$")
    ax_tv.set_xscale("log")
    ax_tv.set_yscale("log")
    ax_tv.set_ylim(floor * 0.5, 3.0)
    ax_tv.set_xlabel(r"noise scale $\epsilon$ on the verifier")
    ax_tv.set_ylabel(r"mean $\max_s \mathrm{TV}(\pi(\cdot|s), \pi_\epsilon(\cdot|s))$")
    ax_tv.set_title("(a) policy change (argmax and fresh-init PG at 1)")
    ax_tv.legend(fontsize=5.5, loc="lower right", ncols=2)
    ax_sh.set_xscale("log")
    ax_sh.set_yscale("log")
    ax_sh.set_ylim(floor * 0.5, 3.0)
    ax_sh.set_xlabel(r"noise scale $\epsilon$")
    ax_sh.set_ylabel(r"mean |shortcut mass after $-$ before|")
    ax_sh.set_title("(b) shortcut mass moved by the noise")
    sw = table[table["kind"] == "sweep"]
    for name in ["argmax"] + [f"soft tau={t:g}" for t in c.taus]:
        sub = sw[sw["learner"] == name].drop_duplicates("w").sort_values("w")
        col = style[name][0]
        lab = name.replace("tau", r"$\tau$")
        ax_w.plot(sub["w"], sub["correct"], color=col, lw=1.3, label=lab)
        ax_w.plot(sub["w"], sub["shortcut"], color=col, lw=1.0, ls="--")
    breaks = str(sw["root_breaks"].dropna().iloc[0]) if sw["root_breaks"].notna().any() else ""
    for i, b in enumerate(float(x) for x in breaks.split(";") if x):
        ax_w.axvline(b, color="0.4", lw=0.7, ls=":", label=r"exact tie of $R_{eff}$ at the root" if i == 0 else None)
    ax_w.plot([], [], color="0.3", lw=1.3, label="solid: mass on correct traces")
    ax_w.plot([], [], color="0.3", lw=1.0, ls="--", label="dashed: mass on shortcuts")
    ax_w.set_ylim(-0.03, 1.03)
    ax_w.set_xlabel(r"weight $w$ of the format reward ($w = 0$: six-way tie)")
    ax_w.set_ylabel("mass on traces")
    ax_w.set_title(r"(c) $R_{eff}(w) = (1-w)\,$verifier$\, + \,w\,$format")
    ax_w.legend(fontsize=5.5, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncols=3)
    pr = table[table["kind"] == "price"].drop_duplicates("tau").sort_values("tau")
    pfloor = 1e-16
    ax_p.plot(
        pr["tau"],
        pr["loss"].clip(lower=pfloor),
        color="0.1",  # not blue: blue is soft tau = 0.1 in (a)-(c)
        marker="o",
        ms=3,
        lw=1.2,
        label=r"$V^* - V^{\pi_\tau}$ at the root",
    )
    ax_p.plot(pr["tau"], pr["bound"], color="0.3", ls=":", lw=1.0, label=r"PC6 bound $\tau \log|A| / (1-\gamma)$")
    ax_p.set_xscale("log")
    ax_p.set_yscale("log")
    ax_p.set_ylim(pfloor * 0.3, 30)
    ax_p.set_xlabel(r"temperature $\tau$")
    ax_p.set_ylabel(r"clean return lost (floor $10^{-16}$)")
    ax_p.set_title("(d) price of stability")
    ax_p.legend(fontsize=5.5, loc="lower right")
    n = pe.groupby(["learner", "eps"]).size()
    fig.suptitle(
        f"Policy cliff on the reasoning tree (64 traces, 6 correct: 3 faithful, 3 shortcuts; $\\gamma$ = {c.gamma:g}); "
        f"{int(n.max())} noise draws per point, PG {int(n.min())}",
        fontsize=7,
    )
    return fig


LAB = register_lab(
    Lab(
        name="policy_cliff",
        config_cls=PolicyCliffConfig,
        run=run,
        plot=plot,
        description="Reward noise vs policy change on a reasoning tree with tied correct traces: argmax, soft "
        "(several tau) and softmax PG; effective-reward sweep; price of entropy regularisation.",
        subjects=(
            "mdp.stability.action_gap",
            "mdp.stability.soft_optimal_policy",
            "mdp.stability.softmax_pg",
            "mdp.stability.effective_reward_path",
        ),
    )
)
