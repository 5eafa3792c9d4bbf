"""VSC-RL's SGC-ELBO by enumeration (mdp.goal.vsc) and the claims VSC1, VSC2, including that each can fail."""

from unittest import mock

import numpy as np
import pytest

from mdp import goal as G
from theory_checks import vsc_rl as VS
from theory_checks.core import get_claim


def test_elbo_known_values():
    # two trajectories, prior (1/2, 1/2), p(O|tau) = (1, 1/4): log p(O) = log(5/8) (hand computation)
    lp = np.log([0.5, 0.5])
    ll = np.log([1.0, 0.25])
    assert G.log_evidence(lp, ll) == pytest.approx(np.log(5 / 8))
    post = G.posterior(lp, ll)
    np.testing.assert_allclose(post, [0.8, 0.2])
    assert G.elbo(post, lp, ll) == pytest.approx(np.log(5 / 8))
    # q = (1, 0): E log p(O|tau) = 0, KL = log 2 -> ELBO = -log 2 < log(5/8)
    assert G.elbo([1.0, 0.0], lp, ll) == pytest.approx(-np.log(2))


def test_trajectory_enumeration_and_probabilities():
    m = G.corridor(4)
    tr = G.enumerate_trajectories(m, 0, 3)
    assert tr.actions.shape == (8, 3) and tr.states.shape == (8, 4)
    pi = np.tile([0.25, 0.75], (4, 1))
    p = np.exp(G.trajectory_log_probs(tr, pi))
    assert p.sum() == pytest.approx(1.0)
    # right, right, right reaches 3 with probability 0.75^3
    k = int(np.flatnonzero((tr.actions == 1).all(axis=1))[0])
    assert tr.states[k, -1] == 3 and p[k] == pytest.approx(0.75**3)
    assert G.stepwise_kl(tr, pi, pi) == pytest.approx(0.0)


@pytest.mark.parametrize("cid", ["VSC1", "VSC2"])
def test_claims_hold(cid):
    assert get_claim(cid).check(np.random.default_rng(4)).holds


def test_vsc1_fails_if_the_kl_sign_is_flipped():
    def wrong(q, lp, ll):
        q = np.asarray(q)
        on = q > 0
        return float((q[on] * (ll[on] + np.log(q[on]) - lp[on])).sum())

    with mock.patch.object(VS.G, "elbo", wrong):
        assert not get_claim("VSC1").check(0).holds


def test_vsc2_fails_with_a_kl_in_the_wrong_direction():
    real = G.stepwise_kl
    with mock.patch.object(VS.G, "stepwise_kl", lambda tr, pi, ref: real(tr, ref, pi)):
        assert not get_claim("VSC2").check(0).holds


def test_bad_input():
    m = G.corridor(4)
    with pytest.raises(ValueError, match="too many"):
        G.enumerate_trajectories(G.maze(5, rng=np.random.default_rng(0)), 0, 20)
    with pytest.raises(ValueError, match="start"):
        G.enumerate_trajectories(m, 7, 2)
    tr = G.enumerate_trajectories(m, 0, 2)
    with pytest.raises(ValueError, match="pi rows"):
        G.trajectory_log_probs(tr, np.full((4, 2), 0.7))
    with pytest.raises(ValueError, match="q must be a probability"):
        G.elbo([0.5, 0.6, 0.0, 0.0], np.zeros(4), np.zeros(4))
    with pytest.raises(ValueError, match="log_lik"):
        G.elbo([0.25] * 4, np.log([0.25] * 4), [0.1, 0, 0, 0])
