"""mdp.learners: generative-model sampling, Q-learning (synchronous and online), the plug-in planner."""

import numpy as np
import pytest

import mdp
from mdp.learners import empirical_model, plugin_planner, q_learning, sample_next_states
from mdp.learners.plugin import reference_sample_next_states
from mdp.learners.q_learning import reference_q_learning
from theory_checks.foundations import f12_bound, hard_instance


def _models(seed=0):
    rng = np.random.default_rng(seed)
    dense = mdp.generators.random_mdp(6, 3, rng=rng, alpha=0.1, gamma=0.9)
    return [dense, dense.to_sparse(), mdp.generators.garnet(12, 2, 3, rng=rng)]


# ----------------------------------------------------------------------------- sampling
@pytest.mark.parametrize("which", [0, 1, 2])
def test_sampler_matches_numpy_twin(which):
    m = _models()[which]
    S, A = m.n_states, m.n_actions
    got = sample_next_states(m, 500, rng=np.random.default_rng(1))
    u = np.random.default_rng(1).random((S * A, 500)).reshape(S, A, 500)
    np.testing.assert_array_equal(got, reference_sample_next_states(m.dense_P(), u))
    assert got.shape == (S, A, 500) and got.dtype == np.int64


def test_sampler_frequencies_and_support():
    m = _models()[2]  # garnet: 3 successors per pair
    n = 20_000
    x = sample_next_states(m, n, rng=np.random.default_rng(2))
    P = m.dense_P()
    for s in range(m.n_states):
        for a in range(m.n_actions):
            freq = np.bincount(x[s, a], minlength=m.n_states) / n
            assert np.all(freq[P[s, a] == 0] == 0)  # never outside the support
            sd = np.sqrt(P[s, a] * (1 - P[s, a]) / n)
            assert np.all(np.abs(freq - P[s, a]) <= 5 * sd + 1e-12)


def test_sampler_counts_on_hard_instance_are_binomial():
    # F13 draws the self-loop count as Binomial(N, p); it is the count sample_next_states produces
    g, n, reps = 0.9, 400, 3000
    p = (4 * g - 1) / (3 * g)
    x = sample_next_states(hard_instance(g), n * reps, rng=np.random.default_rng(3))
    counts = (x[0, 0].reshape(reps, n) == 0).sum(axis=1)
    assert counts.mean() == pytest.approx(n * p, abs=4 * np.sqrt(n * p * (1 - p) / reps))
    assert counts.var() == pytest.approx(n * p * (1 - p), rel=0.1)


def test_sampler_bad_input():
    m = _models()[0]
    with pytest.raises(TypeError, match="Generator"):
        sample_next_states(m, 10, rng=0)
    with pytest.raises(ValueError, match="n must be >= 1"):
        sample_next_states(m, 0, rng=np.random.default_rng(0))
    with pytest.raises(TypeError, match="TabularMDP"):
        sample_next_states(m.P, 10, rng=np.random.default_rng(0))


# ----------------------------------------------------------------------------- Q-learning
@pytest.mark.parametrize("mode", ["synchronous", "online"])
@pytest.mark.parametrize("step", ["rescaled-linear", "polynomial", 0.3])
@pytest.mark.parametrize("which", [0, 1])
def test_q_learning_kernel_matches_twin(mode, step, which):
    m = _models()[which]
    kw = dict(n_iter=400 if mode == "synchronous" else 4000, step_size=step, mode=mode, epsilon=0.3, s0=2)
    got = q_learning(m, rng=np.random.default_rng(4), **kw).q
    ref = reference_q_learning(m.dense_P(), m.R, m.gamma, rng=np.random.default_rng(4), **kw)
    np.testing.assert_allclose(got, ref, rtol=1e-12, atol=1e-12)


def test_q_learning_reproducible_and_seed_dependent():
    m = _models()[0]
    a = q_learning(m, n_iter=300, rng=np.random.default_rng(5))
    b = q_learning(m, n_iter=300, rng=np.random.default_rng(5))
    c = q_learning(m, n_iter=300, rng=np.random.default_rng(6))
    np.testing.assert_array_equal(a.q, b.q)
    assert not np.array_equal(a.q, c.q)
    on = [q_learning(m, n_iter=2000, rng=np.random.default_rng(5), mode="online") for _ in range(2)]
    np.testing.assert_array_equal(on[0].q, on[1].q)
    assert on[0].final_state == on[1].final_state


