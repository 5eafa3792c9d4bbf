"""Exact bisimulation and approximate aggregation (mdp.abstraction.partition).

Known values (hand-built partitions, the stripe gridworld's one block per row), properties
(hypothesis: planted copies of random MDPs, value preservation, loss bounds), differential
(numba splitter refinement vs the naive signature refinement of docs/papers/foundations.md section 9) and
bad input.
"""

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

import mdp
from mdp.abstraction.partition import (
    AggregationResult,
    BisimulationResult,
    _canonical,
    _reference,
    approximate_aggregation,
    bisimulation,
    planted_copies,
    stripe_gridworld,
)


def _tiny(P, R, gamma=0.9):
    return mdp.TabularMDP(np.asarray(P, dtype=float), np.asarray(R, dtype=float), gamma)


def _det(next_state, R, gamma=0.9):
    """Deterministic model from a (S, A) successor table."""
    nxt = np.asarray(next_state)
    S, A = nxt.shape
    P = np.zeros((S, A, S))
    P[np.arange(S)[:, None], np.arange(A)[None, :], nxt] = 1.0
    return _tiny(P, R, gamma)


# ----------------------------------------------------------------------------- known values
def test_uniform_transitions_split_by_reward_only():
    # every state jumps uniformly: blocks are the reward classes (hand computation)
    m = _tiny(np.full((4, 1, 4), 0.25), [[1.0], [1.0], [0.0], [0.0]])
    res = bisimulation(m)
    assert res.labels.tolist() == [0, 0, 1, 1]
    assert res.n_blocks == 2 and res.representatives.tolist() == [0, 2]
    assert res.quotient.n_states == 2
    np.testing.assert_allclose(res.quotient.dense_P()[:, 0], [[0.5, 0.5], [0.5, 0.5]])


def test_states_separated_by_their_successors():
    # 0 -> 2 (reward-1 sink), 1 -> 3 (reward-0 sink), 4 -> 2; 0, 1, 4 pay the same reward.
    # 0 ~ 4 (same successor class); 1 differs through its successor; 2 and 3 differ by reward.
    m = _det([[2], [3], [2], [3], [2]], [[0.5], [0.5], [1.0], [0.0], [0.5]])
    res = bisimulation(m)
    assert res.labels.tolist() == [0, 1, 2, 3, 0]
    assert res.block_sizes.tolist() == [2, 1, 1, 1]


def test_actions_are_labels_no_relabelling():
    # two states whose actions are swapped are NOT bisimilar (no state-dependent action
    # relabelling; that would be an MDP homomorphism, docs/papers/foundations.md B3)
    m = _det([[0, 1], [0, 1]], [[1.0, 0.0], [0.0, 1.0]])
    assert bisimulation(m).n_blocks == 2


@pytest.mark.parametrize("width,height,slip", [(7, 4, 0.1), (12, 6, 0.0), (3, 9, 0.3)])
def test_stripe_gridworld_has_one_block_per_row(width, height, slip):
    m = stripe_gridworld(width, height, slip=slip)
    res = bisimulation(m)
    rows = np.arange(m.n_states) // width
    assert res.n_blocks == height
    assert np.array_equal(res.labels, _canonical(rows)[0])
    assert res.quotient.is_sparse


def test_corner_goal_gridworld_does_not_compress():
    # mdp.generators.gridworld (single corner goal): no two cells are bisimilar (checked with the
    # naive reference; mirror images would need the action swap E<->S)
    m = mdp.generators.gridworld(6, 5)
    res = bisimulation(m)
    assert res.n_blocks == m.n_states
    assert np.array_equal(res.labels, _reference(m.dense_P(), m.R))


def test_textbook_models_are_already_minimal():
    for m in (mdp.generators.chain(), mdp.generators.riverswim(), mdp.generators.forest()):
        assert bisimulation(m).n_blocks == m.n_states


