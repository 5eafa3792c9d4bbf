"""Save and load models and solver results as ``.npz`` files (an open format: numpy's zip of ``.npy``).

A file holds plain arrays only (read with ``allow_pickle=False``: loading never runs code) and two
header entries, ``rlab_schema`` (what the file holds) and ``schema_version`` (an integer, bumped
when the layout changes). A reader refuses a file whose schema it does not know or whose version
is newer than the one it implements, with a ``ValueError`` that says so.

Model files (``rlab_schema = "rlab.TabularMDP"``, version 1): ``R`` ``(S, A)``, ``gamma``, ``atol``,
``p_dtype`` (``"float64"``/``"float32"``), ``format`` (``"dense"`` or ``"csr"``) and either ``P``
``(S, A, S)`` or ``P_indptr``, ``P_indices``, ``P_data`` of the ``(S * A, S)`` CSR form. Any numpy
or SciPy user can read it: ``np.load(path)["R"]``.

Model directories (``layout="npy"``, for large models): the same entries as one ``.npy`` file each
(``R.npy``, ``P_indptr.npy``, ``P_indices.npy``, ``P_data.npy`` or ``P.npy``) plus ``header.json``
(``rlab_schema``, ``schema_version``, ``gamma``, ``atol``, ``p_dtype``, ``format``). They are written
uncompressed so that ``load_model(path, mmap=True)`` can memory-map them: a 10^7-state gridworld is
built once, saved, and reopened in about a second by later labs and sweeps (one validating pass
over the mapped pages; no copy, and the operating system shares the pages between processes).

Result files (``rlab_schema = "rlab.result"``, version 1): ``result_class`` (``module:QualName``, a
result class of ``mdp`` or ``marl``), ``fields`` (JSON: the kind of each field) and one entry
``f.<name>`` per field. Fields may be arrays, numbers, booleans, strings, ``None`` and tuples of
numbers.
"""

from __future__ import annotations

import dataclasses
import importlib
import json
import os
from pathlib import Path

import numpy as np

from mdp.model import TabularMDP

__all__ = ["save_model", "load_model", "save_result", "load_result", "MODEL_SCHEMA_VERSION", "RESULT_SCHEMA_VERSION"]

MODEL_SCHEMA = "rlab.TabularMDP"
MODEL_SCHEMA_VERSION = 1
RESULT_SCHEMA = "rlab.result"
RESULT_SCHEMA_VERSION = 1


def _check_path(path, name="path") -> Path:
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"{name} must be a str or os.PathLike, got {type(path).__name__}")
    p = Path(path)
    if str(path) == "":
        raise ValueError(f"{name} must not be empty")
    return p


def _write(path: Path, arrays: dict) -> Path:
    # np.savez appends ".npz" to a name without it; write through a file object so the name is kept
    with open(path, "wb") as fh:
        np.savez_compressed(fh, **arrays)
    return path


