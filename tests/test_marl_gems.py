"""marl.envs.gems_v0: PettingZoo API, the exported exact MarkovGame, and the env's agreement with it."""

import warnings

import numpy as np
import pytest

import marl
from marl.envs import gems_v0

warnings.filterwarnings("ignore", message=".*is not.*", category=UserWarning)


def test_pettingzoo_api_and_seed_tests():
    from pettingzoo.test import (
        api_test,
        parallel_api_test,
        parallel_seed_test,
        seed_test,
    )

    parallel_api_test(gems_v0.parallel_env(), num_cycles=100)
    api_test(gems_v0.env(), num_cycles=100)
    seed_test(lambda: gems_v0.env(), num_cycles=50)
    parallel_seed_test(lambda: gems_v0.parallel_env(), num_cycles=50)


def test_model_shape_and_known_rewards():
    g = gems_v0.model()
    assert isinstance(g, marl.MarkovGame) and not g.is_zero_sum
    assert g.n_states == 256 and g.n_actions == (5, 5) and g.is_sparse
    # without slip: agent 0 one step W of its gem (3, 3) moving E gets +1; both stepping onto the same
    # cell collide (-0.2 each); stepping onto the shared gem (2, 1) pays 0.5 (rules, module docstring)
    g0 = gems_v0.model(slip=0.0)
    s = gems_v0.state_index((2, 3), (0, 0))
    assert g0.rewards[0, s, 2, 4] == pytest.approx(1.0) and g0.rewards[1, s, 2, 4] == 0.0
    s = gems_v0.state_index((1, 1), (3, 1))
    assert g0.rewards[0, s, 2, 3] == pytest.approx(0.5 - 0.2) and g0.rewards[1, s, 2, 3] == pytest.approx(0.5 - 0.2)
    P = g0.dense_P()
    assert P[s, 2, 3, gems_v0.state_index((2, 1), (2, 1))] == 1.0


def test_env_matches_model_in_distribution():
    g = gems_v0.model(slip=0.3)
    e = gems_v0.parallel_env(slip=0.3, max_cycles=None)
    e.reset(seed=0)
    s0 = gems_v0.state_index((1, 1), (2, 2))
    counts = np.zeros(256)
    rew = np.zeros(2)
    n = 4000
    for _ in range(n):
        e.reset(options={"state": s0})
        _, r, *_ = e.step({"agent_0": 2, "agent_1": 3})
        counts[e.state()] += 1
        rew += [r["agent_0"], r["agent_1"]]
    p = g.dense_P()[s0, 2, 3]
    assert np.abs(counts / n - p).max() < 0.03
    np.testing.assert_allclose(rew / n, g.rewards[:, s0, 2, 3], atol=0.03)


def test_start_and_decode_and_bad_input():
    assert gems_v0.decode_state(gems_v0.state_index((0, 0), (3, 0))) == ((0, 0), (3, 0))
    assert gems_v0.start_distribution().sum() == 1.0
    e = gems_v0.parallel_env(render_mode="ansi")
    e.reset(seed=1)
    assert "0" in e.render() and "1" in e.render()
    with pytest.raises(ValueError, match="off the"):
        gems_v0.state_index((4, 0), (0, 0))
    with pytest.raises(ValueError, match="slip"):
        gems_v0.model(slip=1.0)
    with pytest.raises(ValueError, match="s must be"):
        gems_v0.decode_state(256)
