"""Tests for mdp.llm.agentic: GiGPO, HGPO, SALT, IGPO, GCPO, RLVMR.

Kinds: known values (hand-computed tiny batches), parity (committed verl-agent reference outputs,
tests/data/llm_parity_agentic), properties (hypothesis: zero mean per group, GiGPO -> GRPO, HGPO
K=0 -> GiGPO step advantage, nesting, permutation invariance, SALT/IGPO claims), differential
(vectorised estimators vs plain Python-loop twins below), bad input.
"""

import json
import math
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from mdp.llm import RolloutBatch, compute_advantages, list_estimators  # noqa: E402
from mdp.llm import agentic as AG  # noqa: E402

DATA = Path(__file__).parent / "data" / "llm_parity_agentic"
EPS = 1e-6


def step_batch(group, traj, step, obs, rewards, **extra):
    return RolloutBatch(
        rewards=np.asarray(rewards, float),
        group_ids=np.asarray(group),
        trajectory_ids=np.asarray(traj),
        step_ids=np.asarray(step),
        observation_keys=np.asarray(obs, dtype=np.int64),
        extra=extra,
    )


def random_steps(rng, n_groups=3, max_traj=4, max_len=5, n_obs=3, shuffle=True):
    """Random per-step batch (dict of numpy arrays), rows interleaved."""
    g, tr, s, o, r, act = [], [], [], [], [], []
    tid = 0
    for gi in range(n_groups):
        for _ in range(rng.integers(1, max_traj + 1)):
            T = rng.integers(1, max_len + 1)
            for t in range(T):
                g.append(gi)
                tr.append(tid)
                s.append(t)
                o.append(rng.integers(0, n_obs))
                act.append(rng.integers(0, 2))
                r.append(rng.choice([-0.1, 0.0, 0.0, 1.0]))
            tid += 1
    d = dict(
        group=np.array(g), traj=np.array(tr), step=np.array(s), obs=np.array(o), rewards=np.array(r), act=np.array(act)
    )
    if shuffle:
        p = rng.permutation(len(g))
        d = {k: v[p] for k, v in d.items()}
    return d


def as_batch(d, **extra):
    ex = {"action_keys": d["act"]}
    ex.update(extra)
    return step_batch(d["group"], d["traj"], d["step"], d["obs"], d["rewards"], **ex)


batches = st.builds(
    lambda seed, ng, mt, ml, no: random_steps(np.random.default_rng(seed), ng, mt, ml, no),
    st.integers(0, 2**31),
    st.integers(1, 3),
    st.integers(1, 4),
    st.integers(1, 6),
    st.integers(1, 4),
)


# ============================================================================ loop twins
def _traj_rows(d):
    """{(group, traj): [row indices in time order]}."""
    out = defaultdict(list)
    for i in np.argsort(d["step"], kind="stable"):
        out[(d["group"][i], d["traj"][i])].append(i)
    return out


def _returns_loop(d, gamma):
    R = np.zeros(len(d["rewards"]))
    for rows in _traj_rows(d).values():
        run = 0.0
        for i in reversed(rows):
            run = d["rewards"][i] + gamma * run
            R[i] = run
    return R


def _norm(vals, mode, ddof, singleton="zero"):
    vals = np.asarray(vals, float)
    if vals.size == 1:
        if singleton == "zero":
            return np.zeros(1)
        return vals if mode == "mean_norm" else vals / (1 + EPS)
    if np.all(vals == vals[0]):  # a constant group scores exactly 0 (as the estimators do)
        return np.zeros(vals.size)
    dev = vals - vals.mean()
    return dev if mode == "mean_norm" else dev / (vals.std(ddof=ddof) + EPS)


def gigpo_loop(d, gamma, mode, stats, w=1.0):
    n = len(d["rewards"])
    trows = _traj_rows(d)
    ep = {k: sum(d["rewards"][i] for i in rows) for k, rows in trows.items()}
    R = _returns_loop(d, gamma)
    A = np.zeros(n)
    for gi in np.unique(d["group"]):
        keys = [k for k in trows if k[0] == gi]
        if stats == "trajectories":
            a = _norm([ep[k] for k in keys], mode, 1, "raw")
            for k, v in zip(keys, a):
                for i in trows[k]:
                    A[i] += v
        else:
            rows = [i for k in keys for i in trows[k]]
            a = _norm([ep[(gi, d["traj"][i])] for i in rows], mode, 1, "raw")
            for i, v in zip(rows, a):
                A[i] += v
        anchors = defaultdict(list)
        for i in np.flatnonzero(d["group"] == gi):
            anchors[d["obs"][i]].append(i)
        for rows in anchors.values():
            a = _norm(R[rows], mode, 1, "zero")
            for i, v in zip(rows, a):
                A[i] += w * v
    return A


