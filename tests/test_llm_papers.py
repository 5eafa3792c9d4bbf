"""G²RPO for flows, SAPO and Graph-GRPO (mdp.llm.flow_grpo / sapo / graph_grpo) and their claims
GF1, GF2, SA1, GG1, GG2 (theory_checks.llm_papers): known values, properties, bad input, and each
claim fails on a broken implementation."""

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

import theory_checks.llm_papers as TP  # noqa: E402  (registers the claims)
from mdp.llm import RolloutBatch, compute_advantages, get_estimator, list_estimators  # noqa: E402
from mdp.llm import flow_grpo as F  # noqa: E402
from mdp.llm import graph_grpo as GG  # noqa: E402
from mdp.llm import sapo as S  # noqa: E402
from theory_checks import get_claim  # noqa: E402

MEANS = np.array([[1.5, 1.5], [-1.5, 1.5], [-1.5, -1.5], [1.5, -1.5]])


def test_registered():
    names = list_estimators()
    assert {"g2rpo", "sapo", "graph_grpo"} <= set(names)
    assert get_estimator("g2rpo").needs == ("group_ids", "trajectory_ids", "step_ids")
    assert get_estimator("sapo").needs == ("group_ids",)
    assert set(get_estimator("sapo").required_fields(weighting="importance")) >= {"local_logprobs", "behavior_logprobs"}
    assert get_estimator("graph_grpo").claims == ("GG1", "GG2")


# ============================================================================ G²RPO flow
def test_velocity_known_values():
    # t = 1: posterior weights are the mixture weights, v = x - sum_c w_c m_c
    m = F.GaussianMixtureFlow(MEANS, std=0.3, logits=[1.0, 0.0, 0.0, -1.0])
    x = torch.tensor([[0.3, -0.7], [2.0, 1.0]], dtype=torch.float64)
    w = torch.softmax(torch.tensor([1.0, 0.0, 0.0, -1.0], dtype=torch.float64), 0)
    want = x - (w[:, None] * torch.tensor(MEANS)).sum(0)
    assert torch.allclose(m.velocity(x, 1.0), want, atol=1e-14)
    # one component: v = -m + (t - (1-t) s^2) / ((1-t)^2 s^2 + t^2) (x - (1-t) m), the time derivative of
    # x_t = (1-t) m + sigma_t z along a characteristic (derived in docs/papers/g2rpo_flow.md)
    one = F.GaussianMixtureFlow([[0.5, -1.0]], std=0.4)
    t, s2, mu = 0.35, 0.16, torch.tensor([0.5, -1.0], dtype=torch.float64)
    want = -mu + (t - (1 - t) * s2) / ((1 - t) ** 2 * s2 + t**2) * (x - (1 - t) * mu)
    assert torch.allclose(one.velocity(x, t), want, atol=1e-14)


def test_transition_logprob_matches_torch_normal():
    m = F.GaussianMixtureFlow(MEANS, std=0.3)
    x = torch.tensor([[0.3, -0.7], [2.0, 1.0]], dtype=torch.float64)
    y = torch.tensor([[0.1, -0.2], [1.5, 0.9]], dtype=torch.float64)
    mu = F.sde_mean(m, x, 0.6, 0.5, 0.7)
    ref = torch.distributions.Normal(mu, 0.7 * math.sqrt(0.1)).log_prob(y).sum(1)
    assert torch.allclose(F.transition_logprob(m, x, y, 0.6, 0.5, 0.7), ref, atol=1e-12)


def test_sde_and_ode_samplers_reach_the_data_distribution():
    # the SDE's drift correction keeps the marginals: both samplers end near N(m, s^2 I) (Euler error
    # and 4000 samples: s.e. of the mean 0.4/sqrt(4000) = 0.006)
    m = F.GaussianMixtureFlow([[1.0, -0.5]], std=0.4)
    rng = np.random.default_rng(3)
    for steps in ([], range(40)):
        p, _ = F.sample_paths(
            m, rng.standard_normal((4000, 2)), n_steps=40, noise=0.7, sde_steps=steps, n=4000, rng=rng
        )
        x = p[:, -1].numpy()
        np.testing.assert_allclose(x.mean(0), [1.0, -0.5], atol=0.03)
        np.testing.assert_allclose(x.std(0), [0.4, 0.4], atol=0.03)


