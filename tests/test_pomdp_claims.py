"""Claims MT1-MT5 (theory_checks/multitask_psr.py): they hold on the lab's code and fail on broken code."""

from unittest import mock

import numpy as np
import pytest

from mdp import pomdp as P
from theory_checks import multitask_psr as MT
from theory_checks.core import get_claim

IDS = ["MT1", "MT2", "MT3", "MT4", "MT5"]


def test_claims_are_registered_with_subjects_and_validators():
    for cid in IDS:
        c = get_claim(cid)
        assert c.subjects and c.instance and c.accepts is not None
    with pytest.raises(TypeError, match="claim MT5"):
        get_claim("MT5").check("not a pomdp")
    with pytest.raises(TypeError, match="ModelClass"):
        get_claim("MT1").check((1, 2, 3))
    with pytest.raises(ValueError, match="eps must lie in"):
        get_claim("MT4").check((3, 3, 0, 0.7))
    with pytest.raises(TypeError, match="integer seed"):
        get_claim("MT3").check("seed")


@pytest.mark.parametrize("cid", ["MT1", "MT2", "MT5"])
def test_claim_holds(cid):
    r = get_claim(cid).check(rng=np.random.default_rng(0))
    assert r.holds, r


def test_mt3_mt4_hold_reduced():
    rng = np.random.default_rng(1)
    assert MT.check_mt3(5, rng, reps=80).holds
    assert MT.check_mt4((3, 3, 7, 0.1), rng, reps=150).holds


# ----------------------------------------------------------------------------- each claim can fail
def test_mt1_fails_with_an_optimistic_bound():
    inst = MT.sample_mt1(np.random.default_rng(0))
    real = P.mle_tv_bound

    def too_small(K, n, d):
        a, b = real(K, n, d)
        return a / 10, b / 10

    with mock.patch.object(P, "mle_tv_bound", too_small):
        assert not MT.check_mt1(inst, np.random.default_rng(0), reps=300).holds


def test_mt1_fails_when_the_likelihood_ignores_the_data():
    inst = MT.sample_mt1(np.random.default_rng(0))

    def worst(models, obs, acts):  # always favours the last (farthest) candidate
        return np.tile(np.arange(models.size, dtype=float)[:, None], (1, np.asarray(obs).shape[0]))

    with mock.patch.object(P, "log_likelihoods", worst):
        assert not MT.check_mt1(inst, np.random.default_rng(0), reps=200).holds


def test_mt2_fails_on_the_product_class():
    fc, N = P.random_factored_class(3, 2, 2, 2, 2, 2, rng=np.random.default_rng(3)), 2
    assert MT.check_mt2((fc, N), np.random.default_rng(0)).holds
    M_O, M_T = fc.n_emissions, fc.n_transitions
    # a broken enumeration that lists every joint member once per choice of the other tasks' emissions:
    # (M_O M_T)^N rows, the size of the product class
    prod = np.tile(P.enumerate_joint_class(fc, N), (M_O ** (N - 1), 1))
    assert prod.shape[0] == (M_O * M_T) ** N
    with mock.patch.object(P, "enumerate_joint_class", lambda fc_, n_: prod):
        r = MT.check_mt2((fc, N), np.random.default_rng(0))
    assert not r.holds


def test_mt3_fails_when_joint_is_per_task():
    with mock.patch.object(P, "joint_mle", P.per_task_mle):
        assert not MT.check_mt3(5, np.random.default_rng(0), reps=40).holds


def test_mt4_fails_with_a_wrong_exploration_rule():
    real = P.optimistic_sequence

    def first(models):
        r = real(models)
        return P.OptimisticResult(sequence=0, actions=np.zeros(3, dtype=np.int64), tv=r.tv, pair=r.pair)

    with mock.patch.object(P, "optimistic_sequence", first):
        assert not MT.check_mt4((3, 3, 7, 0.1), np.random.default_rng(0), reps=40).holds


def test_mt5_fails_on_a_full_rank_matrix():
    m = P.random_pomdp(2, 2, 2, 2, rng=np.random.default_rng(0))
    real = P.hankel_matrix

    def noisy(model, split, **kw):
        h = real(model, split, **kw)
        D = h.D + 1e-3 * np.random.default_rng(split).random(h.D.shape)
        return P.HankelMatrix(
            D=D,
            split=h.split,
            history_obs=h.history_obs,
            history_acts=h.history_acts,
            test_lengths=h.test_lengths,
        )

    with mock.patch("mdp.pomdp.hankel.hankel_matrix", noisy), mock.patch.object(P, "hankel_matrix", noisy):
        assert not MT.check_mt5(m, np.random.default_rng(0)).holds