# Tolerances: for synchronous Q-learning with rescaled-linear steps Wainwright (2019, arXiv:1905.06265,
# Thm 1 / Cor. 1) bounds ||q_T - q*|| by ~ (1-gamma)^{-5/2} sqrt(log(SA/delta)/T) up to constants; with
# gamma = 0.9 and T = 5 * 10^4 the observed error is about 0.2 (0.6 % of ||q*||), so 2 % of ||q*|| is a
# generous but meaningful tolerance (q = 0 starts 100 % away).
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_synchronous_q_learning_converges_on_forest(seed):
    m = mdp.generators.forest(gamma=0.9)
    q_star = mdp.policy_iteration(m).q
    scale = np.abs(q_star).max()
    for step in ("rescaled-linear", "polynomial"):
        res = q_learning(m, n_iter=50_000, rng=np.random.default_rng(seed), step_size=step, q_star=q_star)
        assert res.errors[0] == pytest.approx(scale)
        assert res.errors[-1] < 0.02 * scale, (step, res.errors[-1])
        np.testing.assert_array_equal(res.pi, mdp.policy_iteration(m).pi)
        assert res.n_samples == 50_000 * 6


def test_online_q_learning_converges_on_forest():
    # Watkins & Dayan (1992): convergence w.p. 1 when every pair is visited infinitely often; the
    # epsilon = 0.5 behaviour reaches all 3 forest states (fire resets, waiting ages) quickly.
    m = mdp.generators.forest(gamma=0.9)
    q_star = mdp.policy_iteration(m).q
    res = q_learning(
        m,
        n_iter=200_000,
        rng=np.random.default_rng(0),
        mode="online",
        epsilon=0.5,
        q_star=q_star,
        step_size="polynomial",
        omega=0.8,
    )
    assert res.errors[-1] < 0.02 * np.abs(q_star).max()
    assert res.n_samples == 200_000 and 0 <= res.final_state < 3
    assert len(res.errors) == 200_001


def test_q_learning_error_history_matches_final_q():
    m = _models()[0]
    q_star = mdp.policy_iteration(m).q
    res = q_learning(m, n_iter=100, rng=np.random.default_rng(0), q_star=q_star, q0=np.ones((6, 3)))
    assert res.errors[0] == pytest.approx(np.abs(1 - q_star).max())
    assert res.errors[-1] == pytest.approx(np.abs(res.q - q_star).max())
    assert not res.q.flags.writeable
    assert q_learning(m, n_iter=5, rng=np.random.default_rng(0)).errors.size == 0


def test_q_learning_constant_step_one_is_sampled_value_iteration():
    # alpha = 1 and a deterministic model: every sweep is exactly a Bellman backup of max_a q
    P = np.zeros((3, 2, 3))
    P[:, 0, 0] = 1.0
    P[:, 1, 2] = 1.0
    m = mdp.TabularMDP(P, np.arange(6.0).reshape(3, 2) / 6, 0.8)
    res = q_learning(m, n_iter=200, rng=np.random.default_rng(0), step_size=1.0)
    np.testing.assert_allclose(res.q, mdp.policy_iteration(m).q, atol=1e-12)


@pytest.mark.parametrize(
    "kwargs, exc, match",
    [
        (dict(rng=0), TypeError, "Generator"),
        (dict(n_iter=0), ValueError, "n_iter must be >= 1"),
        (dict(step_size="harmonic"), ValueError, "step_size must be"),
        (dict(step_size=1.5), ValueError, r"\(0, 1\]"),
        (dict(step_size=None), TypeError, "step_size"),
        (dict(omega=0.4), ValueError, "omega"),
        (dict(mode="batch"), ValueError, "mode"),
        (dict(mode="online", epsilon=1.5), ValueError, "epsilon"),
        (dict(mode="online", s0=7), ValueError, "s0"),
        (dict(epsilon=2.0), ValueError, "epsilon"),  # synchronous mode does not read it, still a mistake
        (dict(s0=-1), ValueError, "s0"),
        (dict(q0=np.zeros((2, 2))), ValueError, "q0 must have shape"),
        (dict(q_star=np.zeros(6)), ValueError, "q_star must be 2-dimensional"),
        (dict(q0=np.full((6, 3), np.nan)), ValueError, "finite"),
    ],
)
def test_q_learning_bad_input(kwargs, exc, match):
    m = _models()[0]
    args = dict(n_iter=10, rng=np.random.default_rng(0))
    args.update(kwargs)
    with pytest.raises(exc, match=match):
        q_learning(m, **args)


