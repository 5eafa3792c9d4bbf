"""RlabGRPOTrainer: real optimisation steps of TRL's GRPOTrainer on CPU with a tiny random model.

The model (2-layer Llama, hidden size 16) and its character tokenizer are built here; nothing is
downloaded. Skipped when ``trl`` is not installed (``pip install -e .[llm]``).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("trl", reason="trl is not installed: pip install -e '.[llm]' (trl==1.16.0)")
datasets = pytest.importorskip("datasets")
transformers = pytest.importorskip("transformers")


from mdp.llm.integrations.tiny import tiny_model, tiny_tokenizer  # noqa: E402


def grpo_args(tmp_path, **kw):
    from trl import GRPOConfig

    base = dict(
        output_dir=str(tmp_path),
        use_cpu=True,
        per_device_train_batch_size=4,
        num_generations=4,
        max_completion_length=6,
        max_steps=2,
        learning_rate=5e-2,
        logging_steps=1,
        report_to="none",
        save_strategy="no",
        seed=0,
        bf16=False,
        disable_tqdm=True,
    )
    base.update(kw)
    return GRPOConfig(**base)


def count_r(completions, **kw):
    # a reward with ties, a None (unscorable) row and varying values
    out = []
    for c in completions:
        n = c.count("r")
        out.append(None if "9" in c and n == 0 else float(n) - 0.5 * c.count("l"))
    return out


def trl_reference_advantages(rewards_per_func, weights, G, scale_rewards="group"):
    """TRL 1.16.0's sum_then_normalize advantages, written out from its documented formulas."""
    from trl.trainer.utils import nanstd

    unscorable = torch.isnan(rewards_per_func).all(dim=1)
    r = (rewards_per_func * weights.unsqueeze(0)).nansum(dim=1)
    r[unscorable] = torch.nan
    mean = torch.nanmean(r.view(-1, G), dim=1).repeat_interleave(G)
    std = nanstd(r.view(-1, G), dim=1).repeat_interleave(G) if scale_rewards != "batch" else nanstd(r)
    adv = r - mean
    if scale_rewards != "none":
        adv = adv / (std + 1e-4)
    return torch.nan_to_num(adv, nan=0.0)


def run_trainer(trainer):
    captured = []
    orig = trainer._generate_and_score_completions

    def spy(inputs):
        out = orig(inputs)
        captured.append(dict(trainer.rlab_last))
        return out

    trainer._generate_and_score_completions = spy
    before = [p.detach().clone() for p in trainer.model.parameters()]
    trainer.train()
    after = list(trainer.model.parameters())
    changed = any(not torch.equal(a.detach(), b) for a, b in zip(after, before))
    return captured, changed


@pytest.fixture(scope="module")
def tok():
    return tiny_tokenizer()


def test_grpo_two_steps_matches_trl_advantages(tmp_path, tok):
    from datasets import Dataset

    from mdp.llm.integrations.trl import RlabGRPOTrainer

    ds = Dataset.from_dict({"prompt": ["go r:", "pos 0:"] * 4})
    trainer = RlabGRPOTrainer(
        model=tiny_model(len(tok.get_vocab())),
        reward_funcs=[count_r],
        args=grpo_args(tmp_path),
        train_dataset=ds,
        processing_class=tok,
        advantage="grpo",
        loss="ppo",
    )
    captured, changed = run_trainer(trainer)
    assert len(captured) == 2 and changed
    for last in captured:
        rpf = last["rewards"]
        # ours against TRL's own computation in the same step, and against its formula
        ref = trl_reference_advantages(rpf, trainer.reward_weights, 4)
        assert torch.allclose(last["advantages"].double(), last["trl_advantages"].double(), atol=1e-5)
        assert torch.allclose(last["advantages"].double(), ref.double(), atol=1e-5)
    hist = [h for h in trainer.state.log_history if "loss" in h]
    assert len(hist) == 2 and all(math.isfinite(float(h["loss"])) for h in hist)