def hgpo_loop(d, gamma, K, mode, alpha, base, zero_items):
    n = len(d["rewards"])
    R = _returns_loop(d, gamma)
    trows = _traj_rows(d)
    items = defaultdict(list)
    if base:
        e = gigpo_loop(d, gamma, mode, "step_rows", w=0.0)
        for i in range(n):
            items[i].append((0, e[i]))
    for gi in np.unique(d["group"]):
        clusters = defaultdict(list)
        for k_, rows in trows.items():
            if k_[0] != gi:
                continue
            hist = [d["obs"][i] for i in rows]
            for t, i in enumerate(rows):
                for k in range(1, min(K + 1, t + 1) + 1):
                    clusters[(k, tuple(hist[t - k + 1 : t + 1]))].append(i)
        for (k, _), rows in clusters.items():
            if len(rows) < 2:
                continue
            for i, v in zip(rows, _norm(R[rows], mode, 0)):
                items[i].append((k, v))
    A = np.zeros(n)
    for i in range(n):
        it = [(k, v) for k, v in items[i] if (zero_items == "keep" or v != 0)]
        if it:
            wts = np.array([(k + 1.0) ** alpha for k, _ in it])
            A[i] = (wts * np.array([v for _, v in it])).sum() / (wts.sum() + EPS)
    return A


def salt_loop(d, merge, base):
    n = len(d["rewards"])
    trows = _traj_rows(d)
    A = {}
    for gi in np.unique(d["group"]):
        keys = [k for k in trows if k[0] == gi]
        Rs = np.array([sum(d["rewards"][i] for i in trows[k]) for k in keys])
        if len(keys) == 1:
            a = np.zeros(1)
        elif base == "grpo":
            a = (Rs - Rs.mean()) / (Rs.std(ddof=1) + EPS)
        elif base == "dr_grpo":
            a = Rs - Rs.mean()
        else:
            a = np.array([Rs[j] - np.delete(Rs, j).mean() for j in range(len(keys))])
        A.update(dict(zip(keys, a)))
    edges = defaultdict(set)
    row_edge = {}
    for k, rows in trows.items():
        prefix = ()
        for i in rows:
            prefix = prefix + ((d["obs"][i], d["act"][i]),)
            e = (k[0], prefix) if merge == "prefix" else (k[0], d["obs"][i], d["act"][i])
            edges[e].add(k)
            row_edge[i] = e
    out = np.zeros(n)
    for i in range(n):
        out[i] = np.mean([A[k] for k in edges[row_edge[i]]])
    return out


def igpo_loop(d, lp, lp0, gamma, mode):
    n = len(d["rewards"])
    trows = _traj_rows(d)
    r = np.zeros(n)
    for rows in trows.values():
        prev = math.exp(lp0[rows[0]])
        for t, i in enumerate(rows):
            p = math.exp(lp[i])
            r[i] = d["rewards"][i] if t == len(rows) - 1 else p - prev
            prev = p
    rn = np.zeros(n)
    for gi in np.unique(d["group"]):
        rows = np.flatnonzero(d["group"] == gi)
        rn[rows] = _norm(r[rows], mode, 1)
    out = np.zeros(n)
    for rows in trows.values():
        run = 0.0
        for i in reversed(rows):
            run = rn[i] + gamma * run
            out[i] = run
    return out


# ============================================================================ registry
def test_registered_with_needs():
    names = list_estimators()
    for m in ("gigpo", "hgpo", "salt", "igpo", "gcpo", "rlvmr"):
        assert m in names
    from mdp.llm import get_estimator

    assert "observation_keys" in get_estimator("hgpo").needs
    assert "action_keys" in get_estimator("salt").needs
    assert set(get_estimator("igpo").needs) >= {"gold_logprobs", "gold_logprob_init"}
    assert get_estimator("gigpo").options["mode"] == "mean_std_norm"


# ============================================================================ known values
def _tiny_gigpo():
    # one group; traj 0: obs [0, 1], rewards [0, 1]; traj 1: obs [0, 2], rewards [0, 0]
    return step_batch([0, 0, 0, 0], [0, 0, 1, 1], [0, 1, 0, 1], [0, 1, 0, 2], [0, 1, 0, 0])


def test_gigpo_known_values_mean_norm():
    # hand computation, gamma 0.5: R(tau) = (1, 0) -> A_E = (+0.5, -0.5); step returns
    # traj 0: (0.5, 1), traj 1: (0, 0); anchor obs 0 = {0.5, 0} -> A_S = (+0.25, -0.25); obs 1, 2 singletons
    a = compute_advantages("gigpo", _tiny_gigpo(), gamma=0.5, mode="mean_norm", episode_stats="trajectories")
    np.testing.assert_allclose(a.numpy(), [0.75, 0.5, -0.75, -0.5], atol=1e-12)


