"""Low-precision numerics of the mdp.llm hot paths (bf16, fp16), on CPU and, when present, CUDA.

Each check computes in the low-precision dtype and compares with float64 arithmetic on the *same*
(already rounded) inputs, so the tolerance measures the arithmetic, not the input rounding. The CUDA
cases skip without a device; ``benchmarks/gpu_llm.sh`` runs them on one.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from mdp.llm import (  # noqa: E402
    RolloutBatch,
    agg_loss,
    compute_advantages,
    global_batch_info,
    policy_loss,
    rollout_is_weights,
)

CUDA = torch.cuda.is_available()
DEVICES = ["cpu", pytest.param("cuda", marks=pytest.mark.skipif(not CUDA, reason="needs CUDA"))]
# relative tolerance of a reduction over ~1e3 terms in each dtype (unit roundoff 2^-8, 2^-11, 2^-24)
RTOL = {torch.bfloat16: 3e-2, torch.float16: 4e-3, torch.float32: 1e-5}
LOW = [torch.bfloat16, torch.float16, torch.float32]


def _inputs(dtype, device, rows=16, tokens=64, seed=0):
    rng = np.random.default_rng(seed)
    old = torch.tensor(np.log(rng.uniform(0.05, 1.0, (rows, tokens))), dtype=dtype, device=device)
    lp = (old.double() + torch.tensor(rng.normal(0, 0.15, (rows, tokens)), device=device)).to(dtype)
    lengths = rng.integers(1, tokens + 1, rows)
    mask = torch.tensor((np.arange(tokens)[None, :] < lengths[:, None]).astype(float), dtype=dtype, device=device)
    adv = torch.tensor(rng.normal(size=rows), dtype=dtype, device=device)
    return lp, old, adv, mask


def _far(lp, old, dtype, bounds=(0.8, 1.2, 1.28, 3.0)):
    """Tokens whose ratio is not within rounding of a clip bound: the gradient is discontinuous
    there (0 on one side), so a 1-ulp difference in the ratio may legitimately flip it."""
    tol = {torch.bfloat16: 2.0**-5, torch.float16: 2.0**-8, torch.float32: 2.0**-20}[dtype]
    r = torch.exp(lp.double() - old.double())
    far = torch.ones_like(r, dtype=torch.bool)
    for b in bounds:
        far &= (r - b).abs() > tol * b
    return far


def _loss_grad(lp, old, adv, mask, **kw):
    x = lp.clone().requires_grad_(True)
    r = policy_loss("ppo", x, old, adv, mask, **kw)
    r.loss.backward()
    return r, x.grad


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", LOW, ids=str)
@pytest.mark.parametrize("dual", [None, 3.0])
def test_ppo_low_precision_matches_float64_on_the_same_inputs(device, dtype, dual):
    lp, old, adv, mask = _inputs(dtype, device)
    kw = {"eps_low": 0.2, "eps_high": 0.28, "dual_clip": dual}
    low, g_low = _loss_grad(lp, old, adv, mask, **kw)
    ref, g_ref = _loss_grad(lp.double(), old.double(), adv.double(), mask.double(), **kw)
    assert low.loss.dtype == dtype and low.loss.device.type == device and g_low.dtype == dtype
    assert math.isfinite(low.loss.item()) and bool(torch.isfinite(g_low).all())
    scale = float(g_ref.abs().max())
    far = _far(lp, old, dtype)
    assert abs(low.loss.item() - ref.loss.item()) <= RTOL[dtype] * (abs(ref.loss.item()) + 0.1)
    assert float((g_low.double() - g_ref)[far].abs().max()) <= RTOL[dtype] * scale
    # clip decisions can flip only for ratios within rounding of a bound
    assert abs(low.clip_fraction - ref.clip_fraction) <= (0.05 if dtype != torch.float32 else 1e-6)
    assert bool((g_low[mask == 0] == 0).all())


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16], ids=str)
def test_fused_and_exact_paths_agree_in_low_precision(device, dtype):
    lp, old, adv, mask = _inputs(dtype, device, seed=1)
    fast, g_fast = _loss_grad(lp, old, adv, mask)
    exact, g_exact = _loss_grad(lp, old, adv, mask, eps_low=torch.tensor(0.2), eps_high=torch.tensor(0.2))
    assert abs(fast.loss.item() - exact.loss.item()) <= RTOL[dtype] * (abs(exact.loss.item()) + 0.1)
    far = _far(lp, old, dtype)
    diff = (g_fast.double() - g_exact.double())[far].abs().max()
    assert float(diff) <= RTOL[dtype] * float(g_exact.abs().max())


@pytest.mark.parametrize("device", DEVICES)
def test_fp16_ratio_overflow_is_capped_by_the_dual_clip(device):
    # fp16 overflows above 65504: a log ratio of 15 gives exp = inf; with A < 0 the dual clip caps the
    # loss at |A| c and the gradient of the capped token is 0 (as in float64)
    lp = torch.tensor([[15.0, 0.05]], dtype=torch.float16, device=device, requires_grad=True)
    old = torch.zeros(1, 2, dtype=torch.float16, device=device)
    r = policy_loss("ppo", lp, old, torch.tensor([-1.0], dtype=torch.float16, device=device), dual_clip=3.0)
    r.loss.backward()
    assert r.loss.item() == pytest.approx((3.0 + math.exp(0.05)) / 2, rel=4e-3)
    assert lp.grad[0, 0].item() == 0.0 and r.dual_clip_fraction == 0.5


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", LOW, ids=str)
def test_grpo_low_precision(device, dtype):
    rng = np.random.default_rng(2)
    rewards = torch.tensor(rng.integers(0, 2, 64).astype(float), dtype=dtype, device=device)
    rewards[:8] = 1.0  # one zero-variance group: exactly 0 in every dtype
    ids = np.array([f"g{i // 8}" for i in range(64)], dtype=object)
    low = compute_advantages("grpo", RolloutBatch(rewards=rewards, group_ids=ids))
    ref = compute_advantages("grpo", RolloutBatch(rewards=rewards.double(), group_ids=ids))
    assert low.dtype == dtype and low.device.type == device
    assert bool((low[:8] == 0).all())
    assert float((low.double() - ref).abs().max()) <= RTOL[dtype] * float(ref.abs().max()) * 4


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", LOW, ids=str)
@pytest.mark.parametrize("mode", ["token-mean", "seq-mean-token-mean", "seq-mean-token-sum-norm"])
def test_micro_batch_sum_low_precision(device, dtype, mode):
    lp, old, adv, mask = _inputs(dtype, device, rows=12, seed=3)
    full, g_full = _loss_grad(lp.double(), old.double(), adv.double(), mask.double(), agg=mode)
    info = global_batch_info(mask, mode, dp_size=1)
    total, grads = 0.0, []
    for idx in (slice(0, 5), slice(5, 12)):
        r, g = _loss_grad(lp[idx], old[idx], adv[idx], mask[idx], agg=mode, **info)
        total += r.loss.item()
        grads.append(g)
    assert abs(total - full.loss.item()) <= RTOL[dtype] * (abs(full.loss.item()) + 0.1)
    g = torch.cat(grads).double()
    far = _far(lp, old, dtype, bounds=(0.8, 1.2))
    assert float((g - g_full)[far].abs().max()) <= RTOL[dtype] * float(g_full.abs().max())
    assert float(agg_loss(torch.ones_like(lp), mask, mode, **info)) > 0


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", LOW, ids=str)
def test_rollout_is_weights_low_precision(device, dtype):
    lp, old, _, mask = _inputs(dtype, device, seed=4)
    rollout = (old.double() + 0.3 * torch.randn(old.shape, dtype=torch.float64, device=device)).to(dtype)
    low = rollout_is_weights(old, rollout, mask, threshold=2.0)
    ref = rollout_is_weights(old.double(), rollout.double(), mask.double(), threshold=2.0)
    assert low.weights.dtype == dtype
    assert float(low.weights.max()) <= 2.0  # truncation is exact at the cap
    assert float((low.weights.double() - ref.weights).abs().max()) <= RTOL[dtype] * 2.0 * 4


@pytest.mark.skipif(not CUDA, reason="needs CUDA")
def test_cuda_policy_loss_synchronises_once():
    # the fused path reads all checks and metrics back in one transfer
    lp, old, adv, mask = _inputs(torch.float32, "cuda", rows=64, tokens=256)
    x = lp.clone().requires_grad_(True)
    policy_loss("ppo", x, old, adv, mask)  # warm-up (lazy registry import, kernels)
    torch.cuda.synchronize()
    torch.cuda.set_sync_debug_mode("warn")
    try:
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            r = policy_loss("ppo", x, old, adv, mask)
            r.loss.backward()
    finally:
        torch.cuda.set_sync_debug_mode("default")
    syncs = [str(x.message) for x in w if "synchroniz" in str(x.message).lower()]
    print(f"host synchronisations in policy_loss('ppo') fwd+bwd: {len(syncs)}")
    assert len(syncs) <= 2, syncs
