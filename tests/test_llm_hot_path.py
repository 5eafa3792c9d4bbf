"""The fused hot paths of mdp.llm against the exact formulations they replace.

``policy_loss("ppo")`` with scalar bounds runs the fused ``_PPOClipFn`` (one saved tensor, one host
synchronisation); with tensor bounds it runs the exact elementwise path (``_ppo``), so passing the
same bounds as 0-d tensors gives the reference. ``RolloutBatch`` validates with one synchronisation
and ``validate=False`` skips the value checks. Timings are in benchmarks/bench_llm_hot_path.py.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

torch = pytest.importorskip("torch")

from mdp.llm import RolloutBatch, compute_advantages, policy_loss  # noqa: E402
from mdp.llm import losses as Lm  # noqa: E402


def _case(seed, rows, tokens, token_adv, far, zero_rows, dtype=torch.float64):
    rng = np.random.default_rng(seed)
    old = torch.tensor(np.log(rng.uniform(0.05, 1.0, (rows, tokens))), dtype=dtype)
    scale = 30.0 if far else 0.4  # far: log ratios beyond verl's clamp at 20
    lp = old + torch.tensor(rng.normal(0, scale, (rows, tokens)), dtype=dtype)
    mask = torch.tensor((rng.random((rows, tokens)) < 0.7).astype(float), dtype=dtype)
    mask[0, 0] = 1.0
    adv = rng.normal(size=(rows, tokens) if token_adv else rows)
    if zero_rows:
        adv[: max(1, rows // 3)] = 0.0  # zero-variance groups: A = 0
    return lp, old, torch.tensor(adv, dtype=dtype), mask


def _run(lp, old, adv, mask, tensor_bounds, **kw):
    x = lp.clone().requires_grad_(True)
    eps_low, eps_high = kw.pop("eps_low", 0.2), kw.pop("eps_high", 0.28)
    if tensor_bounds:
        eps_low, eps_high = torch.tensor(eps_low, dtype=lp.dtype), torch.tensor(eps_high, dtype=lp.dtype)
    r = policy_loss("ppo", x, old, adv, mask, eps_low=eps_low, eps_high=eps_high, **kw)
    r.loss.backward()
    return r, x.grad


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**31 - 1),
    rows=st.integers(1, 6),
    tokens=st.integers(1, 7),
    token_adv=st.booleans(),
    far=st.booleans(),
    zero_rows=st.booleans(),
    dual=st.sampled_from([None, 3.0]),
    lim=st.sampled_from([20.0, None, 1.0]),
    agg=st.sampled_from(["token-mean", "seq-mean-token-mean", "seq-mean-token-sum-norm"]),
)
def test_fused_ppo_equals_exact_path(seed, rows, tokens, token_adv, far, zero_rows, dual, lim, agg):
    lp, old, adv, mask = _case(seed, rows, tokens, token_adv, far, zero_rows)
    kw = {"dual_clip": dual, "log_ratio_clamp": lim, "agg": agg}
    fast, g_fast = _run(lp, old, adv, mask, False, **dict(kw))
    exact, g_exact = _run(lp, old, adv, mask, True, **dict(kw))
    assert "PPOClip" in type(fast.per_token_loss.grad_fn).__name__  # the fused path ran
    assert "PPOClip" not in type(exact.per_token_loss.grad_fn).__name__
    assert abs(fast.loss.item() - exact.loss.item()) <= 1e-12 * (1 + abs(exact.loss.item()))
    torch.testing.assert_close(g_fast, g_exact, atol=1e-12, rtol=1e-12)
    torch.testing.assert_close(fast.per_token_loss.detach(), exact.per_token_loss.detach(), atol=1e-12, rtol=1e-12)
    torch.testing.assert_close(fast.ratio, exact.ratio, atol=0, rtol=1e-12)
    for f in ("clip_fraction", "dual_clip_fraction", "approx_kl"):
        assert getattr(fast, f) == pytest.approx(getattr(exact, f), abs=1e-12)


def test_fused_ppo_zero_gradient_where_the_log_ratio_is_clamped():
    # A < 0 without a dual clip and a log ratio of 25 > 20: value |A| e^20, gradient 0 (verl's clamp)
    lp = torch.tensor([[25.0, 0.1]], dtype=torch.float64, requires_grad=True)
    r = policy_loss("ppo", lp, torch.zeros(1, 2, dtype=torch.float64), torch.tensor([-1.0], dtype=torch.float64))
    r.loss.backward()
    assert r.loss.item() == pytest.approx((math.exp(20.0) + math.exp(0.1)) / 2, rel=1e-12)
    assert lp.grad[0, 0].item() == 0.0 and lp.grad[0, 1].item() == pytest.approx(math.exp(0.1) / 2, rel=1e-12)


@pytest.mark.parametrize("mask_kind", ["bool", "float32", "int64", "none"])
def test_fused_ppo_mask_dtypes_and_float32(mask_kind):
    lp, old, adv, mask = _case(1, 4, 5, False, False, True, dtype=torch.float32)
    m = {"bool": mask.bool(), "float32": mask, "int64": mask.long(), "none": None}[mask_kind]
    fast, g_fast = _run(lp, old, adv, m, False)
    exact, g_exact = _run(lp, old, adv, m, True)
    assert fast.loss.dtype == torch.float32
    torch.testing.assert_close(g_fast, g_exact)
    assert fast.loss.item() == pytest.approx(exact.loss.item(), rel=1e-6)


def test_fused_ppo_with_kl_entropy_weights_matches_exact():
    lp, old, adv, mask = _case(2, 5, 6, True, False, False)
    rng = np.random.default_rng(0)
    extra = {
        "ref_logp": old + 0.1,
        "kl_coef": 0.05,
        "policy_entropy": torch.tensor(rng.uniform(0, 2, (5, 6))),
        "entropy_coef": 0.01,
        "rollout_is_weights": torch.tensor(rng.uniform(0.5, 2.0, (5, 6))),
        "batch_num_tokens": 40,
        "dp_size": 2,
    }
    fast, g_fast = _run(lp, old, adv, mask, False, **dict(extra))
    exact, g_exact = _run(lp, old, adv, mask, True, **dict(extra))
    assert fast.loss.item() == pytest.approx(exact.loss.item(), rel=1e-12)
    torch.testing.assert_close(g_fast, g_exact, atol=1e-12, rtol=1e-12)
    assert fast.kl == pytest.approx(exact.kl, rel=1e-12) and fast.entropy == pytest.approx(exact.entropy, rel=1e-12)


def test_validate_false_skips_the_mask_check_only():
    lp, old, adv, _ = _case(3, 2, 3, False, False, False)
    bad = torch.full((2, 3), 0.5, dtype=torch.float64)
    with pytest.raises(ValueError, match="only 0 and 1"):
        policy_loss("ppo", lp, old, adv, bad)
    r = policy_loss("ppo", lp, old, adv, bad, validate=False)  # trusted: weights 0.5 taken as given
    assert math.isfinite(r.loss.item())
    nan_lp = lp.clone()
    nan_lp[0, 1] = float("nan")
    with pytest.raises(ValueError, match=r"logp must be finite.*\[0, 1\]"):
        policy_loss("ppo", nan_lp, old, adv, torch.ones(2, 3), validate=False)
    with pytest.raises(TypeError, match="validate must be a bool"):
        policy_loss("ppo", lp, old, adv, validate=1)


def test_custom_ppo_registration_is_not_bypassed():
    calls = []

    def my_ppo(logp, old, adv, mask, **kw):
        calls.append(1)
        return Lm._ppo(logp, old, adv, mask, **kw)

    try:
        Lm.register_policy_loss("ppo", my_ppo, replace=True)
        policy_loss("ppo", torch.zeros(1, 2), torch.zeros(1, 2), torch.ones(1))
        assert calls == [1]
    finally:
        Lm.register_policy_loss("ppo", Lm._ppo, replace=True)


# ------------------------------------------------------------------------------------------------
# RolloutBatch: one synchronisation, validate=False, verl-style inputs


def _verl_style(rows=16, tokens=6, seed=0):
    rng = np.random.default_rng(seed)
    lengths = rng.integers(1, tokens + 1, rows)
    mask = torch.tensor((np.arange(tokens)[None, :] < lengths[:, None]).astype(np.float32))
    tlr = torch.zeros(rows, tokens)
    tlr[torch.arange(rows), torch.as_tensor(lengths - 1)] = torch.tensor(rng.integers(0, 2, rows), dtype=torch.float32)
    index = np.array([f"uid-{i // 4}" for i in range(rows)], dtype=object)
    return tlr, mask, index


def test_grpo_on_verl_style_inputs_validate_false_identical():
    tlr, mask, index = _verl_style()
    a = compute_advantages("grpo", RolloutBatch(rewards=tlr, group_ids=index, response_mask=mask), broadcast=True)
    b = compute_advantages(
        "grpo", RolloutBatch(rewards=tlr, group_ids=index, response_mask=mask, validate=False), broadcast=True
    )
    assert torch.equal(a, b) and a.dtype == torch.float32
    # string ids factorise to codes that are already dense: cached, equal to the sorted codes
    batch = RolloutBatch(rewards=tlr, group_ids=index, response_mask=mask)
    codes, n = batch.group_codes()
    assert n == 4 and codes.tolist() == [i // 4 for i in range(16)]
    # GRPO never needs the bool mask: it is made on first read only (1 byte per token saved)
    b2 = RolloutBatch(rewards=tlr, group_ids=index, response_mask=mask)
    compute_advantages("grpo", b2, broadcast=True)
    assert "_response_mask_bool" not in b2.__dict__
    assert b2.response_mask.dtype == torch.bool and torch.equal(b2.response_mask, mask.bool())
    assert b2.replace(rewards=tlr * 2).response_mask.dtype == torch.bool
    # broadcasting multiplies by the given float mask (no copy) and matches the bool mask
    assert batch.mask_as(torch.float32).data_ptr() == mask.data_ptr()
    assert torch.equal(batch.mask_as(torch.float64), batch.response_mask.double())


@pytest.mark.parametrize(
    "change, match",
    [
        ({"response_mask": "half"}, "only 0 and 1"),
        ({"response_mask": "neg"}, "only 0 and 1"),
        ({"response_mask": "nan"}, "only 0 and 1"),
        ({"response_mask": "zeros"}, "all zeros"),
        ({"response_mask": "int2"}, "only 0 and 1"),
        ({"rewards": "nan"}, r"rewards must be finite.*rewards\[2, 1\]"),
        ({"rewards": "overflow"}, "row sum overflows"),
    ],
)
def test_batch_checks_still_fire(change, match):
    tlr, mask, index = _verl_style()
    if "response_mask" in change:
        kind = change["response_mask"]
        if kind == "int2":
            mask = mask.long() * 2
        elif kind == "zeros":
            mask = torch.zeros_like(mask)
        else:
            mask = mask.clone()
            mask[3, 0] = {"half": 0.5, "neg": -1.0, "nan": float("nan")}[kind]
    else:
        tlr = tlr.clone()
        if change["rewards"] == "nan":
            tlr[2, 1] = float("nan")
        else:
            tlr[2, :2] = 3e38  # float32: finite entries, infinite row sum
    with pytest.raises(ValueError, match=match):
        RolloutBatch(rewards=tlr, group_ids=index, response_mask=mask)
    RolloutBatch(rewards=tlr, group_ids=index, response_mask=mask, validate=False)  # trusted: no check
    with pytest.raises(TypeError, match="validate must be a bool"):
        RolloutBatch(rewards=tlr, group_ids=index, response_mask=mask, validate="no")
