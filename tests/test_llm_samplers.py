"""Tests for mdp.llm.samplers (D3S, MMR1 VAS, iGRPO) and the token-level loss variants
mdp.llm.hapo and mdp.llm.bpo: known values, properties, loop/brute-force twins, bad input."""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

torch = pytest.importorskip("torch")

from mdp.llm import RolloutBatch, compute_advantages, policy_loss  # noqa: E402
from mdp.llm.bpo import (  # noqa: E402
    bpo_loss,
    bpo_sign_rule,
    bpo_target_from_advantages,
    bpo_target_ratio,
    bpo_token_losses,
    gbpo_advantages,
    weighted_median,
)
from mdp.llm.hapo import (  # noqa: E402
    apply_entropy_stats,
    hapo_clip_bounds,
    hapo_policy_loss,
    hapo_redistribute,
    hapo_temperature,
    hapo_token_advantages,
    hapo_token_losses,
    normalized_entropy,
)
from mdp.llm.samplers import (  # noqa: E402
    MixtureSampler,
    _max_variance_subset_reference,
    best_of_n_success,
    d3s_retention,
    d3s_sample_mask,
    d3s_token_mask,
    distinct_n,
    igrpo_rollout,
    max_variance_subset,
    mean_edit_distance,
    outcome_variance_score,
    trajectory_diversity,
    variance_gradient_bounds,
    vps_weights,
)


# ---------------------------------------------------------------------------------------- D3S
def test_max_variance_subset_known_values():
    # binary group: the balanced set is optimal (docs/papers/d3s.md pitfall)
    v = np.array([1.0, 0, 0, 0, 1, 0])
    S = max_variance_subset(v, 4)
    assert sorted(v[S].tolist()) == [0, 0, 1, 1]
    # extremes: [-3, -1, 0, 2, 5] with k = 2 -> {-3, 5}
    assert max_variance_subset([-3.0, -1, 0, 2, 5], 2).tolist() == [0, 4]
    assert max_variance_subset([2.0], 1).tolist() == [0]


@given(st.lists(st.floats(-5, 5, allow_nan=False), min_size=1, max_size=9), st.data())
def test_max_variance_subset_matches_brute_force(values, data):
    v = np.round(np.array(values), 2)  # rounding creates ties
    k = data.draw(st.integers(1, v.size))
    S = max_variance_subset(v, k)
    best, _ = _max_variance_subset_reference(v, k)
    assert S.size == k
    assert np.var(v[S]) == pytest.approx(best, abs=1e-9)


def test_d3s_sample_mask_multi_group_matches_per_group(rng):
    g = rng.integers(0, 6, size=60)
    a = rng.normal(size=60)
    for keep in (3, 0.5):
        m = d3s_sample_mask(a, g, keep).numpy()
        for gid in np.unique(g):
            rows = np.flatnonzero(g == gid)
            k = min(keep, rows.size) if isinstance(keep, int) else math.ceil(keep * rows.size)
            assert m[rows].sum() == k
            best, _ = _max_variance_subset_reference(a[rows], k)
            assert np.var(a[rows][m[rows]]) == pytest.approx(best, abs=1e-12)


def test_d3s_selection_raises_gradient_bound(rng):
    # claim 1: max-Var subsets have a larger bound C sqrt(Var) than random subsets (on average also ||g||)
    G, k = 12, 4
    gains = []
    for _ in range(200):
        a = rng.normal(size=G)
        S = max_variance_subset(a, k)
        R = rng.choice(G, size=k, replace=False)
        gains.append(np.var(a[S]) - np.var(a[R]))
    assert min(gains) >= -1e-12 and np.mean(gains) > 0.5


def test_d3s_token_mask_known_and_ties():
    A = torch.tensor([1.0, -2.0])
    H = torch.tensor([[0.1, 0.5, 0.0], [0.2, 0.3, 0.4]])
    m = d3s_token_mask(A, H, torch.ones(2, 3), 0.5)  # scores [.1 .5 0 | .4 .6 .8]; keep 3
    assert m.tolist() == [[False, True, False], [False, True, True]]
    # H = 0 or A = 0 tokens score 0 (docs/papers/d3s.md claim 3); ties broken by position
    m2 = d3s_token_mask(torch.tensor([0.0, 1.0]), torch.ones(2, 2), torch.ones(2, 2), 0.5)
    assert m2.tolist() == [[False, False], [True, True]]
    # sample mask excludes rows
    m3 = d3s_token_mask(A, H, torch.ones(2, 3), 1.0, sample_mask=torch.tensor([True, False]))
    assert m3.tolist() == [[True, True, True], [False, False, False]]