def test_gigpo_known_values_mean_std_norm():
    # std of (1, 0) (unbiased) = 1/sqrt2 -> A_E = +-0.5/(1/sqrt2 + eps); A_S = +-0.25/(sqrt2/4 + eps)
    a = compute_advantages("gigpo", _tiny_gigpo(), gamma=0.5, mode="mean_std_norm", episode_stats="trajectories")
    ae = 0.5 / (1 / math.sqrt(2) + EPS)
    as_ = 0.25 / (math.sqrt(2) / 4 + EPS)
    np.testing.assert_allclose(a.numpy(), [ae + as_, ae, -ae - as_, -ae], atol=1e-12)


def test_gigpo_step_rows_weighting():
    # step_rows: episode returns (1, 1, 0, 0, 0) over rows (traj 1 has 3 steps) -> mean 0.4
    b = step_batch([0] * 5, [0, 0, 1, 1, 1], [0, 1, 0, 1, 2], [0, 1, 2, 3, 4], [0, 1, 0, 0, 0])
    a = compute_advantages("gigpo", b, gamma=1.0, mode="mean_norm", episode_stats="step_rows")
    np.testing.assert_allclose(a.numpy(), [0.6, 0.6, -0.4, -0.4, -0.4], atol=1e-12)
    a = compute_advantages("gigpo", b, gamma=1.0, mode="mean_norm", episode_stats="trajectories")
    np.testing.assert_allclose(a.numpy(), [0.5, 0.5, -0.5, -0.5, -0.5], atol=1e-12)


def test_gigpo_singleton_episode_group_verl_convention():
    # docs/papers/gigpo.md pitfall 2: an episode group of one -> mean 0, std 1 (A_E = R / (1 + eps))
    b = step_batch([0, 0], [0, 0], [0, 1], [0, 1], [0.0, 2.0])
    a = compute_advantages("gigpo", b, mode="mean_std_norm", episode_stats="trajectories")
    np.testing.assert_allclose(a.numpy(), [2 / (1 + EPS)] * 2, atol=1e-12)


def test_hgpo_known_values():
    # trajectories X: obs (a, c) rewards (0, 1); Y: (b, c) (0, 0); Z: (a, c) (0, 0); gamma 1, K = 1,
    # mean_norm, alpha 1. Level 1: {X0, Z0} returns (1, 0) -> +-0.5; {X1, Y1, Z1} (1, 0, 0) -> (2/3, -1/3, -1/3).
    # Level 2: context (a, c) = {X1, Z1} -> +-0.5; (b, c) singleton. Weights w1 = 2, w2 = 3.
    b = step_batch([0] * 6, [0, 0, 1, 1, 2, 2], [0, 1] * 3, [0, 2, 1, 2, 0, 2], [0, 1, 0, 0, 0, 0])
    a = compute_advantages("hgpo", b, gamma=1.0, history_length=1, mode="mean_norm", alpha=1.0)
    x1 = (2 * (2 / 3) + 3 * 0.5) / (5 + EPS)
    z1 = (2 * (-1 / 3) + 3 * (-0.5)) / (5 + EPS)
    expect = [0.5 * 2 / (2 + EPS), x1, 0.0, (-1 / 3) * 2 / (2 + EPS), -0.5 * 2 / (2 + EPS), z1]
    np.testing.assert_allclose(a.numpy(), expect, atol=1e-12)


def test_hgpo_zero_items_conventions_differ_on_zero_variance_groups():
    # level-1 group {X1, Y1} has returns (1, 1) (zero variance), level 2 distinguishes nothing new;
    # with base_group the episode item differs -> "drop" ignores the zero items, "keep" dilutes.
    b = step_batch([0] * 4, [0, 0, 1, 1], [0, 1, 0, 1], [0, 2, 1, 2], [1, 1, 0, 1])
    kw = dict(gamma=1.0, history_length=0, mode="mean_norm", base_group=True)
    drop = compute_advantages("hgpo", b, zero_items="drop", **kw).numpy()
    keep = compute_advantages("hgpo", b, zero_items="keep", **kw).numpy()
    # episode returns (2, 2, 1, 1) over step rows -> base items (0.5, 0.5, -0.5, -0.5);
    # level 1: obs 2 group {row 1, row 3} returns (1, 1) -> 0; rows 0 and 2 are singletons
    np.testing.assert_allclose(drop, [0.5 / (1 + EPS), 0.5 / (1 + EPS), -0.5 / (1 + EPS), -0.5 / (1 + EPS)])
    np.testing.assert_allclose(keep, [0.5 / (1 + EPS), 0.5 / (3 + EPS), -0.5 / (1 + EPS), -0.5 / (3 + EPS)])