def test_singular_group_shares_prefix_and_differs_only_by_the_step_noise():
    m = F.GaussianMixtureFlow(MEANS, std=0.3)
    g = F.singular_group(
        m, [0.2, -0.1], 3, 6, n_steps=8, noise=0.5, granularities=(1, 2, 8), rng=np.random.default_rng(0)
    )
    ts = F.time_grid(8)
    mu = F.sde_mean(m, torch.tensor(g.x_k)[None], float(ts[3]), float(ts[4]), 0.5).detach().numpy()
    np.testing.assert_allclose(g.x_next - mu, 0.5 * math.sqrt(ts[3] - ts[4]) * g.eps, atol=1e-12)
    assert g.finals.shape == (3, 6, 2) and not g.finals.flags.writeable
    # granularity >= the remaining steps: one Euler step from t_{k+1} to 0
    one = g.x_next + (0 - ts[4]) * m.velocity(torch.tensor(g.x_next), float(ts[4])).detach().numpy()
    np.testing.assert_allclose(g.finals[2], one, atol=1e-12)
    # a singular path's reward is a function of its step-k noise only: Var(r | eps_k) = 0
    share = F.conditional_variance_share(
        m,
        [0.2, -0.1],
        lambda x: x[:, 0],
        3,
        n_steps=8,
        noise=0.5,
        sde_steps=[3],
        n_outer=8,
        n_inner=4,
        rng=np.random.default_rng(1),
    )
    assert share == pytest.approx(1.0, abs=1e-12)


def test_fused_advantages_known_value():
    # column 0: mean 1/2, std (ddof 1) 1/sqrt(2); column 1 constant -> 0
    a = F.fused_advantages([[1.0, 0.0], [0.0, 0.0]])
    z = (0.5) / (math.sqrt(0.5) + 1e-6)
    np.testing.assert_allclose(a, [z, -z], rtol=1e-12)
    z2 = 1.0 / (math.sqrt(2.0) + 1e-6)
    np.testing.assert_allclose(
        F.fused_advantages([[1.0, 2.0], [0.0, 0.0]], fuse="mean"), [(z + z2) / 2, -(z + z2) / 2], rtol=1e-12
    )


@settings(max_examples=15, deadline=None)
@given(st.integers(2, 6), st.integers(1, 3), st.integers(0, 2**31))
def test_g2rpo_registry_equals_twin_and_zero_mean(G, M, seed):
    rng = np.random.default_rng(seed)
    R = rng.normal(size=(G, M))
    rows = rng.permutation(G * M)
    tr, m = np.repeat(np.arange(G), M)[rows], np.tile(np.arange(M), G)[rows]
    b = RolloutBatch(rewards=R[tr, m], group_ids=np.zeros(G * M, np.int64), trajectory_ids=tr, step_ids=m)
    a = compute_advantages("g2rpo", b).numpy()
    twin = F.fused_advantages(R)
    np.testing.assert_allclose(a, twin[tr], atol=1e-9)
    assert abs(twin.sum()) < 1e-9


def test_g2rpo_bad_input():
    ok = dict(rewards=[1.0, 0.0, 1.0, 0.0], group_ids=[0, 0, 0, 0], trajectory_ids=[0, 0, 1, 1], step_ids=[0, 1, 0, 1])
    with pytest.raises(ValueError, match="unbalanced"):
        compute_advantages("g2rpo", {**ok, "step_ids": [0, 1, 0, 2]})
    with pytest.raises(ValueError, match="once"):
        compute_advantages("g2rpo", {**ok, "step_ids": [0, 0, 0, 1]})
    with pytest.raises(ValueError, match="one group"):
        compute_advantages("g2rpo", {**ok, "group_ids": [0, 1, 1, 1]})
    with pytest.raises(ValueError, match="fuse"):
        compute_advantages("g2rpo", ok, fuse="max")
    with pytest.raises(ValueError, match="step_ids"):
        compute_advantages("g2rpo", {k: v for k, v in ok.items() if k != "step_ids"})
    with pytest.raises(ValueError, match="G >= 2"):
        F.fused_advantages([[1.0, 2.0]])