def test_quotient_preserves_values_and_lifted_policy_is_optimal():
    m = stripe_gridworld(15, 8, gamma=0.95)
    res = bisimulation(m)
    full = mdp.solve(m, tol=1e-11)
    q = mdp.solve(res.quotient, tol=1e-11)
    np.testing.assert_allclose(res.lift_values(q.v), full.v, atol=1e-9)
    np.testing.assert_allclose(res.lift_values(q.q), full.q, atol=1e-9)
    v_pi = mdp.policy_evaluation(m, res.lift_policy(q.pi)).v
    np.testing.assert_allclose(v_pi, full.v, atol=1e-8)
    np.testing.assert_allclose(res.project_values(full.v), q.v, atol=1e-9)


def test_result_is_frozen_and_exact_errors_are_roundoff():
    res = bisimulation(stripe_gridworld(5, 3))
    assert isinstance(res, BisimulationResult) and res.exact
    with pytest.raises(ValueError):
        res.labels[0] = 3
    with pytest.raises(Exception):
        res.n_blocks = 1
    assert res.eps_R <= 1e-12 and res.eps_P <= 1e-12
    assert res.compression == pytest.approx(5.0)


def test_exact_mode_does_not_merge_chains_of_small_gaps():
    # 200 absorbing states with rewards k * 0.9e-12: consecutive rewards differ by less than the exact
    # allowance tol_r = 1e-12, but the whole chain spans 1.8e-10. Each block must span <= tol_r (measured
    # from its smallest key), so the chain splits into pairs {2i, 2i+1}: 100 blocks, eps_R = 0.9e-12.
    # (Cutting only where consecutive keys differ by more than tol_r merged all 200 into one block.)
    S = 200
    P = np.zeros((S, 1, S))
    P[np.arange(S), 0, np.arange(S)] = 1.0
    R = (np.arange(S) * 0.9e-12)[:, None]
    res = bisimulation(_tiny(P, R))
    assert res.exact and res.n_blocks == 100 and res.eps_R <= res.tol_r == 1e-12
    assert np.array_equal(res.labels, np.arange(S) // 2)
    for b in range(res.n_blocks):
        assert np.ptp(R[res.labels == b]) <= res.tol_r
    # the same chain on block masses: state k moves to absorbing T1 (reward 1) with probability
    # 0.5 + k * 0.9e-12 and to absorbing T2 (reward 0) otherwise; every block's masses span <= tol_p
    n = 200
    P = np.zeros((n + 2, 1, n + 2))
    q = 0.5 + np.arange(n) * 0.9e-12
    P[np.arange(n), 0, n] = q
    P[np.arange(n), 0, n + 1] = 1.0 - q
    P[n, 0, n] = P[n + 1, 0, n + 1] = 1.0
    R = np.zeros((n + 2, 1))
    R[n] = 1.0
    res = bisimulation(_tiny(P, R))
    assert res.n_blocks > 50  # pairs, up to round-off in 1 - q
    for b in np.unique(res.labels[:n]):
        assert np.ptp(q[res.labels[:n] == b]) <= res.tol_p
    assert res.eps_P <= 2 * res.tol_p


# ----------------------------------------------------------------------------- properties
@settings(max_examples=20)
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(1, 7),
    A=st.integers(1, 3),
    k=st.integers(1, 4),
    alpha=st.sampled_from([0.1, 1.0]),
    sparse=st.booleans(),
)
def test_planted_copies_give_the_planted_blocks(seed, n, A, k, alpha, sparse):
    rng = np.random.default_rng(seed)
    base = mdp.generators.random_mdp(n, A, rng=rng, alpha=alpha, gamma=0.9)
    copies = rng.integers(1, k + 1, size=n)
    m, classes = planted_copies(base, copies, rng=rng, sparse=sparse)
    res = bisimulation(m)
    assert res.n_blocks == n  # U[0,1] rewards: the base model has only trivial bisimulations
    assert np.array_equal(res.labels, _canonical(classes)[0])
    assert np.array_equal(res.labels[res.representatives], np.arange(n))
    assert res.quotient.is_sparse == sparse
    # B1: values preserved
    v = mdp.solve(m, tol=1e-11).v
    vq = mdp.solve(res.quotient, tol=1e-11).v
    np.testing.assert_allclose(res.lift_values(vq), v, atol=1e-8)


