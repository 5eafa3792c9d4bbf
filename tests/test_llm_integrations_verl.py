"""rlab inside verl (0.9.1): registry names, verl's own compute_advantage and policy-loss calls, the
agentic compute_advantage drop-in (checked against verl-agent's GiGPO outputs), loud plugin failure
and entry-point discovery. CPU only; skipped when ``verl`` is not installed (see README)."""

from __future__ import annotations

import importlib
import json
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("verl", reason="verl is not installed: see the README (pip install verl==0.9.1 kernels==0.12.3)")
core_algos = pytest.importorskip("verl.trainer.ppo.core_algos")

from verl import DataProto  # noqa: E402

from mdp.llm import compute_advantages, list_estimators, list_policy_losses  # noqa: E402
from mdp.llm.batch import RolloutBatch  # noqa: E402

V = importlib.import_module("mdp.llm.integrations.verl")
ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data" / "llm_parity_agentic"


def outcome_data(seed=0, rows=12, tokens=5, G=4):
    g = torch.Generator().manual_seed(seed)
    mask = torch.ones(rows, tokens)
    lengths = torch.randint(1, tokens + 1, (rows,), generator=g)
    mask = (torch.arange(tokens)[None, :] < lengths[:, None]).float()
    scores = torch.randint(0, 3, (rows,), generator=g).float()
    tlr = torch.zeros(rows, tokens)
    tlr[torch.arange(rows), lengths - 1] = scores
    uid = np.array([f"p{i // G}" for i in range(rows)], dtype=object)
    data = DataProto.from_dict(tensors={"token_level_rewards": tlr, "response_mask": mask}, non_tensors={"uid": uid})
    return data


def test_every_estimator_and_loss_is_registered():
    for m in list_estimators():
        assert "rlab_" + m in core_algos.ADV_ESTIMATOR_REGISTRY
    for k in list_policy_losses():
        assert core_algos.get_policy_loss_fn("rlab_" + k).__name__ == "rlab_" + k
    assert V.register() == V.REGISTERED  # idempotent


@pytest.mark.parametrize(
    ("ours", "theirs", "norm"), [("grpo", "grpo", True), ("grpo", "grpo", False), ("rloo", "rloo", True)]
)
def test_verl_compute_advantage_registry_path(ours, theirs, norm):
    from verl.trainer.config import AlgoConfig
    from verl.trainer.ppo.ray_trainer import compute_advantage

    cfg = AlgoConfig(norm_adv_by_std_in_grpo=norm)
    a = compute_advantage(outcome_data(), adv_estimator="rlab_" + ours, norm_adv_by_std_in_grpo=norm, config=cfg)
    b = compute_advantage(outcome_data(), adv_estimator=theirs, norm_adv_by_std_in_grpo=norm, config=cfg)
    torch.testing.assert_close(a.batch["advantages"], b.batch["advantages"], atol=1e-6, rtol=0)
    assert torch.equal(a.batch["returns"], a.batch["advantages"])


def test_step_level_estimator_through_registry_names_the_workaround():
    from verl.trainer.ppo.ray_trainer import compute_advantage

    with pytest.raises(ValueError, match="mdp.llm.integrations.verl.compute_advantage"):
        compute_advantage(outcome_data(), adv_estimator="rlab_gigpo")


def test_options_from_config_env_and_python(monkeypatch):
    from omegaconf import OmegaConf

    cfg = OmegaConf.create({"gamma": 0.9, "norm_adv_by_std_in_grpo": False, "rlab_options": {"step_advantage_w": 0.5}})
    opts = V.estimator_options("gigpo", cfg)
    assert opts == {"gamma": 0.9, "mode": "mean_norm", "step_advantage_w": 0.5, "epsilon": 1e-6}
    monkeypatch.setenv("RLAB_VERL_OPTIONS", json.dumps({"rlab_grpo": {"zero_variance": "formula"}}))
    assert V.estimator_options("grpo", None)["zero_variance"] == "formula"
    with pytest.raises(TypeError, match="valid options"):
        V.estimator_options("grpo", OmegaConf.create({"rlab_options": {"nope": 1}}))
    monkeypatch.setenv("RLAB_VERL_OPTIONS", "{not json")
    with pytest.raises(ValueError, match="RLAB_VERL_OPTIONS"):
        V.estimator_options("grpo", None)