def test_nan_rows_and_process_slices():
    """Unscorable rows get 0 and stay out of the statistics; groups straddling two processes are
    computed on the gathered table and each process gets its own rows (TRL's layout)."""
    from mdp.llm.integrations.common import resolve_estimator_options
    from mdp.llm.integrations.trl import local_outcome_advantages

    g = torch.Generator().manual_seed(1)
    rpf = torch.randint(0, 3, (12, 2), generator=g).float()
    rpf[3, :] = float("nan")  # unscorable
    rpf[5, 0] = float("nan")  # partly scorable: nansum
    rpf[8:12, :] = float("nan")
    rpf[8, 1] = 2.0  # group 2 has a single scorable row -> 0
    w = torch.tensor([1.0, 0.5])
    for scale in ("group", "batch", "none"):
        opts = resolve_estimator_options("grpo", convention="trl", scale_rewards=scale)
        ref = trl_reference_advantages(rpf, w, 4, scale)
        # 2 processes x 6 rows: group 1 (rows 4-7) straddles the processes
        for p in (0, 1):
            full, mine = local_outcome_advantages(
                "grpo", rpf, w, num_generations=4, process_index=p, local_rows=6, options=opts
            )
            assert torch.allclose(mine.double(), ref[6 * p : 6 * p + 6].double(), atol=1e-6)
            assert torch.equal(mine, full[6 * p : 6 * p + 6])
        assert full[3] == 0 and full[8] == 0
    # a process that grouped only its own rows would get other values for the straddling group
    own = trl_reference_advantages(rpf[:6], w, 2)
    assert not torch.allclose(own[4:6].double(), ref[4:6].double(), atol=1e-3)


def test_gigpo_corridor_two_steps(tmp_path, tok):
    from datasets import Dataset

    from mdp.llm import compute_advantages
    from mdp.llm.integrations.rollout import ToyEnvRollout, turn_reward_sum
    from mdp.llm.integrations.trl import RlabGRPOTrainer
    from mdp.llm.toy_envs import corridor

    # start next to the goal; unparsable turns cost 0.1, so returns differ inside a group
    env = corridor(3, gamma=0.95, start_states=(1, 2), step_reward=-0.05)
    rollout = ToyEnvRollout(env, rng=np.random.default_rng(0), max_turns=5, max_new_tokens=1, invalid_reward=-0.1)
    ds = Dataset.from_dict({"prompt": ["go to goal", "walk r"] * 4})
    trainer = RlabGRPOTrainer(
        model=tiny_model(len(tok.get_vocab()), seed=1),
        reward_funcs=[turn_reward_sum],
        args=grpo_args(tmp_path, max_completion_length=32),
        train_dataset=ds,
        processing_class=tok,
        rollout_func=rollout,
        advantage="gigpo",
        advantage_options={"gamma": 0.9},
        loss="ppo",
    )
    captured, changed = run_trainer(trainer)
    assert len(captured) == 2 and changed
    for last in captured:
        batch, step_adv = last["batch"], last["step_advantages"]
        # step rows: one per turn; the estimator output is compute_advantages on that batch
        expect = compute_advantages("gigpo", batch, gamma=0.9, epsilon=1e-4)
        assert torch.equal(step_adv, expect)
        adv = last["advantages"]
        assert adv.dim() == 2 and adv.shape[0] == 4
        # every turn's model tokens carry its step advantage; environment tokens carry 0
        rows, turn = last["step_row"].tolist(), last["step_turn"].tolist()
        assert sorted(set(rows)) == [0, 1, 2, 3]
        assert batch.n_rows == len(rows) >= 4
        on_turns = torch.zeros_like(adv, dtype=torch.bool)
        for k, (r, t) in enumerate(zip(rows, turn)):
            s, e = last["turns"][r]["spans"][t]
            assert e > s
            assert torch.all(adv[r, s:e] == step_adv[k].float())
            on_turns[r, s:e] = True
        assert torch.all(adv[~on_turns] == 0)
        # the step rewards sum to each row's TRL reward (the episode return)
        R = batch.rewards.new_zeros(4).index_add_(0, batch.trajectory_ids, batch.rewards)
        assert torch.allclose(R, last["rewards"][:, 0].double())
    assert any(float(last["step_advantages"].abs().max()) > 0 for last in captured)
    assert all(math.isfinite(float(h["loss"])) for h in trainer.state.log_history if "loss" in h)