@settings(max_examples=25)
@given(seed=st.integers(0, 2**32 - 1), S=st.integers(1, 12), A=st.integers(1, 3), n_rewards=st.integers(1, 3))
def test_kernel_equals_reference_on_tie_rich_models(seed, S, A, n_rewards):
    # deterministic successors and rewards from a few values: many non-trivial bisimulations
    rng = np.random.default_rng(seed)
    m = _det(rng.integers(0, S, size=(S, A)), rng.integers(0, n_rewards, size=(S, A)).astype(float))
    res = bisimulation(m)
    ref = _reference(m.dense_P(), m.R)
    assert np.array_equal(res.labels, ref)
    assert np.array_equal(bisimulation(m.to_sparse()).labels, ref)
    assert res.eps_R == 0.0 and res.eps_P <= 1e-12


@settings(max_examples=20)
@given(seed=st.integers(0, 2**32 - 1), S=st.integers(2, 10), A=st.integers(1, 3))
def test_kernel_equals_reference_on_mixed_stochastic_models(seed, S, A):
    # rows mixing two deterministic successors with weights from {1/4, 1/2, 3/4}: exact dyadic sums
    rng = np.random.default_rng(seed)
    P = np.zeros((S, A, S))
    w = rng.choice([0.25, 0.5, 0.75], size=(S, A))
    for s in range(S):
        for a in range(A):
            i, j = rng.integers(0, S, size=2)
            P[s, a, i] += w[s, a]
            P[s, a, j] += 1 - w[s, a]
    m = _tiny(P, rng.integers(0, 2, size=(S, A)).astype(float))
    assert np.array_equal(bisimulation(m).labels, _reference(m.dense_P(), m.R))


@settings(max_examples=15)
@given(seed=st.integers(0, 2**32 - 1), S=st.integers(2, 10))
def test_partition_is_equivariant_under_state_permutation(seed, S):
    rng = np.random.default_rng(seed)
    m = _det(rng.integers(0, S, size=(S, 2)), rng.integers(0, 2, size=(S, 2)).astype(float))
    perm = rng.permutation(S)  # new state i is old state perm[i]
    inv = np.argsort(perm)
    P = m.dense_P()[perm][:, :, perm]
    mp = _tiny(P, m.R[perm])
    a, b = bisimulation(m).labels, bisimulation(mp).labels
    # same equivalence relation
    assert np.array_equal(a[:, None] == a[None, :], (b[inv][:, None] == b[inv][None, :]))


@settings(max_examples=15)
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(2, 6),
    gamma=st.sampled_from([0.5, 0.9]),
    noise=st.sampled_from([1e-4, 1e-3, 1e-2]),
    quotient=st.sampled_from(["mean", "representative"]),
)
def test_aggregation_bounds_hold_on_planted_near_symmetries(seed, n, gamma, noise, quotient):
    rng = np.random.default_rng(seed)
    base = mdp.generators.random_mdp(n, 2, rng=rng, gamma=gamma)
    m, classes = planted_copies(base, 3, rng=rng, noise_r=noise, noise_p=noise)
    assert bisimulation(m).n_blocks == m.n_states  # the noise breaks exact bisimulation
    res = approximate_aggregation(m, 4 * noise, 8 * noise, quotient=quotient)
    assert isinstance(res, AggregationResult)
    assert res.n_blocks <= m.n_states
    full = mdp.solve(m, tol=1e-12)
    err = np.abs(full.v - res.v_lifted).max()
    assert err <= res.value_bound * (1 + 1e-9) + 1e-10
    loss = np.abs(full.v - mdp.policy_evaluation(m, res.pi_lifted).v).max()
    assert loss <= res.policy_bound * (1 + 1e-9) + 1e-10
    # the bound is computed from the measured errors and implies the simulation-lemma form
    span_r = float(np.ptp(m.R))
    f9 = (res.eps_R + gamma * res.eps_P * span_r / (2 * (1 - gamma)) + gamma * res.eps_sum * m.r_max / (1 - gamma)) / (
        1 - gamma
    )
    assert res.value_bound <= f9 + res.solver_error + 1e-9


