"""Parity of mdp.llm with verl and TRL on committed reference vectors (tests/data/llm_parity).

The vectors were produced by running the upstream functions side by side outside the repository
(commits and procedure in tests/data/llm_parity/README.md); every comparison is to 1e-6.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from mdp.llm import RolloutBatch, agg_loss, kl_estimate, policy_loss  # noqa: E402
from mdp.llm import estimators as E  # noqa: E402

DATA = Path(__file__).parent / "data" / "llm_parity"
TOL = 1e-6


def _t(x):
    return torch.tensor(x, dtype=torch.float64)


@pytest.fixture(scope="module")
def verl():
    return json.loads((DATA / "verl.json").read_text())


@pytest.fixture(scope="module")
def trl():
    return json.loads((DATA / "trl.json").read_text())


@pytest.fixture(scope="module")
def verl_batch(verl):
    i = verl["inputs"]
    return RolloutBatch(
        rewards=_t(i["token_level_rewards"]),
        group_ids=i["group_ids"],
        response_mask=_t(i["response_mask"]),
        extra={"old_logp": i["old_logp"], "ref_logp": i["ref_logp"]},
    )


def _close(ours, ref, tol=TOL):
    ref = _t(ref)
    assert ours.shape == ref.shape
    err = float((ours.detach() - ref).abs().max())
    assert err <= tol, f"max deviation {err:.3g} > {tol}"


def test_commits_recorded(verl, trl):
    readme = (DATA / "README.md").read_text()
    for meta in (verl["meta"]["verl"], trl["meta"]["trl"]):
        assert len(meta["commit"]) == 40 and meta["commit"] in readme


def test_batch_has_singletons_and_zero_variance_groups(verl):
    gid = np.array(verl["inputs"]["group_ids"])
    counts = np.bincount(gid)
    assert (counts == 1).sum() >= 2
    scores = np.array(verl["inputs"]["token_level_rewards"]).sum(1)
    assert any(np.ptp(scores[gid == g]) == 0 for g in range(len(counts)) if counts[g] > 1)


@pytest.mark.parametrize(
    "name, fn, kw",
    [
        ("grpo", E.grpo, {}),
        ("grpo_no_std", E.dr_grpo, {}),
        ("grpo_vectorized", E.grpo, {"convention": "verl_vectorized"}),  # verl computes this one in float32
        ("rloo", E.rloo, {}),
        ("rloo_vectorized", E.rloo, {"convention": "verl_vectorized"}),
    ],
)
def test_verl_outcome_advantages(verl, verl_batch, name, fn, kw):
    adv = fn(verl_batch, **kw)
    _close(adv.unsqueeze(-1) * verl_batch.response_mask, verl["outputs"][name])


@pytest.mark.parametrize(
    "name, fn, kw",
    [
        ("reinforce_pp_gamma1.0", E.reinforce_pp, {"gamma": 1.0}),
        ("reinforce_pp_gamma0.9", E.reinforce_pp, {"gamma": 0.9}),
        ("reinforce_pp_kl0.05", E.reinforce_pp, {"kl_coef": 0.05, "kl_kind": "kl"}),
        ("reinforce_pp_baseline", E.reinforce_pp_baseline, {}),
        ("reinforce_pp_baseline_kl0.05", E.reinforce_pp_baseline, {"kl_coef": 0.05, "kl_kind": "kl"}),
    ],
)
def test_verl_reinforce_pp(verl, verl_batch, name, fn, kw):
    _close(fn(verl_batch, **kw), verl["outputs"][name])


@pytest.mark.parametrize("kind", ["kl", "k1", "abs", "mse", "k2", "low_var_kl", "k3"])
def test_verl_kl_penalty(verl, kind):
    i = verl["inputs"]
    # verl's "k3" is an alias of its clamped low_var_kl; inside the clamp range it equals Schulman's k3
    _close(kl_estimate(_t(i["logp"]), _t(i["ref_logp"]), kind), verl["outputs"][f"kl_{kind}"])


@pytest.mark.parametrize(
    "mask_name, mask_key", [("mask", "response_mask"), ("mask_empty", "response_mask_with_empty_row")]
)
@pytest.mark.parametrize("mode", ["token-mean", "seq-mean-token-sum", "seq-mean-token-mean", "seq-mean-token-sum-norm"])
def test_verl_agg_loss(verl, mode, mask_name, mask_key):
    i, o = verl["inputs"], verl["outputs"]
    got = agg_loss(_t(i["loss_mat"]), _t(i[mask_key]), f"verl:{mode}")
    assert abs(float(got) - o[f"agg_{mode}_{mask_name}"]) <= TOL
    if mode == "seq-mean-token-sum-norm":
        got = agg_loss(_t(i["loss_mat"]), _t(i[mask_key]), "token-sum-norm", loss_scale_factor=10)
        assert abs(float(got) - o[f"agg_seq-mean-token-sum-norm_C10_{mask_name}"]) <= TOL


@pytest.mark.parametrize("logp_key", ["logp", "logp_far"])
@pytest.mark.parametrize("mode", ["token-mean", "seq-mean-token-sum", "seq-mean-token-mean", "seq-mean-token-sum-norm"])
def test_verl_ppo_loss_and_gradient(verl, logp_key, mode):
    i = verl["inputs"]
    ref = verl["outputs"][f"ppo_{logp_key}_{mode}"]
    x = _t(i[logp_key]).requires_grad_(True)
    res = policy_loss(
        "ppo",
        x,
        _t(i["old_logp"]),
        _t(i["advantages_big"]),
        _t(i["response_mask"]),
        agg=f"verl:{mode}",
        eps_low=0.2,
        eps_high=0.28,
        dual_clip=3.0,
    )
    res.loss.backward()
    assert abs(float(res.loss.detach()) - ref["loss"]) <= TOL
    _close(x.grad, ref["grad"])
    assert abs(res.clip_fraction - ref["clipfrac"]) <= TOL
    assert abs(res.dual_clip_fraction - ref["clipfrac_lower"]) <= TOL
    assert abs(res.approx_kl - ref["ppo_kl"]) <= TOL


def test_verl_dual_clip_binds_in_the_far_case(verl):
    assert verl["outputs"]["ppo_logp_far_token-mean"]["clipfrac_lower"] > 0


@pytest.mark.parametrize("logp_key", ["logp", "logp_far"])
def test_verl_gspo(verl, logp_key):
    i = verl["inputs"]
    ref = verl["outputs"][f"gspo_{logp_key}"]
    x = _t(i[logp_key]).requires_grad_(True)
    res = policy_loss(
        "gspo", x, _t(i["old_logp"]), _t(i["advantages_big"]), _t(i["response_mask"]), eps_low=3e-4, eps_high=4e-4
    )
    res.loss.backward()
    assert abs(float(res.loss.detach()) - ref["loss"]) <= TOL
    _close(x.grad, ref["grad"])
    assert abs(res.clip_fraction - ref["clipfrac"]) <= TOL


# ---------------------------------------------------------------------------------------- TRL


def _trl_batch(trl, rows=None):
    r = trl["inputs"]["rewards"]
    G = trl["inputs"]["num_generations"]
    gid = np.arange(len(r)) // G
    return RolloutBatch(rewards=r, group_ids=gid)


@pytest.mark.parametrize("scale", ["group", "batch", "none"])
def test_trl_grpo_scale_rewards(trl, scale):
    _close(E.grpo(_trl_batch(trl), convention="trl", scale_rewards=scale), trl["outputs"][f"grpo_scale_{scale}"])


def test_trl_grpo_single_generation(trl):
    r = trl["inputs"]["rewards"][:5]
    b = RolloutBatch(rewards=r, group_ids=np.arange(5))
    _close(E.grpo(b, convention="trl"), trl["outputs"]["grpo_G1_group"])


def test_trl_lite_ppo_is_batch_scaling(trl):
    _close(E.lite_ppo(_trl_batch(trl), epsilon=1e-4), trl["outputs"]["grpo_scale_batch"])


@pytest.mark.parametrize("normalize, key", [(False, "rloo"), (True, "rloo_normalized")])
def test_trl_rloo(trl, normalize, key):
    _close(E.rloo(_trl_batch(trl), convention="trl", normalize=normalize), trl["outputs"][key])


@pytest.mark.parametrize("beta", [0.0, 0.04])
@pytest.mark.parametrize("level", ["token", "sequence"])
@pytest.mark.parametrize("loss_type", ["grpo", "bnpo", "dr_grpo", "dapo"])
def test_trl_loss_and_gradient(trl, loss_type, level, beta):
    i = trl["inputs"]
    ref = trl["outputs"][f"loss_{loss_type}_{level}_beta{beta}"]
    x = _t(i["logp"]).requires_grad_(True)
    res = policy_loss(
        "ppo" if level == "token" else "gspo",
        x,
        _t(i["old_logp"]),
        _t(i["advantages"]),
        _t(i["mask"]),
        agg=f"trl:{loss_type}",
        eps_low=0.2,
        eps_high=0.28,
        log_ratio_clamp=None,
        ref_logp=_t(i["ref_logp"]),
        kl_coef=beta,
        kl_kind="k3",
        loss_scale_factor=i["max_completion_length"],
    )
    res.loss.backward()
    assert abs(float(res.loss.detach()) - ref["loss"]) <= TOL
    _close(x.grad, ref["grad"])
