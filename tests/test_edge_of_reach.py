"""mdp.offline (edge-of-reach, RAVL) and the claims E1-E5: known values, properties, twins, bad input, failures."""

import math
from unittest import mock

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import mdp
from mdp import offline as off
from theory_checks import edge_of_reach as EOR
from theory_checks.core import get_claim

IDS = ["E1", "E2", "E3", "E4", "E5"]


def _chain(n=5, gamma=0.9):
    """Deterministic chain 0 -> 1 -> ... -> n-1 (absorbing) under action 0; action 1 stays. Reward 1 for moving."""
    P = np.zeros((n, 2, n))
    for s in range(n):
        P[s, 0, min(s + 1, n - 1)] = 1.0
        P[s, 1, s] = 1.0
    R = np.zeros((n, 2))
    R[: n - 1, 0] = 1.0
    return mdp.TabularMDP(P, R, gamma)


# ---------------------------------------------------------------------------- known values
def test_chain_edge_sets():
    # from D0 = {0} with "move": R_t = {t}; k = 2 -> U = {0, 1}, T = {1, 2}, E = {2} (definitions, notes E1)
    m = _chain()
    r = off.reach_sets(m, np.zeros(5, dtype=int), [0], 2)
    assert np.flatnonzero(r.used).tolist() == [0, 1] and np.flatnonzero(r.edge).tolist() == [2]
    assert r.layers.shape == (3, 5)
    full = off.reach_sets(m, np.zeros(5, dtype=int), [0], None)
    assert not full.edge.any() and full.used.all() and full.k == -1


def test_min_normal_mean_known_values():
    # E[min of 2 std normals] = -1/sqrt(pi); N = 5, 10 from the notes' Corrections (-1.163, -1.539)
    assert off.min_normal_mean(2) == pytest.approx(-1 / math.sqrt(math.pi), abs=1e-12)
    assert off.min_normal_mean(5) == pytest.approx(-1.163, abs=5e-4)
    assert off.min_normal_mean(10, mu=1.0, sigma=2.0) == pytest.approx(1 - 2 * 1.5388, abs=1e-3)
    assert off.min_normal_mean(1) == pytest.approx(0.0, abs=1e-12)


def test_chain_edge_value_is_the_initialisation():
    # k = 1 rollouts from 0 and 1: E = {2}; Q(1, move) = 1 + gamma * max_a Q0(2, a) exactly (one bootstrap)
    m = _chain()
    buf = off.model_rollouts(m, np.zeros(5, dtype=int), [0, 1], 1, n_rollouts=10, rng=np.random.default_rng(0))
    assert off.buffer_sets(buf).edge.tolist() == [False, False, True, False, False]
    q0 = np.zeros((5, 2))
    q0[2] = [50.0, 7.0]
    r = off.buffer_q_iteration(buf, q0, 0.9, n_sweeps=5)
    assert r.q_min[1, 0] == pytest.approx(1 + 0.9 * 50.0) and r.q_min[0, 0] == pytest.approx(1 + 0.9 * (1 + 45.0))
    assert r.q_min[2].tolist() == [50.0, 7.0]


def test_dataset_shapes_and_estimated_model():
    m = _chain()
    d = off.collect_dataset(m, np.full((5, 2), 0.5), n_episodes=50, horizon=4, start=0, rng=np.random.default_rng(1))
    assert len(d) == 200 and d.steps.max() == 3 and d.states[d.steps == 0].tolist() == [0] * 50
    mh, counts = off.estimate_model(d, 0.9)
    seen = counts > 0
    np.testing.assert_allclose(mh.dense_P()[seen], m.dense_P()[seen])  # deterministic: MLE exact where seen
    assert off.mopo_penalty([m, m]).max() == 0.0
    ms = mdp.generators.random_mdp(4, 2, rng=np.random.default_rng(2))
    ds = off.collect_dataset(ms, np.full((4, 2), 0.5), n_episodes=5, horizon=3, start=0, rng=np.random.default_rng(3))
    assert off.mopo_penalty([ms, off.estimate_model(ds, 0.9)[0]]).max() > 0  # a 15-sample model is not the truth