def test_salt_known_values():
    # returns (1, 0, 0), dr_grpo base A = (2/3, -1/3, -1/3); all share step 0 -> 0;
    # X and Y share step 1 -> (2/3 - 1/3)/2 = 1/6; Z's step 1 differs -> -1/3
    b = step_batch(
        [0] * 6,
        [0, 0, 1, 1, 2, 2],
        [0, 1] * 3,
        [0, 1, 0, 1, 0, 1],
        [0, 1, 0, 0, 0, 0],
        action_keys=np.array([5, 7, 5, 7, 5, 8]),
    )
    a = compute_advantages("salt", b, base="dr_grpo")
    np.testing.assert_allclose(a.numpy(), [0, 1 / 6, 0, 1 / 6, 0, -1 / 3], atol=1e-12)
    # state merging: same here (no revisits)
    np.testing.assert_allclose(
        compute_advantages("salt", b, base="dr_grpo", merge="state").numpy(), a.numpy(), atol=1e-12
    )


def test_igpo_known_values():
    # traj 0: p0 = 0.2, p1 = 0.5, outcome 1 -> turn rewards (0.3, 1); traj 1: one turn, outcome 0 -> (0)
    lp = np.log([0.5, 0.9, 0.3])
    lp0 = np.log([0.2, 0.2, 0.2])
    b = step_batch([0, 0, 0], [0, 0, 1], [0, 1, 0], [0, 0, 0], [0.0, 1.0, 0.0], gold_logprobs=lp, gold_logprob_init=lp0)
    a = compute_advantages("igpo", b, mode="mean_norm", gamma=1.0).numpy()
    m = 1.3 / 3
    np.testing.assert_allclose(a, [(0.3 - m) + (1 - m), 1 - m, -m], atol=1e-12)


def test_gcpo_known_values():
    # acc (1, 1, 0, 1), aux (1, 1, 0, 0): acc+ = 1, acc- = 0.5 -> M = +1; R = acc + 0.5 aux
    b = RolloutBatch(rewards=[1.0, 1.0, 0.0, 1.0], group_ids=[0, 0, 0, 0], extra={"aux": [1, 1, 0, 0]})
    a = compute_advantages("gcpo", b, mode="mean_norm", eta=0.1, lambda_aux=0.5)
    np.testing.assert_allclose(a.numpy(), [0.5, 0.5, -1.0, 0.0], atol=1e-12)
    np.testing.assert_array_equal(AG.gcpo_mask(b).numpy(), [1, 1, 1, 1])
    # construction hurts -> M = -1; difference below eta -> 0; all aux -> 0 (no contrast)
    b2 = RolloutBatch(rewards=[0.0, 0.0, 1.0, 1.0], group_ids=[0] * 4, extra={"aux": [1, 1, 0, 0]})
    assert AG.gcpo_mask(b2).tolist() == [-1] * 4
    assert AG.gcpo_mask(b2, eta=1.0).tolist() == [0] * 4
    b3 = RolloutBatch(rewards=[0.0, 1.0], group_ids=[0, 0], extra={"aux": [1, 1]})
    assert AG.gcpo_mask(b3).tolist() == [0, 0]


def test_rlvmr_known_values():
    # outcomes (1, 0) -> A^O = (+0.5, -0.5) (mean_norm); tag 0 rows meta (1, 0) -> (+0.5, -0.5);
    # tag 1 row alone -> 0; untagged (-1) -> 0
    b = RolloutBatch(
        rewards=[0.0, 1.0, 0.0, 0.0],
        group_ids=[0] * 4,
        trajectory_ids=[0, 0, 1, 1],
        extra={"tags": [0, 1, 0, -1], "meta_rewards": [1.0, 3.0, 0.0, 5.0]},
    )
    a = compute_advantages("rlvmr", b, mode="mean_norm", meta_weight=2.0)
    np.testing.assert_allclose(a.numpy(), [0.5 + 1.0, 0.5, -0.5 - 1.0, -0.5], atol=1e-12)


# ============================================================================ parity (verl-agent)
def _parity_cases():
    man = json.loads((DATA / "manifest.json").read_text())
    for name, info in man["datasets"].items():
        yield name, info