def test_d3s_softmax_logit_gradient_norm():
    # docs/papers/d3s.md claim 3: ||grad_z log pi(y)||^2 = 1 - 2 pi_y + ||pi||^2 -> 0 as pi becomes deterministic
    for scale in (0.1, 1.0, 10.0, 50.0):
        z = torch.tensor([scale, 0.0, -1.0], dtype=torch.float64, requires_grad=True)
        lp = torch.log_softmax(z, 0)
        (g,) = torch.autograd.grad(lp[0], z)
        pi = lp.exp().detach()
        assert float((g**2).sum()) == pytest.approx(float(1 - 2 * pi[0] + (pi**2).sum()), abs=1e-12)
    assert float((g**2).sum()) < 1e-20


def test_d3s_retention_schedule():
    assert d3s_retention(0, warmup_steps=100, r_min=0.25) == 0.25
    assert d3s_retention(50, warmup_steps=100, r_min=0.25) == pytest.approx(0.625)
    assert d3s_retention(500, warmup_steps=100) == 1.0
    np.testing.assert_allclose(
        d3s_retention([0, 50, 100], warmup_steps=100, r_min=0.5, shape="cosine"), [0.5, 0.75, 1.0]
    )


def test_d3s_bad_input():
    with pytest.raises(ValueError, match="keep must be >= 1"):
        d3s_sample_mask([1.0, 2.0], [0, 0], 0)
    with pytest.raises(ValueError, match=r"ratio must lie in \(0, 1\]"):
        d3s_sample_mask([1.0, 2.0], [0, 0], 1.5)
    with pytest.raises(TypeError, match="keep must be an int"):
        d3s_sample_mask([1.0, 2.0], [0, 0], "all")
    with pytest.raises(ValueError, match="advantages must be finite"):
        d3s_sample_mask([1.0, float("nan")], [0, 0], 1)
    with pytest.raises(ValueError, match="group_ids must have shape"):
        d3s_sample_mask([1.0, 2.0], [0], 1)
    with pytest.raises(ValueError, match="k must be <= len"):
        max_variance_subset([1.0], 2)
    with pytest.raises(ValueError, match="no valid token"):
        d3s_token_mask([1.0], [[0.5]], [[0]], 0.5)
    with pytest.raises(ValueError, match="entropies must be >= 0"):
        d3s_token_mask([1.0], [[-0.5]], [[1]], 0.5)
    with pytest.raises(ValueError, match="keep_fraction"):
        d3s_token_mask([1.0], [[0.5]], [[1]], 0.0)
    with pytest.raises(ValueError, match="shape must be"):
        d3s_retention(1, warmup_steps=10, shape="exp")


# ---------------------------------------------------------------------------------------- MMR1
def test_ovs_and_diversity_known_values():
    np.testing.assert_allclose(outcome_variance_score([[1, 0, 1, 0], [1, 1, 1, 1], [1, 0, 0, 0]]), [0.25, 0.0, 0.1875])
    # distinct-2 of [1 2 3], [1 2 4]: bigrams (1,2),(2,3),(1,2),(2,4) -> 3 unique / 4
    assert distinct_n([[1, 2, 3], [1, 2, 4]], n=2) == 0.75
    assert mean_edit_distance([[1, 2, 3], [1, 2, 4]], normalize=False) == 1.0
    assert mean_edit_distance([[1, 2, 3], [1, 2, 3]]) == 0.0
    # identical responses: zero diversity (docs/papers/mmr1_vas.md claim 3)
    np.testing.assert_allclose(trajectory_diversity([[[5, 6, 7]] * 3], kind="edit_distance"), [0.0])


def test_vps_weights_minmax_and_momentum():
    w = vps_weights([0.0, 0.25, 0.125])
    np.testing.assert_allclose(w, [0.0, 0.25 / (0.25 + 1e-8), 0.125 / (0.25 + 1e-8)])
    w2 = vps_weights([0.0, 0.25, 0.125], [1.0, 0.0, 0.5], alpha=1.0, beta=0.5, previous=[1, 1, 1], momentum=0.5)
    v = np.array([0.5, 0.25, 0.375])
    np.testing.assert_allclose(w2, 0.5 + 0.5 * (v - 0.25) / (0.25 + 1e-8))


def test_mixture_sampler_coverage_and_frequencies(rng):
    w = np.array([0.0, 1.0, 3.0, 0.0])
    s = MixtureSampler(w, 8, mixture_ratio=0.5, rng=rng)
    p = s.draw_probabilities()
    assert p.min() >= (1 - 0.5) / 4 - 1e-15  # claim 4: every prompt keeps (1 - lambda)/|D|
    counts = np.zeros(4)
    for _ in range(3000):
        b = s.sample()
        assert b.shape == (8,)
        counts += np.bincount(b, minlength=4)
    np.testing.assert_allclose(counts / counts.sum(), p, atol=0.01)
    # uniform stream is a pass over a permutation: 4 uniform draws per batch of 8 cover the dataset
    s2 = MixtureSampler(np.zeros(4), 8, mixture_ratio=0.5, rng=np.random.default_rng(3))
    assert sorted(s2.sample()[1::2].tolist()) == [0, 1, 2, 3]