def test_pipeline_collapses_with_one_critic_and_true_dynamics():
    # 1-step rollouts from a dataset at the chain's start, optimistic single critic vs a 10-critic ensemble
    m = _chain(8)
    d = off.collect_dataset(m, np.zeros(8, dtype=int), n_episodes=1, horizon=2, start=0, rng=np.random.default_rng(0))
    rng = np.random.default_rng(2)
    plain = off.offline_model_based(m, d, rng.normal(0, 10, (8, 2)), k=1, rng=rng, n_rounds=5, n_updates=50)
    assert plain.edge_size.max() >= 1 and plain.overestimation.max() > 0


# ---------------------------------------------------------------------------- properties / twins
@settings(deadline=None, max_examples=10)
@given(st.integers(0, 10_000), st.integers(1, 4))
def test_rollout_kernel_matches_twin(seed, k):
    rng = np.random.default_rng(seed)
    m = mdp.generators.random_mdp(5, 3, rng=rng, gamma=0.9)
    pi = rng.dirichlet(np.ones(3), size=5)
    starts = rng.integers(0, 5, size=7)
    ua, us = rng.random((7, k)), rng.random((7, k))
    from mdp._common.sampling import cumulative_rows
    from mdp.offline.data import _policy_cdf, _rollouts

    n = 7 * k
    out = [np.empty(n, dtype=np.int64) for _ in range(4)]
    rr = np.empty(n)
    indptr, indices, cdf = cumulative_rows(m)
    _rollouts(indptr, indices, cdf, m.R, _policy_cdf(pi, 5, 3), starts, k, ua, us, out[0], out[1], rr, out[2], out[3])
    ref = off.reference_rollouts(m, pi, starts, k, ua, us)
    for got, want in zip((out[0], out[1], rr, out[2], out[3]), ref):
        np.testing.assert_array_equal(got, want)


@settings(deadline=None, max_examples=10)
@given(st.integers(0, 10_000), st.sampled_from([1, 3]), st.sampled_from([0.5, 1.0]))
def test_buffer_q_kernel_matches_twin(seed, N, lr):
    rng = np.random.default_rng(seed)
    m = mdp.generators.random_mdp(6, 2, rng=rng, gamma=0.8)
    buf = off.model_rollouts(m, np.full((6, 2), 0.5), [0, 1], 3, n_rollouts=8, rng=rng)
    q0 = rng.normal(size=(N, 6, 2))
    pen = rng.random((6, 2)) * 0.1
    r = off.buffer_q_iteration(buf, q0, 0.8, n_sweeps=7, lr=lr, penalty=pen)
    np.testing.assert_allclose(r.q, off.reference_buffer_q_iteration(buf, q0, 0.8, 7, lr=lr, penalty=pen), atol=1e-12)
    pi = rng.dirichlet(np.ones(2), size=6)
    r2 = off.buffer_q_iteration(buf, q0, 0.8, n_sweeps=4, pi=pi)
    np.testing.assert_allclose(r2.q, off.reference_buffer_q_iteration(buf, q0, 0.8, 4, pi=pi), atol=1e-12)
    # pairs outside the buffer are never touched
    np.testing.assert_array_equal(r.q[:, ~r.updated], q0[:, ~r.updated])


@settings(deadline=None, max_examples=15)
@given(st.integers(0, 10_000))
def test_reach_sets_invariants(seed):
    rng = np.random.default_rng(seed)
    m = EOR.sample_deterministic(rng)
    pi = rng.integers(0, m.n_actions, size=m.n_states)
    k = int(rng.integers(1, 5))
    r = off.reach_sets(m, pi, [0], k)
    assert not (r.edge & r.used).any() and (r.edge <= r.targets).all()
    assert (off.reach_sets(m, pi, [0], k + 1).used >= r.used).all()  # U grows with k


def test_min_normal_mean_twin():
    for n in (1, 2, 3, 7, 20):
        assert off.min_normal_mean(n) == pytest.approx(off.reference_min_normal_mean(n), abs=1e-9)