@pytest.mark.parametrize("name,info", list(_parity_cases()), ids=[n for n, _ in _parity_cases()])
def test_parity_with_verl_agent(name, info):
    z = np.load(DATA / f"{name}.npz")
    b = RolloutBatch(
        rewards=z["rewards"],
        group_ids=z["group_ids"],
        trajectory_ids=z["trajectory_ids"],
        step_ids=z["step_ids"],
        observation_keys=z["observation_keys"],
    )
    gamma = float(z["gamma"])
    if "ref_step_returns_f32" in z.files:
        np.testing.assert_allclose(AG.step_returns(b, gamma).numpy(), z["ref_step_returns_f32"], atol=1e-6, rtol=0)
    assert len(info["cases"]) >= 8
    for c in info["cases"]:
        ref = z["adv::" + c["key"]]
        if info["kind"] == "gigpo":
            a = compute_advantages(
                "gigpo",
                b,
                gamma=gamma,
                mode=c["mode"],
                episode_stats=c["episode_stats"],
                step_advantage_w=c["step_advantage_w"],
            )
        elif info["kind"] == "gigpo_similarity":
            S = torch.tensor(z["similarity"])
            codes = torch.tensor(z["observation_keys"])
            a = compute_advantages(
                "gigpo",
                b,
                gamma=gamma,
                mode=c["mode"],
                episode_stats=c["episode_stats"],
                grouping="similarity",
                similarity=lambda i, j: S[codes[i], codes[j]],
                similarity_threshold=c["similarity_threshold"],
            )
        else:
            a = compute_advantages(
                "hgpo",
                b,
                gamma=gamma,
                history_length=c["history_length"],
                mode=c["mode"],
                alpha=c["alpha"],
                base_group=c["base_group"],
                zero_items=c["zero_items"].split("_")[0],
            )
        np.testing.assert_allclose(a.numpy(), ref, atol=1e-6, rtol=0, err_msg=f"{name} {c['key']}")


def test_parity_data_distinguishes_the_conventions():
    z = np.load(DATA / "hgpo_corridor.npz")
    k = "K=2|mean_std_norm|alpha=1.0|base=True"
    assert np.abs(z[f"adv::drop_zero|{k}"] - z[f"adv::keep_zero|{k}"]).max() > 0.1
    z = np.load(DATA / "gigpo_corridor.npz")
    assert np.abs(z["adv::mean_std_norm|step_rows|w=1.0"] - z["adv::mean_std_norm|trajectories|w=1.0"]).max() > 0.05


# ============================================================================ differential (loop twins)
@settings(max_examples=20)
@given(
    d=batches,
    gamma=st.sampled_from([0.0, 0.5, 0.95, 1.0]),
    mode=st.sampled_from(["mean_norm", "mean_std_norm"]),
    stats=st.sampled_from(["step_rows", "trajectories"]),
)
def test_gigpo_matches_loop_twin(d, gamma, mode, stats):
    a = compute_advantages("gigpo", as_batch(d), gamma=gamma, mode=mode, episode_stats=stats, step_advantage_w=0.7)
    np.testing.assert_allclose(a.numpy(), gigpo_loop(d, gamma, mode, stats, 0.7), atol=1e-7)


@settings(max_examples=20)
@given(
    d=batches,
    K=st.integers(0, 3),
    mode=st.sampled_from(["mean_norm", "mean_std_norm"]),
    alpha=st.sampled_from([0.0, 1.0, 1.5]),
    base=st.booleans(),
    zero=st.sampled_from(["drop", "keep"]),
)
def test_hgpo_matches_loop_twin(d, K, mode, alpha, base, zero):
    a = compute_advantages(
        "hgpo", as_batch(d), gamma=0.9, history_length=K, mode=mode, alpha=alpha, base_group=base, zero_items=zero
    )
    np.testing.assert_allclose(a.numpy(), hgpo_loop(d, 0.9, K, mode, alpha, base, zero), atol=1e-7)


@settings(max_examples=20)
@given(d=batches, merge=st.sampled_from(["prefix", "state"]), base=st.sampled_from(["grpo", "dr_grpo", "rloo"]))
def test_salt_matches_loop_twin(d, merge, base):
    a = compute_advantages("salt", as_batch(d), merge=merge, base=base)
    np.testing.assert_allclose(a.numpy(), salt_loop(d, merge, base), atol=1e-7)


@settings(max_examples=20)
@given(
    d=batches,
    gamma=st.sampled_from([0.5, 1.0]),
    mode=st.sampled_from(["mean_norm", "mean_std_norm"]),
    seed=st.integers(0, 1000),
)
def test_igpo_matches_loop_twin(d, gamma, mode, seed):
    rng = np.random.default_rng(seed)
    n = len(d["rewards"])
    lp = np.log(rng.uniform(0.01, 1.0, n))
    lp0_traj = np.log(rng.uniform(0.01, 1.0, d["traj"].max() + 1))
    lp0 = lp0_traj[d["traj"]]
    b = as_batch(d, gold_logprobs=lp, gold_logprob_init=lp0)
    a = compute_advantages("igpo", b, gamma=gamma, mode=mode)
    np.testing.assert_allclose(a.numpy(), igpo_loop(d, lp, lp0, gamma, mode), atol=1e-7)


