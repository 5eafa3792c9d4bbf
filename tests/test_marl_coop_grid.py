"""The cooperative switch grid (marl.envs.coop_grid_v0) and the MAPPO objective of the deep BN
actor-critic (marl.bn.torch.train_bn_actor_critic(objective="mappo"))."""

import numpy as np
import pytest

import mdp
from marl.envs import coop_grid_v0

pytestmark = [
    pytest.mark.filterwarnings("ignore:Observation is not a NumPy array"),
    pytest.mark.filterwarnings("ignore:Observation space for each agent probably should be"),
    pytest.mark.filterwarnings("ignore:Observation numpy array is all zeros"),
]


# ---------------------------------------------------------------------------- environment
@pytest.mark.parametrize("kw", [{}, {"size": 2, "max_cycles": 7}])
def test_grid_env_api(kw):
    from pettingzoo.test import api_test, parallel_api_test, parallel_seed_test, seed_test

    parallel_api_test(coop_grid_v0.parallel_env(**kw), num_cycles=60)
    api_test(coop_grid_v0.env(**kw), num_cycles=60)
    seed_test(lambda: coop_grid_v0.env(**kw), num_cycles=60)
    parallel_seed_test(lambda: coop_grid_v0.parallel_env(**kw), num_cycles=60)


def test_grid_known_values():
    g = coop_grid_v0.model(3)
    assert g.n_states == 81 and g.n_actions == (5, 5) and g.gamma == 0.9
    J = float(np.asarray(g.mu) @ np.asarray(mdp.solve(g.joint_mdp).v))
    # optimum: up-up (0), up-up (+10, back to the start), ...: 10 gamma / (1 - gamma^2) = 9 / 0.19
    assert J == pytest.approx(9 / 0.19, abs=1e-6)
    # the safe policy (stay forever in the bottom row): 1 / (1 - gamma) = 10
    pi = np.zeros((81, 25))
    pi[:, 0] = 1.0
    assert float(np.asarray(g.mu) @ np.asarray(mdp.policy_evaluation(g.joint_mdp, pi).v)) == pytest.approx(10.0)
    # size 2: the start row touches the switches; up-up pays 10 every step: 10 / (1 - gamma)
    g2 = coop_grid_v0.model(2)
    assert float(np.asarray(g2.mu) @ np.asarray(mdp.solve(g2.joint_mdp).v)) == pytest.approx(100.0, abs=1e-6)


def test_grid_env_follows_its_model_and_climbing_payoffs():
    env = coop_grid_v0.parallel_env(3, max_cycles=None, render_mode="ansi")
    g = env.unwrapped.model()
    P, R = g.dense_joint_P(), np.asarray(g.R).reshape(g.n_states, -1)
    _, info = env.reset(seed=3)
    start = info["agent_0"]["state"]
    assert start == int(np.argmax(g.mu)) and env.render().splitlines()[2] == "0.1"
    rng = np.random.default_rng(0)
    for _ in range(3000):  # random play: rewards and (deterministic) moves are the model's
        s = info["agent_0"]["state"]
        a = rng.integers(5, size=2)
        obs, rew, _term, _trunc, info = env.step({"agent_0": a[0], "agent_1": a[1]})
        j = a[0] * 5 + a[1]
        assert rew["agent_0"] == rew["agent_1"] == R[s, j]
        s2 = info["agent_0"]["state"]
        assert P[s, j, s2] == 1.0 and obs["agent_1"] == s2
    # climbing structure in the middle row: up-up +10 (back to start), one up alone -5, stay 0
    env.reset(seed=0)
    env.step({"agent_0": 1, "agent_1": 1})
    s_mid = env.state()
    assert env.step({"agent_0": 1, "agent_1": 0})[1]["agent_0"] == -5.0
    env.reset(seed=0, options=None)
    env.step({"agent_0": 1, "agent_1": 1})
    assert env.state() == s_mid
    _, rew, _, _, info = env.step({"agent_0": 1, "agent_1": 1})
    assert rew["agent_0"] == 10.0 and info["agent_0"]["state"] == start
    assert env.step({"agent_0": 0, "agent_1": 0})[1]["agent_1"] == 1.0  # safe bottom row


