"""mdp.llm.toy_envs (exact Q/A of toy agent MDPs, grouped rollouts) and the exact_advantage lab."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mdp.llm import toy_envs as T

pytest.importorskip("torch")


# ------------------------------------------------------------------------------ known values
def test_two_step_tree_hand_computed():
    # depth 2, b = 2, width 2: s0 --k--> s_{1+k}; at depth 1 action 0 reaches the goal leaf 0 (reward 1).
    env = T.branching_tree(2, 2, 2, gamma=0.9, goal_leaves=(0,))
    assert env.n_states == 4 and env.n_actions == 2 and env.labels == ("d0n0", "d1n0", "d1n1", "end")
    pi = np.array([[0.5, 0.5], [0.8, 0.2], [0.25, 0.75], [0.5, 0.5]])
    ex = T.exact_values(env, pi)
    # by hand: V(s1) = 0.8, V(s2) = 0.25, Q(s0, 0) = 0.9 * 0.8, Q(s0, 1) = 0.9 * 0.25, V(s0) = 0.4725
    np.testing.assert_allclose(ex.v, [0.4725, 0.8, 0.25, 0.0], atol=1e-12)
    np.testing.assert_allclose(ex.q[0], [0.72, 0.225], atol=1e-12)
    np.testing.assert_allclose(ex.adv, [[0.2475, -0.2475], [0.2, -0.8], [0.75, -0.25], [0, 0]], atol=1e-12)
    assert T.success_probability(env, pi) == pytest.approx(0.4725, abs=1e-12)


@pytest.mark.parametrize("L,gamma", [(3, 0.9), (5, 0.95), (1, 0.5)])
def test_deterministic_corridor_optimal_policy(L, gamma):
    env = T.corridor(L, gamma=gamma)
    pi = np.tile([0.0, 0.0, 1.0], (L + 1, 1))  # always right: optimal
    ex = T.exact_values(env, pi)
    s = np.arange(L)
    v = gamma ** (L - 1 - s)  # reward 1 on the (L - s)-th step
    np.testing.assert_allclose(ex.v[:L], v, atol=1e-12)
    np.testing.assert_allclose(ex.adv[:L, 2], 0.0, atol=1e-12)
    np.testing.assert_allclose(ex.adv[:L, 1], -(1 - gamma) * v, atol=1e-12)  # stay wastes a step
    left = np.where(s >= 1, gamma ** (L - s + 1), gamma**L) - v  # bump at 0 = stay
    np.testing.assert_allclose(ex.adv[:L, 0], left, atol=1e-12)
    assert T.success_probability(env, pi) == pytest.approx(gamma ** (L - 1), abs=1e-12)


def test_bump_penalty_and_slip_enter_expected_reward():
    env = T.corridor(3, gamma=0.9, slip=0.3, bump_penalty=0.1)
    R = env.mdp.R
    # at 0: left executed with prob 0.7 + 0.1 (chosen) or 0.1 (other actions) -> -0.1 * that
    np.testing.assert_allclose(R[0], [-0.08, -0.01, -0.01], atol=1e-12)
    # at 2: right (goal) executed with prob 0.8 (chosen) or 0.1
    np.testing.assert_allclose(R[2], [0.1, 0.1, 0.8], atol=1e-12)


def test_tree_shares_states_between_action_sequences():
    env = T.branching_tree(3, 3, 4)
    nxt = env.next_state
    # (0,0) -0-> (1,0) -1-> (2,1) ; (0,0) -1-> (1,1) -... widths 1, 3, 4: (1,1)*3+k mod 4
    lands = {(a, b): int(nxt[nxt[0, a], b]) for a in range(3) for b in range(3)}
    assert len(set(lands.values())) < len(lands)  # different sequences, same node


# ------------------------------------------------------------------------------ properties
@settings(max_examples=25)
@given(
    seed=st.integers(0, 2**31 - 1),
    env_kind=st.sampled_from(["corridor", "tree"]),
    G=st.integers(1, 6),
    P=st.integers(1, 4),
    slip=st.sampled_from([0.0, 0.25]),
)
def test_rollout_structure_and_zero_mean_advantage(seed, env_kind, G, P, slip):
    rng = np.random.default_rng(seed)
    env = T.corridor(4, slip=slip) if env_kind == "corridor" else T.branching_tree(3, 2, 3, slip=slip)
    theta = rng.normal(size=(env.n_states, env.n_actions))
    ex = T.exact_values(env, T.softmax_policy(theta))
    np.testing.assert_allclose((ex.pi * ex.adv).sum(1), 0.0, atol=1e-12)  # sum_a pi A = 0
    ro = T.rollout(env, theta, group_size=G, n_prompts=P, rng=rng)
    N = G * P
    assert ro.n_trajectories == N and ro.n_rows == int(ro.traj_length.sum())
    assert np.all(ro.traj_length >= 1)
    np.testing.assert_array_equal(np.bincount(ro.trajectory_ids, minlength=N), ro.traj_length)
    np.testing.assert_array_equal(ro.group_ids, ro.trajectory_ids // G)
    starts = np.r_[0, np.cumsum(ro.traj_length)[:-1]]
    np.testing.assert_array_equal(ro.step_ids, np.arange(ro.n_rows) - np.repeat(starts, ro.traj_length))
    np.testing.assert_array_equal(ro.states[starts], np.repeat(ro.start_states, G))
    np.testing.assert_allclose(ro.reward_to_go[starts], ro.traj_return)
    np.testing.assert_allclose(ro.adv, ex.q[ro.states, ro.actions] - ex.v[ro.states])
    assert not np.any(env.terminal[ro.states])
    assert not ro.traj_truncated.any()
    tb, sb = ro.trajectory_batch(), ro.step_batch()
    assert tb.n_rows == N and sb.n_rows == ro.n_rows
    if env_kind == "tree":
        assert ro.traj_length.max() <= 3  # one decision per level


def test_rollout_is_reproducible_and_truncation_is_flagged():
    env = T.corridor(6, gamma=0.99)
    a = T.rollout(env, np.zeros((7, 3)), group_size=4, n_prompts=3, rng=np.random.default_rng(5))
    b = T.rollout(env, np.zeros((7, 3)), group_size=4, n_prompts=3, rng=np.random.default_rng(5))
    np.testing.assert_array_equal(a.actions, b.actions)
    c = T.rollout(env, np.zeros((7, 3)), group_size=4, n_prompts=3, rng=np.random.default_rng(5), max_steps=2)
    assert c.traj_length.max() <= 2 and c.traj_truncated.any()


# ------------------------------------------------------------------------------ differential
@pytest.mark.parametrize(
    "env",
    [
        T.corridor(4, gamma=0.9, slip=0.2, bump_penalty=0.1, step_reward=-0.02),
        T.branching_tree(3, 3, 4, gamma=0.85, slip=0.1, goal_leaves=(0, 2)),
    ],
    ids=["corridor", "tree"],
)
def test_exact_q_matches_monte_carlo(env):
    rng = np.random.default_rng(2024)
    theta = rng.normal(size=(env.n_states, env.n_actions))
    ex = T.exact_values(env, T.softmax_policy(theta))
    ro = T.rollout(env, theta, group_size=4000, n_prompts=3, rng=rng)
    first = ro.step_ids == 0  # first step: independent episodes
    for a in range(env.n_actions):
        m = first & (ro.actions == a)
        g = ro.reward_to_go[m]
        se = g.std(ddof=1) / np.sqrt(m.sum())
        assert abs(g.mean() - ex.q[0, a]) < 4.5 * se + 1e-9, (a, g.mean(), ex.q[0, a], se)
    # success rate vs the exact success probability
    p = T.success_probability(env, ex.pi)
    assert abs(ro.traj_success.mean() - p) < 4.5 * np.sqrt(p * (1 - p) / ro.n_trajectories)


def test_metrics_known_values():
    from labs.exact_advantage import advantage_metrics

    rng = np.random.default_rng(0)
    cells = rng.integers(0, 6, size=400)
    a_true = np.linspace(-1, 1, 6)[cells]
    m = advantage_metrics(2 * a_true + 1, a_true, cells)  # affine: no bias/noise after calibration
    assert m["corr"] == pytest.approx(1) and m["slope"] == pytest.approx(2)
    assert m["bias2_frac"] == pytest.approx(0, abs=1e-12) and m["var_frac"] == pytest.approx(0, abs=1e-12)
    assert m["variance"] == pytest.approx(0, abs=1e-12)
    assert m["bias"] == pytest.approx(np.mean(a_true + 1))
    m = advantage_metrics(-a_true, a_true, cells)
    assert m["sign_agree"] == 0 and m["cell_sign_agree"] == 0 and m["corr"] == pytest.approx(-1)
    noise = rng.normal(size=400)
    m = advantage_metrics(a_true + noise, a_true, cells)
    assert 0 < m["var_frac"] and m["variance"] == pytest.approx(
        np.mean((noise - (np.bincount(cells, noise) / np.bincount(cells))[cells]) ** 2)
    )


# ------------------------------------------------------------------------------ the lab
def test_lab_tiny_run(tmp_path):
    import labs.exact_advantage as L  # registers the lab until the lead adds it to _load_builtin_labs
    from labs.base import run_lab

    out = run_lab(
        "exact_advantage",
        seeds=1,
        out=tmp_path,
        executor="serial",
        corridor_length=5,
        group_sizes=(4, 16),
        n_batches=4,
        train_iterations=6,
        eval_every=3,
    )
    d = tmp_path / "exact_advantage"
    for name in ("exact_advantage.csv", "exact_advantage.pdf", "exact_advantage.png", "provenance.json"):
        assert (d / name).is_file()
    t = out.table
    est = t[t["panel"] == "estimate"]
    assert set(est["estimator"]) == set(L.DEFAULT_ESTIMATORS)
    assert set(est["env"]) == {"corridor", "tree"} and set(est["group_size"]) == {4, 16}
    orc = est[est["estimator"] == "oracle"]
    assert np.all(orc["sign_agree"] == 1) and np.all(orc["cell_sign_agree"] == 1)
    np.testing.assert_allclose(orc["corr"], 1)
    np.testing.assert_allclose(orc["bias"], 0, atol=1e-15)
    grpo = est[(est["estimator"] == "grpo") & (est["env"] == "corridor") & (est["group_size"] == 16)]
    assert float(grpo["sign_agree"].iloc[0]) > 0.5
    tr = t[t["panel"] == "train"]
    assert set(tr["iteration"]) == {0, 3, 6}
    assert np.all((tr["success"] >= 0) & (tr["success"] <= 1))
    start = tr[tr["iteration"] == 0].groupby("env")["success"].nunique()
    assert np.all(start == 1)  # every arm starts from theta = 0


def test_lab_skips_and_config_validation():
    import labs.exact_advantage as L
    from mdp.llm import list_estimators

    skipped = L.skipped_estimators()
    assert {"igpo", "gcpo", "rlvmr", "arena", "spo", "spark", "hill"} <= set(skipped)
    registered = set(list_estimators())
    for name, (method, _, _) in L.VARIANTS.items():
        assert method is None or method in registered, name
    with pytest.raises(ValueError, match=r"unknown estimator\(s\) \['ppo'\]"):
        L.ExactAdvantageConfig(estimators=("grpo", "ppo"))
    with pytest.raises(ValueError, match=r"group_sizes must be >= 2"):
        L.ExactAdvantageConfig(group_sizes=(1, 4))
    with pytest.raises(ValueError, match=r"unknown env\(s\) \['maze'\]"):
        L.ExactAdvantageConfig(envs=("maze",))


# ------------------------------------------------------------------------------ bad input
@pytest.mark.parametrize(
    "call,exc,msg",
    [
        (lambda: T.corridor(0), ValueError, r"length must be >= 1, got 0"),
        (lambda: T.corridor(2.5), TypeError, r"length must be an integer"),
        (lambda: T.corridor(4, gamma=1.0), ValueError, r"gamma must lie in \(0, 1\), got 1.0"),
        (lambda: T.corridor(4, slip=1.5), ValueError, r"slip must lie in \[0, 1\], got 1.5"),
        (lambda: T.corridor(4, bump_penalty=float("nan")), TypeError, r"bump_penalty must be a finite real number"),
        (lambda: T.corridor(4, start_states=(4,)), ValueError, r"start_states must lie in \[0, 4\).*got 4"),
        (lambda: T.corridor(4, start_states=()), ValueError, r"start_states must be a non-empty 1-d sequence"),
        (lambda: T.corridor(4, start_states=(0.5,)), TypeError, r"start_states must hold integers"),
        (lambda: T.branching_tree(0), ValueError, r"depth must be >= 1, got 0"),
        (lambda: T.branching_tree(3, 1), ValueError, r"branching must be >= 2, got 1"),
        (lambda: T.branching_tree(3, 2, 0), ValueError, r"width must be >= 1, got 0"),
        (lambda: T.branching_tree(2, 2, 3, goal_leaves=(3,)), ValueError, r"goal_leaves must lie in \[0, 3\).*got 3"),
        (lambda: T.branching_tree(2, gamma="0.9"), TypeError, r"gamma must be a finite real number"),
    ],
)
def test_bad_env_arguments(call, exc, msg):
    with pytest.raises(exc, match=msg):
        call()


def test_bad_rollout_and_policy_arguments():
    env = T.corridor(3)
    th = np.zeros((4, 3))
    rng = np.random.default_rng(0)
    with pytest.raises(TypeError, match=r"env must be a ToyEnv"):
        T.rollout("corridor", th, group_size=2, n_prompts=1, rng=rng)
    with pytest.raises(ValueError, match=r"theta must have shape \(S, A\) = \(4, 3\), got \(3, 3\)"):
        T.rollout(env, np.zeros((3, 3)), group_size=2, n_prompts=1, rng=rng)
    with pytest.raises(ValueError, match=r"theta must be finite"):
        T.rollout(env, np.full((4, 3), np.nan), group_size=2, n_prompts=1, rng=rng)
    with pytest.raises(ValueError, match=r"group_size must be >= 1, got 0"):
        T.rollout(env, th, group_size=0, n_prompts=1, rng=rng)
    with pytest.raises(ValueError, match=r"n_prompts must be >= 1, got 0"):
        T.rollout(env, th, group_size=2, n_prompts=0, rng=rng)
    with pytest.raises(TypeError, match=r"rng must be a numpy.random.Generator"):
        T.rollout(env, th, group_size=2, n_prompts=1, rng=0)
    with pytest.raises(ValueError, match=r"max_steps must be >= 1, got 0"):
        T.rollout(env, th, group_size=2, n_prompts=1, rng=rng, max_steps=0)
    other = T.exact_values(env, T.softmax_policy(np.eye(4, 3)))
    with pytest.raises(ValueError, match=r"exact was computed for a different policy"):
        T.rollout(env, th, group_size=2, n_prompts=1, rng=rng, exact=other)
    with pytest.raises(TypeError, match=r"exact must be an ExactValues"):
        T.rollout(env, th, group_size=2, n_prompts=1, rng=rng, exact={"q": 0})
    with pytest.raises(ValueError, match=r"pi must hold probability rows"):
        T.exact_values(env, np.full((4, 3), 0.5))
    with pytest.raises(ValueError, match=r"pi must have shape \(S, A\) = \(4, 3\)"):
        T.success_probability(env, np.full((4, 2), 0.5))
    with pytest.raises(ValueError, match=r"theta must be 2-dimensional"):
        T.softmax_policy(np.zeros(3))
    ro = T.rollout(env, th, group_size=2, n_prompts=1, rng=rng)
    with pytest.raises(ValueError, match=r"per_trajectory must have 2 entries"):
        ro.to_rows(np.zeros(3))