def test_aggregation_recovers_planted_classes_and_is_tight_enough():
    rng = np.random.default_rng(7)
    base = mdp.generators.random_mdp(5, 2, rng=rng, gamma=0.9)
    m, classes = planted_copies(base, 4, rng=rng, noise_r=1e-4, noise_p=1e-4)
    res = approximate_aggregation(m, 1e-3, 1e-3)
    assert res.n_blocks == 5
    assert np.array_equal(res.labels, _canonical(classes)[0])
    assert res.eps_R <= 2e-4 + 1e-12 and res.eps_P <= 4e-4 + 1e-12
    assert res.value_bound < 0.05


def test_approximate_with_zero_tolerance_is_exact():
    rng = np.random.default_rng(3)
    m, classes = planted_copies(mdp.generators.random_mdp(4, 2, rng=rng), 2, rng=rng)
    res = approximate_aggregation(m, 0.0, 0.0)
    assert res.exact and res.n_blocks == 4
    assert res.value_bound < 1e-8


def test_bisimulation_with_tolerance_merges_near_copies():
    rng = np.random.default_rng(4)
    m, classes = planted_copies(mdp.generators.random_mdp(4, 2, rng=rng), 3, rng=rng, noise_r=1e-6, noise_p=1e-6)
    assert bisimulation(m).n_blocks == 12
    res = bisimulation(m, tol=1e-4)
    assert res.n_blocks == 4 and not res.exact
    assert 0 < res.eps_R <= 2e-6 + 1e-15


def test_refinement_work_is_near_linear_on_a_large_grid():
    m = mdp.generators.gridworld(60, 60)
    res = bisimulation(m)
    assert res.n_blocks == m.n_states
    # each stored transition scanned O(log n) times at most (here: a few times)
    assert res.n_scanned <= m.nnz * np.log2(m.n_states)


# ----------------------------------------------------------------------------- bad input
def test_bad_model_type():
    with pytest.raises(TypeError, match="m must be an mdp.TabularMDP, got ndarray"):
        bisimulation(np.ones((2, 1, 2)))
    with pytest.raises(TypeError, match="m must be an mdp.TabularMDP"):
        approximate_aggregation("model", 0.1, 0.1)


@pytest.mark.parametrize(
    "tol,exc,msg",
    [
        (-1e-3, ValueError, r"tol must be finite and >= 0, got -0.001"),
        (float("nan"), ValueError, r"tol must be finite and >= 0"),
        (float("inf"), ValueError, r"tol must be finite and >= 0"),
        ("0.1", TypeError, r"tol must be a real number, got str"),
        (True, TypeError, r"tol must be a real number, got bool"),
    ],
)
def test_bad_tolerance(tol, exc, msg):
    m = stripe_gridworld(3, 2)
    with pytest.raises(exc, match=msg):
        bisimulation(m, tol=tol)


def test_bad_aggregation_arguments():
    m = stripe_gridworld(3, 2)
    with pytest.raises(ValueError, match=r"tol_r must be finite and >= 0"):
        approximate_aggregation(m, -1.0, 0.1)
    with pytest.raises(ValueError, match=r"tol_p must be finite and >= 0"):
        approximate_aggregation(m, 0.1, -0.1)
    with pytest.raises(ValueError, match=r"quotient must be 'mean' or 'representative', got 'median'"):
        approximate_aggregation(m, 0.1, 0.1, quotient="median")
    undiscounted = mdp.TabularMDP(m.P, m.R, 1.0)
    with pytest.raises(ValueError, match=r"m.gamma must lie in \[0, 1\)"):
        approximate_aggregation(undiscounted, 0.1, 0.1)
    # an undiscounted model still has a bisimulation, but no loss bound
    res = bisimulation(undiscounted)
    with pytest.raises(ValueError, match="loss bounds need a discounted model"):
        res.loss_bounds(np.zeros(res.n_blocks))