def test_similarity_grouping_with_embeddings_matches_loop(rng):
    d = random_steps(rng, 3, 4, 5, 3)
    n = len(d["rewards"])
    emb = rng.normal(size=(n, 3))
    emb[rng.random(n) < 0.5] = np.array([1.0, 0.0, 0.0])
    thr = 0.8
    a = compute_advantages(
        "gigpo",
        as_batch(d, observation_embeddings=emb),
        grouping="similarity",
        similarity_threshold=thr,
        mode="mean_norm",
        episode_stats="trajectories",
    )
    # loop twin: greedy leader clustering in row order, then the exact-grouping formula on cluster ids
    unit = emb / np.linalg.norm(emb, axis=1, keepdims=True)
    cluster = np.empty(n, int)
    for gi in np.unique(d["group"]):
        reps = []
        for i in np.flatnonzero(d["group"] == gi):
            for rep in reps:
                if unit[i] @ unit[rep] >= thr:
                    cluster[i] = rep
                    break
            else:
                reps.append(i)
                cluster[i] = i
    d2 = dict(d, obs=cluster)
    np.testing.assert_allclose(a.numpy(), gigpo_loop(d2, 0.95, "mean_norm", "trajectories"), atol=1e-7)


# ============================================================================ properties / claims
@settings(max_examples=25)
@given(d=batches, mode=st.sampled_from(["mean_norm", "mean_std_norm"]))
def test_claim_gigpo_reduces_to_grpo(d, mode):
    observed, bound = AG.check_gigpo_reduces_to_grpo(as_batch(d), mode=mode)
    assert observed <= bound


@settings(max_examples=25)
@given(d=batches)
def test_claim_zero_mean_per_group(d):
    observed, bound = AG.check_gigpo_zero_mean(as_batch(d))
    assert observed <= bound


@settings(max_examples=25)
@given(d=batches)
def test_claim_hgpo_k0_is_gigpo_step_advantage(d):
    observed, bound = AG.check_hgpo_k0_equals_gigpo_step(as_batch(d))
    assert observed <= bound


@settings(max_examples=15)
@given(d=batches)
def test_claim_salt_shared_prefix_is_neutral(d):
    # force a common first step in every trajectory
    first = d["step"] == 0
    d = dict(d, obs=np.where(first, 9, d["obs"]), act=np.where(first, 9, d["act"]))
    observed, bound = AG.check_salt_shared_prefix_neutral(as_batch(d))
    assert observed <= bound


@settings(max_examples=15)
@given(d=batches, seed=st.integers(0, 100))
def test_claim_igpo_telescoping(d, seed):
    rng = np.random.default_rng(seed)
    n = len(d["rewards"])
    lp0 = np.log(rng.uniform(0.05, 1, d["traj"].max() + 1))[d["traj"]]
    b = as_batch(d, gold_logprobs=np.log(rng.uniform(0.05, 1, n)), gold_logprob_init=lp0)
    observed, bound = AG.check_igpo_telescoping(b)
    assert observed <= bound


@settings(max_examples=15)
@given(d=batches, K=st.integers(0, 3))
def test_hgpo_groups_are_nested(d, K):
    b = as_batch(d)
    lay = AG._layout(b, "hgpo")
    levels = []
    AG._hgpo_sorted(
        b,
        lay,
        gamma=0.9,
        history_length=K,
        mode="mean_norm",
        alpha=1.0,
        base_group=False,
        zero_items="keep",
        eps=EPS,
        levels_out=levels,
    )
    for (r1, c1, _), (r2, c2, _) in zip(levels, levels[1:]):
        parent = dict(zip(r1.tolist(), c1.tolist()))
        assert set(r2.tolist()) <= set(r1.tolist())
        # every deeper group lies inside one shallower group
        owners = defaultdict(set)
        for r, c in zip(r2.tolist(), c2.tolist()):
            owners[c].add(parent[r])
        assert all(len(v) == 1 for v in owners.values())


@settings(max_examples=15)
@given(d=batches, seed=st.integers(0, 10**6))
def test_row_permutation_equivariance(d, seed):
    rng = np.random.default_rng(seed)
    p = rng.permutation(len(d["rewards"]))
    dp = {k: v[p] for k, v in d.items()}
    n = len(d["rewards"])
    tags = rng.integers(-1, 3, n)
    meta = rng.normal(size=n)
    lp = np.log(rng.uniform(0.1, 1, n))
    lp0 = np.log(rng.uniform(0.1, 1, d["traj"].max() + 1))[d["traj"]]
    for method, kw, ex in (
        ("gigpo", {}, {}),
        ("hgpo", {"base_group": True}, {}),
        ("salt", {}, {}),
        ("igpo", {}, {"gold_logprobs": lp, "gold_logprob_init": lp0}),
        ("rlvmr", {}, {"tags": tags, "meta_rewards": meta}),
    ):
        a = compute_advantages(method, as_batch(d, **ex), **kw).numpy()
        exp = {k: v[p] for k, v in ex.items()}
        ap = compute_advantages(method, as_batch(dp, **exp), **kw).numpy()
        np.testing.assert_allclose(ap, a[p], atol=1e-9, err_msg=method)