def _read(path, schema: str, version: int, what: str) -> dict:
    p = _check_path(path)
    if not p.is_file():
        raise FileNotFoundError(f"no {what} file at {str(path)!r}")
    try:
        loaded = np.load(p, allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        # numpy reads a file that is neither .npz nor .npy as a pickle and then suggests
        # allow_pickle=True; rlab never writes pickles, so that advice would be wrong here
        why = "neither a .npz archive nor a .npy array" if "pickle" in str(exc) else str(exc)
        raise ValueError(f"{str(path)!r} is not a readable .npz {what} file: {why}") from None
    if not isinstance(loaded, np.lib.npyio.NpzFile):  # a .npy array (np.save), not an rlab archive
        raise ValueError(
            f"{str(path)!r} is not a readable .npz {what} file: it holds a single .npy array of shape "
            f"{getattr(loaded, 'shape', None)}; rlab {what}s are .npz archives written by "
            + ("TabularMDP.save" if what == "model" else "mdp.save_result")
        )
    with loaded as z:
        data = {k: z[k] for k in z.files}
    return _check_header(data, path, schema, version, what)


def _check_header(data: dict, path, schema: str, version: int, what: str) -> dict:
    got = str(data["rlab_schema"]) if "rlab_schema" in data else None
    if got != schema:
        raise ValueError(f"{str(path)!r} is not an rlab {what} file: its rlab_schema is {got!r}, expected {schema!r}")
    try:
        ver = int(data["schema_version"])
    except (KeyError, TypeError, ValueError):
        raise ValueError(f"{str(path)!r} has no valid schema_version") from None
    if ver > version:
        raise ValueError(
            f"{str(path)!r} was written with {what} schema version {ver}, newer than the version "
            f"{version} this rlab reads; upgrade rlab to load it"
        )
    if ver < 1:
        raise ValueError(f"{str(path)!r} has an invalid schema_version {ver} (versions start at 1)")
    return data


def save_model(m, path, *, layout: str = "npz") -> Path:
    """Write ``m`` to ``path``. Returns the path.

    Dense models store ``P`` as ``(S, A, S)``; sparse ones their CSR arrays. ``P`` keeps its storage
    dtype (and the index arrays their integer type), so a loaded model is bit-for-bit the saved one.

    Parameters
    ----------
    m : TabularMDP
    path : str or os.PathLike
        A file (``layout="npz"``; the name is used as given) or a directory (``layout="npy"``;
        created if missing, its model files overwritten).
    layout : {"npz", "npy"}, default "npz"
        ``"npz"``: one compressed ``.npz`` file. ``"npy"``: a directory of uncompressed ``.npy``
        arrays that :func:`load_model` can memory-map (``mmap=True``).
    """
    if not isinstance(m, TabularMDP):
        raise TypeError(f"m must be an mdp.TabularMDP, got {type(m).__name__}")
    p = _check_path(path)
    if layout not in ("npz", "npy"):
        raise ValueError(f"layout must be 'npz' or 'npy', got {layout!r}")
    arrays = dict(
        rlab_schema=np.array(MODEL_SCHEMA),
        schema_version=np.array(MODEL_SCHEMA_VERSION),
        R=np.asarray(m.R),
        gamma=np.array(m.gamma),
        atol=np.array(m._atol),
        p_dtype=np.array(m.dtype.name),
    )
    if m.is_sparse:
        indptr, indices, data = m.csr_arrays()
        arrays.update(format=np.array("csr"), P_indptr=indptr, P_indices=indices, P_data=data)
    else:
        arrays.update(format=np.array("dense"), P=np.asarray(m.P))
    if layout == "npy":
        return _write_dir(p, arrays)
    return _write(p, arrays)


_HEADER_KEYS = ("rlab_schema", "schema_version", "gamma", "atol", "p_dtype", "format")
_ARRAY_KEYS = ("R", "P", "P_indptr", "P_indices", "P_data")


def _write_dir(p: Path, arrays: dict) -> Path:
    p.mkdir(parents=True, exist_ok=True)
    for key in _ARRAY_KEYS:
        target = p / f"{key}.npy"
        if key in arrays:
            np.save(target, arrays[key], allow_pickle=False)
        elif target.exists():
            target.unlink()  # a stale array of an earlier model of the other format
    header = {k: arrays[k].item() for k in _HEADER_KEYS}
    (p / "header.json").write_text(json.dumps(header, indent=1) + "\n")
    return p


def _read_dir(p: Path, mmap: bool) -> dict:
    try:
        header = json.loads((p / "header.json").read_text())
    except FileNotFoundError:
        raise FileNotFoundError(f"no model at {str(p)!r}: the directory has no header.json") from None
    except (OSError, ValueError) as exc:
        raise ValueError(f"{str(p)!r} has an unreadable header.json: {exc}") from None
    if not isinstance(header, dict):
        raise ValueError(f"{str(p)!r} has an unreadable header.json: not a JSON object")
    data = {k: np.array(v) for k, v in header.items() if k in _HEADER_KEYS}
    for key in _ARRAY_KEYS:
        f = p / f"{key}.npy"
        if f.is_file():
            try:
                data[key] = np.load(f, mmap_mode="r" if mmap else None, allow_pickle=False)
            except (ValueError, OSError, EOFError) as exc:
                raise ValueError(f"{str(f)!r} is not a readable .npy array: {exc}") from None
    return data


def load_model(path, *, mmap: bool = False) -> TabularMDP:
    """Read a model written by ``mdp.persistence.save_model`` / :meth:`TabularMDP.save` (validated again).

    Parameters
    ----------
    path : str or os.PathLike
        A ``.npz`` file or a model directory (``layout="npy"``).
    mmap : bool, default False
        Memory-map the arrays of a model directory read-only instead of reading them: a sparse
        model then keeps the mapped arrays (validated in one pass, :meth:`TabularMDP.from_csr`),
        so opening costs no copy and no second model's worth of memory. Dense models are read
        into memory either way.
    """
    if not isinstance(mmap, (bool, np.bool_)):
        raise TypeError(f"mmap must be a bool, got {type(mmap).__name__}")
    p = _check_path(path)
    if p.is_dir():
        d = _check_header(_read_dir(p, bool(mmap)), path, MODEL_SCHEMA, MODEL_SCHEMA_VERSION, "model")
    elif mmap:
        raise ValueError(
            f"mmap=True needs a model directory (save_model(m, path, layout='npy')); {str(path)!r} is not one"
        )
    else:
        d = _read(path, MODEL_SCHEMA, MODEL_SCHEMA_VERSION, "model")
    try:
        fmt = str(d["format"])
        R = d["R"]
        gamma = float(d["gamma"])
        atol = float(d["atol"])
        dtype = np.dtype(str(d["p_dtype"]))
        if fmt == "dense":
            P = d["P"]
        elif fmt == "csr" and mmap:
            return TabularMDP.from_csr(
                d["P_indptr"], d["P_indices"], d["P_data"], R, gamma, dtype=dtype, atol=atol, copy=False
            )
        elif fmt == "csr":
            import scipy.sparse as sp

            S, A = R.shape
            P = sp.csr_matrix((d["P_data"], d["P_indices"], d["P_indptr"]), shape=(S * A, S))
        else:
            raise ValueError(f"unknown format {fmt!r} (expected 'dense' or 'csr')")
    except KeyError as exc:
        raise ValueError(f"{str(path)!r} is an incomplete model file: entry {exc.args[0]!r} is missing") from None
    return TabularMDP(P, R, gamma, dtype=dtype, atol=atol)


_RESULT_PACKAGES = ("mdp", "marl")
_KINDS = ("none", "bool", "int", "float", "str", "array", "tuple", "int_tuple")


def _is_result_class(cls) -> bool:
    return dataclasses.is_dataclass(cls) and isinstance(cls, type)


def save_result(res, path) -> Path:
    """Write a solver result (any result dataclass of ``mdp`` or ``marl``) to ``path`` (``.npz``)."""
    cls = type(res)
    if not _is_result_class(cls) or cls.__module__.split(".")[0] not in _RESULT_PACKAGES:
        raise TypeError(f"res must be a result of an mdp or marl function (a result dataclass), got {cls.__name__}")
    p = _check_path(path)
    kinds, arrays = {}, {}
    for f in dataclasses.fields(res):
        val = getattr(res, f.name)
        key = f"f.{f.name}"
        if val is None:
            kinds[f.name] = "none"
            continue
        if isinstance(val, (bool, np.bool_)):
            kinds[f.name], arrays[key] = "bool", np.array(bool(val))
        elif isinstance(val, (int, np.integer)):
            kinds[f.name], arrays[key] = "int", np.array(int(val), dtype=np.int64)
        elif isinstance(val, (float, np.floating)):
            kinds[f.name], arrays[key] = "float", np.array(float(val))
        elif isinstance(val, str):
            kinds[f.name], arrays[key] = "str", np.array(val)
        elif isinstance(val, np.ndarray) and val.dtype != object:
            kinds[f.name], arrays[key] = "array", val
        elif isinstance(val, tuple) and all(
            isinstance(x, (int, np.integer)) and not isinstance(x, (bool, np.bool_)) for x in val
        ):
            kinds[f.name], arrays[key] = "int_tuple", np.asarray(val, dtype=np.int64).reshape(-1)
        elif isinstance(val, tuple) and all(
            isinstance(x, (int, float, np.number)) and not isinstance(x, bool) for x in val
        ):
            kinds[f.name], arrays[key] = "tuple", np.asarray(val, dtype=np.float64)
        else:
            raise TypeError(
                f"field {f.name!r} of {cls.__name__} holds a {type(val).__name__}, which the .npz "
                "result format does not store (arrays, numbers, booleans, strings, None, tuples of numbers)"
            )
    arrays.update(
        rlab_schema=np.array(RESULT_SCHEMA),
        schema_version=np.array(RESULT_SCHEMA_VERSION),
        result_class=np.array(f"{cls.__module__}:{cls.__qualname__}"),
        fields=np.array(json.dumps(kinds)),
    )
    return _write(p, arrays)


def load_result(path):
    """Read a result written by :func:`save_result`; returns the same result class (arrays read-only)."""
    d = _read(path, RESULT_SCHEMA, RESULT_SCHEMA_VERSION, "result")
    try:
        module, _, qualname = str(d["result_class"]).partition(":")
        kinds = json.loads(str(d["fields"]))
    except (KeyError, json.JSONDecodeError) as exc:
        raise ValueError(f"{str(path)!r} is an incomplete result file: {exc}") from None
    if module.split(".")[0] not in _RESULT_PACKAGES or "." in qualname or not qualname.isidentifier():
        raise ValueError(f"{str(path)!r} names the result class {module}:{qualname}, not one of mdp or marl")
    try:
        cls = getattr(importlib.import_module(module), qualname)
    except (ImportError, AttributeError):
        raise ValueError(
            f"{str(path)!r} names the result class {module}:{qualname}, which this rlab does not have"
        ) from None
    if not _is_result_class(cls):
        raise ValueError(f"{module}:{qualname} is not a result class")
    kwargs = {}
    for name, kind in kinds.items():
        if kind == "none":
            kwargs[name] = None
            continue
        if kind not in _KINDS or f"f.{name}" not in d:
            raise ValueError(f"{str(path)!r}: field {name!r} is missing or has the unknown kind {kind!r}")
        val = d[f"f.{name}"]
        kwargs[name] = {
            "bool": lambda x: bool(x),
            "int": lambda x: int(x),
            "float": lambda x: float(x),
            "str": lambda x: str(x),
            "array": lambda x: x,
            "tuple": lambda x: tuple(float(t) for t in x),
            "int_tuple": lambda x: tuple(int(t) for t in x),
        }[kind](val)
    expected = {f.name for f in dataclasses.fields(cls)}
    if set(kwargs) != expected:
        raise ValueError(f"{str(path)!r}: the fields {sorted(kwargs)} do not match {qualname}'s {sorted(expected)}")
    return cls(**kwargs)
