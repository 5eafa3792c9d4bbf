"""Deep BN actor-critic (marl.bn.torch) and the cooperative PettingZoo environment (coop_games_v0)."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from marl.bn import CooperativeGame, check_parents
from marl.bn.torch import (
    BNActors,
    DAGSampler,
    exact_joint_policy,
    train_bn_actor_critic,
)
from marl.envs import coop_games_v0

pytestmark = [
    pytest.mark.filterwarnings("ignore:Observation is not a NumPy array"),
    pytest.mark.filterwarnings("ignore:Observation space for each agent probably should be"),
    pytest.mark.filterwarnings("ignore:Observation numpy array is all zeros"),
]


def _parents(adj):
    n = adj.shape[0]
    return [[j for j in range(n) if adj[j, i] > 0.5] for i in range(n)]


def test_dag_sampler_gives_dags_in_topological_order_with_straight_through_gradients():
    torch.manual_seed(0)
    n, S = 4, 3
    sampler = DAGSampler(n, S)
    with torch.no_grad():
        sampler.net[2].bias[n:] += 2.0  # most edges on, so acyclicity is not trivial
    ctx = torch.eye(S).repeat(50, 1)
    adj, order, expected = sampler(ctx, generator=torch.Generator().manual_seed(1))
    a_det = adj.detach()
    # hard 0/1 in value (up to float32 round-off of hard + soft - soft)
    assert torch.all((a_det - a_det.round()).abs() < 1e-5) and a_det.round().sum() > 0
    for b in range(adj.shape[0]):
        a = adj[b].detach().numpy()
        check_parents(_parents(a), n)  # raises on a cycle
        pos = {int(i): k for k, i in enumerate(order[b])}
        assert all(pos[j] < pos[i] for i in range(n) for j in _parents(a)[i])
    assert torch.all(expected >= 0) and torch.all(expected <= n * (n - 1) / 2)
    adj.sum().backward()
    grads = [p.grad for p in sampler.parameters()]
    assert any(g is not None and g.abs().sum() > 0 for g in grads)
    # the mode graph is deterministic
    a1, _, _ = sampler(torch.eye(S), sample=False)
    a2, _, _ = sampler(torch.eye(S), sample=False)
    assert torch.equal(a1, a2)


def test_actors_see_only_their_parents():
    torch.manual_seed(0)
    actors = BNActors((2, 3, 2), 2)
    ctx = torch.eye(2)[[0, 0]]
    adj = torch.zeros(2, 3, 3)
    adj[:, 0, 2] = 1.0  # agent 0 -> agent 2 only
    oh = actors.onehot(torch.tensor([[0, 0, 0], [0, 2, 0]]))  # differ in agent 1 (not a parent of 2)
    l2 = actors.logits(2, ctx, oh, adj)
    assert torch.allclose(l2[0], l2[1])
    oh = actors.onehot(torch.tensor([[0, 0, 0], [1, 0, 0]]))  # differ in agent 0 (a parent of 2)
    l2 = actors.logits(2, ctx, oh, adj)
    assert not torch.allclose(l2[0], l2[1])


def test_exact_joint_policy_matches_sampling():
    torch.manual_seed(0)
    actors = BNActors((2, 2), 1)
    sampler = DAGSampler(2, 1)
    pi = exact_joint_policy(actors, sampler, 1)
    np.testing.assert_allclose(pi.sum(axis=1), 1.0, atol=1e-6)
    ctx = torch.ones(20000, 1)
    adj, order, _ = sampler(ctx, sample=False)
    acts = actors.sample(ctx, adj, order, generator=torch.Generator().manual_seed(0)).numpy()
    freq = np.bincount(acts[:, 0] * 2 + acts[:, 1], minlength=4) / 20000
    assert np.all(np.abs(freq - pi[0]) <= 5 * np.sqrt(pi[0] * (1 - pi[0]) / 20000) + 1e-3)


@pytest.mark.parametrize("graph", ["learned", "none", "full"])
def test_training_runs_and_is_evaluated_exactly(graph):
    g = CooperativeGame(np.ones((1, 2, 2, 1)), np.array([[[1.0, 0.0], [0.0, 2.0]]]), 0.5)
    res = train_bn_actor_critic(
        lambda: coop_games_v0.parallel_env(g, max_cycles=10),
        graph=graph,
        n_iter=16,
        n_envs=4,
        lr=0.05,
        rng=np.random.default_rng(0),
        n_checkpoints=2,
        device="cpu",
    )
    assert res.device == "cpu" and res.checkpoints.tolist() == [8, 16]
    assert res.optimum == pytest.approx(4.0)  # 2 / (1 - 0.5)
    for v in (*res.values_graph, *res.values_independent):
        assert 0.0 <= v <= 4.0 + 1e-9
    if graph == "none":
        assert res.value_graph == res.value_independent and np.all(res.edge_density == 0)
    if graph == "learned":
        assert res.sampler is not None and np.all(res.edge_density >= 0)


def test_training_bad_input():
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="graph must be one of"):
        train_bn_actor_critic(graph="dense", n_iter=1, rng=rng)
    with pytest.raises(TypeError, match="env_fn must be a callable"):
        train_bn_actor_critic(3, n_iter=1, rng=rng)
    with pytest.raises(TypeError, match="rng must be a numpy.random.Generator"):
        train_bn_actor_critic(n_iter=1, rng=0)
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="cuda"):
            train_bn_actor_critic(n_iter=1, rng=rng, device="cuda")


# ---------------------------------------------------------------------------- environment
@pytest.mark.parametrize("kw", [{}, {"game": "climbing"}])
def test_coop_env_api(kw):
    from pettingzoo.test import (
        api_test,
        parallel_api_test,
        parallel_seed_test,
        seed_test,
    )

    parallel_api_test(coop_games_v0.parallel_env(**kw), num_cycles=50)
    api_test(coop_games_v0.env(**kw), num_cycles=50)
    seed_test(lambda: coop_games_v0.env(**kw), num_cycles=50)
    parallel_seed_test(lambda: coop_games_v0.parallel_env(**kw), num_cycles=50)


def test_coop_env_follows_its_model():
    env = coop_games_v0.parallel_env("climbing_penalty", max_cycles=None)
    g = env.unwrapped.model()
    P = g.dense_joint_P()
    _, info = env.reset(seed=0)
    counts = np.zeros((2, 2))
    for _ in range(4000):
        s = info["agent_0"]["state"]
        _obs, rew, _term, _trunc, info = env.step({"agent_0": 0, "agent_1": 0})
        assert rew["agent_0"] == rew["agent_1"] == g.R[s, 0, 0]
        counts[s, info["agent_0"]["state"]] += 1
    freq = counts / counts.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(freq, P[:, 0, :], atol=0.05)  # switch 0.2 after equal actions


def test_coop_env_bad_input():
    with pytest.raises(ValueError, match="game"):
        coop_games_v0.parallel_env("chicken")
    with pytest.raises(TypeError, match="game must be one of"):
        coop_games_v0.parallel_env(3)
    env = coop_games_v0.parallel_env("climbing")
    env.reset(seed=0)
    with pytest.raises(ValueError, match="must lie in 0..2"):
        env.step({"agent_0": 3, "agent_1": 0})
    with pytest.raises(ValueError, match="missing"):
        env.step({"agent_0": 0})