def test_sampler_bad_input():
    m = F.GaussianMixtureFlow(MEANS)
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="sde_steps"):
        F.sample_paths(m, [0, 0], n_steps=4, noise=0.5, sde_steps=[4], n=2, rng=rng)
    with pytest.raises(ValueError, match="noise"):
        F.sample_paths(m, [0, 0], n_steps=4, noise=0.0, sde_steps=[1], n=2, rng=rng)
    with pytest.raises(ValueError, match="eps"):
        F.sample_paths(m, [0, 0], n_steps=4, noise=0.5, sde_steps=[1], n=2, rng=rng, eps=np.zeros((2, 3, 2)))
    with pytest.raises(ValueError, match="x0"):
        F.sample_paths(m, [0, 0, 0], n_steps=4, noise=0.5, sde_steps=[1], n=2, rng=rng)
    with pytest.raises(TypeError, match="rng"):
        F.sample_paths(m, [0, 0], n_steps=4, noise=0.5, sde_steps=[1], n=2, rng=0)
    with pytest.raises(TypeError, match="GaussianMixtureFlow"):
        F.sample_paths(lambda x, t: x, [0, 0], n_steps=4, noise=0.5, sde_steps=[1], n=2, rng=rng)
    with pytest.raises(ValueError, match="std"):
        F.GaussianMixtureFlow(MEANS, std=-1.0)
    with pytest.raises(ValueError, match="logits"):
        F.GaussianMixtureFlow(MEANS, logits=[0.0])
    with pytest.raises(ValueError, match="step"):
        F.singular_group(m, [0, 0], 4, 4, n_steps=4, noise=0.5, rng=rng)
    with pytest.raises(ValueError, match="scheme"):
        F.train_flow_grpo(m, lambda x: x[:, 0], scheme="mix", rng=rng)
    with pytest.raises(ValueError, match="granularities"):
        F.train_flow_grpo(m, lambda x: x[:, 0], scheme="full_sde", granularities=(1, 2), rng=rng)


def test_train_flow_grpo_moves_mass_to_the_preferred_mode():
    def reward(x):
        return np.exp(-((np.asarray(x) - MEANS[0]) ** 2).sum(-1) / 0.5)

    m = F.GaussianMixtureFlow(MEANS, std=0.3)
    res = F.train_flow_grpo(m, reward, granularities=(1, 2), n_iter=10, n_eval=64, rng=np.random.default_rng(0))
    assert res.weights.shape == (11, 4) and np.allclose(res.weights.sum(1), 1)
    assert res.weights[-1, 0] > 0.3 and res.mean_reward[-1] > res.mean_reward[0]


# ============================================================================ SAPO
def test_sapo_estimator_values():
    b = RolloutBatch(rewards=[1.0, 0.0, 1.0, 1.0, 0.0], group_ids=[0, 0, 1, 1, 2])
    a = compute_advantages("sapo", b)
    ref = compute_advantages("grpo", b, singleton="zero")
    assert torch.equal(a, ref) and float(a[4]) == 0.0
    lw = {"local_logprobs": [0.0, 0.0, 0.0, 0.0, 0.0], "behavior_logprobs": [0.0, -math.log(3), 0.0, 0.0, 0.0]}
    bi = RolloutBatch(rewards=[1.0, 0.0, 1.0, 1.0, 0.0], group_ids=[0, 0, 1, 1, 2], extra=lw)
    ai = compute_advantages("sapo", bi, weighting="importance", is_clip=2.0)
    assert float(ai[0]) == pytest.approx(float(ref[0])) and float(ai[1]) == pytest.approx(2.0 * float(ref[1]))
    with pytest.raises(ValueError, match="local_logprobs"):
        compute_advantages("sapo", b, weighting="importance")
    with pytest.raises(ValueError, match="weighting"):
        compute_advantages("sapo", b, weighting="off")


def test_node_update_known_value_and_filter():
    # pi = (1/2, 1/2); rewards (1, 0): A = +-z; grad theta[0] = (A_0, A_1) / (1 group x 2 answers)
    groups = {"q": np.array([0, 1]), "answers": np.array([[0, 1], [1, 1]]), "logp": np.zeros((2, 2))}
    R = np.array([[1.0, 0.0], [0.0, 1.0]])
    assert S.filter_zero_variance(groups, R).tolist() == [0]
    th, a = S.node_update(np.zeros((2, 2)), R, groups, learning_rate=1.0)
    z = 0.5 / (math.sqrt(0.5) + 1e-6)
    np.testing.assert_allclose(a[0], [z, -z], rtol=1e-12)
    np.testing.assert_allclose(th, [[z / 4, -z / 4], [0.0, 0.0]], rtol=1e-12)


