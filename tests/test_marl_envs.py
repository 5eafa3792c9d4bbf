"""PettingZoo environments of marl.envs: API conformance, rules, exact model export, known values.

Kinds of test: PettingZoo's own API/seed/max-cycles tests; rule scenarios worked out by hand from
the conventions of docs/papers/foundations.md section 6 (soccer) and the module docstrings; the exported
models against independent plain-loop re-implementations of the rules (differential); the
environments' sampled transitions and rewards against the exported models (conformance,
chi-square); known values (matrix games: val = 0 certified by best responses; soccer's
regression value with the lead's Shapley solver when it is available); bad input.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy.stats import chisquare

pytest.importorskip("pettingzoo")

import marl  # noqa: E402
from marl.envs import matrix_games_v0, pursuit_v0, soccer_v0  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]

# PettingZoo's api_test warns about style choices we make on purpose (Discrete observations are
# numpy.int64 scalars, not arrays; MultiDiscrete position observations).
pytestmark = [
    pytest.mark.filterwarnings("ignore:Observation is not a NumPy array"),
    pytest.mark.filterwarnings("ignore:Observation space for each agent probably should be"),
    pytest.mark.filterwarnings("ignore:Observation numpy array is all zeros"),
]


def _solver():
    return marl.shapley_value_iteration


# ---------------------------------------------------------------------------- import hygiene
def test_import_marl_stays_free_of_pettingzoo_and_envs_load_lazily():
    code = (
        "import json, sys; import marl; before = 'pettingzoo' in sys.modules; "
        "envs = marl.envs; print(json.dumps([before, 'pettingzoo' in sys.modules, "
        "envs.soccer_v0.__name__]))"
    )
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=True
    )
    before, after, name = json.loads(out.stdout.strip().splitlines()[-1])
    assert before is False, "import marl pulled in pettingzoo"
    assert after is True and name == "marl.envs.soccer_v0"


# ---------------------------------------------------------------------------- PettingZoo API
ENV_CASES = [
    (soccer_v0, {}),
    (soccer_v0, {"obs_type": "positions", "terminate_on_goal": True, "draw_probability": 0.1}),
    (pursuit_v0, {}),
    (pursuit_v0, {"obs_type": "positions", "torus": True, "slip": 0.2, "start": "uniform"}),
    (pursuit_v0, {"width": 5, "height": 3, "walls": [(1, 1), (2, 2)], "terminate_on_capture": True}),
    (matrix_games_v0, {}),
    (matrix_games_v0, {"game": "prisoners_dilemma", "obs_type": "constant", "max_cycles": None}),
]
CASE_IDS = [f"{m.__name__.rsplit('.', 1)[1]}-{i}" for i, (m, _) in enumerate(ENV_CASES)]


@pytest.mark.parametrize("mod,kw", ENV_CASES, ids=CASE_IDS)
def test_pettingzoo_api_and_seed_tests(mod, kw):
    from pettingzoo.test import api_test, parallel_api_test, parallel_seed_test, seed_test

    parallel_api_test(mod.parallel_env(**kw), num_cycles=200)
    api_test(mod.env(**kw), num_cycles=200)
    seed_test(lambda: mod.env(**kw), num_cycles=100)
    parallel_seed_test(lambda: mod.parallel_env(**kw), num_cycles=100)


@pytest.mark.parametrize("mod", [soccer_v0, pursuit_v0, matrix_games_v0])
def test_pettingzoo_max_cycles_and_metadata(mod):
    from pettingzoo.test import max_cycles_test

    max_cycles_test(mod)
    e = mod.parallel_env()
    assert e.metadata["name"] == mod.__name__.rsplit(".", 1)[1]
    assert e.metadata["render_modes"] == ["ansi"]
    assert e.unwrapped is e and mod.env().unwrapped.__class__ is mod.raw_env


@pytest.mark.parametrize("mod", [soccer_v0, pursuit_v0, matrix_games_v0])
def test_infos_carry_the_model_state_and_observations_match(mod):
    e = mod.parallel_env()
    obs, infos = e.reset(seed=3)
    for _ in range(30):
        for a in e.agents:
            assert obs[a] == infos[a]["state"] == e.state()
            assert isinstance(obs[a], np.int64)
        obs, _, _, _, infos = e.step({a: e.action_space(a).sample() for a in e.agents})


def test_reset_seed_reproduces_and_unseeded_reset_continues_the_stream():
    def run(e, seed):
        e.reset(seed=seed)
        e.action_space("player_0").seed(0)
        e.action_space("player_1").seed(1)
        out = []
        for _ in range(50):
            _, r, *_ = e.step({a: e.action_space(a).sample() for a in e.agents})
            out.append((e.state(), r["player_0"]))
        return out

    e1, e2 = soccer_v0.parallel_env(), soccer_v0.parallel_env()
    assert run(e1, 7) == run(e2, 7)
    starts = set()
    e1.reset(seed=1)
    for _ in range(40):
        starts.add(e1.reset()[1]["player_0"]["state"])
    assert starts == set(soccer_v0.KICKOFF_STATES)  # the generator carries on between resets


# ---------------------------------------------------------------------------- soccer: layout
def test_soccer_state_space_and_kickoff_states():
    assert soccer_v0.N_STATES == 760 == 2 * 20 * 19
    seen = set()
    for s in range(soccer_v0.N_STATES):
        pa, pb, ball = soccer_v0.decode_state(s)
        assert pa != pb
        assert soccer_v0.state_index(pa, pb, ball) == s
        seen.add((pa, pb, ball))
    assert len(seen) == 760
    ka, kb = soccer_v0.KICKOFF_STATES
    assert soccer_v0.decode_state(ka) == ((3, 2), (1, 1), 0)
    assert soccer_v0.decode_state(kb) == ((3, 2), (1, 1), 1)
    assert soccer_v0.state_index((3, 2), (1, 1), "B") == kb


def test_soccer_swap_maps_kickoffs_and_is_an_involution():
    ka, kb = soccer_v0.KICKOFF_STATES
    assert soccer_v0.swap_state(ka) == kb and soccer_v0.swap_state(kb) == ka
    sw = np.array([soccer_v0.swap_state(s) for s in range(760)])
    assert np.array_equal(sw[sw], np.arange(760))
    assert [soccer_v0.swap_action(a) for a in range(5)] == [1, 0, 3, 2, 4]


# ---------------------------------------------------------------------------- soccer: rules by hand
N, S, E, W, STAND = range(5)  # soccer and pursuit actions
KA, KB = soccer_v0.KICKOFF_STATES


def _row(g, pa, pb, ball, a, b):
    s = soccer_v0.state_index(pa, pb, ball)
    P = g.P[(s * 5 + a) * 5 + b].toarray().ravel()
    return {int(t): float(P[t]) for t in np.flatnonzero(P)}, float(g.R[s, a, b])


def _st(pa, pb, ball):
    return soccer_v0.state_index(pa, pb, ball)


@pytest.fixture(scope="module")
def soccer_game():
    return soccer_v0.model(0.9)


def test_soccer_scoring_moves(soccer_game):
    g = soccer_game
    # A holds the ball in a goal mouth (x = 0, y = 1) and moves W: goal, reset to a kick-off
    assert _row(g, (0, 1), (4, 3), 0, W, STAND) == ({KA: 0.5, KB: 0.5}, 1.0)
    assert _row(g, (0, 2), (4, 3), 0, W, E)[1] == 1.0
    # not a goal mouth row: the move off the grid leaves A in place
    assert _row(g, (0, 0), (4, 3), 0, W, STAND) == ({_st((0, 0), (4, 3), 0): 1.0}, 0.0)
    assert _row(g, (0, 3), (4, 3), 0, W, STAND) == ({_st((0, 3), (4, 3), 0): 1.0}, 0.0)
    # B scores on the right, -1 to A
    assert _row(g, (0, 0), (4, 2), 1, STAND, E) == ({KA: 0.5, KB: 0.5}, -1.0)
    # no own goals: B with the ball moving W out of x = 0, A moving E out of x = 4
    assert _row(g, (3, 3), (0, 1), 1, STAND, W) == ({_st((3, 3), (0, 1), 1): 1.0}, 0.0)
    assert _row(g, (4, 1), (0, 0), 0, E, STAND) == ({_st((4, 1), (0, 0), 0): 1.0}, 0.0)
    # without the ball, moving out of the goal mouth is just blocked
    assert _row(g, (0, 1), (4, 3), 1, W, STAND) == ({_st((0, 1), (4, 3), 1): 1.0}, 0.0)


def test_soccer_collisions_pass_the_ball_to_the_stationary_player(soccer_game):
    g = soccer_game
    # A (ball) runs into a standing B: A stays, the ball goes to B
    assert _row(g, (2, 1), (3, 1), 0, E, STAND) == ({_st((2, 1), (3, 1), 1): 1.0}, 0.0)
    # B (no ball) runs into a standing A: nothing changes
    assert _row(g, (2, 1), (3, 1), 0, STAND, W) == ({_st((2, 1), (3, 1), 0): 1.0}, 0.0)
    # both head for the same empty square: the first mover gets there, the second is blocked
    # and, if it held the ball, the ball passes to the (now stationary) first mover
    P, r = _row(g, (1, 1), (3, 1), 0, E, W)
    assert P == {_st((2, 1), (3, 1), 0): 0.5, _st((1, 1), (2, 1), 1): 0.5} and r == 0.0
    # A moves E into B's square while B moves away E: order decides
    P, r = _row(g, (2, 1), (3, 1), 0, E, E)
    assert P == {_st((3, 1), (4, 1), 0): 0.5, _st((2, 1), (4, 1), 1): 0.5} and r == 0.0
    # B (ball, at x = 1) runs into A at the goal mouth while A shoots W: if B moves first A
    # receives the ball and scores, if A moves first A (no ball) stays and then gets the ball
    P, r = _row(g, (0, 1), (1, 1), 1, W, W)
    assert r == 0.5
    assert P == {KA: 0.25, KB: 0.25, _st((0, 1), (1, 1), 0): 0.5}
    # swapping squares head-on: both blocked whoever goes first; ball changes hands twice or once
    P, r = _row(g, (1, 1), (0, 1), 1, W, E)
    assert P == {_st((1, 1), (0, 1), 0): 0.5, _st((1, 1), (0, 1), 1): 0.5} and r == 0.0


# ---------------------------------------------------------------------------- soccer: independent model
def _reference_soccer(gamma):
    """P (760, 5, 5, 760), R (760, 5, 5) by enumerating the rules with plain loops (written
    separately from the module: positions in a dict, the ball as the holder's name)."""
    step = {0: (0, -1), 1: (0, 1), 2: (1, 0), 3: (-1, 0), 4: (0, 0)}
    P = np.zeros((760, 5, 5, 760))
    R = np.zeros((760, 5, 5))
    for s in range(760):
        pa, pb, ball = soccer_v0.decode_state(s)
        for a in range(5):
            for b in range(5):
                for order in (("A", "B"), ("B", "A")):
                    pos = {"A": pa, "B": pb}
                    holder = "AB"[ball]
                    act = {"A": a, "B": b}
                    scored = 0
                    for who in order:
                        other = "B" if who == "A" else "A"
                        if act[who] == 4:
                            continue
                        x, y = pos[who][0] + step[act[who]][0], pos[who][1] + step[act[who]][1]
                        if not (0 <= x <= 4 and 0 <= y <= 3):
                            if holder == who and pos[who][1] in (1, 2):
                                if who == "A" and x < 0:
                                    scored = 1
                                elif who == "B" and x > 4:
                                    scored = -1
                            if scored:
                                break
                            continue
                        if (x, y) == pos[other]:
                            if holder == who:
                                holder = other
                            continue
                        pos[who] = (x, y)
                    if scored:
                        R[s, a, b] += 0.5 * scored
                        P[s, a, b, KA] += 0.25
                        P[s, a, b, KB] += 0.25
                    else:
                        P[s, a, b, soccer_v0.state_index(pos["A"], pos["B"], "AB".index(holder))] += 0.5
    return P, R


def test_soccer_model_matches_an_independent_enumeration_of_the_rules(soccer_game):
    P, R = _reference_soccer(0.9)
    g = soccer_game
    assert g.n_states == 760 and g.n_actions == (5, 5) and g.is_zero_sum and g.gamma == 0.9
    assert np.array_equal(g.dense_P(), P)
    assert np.array_equal(g.R, R)
    dense = soccer_v0.model(0.5, sparse=False)
    assert not dense.is_sparse and np.array_equal(dense.P, P) and dense.gamma == 0.5


def test_soccer_model_is_symmetric_under_swapping_roles(soccer_game):
    """docs/papers/foundations.md G3: swapping A and B (point reflection, N<->S, E<->W, R -> -R) maps the game
    to itself, so V*(s) = -V*(swap(s)); checked here on P and R directly."""
    g = soccer_game
    P, R = g.dense_P(), g.R
    sw = np.array([soccer_v0.swap_state(s) for s in range(760)])
    m = np.array([soccer_v0.swap_action(a) for a in range(5)])
    # P[s, a, b, t] == P[sw s, m b, m a, sw t]
    P_sw = P[sw][:, m][:, :, m][..., sw].transpose(0, 2, 1, 3)
    assert np.array_equal(P, P_sw)
    assert np.array_equal(R, -R[sw][:, m][:, :, m].transpose(0, 2, 1))


def test_soccer_regression_value(soccer_game):
    """V*(kick-off, A has ball) = +0.218484 (docs/papers/foundations.md section 6 regression value; this
    module's model reproduces it with a scratch HiGHS Shapley iteration: 0.2184844403)."""
    solve = _solver()
    v = np.asarray(solve(soccer_game, tol=1e-10).v)
    assert v[KA] == pytest.approx(0.218484, abs=5e-7)
    assert v[KB] == pytest.approx(-0.218484, abs=5e-7)
    sw = np.array([soccer_v0.swap_state(s) for s in range(760)])
    np.testing.assert_allclose(v, -v[sw], atol=1e-8)


# ---------------------------------------------------------------------------- conformance
def _sample_transitions(e, s, a0, a1, n, seed):
    agents = e.possible_agents
    counts, rewards = {}, []
    e.reset(seed=seed)
    for _ in range(n):
        e.reset(options={"state": s})
        _, r, term, trunc, info = e.step({agents[0]: a0, agents[1]: a1})
        t = info[agents[0]]["state"]
        counts[t] = counts.get(t, 0) + 1
        rewards.append(r[agents[0]])
        assert r[agents[1]] == -r[agents[0]]
    return counts, np.array(rewards)


def _check_against_model(g, counts, rewards, s, a0, a1):
    A1, A2 = g.n_actions
    row = g.P[(s * A1 + a0) * A2 + a1]
    row = row.toarray().ravel() if hasattr(row, "toarray") else np.asarray(row).ravel()
    support = np.flatnonzero(row)
    assert set(counts) <= set(support.tolist()), "the env reached a state the model gives probability 0"
    n = sum(counts.values())
    obs = np.array([counts.get(int(t), 0) for t in support])
    if support.size > 1:
        assert chisquare(obs, n * row[support]).pvalue > 1e-4
    else:
        assert obs[0] == n
    # the mean reward is the model's expected reward (rewards are bounded by 1)
    assert abs(rewards.mean() - g.R[s, a0, a1]) <= 5.0 / np.sqrt(n) + 1e-12


SOCCER_CONFORMANCE = [
    (((0, 1), (1, 1), 1), W, W),  # goal with probability 1/2
    (((1, 1), (3, 1), 0), E, W),  # contested square
    (((2, 1), (3, 1), 0), E, E),  # order decides
    (((0, 2), (4, 3), 0), W, N),  # sure goal
    (((2, 2), (0, 0), 1), N, S),  # free moves
]


@pytest.mark.parametrize("cfg,a0,a1", SOCCER_CONFORMANCE)
def test_soccer_env_transitions_agree_with_the_model(soccer_game, cfg, a0, a1):
    s = soccer_v0.state_index(*cfg)
    counts, rewards = _sample_transitions(soccer_v0.parallel_env(max_cycles=None), s, a0, a1, 2000, seed=11)
    _check_against_model(soccer_game, counts, rewards, s, a0, a1)


def test_soccer_goal_rewards_and_episode_options():
    e = soccer_v0.parallel_env(terminate_on_goal=True)
    e.reset(seed=0, options={"state": soccer_v0.state_index((0, 1), (4, 3), 0)})
    _, r, term, trunc, info = e.step({"player_0": W, "player_1": STAND})
    assert r == {"player_0": 1.0, "player_1": -1.0}
    assert all(term.values()) and not any(trunc.values()) and e.agents == []
    assert info["player_0"]["goal"] == 1 and info["player_0"]["state"] in soccer_v0.KICKOFF_STATES
    # without terminate_on_goal the board resets and play goes on
    e = soccer_v0.parallel_env()
    e.reset(seed=0, options={"state": soccer_v0.state_index((0, 0), (4, 2), 1)})
    _, r, term, _, info = e.step({"player_0": STAND, "player_1": E})
    assert r["player_0"] == -1.0 and not any(term.values()) and e.agents == ["player_0", "player_1"]
    assert info["player_1"]["state"] in soccer_v0.KICKOFF_STATES
    # draws end episodes at the requested rate (geometric length, mean 1 / p)
    e = soccer_v0.parallel_env(draw_probability=0.25, max_cycles=None)
    e.reset(seed=5)
    lengths = []
    for _ in range(400):
        e.reset(options={"state": soccer_v0.state_index((2, 0), (2, 3), 0)})
        t = 0
        while e.agents:
            _, r, term, _, info = e.step({"player_0": STAND, "player_1": STAND})
            t += 1
        assert info["player_0"]["draw"] and r["player_0"] == 0.0
        lengths.append(t)
    assert np.mean(lengths) == pytest.approx(4.0, rel=0.15)


def test_soccer_render_ansi():
    e = soccer_v0.parallel_env(render_mode="ansi")
    e.reset(seed=0, options={"state": soccer_v0.KICKOFF_STATES[0]})
    text = e.render()
    lines = text.splitlines()
    assert lines[2] == "|. . . A .|" and lines[1] == "|. b . . .|"
    with pytest.warns(UserWarning, match="render_mode=None"):
        assert soccer_v0.parallel_env().render() is None


# ---------------------------------------------------------------------------- pursuit
def test_pursuit_state_space_sizes():
    assert pursuit_v0.parallel_env().n_states == 240 == 16 * 15
    assert pursuit_v0.model(width=5, height=5).n_states == 600
    e = pursuit_v0.parallel_env(width=3, height=3, walls=[(1, 1)])
    assert e.n_states == 8 * 7
    for s in range(e.n_states):
        p, q = e.decode_state(s)
        assert e.state_index(p, q) == s and (1, 1) not in (p, q)
    assert e.start_states.tolist() == [e.state_index((0, 0), (2, 2))]


def _prow(g, e, p, q, a, b):
    s = e.state_index(p, q)
    row = g.P[(s * 5 + a) * 5 + b].toarray().ravel()
    return {int(t): float(row[t]) for t in np.flatnonzero(row)}, float(g.R[s, a, b])


def test_pursuit_capture_rules():
    e = pursuit_v0.parallel_env(slip=0.0)
    g = e.unwrapped.model(0.9)
    start = int(e.start_states[0])
    # pursuer steps onto the standing evader
    assert _prow(g, e, (1, 1), (2, 1), E, STAND) == ({start: 1.0}, 1.0)
    # both move to the same cell
    assert _prow(g, e, (1, 1), (3, 1), E, W) == ({start: 1.0}, 1.0)
    # they swap cells (cross on an edge)
    assert _prow(g, e, (1, 1), (2, 1), E, W) == ({start: 1.0}, 1.0)
    # evader walks into the standing pursuer
    assert _prow(g, e, (1, 1), (2, 1), STAND, W) == ({start: 1.0}, 1.0)
    # chasing in the same direction: no capture
    assert _prow(g, e, (1, 1), (2, 1), E, E) == ({e.state_index((2, 1), (3, 1)): 1.0}, 0.0)
    # the bounded grid keeps players in place at the edge
    assert _prow(g, e, (0, 0), (3, 3), W, S) == ({e.state_index((0, 0), (3, 3)): 1.0}, 0.0)
    # on a torus they wrap around, which can produce a capture across the edge
    t = pursuit_v0.parallel_env(torus=True, slip=0.0)
    gt = t.unwrapped.model(0.9)
    ts = int(t.start_states[0])
    assert _prow(gt, t, (0, 0), (3, 3), W, S) == ({ts: 1.0}, 1.0)  # both land on (3, 0)
    assert _prow(gt, t, (0, 1), (2, 2), W, N) == ({t.state_index((3, 1), (2, 1)): 1.0}, 0.0)
    assert _prow(gt, t, (0, 1), (3, 1), W, STAND) == ({ts: 1.0}, 1.0)
    # walls block
    w = pursuit_v0.parallel_env(walls=[(1, 0)], slip=0.0)
    gw = w.unwrapped.model(0.9)
    assert _prow(gw, w, (0, 0), (3, 3), E, STAND) == ({w.state_index((0, 0), (3, 3)): 1.0}, 0.0)


def _reference_pursuit(e, slip):
    """P (S, 5, 5, S), R (S, 5, 5) of a pursuit configuration by plain loops over the executed
    actions, using only the env's public state numbering."""
    lay_w, lay_h, walls, torus = e.width, e.height, set(e.walls), e.torus
    step = [(0, -1), (0, 1), (1, 0), (-1, 0), (0, 0)]

    def move(c, a):
        x, y = c[0] + step[a][0], c[1] + step[a][1]
        if torus:
            x, y = x % lay_w, y % lay_h
        if not (0 <= x < lay_w and 0 <= y < lay_h) or (x, y) in walls:
            return c
        return (x, y)

    S = e.n_states
    starts = e.start_states
    P = np.zeros((S, 5, 5, S))
    R = np.zeros((S, 5, 5))
    for s in range(S):
        p, q = e.decode_state(s)
        for a in range(5):
            for b in range(5):
                for ea in range(5):
                    for eb in range(5):
                        w = ((1 - slip) * (ea == a) + slip / 5) * ((1 - slip) * (eb == b) + slip / 5)
                        p2, q2 = move(p, ea), move(q, eb)
                        if p2 == q2 or (p2 == q and q2 == p):
                            R[s, a, b] += w
                            P[s, a, b, starts] += w / starts.size
                        else:
                            P[s, a, b, e.state_index(p2, q2)] += w
    return P, R


@pytest.mark.parametrize(
    "kw",
    [
        {"width": 3, "height": 3, "walls": [(1, 1)], "slip": 0.3, "start": "uniform"},
        {"width": 3, "height": 2, "torus": True, "slip": 0.0, "start": ((0, 0), (2, 1))},
        {"width": 2, "height": 4, "slip": 0.1},
    ],
)
def test_pursuit_model_matches_an_independent_enumeration(kw):
    e = pursuit_v0.parallel_env(**kw)
    P, R = _reference_pursuit(e, kw["slip"])
    g = e.unwrapped.model(0.8)
    np.testing.assert_allclose(g.dense_P(), P, atol=1e-14)
    np.testing.assert_allclose(g.R, R, atol=1e-14)
    assert g.is_zero_sum and g.gamma == 0.8
    dense = pursuit_v0.model(0.8, sparse=False, **kw)
    np.testing.assert_allclose(dense.P, P, atol=1e-14)


@pytest.mark.parametrize(
    "cfg,a0,a1", [(((1, 1), (2, 2)), E, N), (((0, 0), (3, 3)), S, W), (((1, 2), (2, 1)), E, STAND)]
)
def test_pursuit_env_transitions_agree_with_the_model(cfg, a0, a1):
    kw = {"slip": 0.4, "start": "uniform", "max_cycles": None}
    e = pursuit_v0.parallel_env(**kw)
    g = pursuit_v0.model(0.9, slip=0.4, start="uniform")
    s = e.state_index(*cfg)
    counts, rewards = _sample_transitions(e, s, a0, a1, 3000, seed=21)
    _check_against_model(g, counts, rewards, s, a0, a1)


def test_pursuit_capture_ends_episode_when_asked_and_values_are_known():
    e = pursuit_v0.parallel_env(terminate_on_capture=True, slip=0.0)
    e.reset(seed=0, options={"state": e.state_index((1, 1), (2, 1))})
    _, r, term, _, info = e.step({"pursuer_0": E, "evader_0": STAND})
    assert r == {"pursuer_0": 1.0, "evader_0": -1.0} and all(term.values()) and info["evader_0"]["capture"]
    solve = _solver()
    g = pursuit_v0.model(0.9, width=3, height=3)
    v = np.asarray(solve(g, tol=1e-10).v)
    # the pursuer's value is an expected discounted number of captures
    assert np.all(v >= -1e-12) and np.all(v <= 1 / (1 - 0.9))
    # dead-end corridor x = 0, y = 0..2 (walls at x = 1): an evader at its closed end with the
    # pursuer next to it is caught for sure (every evader move stays or runs into the pursuer)
    e = pursuit_v0.parallel_env(walls=[(1, 0), (1, 1), (1, 2)], slip=0.0)
    v = np.asarray(solve(e.unwrapped.model(0.9), tol=1e-10).v)
    assert v[e.state_index((0, 1), (0, 0))] == pytest.approx(1.0, abs=1e-9)
    # the open game with the default slip 0.1 (regression value of this module's Shapley run)
    e = pursuit_v0.parallel_env()
    v = np.asarray(solve(e.unwrapped.model(0.9), tol=1e-10).v)
    assert v[e.start_states[0]] == pytest.approx(0.215413, abs=5e-7)


@pytest.mark.parametrize("width,height", [(2, 2), (3, 2), (4, 4), (5, 3)])
def test_pursuit_without_slip_is_a_sure_escape(width, height):
    """Known value 0 on an open grid without slip (module docstring): the evader's escape
    strategy (stay at distance >= 2, else step to a cell at distance 2 from the pursuer) holds
    the pursuer's best-response value to exactly 0; captures pay >= 0, so V* = 0."""
    import mdp

    e = pursuit_v0.parallel_env(width=width, height=height, slip=0.0)
    g = e.unwrapped.model(0.9)
    step = [(0, -1), (0, 1), (1, 0), (-1, 0), (0, 0)]
    y = np.empty(g.n_states, dtype=np.int64)
    for s in range(g.n_states):
        (px, py), (ex, ey) = e.decode_state(s)
        if abs(px - ex) + abs(py - ey) >= 2:
            y[s] = STAND
            continue
        for a, (dx, dy) in enumerate(step[:4]):
            x, yy = ex + dx, ey + dy
            if 0 <= x < width and 0 <= yy < height and abs(px - x) + abs(py - yy) == 2:
                y[s] = a
                break
        else:  # pragma: no cover - the docstring's claim would be false
            raise AssertionError(f"no escape from state {s}")
    v = mdp.solve(g.fixed_column_mdp(y)).v
    np.testing.assert_allclose(v, 0.0, atol=1e-12)


# ---------------------------------------------------------------------------- matrix games
EXPECTED_PAYOFFS = {
    # row payoffs, column payoffs (the module docstring's tables)
    "matching_pennies": ([[1, -1], [-1, 1]], [[-1, 1], [1, -1]]),
    "rps": ([[0, -1, 1], [1, 0, -1], [-1, 1, 0]], [[0, 1, -1], [-1, 0, 1], [1, -1, 0]]),
    "prisoners_dilemma": ([[3, 0], [5, 1]], [[3, 5], [0, 1]]),
    "battle_of_the_sexes": ([[3, 0], [0, 2]], [[2, 0], [0, 3]]),
    "chicken": ([[0, -1], [1, -10]], [[0, 1], [-1, -10]]),
    "stag_hunt": ([[4, 0], [3, 3]], [[4, 3], [0, 3]]),
}


@pytest.mark.parametrize("name", sorted(EXPECTED_PAYOFFS))
def test_matrix_games_rewards_and_observations(name):
    A, B = (np.array(m, dtype=float) for m in EXPECTED_PAYOFFS[name])
    game = matrix_games_v0.get_game(name)
    np.testing.assert_array_equal(game.A, A)
    np.testing.assert_array_equal(game.B, B)
    e = matrix_games_v0.parallel_env(game=name, max_cycles=20)
    obs, _ = e.reset(seed=0)
    assert obs == {"player_0": 0, "player_1": 0}
    k2 = A.shape[1]
    rng = np.random.default_rng(0)
    for t in range(20):
        a = [int(rng.integers(A.shape[0])), int(rng.integers(k2))]
        obs, r, term, trunc, _ = e.step({"player_0": a[0], "player_1": a[1]})
        assert r == {"player_0": A[a[0], a[1]], "player_1": B[a[0], a[1]]}
        assert obs["player_0"] == obs["player_1"] == 1 + a[0] * k2 + a[1]
        assert not any(term.values()) and all(trunc.values()) == (t == 19)
    assert e.agents == []


def test_matrix_game_models():
    g = matrix_games_v0.model(0.9, game="rps")
    assert g.is_zero_sum and g.n_states == 10 and g.n_actions == (3, 3)
    P = g.dense_P()
    assert np.all(P[:, 1, 2, 1 + 1 * 3 + 2] == 1.0)
    pd = matrix_games_v0.model(0.5, game="prisoners_dilemma", obs_type="constant")
    assert not pd.is_zero_sum and pd.n_states == 1 and pd.rewards.shape == (2, 1, 2, 2)
    custom = marl.MatrixGame.bimatrix([[1, 2, 3]], [[0, 0, 1]])
    e = matrix_games_v0.parallel_env(game=custom)
    assert e.action_space("player_0").n == 1 and e.action_space("player_1").n == 3
    assert e.unwrapped.model(0.9).n_states == 4
    assert matrix_games_v0.get_game("rock_paper_scissors").n_actions == (3, 3)


@pytest.mark.parametrize("name", ["matching_pennies", "rps"])
def test_matrix_game_value_zero_certified_by_best_responses(name):
    """val = 0 for matching pennies and RPS (classical; docs/papers/foundations.md G3): the uniform strategy
    of each player holds the other's best response to 0 in every state of the repeated game."""
    import mdp

    g = matrix_games_v0.model(0.9, game=name)
    S, (k1, k2) = g.n_states, g.n_actions
    x, y = np.full((S, k1), 1 / k1), np.full((S, k2), 1 / k2)
    br_row = mdp.solve(g.fixed_column_mdp(y)).v  # row player's best value vs uniform y
    br_col = mdp.solve(g.fixed_row_mdp(x)).v  # column player's best value vs uniform x (its reward -R)
    np.testing.assert_allclose(br_row, 0.0, atol=1e-9)
    np.testing.assert_allclose(br_col, 0.0, atol=1e-9)


@pytest.mark.parametrize("name", ["matching_pennies", "rps"])
def test_matrix_game_value_zero_by_shapley(name):
    solve = _solver()
    v = np.asarray(solve(matrix_games_v0.model(0.9, game=name), tol=1e-10).v)
    np.testing.assert_allclose(v, 0.0, atol=1e-8)


def test_matrix_game_render():
    e = matrix_games_v0.parallel_env(game="prisoners_dilemma", render_mode="ansi")
    e.reset(seed=0)
    assert "no round" in e.render()
    e.step({"player_0": 1, "player_1": 0})
    assert e.render() == "prisoners_dilemma: player_0 played defect, player_1 played cooperate; payoffs (5, 0)"


# ---------------------------------------------------------------------------- bad input
@pytest.mark.parametrize(
    "factory,kw,exc,match",
    [
        (matrix_games_v0.parallel_env, {"game": "tic_tac_toe"}, ValueError, "unknown game 'tic_tac_toe'"),
        (matrix_games_v0.parallel_env, {"game": 3}, TypeError, "game must be a game name"),
        (matrix_games_v0.parallel_env, {"game": marl.MatrixGame(np.zeros((3, 2, 2, 2)))}, ValueError, "two-player"),
        (matrix_games_v0.parallel_env, {"obs_type": "history"}, ValueError, "obs_type must be one of"),
        (matrix_games_v0.parallel_env, {"max_cycles": 0}, ValueError, "max_cycles must be >= 1"),
        (matrix_games_v0.parallel_env, {"max_cycles": 2.5}, TypeError, "max_cycles must be an integer"),
        (soccer_v0.parallel_env, {"render_mode": "human"}, ValueError, "render_mode must be None or one of"),
        (soccer_v0.parallel_env, {"draw_probability": 1.0}, ValueError, r"draw_probability must lie in \[0, 1\)"),
        (soccer_v0.parallel_env, {"terminate_on_goal": "yes"}, TypeError, "terminate_on_goal must be a bool"),
        (soccer_v0.parallel_env, {"obs_type": "pixels"}, ValueError, "obs_type must be one of"),
        (pursuit_v0.parallel_env, {"width": 1}, ValueError, r"width must be >= 2, got 1"),
        (pursuit_v0.parallel_env, {"height": "4"}, TypeError, "height must be an integer"),
        (pursuit_v0.parallel_env, {"walls": [(4, 0)]}, ValueError, r"walls\[0\] = \(4, 0\) is off the 4 x 4 grid"),
        (pursuit_v0.parallel_env, {"walls": [(0, 0)]}, ValueError, "start='corners' needs free corners"),
        (
            pursuit_v0.parallel_env,
            {"width": 2, "height": 2, "walls": [(0, 1), (1, 0), (1, 1)], "start": "uniform"},
            ValueError,
            "leave 1 free cell",
        ),
        (pursuit_v0.parallel_env, {"start": ((0, 0), (0, 0))}, ValueError, "start cells must differ"),
        (pursuit_v0.parallel_env, {"start": "random"}, ValueError, "start must be one of"),
        (pursuit_v0.parallel_env, {"slip": -0.1}, ValueError, r"slip must lie in \[0, 1\)"),
        (pursuit_v0.model, {"gamma": 1.0}, ValueError, r"gamma must lie in \[0, 1\)"),
    ],
)
def test_bad_constructor_arguments(factory, kw, exc, match):
    with pytest.raises(exc, match=match):
        factory(**kw)


def test_bad_states_and_actions():
    with pytest.raises(ValueError, match="pos_a and pos_b must differ"):
        soccer_v0.state_index((1, 1), (1, 1), 0)
    with pytest.raises(ValueError, match=r"pos_b = \(5, 0\) is off the 5 x 4 grid"):
        soccer_v0.state_index((1, 1), (5, 0), 0)
    with pytest.raises(ValueError, match="ball must be 0/'A'"):
        soccer_v0.state_index((1, 1), (2, 0), 2)
    with pytest.raises(ValueError, match=r"s must be a state index in 0..759, got 760"):
        soccer_v0.decode_state(760)
    e = soccer_v0.parallel_env()
    with pytest.raises(RuntimeError, match="call reset"):
        e.step({"player_0": 0, "player_1": 0})
    with pytest.raises(ValueError, match=r"options\['state'\] must be a state index in 0..759"):
        e.reset(options={"state": -1})
    e.reset(seed=0)
    with pytest.raises(ValueError, match="'player_1' is missing"):
        e.step({"player_0": 0})
    with pytest.raises(ValueError, match=r"action of 'player_0' must lie in 0..4, got 5"):
        e.step({"player_0": 5, "player_1": 0})
    with pytest.raises(TypeError, match="action of 'player_1' must be an integer"):
        e.step({"player_0": 0, "player_1": 1.5})
    with pytest.raises(ValueError, match="unknown agent 'player_2'"):
        e.action_space("player_2")
    e.step({"player_0": np.int32(0), "player_1": np.array(4)})  # numpy integers are accepted
    p = pursuit_v0.parallel_env(walls=[(1, 1)])
    with pytest.raises(ValueError, match=r"evader = \(1, 1\) is a wall"):
        p.state_index((0, 0), (1, 1))
    done = matrix_games_v0.parallel_env(max_cycles=1)
    done.reset(seed=0)
    done.step({"player_0": 0, "player_1": 0})
    with pytest.raises(RuntimeError, match="episode has ended"):
        done.step({"player_0": 0, "player_1": 0})