@settings(max_examples=15)
@given(d=batches)
def test_salt_plugin_invariance_distinct_steps(d):
    # docs/papers/salt.md claim 4: no shared step -> SALT = the base trajectory advantage
    n = len(d["rewards"])
    d = dict(d, act=np.arange(n))
    a = compute_advantages("salt", as_batch(d), base="grpo", merge="state").numpy()
    expect = salt_loop(dict(d, obs=np.arange(n)), "state", "grpo")
    np.testing.assert_allclose(a, expect, atol=1e-9)


@settings(max_examples=15)
@given(seed=st.integers(0, 10**6))
def test_gcpo_mask_zero_is_grpo(seed):
    rng = np.random.default_rng(seed)
    n = 24
    g = rng.integers(0, 4, n)
    acc = rng.integers(0, 2, n).astype(float)
    b = RolloutBatch(rewards=acc, group_ids=g, extra={"aux": rng.integers(0, 2, n)})
    a = compute_advantages("gcpo", b, lambda_aux=0.0)
    ref = compute_advantages(
        "grpo", RolloutBatch(rewards=acc, group_ids=g), convention="verl", singleton="zero", zero_variance="zero"
    )
    np.testing.assert_allclose(a.numpy(), ref.numpy(), atol=1e-9)


def test_returns_doubling_scan_long_trajectory():
    # 300-step trajectory, gamma 0.5: the scan must not lose precision (no gamma^-t rescaling)
    T = 300
    r = np.zeros(T)
    r[-1] = 1.0
    r[5] = 0.25
    b = step_batch([0] * T, [0] * T, np.arange(T), np.zeros(T, int), r)
    R = AG.step_returns(b, 0.5).numpy()
    d = dict(group=np.zeros(T, int), traj=np.zeros(T, int), step=np.arange(T), rewards=r)
    np.testing.assert_allclose(R, _returns_loop(d, 0.5), rtol=1e-13, atol=0)


def test_token_level_rewards_and_broadcast():
    b = _tiny_gigpo()
    tl = np.zeros((4, 3))
    tl[:, -1] = [0, 1, 0, 0]
    mask = np.ones((4, 3))
    mask[0, 2] = 0
    bt = RolloutBatch(
        rewards=tl,
        group_ids=[0] * 4,
        trajectory_ids=[0, 0, 1, 1],
        step_ids=[0, 1, 0, 1],
        observation_keys=np.array([0, 1, 0, 2]),
        response_mask=mask,
    )
    a = compute_advantages("gigpo", b, gamma=0.5)
    at = compute_advantages("gigpo", bt, gamma=0.5, broadcast=True)
    np.testing.assert_allclose(at.numpy(), a.numpy()[:, None] * mask, atol=1e-12)


def test_float32_batch_keeps_dtype():
    b = _tiny_gigpo().to(dtype=torch.float32)
    for m in ("gigpo", "hgpo"):
        assert compute_advantages(m, b).dtype == torch.float32


# ============================================================================ bad input
@pytest.mark.parametrize(
    "method,missing",
    [
        ("gigpo", "trajectory_ids"),
        ("hgpo", "observation_keys"),
        ("salt", "action_keys"),
        ("igpo", "gold_logprobs"),
        ("gcpo", "aux"),
        ("rlvmr", "tags"),
    ],
)
def test_missing_field_is_named(method, missing):
    full = dict(
        rewards=[0.0, 1.0],
        group_ids=[0, 0],
        trajectory_ids=[0, 1],
        step_ids=[0, 0],
        observation_keys=np.array([0, 0]),
        extra={
            "action_keys": [0, 0],
            "gold_logprobs": [-1.0, -1.0],
            "gold_logprob_init": [-1.0, -1.0],
            "aux": [0, 1],
            "tags": [0, 0],
            "meta_rewards": [0.0, 1.0],
        },
    )
    if missing in full:
        full[missing] = None
    else:
        full["extra"] = {k: v for k, v in full["extra"].items() if k != missing}
    b = RolloutBatch(**full)
    with pytest.raises(ValueError, match=f"{method}.*{missing}"):
        compute_advantages(method, b)


