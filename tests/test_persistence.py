"""m.save / mdp.load_model and mdp.save_result / mdp.load_result: round trips, schema versions, bad files."""

from __future__ import annotations

import dataclasses
import zipfile

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import mdp
from mdp import persistence


def _assert_same_model(a, b):
    assert (a.n_states, a.n_actions, a.gamma, a.is_sparse, a.dtype) == (
        b.n_states,
        b.n_actions,
        b.gamma,
        b.is_sparse,
        b.dtype,
    )
    np.testing.assert_array_equal(a.R, b.R)
    np.testing.assert_array_equal(a.dense_P(), b.dense_P())
    assert a.row_sum_range == b.row_sum_range


@settings(max_examples=15, deadline=None)
@given(
    S=st.integers(1, 6),
    A=st.integers(1, 3),
    seed=st.integers(0, 2**32 - 1),
    sparse=st.booleans(),
    f32=st.booleans(),
    gamma=st.floats(0.0, 1.0),
)
def test_model_round_trip_property(tmp_path_factory, S, A, seed, sparse, f32, gamma):
    rng = np.random.default_rng(seed)
    P = rng.random((S, A, S)) * (rng.random((S, A, S)) < 0.5)
    P[..., -1] += 1e-3
    P /= P.sum(axis=2, keepdims=True)
    m = mdp.TabularMDP(P, rng.normal(size=(S, A)), gamma, dtype=np.float32 if f32 else np.float64)
    m = m.to_sparse() if sparse else m
    path = tmp_path_factory.mktemp("m") / "model.npz"
    assert m.save(path) == path
    _assert_same_model(m, mdp.load_model(path))
    _assert_same_model(m, mdp.load_model(str(path)))


def test_model_file_is_open_numpy(tmp_path):
    m = mdp.generators.forest()
    m.save(tmp_path / "forest.npz")
    with np.load(tmp_path / "forest.npz", allow_pickle=False) as z:
        assert str(z["rlab_schema"]) == "rlab.TabularMDP" and int(z["schema_version"]) == 1
        np.testing.assert_array_equal(z["P"], m.P)
        assert str(z["format"]) == "dense"
    m.to_sparse().save(tmp_path / "forest_csr")  # no suffix: the name is kept as given
    assert (tmp_path / "forest_csr").is_file()
    with np.load(tmp_path / "forest_csr", allow_pickle=False) as z:
        assert str(z["format"]) == "csr" and "P_data" in z.files
    # the loaded model solves to the documented values
    res = mdp.value_iteration(mdp.load_model(tmp_path / "forest_csr"), tol=1e-9)
    np.testing.assert_allclose(res.v, [74.6496, 78.1056, 82.1056], atol=1e-4)


def _results():
    m = mdp.generators.forest()
    return [
        mdp.value_iteration(m, tol=1e-8),
        mdp.solve(m),  # deferred q: saved computed
        mdp.policy_evaluation(m, [0, 0, 1]),
        mdp.finite_horizon(m, 4),
        mdp.certify(m, np.zeros(3)),
        mdp.relative_value_iteration(m),
        mdp.policy_gain_bias(m, [0, 0, 0]),
    ]


@pytest.mark.parametrize("res", _results(), ids=lambda r: type(r).__name__)
def test_result_round_trip(tmp_path, res):
    path = mdp.save_result(res, tmp_path / "r.npz")
    back = mdp.load_result(path)
    assert type(back) is type(res)
    for f in dataclasses.fields(res):
        a, b = getattr(res, f.name), getattr(back, f.name)
        if isinstance(a, np.ndarray):
            np.testing.assert_array_equal(a, b)
            assert a.dtype == b.dtype and not b.flags.writeable
        else:
            assert a == b and type(a) is type(b), f.name


def test_marl_result_round_trip(tmp_path):
    marl = pytest.importorskip("marl")
    sol = marl.zero_sum_matrix_game(np.array([[0.0, 1.0], [1.0, 0.0]]))
    back = mdp.load_result(mdp.save_result(sol, tmp_path / "g.npz"))
    assert type(back) is type(sol)
    np.testing.assert_array_equal(np.asarray(back.value), np.asarray(sol.value))


def _rewrite(path, **changes):
    with np.load(path, allow_pickle=False) as z:
        data = {k: z[k] for k in z.files}
    for k, v in changes.items():
        if v is None:
            data.pop(k)
        else:
            data[k] = np.array(v)
    with open(path, "wb") as fh:
        np.savez(fh, **data)