def test_variance_gradient_bounds_bernoulli():
    # two responses, Bernoulli reward: ||grad J||^2 = 2 p^2 (1-p)^2 is monotone in p(1-p) and vanishes at
    # p in {0, 1}; both lower bounds hold. The single-sample E||g||^2 = 2 p (1-p) (p^3 + (1-p)^3) also
    # vanishes at the ends but is NOT monotone in p(1-p) (max near p = 0.3): docs/papers/mmr1_vas.md's "monotone" is
    # true of the exact gradient only.
    prev = -1.0
    for p in np.linspace(0.0, 0.5, 11):
        out = variance_gradient_bounds([p, 1 - p], [1.0, 0.0])
        assert out["expected_sq_norm"] >= out["c_pi"] * out["var"] - 1e-15
        assert out["exact_sq_norm"] >= out["min_pi"] * out["var"] - 1e-15
        assert out["exact_sq_norm"] == pytest.approx(2 * p**2 * (1 - p) ** 2, abs=1e-15)
        assert out["expected_sq_norm"] == pytest.approx(2 * p * (1 - p) * (p**3 + (1 - p) ** 3), abs=1e-15)
        assert out["exact_sq_norm"] >= prev
        prev = out["exact_sq_norm"]
    assert variance_gradient_bounds([0.0, 1.0], [1.0, 0.0])["expected_sq_norm"] == 0.0
    e = [variance_gradient_bounds([p, 1 - p], [1.0, 0.0])["expected_sq_norm"] for p in (0.3, 0.5)]
    assert e[0] > e[1]


def test_mmr1_bad_input(rng):
    with pytest.raises(ValueError, match="0/1 outcomes"):
        outcome_variance_score([[0.5, 1.0]])
    with pytest.raises(ValueError, match="beta != 0 needs tds"):
        vps_weights([0.1], beta=1.0)
    with pytest.raises(ValueError, match="weights must be >= 0"):
        MixtureSampler([-1.0, 1.0], 4, rng=rng)
    with pytest.raises(ValueError, match="mixture_ratio"):
        MixtureSampler([1.0, 1.0], 4, mixture_ratio=2.0, rng=rng)
    with pytest.raises(TypeError, match="rng must be"):
        MixtureSampler([1.0], 4, rng=1)
    with pytest.raises(ValueError, match="probability vector"):
        variance_gradient_bounds([0.5, 0.6], [1.0, 0.0])
    with pytest.raises(ValueError, match="kind must be"):
        trajectory_diversity([[[1]]], kind="self_bleu")


# ---------------------------------------------------------------------------------------- iGRPO
def _toy(p_correct, copy=0.9):
    """Draft correct with prob p; a refinement of a correct draft copies it (correct) w.p. ``copy``."""

    def draft_fn(q, n, rng):
        return list((rng.random(n) < p_correct).astype(int))

    def refine_fn(q2, n, rng):
        q, d = q2
        pc = copy if d == 1 else p_correct
        return list((rng.random(n) < pc).astype(int))

    return draft_fn, refine_fn, (lambda q, y: float(y))


def test_igrpo_rollout_structure_and_advantages(rng):
    d, r, rew = _toy(0.3)
    out = igrpo_rollout(["a", "b", "c"], draft_fn=d, refine_fn=r, reward_fn=rew, n_drafts=4, group_size=5, rng=rng)
    assert len(out.responses) == 15 and out.group_ids.tolist() == [0] * 5 + [1] * 5 + [2] * 5
    assert out.draft_rewards.shape == (3, 4)
    assert all(out.draft_rewards[i, out.best_draft[i]] == out.draft_rewards[i].max() for i in range(3))
    # advantages equal the registry's GRPO (TRL convention: unbiased std + eps) on the refinement rewards
    ref = compute_advantages(
        "grpo", RolloutBatch(rewards=out.rewards, group_ids=out.group_ids), convention="trl", epsilon=1e-6
    )
    np.testing.assert_allclose(out.advantages.numpy(), ref.numpy(), atol=1e-12)
    R = out.rewards.reshape(3, 5)
    assert out.zero_variance.tolist() == np.all(R == R[:, :1], axis=1).tolist()
    assert out.prompts[0] == ("a", d.__class__ and out.prompts[0][1])


