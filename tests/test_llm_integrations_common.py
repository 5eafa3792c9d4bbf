"""Framework-neutral pieces of mdp.llm.integrations (torch only): options under a convention, turn
records -> step rows -> per-turn token advantages, the rollout helper's checks, bad inputs."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from mdp.llm import compute_advantages  # noqa: E402
from mdp.llm.integrations.common import (  # noqa: E402
    is_step_estimator,
    outcome_advantages,
    resolve_estimator_options,
    spread_turn_advantages,
    turn_batch,
)
from mdp.llm.integrations.rollout import ToyEnvRollout, parse_action, turn_reward_sum  # noqa: E402
from mdp.llm.toy_envs import corridor  # noqa: E402


def turns_example():
    # two groups of two rows; spans are token offsets of the model's turns
    return [
        {"spans": [(0, 2), (4, 5)], "rewards": [0.0, 1.0], "observation_keys": [0, 1], "action_keys": [2, 2]},
        {"spans": [(0, 1)], "rewards": [0.0], "observation_keys": [0], "action_keys": [1]},
        {
            "spans": [(0, 1), (3, 4), (6, 7)],
            "rewards": [0.0, 0.0, 0.0],
            "observation_keys": [0, 0, 1],
            "action_keys": [1, 2, 0],
        },
        {"spans": [(0, 2)], "rewards": [-0.5], "observation_keys": [0], "action_keys": [0]},
    ]


def test_resolve_options_per_convention():
    assert resolve_estimator_options("grpo", convention="trl") == {"convention": "trl"}
    assert resolve_estimator_options("gigpo", convention="trl")["epsilon"] == 1e-4
    assert resolve_estimator_options("gigpo", convention="verl")["epsilon"] == 1e-6
    assert resolve_estimator_options("grpo", convention="trl", scale_rewards="none")["scale_rewards"] == "none"
    assert resolve_estimator_options("gigpo", convention="verl", norm_adv_by_std_in_grpo=False)["mode"] == "mean_norm"
    # explicit options win
    assert resolve_estimator_options("gigpo", {"epsilon": 0.0, "mode": "mean_std_norm"}, scale_rewards="none") == {
        "epsilon": 0.0,
        "mode": "mean_std_norm",
    }
    assert is_step_estimator("gigpo") and is_step_estimator("salt") and not is_step_estimator("grpo")


def test_turn_batch_and_spread():
    turns = turns_example()
    R = torch.tensor([1.0, 0.5, float("nan"), -0.5])  # row 2 unscorable
    batch, srow, sturn = turn_batch(turns, [0, 0, 1, 1], outcome_rewards=R)
    assert batch.n_rows == 2 + 1 + 1 and 2 not in srow.tolist()
    # the last turn absorbs R - sum(env rewards): row 1 gets 0.5 on its only turn
    assert batch.rewards.tolist() == [0.0, 1.0, 0.5, -0.5]
    adv = compute_advantages("gigpo", batch, gamma=1.0)
    tok = spread_turn_advantages(adv, srow, sturn, turns, rows=[0, 1, 2, 3], n_tokens=8)
    assert tok.shape == (4, 8)
    assert torch.all(tok[0, 0:2] == adv[0]) and torch.all(tok[0, 4:5] == adv[1])
    assert torch.all(tok[0, 2:4] == 0) and torch.all(tok[2] == 0)
    # a process holding rows 2..3 gets only those
    part = spread_turn_advantages(adv, srow, sturn, turns, rows=[2, 3], n_tokens=8)
    assert torch.equal(part, tok[2:])
    assert turn_reward_sum(rlab_turns=turns) == [1.0, 0.0, 0.0, -0.5]


def test_outcome_advantages_all_unscorable():
    out = outcome_advantages("grpo", torch.full((4, 1), float("nan")), [0, 0, 1, 1])
    assert torch.equal(out, torch.zeros(4))


def test_parse_action():
    assert parse_action("right") == 2 and parse_action("Left now") == 0 and parse_action(" s") == 1
    assert parse_action("") is None and parse_action("xyz") is None


def test_bad_inputs():
    with pytest.raises(ValueError, match="convention"):
        resolve_estimator_options("grpo", convention="openrlhf")
    with pytest.raises(TypeError, match="valid options"):
        resolve_estimator_options("grpo", {"gamma": 0.9})
    with pytest.raises(TypeError, match="framework setting"):
        resolve_estimator_options("grpo", clip=0.2)
    with pytest.raises(ValueError, match="scale_rewards"):
        resolve_estimator_options("grpo", scale_rewards="rows")
    with pytest.raises(ValueError, match="unknown advantage estimator"):
        resolve_estimator_options("nope")
    turns = turns_example()
    with pytest.raises(ValueError, match="one entry per row"):
        turn_batch(turns, [0, 0, 1])
    with pytest.raises(ValueError, match="lacks"):
        turn_batch([{"spans": [(0, 1)]}], [0])
    with pytest.raises(ValueError, match="equal lengths"):
        turn_batch([{**turns[0], "rewards": [0.0]}], [0])
    with pytest.raises(ValueError, match="no turn"):
        turn_batch([{"spans": [], "rewards": [], "observation_keys": [], "action_keys": []}], [0])
    with pytest.raises(TypeError, match="must be a dict"):
        turn_batch([[1, 2]], [0])
    with pytest.raises(ValueError, match="non-finite"):
        turn_batch([{**turns[1], "rewards": [float("inf")]}], [0])
    b, srow, sturn = turn_batch(turns, [0, 0, 1, 1])
    with pytest.raises(ValueError, match="does not fit"):
        spread_turn_advantages(torch.zeros(b.n_rows), srow, sturn, turns, rows=[0], n_tokens=3)
    with pytest.raises(ValueError, match="weights"):
        outcome_advantages("grpo", torch.ones(4, 2), [0, 0, 1, 1], weights=[1.0])
    with pytest.raises(ValueError, match="one entry per row"):
        outcome_advantages("grpo", torch.ones(4, 1), [0, 0, 1])
    env = corridor(3)
    rng = np.random.default_rng(0)
    with pytest.raises(TypeError, match="ToyEnv"):
        ToyEnvRollout("corridor", rng=rng)
    with pytest.raises(ValueError, match="action_words"):
        ToyEnvRollout(env, rng=rng, action_words=("left", "right"))
    with pytest.raises(ValueError, match="invalid_action"):
        ToyEnvRollout(env, rng=rng, invalid_action=3)
    with pytest.raises(TypeError, match="invalid_reward"):
        ToyEnvRollout(env, rng=rng, invalid_reward=float("nan"))
    with pytest.raises(ValueError, match="max_turns"):
        ToyEnvRollout(env, rng=rng, max_turns=0)
    with pytest.raises(TypeError):
        ToyEnvRollout(env, rng=0)
    with pytest.raises(ValueError, match="rlab_turns"):
        turn_reward_sum(completions=["a"])


def test_start_state_is_a_function_of_the_prompt():
    env = corridor(5, start_states=(0, 1, 2, 3))
    ro = ToyEnvRollout(env, rng=np.random.default_rng(0))
    starts = {ro.start_state(p) for p in ["a", "a", "a"]}
    assert len(starts) == 1
    assert {ro.start_state(str(i)) for i in range(40)} == {0, 1, 2, 3}