def test_swarm_sharing_and_dask_match():
    pytest.importorskip("distributed")
    from distributed import Client, LocalCluster

    task = S.make_swarm_task(n_nodes=3, n_families=3, questions_per_family=2, rng=np.random.default_rng(0))
    kw = dict(local_items=2, external_items=2, n_rounds=3, rng=None)
    serial = S.sapo_swarm(task, **{**kw, "rng": np.random.default_rng(1)})
    with (
        LocalCluster(n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None) as cl,
        Client(cl) as c,
    ):
        dist = S.sapo_swarm(task, **{**kw, "rng": np.random.default_rng(1)}, client=c)
    np.testing.assert_array_equal(serial.theta, dist.theta)
    np.testing.assert_array_equal(serial.expected_reward, dist.expected_reward)
    assert serial.expected_reward.shape == (4, 3) and (serial.n_external <= 2).all()
    silo = S.sapo_swarm(task, local_items=4, external_items=0, n_rounds=3, rng=np.random.default_rng(1))
    assert (silo.n_external == 0).all()
    unfiltered = S.sapo_swarm(task, **{**kw, "rng": np.random.default_rng(1)}, drop_zero_variance=False)
    assert (unfiltered.n_external == 2).all()  # 2 other nodes x 2 published groups >= J


def test_swarm_bad_input():
    task = S.make_swarm_task(
        n_nodes=2, n_families=2, questions_per_family=2, easy_families=1, rng=np.random.default_rng(0)
    )
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="local_items must be >= 1"):
        S.sapo_swarm(task, local_items=0, external_items=2, n_rounds=1, rng=rng)
    with pytest.raises(ValueError, match="exceeds"):
        S.sapo_swarm(task, local_items=5, external_items=0, n_rounds=1, rng=rng)
    with pytest.raises(ValueError, match="weighting"):
        S.sapo_swarm(task, local_items=1, external_items=1, n_rounds=1, weighting="x", rng=rng)
    with pytest.raises(TypeError, match="SwarmTask"):
        S.sapo_swarm({}, local_items=1, external_items=1, n_rounds=1, rng=rng)
    with pytest.raises(ValueError, match="easy_families"):
        S.make_swarm_task(n_families=2, easy_families=3, rng=rng)


# ============================================================================ Graph-GRPO
def test_graph_logprob_and_edge_credit_known_values():
    assert torch.allclose(GG.graph_logprob(torch.zeros(3), [[1, 0, 1], [0, 0, 0]]), torch.full((2,), 3 * math.log(0.5)))
    A = [1.0, 1.0, -1.0, -1.0]
    acts = [[1, 1], [1, 1], [0, 1], [0, 1]]
    ec = GG.edge_credit(A, acts, [0, 0, 0, 0])
    assert ec.delta[0] == 2.0 and math.isnan(ec.delta[1]) and ec.n_defined.tolist() == [1, 0]
    assert GG.candidate_edges(4).shape == (6, 2)


def test_graph_grpo_baselines_and_loss_gradient():
    r = np.array([1.0, 0.0, 0.0, 1.0, 1.0, 1.0])
    g = np.array([0, 0, 0, 0, 1, 1])
    b = RolloutBatch(rewards=r, group_ids=g)
    a = compute_advantages("graph_grpo", b)
    assert torch.allclose(a, compute_advantages("grpo", b, singleton="zero")) and float(a[4]) == 0.0
    assert torch.equal(compute_advantages("graph_grpo", b, baseline="none"), b.rewards)
    np.testing.assert_allclose(
        compute_advantages("graph_grpo", b, baseline="mean").numpy(), [0.5, -0.5, -0.5, 0.5, 0, 0]
    )
    # at old = new the clipped per-edge loss's gradient is -(1/K) sum_k A_k (a_k - p)
    z = torch.tensor([0.3, -0.4, 1.0], dtype=torch.float64, requires_grad=True)
    acts = np.array([[1, 0, 1], [0, 0, 1], [1, 1, 0], [0, 1, 1]])
    adv = np.array([1.0, -0.5, 0.25, -0.75])
    GG.graph_grpo_loss(z, z.detach(), acts, adv).backward()
    want = -GG.policy_gradient(adv, acts, torch.sigmoid(z).detach().numpy())
    np.testing.assert_allclose(z.grad.numpy(), want, atol=1e-12)


