"""Deep MAMQL (marl.irl.torch): the linear one-hot critic reaches the tabular optimum; MLP training on
demonstrations collected from the PettingZoo gems env; bad input; CUDA when available."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import marl
from marl.envs import gems_v0
from marl.irl import logit_equilibrium, mamql, sample_demonstrations
from marl.irl.torch import collect_demonstrations, deep_mamql, one_hot_positions


def test_import_marl_irl_does_not_load_torch():
    import subprocess
    import sys

    code = "import sys, marl, marl.irl; marl.irl.mamql; assert 'torch' not in sys.modules"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


@pytest.mark.parametrize("phi", ["chi2", "linear"])
def test_linear_one_hot_critic_reaches_tabular_optimum(phi):
    # with one-hot features and no hidden layer the deep loss is the tabular objective (negated)
    g = marl.generators.random_general_sum_game(4, 2, 3, rng=np.random.default_rng(0), gamma=0.8)
    eq = logit_equilibrium(g, 1.0)
    d = sample_demonstrations(g, eq.policies, n_trajectories=40, horizon=10, rng=np.random.default_rng(1))
    tab = mamql(g, d, 1.0, phi=phi)
    res = deep_mamql(
        d, lambda s: np.eye(4, dtype=np.float32)[s], (2, 3), 0.8, 1.0, phi=phi, hidden=(), steps=1500, lr=0.05
    )
    if phi == "chi2":  # unique optimum
        np.testing.assert_allclose(res.losses[:, -1], -tab.objective, atol=2e-4)
    else:  # the linear objective's supremum is approached, never exceeded
        assert np.all(res.losses[:, -1] >= -tab.objective - 1e-5)
        np.testing.assert_allclose(res.losses[:, -1], -tab.objective, atol=2e-3)


def test_mlp_critics_on_pettingzoo_gems():
    g = gems_v0.model()
    eq = logit_equilibrium(g, 5.0)
    d = collect_demonstrations(gems_v0.parallel_env(max_cycles=10), eq.policies, n_episodes=20, seed=0)
    assert d.states.shape == (20, 11) and d.actions.shape == (20, 10, 2)
    assert np.all(d.states[:, 0] == gems_v0.state_index(*gems_v0.START))
    res = deep_mamql(d, one_hot_positions, (5, 5), 0.9, 5.0, hidden=(32,), steps=150, lr=1e-2, batch_size=64)
    assert res.device == "cpu" and np.all(res.losses[:, -20:].mean(axis=1) < res.losses[:, :5].mean(axis=1))
    q = res.critics[0](torch.as_tensor(one_hot_positions(np.arange(256))))
    assert q.shape == (256, 5)


def test_bad_input():
    g = marl.generators.random_general_sum_game(3, 2, 2, rng=np.random.default_rng(0))
    eq = logit_equilibrium(g, 1.0)
    d = sample_demonstrations(g, eq.policies, n_trajectories=2, horizon=3, rng=np.random.default_rng(0))

    def f(s):
        return np.eye(3, dtype=np.float32)[s]

    with pytest.raises(ValueError, match="lam"):
        deep_mamql(d, f, (2, 2), 0.9, 0.0)
    with pytest.raises(ValueError, match="gamma"):
        deep_mamql(d, f, (2, 2), 1.0, 1.0)
    with pytest.raises(ValueError, match="phi"):
        deep_mamql(d, f, (2, 2), 0.9, 1.0, phi="kl")
    with pytest.raises(TypeError, match="Demonstrations"):
        deep_mamql((d.states, d.actions), f, (2, 2), 0.9, 1.0)
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="cuda"):
            deep_mamql(d, f, (2, 2), 0.9, 1.0, device="cuda")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_cuda_matches_cpu():
    g = marl.generators.random_general_sum_game(4, 2, 3, rng=np.random.default_rng(0), gamma=0.8)
    eq = logit_equilibrium(g, 1.0)
    d = sample_demonstrations(g, eq.policies, n_trajectories=40, horizon=10, rng=np.random.default_rng(1))

    def f(s):
        return np.eye(4, dtype=np.float32)[s]

    cpu = deep_mamql(d, f, (2, 3), 0.8, 1.0, hidden=(), steps=800, lr=0.05)
    gpu = deep_mamql(d, f, (2, 3), 0.8, 1.0, hidden=(), steps=800, lr=0.05, device="cuda")
    assert gpu.device == "cuda"
    np.testing.assert_allclose(gpu.losses[:, -1], cpu.losses[:, -1], atol=1e-4)
