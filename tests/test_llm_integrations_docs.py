"""Executes the code blocks of docs/llm_integrations.md (TRL and verl blocks only where installed)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

PAGE = Path(__file__).resolve().parents[1] / "docs" / "llm_integrations.md"


def blocks() -> dict:
    text = PAGE.read_text()
    found = re.findall(r"<!-- test: ([\w-]+) -->\n```python\n(.*?)```", text, flags=re.S)
    return {name: code for name, code in found}


def test_page_has_the_tested_blocks():
    assert set(blocks()) == {"trl-build", "trl-train", "verl", "torch"}


def test_plain_torch_block_learns(capsys):
    ns: dict = {}
    exec(compile(blocks()["torch"], f"{PAGE}:torch", "exec"), ns)
    # the snippet's own claim: training with GiGPO + PPO raises the exact success probability
    assert ns["p1"] > ns["p0"] + 0.05
    assert "success probability" in capsys.readouterr().out


def test_trl_blocks_run_gigpo_on_the_corridor():
    pytest.importorskip("trl", reason="trl is not installed: pip install -e '.[llm]'")
    from mdp.llm import compute_advantages

    ns: dict = {}
    b = blocks()
    exec(compile(b["trl-build"], f"{PAGE}:trl-build", "exec"), ns)
    exec(compile(b["trl-train"], f"{PAGE}:trl-train", "exec"), ns)
    last = ns["trainer"].rlab_last
    expect = compute_advantages("gigpo", last["batch"], gamma=0.9, epsilon=1e-4)
    assert torch.equal(last["step_advantages"], expect)
    adv = last["advantages"]
    for k, (r, t) in enumerate(zip(last["step_row"].tolist(), last["step_turn"].tolist())):
        s, e = last["turns"][r]["spans"][t]
        assert torch.all(adv[r, s:e] == expect[k].float())


def test_verl_block_runs_gigpo():
    pytest.importorskip("verl", reason="verl is not installed (see the README)")
    pytest.importorskip("verl.trainer.ppo.core_algos")
    from mdp.llm import RolloutBatch, compute_advantages

    ns: dict = {}
    exec(compile(blocks()["verl"], f"{PAGE}:verl", "exec"), ns)
    b = RolloutBatch(
        rewards=[0.0, 0.0, 1.0, 0.0, 0.0],
        group_ids=[0] * 5,
        trajectory_ids=[0, 0, 0, 1, 1],
        step_ids=[0, 1, 2, 0, 1],
        observation_keys=["pos0", "pos1", "pos2", "pos0", "pos1"],
    )
    expect = compute_advantages("gigpo", b, gamma=0.95, mode="mean_norm", epsilon=1e-6)
    torch.testing.assert_close(ns["data"].batch["advantages"][:, 0].double(), expect, atol=1e-6, rtol=0)
