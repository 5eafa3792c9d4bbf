"""mdp.cop.policy (BQ-NCO attention policies, behaviour cloning) and the bq_tsp lab on tiny configs."""

import subprocess
import sys

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import labs.bq_tsp  # noqa: E402,F401  (registers the lab until the lead adds it to _load_builtin_labs)
from labs.base import run_lab  # noqa: E402
from mdp.cop import greedy_tsp, nearest_neighbour_scores, random_euclidean_tsp, solve_tsp_batch, tsp_subproblems  # noqa: E402
from mdp.cop import policy as P  # noqa: E402

TINY = dict(batch_size=64, lr=3e-3)


def _excite(model, value=0.7):
    """ReZero starts as the identity map; make the attention layers matter for structural tests."""
    with torch.no_grad():
        for layer in model.encoder.layers:
            layer.alpha_attn.fill_(value)
            layer.alpha_ff.fill_(value)
    return model


def _seeded(cls, seed=0, **kw):
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return _excite(cls(**kw))


@pytest.fixture(scope="module")
def trained():
    """A BQ and a direct policy trained on TSP-6 (shared by several tests; about 2 s)."""
    rng = np.random.default_rng(3)
    coords = random_euclidean_tsp(6, 256, rng=rng)
    bq, hb = P.train_bq_policy(6, 256, 200, rng=rng, instances=coords, **TINY)
    direct, hd = P.train_direct_policy(6, 256, 200, rng=rng, instances=coords, **TINY)
    return bq, hb, direct, hd


# ----------------------------------------------------------------------------- structure


@pytest.mark.parametrize("L", [3, 5, 9])
def test_bq_scores_are_permutation_equivariant_on_the_middle_tokens(L):
    model = _seeded(P.BQPolicy)
    rng = np.random.default_rng(L)
    x = torch.from_numpy(rng.random((4, L, 2)).astype(np.float32))
    perm = np.concatenate([[0], 1 + rng.permutation(L - 2), [L - 1]])
    with torch.no_grad():
        s, sp = model(x), model(x[:, perm])
    np.testing.assert_allclose(sp[:, 1:-1].numpy(), s[:, perm][:, 1:-1].numpy(), rtol=1e-5, atol=1e-5)
    # begin/end embeddings break the symmetry between origin and destination (not equivariant there)
    swap = np.concatenate([[L - 1], np.arange(1, L - 1), [0]])
    with torch.no_grad():
        s_swap = model(x[:, swap])
    assert not np.allclose(s_swap[:, 1:-1].numpy(), s[:, 1:-1].numpy(), atol=1e-6)


def test_direct_scores_are_permutation_equivariant_over_all_nodes():
    model = _seeded(P.DirectPolicy)
    rng = np.random.default_rng(1)
    flags = np.zeros((3, 7, 3))
    flags[:, :3, 0] = 1.0  # visited
    flags[:, 2, 1] = 1.0  # current
    flags[:, 0, 2] = 1.0  # first
    feats = P.direct_features(rng.random((3, 7, 2)), flags)
    perm = rng.permutation(7)
    with torch.no_grad():
        s, sp = model(feats), model(feats[:, perm])
    np.testing.assert_allclose(sp.numpy(), s[:, perm].numpy(), rtol=1e-5, atol=1e-5)


def test_rezero_starts_as_identity_encoder():
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        model = P.BQPolicy()
    assert all(layer.alpha_attn.item() == 0.0 and layer.alpha_ff.item() == 0.0 for layer in model.encoder.layers)
    x = torch.rand(2, 6, 2)
    with torch.no_grad():
        h = model.encoder.embed(x)
        h[:, 0] += model.begin
        h[:, -1] += model.end
        expected = model.encoder.head(h).squeeze(-1)[:, 1:-1]
        np.testing.assert_allclose(model(x)[:, 1:-1].numpy(), expected.numpy(), rtol=1e-6)


