"""The optional keyword-only ``progress(done, total)`` callback of long library calls."""

from __future__ import annotations

import numpy as np
import pytest

import marl
import mdp
from marl.learners import minimax_q, nash_q
from mdp.learners import q_learning


def _calls():
    seen = []
    return seen, lambda done, total: seen.append((done, total))


def _check(seen, total):
    assert seen[-1] == (total, total)
    dones = [d for d, _ in seen]
    assert dones == sorted(dones) and len(set(dones)) == len(dones)
    assert all(t == total for _, t in seen)
    assert 10 <= len(seen) <= 101


@pytest.mark.parametrize("mode", ["synchronous", "online"])
def test_q_learning_progress_does_not_change_the_result(mode):
    m = mdp.generators.forest(gamma=0.5)
    seen, cb = _calls()
    a = q_learning(m, n_iter=3000, rng=np.random.default_rng(1), mode=mode, progress=cb)
    b = q_learning(m, n_iter=3000, rng=np.random.default_rng(1), mode=mode)
    np.testing.assert_array_equal(a.q, b.q)
    _check(seen, 3000)


@pytest.mark.parametrize("mode", ["synchronous", "online"])
def test_marl_learners_progress(mode):
    game = marl.generators.random_zero_sum_game(3, 2, rng=np.random.default_rng(0), gamma=0.6)
    seen, cb = _calls()
    a = minimax_q(game, n_iter=500, rng=np.random.default_rng(2), mode=mode, checkpoints=(7, 250), progress=cb)
    b = minimax_q(game, n_iter=500, rng=np.random.default_rng(2), mode=mode, checkpoints=(7, 250))
    np.testing.assert_array_equal(a.q, b.q)
    _check(seen, 500)
    seen, cb = _calls()
    c = nash_q(game, n_iter=300, rng=np.random.default_rng(3), mode=mode, progress=cb)
    d = nash_q(game, n_iter=300, rng=np.random.default_rng(3), mode=mode)
    np.testing.assert_array_equal(c.Q, d.Q)
    _check(seen, 300)


def test_rvi_progress_and_abort():
    m = mdp.generators.forest()
    seen, cb = _calls()
    res = mdp.relative_value_iteration(m, max_iter=1000, progress=cb)
    # every 10 sweeps (a hundredth of max_iter), then once at the end with the sweeps done (34)
    assert seen == [(10, 1000), (20, 1000), (30, 1000), (res.n_iter, 1000)] and res.n_iter == 34
    seen, cb = _calls()
    with pytest.warns(mdp.ConvergenceWarning):
        mdp.relative_value_iteration(m, max_iter=200, tol=1e-300, progress=cb)
    assert seen[0] == (2, 200) and seen[-1] == (200, 200) and len(seen) == 100

    class Stop(Exception):
        pass

    def stop(done, total):
        raise Stop

    with pytest.raises(Stop):
        q_learning(m.with_gamma(0.5), n_iter=1000, rng=np.random.default_rng(0), progress=stop)


def test_progress_must_be_callable():
    m = mdp.generators.forest(gamma=0.5)
    with pytest.raises(TypeError, match="progress must be None or a callable"):
        q_learning(m, n_iter=10, rng=np.random.default_rng(0), progress=5)
    with pytest.raises(TypeError, match="progress must be None or a callable"):
        mdp.relative_value_iteration(m, progress="bar")
    game = marl.generators.random_zero_sum_game(2, 2, rng=np.random.default_rng(0))
    with pytest.raises(TypeError, match="progress must be None or a callable"):
        minimax_q(game, n_iter=10, rng=np.random.default_rng(0), progress=[])
    with pytest.raises(TypeError, match="progress must be None or a callable"):
        nash_q(game, n_iter=10, rng=np.random.default_rng(0), progress=1.0)