def gigpo_dataproto(z):
    rows = z["rewards"].shape[0]
    L = int(z["response_lengths"].max())
    lengths = torch.as_tensor(z["response_lengths"]).long()
    mask = (torch.arange(L)[None, :] < lengths[:, None]).float()
    tlr = torch.zeros(rows, L)  # the episode return sits elsewhere in verl-agent; step rewards come from "rewards"
    nt = {
        "uid": np.array([f"g{x}" for x in z["group_ids"]], dtype=object),
        "traj_uid": np.array([f"t{x}" for x in z["trajectory_ids"]], dtype=object),
        "anchor_obs": np.array([f"cell {x}" for x in z["observation_keys"]], dtype=object),
        "rewards": np.asarray(z["rewards"], dtype=np.float32),
        "step_ids": np.asarray(z["step_ids"]),
    }
    return DataProto.from_dict(tensors={"token_level_rewards": tlr, "response_mask": mask}, non_tensors=nt), mask


@pytest.mark.parametrize("mode", ["mean_norm", "mean_std_norm"])
@pytest.mark.parametrize("w", [1.0, 0.5])
def test_drop_in_runs_gigpo_like_verl_agent(mode, w):
    """verl-agent's compute_advantage keywords; outputs equal its GiGPO (tests/data/llm_parity_agentic)."""
    z = np.load(DATA / "gigpo_corridor.npz")
    data, mask = gigpo_dataproto(z)
    out = V.compute_advantage(
        data, "rlab_gigpo", gamma=float(z["gamma"]), step_advantage_w=w, gigpo_mode=mode, multi_turn=True
    )
    adv = out.batch["advantages"]
    expect = torch.as_tensor(z[f"adv::{mode}|step_rows|w={w}"], dtype=adv.dtype)
    torch.testing.assert_close(adv[:, 0], expect, atol=1e-5, rtol=0)
    assert torch.all(adv[mask == 0] == 0) and torch.all(adv == adv[:, :1] * mask)


def test_drop_in_step_ids_default_active_mask_and_salt():
    from mdp.llm.toy_envs import corridor, rollout

    r = rollout(
        corridor(4, start_states=(0, 1)), np.zeros((5, 3)), group_size=4, n_prompts=2, rng=np.random.default_rng(3)
    )
    n = r.n_rows
    mask = torch.ones(n, 2)
    nt = {
        "uid": r.group_ids.astype(object),
        "traj_uid": r.trajectory_ids.astype(object),
        "anchor_obs": r.observation_keys.astype(object),
        "rewards": np.asarray(r.rewards),
        "action_keys": np.asarray(r.actions),
        "active_masks": np.ones(n, dtype=bool),
    }
    nt["active_masks"][0] = False  # an inactive padding row: excluded, advantage 0
    data = DataProto.from_dict(
        tensors={"token_level_rewards": torch.zeros(n, 2), "response_mask": mask}, non_tensors=dict(nt)
    )
    out = V.compute_advantage(data, "rlab_salt", gamma=1.0)
    keep = np.flatnonzero(nt["active_masks"])
    b = RolloutBatch(
        rewards=np.asarray(r.rewards)[keep],
        group_ids=r.group_ids[keep],
        trajectory_ids=r.trajectory_ids[keep],
        step_ids=r.step_ids[keep] - (r.step_ids[keep] > 0) * (r.trajectory_ids[keep] == r.trajectory_ids[0]),
        observation_keys=r.observation_keys[keep],
        extra={"action_keys": np.asarray(r.actions)[keep]},
    )
    expect = compute_advantages("salt", b, epsilon=1e-6)
    torch.testing.assert_close(out.batch["advantages"][keep, 0].double(), expect, atol=1e-6, rtol=0)
    assert torch.all(out.batch["advantages"][0] == 0)


def test_drop_in_delegates_and_patch():
    from verl.trainer.ppo import ray_trainer

    orig = ray_trainer.compute_advantage
    undo = V.patch_compute_advantage()
    try:
        assert ray_trainer.compute_advantage is V.compute_advantage
        a = ray_trainer.compute_advantage(outcome_data(), adv_estimator="grpo")  # verl's own GRPO
        b = orig(outcome_data(), adv_estimator="grpo")
        assert torch.equal(a.batch["advantages"], b.batch["advantages"])
    finally:
        undo()
    assert ray_trainer.compute_advantage is orig


def loss_inputs(seed=0, rows=6, tokens=7):
    g = torch.Generator().manual_seed(seed)
    old = -torch.rand(rows, tokens, generator=g) * 2
    logp = (old + 0.4 * torch.randn(rows, tokens, generator=g)).requires_grad_(True)
    adv = torch.randn(rows, 1, generator=g).expand(rows, tokens).clone()
    lengths = torch.randint(1, tokens + 1, (rows,), generator=g)
    mask = torch.arange(tokens)[None, :] < lengths[:, None]
    return old, logp, adv, mask