def test_masks_origin_destination_and_visited_nodes():
    model = _seeded(P.BQPolicy)
    with torch.no_grad():
        model.encoder.head.bias.fill_(1e6)
        s = model(torch.rand(5, 8, 2))
    assert torch.isneginf(s[:, 0]).all() and torch.isneginf(s[:, -1]).all()
    assert torch.isfinite(s[:, 1:-1]).all()
    assert set(s.argmax(-1).tolist()) <= set(range(1, 7))
    d = _seeded(P.DirectPolicy)
    flags = np.zeros((2, 5, 3))
    flags[:, [0, 3], 0] = 1.0
    with torch.no_grad():
        sd = d(P.direct_features(np.random.default_rng(0).random((2, 5, 2)), flags))
    assert torch.isneginf(sd[:, [0, 3]]).all() and torch.isfinite(sd[:, [1, 2, 4]]).all()
    # decoding with an untrained policy still gives tours that are permutations starting at 0
    coords = random_euclidean_tsp(9, 6, rng=np.random.default_rng(2))
    for m in (model, d):
        ev = P.evaluate(m, coords)
        assert np.array_equal(np.sort(ev.tours, axis=1), np.tile(np.arange(9), (6, 1)))
        assert np.all(ev.tours[:, 0] == 0) and np.all(ev.gaps >= -1e-12)


# ----------------------------------------------------------------------------- training data


def test_training_states_are_the_expert_suffix_subproblems_and_their_direct_twins():
    rng = np.random.default_rng(5)
    coords = random_euclidean_tsp(7, 20, rng=rng)
    tours = solve_tsp_batch(coords).tours
    bq = P._bq_batches(coords, tours, 4)
    direct = P._direct_batches(coords, tours, 4)
    assert sorted(bq) == sorted(direct) == [4, 5, 6, 7, 8]
    for L in range(4, 9):
        sub = tsp_subproblems(coords, tours, size=L)
        np.testing.assert_array_equal(bq[L].numpy(), sub.coords.astype(np.float32))
        feats, target = direct[L]
        feats = feats.numpy()
        for b in range(20):
            unvisited = set(np.flatnonzero(feats[b, :, 2] == 0).tolist())
            assert unvisited == set(sub.nodes[b, 1:-1].tolist())  # same state, two views
            assert np.flatnonzero(feats[b, :, 3]).tolist() == [sub.nodes[b, 0]]  # current = origin
            assert np.flatnonzero(feats[b, :, 4]).tolist() == [0]  # first = destination
            assert int(target[b]) == sub.nodes[b, 1]  # the BQ target index 1 is the expert's node
        np.testing.assert_array_equal(feats[..., :2], coords.astype(np.float32))


def test_sampled_subproblem_sizes_are_uniform_on_4_to_n_plus_1(trained):
    _, hb, _, hd = trained
    assert set(hb.sizes.tolist()) == set(range(4, 8))
    counts = np.bincount(np.concatenate([hb.sizes, hd.sizes]), minlength=8)[4:]
    assert counts.min() > 60  # 400 draws over 4 sizes: 100 expected each


# ----------------------------------------------------------------------------- learning


def test_training_reduces_the_loss_and_beats_random_decoding(trained):
    bq, hb, direct, hd = trained
    for h in (hb, hd):
        assert h.losses[-20:].mean() < 0.8 * h.losses[:20].mean()
        assert h.accuracy[-20:].mean() > 0.6
        assert h.seconds > 0 and h.n_train == 6 and h.n_instances == 256
    coords = random_euclidean_tsp(6, 64, rng=np.random.default_rng(9))
    rng = np.random.default_rng(0)
    random = P.evaluate(lambda c, nodes: rng.random(nodes.shape), coords, "bq")
    eb = P.evaluate(bq, coords, optimal=random.optimal)
    ed = P.evaluate(direct, coords, optimal=random.optimal)
    assert eb.mean_gap < 0.5 * random.mean_gap and ed.mean_gap < 0.5 * random.mean_gap
    assert eb.mean_gap < 0.08 and np.mean(eb.gaps < 1e-9) > 0.4
    np.testing.assert_allclose(random.optimal, solve_tsp_batch(coords).lengths)