def test_newer_or_wrong_schema_is_refused(tmp_path):
    p = mdp.generators.forest().save(tmp_path / "m.npz")
    _rewrite(p, schema_version=2)
    with pytest.raises(ValueError, match="schema version 2, newer than the version 1"):
        mdp.load_model(p)
    _rewrite(p, schema_version=0)
    with pytest.raises(ValueError, match="invalid schema_version 0"):
        mdp.load_model(p)
    _rewrite(p, schema_version=None)
    with pytest.raises(ValueError, match="no valid schema_version"):
        mdp.load_model(p)
    r = mdp.save_result(mdp.relative_value_iteration(mdp.generators.forest()), tmp_path / "r.npz")
    with pytest.raises(ValueError, match="not an rlab model file.*'rlab.result'"):
        mdp.load_model(r)
    p2 = mdp.generators.forest().save(tmp_path / "m2.npz")
    with pytest.raises(ValueError, match="not an rlab result file"):
        mdp.load_result(p2)
    _rewrite(r, schema_version=7)
    with pytest.raises(ValueError, match="result schema version 7, newer"):
        mdp.load_result(r)
    np.savez(tmp_path / "plain.npz", x=np.zeros(2))
    with pytest.raises(ValueError, match="its rlab_schema is None"):
        mdp.load_model(tmp_path / "plain.npz")


def test_corrupt_and_tampered_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="no model file at"):
        mdp.load_model(tmp_path / "missing.npz")
    (tmp_path / "junk.npz").write_bytes(b"not a zip")
    with pytest.raises(ValueError, match="not a readable .npz model file") as exc:
        mdp.load_model(tmp_path / "junk.npz")
    assert "allow_pickle" not in str(exc.value)  # numpy's advice to unpickle does not apply to rlab files
    np.save(tmp_path / "v.npy", np.zeros(3))  # a plain array: was a TypeError about context managers
    with pytest.raises(ValueError, match=r"holds a single \.npy array of shape \(3,\); rlab models are"):
        mdp.load_model(tmp_path / "v.npy")
    with pytest.raises(ValueError, match=r"rlab results are \.npz archives written by mdp\.save_result"):
        mdp.load_result(tmp_path / "v.npy")
    p = mdp.generators.forest().save(tmp_path / "m.npz")
    _rewrite(p, R=None)
    with pytest.raises(ValueError, match="entry 'R' is missing"):
        mdp.load_model(p)
    p = mdp.generators.forest().save(tmp_path / "m.npz")
    _rewrite(p, format="coo")
    with pytest.raises(ValueError, match="unknown format 'coo'"):
        mdp.load_model(p)
    p = mdp.generators.forest().save(tmp_path / "m.npz")
    _rewrite(p, P=np.full((3, 2, 3), 0.5))
    with pytest.raises(ValueError, match="sums to"):  # a loaded model is validated again
        mdp.load_model(p)
    r = mdp.save_result(mdp.relative_value_iteration(mdp.generators.forest()), tmp_path / "r.npz")
    _rewrite(r, result_class="os:system")
    with pytest.raises(ValueError, match="not one of mdp or marl"):
        mdp.load_result(r)
    _rewrite(r, result_class="mdp:NoSuchResult")
    with pytest.raises(ValueError, match="does not have"):
        mdp.load_result(r)
    r = mdp.save_result(mdp.relative_value_iteration(mdp.generators.forest()), tmp_path / "r.npz")
    _rewrite(r, **{"f.gain": None})
    with pytest.raises(ValueError, match="field 'gain' is missing"):
        mdp.load_result(r)
    assert zipfile.is_zipfile(
        mdp.save_result(mdp.relative_value_iteration(mdp.generators.forest()), tmp_path / "ok.npz")
    )


def test_bad_arguments():
    with pytest.raises(TypeError, match="m must be an mdp.TabularMDP"):
        persistence.save_model("model", "x.npz")
    with pytest.raises(TypeError, match="path must be a str or os.PathLike"):
        mdp.generators.forest().save(3)
    with pytest.raises(ValueError, match="path must not be empty"):
        mdp.load_model("")
    with pytest.raises(TypeError, match="res must be a result"):
        mdp.save_result({"v": 1}, "x.npz")