@pytest.mark.parametrize("agg", ["token-mean", "seq-mean-token-mean", "seq-mean-token-sum", "seq-mean-token-sum-norm"])
def test_rlab_ppo_equals_verl_vanilla_with_global_normalisers(agg):
    """Loss and gradient of rlab_ppo equal verl's vanilla PPO, summed over two micro-batches that carry
    the global batch info verl's actor sets (batch_num_tokens, global_batch_size)."""
    from verl.workers.config import ActorConfig

    cfg = ActorConfig(
        strategy="fsdp",
        clip_ratio=0.2,
        clip_ratio_low=0.2,
        clip_ratio_high=0.28,
        clip_ratio_c=3.0,
        ppo_mini_batch_size=4,
        ppo_micro_batch_size_per_gpu=2,
        rollout_n=1,
        loss_agg_mode=agg,
    )
    old, logp, adv, mask = loss_inputs()
    cfg.global_batch_info.update(
        dp_size=1,
        batch_num_tokens=int(mask.sum()),
        global_batch_size=int((mask.sum(-1) > 0).sum()),
        loss_scale_factor=None,
    )
    grads, losses = [], []
    for name in ("rlab_ppo", "vanilla"):
        fn = core_algos.get_policy_loss_fn(name)
        lp = logp.detach().clone().requires_grad_(True)
        total = 0.0
        for sl in (slice(0, 2), slice(2, 6)):
            loss, metrics = fn(old[sl], lp[sl], adv[sl], mask[sl], loss_agg_mode=agg, config=cfg)
            total = total + loss
            assert set(metrics) >= {"actor/pg_clipfrac", "actor/ppo_kl", "actor/pg_clipfrac_lower"}
        total.backward()
        losses.append(total.detach())
        grads.append(lp.grad)
    torch.testing.assert_close(losses[0], losses[1], atol=1e-6, rtol=1e-6)
    torch.testing.assert_close(grads[0], grads[1], atol=1e-7, rtol=1e-6)


def test_hapo_through_verl_says_what_is_missing():
    old, logp, adv, mask = loss_inputs()
    with pytest.raises(ValueError, match="entropies"):
        core_algos.get_policy_loss_fn("rlab_hapo")(old, logp, adv, mask, config=None)


def test_plugin_failure_is_loud(monkeypatch, caplog):
    import mdp.llm.registry as reg

    def boom():
        raise RuntimeError("estimator registry broken")

    monkeypatch.setattr(reg, "list_estimators", boom)
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        with pytest.raises(RuntimeError, match="broken"):
            importlib.reload(V)
    assert any("rlab's verl plugin" in str(w.message) and w.category is RuntimeWarning for w in rec)
    assert any(r.levelname == "ERROR" and "rlab_*" in r.getMessage() for r in caplog.records)
    monkeypatch.undo()
    importlib.reload(V)  # restore


def test_entry_point_is_declared_and_discovered(tmp_path):
    import configparser

    cfg = configparser.ConfigParser()
    cfg.read(ROOT / "setup.cfg")
    eps = cfg["options.entry_points"]["verl.plugins"].strip()
    assert eps == "rlab = mdp.llm.integrations.verl"
    # a distribution on sys.path declaring the same entry point, found the way verl/__init__.py finds
    # plugins (importlib.metadata.entry_points(group="verl.plugins"), then ep.load())
    from importlib.metadata import entry_points

    dist = tmp_path / "rlab_probe-0.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: rlab-probe\nVersion: 0.0\n")
    (dist / "entry_points.txt").write_text("[verl.plugins]\n" + eps + "\n")
    sys.path.insert(0, str(tmp_path))
    try:
        found = [ep for ep in entry_points(group="verl.plugins") if ep.value == "mdp.llm.integrations.verl"]
        assert found and found[0].name == "rlab"
        assert found[0].load() is V
    finally:
        sys.path.remove(str(tmp_path))


def test_bad_inputs(monkeypatch):
    with pytest.raises(TypeError, match="valid"):
        V.set_estimator_options("rlab_gigpo", omega=1.0)
    with pytest.raises(ValueError, match="unknown policy loss"):
        V.set_loss_options("rlab_nope")
    monkeypatch.setenv("RLAB_VERL_OPTIONS", json.dumps({"rlab_ppo": {"clip": 0.1}}))
    with pytest.raises(TypeError, match="no option"):
        V.loss_options("rlab_ppo")
    monkeypatch.delenv("RLAB_VERL_OPTIONS")
    monkeypatch.setitem(core_algos.ADV_ESTIMATOR_REGISTRY, "rlab_grpo", lambda **kw: None)
    with pytest.raises(ValueError, match="already registered"):
        V.register()
    monkeypatch.undo()
    V.register()
    V.set_estimator_options("gigpo", step_advantage_w=0.25)
    try:
        assert V.estimator_options("gigpo")["step_advantage_w"] == 0.25
    finally:
        V._ESTIMATOR_OPTIONS.clear()