def test_bq_policy_is_size_agnostic_and_decodes_with_n_minus_1_calls(trained):
    """BQ3: a policy trained at n = 6 decodes n = 9 with calls on sizes n + 1, ..., 3."""
    bq, _, direct, _ = trained
    coords = random_euclidean_tsp(9, 8, rng=np.random.default_rng(4))
    eb = P.evaluate(bq, coords)
    assert eb.n_calls == 8 and eb.call_sizes == tuple(range(10, 2, -1))
    ed = P.evaluate(direct, coords)
    assert ed.n_calls == 8 and ed.call_sizes == (9,) * 8
    # the evaluation is the plain greedy decoding of the policy's score function
    dec = greedy_tsp(coords, P.bq_score_fn(bq), view="bq")
    np.testing.assert_array_equal(dec.tours, eb.tours)
    np.testing.assert_allclose(eb.gaps, dec.lengths / eb.optimal - 1)


def test_training_is_deterministic_for_a_seed_and_leaves_torch_rng_alone():
    torch.manual_seed(123)
    before = torch.random.get_rng_state().clone()
    threads = torch.get_num_threads()
    runs = [P.train_bq_policy(5, 40, 15, rng=np.random.default_rng(s), batch_size=16) for s in (7, 7, 8)]
    assert torch.equal(torch.random.get_rng_state(), before) and torch.get_num_threads() == threads
    (m1, h1), (m2, h2), (m3, h3) = runs
    np.testing.assert_array_equal(h1.losses, h2.losses)
    for (k, a), b in zip(m1.state_dict().items(), m2.state_dict().values()):
        assert torch.equal(a, b), k
    assert not np.array_equal(h1.losses, h3.losses)
    md1, hd1 = P.train_direct_policy(5, 40, 15, rng=np.random.default_rng(7), batch_size=16)
    md2, hd2 = P.train_direct_policy(5, 40, 15, rng=np.random.default_rng(7), batch_size=16)
    np.testing.assert_array_equal(hd1.losses, hd2.losses)


def test_nearest_neighbour_baseline_through_evaluate():
    coords = random_euclidean_tsp(7, 10, rng=np.random.default_rng(0))
    ev = P.evaluate(nearest_neighbour_scores, coords, "bq")
    dist = np.linalg.norm(coords[:, :, None] - coords[:, None], axis=-1)
    for b in range(10):  # every step goes to the nearest unvisited node
        t = ev.tours[b]
        for k in range(1, 6):
            rest = t[k:]
            assert t[k] == rest[np.argmin(dist[b, t[k - 1], rest])]
    assert ev.mean_gap >= 0


# ----------------------------------------------------------------------------- bad input