def test_igrpo_signal_recovery_and_best_of_n(rng):
    # claim 1: P(best draft correct) = 1 - (1 - p)^N ; claim 2: fewer zero-variance groups than a GRPO
    # group of the same size G when the refinement copies a correct draft with c = 1/2
    p, Nd, G = 0.1, 8, 8
    d, r, rew = _toy(p, copy=0.5)
    out = igrpo_rollout(list(range(1500)), draft_fn=d, refine_fn=r, reward_fn=rew, n_drafts=Nd, group_size=G, rng=rng)
    best = out.draft_rewards.max(1)
    assert best.mean() == pytest.approx(best_of_n_success(p, Nd), abs=4 * math.sqrt(0.25 / 1500))
    grpo_zero = p**G + (1 - p) ** G  # 0.43
    q = best_of_n_success(p, Nd)
    expect = q * 2 * 0.5**G + (1 - q) * grpo_zero  # 0.19
    assert out.zero_variance.mean() == pytest.approx(expect, abs=4 * math.sqrt(0.25 / 1500))
    assert out.zero_variance.mean() < grpo_zero
    # with c = 0.9 a correct draft is usually copied 8 times: zero variance again (docs/papers/igrpo.md pitfall)
    d9, r9, _ = _toy(p, copy=0.9)
    out9 = igrpo_rollout(list(range(600)), draft_fn=d9, refine_fn=r9, reward_fn=rew, n_drafts=Nd, group_size=G, rng=rng)
    assert out9.zero_variance.mean() > out.zero_variance.mean()


def test_igrpo_bad_input(rng):
    d, r, rew = _toy(0.5)
    with pytest.raises(ValueError, match="group_size must be >= 2"):
        igrpo_rollout(["a"], draft_fn=d, refine_fn=r, reward_fn=rew, n_drafts=2, group_size=1, rng=rng)
    with pytest.raises(ValueError, match="must return 3 responses"):
        igrpo_rollout(
            ["a"], draft_fn=lambda q, n, g: [1], refine_fn=r, reward_fn=rew, n_drafts=3, group_size=2, rng=rng
        )
    with pytest.raises(ValueError, match="non-finite"):
        igrpo_rollout(
            ["a"], draft_fn=d, refine_fn=r, reward_fn=lambda q, y: float("nan"), n_drafts=2, group_size=2, rng=rng
        )
    with pytest.raises(ValueError, match="prompts must not be empty"):
        igrpo_rollout([], draft_fn=d, refine_fn=r, reward_fn=rew, n_drafts=2, group_size=2, rng=rng)
    with pytest.raises(ValueError, match=r"p must lie in \[0, 1\]"):
        best_of_n_success(1.5, 3)


# ---------------------------------------------------------------------------------------- HAPO
def _hapo_adv_loop(r, g, mask, eps=1e-6, fallback=5.0):
    out = np.zeros(mask.shape)
    for gid in np.unique(g):
        rows = np.flatnonzero(g == gid)
        L = mask[rows].sum(1)
        mu = (L * r[rows]).sum() / L.sum()
        sd = math.sqrt((L * (r[rows] - mu) ** 2).sum() / L.sum())
        a = (r[rows] - mu) / (sd + eps)
        if np.any(np.abs(a) >= fallback):
            if rows.size == 1:
                a = r[rows] / (1 + eps)
            else:
                a = (r[rows] - r[rows].mean()) / (r[rows].std(ddof=1) + eps)
        out[rows] = a[:, None] * mask[rows]
    return out


def test_hapo_token_advantages_known_and_twin(rng):
    # group of lengths 1 and 3, rewards 1 and 0: mu = 1/4, sigma = sqrt(3)/4 -> A = (sqrt 3, -1/sqrt 3)
    mask = np.array([[1, 0, 0], [1, 1, 1]], dtype=float)
    A = hapo_token_advantages([1.0, 0.0], [0, 0], mask).numpy()
    np.testing.assert_allclose(A[:, 0], [0.75 / (math.sqrt(3) / 4 + 1e-6), -0.25 / (math.sqrt(3) / 4 + 1e-6)])
    for _ in range(5):
        g = rng.integers(0, 4, size=20)
        mask = (np.arange(9)[None, :] < rng.integers(1, 10, size=20)[:, None]).astype(float)
        r = rng.normal(size=20) if _ % 2 else (rng.random(20) < 0.1).astype(float)
        np.testing.assert_allclose(hapo_token_advantages(r, g, mask).numpy(), _hapo_adv_loop(r, g, mask), atol=1e-10)
        np.testing.assert_allclose(
            compute_advantages("hapo", RolloutBatch(rewards=r, group_ids=g, response_mask=mask)).numpy(),
            _hapo_adv_loop(r, g, mask),
            atol=1e-10,
        )


