"""mdp.llm core: RolloutBatch, registry, group statistics and the GRPO-family estimators.

Known values (hand-computed, arithmetic in the comments), properties (hypothesis), differential
(vectorised estimators vs plain Python loop twins written from the equations), bad input and import
hygiene. Parity with verl/TRL lives in test_llm_parity.py.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

torch = pytest.importorskip("torch")

from mdp.llm import (  # noqa: E402
    RolloutBatch,
    compute_advantages,
    get_estimator,
    list_estimators,
    register_estimator,
    stable_hash,
)
from mdp.llm import estimators as E  # noqa: E402
from mdp.llm import registry as R  # noqa: E402
from mdp.llm import segments as U  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
MINE = ("grpo", "dr_grpo", "rloo", "reinforce_pp", "reinforce_pp_baseline", "lite_ppo", "gaussian_grpo")


def _b(r, g, **kw):
    return RolloutBatch(rewards=np.asarray(r, dtype=np.float64), group_ids=np.asarray(g), **kw)


# ------------------------------------------------------------------------------------------------
# import hygiene


def test_import_mdp_and_mdp_llm_do_not_import_torch():
    code = (
        "import sys, json, mdp, mdp.llm; heavy = sorted(m for m in sys.modules if m.split('.')[0] == 'torch');"
        "print(json.dumps(heavy))"
    )
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=True
    )
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []


def test_stable_hash_independent_of_pythonhashseed():
    code = "from mdp.llm import stable_hash; print(stable_hash(('room', 3, 'key')), stable_hash('x'))"
    outs = set()
    for seed in ("0", "12345"):
        env = dict(os.environ, PYTHONPATH=str(ROOT), PYTHONHASHSEED=seed)
        outs.add(
            subprocess.run(
                [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=True
            ).stdout.strip()
        )
    assert len(outs) == 1
    assert outs.pop() == f"{stable_hash(('room', 3, 'key'))} {stable_hash('x')}"


# ------------------------------------------------------------------------------------------------
# RolloutBatch


def test_batch_accepts_numpy_torch_and_lists():
    r = [1.0, 0.0, 1.0]
    for rewards in (r, np.array(r), torch.tensor(r, dtype=torch.float32)):
        b = RolloutBatch(rewards=rewards, group_ids=[0, 0, 1], response_mask=[[1, 1], [1, 0], [0, 0]])
        assert b.n_rows == 3 and b.n_tokens == 2 and isinstance(b.rewards, torch.Tensor)
        assert b.response_mask.dtype == torch.bool
    assert RolloutBatch(rewards=torch.tensor(r, dtype=torch.float32)).dtype == torch.float32
    assert RolloutBatch(rewards=np.array(r)).dtype == torch.float64
    assert RolloutBatch(rewards=[1, 0, 1]).dtype == torch.float64  # integer rewards -> float64
    assert RolloutBatch(rewards=r, dtype=torch.float32).rewards.dtype == torch.float32
    b = RolloutBatch(rewards=r).to(dtype=torch.float32)
    assert b.rewards.dtype == torch.float32 and b.device == torch.device("cpu")


def test_batch_ids_factorised_and_observations_hashed():
    b = RolloutBatch(
        rewards=[1.0, 2.0, 3.0, 4.0],
        group_ids=["u1", "u2", "u1", "u3"],
        trajectory_ids=np.array([7, 7, 8, 9]),
        step_ids=[0, 1, 0, 0],
        observation_keys=[(1, 2), "room", (1, 2), None],
    )
    assert b.group_ids.tolist() == [0, 1, 0, 2]
    assert b.trajectory_ids.tolist() == [7, 7, 8, 9]
    k = b.observation_keys
    assert k.dtype == torch.int64 and k[0] == k[2] and len(set(k.tolist())) == 3
    assert int(k[1]) == stable_hash("room")
    pre = RolloutBatch(rewards=[1.0, 2.0], observation_keys=np.array([5, 5], dtype=np.int64))
    assert pre.observation_keys.tolist() == [5, 5]  # pre-hashed int64 keys kept as given
    codes, n = b.group_codes()
    assert n == 3 and codes.tolist() == [0, 1, 0, 2]


def test_sequence_rewards_sum_token_level_rewards():
    b = RolloutBatch(rewards=[[0.0, 0.5, 0.5], [1.0, 0.0, 0.0]], response_mask=[[1, 1, 1], [1, 0, 0]])
    assert b.token_level and b.sequence_rewards().tolist() == [1.0, 1.0]


def test_single_all_zero_mask_row_is_allowed_and_gets_zero_token_advantage():
    b = _b([1.0, 0.0, 1.0, 0.0], [0, 0, 1, 1], response_mask=[[1, 1], [0, 0], [1, 0], [1, 1]])
    adv = compute_advantages("grpo", b, broadcast=True)
    assert adv.shape == (4, 2) and adv[1].abs().sum() == 0
    assert compute_advantages("grpo", b)[1] < 0  # the row's own advantage is still computed


@pytest.mark.parametrize(
    "kwargs, exc, match",
    [
        ({"rewards": []}, ValueError, "empty"),
        ({"rewards": [1.0, float("nan")]}, ValueError, r"rewards must be finite.*rewards\[1\]"),
        ({"rewards": [1.0, float("inf")]}, ValueError, "finite"),
        ({"rewards": [1.0, 2.0], "group_ids": [0]}, ValueError, "group_ids must have one entry per row"),
        ({"rewards": [1.0, 2.0], "response_mask": [[1, 1]]}, ValueError, "response_mask must have one row"),
        ({"rewards": [1.0, 2.0], "response_mask": [[0, 0], [0, 0]]}, ValueError, "all zeros"),
        ({"rewards": [1.0, 2.0], "response_mask": [[2, 0], [1, 0]]}, ValueError, "only 0 and 1"),
        ({"rewards": [[1.0, 0.0], [1.0, 0.0]], "response_mask": [[1, 1, 1], [1, 1, 1]]}, ValueError, "tokens"),
        ({"rewards": [1.0, 2.0], "token_entropies": [[0.1, float("nan")], [0.1, 0.2]]}, ValueError, "token_entropies"),
        ({"rewards": [1.0, 2.0], "observation_keys": [[1], [2]]}, TypeError, r"observation_keys\[0\] is not hashable"),
        ({"rewards": [1.0, 2.0], "observation_keys": [{"a": 1}, 2]}, TypeError, "not hashable"),
        ({"rewards": [1.0, 2.0], "observation_keys": np.array([0.5, 1.5])}, TypeError, "integer dtype"),
        ({"rewards": [1.0, 2.0], "group_ids": [[1], [2]]}, TypeError, r"group_ids\[0\] is not hashable"),
        ({"rewards": [1.0, 2.0], "step_ids": [0, -1]}, ValueError, r"step_ids must be >= 0"),
        ({"rewards": ["a", "b"]}, TypeError, "rewards must be numeric"),
        ({"rewards": [[[1.0]]]}, ValueError, r"rewards must be \(rows,\)"),
        ({"rewards": [1.0], "extra": [1]}, TypeError, "extra must be a dict"),
        ({"rewards": [1.0], "dtype": torch.int64}, TypeError, "floating dtype"),
    ],
)
def test_batch_bad_input(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        RolloutBatch(**kwargs)


def test_require_names_field_and_method():
    b = _b([1.0, 0.0], [0, 0])
    with pytest.raises(ValueError, match="method 'hapo' needs the field 'token_entropies'"):
        b.require("token_entropies", method="hapo")
    with pytest.raises(ValueError, match=r"'gold_logprobs'.*extra="):
        b.require("gold_logprobs", method="igpo")
    with pytest.raises(ValueError, match="method 'reinforce_pp' needs the field 'response_mask'"):
        compute_advantages("reinforce_pp", b)
    with pytest.raises(ValueError, match="method 'grpo' needs the field 'group_ids'"):
        compute_advantages("grpo", RolloutBatch(rewards=[1.0, 0.0]))


def test_extra_tensor_validates_rows():
    b = RolloutBatch(rewards=[1.0, 0.0], extra={"w": [0.5, 0.25], "bad": [1.0, 2.0, 3.0]})
    assert b.extra_tensor("w", method="m").dtype == torch.float64
    with pytest.raises(ValueError, match=r"extra\['bad'\].*2 rows"):
        b.extra_tensor("bad", method="m")


# ------------------------------------------------------------------------------------------------
# registry


def test_registry_lists_builtins_with_metadata():
    names = list_estimators()
    assert names == sorted(names) and set(MINE) <= set(names)
    spec = get_estimator("grpo")
    assert spec.needs == ("group_ids",) and "convention" in spec.options
    assert "2402.03300" in spec.paper and "std" in spec.equation and spec.doc


def test_registry_unknown_method_and_option():
    b = _b([1.0, 0.0], [0, 0])
    with pytest.raises(ValueError, match="unknown advantage estimator 'nope'"):
        compute_advantages("nope", b)
    with pytest.raises(ValueError, match=r"unknown advantage estimator 'GRPO' \(did you mean 'grpo'\?\); known: "):
        compute_advantages("GRPO", b)
    with pytest.raises(TypeError, match=r"method 'grpo' has no option\(s\) \['epsilonn'\]"):
        compute_advantages("grpo", b, epsilonn=1e-3)
    with pytest.raises(TypeError, match="RolloutBatch"):
        compute_advantages("grpo", [1.0, 0.0])
    assert compute_advantages("grpo", {"rewards": [1.0, 0.0], "group_ids": [0, 0]}).shape == (2,)


def test_register_custom_estimator_and_output_checks():
    name = "_test_const"
    try:
        register_estimator(
            name, lambda batch, value: torch.full((batch.n_rows,), value, dtype=batch.dtype), options={"value": 1.0}
        )
        with pytest.raises(ValueError, match="already registered"):
            register_estimator(name, lambda batch: None)
        b = _b([1.0, 0.0], [0, 0], response_mask=[[1, 0], [1, 1]])
        assert compute_advantages(name, b).tolist() == [1.0, 1.0]
        assert compute_advantages(name, b, value=2.0, broadcast=True).tolist() == [[2.0, 0.0], [2.0, 2.0]]
        register_estimator(name, lambda batch: torch.zeros(5, dtype=batch.dtype), replace=True)
        with pytest.raises(ValueError, match="returned shape"):
            compute_advantages(name, b)
        register_estimator(name, lambda batch: torch.full((2,), float("nan"), dtype=batch.dtype), replace=True)
        with pytest.raises(ValueError, match="non-finite"):
            compute_advantages(name, b)
        with pytest.raises(ValueError, match="reserved"):
            register_estimator("_test_bad", lambda batch, broadcast: None, options={"broadcast": 1})
    finally:
        R._REGISTRY.pop(name, None)


def test_load_builtin_skips_only_missing_modules(monkeypatch):
    monkeypatch.setattr(R, "_BUILTIN_MODULES", ("mdp.llm.estimators", "mdp.llm._does_not_exist"))
    monkeypatch.setitem(R._STATE, "loaded", False)
    R._load_builtin()
    assert R._STATE["loaded"]


# ------------------------------------------------------------------------------------------------
# _util


def test_segment_statistics_match_torch():
    rng = np.random.default_rng(0)
    v = torch.tensor(rng.normal(size=50))
    ids = torch.tensor(rng.integers(0, 7, 50) * 10)
    codes, n = U.dense_codes(ids)
    count, mean, std = U.group_stats(v, codes, n)
    for g in range(n):
        sel = v[codes == g]
        assert count[g] == sel.numel()
        assert torch.allclose(mean[g], sel.mean())
        if sel.numel() > 1:
            assert torch.allclose(std[g], sel.std())
        else:
            assert torch.isnan(std[g])
    w = torch.tensor(rng.random(50))
    wm = U.segment_mean(v, codes, n, weights=w)
    assert torch.allclose(wm[0], (v[codes == 0] * w[codes == 0]).sum() / w[codes == 0].sum())


def test_group_average_ranks_match_scipy():
    from scipy.stats import rankdata

    rng = np.random.default_rng(1)
    v = rng.integers(0, 4, 40).astype(float)
    g = rng.integers(0, 5, 40)
    ranks = U.group_average_ranks(torch.tensor(v), torch.tensor(g), 5).numpy()
    for k in range(5):
        np.testing.assert_allclose(ranks[g == k], rankdata(v[g == k], method="average"))


# ------------------------------------------------------------------------------------------------
# known values (hand-computed)


def test_grpo_known_values():
    # group a: [1, 0]: mean 0.5, unbiased std sqrt(0.5) -> +-0.5/0.70711 = +-0.70711
    # group b: [0, 0, 0, 1]: mean 0.25, unbiased std sqrt((3 * 0.0625 + 0.5625) / 3) = 0.5 -> -0.5, 1.5
    b = _b([1, 0, 0, 0, 0, 1], [0, 0, 1, 1, 1, 1])
    adv = compute_advantages("grpo", b, epsilon=0.0)
    np.testing.assert_allclose(adv.numpy(), [math.sqrt(0.5), -math.sqrt(0.5), -0.5, -0.5, -0.5, 1.5], atol=1e-12)
    adv = compute_advantages("grpo", b)  # verl epsilon 1e-6 added to the std
    assert abs(float(adv[5]) - 0.75 / (0.5 + 1e-6)) < 1e-12
    adv = compute_advantages("grpo", b, convention="trl")  # TRL epsilon 1e-4
    assert abs(float(adv[5]) - 0.75 / (0.5 + 1e-4)) < 1e-12


def test_dr_grpo_rloo_lite_ppo_known_values():
    b = _b([1, 0, 0, 0], [0, 0, 0, 0])
    np.testing.assert_allclose(compute_advantages("dr_grpo", b).numpy(), [0.75, -0.25, -0.25, -0.25])
    # leave-one-out: 1 - 0 = 1; 0 - 1/3 = -1/3
    np.testing.assert_allclose(compute_advantages("rloo", b).numpy(), [1, -1 / 3, -1 / 3, -1 / 3], atol=1e-12)
    # lite_ppo on [1, 0 | 1, 1]: group means 0.5, 1; batch unbiased std of [1, 0, 1, 1] = 0.5
    b2 = _b([1, 0, 1, 1], [0, 0, 1, 1])
    np.testing.assert_allclose(compute_advantages("lite_ppo", b2, epsilon=0.0).numpy(), [1, -1, 0, 0], atol=1e-12)


def test_gaussian_grpo_known_values():
    # n = 4 distinct: Phi^{-1}(0.125, 0.375, 0.625, 0.875) (scipy.stats.norm.ppf)
    q1, q2 = -1.1503493803760079, -0.31863936396437514
    b = _b([3.0, 0.1, 7.0, 0.2], [0, 0, 0, 0])
    np.testing.assert_allclose(compute_advantages("gaussian_grpo", b).numpy(), [-q2, q1, -q1, q2], atol=1e-12)
    # ties [0, 0, 1, 1]: average ranks 1.5, 3.5 -> u = 0.25, 0.75 -> -+0.6744897501960817
    t = _b([0, 0, 1, 1], [0, 0, 0, 0])
    np.testing.assert_allclose(
        compute_advantages("gaussian_grpo", t).numpy(), [-0.6744897501960817] * 2 + [0.6744897501960817] * 2, atol=1e-12
    )
    # average of the quantiles over the tied slots: (q1 + q2) / 2
    np.testing.assert_allclose(
        compute_advantages("gaussian_grpo", t, ties="average_quantile").numpy(),
        [(q1 + q2) / 2] * 2 + [-(q1 + q2) / 2] * 2,
        atol=1e-12,
    )
    assert compute_advantages("gaussian_grpo", _b([2, 2, 2], [0, 0, 0])).abs().max() == 0


def test_reinforce_pp_known_value():
    # masks [[1, 1], [1, 0]], rewards on the last token: row0 r = 1 at t = 1, row1 r = 0.
    # gamma 0.5: returns row0 = [0.5, 1], row1 = [0]; over the 3 tokens mean 0.5, unbiased var 0.25
    b = RolloutBatch(rewards=[1.0, 0.0], response_mask=[[1, 1], [1, 0]])
    adv = compute_advantages("reinforce_pp", b, gamma=0.5, whiten_epsilon=0.0)
    np.testing.assert_allclose(adv.numpy(), [[0.0, 1.0], [-1.0, 0.0]], atol=1e-12)


def test_singleton_and_zero_variance_policies():
    b = _b([2.0, 1.0, 0.0, 3.0, 3.0], [0, 1, 1, 2, 2])  # group 0 singleton, group 2 zero-variance
    verl = compute_advantages("grpo", b)
    assert abs(float(verl[0]) - 2.0 / (1 + 1e-6)) < 1e-12  # verl: mean 0, std 1
    assert verl[3] == 0 and verl[4] == 0
    assert compute_advantages("grpo", b, convention="trl")[0] == 0
    assert compute_advantages("rloo", b)[0] == 2.0  # verl loop: A = r
    assert compute_advantages("rloo", b, convention="verl_vectorized")[0] == 0
    assert compute_advantages("dr_grpo", b)[0] == 2.0 and compute_advantages("dr_grpo", b, singleton="zero")[0] == 0
    for m in ("grpo", "dr_grpo", "rloo", "lite_ppo", "reinforce_pp_baseline"):
        bb = b.replace(response_mask=np.ones((5, 2)))
        with pytest.raises(ValueError, match=r"group 0 has a single row \(row 0\)"):
            compute_advantages(m, bb, singleton="error")
    # near-zero variance: the variance floor (verl vectorized) bounds the amplification
    n = _b([1.0, 1.0 + 1e-9], [0, 0])
    assert abs(float(compute_advantages("grpo", n)[1])) > 1e-4
    assert abs(float(compute_advantages("grpo", n, convention="verl_vectorized")[1])) < 1e-5


@pytest.mark.parametrize(
    "method, kw, match",
    [
        ("grpo", {"convention": "openrlhf"}, "convention must be one of"),
        ("grpo", {"scale_rewards": "global"}, "scale_rewards must be one of"),
        ("grpo", {"epsilon": -1.0}, "epsilon must be"),
        ("grpo", {"singleton": "drop"}, "singleton must be one of"),
        ("grpo", {"zero_variance": "nan"}, "zero_variance must be one of"),
        ("grpo", {"std_ddof": -1}, "std_ddof"),
        ("gaussian_grpo", {"ties": "min"}, "ties must be one of"),
        ("reinforce_pp", {"gamma": 1.5}, "gamma must lie in"),
        ("reinforce_pp", {"kl_coef": 0.1}, "needs the field 'old_logp'"),
        ("lite_ppo", {"epsilon": "x"}, "epsilon must be"),
    ],
)
def test_estimator_bad_options(method, kw, match):
    b = _b([1.0, 0.0, 1.0], [0, 0, 1], response_mask=np.ones((3, 2)))
    with pytest.raises(ValueError, match=match):
        compute_advantages(method, b, **kw)


def test_reinforce_pp_needs_two_tokens():
    with pytest.raises(ValueError, match="at least 2 response tokens"):
        compute_advantages("reinforce_pp", RolloutBatch(rewards=[1.0], response_mask=[[1, 0]]))


# ------------------------------------------------------------------------------------------------
# differential: vectorised vs plain loop twins (written from the equations)


def _groups(g):
    out = {}
    for i, k in enumerate(g):
        out.setdefault(k, []).append(i)
    return out


def ref_grpo(r, g, eps, singleton, scale, ddof=1):
    adv = np.zeros(len(r))
    bstd = np.std(r, ddof=ddof) if len(r) > ddof else 0.0
    for rows in _groups(g).values():
        x = r[rows]
        if len(rows) == 1:
            if singleton == "zero":
                adv[rows] = 0.0
            else:
                adv[rows] = x / (1 + eps) if scale == "group" else (x / (bstd + eps) if scale == "batch" else x)
            continue
        if np.ptp(x) == 0:
            adv[rows] = 0.0
            continue
        d = x - x.mean()
        adv[rows] = (
            d / (np.std(x, ddof=ddof) + eps) if scale == "group" else (d / (bstd + eps) if scale == "batch" else d)
        )
    return adv


def ref_rloo(r, g, singleton):
    adv = np.zeros(len(r))
    for rows in _groups(g).values():
        for i in rows:
            others = [r[j] for j in rows if j != i]
            adv[i] = (r[i] - np.mean(others)) if others else (r[i] if singleton == "reward" else 0.0)
    return adv


def ref_gaussian(r, g, ties):
    from scipy.stats import norm, rankdata

    adv = np.zeros(len(r))
    for rows in _groups(g).values():
        x = r[rows]
        n = len(rows)
        if np.ptp(x) == 0:
            continue
        if ties == "average_rank":
            adv[rows] = norm.ppf((rankdata(x, method="average") - 0.5) / n)
        else:
            q = norm.ppf((rankdata(x, method="ordinal") - 0.5) / n)
            adv[rows] = [q[x == v].mean() for v in x]
    return adv


def ref_reinforce_pp(tok_r, mask, gamma, eps=1e-8):
    B, T = tok_r.shape
    ret = np.zeros((B, T))
    for i in range(B):
        run = 0.0
        for t in reversed(range(T)):
            run = tok_r[i, t] + gamma * run
            ret[i, t] = run
            run *= mask[i, t]
    vals = ret[mask > 0]
    return (ret - vals.mean()) / np.sqrt(vals.var(ddof=1) + eps) * mask


def _random_batch(rng, rows=30, groups=7, tokens=5, discrete=True):
    g = rng.integers(0, groups, rows)
    r = rng.integers(0, 3, rows).astype(float) if discrete else rng.normal(size=rows)
    L = rng.integers(1, tokens + 1, rows)
    mask = (np.arange(tokens)[None] < L[:, None]).astype(float)
    return r, g, mask


@pytest.mark.parametrize("seed", range(4))
def test_differential_against_loop_twins(seed):
    rng = np.random.default_rng(seed)
    r, g, mask = _random_batch(rng, discrete=seed % 2 == 0)
    b = _b(r, g, response_mask=mask)
    for conv, eps, single in (("verl", 1e-6, "reward"), ("trl", 1e-4, "zero")):
        for scale in ("group", "batch", "none"):
            np.testing.assert_allclose(
                compute_advantages("grpo", b, convention=conv, scale_rewards=scale).numpy(),
                ref_grpo(r, g, eps, single, scale),
                atol=1e-10,
            )
        np.testing.assert_allclose(
            compute_advantages("rloo", b, convention=conv).numpy(), ref_rloo(r, g, single), atol=1e-10
        )
    np.testing.assert_allclose(
        compute_advantages("dr_grpo", b).numpy(), ref_grpo(r, g, 0, "reward", "none"), atol=1e-10
    )
    lite = np.array([0.0 if len(_groups(g)[g[i]]) == 1 else 1.0 for i in range(len(r))])
    np.testing.assert_allclose(
        compute_advantages("lite_ppo", b).numpy(), ref_grpo(r, g, 1e-6, "zero", "batch") * lite, atol=1e-10
    )
    for ties in ("average_rank", "average_quantile"):
        np.testing.assert_allclose(
            compute_advantages("gaussian_grpo", b, ties=ties).numpy(), ref_gaussian(r, g, ties), atol=1e-10
        )
    tok = np.zeros_like(mask)
    tok[np.arange(len(r)), mask.sum(1).astype(int) - 1] = r
    for gamma in (1.0, 0.7):
        np.testing.assert_allclose(
            compute_advantages("reinforce_pp", b, gamma=gamma).numpy(), ref_reinforce_pp(tok, mask, gamma), atol=1e-10
        )


# ------------------------------------------------------------------------------------------------
# properties

group_batches = st.integers(0, 2**31 - 1).map(lambda s: np.random.default_rng(s))


@settings(max_examples=30)
@given(rng=group_batches, method=st.sampled_from(["grpo", "dr_grpo", "rloo", "lite_ppo"]))
def test_zero_mean_per_group(rng, method):
    r, g, _ = _random_batch(rng, rows=int(rng.integers(2, 40)), groups=int(rng.integers(1, 6)), discrete=False)
    adv = compute_advantages(method, _b(r, g), singleton="zero").numpy()
    for rows in _groups(g).values():
        assert abs(adv[rows].sum()) < 1e-9 * max(1.0, np.abs(adv).max())


@settings(max_examples=30)
@given(rng=group_batches, method=st.sampled_from(["grpo", "dr_grpo", "rloo", "gaussian_grpo"]))
def test_invariant_to_a_constant_per_group(rng, method):
    r, g, _ = _random_batch(rng, rows=24, groups=5, discrete=False)
    shift = rng.normal(0, 10, 5)[g]
    kw = {"singleton": "zero"} if method != "gaussian_grpo" else {}
    a = compute_advantages(method, _b(r, g), **kw).numpy()
    b = compute_advantages(method, _b(r + shift, g), **kw).numpy()
    np.testing.assert_allclose(a, b, atol=1e-8)


@settings(max_examples=30)
@given(rng=group_batches, scale=st.floats(1e-3, 1e3))
def test_grpo_scale_invariant(rng, scale):
    r, g, _ = _random_batch(rng, rows=24, groups=5, discrete=False)
    a = compute_advantages("grpo", _b(r, g), epsilon=0.0, singleton="zero").numpy()
    b = compute_advantages("grpo", _b(r * scale, g), epsilon=0.0, singleton="zero").numpy()
    np.testing.assert_allclose(a, b, atol=1e-8)


@settings(max_examples=30)
@given(rng=group_batches)
def test_gaussian_grpo_monotone_invariant_and_symmetric(rng):
    r, g, _ = _random_batch(rng, rows=24, groups=4, discrete=True)
    a = compute_advantages("gaussian_grpo", _b(r, g), ties="average_quantile").numpy()
    b = compute_advantages("gaussian_grpo", _b(np.exp(3 * r), g), ties="average_quantile").numpy()
    np.testing.assert_allclose(a, b, atol=1e-12)
    for rows in _groups(g).values():
        assert abs(a[rows].sum()) < 1e-9  # averaging quantiles over ties keeps the exact zero mean


def test_dtype_and_broadcast_shapes():
    b = RolloutBatch(rewards=torch.tensor([1.0, 0.0, 1.0, 1.0]), group_ids=[0, 0, 1, 1], response_mask=torch.ones(4, 3))
    for m in MINE:
        adv = compute_advantages(m, b, broadcast=True)
        assert adv.shape == (4, 3) and adv.dtype == torch.float32, m


# ---------------------------------------------------------------------------------------- review fixes
# the needs-are-truthful contract of every estimator is theory_checks.conformance.check_estimator
# (run over the whole registry by tests/test_conformance.py)


def test_option_dependent_needs_gigpo():
    spec = get_estimator("gigpo")
    assert "observation_keys" in spec.needs
    assert spec.required_fields(grouping="similarity") == ("group_ids", "trajectory_ids", "step_ids")
    b = RolloutBatch(
        rewards=[1.0, 0.0, 1.0, 0.0],
        group_ids=[0, 0, 0, 0],
        trajectory_ids=[0, 0, 1, 1],
        step_ids=[0, 1, 0, 1],
        extra={"observation_embeddings": np.eye(4)[[0, 1, 0, 1]]},
    )
    with pytest.raises(ValueError, match=r"gigpo with grouping='exact'.*observation_keys"):
        compute_advantages("gigpo", b)
    a = compute_advantages("gigpo", b, grouping="similarity")  # no observation_keys needed
    ref = compute_advantages("gigpo", b.replace(observation_keys=np.array([0, 1, 0, 1])))
    np.testing.assert_allclose(a.numpy(), ref.numpy(), atol=1e-12)
    with pytest.raises(ValueError, match="not one of its options"):
        register_estimator(
            "_bad_opt_needs", lambda b, x=1: b.rewards, options={"x": 1}, option_needs={"y": {1: ("step_ids",)}}
        )


def _whiten(x, m, eps=1e-8):
    v = x[m]
    return (x - v.mean()) / np.sqrt(v.var(ddof=1) + eps) * m


def test_reinforce_pp_baseline_counts_empty_rows_in_the_baseline():
    # review fix: the reward of a row with an all-zero mask was dropped (taken as 0) before the
    # group baseline. Group mean here is 0.5 (rows 0..3), not 1/4.
    mask = np.array([[0, 0], [1, 1], [1, 0], [1, 1]], dtype=bool)
    b = RolloutBatch(rewards=[1.0, 1.0, 0.0, 0.0], group_ids=[0, 0, 0, 0], response_mask=mask)
    a = compute_advantages("reinforce_pp_baseline", b).numpy()
    x = np.array([0.5, 0.5, -0.5, -0.5])[:, None] * mask
    np.testing.assert_allclose(a, _whiten(x, mask), atol=1e-12)
    assert np.all(a[0] == 0)
    # verl places an empty row's scalar reward on position -1 of token_level_rewards; the same batch
    # given as token-level rewards agrees
    tr = np.zeros((4, 2))
    tr[0, -1], tr[1, 1] = 1.0, 1.0
    bt = RolloutBatch(rewards=tr, group_ids=[0, 0, 0, 0], response_mask=mask)
    np.testing.assert_allclose(compute_advantages("reinforce_pp_baseline", bt).numpy(), a, atol=1e-12)


def test_reinforce_pp_empty_rows_are_the_documented_exception():
    mask = np.array([[0, 0], [1, 1], [1, 0], [1, 1]], dtype=bool)
    b = RolloutBatch(rewards=[5.0, 1.0, 0.0, 0.0], response_mask=mask)
    a = compute_advantages("reinforce_pp", b).numpy()
    rest = compute_advantages("reinforce_pp", RolloutBatch(rewards=[1.0, 0.0, 0.0], response_mask=mask[1:])).numpy()
    np.testing.assert_array_equal(a[0], [0.0, 0.0])
    np.testing.assert_allclose(a[1:], rest, atol=1e-12)
    assert "exception" in E.reinforce_pp.__doc__


@pytest.mark.parametrize("singleton", ["reward", "zero"])
@pytest.mark.parametrize("zero_variance", ["zero", "formula"])
def test_lite_ppo_equals_grpo_batch_scaling(singleton, zero_variance):
    b = _b([1.0, 0.0, 0.5, 0.7, 0.7, 0.3, 2.0], [0, 0, 0, 1, 1, 2, 3])
    opts = dict(singleton=singleton, zero_variance=zero_variance)
    np.testing.assert_array_equal(
        compute_advantages("lite_ppo", b, **opts).numpy(),
        compute_advantages("grpo", b, scale_rewards="batch", **opts).numpy(),
    )
    # the defaults: lite_ppo() == grpo(scale_rewards="batch", singleton="zero") (grpo's own default
    # singleton is verl's "reward")
    np.testing.assert_array_equal(
        compute_advantages("lite_ppo", b).numpy(),
        compute_advantages("grpo", b, scale_rewards="batch", singleton="zero").numpy(),
    )
    assert 'singleton="zero"' in E.lite_ppo.__doc__


def test_lite_ppo_float32_constant_groups_are_exactly_zero():
    r = torch.tensor([0.1] * 3 + [0.7] * 3 + [0.3, 0.9], dtype=torch.float32)
    a = compute_advantages("lite_ppo", RolloutBatch(rewards=r, group_ids=[0, 0, 0, 1, 1, 1, 2, 2]))
    assert torch.all(a[:6] == 0) and torch.all(a[6:] != 0)


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16, torch.float32])
def test_gaussian_grpo_low_precision(dtype):
    # review fix: ndtri has no bf16 kernel; computed in float64 and cast back
    r = [1.0, 0.0, 2.0, 0.5, 0.5, 3.0]
    g = [0, 0, 0, 1, 1, 1]
    a = compute_advantages("gaussian_grpo", RolloutBatch(rewards=torch.tensor(r, dtype=dtype), group_ids=g))
    ref = compute_advantages("gaussian_grpo", RolloutBatch(rewards=torch.tensor(r, dtype=torch.float64), group_ids=g))
    assert a.dtype == dtype
    torch.testing.assert_close(a, ref.to(dtype))


def test_unsigned_group_ids_accepted_like_observation_keys():
    ids = np.array([2**64 - 1, 2**63 - 1, 2**64 - 1, 7], dtype=np.uint64)
    b = RolloutBatch(rewards=[1.0, 0.0, 0.0, 1.0], group_ids=ids, trajectory_ids=ids.astype(np.uint32))
    ref = RolloutBatch(rewards=[1.0, 0.0, 0.0, 1.0], group_ids=[0, 1, 0, 2])
    np.testing.assert_array_equal(compute_advantages("grpo", b).numpy(), compute_advantages("grpo", ref).numpy())
    assert len(set(b.group_ids.tolist())) == 3  # distinct uint64 ids stay distinct
    t = RolloutBatch(rewards=[1.0, 0.0], group_ids=torch.tensor([3, 3], dtype=torch.uint32))
    assert t.group_ids.dtype == torch.int64


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the error raised without CUDA")
def test_unavailable_device_is_a_value_error():
    # review fix: torch's AssertionError("Torch not compiled with CUDA enabled") leaked out
    with pytest.raises(ValueError, match=r"device='cuda' but CUDA is not available"):
        RolloutBatch(rewards=[1.0, 0.0], group_ids=[0, 0], device="cuda")
    with pytest.raises(ValueError, match="device must be a torch device"):
        RolloutBatch(rewards=[1.0, 0.0], device="gpu0")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_batch_and_estimators_stay_on_device():
    b = RolloutBatch(rewards=[1.0, 0.0, 0.5, 0.2], group_ids=[0, 0, 1, 1], response_mask=np.ones((4, 2)), device="cuda")
    for m in ("grpo", "rloo", "gaussian_grpo", "lite_ppo", "reinforce_pp_baseline", "hapo", "gbpo"):
        assert compute_advantages(m, b).device.type == "cuda"
