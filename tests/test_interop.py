"""mdp.from_gymnasium / mdp.to_gymnasium: known values, round trips, check_env, bad input."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import mdp
from mdp.interop import reference_table_to_arrays

gym = pytest.importorskip("gymnasium")
from gymnasium.utils.env_checker import check_env  # noqa: E402


def _make(name):
    """``gym.make`` of ``name``, or of the newest registered version of its family when that version is
    not registered (CliffWalking-v1 and Taxi-v4 arrived after gymnasium 1.0, which has -v0 and -v3)."""
    if name not in gym.registry:
        family = name.rsplit("-v", 1)[0]
        versions = [k for k in gym.registry if k.rsplit("-v", 1)[0] == family]
        name = max(versions, key=lambda k: int(k.rsplit("-v", 1)[1]))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return gym.make(name)


def _episodic_vi(table, gamma, n_sweeps):
    """Independent value iteration written straight from the toy-text table: a terminal branch pays
    its reward and does not bootstrap (v(s) = max_a sum_i p_i (r_i + gamma (1 - done_i) v(s'_i)))."""
    S = len(table)
    v = np.zeros(S)
    for _ in range(n_sweeps):
        v = np.array(
            [
                max(sum(p * (r + (0.0 if done else gamma * v[t])) for p, t, r, done in table[s][a]) for a in table[s])
                for s in range(S)
            ]
        )
    return v


def test_frozenlake_4x4_slippery_matches_independent_value_iteration():
    # Known value: the start state of slippery FrozenLake 4x4 at gamma = 0.99 has v* = 0.5420, from
    # the independent value iteration below (written from env.P with "a terminal branch does not
    # bootstrap", not with this module's absorbing state). 1500 sweeps of a 0.99-contraction from 0
    # leave 0.99**1500 < 3e-7 of the distance to v* (values in [0, 1]).
    env = _make("FrozenLake-v1")
    m = mdp.from_gymnasium(env, gamma=0.99)
    assert (m.n_states, m.n_actions) == (17, 4)
    res = mdp.solve(m, tol=1e-10)
    v_ref = _episodic_vi(env.unwrapped.P, 0.99, 1500)
    np.testing.assert_allclose(res.v[:16], v_ref, atol=1e-6)
    assert res.v[0] == pytest.approx(0.5420, abs=5e-5)
    np.testing.assert_allclose(res.v[[16, 15, 5]], 0.0, atol=1e-9)  # absorbing, goal, hole
    # holes and the goal only ever lead to the absorbing state
    assert np.all(m.dense_P()[[5, 7, 11, 12, 15], :, 16] == 1.0)


@pytest.mark.parametrize("name,gamma,sweeps", [("CliffWalking-v1", 0.9, 400), ("Taxi-v4", 0.9, 300)])
def test_cliffwalking_taxi_match_independent_value_iteration(name, gamma, sweeps):
    env = _make(name)
    m = mdp.from_gymnasium(env, gamma=gamma)
    S = len(env.unwrapped.P)
    assert m.n_states == S + 1
    res = mdp.solve(m, tol=1e-9)
    v_ref = _episodic_vi(env.unwrapped.P, gamma, sweeps)  # 0.9**300 * 200 < 1e-11
    np.testing.assert_allclose(res.v[:S], v_ref, atol=1e-6)


@pytest.mark.parametrize("name", ["FrozenLake-v1", "CliffWalking-v1", "Taxi-v4"])
def test_kernel_matches_reference_twin(name):
    env = _make(name)
    P_ref, R_ref = reference_table_to_arrays(env.unwrapped.P)
    m = mdp.from_gymnasium(env, gamma=0.95)
    np.testing.assert_allclose(m.dense_P(), P_ref, atol=1e-15)
    np.testing.assert_allclose(m.R, R_ref, atol=1e-15)
    assert mdp.from_gymnasium(env.unwrapped.P, gamma=0.95, sparse=False).dense_P().shape == P_ref.shape


def test_no_terminal_branch_adds_no_state_and_repeated_targets_are_summed():
    table = {
        0: {0: [(0.25, 1, 2.0, False), (0.25, 1, 2.0, False), (0.5, 0, 0.0, False)]},
        1: {0: [(1.0, 1, -1.0, False)]},
    }
    m = mdp.from_gymnasium(table, gamma=0.5)
    assert m.n_states == 2
    np.testing.assert_allclose(m.dense_P()[0, 0], [0.5, 0.5])
    np.testing.assert_allclose(m.R[:, 0], [1.0, -1.0])


def test_to_gymnasium_passes_check_env():
    m = mdp.generators.forest()
    check_env(mdp.to_gymnasium(m, max_episode_steps=50), skip_render_check=True)
    fl = mdp.from_gymnasium(_make("FrozenLake-v1"), gamma=0.99)
    check_env(mdp.to_gymnasium(fl, terminal_states=[16]), skip_render_check=True)


def test_env_samples_the_model_and_seeds_reproduce():
    m = mdp.generators.forest(p=0.3)
    env = mdp.to_gymnasium(m, mu=[1.0, 0.0, 0.0])
    obs, _ = env.reset(seed=7)
    assert obs == 0
    counts = np.zeros(3)
    s = obs
    for _ in range(4000):  # always wait from state 1: next is 0 w.p. 0.3, 2 w.p. 0.7
        env._state = 1
        s, r, term, trunc, _ = env.step(0)
        assert r == m.R[1, 0] and not term and not trunc
        counts[s] += 1
    freq = counts / counts.sum()
    # 4000 draws: the standard error of 0.3 is 0.0072, so 0.04 is > 5 standard errors
    np.testing.assert_allclose(freq, [0.3, 0.0, 0.7], atol=0.04)
    a = mdp.to_gymnasium(m)
    b = mdp.to_gymnasium(m)
    trace = []
    for env_ in (a, b):
        env_.reset(seed=3)
        trace.append([env_.step(i % 2)[0] for i in range(30)])
    assert trace[0] == trace[1]


def test_episode_ends_on_terminal_and_truncation():
    fl = mdp.from_gymnasium(_make("FrozenLake-v1"), gamma=0.99)
    env = mdp.to_gymnasium(fl, terminal_states=[16], max_episode_steps=1000)
    env.reset(seed=0)
    for _ in range(1000):
        s, r, term, trunc, _ = env.step(0)
        if term or trunc:
            break
    assert term and s == 16
    with pytest.raises(RuntimeError, match="reset"):
        env.step(0)
    env2 = mdp.to_gymnasium(mdp.generators.forest(), max_episode_steps=3)
    env2.reset(seed=0)
    flags = [env2.step(0)[3] for _ in range(3)]
    assert flags == [False, False, True]


@settings(max_examples=15, deadline=None)
@given(S=st.integers(1, 5), A=st.integers(1, 3), seed=st.integers(0, 2**32 - 1), gamma=st.floats(0.0, 0.99))
def test_round_trip_property(S, A, seed, gamma):
    rng = np.random.default_rng(seed)
    P = rng.random((S, A, S)) * (rng.random((S, A, S)) < 0.6)
    P[..., 0] += 1e-3
    P /= P.sum(axis=2, keepdims=True)
    R = rng.normal(size=(S, A))
    m = mdp.TabularMDP(P, R, gamma)
    m2 = mdp.from_gymnasium(mdp.to_gymnasium(m), gamma=gamma)
    np.testing.assert_allclose(m2.dense_P(), m.dense_P(), atol=1e-15)
    np.testing.assert_allclose(m2.R, m.R, atol=1e-15)
    np.testing.assert_allclose(mdp.solve(m2).v, mdp.solve(m).v, atol=1e-7)


@pytest.mark.parametrize(
    "table,exc,match",
    [
        (object(), TypeError, "transition table"),
        ({}, ValueError, "empty"),
        ({1: {0: [(1.0, 1, 0, False)]}}, ValueError, "states 0..0"),
        ({0: {0: [(1.0, 0, 0, False)]}, 1: {}}, ValueError, "same non-zero number of actions"),
        ({0: {1: [(1.0, 0, 0, False)]}}, ValueError, "actions 0..0"),
        ({0: {0: []}}, ValueError, "no transition"),
        ({0: {0: [(1.0, 0, 0)]}}, ValueError, r"\(prob, next_state, reward"),
        ({0: {0: [(1.0, 3, 0, False)]}}, ValueError, "outside"),
        ({0: {0: [(1.0, 0.5, 0, False)]}}, TypeError, "next_state"),
        ({0: {0: [(-1.0, 0, 0, False), (2.0, 0, 0, False)]}}, ValueError, "probability"),
        ({0: {0: [(1.0, 0, float("nan"), False)]}}, ValueError, "reward"),
        ({0: {0: [(0.5, 0, 0, False)]}}, ValueError, "sums to"),
    ],
)
def test_from_gymnasium_bad_input(table, exc, match):
    with pytest.raises(exc, match=match):
        mdp.from_gymnasium(table, gamma=0.9)


def test_from_gymnasium_bad_gamma_and_to_gymnasium_bad_input():
    with pytest.raises(ValueError, match="gamma"):
        mdp.from_gymnasium(_make("FrozenLake-v1"), gamma=1.5)
    m = mdp.generators.forest()
    with pytest.raises(TypeError, match="m must be an mdp.TabularMDP"):
        mdp.to_gymnasium("forest")
    with pytest.raises(ValueError, match="terminal_states"):
        mdp.to_gymnasium(m, terminal_states=[3])
    with pytest.raises(ValueError, match="every state"):
        mdp.to_gymnasium(m, terminal_states=[0, 1, 2])
    with pytest.raises(ValueError, match="mu must have shape"):
        mdp.to_gymnasium(m, mu=[1.0])
    with pytest.raises(ValueError, match="probability vector"):
        mdp.to_gymnasium(m, mu=[0.5, 0.0, 0.0])
    with pytest.raises(ValueError, match="no mass on terminal"):
        mdp.to_gymnasium(m, mu=[0.0, 0.0, 1.0], terminal_states=[2])
    with pytest.raises(ValueError, match="max_episode_steps"):
        mdp.to_gymnasium(m, max_episode_steps=0)
    env = mdp.to_gymnasium(m)
    with pytest.raises(RuntimeError, match="reset"):
        env.step(0)
    env.reset(seed=0)
    with pytest.raises(ValueError, match="action"):
        env.step(5)


def test_tabular_env_class_is_a_gymnasium_env():
    from mdp.interop import TabularEnv

    assert issubclass(TabularEnv, gym.Env)
    assert isinstance(mdp.to_gymnasium(mdp.generators.forest()), TabularEnv)


def test_large_sparse_model_as_env():
    # 10^4 states, CSR: the env keeps the model's own storage (no dense (S, A, S) copy)
    m = mdp.generators.gridworld(100, 100, slip=0.1)
    env = mdp.to_gymnasium(m, max_episode_steps=20)
    obs, _ = env.reset(seed=0)
    for _ in range(20):
        nxt, r, term, trunc, _ = env.step(1)
        assert m.transition_row(obs, 1)[nxt] > 0 and r == m.R[obs, 1]
        obs = nxt
    assert trunc
    assert env._cdf.size == m.nnz