def test_hapo_fallback_triggers():
    # 1 success in 40 equal-length rows: |A| = sqrt(39) > 5 -> GRPO fallback (unbiased std)
    r = np.zeros(40)
    r[0] = 1
    A = hapo_token_advantages(r, np.zeros(40, dtype=int), np.ones((40, 2))).numpy()[:, 0]
    np.testing.assert_allclose(A, (r - r.mean()) / (r.std(ddof=1) + 1e-6))


@given(st.integers(0, 2**32 - 1), st.sampled_from([0.5, 0.8]))
def test_normalized_entropy_bounds(seed, pivot):
    g = np.random.default_rng(seed)
    H = g.exponential(size=(4, 7))
    mask = (g.random((4, 7)) < 0.8).astype(float)
    mask[0, 0] = 1
    h, stats = normalized_entropy(H, mask, pivot=pivot)
    hv = h.numpy()[mask > 0]
    assert hv.min() >= -1 - 1e-12 and hv.max() <= 1 + 1e-12  # claim 2
    if (hv > 0).any():
        assert hv.max() == pytest.approx(1.0)
    if (hv < 0).any():
        assert hv.min() == pytest.approx(-1.0)
    assert np.all(h.numpy()[mask == 0] == 0)
    # the sampler's statistics reproduce h_hat on the same tokens
    np.testing.assert_allclose(apply_entropy_stats(H, stats).numpy()[mask > 0], hv, atol=1e-12)


def test_hapo_clip_and_redistribution_factors():
    h = torch.tensor([[-1.0, -0.5, 0.0, 0.5, 1.0]])
    lo, hi = hapo_clip_bounds(h)
    np.testing.assert_allclose(lo.numpy(), [[0.4, 0.3, 0.2, 0.2, 0.2]])  # claim 3
    np.testing.assert_allclose(hi.numpy(), [[0.2, 0.2, 0.2, 0.3, 0.4]])
    A = torch.ones(1, 5)
    in_band = hapo_redistribute(A, h, torch.ones(1, 5))
    out_band = hapo_redistribute(A, h, torch.full((1, 5), 1.5))
    np.testing.assert_allclose(in_band.numpy(), [[0.0, 0.5, 1.0, 1.0, 1.0]])  # low-entropy damped in band
    np.testing.assert_allclose(out_band.numpy(), [[1.0, 1.0, 1.0, 1.5, 2.0]])  # high-entropy amplified outside
    np.testing.assert_allclose(hapo_temperature(h, 1.0, 0.05).numpy(), [[0.95, 0.975, 1.0, 1.025, 1.05]])


def test_hapo_loss_reduces_to_dual_clip_ppo(rng):
    lp = torch.tensor(rng.normal(size=(5, 6)) * 0.3)
    old = torch.zeros(5, 6, dtype=torch.float64)
    adv = torch.tensor(rng.normal(size=5))
    mask = torch.ones(5, 6)
    mask[1, 4:] = 0
    H = torch.tensor(rng.exponential(size=(5, 6)))
    plain = hapo_policy_loss(lp, old, adv, mask, entropies=H, redistribute=False, adaptive_clip=False)
    ref = policy_loss("ppo", lp, old, adv, mask, eps_low=0.2, eps_high=0.2, dual_clip=10.0, log_ratio_clamp=None)
    assert float(plain) == pytest.approx(float(ref.loss), abs=1e-12)
    full = policy_loss("hapo", lp, old, adv, mask, entropies=H)
    assert float(full.loss) == pytest.approx(float(hapo_policy_loss(lp, old, adv, mask, entropies=H)), abs=1e-12)
    # loop twin of one token's HAPO loss
    h, _ = normalized_entropy(H, mask)
    tl = hapo_token_losses(lp, old, adv, mask, h_hat=h)
    i, t = 2, 3
    rho = math.exp(float(lp[i, t]))
    hh = float(h[i, t])
    a = float(adv[i])
    band = 0.9 < rho < 1.1
    a2 = (a if band else a * (1 + hh)) if hh > 0 else (a * (1 + hh) if band else a)
    el = 0.2 * (1 - hh) if hh <= 0 else 0.2
    eh = 0.2 * (1 + hh) if hh > 0 else 0.2
    loss = max(-rho * a2, -min(max(rho, 1 - el), 1 + eh) * a2)
    if a2 < 0:
        loss = min(loss, -10 * a2)
    assert float(tl[i, t]) == pytest.approx(loss, abs=1e-12)


def test_hapo_bad_input():
    with pytest.raises(ValueError, match="no valid token"):
        normalized_entropy([[0.5]], [[0]])
    with pytest.raises(ValueError, match="entropies must be >= 0"):
        normalized_entropy([[-0.5]], [[1]])
    with pytest.raises(ValueError, match="rewards must be finite"):
        hapo_token_advantages([float("nan")], [0], [[1]])
    with pytest.raises(ValueError, match="needs h_hat or entropies"):
        hapo_token_losses([[0.0]], [[0.0]], [1.0], [[1]])
    with pytest.raises(ValueError, match="temperature must be > 0"):
        hapo_temperature([[0.0]], 0.0)


