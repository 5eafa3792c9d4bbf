"""mdp.llm.losses: PPO-clip (clip-higher, dual clip), GSPO, aggregation modes, KL estimators.

Known values are hand-computed (arithmetic in comments); framework parity is in test_llm_parity.py.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

torch = pytest.importorskip("torch")

from mdp.llm import AGG_MODES, agg_loss, kl_estimate, policy_loss  # noqa: E402
from mdp.llm import losses as Lm  # noqa: E402


def _t(x):
    return torch.tensor(x, dtype=torch.float64)


# ------------------------------------------------------------------------------------------------
# aggregation known values

LOSS = _t([[1.0, 2.0, 3.0], [4.0, 0.0, 0.0], [9.0, 9.0, 9.0]])
MASK = _t([[1, 1, 1], [1, 0, 0], [0, 0, 0]])  # row 2 empty


@pytest.mark.parametrize(
    "mode, expected",
    [
        ("token-mean", (1 + 2 + 3 + 4) / 4),  # 10 / 4 tokens
        ("seq-mean-token-mean", (2.0 + 4.0) / 2),  # row means 2 and 4; empty row excluded
        ("seq-mean-token-sum", (6.0 + 4.0) / 2),  # row sums 6 and 4
        ("seq-mean-token-sum-norm", 10.0 / (3 * 3)),  # sum / (B * C), B = 3 rows, C = 3 tokens
        ("token-sum-norm", 10.0 / 3),  # sum / C
        ("trl:grpo", (2.0 + 4.0 + 0.0) / 3),  # TRL counts the empty row
        ("trl:bnpo", 2.5),
        ("trl:dapo", 2.5),
        ("trl:dr_grpo", 10.0 / 9),
        ("verl:seq-mean-token-sum-norm", 10.0 / 3),
    ],
)
def test_aggregation_known_values(mode, expected):
    assert abs(float(agg_loss(LOSS, MASK, mode)) - expected) < 1e-12


def test_constant_normaliser_and_length_weights():
    # C = 8 (a generation budget): sum / (B * C) = 10 / 24
    assert abs(float(agg_loss(LOSS, MASK, "seq-mean-token-sum-norm", loss_scale_factor=8)) - 10 / 24) < 1e-12
    # token-mean weights each token equally: d loss / d l_it = 1 / N for every unmasked token;
    # seq-mean-token-mean gives 1 / (B' * |y_i|) (Lite-PPO claim 3: length-dependent token weights)
    lm = LOSS.clone().requires_grad_(True)
    agg_loss(lm, MASK, "token-mean").backward()
    assert torch.allclose(lm.grad, MASK / 4)
    lm.grad = None
    agg_loss(lm, MASK, "seq-mean-token-mean").backward()
    assert torch.allclose(lm.grad, _t([[1 / 6] * 3, [1 / 2, 0, 0], [0, 0, 0]]))


def test_padding_nan_does_not_leak():
    lm = LOSS.clone()
    lm[2] = float("nan")
    for mode in AGG_MODES:
        assert math.isfinite(float(agg_loss(lm, MASK, mode)))


# ------------------------------------------------------------------------------------------------
# PPO known values


def test_ppo_clip_known_values():
    # one token per row; ratios e^{log}: 1.5, 0.5, 1.1 ; advantages +1, -1, +1
    logp = _t([[math.log(1.5)], [math.log(0.5)], [math.log(1.1)]])
    old = torch.zeros(3, 1, dtype=torch.float64)
    adv = _t([1.0, -1.0, 1.0])
    # eps 0.2: row0 max(-1.5, -1.2) = -1.2; row1 max(0.5, 0.8) = 0.8; row2 max(-1.1, -1.1) = -1.1
    r = policy_loss("ppo", logp, old, adv, agg="token-mean", eps_low=0.2)
    assert abs(r.loss.item() - (-1.2 + 0.8 - 1.1) / 3) < 1e-12
    assert abs(r.clip_fraction - 2 / 3) < 1e-12
    # clip-higher eps_high 0.28: row0 -> max(-1.5, -1.28) = -1.28
    r = policy_loss("ppo", logp, old, adv, eps_low=0.2, eps_high=0.28)
    assert abs(r.loss.item() - (-1.28 + 0.8 - 1.1) / 3) < 1e-12


def test_dual_clip_known_value():
    # ratio 5, A = -1: standard clip loss max(5, 1.2) = 5; dual clip c = 3 caps it at -A * c = 3
    logp = _t([[math.log(5.0)]])
    old = torch.zeros(1, 1, dtype=torch.float64)
    assert abs(float(policy_loss("ppo", logp, old, _t([-1.0])).loss) - 5.0) < 1e-12
    r = policy_loss("ppo", logp, old, _t([-1.0]), dual_clip=3.0)
    assert abs(r.loss.item() - 3.0) < 1e-12 and r.dual_clip_fraction == 1.0
    # positive advantages are never dual-clipped
    assert abs(float(policy_loss("ppo", logp, old, _t([1.0]), dual_clip=3.0).loss) + 1.2) < 1e-12


def test_per_token_bounds_tensor():
    # HAPO-style per-token bounds: eps_high 0.5 on token 0, 0.1 on token 1; ratio 1.4 on both, A = 1
    logp = torch.full((1, 2), math.log(1.4), dtype=torch.float64)
    old = torch.zeros(1, 2, dtype=torch.float64)
    r = policy_loss("ppo", logp, old, _t([1.0]), eps_high=_t([[0.5, 0.1]]), agg="token-mean")
    assert abs(r.loss.item() - (-1.4 - 1.1) / 2) < 1e-12


def test_gspo_sequence_ratio_is_length_normalised():
    # row log-ratios [0.2, 0.4] -> mean 0.3 -> s = e^0.3 on both tokens
    logp = _t([[0.2, 0.4, 5.0]]).requires_grad_(True)
    old = torch.zeros(1, 3, dtype=torch.float64)
    mask = _t([[1, 1, 0]])
    r = policy_loss("gspo", logp, old, _t([1.0]), mask, eps_low=1.0, eps_high=1.0)
    assert torch.allclose(r.ratio[0, :2], torch.exp(_t(0.3)))
    assert abs(float(r.loss.detach()) + math.exp(0.3)) < 1e-12
    r.loss.backward()
    # gradient of -s * A averaged over the row's 2 tokens: -s / 2 per token (stop-gradient form)
    assert torch.allclose(logp.grad, _t([[-math.exp(0.3) / 2] * 2 + [0.0]]))


@settings(max_examples=25)
@given(seed=st.integers(0, 2**31 - 1), mode=st.sampled_from(AGG_MODES))
def test_on_policy_loss_is_minus_aggregated_advantage(seed, mode):
    rng = np.random.default_rng(seed)
    B, T = int(rng.integers(1, 6)), int(rng.integers(1, 6))
    logp = _t(-rng.random((B, T))).requires_grad_(True)
    mask = _t((rng.random((B, T)) < 0.7).astype(float))
    mask[0, 0] = 1.0
    adv = _t(rng.normal(size=(B, T)))
    r = policy_loss("ppo", logp, logp.detach(), adv, mask, agg=mode, dual_clip=3.0)
    assert abs(r.loss.item() - float(agg_loss(-adv, mask, mode))) < 1e-12
    r.loss.backward()
    # at ratio 1 the PPO gradient is the vanilla policy gradient: -A times the aggregation weight
    lm = torch.zeros(B, T, dtype=torch.float64, requires_grad=True)
    agg_loss(lm, mask, mode).backward()
    assert torch.allclose(logp.grad, -adv * lm.grad)


def test_kl_term_added():
    logp = _t([[-1.0, -2.0]])
    ref = _t([[-1.5, -1.0]])
    base = policy_loss("ppo", logp, logp, _t([0.0]))
    r = policy_loss("ppo", logp, logp, _t([0.0]), ref_logp=ref, kl_coef=0.1)
    k3 = kl_estimate(logp, ref, "k3")
    assert abs(r.loss.item() - base.loss.item() - 0.1 * float(k3.mean())) < 1e-12
    assert abs(r.kl - float(k3.mean())) < 1e-12


def test_register_custom_policy_loss():
    def vanilla_pg(logp, old, adv, mask):
        return -adv * logp, torch.exp(logp - old), {}

    try:
        Lm.register_policy_loss("_test_pg", vanilla_pg)
        with pytest.raises(ValueError, match="already registered"):
            Lm.register_policy_loss("_test_pg", vanilla_pg)
        r = policy_loss("_test_pg", _t([[-1.0, -2.0]]), _t([[-1.0, -2.0]]), _t([2.0]))
        assert abs(r.loss.item() - 3.0) < 1e-12  # -2 * (-1 - 2) / 2
        assert "_test_pg" in Lm.list_policy_losses()
    finally:
        Lm._LOSSES.pop("_test_pg", None)


# ------------------------------------------------------------------------------------------------
# KL estimators


def test_kl_known_values():
    # logp - ref = 0.5: k1 = 0.5, k2 = 0.125, k3 = e^{-0.5} + 0.5 - 1
    logp, ref = _t([0.0]), _t([-0.5])
    assert float(kl_estimate(logp, ref, "k1")) == 0.5 == float(kl_estimate(logp, ref, "kl"))
    assert float(kl_estimate(logp, ref, "k2")) == 0.125 == float(kl_estimate(logp, ref, "mse"))
    assert abs(float(kl_estimate(logp, ref, "k3")) - (math.exp(-0.5) - 0.5)) < 1e-15
    assert float(kl_estimate(ref, logp, "abs")) == 0.5
    # verl's low_var_kl clamps the value at 10; k3 does not
    big_logp, big_ref = _t([0.0]), _t([5.0])
    assert float(kl_estimate(big_logp, big_ref, "low_var_kl")) == 10.0
    assert float(kl_estimate(big_logp, big_ref, "k3")) == pytest.approx(math.exp(5) - 6)


def test_kl_estimators_unbiased_on_categorical():
    # E_{x~p}[k1] = E_{x~p}[k3] = KL(p||q) exactly (Schulman 2020), k3 >= 0 pointwise
    p = _t([0.5, 0.3, 0.2])
    q = _t([0.2, 0.5, 0.3])
    kl = float((p * (p / q).log()).sum())
    for kind in ("k1", "k3"):
        assert abs(float((p * kl_estimate(p.log(), q.log(), kind)).sum()) - kl) < 1e-12
    assert bool((kl_estimate(p.log(), q.log(), "k3") >= 0).all())


def test_straight_through_kl_has_k2_gradient():
    logp = _t([-1.0, -0.3]).requires_grad_(True)
    ref = _t([-0.2, -0.9])
    v = kl_estimate(logp, ref, "k3+")
    assert torch.allclose(v, kl_estimate(logp, ref, "k3"))
    v.sum().backward()
    assert torch.allclose(logp.grad, (logp - ref).detach())  # d/dlogp 0.5 (logp - ref)^2


# ------------------------------------------------------------------------------------------------
# bad input


@pytest.mark.parametrize(
    "kwargs, exc, match",
    [
        ({"kind": "trpo"}, ValueError, "unknown policy loss kind 'trpo'"),
        ({"agg": "mean"}, ValueError, "agg must be one of"),
        ({"kind": "PPO"}, ValueError, r"unknown policy loss kind 'PPO' \(did you mean 'ppo'\?\)"),
        ({"agg": "token_mean"}, ValueError, r"got 'token_mean' \(did you mean 'token-mean'"),
        ({"old_logp": torch.zeros(2, 2)}, ValueError, "old_logp must have the shape of logp"),
        ({"advantages": torch.zeros(3)}, ValueError, "advantages must be"),
        ({"mask": torch.zeros(2, 3)}, ValueError, "mask is all zeros"),
        ({"mask": torch.full((2, 3), 2.0)}, ValueError, "only 0 and 1"),
        ({"advantages": torch.tensor([1.0, float("nan")])}, ValueError, "advantages must be finite"),
        ({"dual_clip": 0.5}, ValueError, "dual_clip must be finite and > 1"),
        ({"eps_low": -0.1}, ValueError, "eps_low must be"),
        ({"kl_coef": 0.1}, ValueError, "needs ref_logp"),
        ({"loss_scale_factor": 0, "agg": "seq-mean-token-sum-norm"}, ValueError, "loss_scale_factor"),
    ],
)
def test_policy_loss_bad_input(kwargs, exc, match):
    args = {
        "kind": "ppo",
        "logp": torch.zeros(2, 3),
        "old_logp": torch.zeros(2, 3),
        "advantages": torch.ones(2),
        "mask": torch.ones(2, 3),
    }
    args.update(kwargs)
    kind, logp, old, adv, mask = (args.pop(k) for k in ("kind", "logp", "old_logp", "advantages", "mask"))
    with pytest.raises(exc, match=match):
        policy_loss(kind, logp, old, adv, mask, **args)


def test_kl_bad_input():
    with pytest.raises(ValueError, match="kind must be one of"):
        kl_estimate(torch.zeros(2), torch.zeros(2), "k4")
    with pytest.raises(ValueError, match="ref_logp must have the shape of logp"):
        kl_estimate(torch.zeros(2), torch.zeros(3), "k1")


def test_trl_two_sided_delta_caps_the_unclipped_branch():
    # A = -1, ratio 5: PPO-clip loss max(5, 1.2) = 5; TRL delta = 4 caps the ratio branch: max(4, 1.2) = 4
    logp = _t([[math.log(5.0)]])
    old = torch.zeros(1, 1, dtype=torch.float64)
    assert abs(policy_loss("ppo", logp, old, _t([-1.0]), delta=4.0).loss.item() - 4.0) < 1e-12
    with pytest.raises(ValueError, match="alternative bounds"):
        policy_loss("ppo", logp, old, _t([-1.0]), delta=4.0, dual_clip=3.0)


# ---------------------------------------------------------------------------------------- padding rule
# review fix: GSPO's ((logp - old_logp) * mask).sum(-1) turned NaN/-inf padding into a NaN loss
# (nan * 0 = nan); bpo/hapo rejected non-finite padding while ppo accepted it. The rule now: values
# where mask == 0 are ignored everywhere (value, metrics and a zero gradient).
_OLD = torch.log(torch.tensor([[0.3, 0.5, 0.2, 0.1], [0.4, 0.4, 0.2, 0.3], [0.6, 0.1, 0.3, 0.2]], dtype=torch.float64))
_MASK = torch.tensor([[1, 1, 0, 0], [1, 0, 0, 0], [1, 1, 1, 0]])
_PAD_CASES = [
    ("ppo", {}),
    ("ppo", {"dual_clip": 3.0}),
    ("gspo", {}),
    ("bpo", {}),
    ("bpo", {"divergence": "hinge"}),
    ("hapo", {"entropies": True}),
]


def _loss_and_grad(kind, kw, pad, agg):
    shift = torch.tensor([[0.1, -0.2, 0.0, 0.0], [0.3, 0.0, 0.0, 0.0], [-0.1, 0.05, 0.2, 0.0]], dtype=torch.float64)
    lp = (_OLD + shift).clone()
    old, adv, ref = _OLD.clone(), torch.tensor([[1.0] * 4, [-1.0] * 4, [0.5] * 4], dtype=torch.float64), _OLD - 0.1
    kw = dict(kw)
    if kw.get("entropies"):
        kw["entropies"] = torch.tensor(
            [[0.5, 1.5, 0.0, 0.0], [0.2, 0.0, 0.0, 0.0], [0.9, 0.1, 2.0, 0.0]], dtype=torch.float64
        )
    pad_mask = _MASK == 0
    for t in [lp, old, adv, ref] + ([kw["entropies"]] if "entropies" in kw else []):
        t[pad_mask] = pad
    lp.requires_grad_(True)
    r = policy_loss(kind, lp, old, adv, _MASK, agg=agg, ref_logp=ref, kl_coef=0.1, **kw)
    r.loss.backward()
    return r, lp.grad


@pytest.mark.parametrize("kind,kw", _PAD_CASES, ids=[f"{k}-{'-'.join(v)}" for k, v in _PAD_CASES])
@pytest.mark.parametrize("pad", [float("nan"), -float("inf"), float("inf")])
@pytest.mark.parametrize("agg", ["token-mean", "seq-mean-token-mean", "seq-mean-token-sum-norm"])
def test_non_finite_padding_is_ignored_by_every_loss(kind, kw, pad, agg):
    clean, g_clean = _loss_and_grad(kind, kw, -1.0, agg)
    r, g = _loss_and_grad(kind, kw, pad, agg)
    assert math.isfinite(r.loss.item())
    assert r.loss.item() == pytest.approx(clean.loss.item(), abs=1e-12)
    torch.testing.assert_close(g, g_clean, atol=1e-12, rtol=0)
    assert bool(torch.all(g[_MASK == 0] == 0))
    for f in ("approx_kl", "kl", "clip_fraction"):
        assert getattr(r, f) == pytest.approx(getattr(clean, f), abs=1e-12)


def test_non_finite_padding_functional_forms():
    from mdp.llm.bpo import bpo_loss
    from mdp.llm.hapo import hapo_policy_loss, normalized_entropy

    H = torch.tensor([[0.5, 1.5, 0.0, 0.0], [0.2, 0.0, 0.0, 0.0], [0.9, 0.1, 2.0, 0.0]], dtype=torch.float64)
    adv = torch.tensor([1.0, -1.0, 0.5], dtype=torch.float64)
    lp = _OLD + 0.05
    nan_lp, nan_H = lp.clone(), H.clone()
    nan_lp[_MASK == 0] = float("nan")
    nan_H[_MASK == 0] = float("nan")
    assert float(bpo_loss(nan_lp, _OLD, adv, _MASK)) == pytest.approx(float(bpo_loss(lp, _OLD, adv, _MASK)), abs=1e-14)
    assert float(hapo_policy_loss(nan_lp, _OLD, adv, _MASK, entropies=nan_H)) == pytest.approx(
        float(hapo_policy_loss(lp, _OLD, adv, _MASK, entropies=H)), abs=1e-14
    )
    h1, s1 = normalized_entropy(nan_H, _MASK)
    h2, s2 = normalized_entropy(H, _MASK)
    torch.testing.assert_close(h1, h2)
    assert s1 == s2


@pytest.mark.parametrize("kind,kw", _PAD_CASES[:1] + _PAD_CASES[2:4] + _PAD_CASES[5:])
def test_non_finite_valid_token_still_rejected(kind, kw):
    lp = _OLD.clone()
    lp[0, 1] = float("nan")
    kw = {"entropies": torch.ones_like(lp)} if kw.get("entropies") else dict(kw)
    with pytest.raises(ValueError, match=r"logp must be finite.*\[0, 1\]"):
        policy_loss(kind, lp, _OLD, torch.ones(3, dtype=torch.float64), _MASK, **kw)
    if kind == "hapo":
        H = torch.ones_like(lp)
        H[2, 2] = float("inf")
        with pytest.raises(ValueError, match=r"entropies must be finite.*\[2, 2\]"):
            policy_loss(kind, _OLD, _OLD, torch.ones(3, dtype=torch.float64), _MASK, entropies=H)