def test_bad_constructor_arguments():
    from mdp.llm.integrations.trl import RlabGRPOTrainer

    with pytest.raises(ValueError, match="unknown advantage estimator"):
        RlabGRPOTrainer(model=None, advantage="nope")
    with pytest.raises(TypeError, match="advantage must be"):
        RlabGRPOTrainer(model=None, advantage=3)
    with pytest.raises(ValueError, match="unknown policy loss"):
        RlabGRPOTrainer(model=None, loss="nope")
    with pytest.raises(TypeError, match="no option"):
        RlabGRPOTrainer(model=None, loss="ppo", loss_options={"clip": 0.2})
    with pytest.raises(ValueError, match="loss_options needs loss"):
        RlabGRPOTrainer(model=None, loss_options={"eps_low": 0.2})


@pytest.mark.parametrize("loss_type", ["dapo", "grpo", "bnpo", "dr_grpo"])
def test_rlab_ppo_loss_equals_trl_loss(tmp_path, tok, loss_type):
    """loss='ppo' (TRL's clip bounds, TRL's aggregation for each loss_type): value and gradient equal
    TRL's own _compute_loss on the same inputs, with a KL term, ratios away from 1 and 2 accumulation steps."""
    from datasets import Dataset
    from trl import GRPOTrainer

    from mdp.llm.integrations.trl import RlabGRPOTrainer

    trainer = RlabGRPOTrainer(
        model=tiny_model(len(tok.get_vocab())),
        reward_funcs=[count_r],
        args=grpo_args(tmp_path, loss_type=loss_type, epsilon_high=0.28),
        train_dataset=Dataset.from_dict({"prompt": ["go r:"] * 8}),
        processing_class=tok,
        loss="ppo",
    )
    trainer.current_gradient_accumulation_steps = 2
    trainer.beta = 0.05  # KL term on given reference log-probs (beta at construction would load a reference model)
    g = torch.Generator().manual_seed(0)
    B, P, T = 4, 3, 6
    comp_mask = (torch.arange(T)[None, :] < torch.tensor([6, 4, 1, 3])[:, None]).long()
    inputs = {
        "prompt_ids": torch.randint(3, 20, (B, P), generator=g),
        "prompt_mask": torch.ones(B, P, dtype=torch.long),
        "completion_ids": torch.randint(3, 20, (B, T), generator=g),
        "completion_mask": comp_mask,
        "advantages": torch.randn(B, generator=g),
        "num_items_in_batch": comp_mask.sum() * 2,
    }
    with torch.no_grad():
        logp, _, _ = trainer._get_per_token_logps_and_entropies(
            trainer.model,
            torch.cat([inputs["prompt_ids"], inputs["completion_ids"]], 1),
            torch.cat([inputs["prompt_mask"], comp_mask], 1),
            T,
        )
    inputs["old_per_token_logps"] = logp + 0.3 * torch.randn(B, T, generator=g)
    inputs["ref_per_token_logps"] = logp + 0.2 * torch.randn(B, T, generator=g)
    results = []
    for fn in (RlabGRPOTrainer._compute_loss, GRPOTrainer._compute_loss):
        trainer.model.zero_grad()
        loss = fn(trainer, trainer.model, inputs)
        loss.backward()
        grads = [p.grad.detach().clone() for p in trainer.model.parameters() if p.grad is not None]
        results.append((loss.detach(), grads))
    torch.testing.assert_close(results[0][0], results[1][0], atol=1e-6, rtol=1e-5)
    for a, b in zip(results[0][1], results[1][1]):
        torch.testing.assert_close(a, b, atol=1e-6, rtol=1e-4)