# ---------------------------------------------------------------------------------------- BPO
def test_bpo_sign_rule_known_values():
    # median atom split: pi0 = (0.25, 0.5, 0.25), median action in the middle gets exactly 1
    np.testing.assert_allclose(bpo_sign_rule([0.0, 1.0, 2.0], [0.25, 0.5, 0.25], 0.2), [0.8, 1.0, 1.2])
    # skewed: pi0 = (0.6, 0.4): median is action 0 (Q=0); rho_0 = 1 + 0.2 (0 - 0.4)/0.6
    np.testing.assert_allclose(bpo_sign_rule([0.0, 5.0], [0.6, 0.4], 0.2), [1 - 0.2 * 0.4 / 0.6, 1.2])
    assert weighted_median([3.0, 1.0, 2.0], [0.2, 0.2, 0.6]) == 2.0


def test_bpo_mean_sign_rule_infeasible():
    # claim 3: sign(Q - V) violates sum pi0 rho = 1 for skewed Q; the median rule does not
    q, p, e = np.array([0.0, 0.0, 0.0, 10.0]), np.full(4, 0.25), 0.2
    mean_rule = 1 + e * np.sign(q - p @ q)
    assert abs(p @ mean_rule - 1) > 0.05
    assert p @ bpo_sign_rule(q, p, e) == pytest.approx(1.0)


@given(st.integers(0, 2**32 - 1), st.integers(2, 8), st.booleans())
def test_bpo_target_ratio_matches_linprog(seed, A, ties):
    from scipy.optimize import linprog

    g = np.random.default_rng(seed)
    q = g.normal(size=A) * 2
    if ties:
        q = np.round(q)
    p = g.dirichlet(np.ones(A))
    e = float(g.uniform(0.05, 0.5))
    lp = linprog(-(p * q), A_eq=p[None], b_eq=[1.0], bounds=[(1 - e, 1 + e)] * A, method="highs")
    for rho in (bpo_sign_rule(q, p, e), bpo_target_ratio(q, p, e)):
        assert p @ rho == pytest.approx(1.0, abs=1e-12)
        assert p @ (rho * q) == pytest.approx(-lp.fun, abs=1e-8)
    np.testing.assert_allclose(bpo_sign_rule(q, p, e), bpo_target_ratio(q, p, e), atol=1e-12)
    # asymmetric bounds (c_low, c_high) against the LP too
    lo, hi = float(g.uniform(0, 1)), float(g.uniform(1, 3))
    lp2 = linprog(-(p * q), A_eq=p[None], b_eq=[1.0], bounds=[(lo, hi)] * A, method="highs")
    assert p @ (bpo_target_ratio(q, p, c_low=lo, c_high=hi) * q) == pytest.approx(-lp2.fun, abs=1e-8)


def test_bpo_cem_elite_update():
    # claim 5: c_low = 0, c_high = 1/q keeps the top-q mass reweighted by 1/q
    q, p = np.array([4.0, 3.0, 2.0, 1.0]), np.full(4, 0.25)
    np.testing.assert_allclose(bpo_target_ratio(q, p, c_low=0.0, c_high=2.0), [2.0, 2.0, 0.0, 0.0])


def test_bpo_batched_rows(rng):
    q = rng.normal(size=(3, 4, 5))
    p = rng.dirichlet(np.ones(5), size=(3, 4))
    rho = bpo_target_ratio(q, p, 0.3)
    for i in range(3):
        for j in range(4):
            np.testing.assert_allclose(rho[i, j], bpo_sign_rule(q[i, j], p[i, j], 0.3), atol=1e-12)


def test_gbpo_advantages_known_values():
    # binary groups: majority side gets 0, exactly half successes -> median 1/2
    a = gbpo_advantages([1.0, 0, 0, 1, 1, 0, 0, 1, 1, 0], [0, 0, 0, 1, 1, 1, 1, 1, 2, 2]).numpy()
    np.testing.assert_allclose(a, [1, 0, 0, 0, 0, -1, -1, 0, 0.5, -0.5])
    np.testing.assert_allclose(
        gbpo_advantages([1.0, 3.0, 8.0], [0, 0, 0], scale="mad").numpy(), np.array([-2.0, 0.0, 5.0]) / (7 / 3 + 1e-6)
    )
    b = RolloutBatch(rewards=[1.0, 0, 0, 1], group_ids=[0, 0, 0, 0])
    np.testing.assert_allclose(compute_advantages("gbpo", b).numpy(), [0.5, -0.5, -0.5, 0.5])
    np.testing.assert_allclose(bpo_target_from_advantages(torch.tensor([2.0, 0.0, -1.0])).numpy(), [1.2, 1.0, 0.8])