def test_gigpo_exact_needs_observation_keys():
    b = RolloutBatch(rewards=[0.0, 1.0], group_ids=[0, 0], trajectory_ids=[0, 1], step_ids=[0, 0])
    with pytest.raises(ValueError, match="gigpo.*observation_keys"):
        compute_advantages("gigpo", b)
    with pytest.raises(ValueError, match="observation_embeddings"):
        compute_advantages("gigpo", b, grouping="similarity")


@pytest.mark.parametrize(
    "method,opts,exc,msg",
    [
        ("gigpo", {"mode": "std"}, ValueError, "mode must be one of"),
        ("gigpo", {"gamma": 1.5}, ValueError, "gamma must be <= 1"),
        ("gigpo", {"gamma": float("nan")}, TypeError, "gamma must be a finite"),
        ("gigpo", {"episode_stats": "rows"}, ValueError, "episode_stats"),
        ("gigpo", {"grouping": "fuzzy"}, ValueError, "grouping"),
        ("gigpo", {"similarity_threshold": 0.0, "grouping": "similarity"}, ValueError, "similarity_threshold"),
        ("gigpo", {"grouping": "similarity", "similarity": 3}, TypeError, "similarity must be"),
        ("gigpo", {"grouping": "similarity", "similarity": lambda i, j: torch.ones(1)}, ValueError, "must return"),
        ("hgpo", {"history_length": -1}, ValueError, "history_length must be >= 0"),
        ("hgpo", {"history_length": 1.5}, TypeError, "history_length must be an int"),
        ("hgpo", {"zero_items": "skip"}, ValueError, "zero_items"),
        ("hgpo", {"base_group": 1}, TypeError, "base_group must be a bool"),
        ("hgpo", {"epsilon": -1.0}, ValueError, "epsilon must be >= 0"),
        ("salt", {"merge": "trie"}, ValueError, "merge"),
        ("salt", {"base": "ppo"}, ValueError, "base"),
        ("salt", {"base": "supplied"}, ValueError, "trajectory_advantages"),
        ("gigpo", {"omega": 1.0}, TypeError, "no option"),
    ],
)
def test_bad_options(method, opts, exc, msg):
    b = step_batch([0, 0, 0], [0, 0, 1], [0, 1, 0], [0, 1, 0], [0, 1, 0], action_keys=[0, 0, 0])
    with pytest.raises(exc, match=msg):
        compute_advantages(method, b, **opts)


def test_duplicate_step_ids():
    b = step_batch([0, 0], [3, 3], [1, 1], [0, 1], [0, 1])
    with pytest.raises(ValueError, match="step_ids must be unique inside each trajectory"):
        compute_advantages("gigpo", b)


def test_bad_input_values():
    with pytest.raises(ValueError, match="rewards"):
        step_batch([0, 0], [0, 1], [0, 0], [0, 0], [0.0, float("nan")])
    with pytest.raises(TypeError, match="observation_keys\\[1\\] is not hashable"):
        RolloutBatch(rewards=[0.0, 1.0], observation_keys=[(1,), [2]])
    b = step_batch([0, 0], [0, 1], [0, 0], [0, 0], [0, 1], gold_logprobs=[0.5, -1.0], gold_logprob_init=[-1.0, -1.0])
    with pytest.raises(ValueError, match="log-probabilities, which must be <= 0"):
        compute_advantages("igpo", b)
    b = step_batch([0, 0], [0, 0], [0, 1], [0, 0], [0, 1], gold_logprobs=[-0.5, -1.0], gold_logprob_init=[-1.0, -2.0])
    with pytest.raises(ValueError, match="gold_logprob_init.*constant inside each trajectory"):
        compute_advantages("igpo", b)
    b = RolloutBatch(rewards=[0.0, 1.0], group_ids=[0, 0], extra={"aux": [0, 2]})
    with pytest.raises(ValueError, match="aux.*only 0 and 1"):
        compute_advantages("gcpo", b)
    b = step_batch([0, 0], [0, 0], [0, 1], [0, 0], [0, 1], action_keys=[0, 1], trajectory_advantages=[0.5, 0.2])
    with pytest.raises(ValueError, match="trajectory_advantages.*constant"):
        compute_advantages("salt", b, base="supplied")
    b = step_batch(
        [0, 0],
        [0, 0],
        [0, 1],
        [0, 0],
        [0, 1],
        gold_logprobs=np.zeros((2, 3)),
        gold_mask=np.array([[1, 0, 0], [0, 0, 0]]),
        gold_logprob_init=[-1.0, -1.0],
    )
    with pytest.raises(ValueError, match="gold_mask.*row 1"):
        compute_advantages("igpo", b)
    with pytest.raises(ValueError, match="extra\\['aux'\\].*must have 2 rows"):
        compute_advantages("gcpo", RolloutBatch(rewards=[0.0, 1.0], group_ids=[0, 0], extra={"aux": [0, 1, 1]}))