def test_q_learning_rejects_undiscounted_model():
    with pytest.raises(ValueError, match=r"gamma must lie in \[0, 1\)"):
        q_learning(mdp.generators.forest().with_gamma(1.0), n_iter=5, rng=np.random.default_rng(0))


# ----------------------------------------------------------------------------- plug-in planner
def test_plugin_planner_on_forest_known_value():
    # forest, gamma = 0.96: v* = (74.6496, 78.1056, 82.1056) (MDPtoolbox's forest example). With
    # N = 10^4 the derived F12 bound at delta = 0.01 is about 3.1; the run must respect it and find pi*.
    m = mdp.generators.forest(gamma=0.96)
    sol = mdp.policy_iteration(m)
    np.testing.assert_allclose(sol.v, [74.6496, 78.1056, 82.1056], atol=1e-4)
    res = plugin_planner(m, 10_000, rng=np.random.default_rng(0), true_loss=True)
    bound = f12_bound(m.gamma, np.ptp(sol.v), 6, 10_000, 0.01)
    assert np.abs(res.q - sol.q).max() <= bound
    assert res.loss == 0.0 and res.pi.tolist() == sol.pi.tolist()
    assert res.n_samples == 6 * 10_000


def test_plugin_planner_empirical_model_and_sparsity():
    dense, sparse, garnet = _models()
    a = plugin_planner(dense, 50, rng=np.random.default_rng(0))
    b = plugin_planner(sparse, 50, rng=np.random.default_rng(0))
    assert not a.model.is_sparse and b.model.is_sparse
    np.testing.assert_allclose(a.model.dense_P(), b.model.dense_P(), atol=0)
    np.testing.assert_array_equal(a.pi, b.pi)
    g = plugin_planner(garnet, 20, rng=np.random.default_rng(0))
    assert g.model.is_sparse and g.model.nnz <= garnet.nnz
    assert np.all(garnet.dense_P()[g.model.dense_P() > 0] > 0)  # support is kept
    # empirical probabilities are multiples of 1/N and the solution is optimal for the empirical model
    assert np.allclose(a.model.dense_P() * 50, np.round(a.model.dense_P() * 50))
    np.testing.assert_allclose(a.v, mdp.policy_iteration(a.model).v, atol=1e-10)
    assert np.isnan(a.loss)


def test_plugin_planner_loss_with_given_v_star_and_reproducibility():
    m = _models()[0]
    v_star = mdp.policy_iteration(m).v
    a = plugin_planner(m, 30, rng=np.random.default_rng(8), v_star=v_star)
    b = plugin_planner(m, 30, rng=np.random.default_rng(8), true_loss=True)
    assert a.loss == pytest.approx(b.loss, abs=1e-12) and a.loss >= 0
    np.testing.assert_array_equal(a.q, b.q)


def test_empirical_model_counts():
    m = _models()[0]
    nxt = np.zeros((6, 3, 4), dtype=np.int64)
    nxt[..., 1:] = 2
    P_hat = empirical_model(m, nxt).dense_P()
    assert np.all(P_hat[:, :, 0] == 0.25) and np.all(P_hat[:, :, 2] == 0.75)


@pytest.mark.parametrize(
    "kwargs, exc, match",
    [
        (dict(rng=None), TypeError, "Generator"),
        (dict(n_samples=0), ValueError, "n_samples must be >= 1"),
        (dict(n_samples=2.5), TypeError, "n_samples must be an integer"),
        (dict(true_loss="yes"), TypeError, "true_loss"),
        (dict(v_star=np.zeros(2)), ValueError, "v_star must have shape"),
    ],
)
def test_plugin_planner_bad_input(kwargs, exc, match):
    args = dict(n_samples=10, rng=np.random.default_rng(0))
    args.update(kwargs)
    with pytest.raises(exc, match=match):
        plugin_planner(_models()[0], **args)
