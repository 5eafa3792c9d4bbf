"""Game claims G1-G5 and MM: they hold on random instances, and each check can fail."""

import numpy as np
import pytest

from theory_checks import assert_claim, get_claim, list_claims
from theory_checks import games as TG

GAME_IDS = ["G1", "G2", "G3", "MM", "G5", "G6"]


@pytest.mark.parametrize("claim_id", GAME_IDS)
def test_game_claim_holds_on_random_instances(claim_id):
    results = assert_claim(claim_id, rng=np.random.default_rng(99), n=8)
    # a gap (G5: best-response value - profile value) from best responses certified to 1e-11 may
    # come out below 0 by their round-off: -1.1e-13, i.e. tightness -1.1e-7, was seen on G5
    assert all(-1e-4 <= r.tightness <= 1.0 + 1e-9 for r in results)


def test_g4_minimax_q_claim_holds():
    (r,) = assert_claim("G4", rng=np.random.default_rng(5), n=1)
    assert r.details["fraction_below"] >= 0.5


def test_game_claims_registered_after_foundations():
    ids = [c.id for c in list_claims()]
    assert ids.index("F13") < ids.index("G1")
    for cid in GAME_IDS + ["G4"]:
        c = get_claim(cid)
        assert c is get_claim(c.name) and c.statement and c.source


def test_g1_fails_with_a_smaller_modulus():
    rng = np.random.default_rng(0)
    game = TG.sample_game(rng)
    assert TG.check_g1(game, rng).holds
    assert not TG.check_g1(game, rng, gamma=0.5 * game.gamma).holds


def test_g4_fails_with_too_few_sweeps():
    rng = np.random.default_rng(1)
    assert not TG.check_g4(TG.sample_g4(rng)[:3], rng, n_sweeps=50).holds


def test_g2_fails_on_a_game_solved_too_loosely(monkeypatch):
    import marl

    real = marl.shapley_value_iteration
    monkeypatch.setattr(marl, "shapley_value_iteration", lambda g, tol: real(g, tol=1e-1))
    rng = np.random.default_rng(3)
    game = TG.sample_game(rng)
    while game.n_actions == (1, 1) or game.gamma < 0.9:
        game = TG.sample_game(rng)
    assert not TG.check_g2(game, rng).holds