def test_bad_input_messages():
    m = P.BQPolicy()
    with pytest.raises(ValueError, match=r"coords must have shape \(B, L, 2\), got \(2, 5, 3\)"):
        m(torch.rand(2, 5, 3))
    with pytest.raises(ValueError, match=r"coords must have at least 3 tokens"):
        m(torch.rand(2, 2, 2))
    with pytest.raises(ValueError, match=r"coords must be finite"):
        m(torch.full((1, 4, 2), float("nan")))
    with pytest.raises(ValueError, match=r"features must have shape \(B, L, 5\)"):
        P.DirectPolicy()(torch.rand(1, 4, 2))
    with pytest.raises(ValueError, match=r"d_model must be divisible by n_heads"):
        P.BQPolicy(d_model=30, n_heads=4)
    with pytest.raises(ValueError, match=r"flags must have shape \(1, 4, 3\)"):
        P.direct_features(np.zeros((1, 4, 2)), np.zeros((1, 4, 2)))
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match=r"n_train must be >= 3, got 2"):
        P.train_bq_policy(2, 10, 5, rng=rng)
    with pytest.raises(TypeError, match=r"rng must be a numpy.random.Generator"):
        P.train_bq_policy(5, 10, 5, rng=0)
    with pytest.raises(ValueError, match=r"min_size must be <= n_train \+ 1 = 6, got 7"):
        P.train_direct_policy(5, 10, 5, rng=rng, min_size=7)
    with pytest.raises(ValueError, match=r"lr must be finite and > 0"):
        P.train_bq_policy(5, 10, 5, rng=rng, lr=-1.0)
    with pytest.raises(ValueError, match=r"lr_decay must lie in \(0, 1\]"):
        P.train_bq_policy(5, 10, 5, rng=rng, lr_decay=0.0)
    with pytest.raises(ValueError, match=r"instances must have shape \(n_instances, n_train, 2\)"):
        P.train_bq_policy(5, 10, 5, rng=rng, instances=np.zeros((10, 6, 2)))
    with pytest.raises(TypeError, match=r"steps must be an integer"):
        P.train_bq_policy(5, 10, 5.5, rng=rng)
    coords = random_euclidean_tsp(5, 3, rng=rng)
    with pytest.raises(ValueError, match=r"view 'direct' does not match the model \(BQPolicy"):
        P.evaluate(m, coords, "direct")
    with pytest.raises(ValueError, match=r"view must be 'bq' or 'direct' for a score function"):
        P.evaluate(nearest_neighbour_scores, coords)
    with pytest.raises(TypeError, match=r"model must be a BQPolicy, a DirectPolicy or a score function"):
        P.evaluate("bq", coords)
    with pytest.raises(ValueError, match=r"coords must have n >= 3 nodes, got n = 2"):
        P.evaluate(m, coords[:, :2])
    with pytest.raises(ValueError, match=r"coords must have shape \(B, n, 2\) or \(n, 2\)"):
        P.evaluate(m, np.zeros((2, 5, 3)))
    with pytest.raises(ValueError, match=r"optimal must have shape \(3,\)"):
        P.evaluate(m, coords, optimal=np.ones(2))
    with pytest.raises(TypeError, match=r"model must be a BQPolicy"):
        P.bq_score_fn(P.DirectPolicy())
    with pytest.raises(ValueError, match=r"unknown model\(s\) \['pointer'\]"):
        labs.bq_tsp.BQTSPConfig(models=("bq", "pointer"))
    with pytest.raises(ValueError, match=r"eval_sizes must be non-empty with every n in \[3, 20\]"):
        labs.bq_tsp.BQTSPConfig(eval_sizes=(10, 25))


# ----------------------------------------------------------------------------- lab and imports


def test_bq_tsp_lab_tiny_run(tmp_path):
    out = run_lab(
        "bq_tsp",
        seeds=1,
        out=tmp_path,
        executor="serial",
        n_train=5,
        n_instances=64,
        steps=30,
        batch_size=32,
        eval_sizes=(5, 7),
        eval_instances=16,
    )
    t = out.table
    d = tmp_path / "bq_tsp"
    for name in ("bq_tsp.csv", "bq_tsp.pdf", "bq_tsp.png", "provenance.json"):
        assert (d / name).is_file()
    assert len(t) == 6 and set(t["model"]) == {"bq", "direct", "nearest_neighbour"}
    assert np.all(t["n_calls"] == t["n"] - 1)
    assert np.all(t["mean_gap_pct"] >= 0) and np.all((t["opt_rate"] >= 0) & (t["opt_rate"] <= 1))
    at_train = t[t["n"] == 5]
    assert np.all(at_train["gen_gap_pct"] == 0.0)
    for model in ("bq", "direct", "nearest_neighbour"):
        r = t[t["model"] == model].set_index("n")
        assert r.loc[7, "gen_gap_pct"] == pytest.approx(r.loc[7, "mean_gap_pct"] - r.loc[5, "mean_gap_pct"])


def test_mdp_cop_and_the_lab_module_do_not_import_torch():
    code = (
        "import sys, mdp.cop, mdp.cop.tsp, labs.bq_tsp; from mdp.cop import greedy_tsp; "
        "assert 'torch' not in sys.modules, 'torch imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
