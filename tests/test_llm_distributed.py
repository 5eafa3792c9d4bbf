"""mdp.llm.losses under micro-batching and data parallelism, rollout importance weights, entropy bonus.

Known values are hand-computed (arithmetic in comments). The differential tests against verl run
when verl imports (an environment with verl installed, see ``make test-verl``); they skip cleanly otherwise.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

torch = pytest.importorskip("torch")

from mdp.llm import AGG_MODES, agg_loss, global_batch_info, policy_loss, rollout_is_weights  # noqa: E402


def _t(x):
    return torch.tensor(x, dtype=torch.float64)


LOSS = _t([[1.0, 2.0, 3.0], [4.0, 0.0, 0.0], [9.0, 9.0, 9.0]])
MASK = _t([[1, 1, 1], [1, 0, 0], [0, 0, 0]])  # row 2 empty; 4 tokens, 2 non-empty rows, 3 rows


# ------------------------------------------------------------------------------------------------
# known values with the global normalisers


@pytest.mark.parametrize(
    "mode, kw, expected",
    [
        # token sum 10 over a global count of 8 tokens, times dp_size 2 (DDP averages the ranks)
        ("token-mean", {"batch_num_tokens": 8, "dp_size": 2}, 10 / 8 * 2),
        ("trl:dapo", {"num_items_in_batch": 8, "dp_size": 2}, 10 / 8 * 2),
        ("token-mean", {"batch_num_tokens": torch.tensor(5)}, 10 / 5),
        # row means 2 and 4 over 4 global rows
        ("seq-mean-token-mean", {"global_batch_size": 4}, (2 + 4) / 4),
        ("seq-mean-token-sum", {"global_batch_size": 5, "dp_size": 3}, (6 + 4) / 5 * 3),
        # sum / (G * C) with G = 6 rows, C = 3 tokens
        ("seq-mean-token-sum-norm", {"global_batch_size": 6}, 10 / (6 * 3)),
        ("trl:grpo", {"global_batch_size": 4}, (2 + 4 + 0) / 4),
        ("token-sum-norm", {"dp_size": 2}, 10 / 3 * 2),
        ("token-sum", {}, 10.0),
        ("token-sum", {"dp_size": 4}, 40.0),
    ],
)
def test_global_normalisers_known_values(mode, kw, expected):
    assert abs(float(agg_loss(LOSS, MASK, mode, **kw)) - expected) < 1e-12


def test_global_batch_info_counts():
    # 4 valid tokens; 2 non-empty rows for the seq-mean modes, all 3 rows for the B * C and trl:grpo modes
    assert global_batch_info(MASK, "token-mean") == {"batch_num_tokens": 4, "global_batch_size": 2, "dp_size": 1}
    assert global_batch_info(MASK, "seq-mean-token-sum-norm", dp_size=2)["global_batch_size"] == 3
    assert global_batch_info(MASK.bool(), "trl:grpo")["global_batch_size"] == 3
    for mode in AGG_MODES + ("trl:grpo",):
        # with the full batch's own counts the normalised loss is the local one
        assert (
            abs(float(agg_loss(LOSS, MASK, mode, **global_batch_info(MASK, mode))) - float(agg_loss(LOSS, MASK, mode)))
            < 1e-12
        )


# ------------------------------------------------------------------------------------------------
# property: micro-batch and data-parallel sums equal the full batch (loss and gradient)


def _split(rng, rows, parts):
    """Random partition of ``range(rows)`` into ``parts`` non-empty index lists."""
    perm = rng.permutation(rows)
    cuts = np.sort(rng.choice(np.arange(1, rows), size=parts - 1, replace=False)) if parts > 1 else []
    return [torch.as_tensor(p) for p in np.split(perm, cuts)]


@settings(max_examples=30, deadline=None)
@given(
    seed=st.integers(0, 2**31 - 1),
    mode=st.sampled_from(AGG_MODES + ("trl:grpo", "trl:dapo")),
    dp=st.integers(1, 3),
    micro=st.integers(1, 3),
    kind=st.sampled_from(["ppo", "gspo"]),
)
def test_micro_batches_and_ranks_sum_to_the_full_batch(seed, mode, dp, micro, kind):
    rng = np.random.default_rng(seed)
    B, T = int(rng.integers(dp * micro, dp * micro + 6)), int(rng.integers(1, 6))
    old = _t(np.log(rng.uniform(0.05, 1.0, (B, T))))
    lp0 = old + _t(rng.normal(0, 0.3, (B, T)))
    mask = _t((rng.random((B, T)) < 0.6).astype(float))
    mask[int(rng.integers(B)), 0] = 1.0
    if B > 1:
        mask[int(rng.integers(B))] = 0.0  # often an empty row (ignored or counted, per the mode)
        mask[int(rng.integers(B)), -1] = 1.0
    adv = _t(rng.normal(size=B))
    ref = old + _t(rng.normal(0, 0.2, (B, T)))
    isw = _t(rng.uniform(0.5, 2.0, (B, T)))
    ent0 = _t(rng.uniform(0.0, 2.0, (B, T)))
    common = {"ref_logp": ref, "kl_coef": 0.05, "entropy_coef": 0.01}

    def run(idx, **kw):
        lp = lp0[idx].clone().requires_grad_(True)
        ent = ent0[idx].clone().requires_grad_(True)
        r = policy_loss(
            kind,
            lp,
            old[idx],
            adv[idx],
            mask[idx],
            agg=mode,
            policy_entropy=ent,
            rollout_is_weights=isw[idx],
            **{k: v[idx] if isinstance(v, torch.Tensor) else v for k, v in common.items()},
            **kw,
        )
        r.loss.backward()
        return r.loss.detach(), lp.grad, ent.grad

    full = torch.arange(B)
    ref_loss, ref_g, ref_ge = run(full)
    info = global_batch_info(mask, mode, dp_size=dp)
    if mode == "trl:dapo":
        info["num_items_in_batch"] = info.pop("batch_num_tokens")
    total = torch.zeros((), dtype=torch.float64)
    g = torch.zeros(B, T, dtype=torch.float64)
    ge = torch.zeros(B, T, dtype=torch.float64)
    for rank_rows in _split(rng, B, dp):
        rank_total = torch.zeros((), dtype=torch.float64)
        for part in _split(rng, len(rank_rows), min(micro, len(rank_rows))):
            idx = rank_rows[part]
            loss, gl, gle = run(idx, **info)
            rank_total += loss  # gradient accumulation: micro-batch gradients add up
            g[idx] += gl / dp  # DDP all-reduce: gradients are averaged over ranks
            ge[idx] += gle / dp
        total += rank_total / dp
    assert abs(float(total) - float(ref_loss)) < 1e-10
    torch.testing.assert_close(g, ref_g, atol=1e-10, rtol=0)
    torch.testing.assert_close(ge, ref_ge, atol=1e-10, rtol=0)


def test_local_normalisers_are_not_micro_batch_invariant():
    # the failure the global normalisers fix (issue 21: 2.17x verl's loss on one of two micro-batches)
    full = float(agg_loss(LOSS[:2], MASK[:2], "token-mean"))  # 10 / 4
    halves = float(agg_loss(LOSS[:1], MASK[:1], "token-mean")) + float(agg_loss(LOSS[1:2], MASK[1:2], "token-mean"))
    assert abs(halves - full) > 1.0  # 6/3 + 4/1 = 6 vs 2.5
    info = global_batch_info(MASK[:2], "token-mean")
    halves = float(agg_loss(LOSS[:1], MASK[:1], "token-mean", **info)) + float(
        agg_loss(LOSS[1:2], MASK[1:2], "token-mean", **info)
    )
    assert abs(halves - full) < 1e-12


def test_padding_only_micro_batch_with_global_normalisers():
    lp = torch.zeros(2, 3, dtype=torch.float64, requires_grad=True)
    r = policy_loss("ppo", lp, lp.detach(), _t([1.0, 1.0]), torch.zeros(2, 3), batch_num_tokens=8)
    assert r.loss.item() == 0.0
    r.loss.backward()
    assert bool((lp.grad == 0).all())
    with pytest.raises(ValueError, match="mask is all zeros"):
        policy_loss("ppo", lp, lp.detach(), _t([1.0, 1.0]), torch.zeros(2, 3))


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"agg": "token-mean", "dp_size": 2}, "needs the global token count batch_num_tokens"),
        ({"agg": "seq-mean-token-mean", "dp_size": 2}, "needs the global row count global_batch_size"),
        ({"agg": "trl:grpo", "dp_size": 2, "batch_num_tokens": 4}, "global_batch_size"),
        ({"dp_size": 0}, "dp_size must be >= 1"),
        ({"dp_size": 1.5}, "dp_size must be an integer"),
        ({"batch_num_tokens": 0}, "batch_num_tokens must be finite and > 0"),
        ({"batch_num_tokens": True}, "batch_num_tokens must be"),
        ({"global_batch_size": -2, "agg": "seq-mean-token-mean"}, "global_batch_size must be"),
        ({"global_batch_size": torch.ones(2)}, "one-element tensor"),
        ({"batch_num_tokens": 4, "num_items_in_batch": 4}, "not both"),
        ({"num_items_in_batch": 4, "agg": "trl:grpo"}, "divides by a row count"),
        ({"entropy_coef": 0.1}, "needs policy_entropy"),
        ({"entropy_coef": "0.1", "policy_entropy": torch.ones(2, 3)}, "entropy_coef must be a real number"),
        ({"policy_entropy": torch.ones(2, 2)}, "policy_entropy must have the shape of logp"),
        (
            {"policy_entropy": torch.tensor([[1.0, float("nan"), 1.0], [1.0, 1.0, 1.0]])},
            "policy_entropy must be finite",
        ),
        ({"rollout_is_weights": torch.ones(3)}, "rollout_is_weights must be"),
        ({"rollout_is_weights": -torch.ones(2, 3)}, "rollout_is_weights must be >= 0"),
        ({"rollout_is_weights": torch.full((2, 1), float("inf"))}, "rollout_is_weights must be finite"),
    ],
)
def test_distributed_and_bonus_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        policy_loss("ppo", torch.zeros(2, 3), torch.zeros(2, 3), torch.ones(2), torch.ones(2, 3), **kwargs)


def test_agg_loss_bad_input():
    with pytest.raises(ValueError, match="agg must be one of"):
        agg_loss(LOSS, MASK, "mean")
    with pytest.raises(ValueError, match="dp_size > 1 needs"):
        agg_loss(LOSS, MASK, "token-mean", dp_size=2)
    with pytest.raises(ValueError, match="loss_scale_factor must be"):
        agg_loss(LOSS, MASK, "token-sum-norm", loss_scale_factor=torch.tensor(3.0))
    with pytest.raises(ValueError, match="mask must be"):
        global_batch_info(torch.ones(3), "token-mean")


# ------------------------------------------------------------------------------------------------
# rollout importance weights

# valid log ratios ln 3, ln 0.5, ln 1.5 (ratios 3, 0.5, 1.5); the last token is padding (NaN there)
_LP = _t([[math.log(3.0), math.log(0.5), math.log(1.5), float("nan")]])
_RLP = torch.zeros(1, 4, dtype=torch.float64)
_M = _t([[1, 1, 1, 0]])


@pytest.mark.parametrize(
    "kw, expected, clipped",
    [
        ({}, [2.0, 0.5, 1.5, 0.0], 1 / 3),  # TIS at 2: 3 -> 2
        ({"threshold": "0.8_2.5"}, [0.0, 0.0, 1.5, 0.0], 2 / 3),  # IcePop band: 3 and 0.5 are outside
        ({"threshold": (0.8, 2.5), "mode": "truncate"}, [2.5, 0.8, 1.5, 0.0], 2 / 3),  # clamp to the band
        ({"threshold": 2.0, "mode": "mask"}, [0.0, 0.5, 1.5, 0.0], 1 / 3),  # TRL token_mask, no lower bound
        ({"threshold": (None, 4.0)}, [3.0, 0.5, 1.5, 0.0], 0.0),
        ({"level": "sequence"}, [2.0, 2.0, 2.0, 0.0], 1.0),  # product 3 * 0.5 * 1.5 = 2.25 -> 2
        ({"level": "sequence", "threshold": 3.0}, [2.25, 2.25, 2.25, 0.0], 0.0),
        ({"level": "sequence", "threshold": 2.0, "mode": "mask"}, [0.0, 0.0, 0.0, 0.0], 1.0),
        # batch normalisation: weights [2, 0.5, 1.5] have mean 4/3
        ({"batch_normalize": True}, [1.5, 0.375, 1.125, 0.0], 1 / 3),
    ],
)
def test_rollout_is_weights_known_values(kw, expected, clipped):
    r = rollout_is_weights(_LP, _RLP, _M, **kw)
    torch.testing.assert_close(r.weights, _t([expected]), atol=1e-12, rtol=0)
    assert abs(r.clipped_fraction - clipped) < 1e-12
    assert not r.weights.requires_grad


def test_rollout_is_weights_safety_bound_and_policy_loss():
    # log ratio 50 is clamped to 20 before exp (verl's SAFETY_BOUND), then truncated at the threshold
    r = rollout_is_weights(_t([[50.0]]), _t([[0.0]]), threshold=1e12)
    assert abs(float(r.weights) - math.exp(20.0)) < 1e-3
    assert float(r.log_ratio) == 50.0
    # policy_loss multiplies the per-token PG loss by the weights: on-policy PPO loss is -A, so
    # token-mean of -A * w = -(2 + 0.5 + 1.5) / 3 for A = 1
    lp = torch.zeros(1, 4, dtype=torch.float64)
    w = rollout_is_weights(_LP, _RLP, _M).weights
    res = policy_loss("ppo", lp, lp, _t([1.0]), _M, rollout_is_weights=w)
    assert abs(res.loss.item() + 4.0 / 3) < 1e-12
    # sequence weights may come as (rows,) or (rows, 1)
    res1 = policy_loss("ppo", lp, lp, _t([1.0]), _M, rollout_is_weights=_t([2.0]))
    res2 = policy_loss("ppo", lp, lp, _t([1.0]), _M, rollout_is_weights=_t([[2.0]]))
    assert res1.loss.item() == res2.loss.item() == -2.0


@pytest.mark.parametrize(
    "kw, match",
    [
        ({"level": "row"}, "level must be"),
        ({"threshold": 0.0}, "threshold must be a finite number > 0"),
        ({"threshold": "a_b"}, "threshold string"),
        ({"threshold": (3.0, 2.0)}, "lower bound must be <= upper"),
        ({"threshold": (None, None)}, "at least one bound"),
        ({"threshold": [1.0, 2.0]}, "threshold must be a number"),
        ({"mode": "clip"}, "mode must be"),
    ],
)
def test_rollout_is_weights_bad_input(kw, match):
    with pytest.raises(ValueError, match=match):
        rollout_is_weights(_LP, _RLP, _M, **kw)


def test_rollout_is_weights_bad_arrays():
    with pytest.raises(ValueError, match="rollout_logp must have the shape of logp"):
        rollout_is_weights(_LP, torch.zeros(1, 3), _M)
    with pytest.raises(ValueError, match=r"logp must be finite.*\[0, 0\]"):
        rollout_is_weights(_t([[float("nan"), 0.0]]), torch.zeros(1, 2))
    with pytest.raises(ValueError, match="logp must be"):
        rollout_is_weights(torch.zeros(3), torch.zeros(3))


# ------------------------------------------------------------------------------------------------
# entropy bonus


def test_entropy_bonus_known_value_and_gradient():
    # on-policy PPO loss -A = -1 on each token; entropies [1, 3] (token mean 2); coef 0.1:
    # loss = -1 - 0.1 * 2 = -1.2; d loss / d H_t = -0.1 / 2 per token
    lp = torch.zeros(1, 2, dtype=torch.float64)
    H = _t([[1.0, 3.0]]).requires_grad_(True)
    r = policy_loss("ppo", lp, lp, _t([1.0]), policy_entropy=H, entropy_coef=0.1)
    assert abs(r.loss.item() + 1.2) < 1e-12 and abs(r.entropy - 2.0) < 1e-12
    r.loss.backward()
    torch.testing.assert_close(H.grad, _t([[-0.05, -0.05]]))
    # entropy reported, not added, when entropy_coef = 0
    r0 = policy_loss("ppo", lp, lp, _t([1.0]), policy_entropy=H)
    assert r0.loss.item() == -1.0 and r0.entropy == 2.0


# ------------------------------------------------------------------------------------------------
# differential: verl's own functions (skip when verl does not import)


def _verl_module(name):
    pytest.importorskip("verl")
    import importlib

    try:
        return importlib.import_module(name)
    except Exception as exc:  # verl's import chain (transformers, kernels, ray) may be broken here
        pytest.skip(f"{name} does not import in this environment: {type(exc).__name__}: {exc}")


class _VerlActorConfig(dict):
    """The fields verl's compute_policy_loss_vanilla reads from its ActorConfig."""

    def __getattr__(self, k):
        return self[k]