def test_bpo_loss_values_and_hinge_vs_ppo(rng):
    lp = torch.tensor([[math.log(1.5), math.log(0.9)]], dtype=torch.float64)
    old = torch.zeros(1, 2, dtype=torch.float64)
    m = torch.ones(1, 2)
    sq = bpo_token_losses(lp, old, torch.tensor([[2.0, -1.0]]), m, eps=0.2)
    np.testing.assert_allclose(sq.numpy(), [[2 * 0.3**2, 1 * 0.1**2]])
    hinge = bpo_token_losses(lp, old, torch.tensor([[2.0, -1.0]]), m, eps=0.2, divergence="hinge")
    np.testing.assert_allclose(hinge.numpy(), [[0.0, 0.1]], atol=1e-15)  # A<0: push rho=0.9 down to 0.8
    past = bpo_token_losses(torch.tensor([[math.log(0.7)]]), [[0.0]], [-1.0], [[1]], divergence="hinge")
    assert float(past) == 0.0  # flat beyond the target
    # for A > 0 the hinge equals PPO-clip's -A min(rho, 1 + eps) up to the constant -A (1 + eps)
    rho = torch.linspace(0.5, 1.6, 23, dtype=torch.float64)[None, :]
    A = 1.7
    h = bpo_token_losses(
        rho.log(),
        torch.zeros_like(rho),
        torch.full((1,), A, dtype=torch.float64),
        torch.ones_like(rho),
        divergence="hinge",
    )
    ppo = -A * torch.minimum(rho, torch.tensor(1.2, dtype=torch.float64))
    np.testing.assert_allclose((h - ppo).numpy(), np.full((1, 23), A * 1.2), atol=1e-12)
    lpx = torch.tensor(rng.normal(size=(3, 4)) * 0.2, requires_grad=True)
    adv = torch.tensor([1.0, 0.0, -2.0])
    res = policy_loss("bpo", lpx, torch.zeros(3, 4, dtype=torch.float64), adv, torch.ones(3, 4))
    assert float(res.loss.detach()) == pytest.approx(
        float(bpo_loss(lpx, torch.zeros(3, 4), adv, torch.ones(3, 4)).detach())
    )
    res.loss.backward()
    assert float(lpx.grad[1].abs().sum()) == 0.0  # A = 0 rows give no update


def test_bpo_bad_input():
    with pytest.raises(ValueError, match="same shape"):
        bpo_sign_rule([0.0, 1.0], [1.0])
    with pytest.raises(ValueError, match="sum to 1"):
        bpo_sign_rule([0.0, 1.0], [0.5, 0.6])
    with pytest.raises(ValueError, match="negative entry"):
        bpo_target_ratio([0.0, 1.0], [1.5, -0.5])
    with pytest.raises(ValueError, match=r"eps must lie in \[0, 1\]"):
        bpo_sign_rule([0.0, 1.0], [0.5, 0.5], 2.0)
    with pytest.raises(ValueError, match="c_low <= 1 <= c_high"):
        bpo_target_ratio([0.0, 1.0], [0.5, 0.5], c_low=1.2, c_high=2.0)
    with pytest.raises(ValueError, match="q must be finite"):
        bpo_target_ratio([0.0, np.nan], [0.5, 0.5])
    with pytest.raises(ValueError, match="scale must be one of"):
        gbpo_advantages([1.0], [0], scale="iqr")
    with pytest.raises(TypeError, match="group_ids must be integers"):
        gbpo_advantages([1.0], [0.5])
    with pytest.raises(ValueError, match="divergence must be one of"):
        bpo_token_losses([[0.0]], [[0.0]], [1.0], [[1]], divergence="kl")
    with pytest.raises(ValueError, match="response_mask must hold only 0/1"):
        bpo_token_losses([[0.0]], [[0.0]], [1.0], [[2]])
    with pytest.raises(ValueError, match="no valid token"):
        bpo_loss([[0.0]], [[0.0]], [1.0], [[0]])


# ---------------------------------------------------------------------------------------- review fixes (HAPO, D3S)
def test_nearest_quantile_matches_torch_quantile():
    # review fix: torch.quantile refuses > 2^24 elements; nearest_quantile must agree with it below
    from mdp.llm.hapo import nearest_quantile

    g = torch.Generator().manual_seed(0)
    for n in list(range(1, 40)) + [100, 101, 1000, 4097]:
        for dtype in (torch.float32, torch.float64):
            v = torch.randn(n, generator=g, dtype=dtype)
            if n % 3 == 0:
                v = torch.round(v)  # ties
            for q in (0.0, 0.05, 0.1, 0.25, 1 / 3, 0.5, 0.75, 0.8, 0.9, 1.0):
                assert torch.equal(nearest_quantile(v, q), torch.quantile(v, q, interpolation="nearest")), (n, q)