def test_non_finite_or_inconsistent_models_are_rejected_by_the_model():
    with pytest.raises(ValueError, match=r"R must be finite; R\[0, 0\] = nan"):
        mdp.TabularMDP(np.full((2, 1, 2), 0.5), [[np.nan], [0.0]], 0.9)
    with pytest.raises(ValueError, match=r"P\[1, 0, :\] sums to 0.9"):
        mdp.TabularMDP(np.array([[[0.5, 0.5]], [[0.4, 0.5]]]), [[0.0], [0.0]], 0.9)
    with pytest.raises(ValueError, match="P must be finite"):
        mdp.TabularMDP(sp.csr_matrix(np.array([[np.inf, 0.5], [0.5, 0.5]])), [[0.0], [0.0]], 0.9)


def test_bad_lift_and_project_arguments():
    res = bisimulation(stripe_gridworld(4, 3))
    with pytest.raises(ValueError, match=r"v_q must have shape \(3,\) or \(3, A\), got \(4,\)"):
        res.lift_values(np.zeros(4))
    with pytest.raises(ValueError, match=r"v_q must be finite"):
        res.lift_values([0.0, np.nan, 1.0])
    with pytest.raises(ValueError, match=r"pi_q\[1\] = 7 is not an action in \[0, 4\)"):
        res.lift_policy([0, 7, 1])
    with pytest.raises(ValueError, match=r"pi_q must have shape \(3,\) or \(3, 4\)"):
        res.lift_policy([0, 1])
    with pytest.raises(ValueError, match=r"v must have shape \(12,\), got \(3,\)"):
        res.project_values(np.zeros(3))
    with pytest.raises(ValueError, match="solver_error must be finite and >= 0"):
        res.loss_bounds(np.zeros(3), solver_error=-1.0)
    pi = np.full((3, 4), 0.25)
    assert res.lift_policy(pi).shape == (12, 4)


def test_bad_generator_arguments():
    rng = np.random.default_rng(0)
    base = mdp.generators.random_mdp(3, 2, rng=rng)
    with pytest.raises(ValueError, match="copies must be a positive int or 3 positive ints"):
        planted_copies(base, [1, 0, 2], rng=rng)
    with pytest.raises(ValueError, match="copies must be >= 1"):
        planted_copies(base, 0, rng=rng)
    with pytest.raises(TypeError, match="rng must be a numpy.random.Generator"):
        planted_copies(base, 2, rng=0)
    with pytest.raises(ValueError, match=r"slip must lie in \[0, 1\]"):
        stripe_gridworld(3, 3, slip=1.5)
    with pytest.raises(ValueError, match="height must be >= 2"):
        stripe_gridworld(3, 1)


def test_lazy_public_names():
    import mdp.abstraction as ab

    assert ab.approximate_aggregation is approximate_aggregation
    assert ab.BisimulationResult is BisimulationResult and ab.AggregationResult is AggregationResult
    # the function lives in mdp/abstraction/partition.py, so importing submodules never shadows it
    import inspect

    import mdp.abstraction.partition  # noqa: F401

    assert inspect.isfunction(ab.bisimulation) and ab.bisimulation is bisimulation
    m = stripe_gridworld(4, 3)
    assert ab.bisimulation(m).n_blocks == 3


def test_public_name_is_the_function_in_a_fresh_process():
    import subprocess
    import sys

    code = (
        "from mdp.abstraction import bisimulation, bisimulation_metric; import inspect; "
        "print(inspect.isfunction(bisimulation), inspect.isfunction(bisimulation_metric))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["True", "True"]


def test_renamed_error_fields_warn():
    m = mdp.generators.random_mdp(6, 2, rng=np.random.default_rng(0), gamma=0.9)
    res = mdp.abstraction.bisimulation(m)
    for old, new in (("eps_r", "eps_R"), ("eps_p", "eps_P")):
        with pytest.warns(DeprecationWarning, match=new):
            assert getattr(res, old) == getattr(res, new)