@pytest.mark.parametrize("mode", ["token-mean", "seq-mean-token-mean", "seq-mean-token-sum", "seq-mean-token-sum-norm"])
@pytest.mark.parametrize("dp", [1, 2])
def test_verl_agg_and_ppo_loss_with_global_info(mode, dp):
    C = _verl_module("verl.trainer.ppo.core_algos")
    rng = np.random.default_rng(3)
    B, T = 6, 5
    old = _t(np.log(rng.uniform(0.1, 1.0, (B, T))))
    mask = _t((rng.random((B, T)) < 0.7).astype(float))
    mask[2] = 0.0
    mask[0, 0] = 1.0
    adv = _t(rng.normal(size=(B, T)))
    isw = _t(rng.uniform(0.5, 2.0, (B, T)))
    # verl's own rule: G = the mini-batch row count, N = its token count (all ranks); one micro-batch
    info = {"dp_size": dp, "batch_num_tokens": int(mask.sum()) + 3, "global_batch_size": B + 2, "loss_scale_factor": 7}
    lm = _t(rng.normal(size=(B, T)))
    ours = agg_loss(lm, mask, f"verl:{mode}" if mode != "seq-mean-token-sum-norm" else mode, **info)
    theirs = C.agg_loss(lm, mask, mode, **info)
    # verl's seq-mean-token-mean divides by (tokens + 1e-8): a relative difference of ~1e-8
    assert abs(float(ours) - float(theirs)) < 1e-7
    cfg = _VerlActorConfig(
        clip_ratio=0.2, clip_ratio_low=0.2, clip_ratio_high=0.28, clip_ratio_c=3.0, global_batch_info=info
    )
    lp1 = (old + _t(rng.normal(0, 0.3, (B, T)))).requires_grad_(True)
    lp2 = lp1.detach().clone().requires_grad_(True)
    v_loss, _ = C.compute_policy_loss_vanilla(
        old, lp1, adv, mask, loss_agg_mode=mode, config=cfg, rollout_is_weights=isw
    )
    v_loss.backward()
    agg = f"verl:{mode}" if mode != "seq-mean-token-sum-norm" else mode
    r = policy_loss(
        "ppo", lp2, old, adv, mask, agg=agg, eps_low=0.2, eps_high=0.28, dual_clip=3.0, rollout_is_weights=isw, **info
    )
    r.loss.backward()
    assert abs(r.loss.item() - v_loss.item()) < 1e-7
    torch.testing.assert_close(lp2.grad, lp1.grad, atol=1e-7, rtol=0)


@pytest.mark.parametrize("level", ["token", "sequence"])
@pytest.mark.parametrize("threshold", [2.0, "0.5_1.8", 1.2])
@pytest.mark.parametrize("normalize", [False, True])
def test_verl_rollout_correction_weights(level, threshold, normalize):
    H = _verl_module("verl.trainer.ppo.rollout_corr_helper")
    rng = np.random.default_rng(5)
    B, T = 5, 6
    train = _t(np.log(rng.uniform(0.1, 1.0, (B, T))))
    rollout = train + _t(rng.normal(0, 0.25 if level == "token" else 0.1, (B, T)))
    mask = _t((rng.random((B, T)) < 0.8).astype(float))
    mask[0, 0] = 1.0
    theirs, _ = H.compute_rollout_correction_weights(train - rollout, mask, level, threshold, normalize)
    ours = rollout_is_weights(train, rollout, mask, level=level, threshold=threshold, batch_normalize=normalize)
    # verl's masked_mean divides by (count + 1e-8): batch-normalised weights differ by ~1e-9
    torch.testing.assert_close(ours.weights, theirs.to(torch.float64) * mask, atol=1e-7, rtol=0)