def test_grid_bad_input():
    with pytest.raises(ValueError, match="size must be an integer in 2..5"):
        coop_grid_v0.parallel_env(6)
    with pytest.raises(ValueError, match="size must be an integer in 2..5"):
        coop_grid_v0.model(1)
    with pytest.raises(TypeError, match="size"):
        coop_grid_v0.parallel_env(2.5)
    with pytest.raises(TypeError, match="reward must be a real number"):
        coop_grid_v0.model(3, reward="big")
    with pytest.raises(ValueError, match="gamma"):
        coop_grid_v0.parallel_env(3, gamma=1.5)
    with pytest.raises(ValueError, match="render_mode"):
        coop_grid_v0.parallel_env(3, render_mode="human")
    env = coop_grid_v0.parallel_env(3)
    with pytest.raises(RuntimeError, match="reset"):
        env.step({"agent_0": 0, "agent_1": 0})
    env.reset(seed=0)
    with pytest.raises(ValueError, match="must lie in 0..4"):
        env.step({"agent_0": 5, "agent_1": 0})
    with pytest.raises(ValueError, match="missing"):
        env.step({"agent_1": 0})


# ---------------------------------------------------------------------------- MAPPO objective
def _train(graph="learned", seed=0, **kw):
    pytest.importorskip("torch")
    from marl.bn.torch import train_bn_actor_critic

    opts = dict(n_iter=4, n_envs=4, n_steps=4, epochs=2, n_checkpoints=2, device="cpu")
    opts.update(kw)
    return train_bn_actor_critic(
        lambda: coop_grid_v0.parallel_env(2, max_cycles=5),
        graph=graph,
        objective="mappo",
        rng=np.random.default_rng(seed),
        **opts,
    )


@pytest.mark.parametrize("graph", ["learned", "none", "full"])
def test_mappo_mechanics(graph):
    res = _train(graph)
    assert res.checkpoints.tolist() == [2, 4] and res.optimum == pytest.approx(100.0, abs=1e-6)
    assert np.all(np.isfinite(res.losses)) and res.losses.shape == (2,)
    assert res.clip_fraction.shape == (2,) and np.all((res.clip_fraction >= 0) & (res.clip_fraction <= 1))
    lo = -5.0 / (1 - 0.9)
    for v in (*res.values_graph, *res.values_independent):
        assert lo - 1e-9 <= v <= 100.0 + 1e-9
    if graph == "none":
        assert np.array_equal(res.values_graph, res.values_independent)


def test_mappo_is_deterministic_under_a_seeded_rng_and_clips():
    a, b, c = _train(seed=1), _train(seed=1), _train(seed=2)
    assert np.array_equal(a.values_graph, b.values_graph) and np.array_equal(a.losses, b.losses)
    assert np.array_equal(a.clip_fraction, b.clip_fraction)
    assert not np.array_equal(a.losses, c.losses)
    # many epochs at a large step move the ratio out of [0.8, 1.2] for some samples
    big = _train("full", epochs=8, lr=0.1, n_iter=2, n_checkpoints=1)
    assert big.clip_fraction[0] > 0
    # the A2C default reports no clip fraction
    from marl.bn.torch import train_bn_actor_critic

    a2c = train_bn_actor_critic(
        lambda: coop_grid_v0.parallel_env(2, max_cycles=5),
        graph="none",
        n_iter=4,
        n_envs=2,
        n_checkpoints=1,
        rng=np.random.default_rng(0),
        device="cpu",
    )
    assert np.all(np.isnan(a2c.clip_fraction)) and np.all(np.isfinite(a2c.losses))


def test_mappo_bad_input():
    pytest.importorskip("torch")
    from marl.bn.torch import train_bn_actor_critic

    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="objective must be one of"):
        train_bn_actor_critic(objective="ppo", n_iter=1, rng=rng)
    with pytest.raises(ValueError, match="clip"):
        train_bn_actor_critic(objective="mappo", clip=1.5, n_iter=1, rng=rng)
    with pytest.raises(ValueError, match="gae_lambda"):
        train_bn_actor_critic(objective="mappo", gae_lambda=-0.1, n_iter=1, rng=rng)
    with pytest.raises(ValueError, match="epochs"):
        train_bn_actor_critic(objective="mappo", epochs=0, n_iter=1, rng=rng)
    with pytest.raises(ValueError, match="n_steps"):
        train_bn_actor_critic(objective="mappo", n_steps=0, n_iter=1, rng=rng)