def test_train_topology_learns_the_critical_edge():
    task = GG.make_topology_task(n_types=1, rng=np.random.default_rng(0))
    res = GG.train_topology(task, n_iter=100, n_eval=200, rng=np.random.default_rng(1))
    e = int(task.critical[0])
    assert res.probs[-1, 0, e] > 0.8 and res.accuracy[-1] > res.accuracy[0]
    assert res.probs[-1, 0, e] == res.probs[-1, 0].max()


def test_graph_bad_input():
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="probs"):
        GG.sample_graphs([0.5, 1.5], 2, rng=rng)
    with pytest.raises(ValueError, match="0/1"):
        GG.edge_credit([1.0, 0.0], [[0.5], [1.0]], [0, 0])
    with pytest.raises(ValueError, match="one row per graph"):
        GG.edge_credit([1.0, 0.0], [[1.0]], [0, 0])
    with pytest.raises(ValueError, match="baseline"):
        compute_advantages("graph_grpo", {"rewards": [1.0, 0.0], "group_ids": [0, 0]}, baseline="ema")
    with pytest.raises(ValueError, match="method"):
        GG.train_topology(GG.make_topology_task(rng=rng), method="ppo", rng=rng)
    with pytest.raises(ValueError, match="n_agents"):
        GG.candidate_edges(1)


# ============================================================================ claims
@pytest.mark.parametrize("cid,n", [("GF1", 2), ("GF2", 6), ("SA1", 8), ("GG1", 8), ("GG2", 1)])
def test_claims_hold(cid, n):
    c = get_claim(cid)
    assert c.subjects and c.instance and c.accepts is not None
    for s in range(n):
        r = c.check(rng=np.random.default_rng(s))
        assert r.holds, r


def test_claims_reject_bad_instances():
    with pytest.raises(ValueError, match="GF1"):
        get_claim("GF1").check({**TP.sample_flow(np.random.default_rng(0)), "step": 99})
    with pytest.raises(ValueError, match="one length"):
        get_claim("GF2").check(
            {"rewards": [1.0, 0.0], "group_ids": [0], "trajectory_ids": [0, 1], "granularity": [0, 0]}
        )
    with pytest.raises(TypeError, match="dict"):
        get_claim("SA1").check([1, 2])
    with pytest.raises(ValueError, match="shift"):
        get_claim("GG1").check({"rewards": [1.0, 0.0], "group_ids": [0, 0], "shift": [1.0, 2.0]})
    with pytest.raises(ValueError, match="n_agents"):
        get_claim("GG2").check({"seed": 1, "n_agents": 12, "effect": 1.0, "difficulty_sd": 1.0})


def test_gf1_fails_if_singular_sampling_injects_noise_everywhere(monkeypatch):
    real = F.sample_paths

    def everywhere(model, x0, *, n_steps, sde_steps, **kw):
        return real(model, x0, n_steps=n_steps, sde_steps=range(n_steps), **kw)

    monkeypatch.setattr(F, "sample_paths", everywhere)
    rng = np.random.default_rng(0)
    assert not TP.check_gf1(TP.sample_flow(rng), rng).holds


def test_gf2_and_gg1_fail_on_uncentred_advantages(monkeypatch):
    import mdp.llm

    monkeypatch.setattr(mdp.llm, "compute_advantages", lambda method, batch, **o: batch.rewards + 1.0)
    rng = np.random.default_rng(0)
    assert not TP.check_gf2(TP.sample_granular(rng), rng).holds
    assert not TP.check_gg1(TP.sample_shift(rng), rng).holds


def test_sa1_fails_if_the_filter_drops_informative_groups(monkeypatch):
    monkeypatch.setattr(S, "filter_zero_variance", lambda groups, rewards: np.arange(groups["q"].size)[1:])
    inst = {
        "theta": np.zeros((2, 2)),
        "rewards": np.array([[1.0, 0.0], [0.0, 1.0]]),
        "q": np.array([0, 1]),
        "answers": np.array([[0, 1], [0, 1]]),
    }
    assert not TP.check_sa1(inst, np.random.default_rng(0)).holds


def test_gg2_fails_if_the_critical_edge_does_not_matter(monkeypatch):
    monkeypatch.setattr(GG, "success_probability", lambda task, t, d, a: 1 / (1 + np.exp(-np.asarray(d))))
    inst = {"seed": 3, "n_agents": 4, "effect": 2.0, "difficulty_sd": 1.0}
    assert not TP.check_gg2(inst, np.random.default_rng(0)).holds