# ---------------------------------------------------------------------------- bad input
def test_bad_input():
    m = _chain()
    rng = np.random.default_rng(0)
    pi = np.zeros(5, dtype=int)
    with pytest.raises(ValueError, match="rollout length"):
        off.model_rollouts(m, pi, [0], 0, n_rollouts=1, rng=rng)
    with pytest.raises(TypeError, match="rollout length"):
        off.reach_sets(m, pi, [0], 1.5)
    with pytest.raises(ValueError, match="empty"):
        off.model_rollouts(m, pi, [], 2, n_rollouts=1, rng=rng)
    with pytest.raises(ValueError, match="lie in"):
        off.reach_sets(m, pi, [9], 2)
    empty = off.Transitions(
        states=np.zeros(0, dtype=np.int64),
        actions=np.zeros(0, dtype=np.int64),
        rewards=np.zeros(0),
        next_states=np.zeros(0, dtype=np.int64),
        steps=np.zeros(0, dtype=np.int64),
        n_states=5,
        n_actions=2,
    )
    for fn in (
        lambda: off.buffer_q_iteration(empty, np.zeros((5, 2)), 0.9),
        lambda: off.buffer_sets(empty),
        lambda: off.estimate_model(empty, 0.9),
    ):
        with pytest.raises(ValueError, match="empty"):
            fn()
    buf = off.model_rollouts(m, pi, [0], 2, n_rollouts=2, rng=rng)
    with pytest.raises(ValueError, match="q0"):
        off.buffer_q_iteration(buf, np.zeros((5, 3)), 0.9)
    with pytest.raises(ValueError, match="lr"):
        off.buffer_q_iteration(buf, np.zeros((5, 2)), 0.9, lr=0.0)
    with pytest.raises(ValueError, match="penalty"):
        off.buffer_q_iteration(buf, np.zeros((5, 2)), 0.9, penalty=np.zeros(3))
    with pytest.raises(TypeError, match="Generator"):
        off.model_rollouts(m, pi, [0], 2, n_rollouts=1, rng=0)
    with pytest.raises(TypeError, match="TabularMDP"):
        off.mopo_penalty([])
    with pytest.raises(ValueError, match="epsilon"):
        off.epsilon_greedy(np.zeros((2, 2)), 1.5)
    with pytest.raises(ValueError, match="sigma"):
        off.min_normal_mean(3, sigma=-1.0)


# ---------------------------------------------------------------------------- claims
@pytest.mark.parametrize("cid", IDS)
def test_claim_holds(cid):
    c = get_claim(cid)
    assert c.subjects and c.instance and c.accepts is not None
    r = c.check(np.random.default_rng(0))
    assert r.holds, (cid, r, r.details.get("worst_part"))


def test_claims_reject_bad_instances():
    with pytest.raises(ValueError, match="deterministic"):
        get_claim("E1").check(mdp.generators.random_mdp(3, 2, rng=np.random.default_rng(0)))
    with pytest.raises(TypeError, match="TabularMDP"):
        get_claim("E2").check("chain")


def _fails(cid, seeds=(0, 1, 2)):
    return any(not get_claim(cid).check(np.random.default_rng(s)).holds for s in seeds)


def test_claims_can_fail():
    orig_reach = off.reach_sets

    with mock.patch.object(
        off, "reach_sets", lambda m, pi, s, k=None: orig_reach(m, pi, s, None if k is None else k + 1)
    ):
        assert _fails("E1")
    orig_q = off.buffer_q_iteration

    def leaky(data, q0, gamma, **kw):  # updates every pair, edge included (the "never" broken)
        r = orig_q(data, q0, gamma, **kw)
        q = np.array(r.q)
        q[:, ~r.updated] *= 0.5
        import dataclasses

        return dataclasses.replace(r, q=q, q_min=q.min(axis=0))

    with mock.patch.object(off, "buffer_q_iteration", leaky):
        assert _fails("E2")
    with mock.patch.object(off, "mopo_penalty", lambda models, lam=1.0: np.full(models[0].R.shape, 0.1)):
        assert _fails("E3")
    with mock.patch.object(
        off, "min_normal_mean", lambda n, mu=0.0, sigma=1.0: mu - sigma * math.sqrt(2 * math.log(n))
    ):
        assert _fails("E4")
    with mock.patch.object(off, "reach_sets", lambda m, pi, s, k=None: orig_reach(m, pi, s, 1)):
        assert _fails("E5")
