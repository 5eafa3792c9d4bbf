"""LLM claims L1-L9 (theory_checks.llm): they hold on random instances, and each check can fail."""

import numpy as np
import pytest

pytest.importorskip("torch")

import theory_checks.llm as TL  # noqa: E402  (registers L1-L9)
from theory_checks import assert_claim, get_claim  # noqa: E402

FAST = ["L1", "L2", "L3", "L4", "L5", "L8", "L9"]


@pytest.mark.parametrize("claim_id", FAST)
def test_llm_claim_holds_on_random_instances(claim_id):
    results = assert_claim(claim_id, rng=np.random.default_rng(7), n=8)
    assert all(0.0 <= r.tightness <= 1.0 + 1e-9 for r in results)


def test_l7_spo_claim_holds_and_is_fairly_tight():
    results = assert_claim("L7", rng=np.random.default_rng(3), n=4)
    assert max(r.tightness for r in results) > 0.05  # the Hedge bound is not vacuous here


def test_l6_arena_accuracy_claim_holds():
    (r,) = assert_claim("L6", rng=np.random.default_rng(11), n=1)
    m = r.details["means"]
    assert m["rr"] > m["seeded"] > m["random"]


def test_claims_registered_with_metadata():
    for cid in FAST + ["L6", "L7"]:
        c = get_claim(cid)
        assert c is get_claim(c.name) and c.statement and c.source
        assert c.constant in ("source", "derived", "none")
        if c.constant == "derived":
            assert c.notes


def test_l1_fails_on_uncentred_advantages(monkeypatch):
    import mdp.llm

    monkeypatch.setattr(mdp.llm, "compute_advantages", lambda method, batch, **o: batch.rewards + 1.0)
    rng = np.random.default_rng(0)
    assert not TL.check_l1(TL.sample_groups(rng), rng).holds


def test_l4_fails_for_a_naive_selection(monkeypatch):
    import mdp.llm.samplers as S

    monkeypatch.setattr(S, "max_variance_subset", lambda a, k: np.arange(k))
    inst = {"advantages": np.array([0.0, 0.1, 5.0, -5.0]), "k": 2, "scores": np.eye(4, 5)}
    assert not TL.check_l4(inst, np.random.default_rng(0)).holds


def test_l5_fails_if_counts_are_off(monkeypatch):
    import mdp.llm.arena as P

    real = P.round_robin

    def double(items, judge, **kw):
        res = real(items, judge, **kw)
        object.__setattr__(res, "n_judge_calls", res.n_judge_calls + 1)
        return res

    monkeypatch.setattr(P, "round_robin", double)
    assert not TL.check_l5([4], np.random.default_rng(0)).holds


def test_l7_fails_for_a_wrong_minimax_winner(monkeypatch):
    import mdp.llm.spo as P

    monkeypatch.setattr(P, "minimax_winner", lambda M: (np.full(len(M), 1 / len(M)), 0.5))
    assert not TL.check_l7(TL._rpsd(), np.random.default_rng(0), n_iter=200).holds


def test_l8_fails_for_the_mean_sign_rule(monkeypatch):
    import mdp.llm.bpo as B

    monkeypatch.setattr(B, "bpo_sign_rule", lambda q, p, e: 1 + e * np.sign(q - p @ q))
    inst = {"q": np.array([0.0, 0.0, 0.0, 10.0]), "pi0": np.full(4, 0.25), "eps": 0.2}
    assert not TL.check_l8(inst, np.random.default_rng(0)).holds


def test_l3_equality_case():
    rng = np.random.default_rng(2)
    inst = {"logits": np.array([0.0, 0.0]), "rewards": np.array([1.0, 0.0])}
    r = TL.check_l3(inst, rng)
    assert r.holds and r.tightness == pytest.approx(1.0)  # two equal arms: both bounds are equalities