def test_nearest_quantile_float64_rank_path(monkeypatch):
    # the beyond-2^24 code path (rank in float64), exercised on small inputs with a lowered threshold
    from mdp.llm import hapo

    monkeypatch.setattr(hapo, "_TORCH_QUANTILE_MAX", 4)
    g = torch.Generator().manual_seed(1)
    for n in (5, 6, 17, 200):
        v = torch.randn(n, generator=g)
        for q in (0.0, 0.3, 0.5, 0.8, 1.0):
            assert torch.equal(hapo.nearest_quantile(v, q), torch.quantile(v, q, interpolation="nearest"))


def test_normalized_entropy_above_torch_quantile_limit():
    n = 2**24 + 7  # torch.quantile raises here
    v = torch.arange(n) % 1000
    H = (1.0 + v[torch.randperm(n, generator=torch.Generator().manual_seed(0))].to(torch.float32)).unsqueeze(0)
    mask = torch.ones_like(H, dtype=torch.bool)
    _, stats = normalized_entropy(H, mask, pivot=0.8)
    # sorted multiset: value j (0..999) appears n // 1000 + (j < n % 1000) times
    k = round(0.8 * (n - 1))
    counts = np.full(1000, n // 1000) + (np.arange(1000) < n % 1000)
    j = int(np.searchsorted(np.cumsum(counts), k, side="right"))
    assert stats.pivot == pytest.approx(float(torch.log(torch.tensor(1.0 + j))), abs=1e-6)


def test_hapo_float32_zero_variance_groups_are_exactly_zero():
    # review fix: float32 rounding made sigma_g ~1e-8 (vs eps 1e-6) for constant groups
    v = 0.9127555772777217  # 7 equal float32 rewards: the literal formula gives |A| ~ 0.056
    r = torch.tensor([v] * 7 + [0.1] * 3 + [0.3, 0.9, 0.9], dtype=torch.float32)
    g = [0] * 7 + [1] * 3 + [2] * 3
    mask = torch.ones(13, 3)
    mask[7:10, 1:] = torch.tensor([[1, 1], [0, 0], [1, 0]])
    b = RolloutBatch(rewards=r, group_ids=g, response_mask=mask)
    a = compute_advantages("hapo", b)
    assert torch.all(a[:10] == 0) and torch.any(a[10:] != 0)
    lit = hapo_token_advantages(r, g, mask, zero_variance="formula")
    assert float(lit[:7].abs().max()) > 1e-2  # the literal formula's rounding residue
    with pytest.raises(ValueError, match="zero_variance must be"):
        hapo_token_advantages(r, g, mask, zero_variance="drop")


def test_hapo_all_zero_mask_rows_follow_the_batch_convention():
    # review fix: hapo rejected empty rows that RolloutBatch allows; they get zero token advantages and
    # weight 0 in the token-level mu_g, sigma_g
    mask = np.array([[1, 1], [1, 0], [0, 0], [1, 1], [0, 0], [0, 0]])
    b = RolloutBatch(rewards=[1.0, 0.0, 5.0, 0.5, 1.0, 0.0], group_ids=[0, 0, 0, 1, 2, 2], response_mask=mask)
    a = compute_advantages("hapo", b).numpy()
    assert np.all(a[[2, 4, 5]] == 0)
    ref = compute_advantages("hapo", RolloutBatch(rewards=[1.0, 0.0], group_ids=[0, 0], response_mask=mask[:2]))
    np.testing.assert_allclose(a[:2], ref.numpy(), atol=1e-12)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_d3s_masks_on_the_input_device():
    # review fix: d3s_sample_mask / d3s_token_mask built CPU tensors whatever the input device
    a = torch.tensor([1.0, -1.0, 0.5, 0.0, 2.0, -0.3], device="cuda")
    m = d3s_sample_mask(a, torch.tensor([0, 0, 0, 1, 1, 1], device="cuda"), 2)
    assert m.device.type == "cuda"
    np.testing.assert_array_equal(m.cpu().numpy(), d3s_sample_mask(a.cpu(), [0, 0, 0, 1, 1, 1], 2).numpy())
    H = torch.rand(6, 3, device="cuda")
    t = d3s_token_mask(a, H, torch.ones(6, 3, device="cuda"), 0.5, sample_mask=m)
    assert t.device.type == "cuda"


def test_d3s_masks_follow_the_input_device_cpu():
    a = torch.tensor([1.0, -1.0, 0.5, 0.0])
    assert d3s_sample_mask(a, np.array([0, 0, 1, 1]), 1).device == a.device
    assert d3s_token_mask(a, torch.rand(4, 2), np.ones((4, 2)), 0.5).device == a.device
