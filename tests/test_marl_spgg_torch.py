"""Independent PPO learners with Gaussian effort policies (marl.spgg.torch; docs/papers/mac_spgg.md)."""

import numpy as np
import pytest

pytest.importorskip("torch")

from marl.spgg import SPGGame  # noqa: E402
from marl.spgg.torch import spgg_ppo  # noqa: E402


def test_ppo_free_rides_under_the_classic_payoff():
    g = SPGGame.classic(3, np.linspace(0, 1, 11), cost=1, multiplier=2)
    r = spgg_ppo(g, n_updates=80, batch=32, rng=np.random.default_rng(0))
    assert r.effort.shape == (80, 3) and r.total.shape == (80,)
    assert r.effort[-10:].mean() < 0.2 < r.effort[0].mean()
    assert np.all(r.mean_effort_path <= 0.2)
    assert np.all((r.effort >= 0) & (r.effort <= 1)) and np.all(r.penalised == 0)


def test_ppo_is_reproducible_and_validates():
    g = SPGGame(2, [0.0, 1.0], cost=1, multiplier=1.5, bonus=0.5, threshold=2, penalty=1)
    a = spgg_ppo(g, n_updates=3, batch=8, rng=np.random.default_rng(4))
    b = spgg_ppo(g, n_updates=3, batch=8, rng=np.random.default_rng(4))
    np.testing.assert_array_equal(a.effort, b.effort)
    with pytest.raises(ValueError, match="clip"):
        spgg_ppo(g, clip=1.5, rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match="batch"):
        spgg_ppo(g, batch=1, rng=np.random.default_rng(0))
    with pytest.raises(TypeError, match="rng"):
        spgg_ppo(g, rng=None)
    with pytest.raises(TypeError, match="SPGGame"):
        spgg_ppo("game", rng=np.random.default_rng(0))
