"""Labs: declared experiments with cached, resumable, reproducible sweeps over seeds.

A :class:`Lab` is

* a frozen config dataclass (every field has a default; ``rlab run LAB --set key=value``
  overrides fields, parsed by their annotated type);
* ``run(config, rng) -> list[dict]``: one seed's tidy records (one row per observation). ``rng``
  is ``numpy.random.default_rng(seed)``, the only randomness the lab may use (``default_rng(rng)``
  returns it unchanged, so code written for an integer seed works too). The runner adds a
  ``seed`` column;
* ``plot(table, config) -> matplotlib.figure.Figure`` drawn from the tidy table of all seeds.

:func:`run_lab` runs the seeds (see ``labs.executors``), caches each seed's rows under
``out/<lab>/cache/`` keyed by a hash of ``(lab, version, code, config, seed)`` (atomic writes; ``code``
covers the lab's module and the rlab modules it imports, ``lab_source_digest``; each file records
its row count and a SHA-256 of its rows, and a file that does not match them is recomputed with a
:class:`CacheWarning`), so an interrupted sweep resumes without recomputing finished seeds, then writes ``out/<lab>/<lab>.csv``
(and ``.parquet`` when pyarrow is importable), ``<lab>.pdf`` and ``<lab>.png`` (deterministic) and
``provenance.json``.

>>> import labs
>>> {"quickstart", "solver_scaling"} <= {lab.name for lab in labs.list_labs()}
True
"""

from __future__ import annotations

import ast
import dataclasses
import hashlib
import io
import json
import time
import types
import typing
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

from labs.provenance import atomic_write_bytes, atomic_write_json, jsonable, provenance, sha256_file
from labs.sources import lab_source_digest, lab_source_files
from mdp._validation import did_you_mean

__all__ = [
    "Lab",
    "LabRun",
    "LabRunError",
    "CacheWarning",
    "TimedLabWarning",
    "register_lab",
    "get_lab",
    "list_labs",
    "make_config",
    "parse_assignments",
    "cache_key",
    "lab_source_digest",
    "lab_source_files",
    "run_lab",
]


@dataclass(frozen=True)
class Lab:
    """An experiment: config dataclass, per-seed ``run`` and a ``plot`` of the tidy table.

    Attributes
    ----------
    name : str
        Registry name (also the output folder name).
    config_cls : type
        Frozen dataclass whose fields all have defaults.
    run : callable ``(config, rng) -> list[dict]``
        Must be a module-level function (it is pickled to worker processes).
    plot : callable ``(table, config) -> Figure``
    description : str
        One line for ``rlab list``.
    version : int
        Part of the cache key: bump it when ``run`` changes meaning, to invalidate old caches.
    subjects : tuple of str
        Dotted names of the public code the lab exercises (``"mdp.value_iteration"``), for
        ``rlab list <algorithm>`` and the docs' status tables.
    timed : bool
        The lab measures wall time. :func:`run_lab` then runs its seeds one at a time (one worker
        process, or one task in flight on a Dask cluster), whatever ``max_workers`` asks for (with a
        :class:`TimedLabWarning` when it asked for more), so that seeds do not contend for the
        cores and distort each other's times; ``provenance.json`` records it.
    """

    name: str
    config_cls: type
    run: Callable[[Any, Any], list]
    plot: Callable[[Any, Any], Any]
    description: str = ""
    version: int = 1
    subjects: tuple = ()
    timed: bool = False

    def __post_init__(self):
        if not dataclasses.is_dataclass(self.config_cls):
            raise TypeError(f"lab {self.name!r}: config_cls must be a dataclass")
        if not self.config_cls.__dataclass_params__.frozen:
            raise TypeError(f"lab {self.name!r}: config_cls must be a frozen dataclass")

    def config(self, config=None, **overrides):
        """The default config, or ``config``, with ``overrides`` applied (see :func:`make_config`)."""
        return make_config(self, config, **overrides)


_REGISTRY: dict[str, Lab] = {}


def register_lab(lab: Lab) -> Lab:
    """Add ``lab`` to the registry (names must be unique)."""
    if lab.name in _REGISTRY and _REGISTRY[lab.name] is not lab:
        raise ValueError(f"a lab named {lab.name!r} is already registered")
    _REGISTRY[lab.name] = lab
    return lab


# The built-in labs, imported by name so that registering them is not an import of each other's
# code: a lab's cache key covers the rlab modules its own code imports (lab_source_files), and a
# lab does not depend on the others.
_BUILTIN_LABS = (
    "labs.quickstart",
    "labs.solver_scaling",
    "labs.soccer",
    "labs.game_scaling",
    "labs.bisim_compression",
    "labs.exact_advantage",
    "labs.grouping_tradeoff",
    "labs.bq_tsp",
    "labs.bn_coordination",
    "labs.agnostic_scaling",
    "labs.mamql_gems",
    "labs.mamql_gems_deep",
    "labs.multitask_psr",
    "labs.policy_cliff",
    "labs.edge_of_reach",
    "labs.subrl_coverage",
    "labs.spgg",
    "labs.mean_field_swarm",
    "labs.mra_populations",
    "labs.ota_horizon",
    "labs.hecrl_entities",
    "labs.vsc_doorways",
    "labs.g2rpo_flow",
    "labs.sapo_swarm",
    "labs.graph_grpo_topology",
)


def _load_builtin_labs() -> None:
    import importlib

    for name in _BUILTIN_LABS:
        importlib.import_module(name)


def list_labs() -> list[Lab]:
    """All registered labs, in registration order."""
    _load_builtin_labs()
    return list(_REGISTRY.values())


def get_lab(name) -> Lab:
    """Look up a lab by name, in any case (a :class:`Lab` is returned as is); an unknown name raises
    ``KeyError`` naming the closest names and listing all."""
    if isinstance(name, Lab):
        return name
    _load_builtin_labs()
    if name in _REGISTRY:
        return _REGISTRY[name]
    same_case = [k for k in _REGISTRY if isinstance(name, str) and k.lower() == name.lower()]
    if len(same_case) == 1:  # as `rlab list` does
        return _REGISTRY[same_case[0]]
    raise KeyError(f"unknown lab {name!r}{did_you_mean(name, _REGISTRY)}; known labs: {', '.join(_REGISTRY)}")


# ----------------------------------------------------------------------------------- configs


def _coerce(value: Any, tp: Any, name: str) -> Any:
    """Convert ``value`` (a CLI string or a Python value) to the annotated type ``tp``."""
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        if isinstance(value, str) and value.strip().lower() in ("none", "null") and type(None) in args:
            return None
        last = None
        for a in args:
            if a is type(None):
                continue
            try:
                return _coerce(value, a, name)
            except (TypeError, ValueError) as exc:
                last = exc
        raise ValueError(f"cannot convert {value!r} for {name}: {last}")
    if origin in (tuple, list):
        if isinstance(value, str):
            text = value.strip()
            if text.startswith(("(", "[")):
                items = list(ast.literal_eval(text))
            else:
                items = [t.strip() for t in text.split(",") if t.strip()]
        elif isinstance(value, (list, tuple)):
            items = list(value)
        else:
            items = [value]
        if args and not (len(args) == 2 and args[1] is Ellipsis) and len(args) != len(items):
            raise ValueError(f"{name} expects {len(args)} items, got {len(items)}")
        elem = args[0] if args else Any
        types_ = [elem] * len(items) if (not args or (len(args) == 2 and args[1] is Ellipsis)) else list(args)
        conv = [_coerce(v, t, name) for v, t in zip(items, types_)]
        return tuple(conv) if origin is tuple else conv
    if tp is Any or tp is None:
        if isinstance(value, str):
            try:
                return ast.literal_eval(value)
            except (ValueError, SyntaxError):
                return value
        return value
    if tp is bool:
        if isinstance(value, str):
            v = value.strip().lower()
            if v in ("1", "true", "yes", "on"):
                return True
            if v in ("0", "false", "no", "off"):
                return False
            raise ValueError(f"{name} expects a boolean (true/false), got {value!r}")
        return bool(value)
    if tp is int:
        if isinstance(value, str):
            return int(float(value)) if any(c in value for c in ".eE") and float(value).is_integer() else int(value)
        if isinstance(value, float) and not value.is_integer():
            raise ValueError(f"{name} expects an integer, got {value!r}")
        return int(value)
    if tp is float:
        return float(value)
    if tp is str:
        return str(value)
    return value


def make_config(lab, config=None, **overrides):
    """Build a lab config: ``config`` (instance, dict or None for the defaults) plus ``overrides``.

    String values (from the command line) are parsed by the field's annotated type: numbers,
    booleans (true/false) and tuples (``"0.9,0.99"``).
    """
    lab = get_lab(lab)
    cls = lab.config_cls
    if config is None:
        base = cls()
    elif isinstance(config, cls):
        base = config
    elif isinstance(config, dict):
        overrides = {**config, **overrides}
        base = cls()
    else:
        raise TypeError(f"config must be a {cls.__name__}, a dict or None; got {type(config).__name__}")
    if not overrides:
        return base
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    unknown = sorted(set(overrides) - set(names))
    if unknown:
        hints = "".join(did_you_mean(u, names) for u in unknown)
        raise ValueError(
            f"unknown config field(s) {', '.join(unknown)}{hints} for lab {lab.name!r}; fields: {', '.join(names)}"
        )
    values = {}
    for k, v in overrides.items():
        try:
            values[k] = _coerce(v, hints.get(k, Any), k)
        except (ValueError, TypeError, SyntaxError) as exc:
            msg = exc.msg if isinstance(exc, SyntaxError) else str(exc)
            if k not in msg:
                msg = (
                    f"cannot read {v!r} for config field {k} ({getattr(hints.get(k), '__name__', hints.get(k))}): {msg}"
                )
            raise ValueError(msg) from None
    return dataclasses.replace(base, **values)


def parse_assignments(items: Sequence[str] | None) -> dict[str, str]:
    """``["key=value", ...]`` -> ``{"key": "value"}`` (values stay strings; see :func:`make_config`)."""
    out = {}
    for item in items or ():
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"expected key=value, got {item!r}")
        out[key.strip().replace("-", "_")] = value.strip()
    return out


# ----------------------------------------------------------------------------------- cache


def cache_key(lab: Lab, config, seed: int, *, source_digest: str | None = None) -> str:
    """Hash of ``(lab name, lab version, code, config, seed)``: names a seed's cache file.

    ``code`` is ``lab_source_digest``: the lab's module and every ``mdp``/``marl``/
    ``theory_checks``/``labs`` module it imports, so editing any of them invalidates the lab's cache
    (an interrupted run still resumes: its code has not changed). Changes outside these files do
    not: other modules of a user's own package that the lab imports, numpy, numba, ... - bump
    ``Lab.version`` or run with ``force`` when they change a lab's numbers.
    Every cache file also records the git commit it was computed at, and ``provenance.json`` lists
    them per seed. ``source_digest`` is ``lab_source_digest`` when the caller already has it.
    """
    source = lab_source_digest(lab) if source_digest is None else source_digest
    payload = json.dumps(
        {
            "lab": lab.name,
            "version": lab.version,
            "source": source,
            "config": jsonable(config, strict=False),
            "config_type": lab.config_cls.__qualname__,
            "seed": int(seed),
        },
        sort_keys=True,
        allow_nan=True,
    )
    return hashlib.sha256(payload.encode()).hexdigest()[:24]


def _cache_path(cache_dir: Path, seed: int, key: str) -> Path:
    return cache_dir / f"seed{int(seed)}-{key}.json"


def _rows_digest(rows) -> str:
    """SHA-256 of the canonical JSON of a seed's rows (what the cache file records beside them)."""
    return hashlib.sha256(json.dumps(rows, sort_keys=True, allow_nan=True).encode("utf-8")).hexdigest()


def _load_cached(path: Path, key: str):
    """``(hit, why)``: ``hit`` the cached ``(rows, code)`` of a seed (``code``: the commit it was computed
    at) or None; ``why`` says why an existing file was rejected (None when absent or a hit).

    A file must parse, carry this ``key``, and its rows must match the ``n_rows`` and ``rows_sha256``
    recorded with them: a row list cut short (a truncated but still valid JSON file, an edit) is
    rejected rather than silently used.
    """
    if not path.exists():
        return None, None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        return None, f"it is not readable JSON ({type(exc).__name__}: {exc})"
    if not isinstance(data, dict) or data.get("key") != key or not isinstance(data.get("rows"), list):
        return None, "it does not hold this seed's key and a row list"
    rows = data["rows"]
    if data.get("n_rows") != len(rows):
        return None, f"it holds {len(rows)} row(s) but records n_rows={data.get('n_rows')!r}"
    if data.get("rows_sha256") != _rows_digest(rows):
        return None, "its rows do not match their recorded checksum"
    return (rows, data.get("code")), None


def _plain(v):
    """A row value as a plain Python scalar (numpy scalars unwrapped)."""
    if hasattr(v, "item") and type(v).__module__ == "numpy" and getattr(v, "ndim", 1) == 0:
        return v.item()
    return v


def run_seed(run: Callable, config, seed: int) -> list[dict]:
    """Run one seed: ``run(config, default_rng(seed))``, rows checked and made plain, ``seed`` added.

    Module-level so that executors can pickle it.
    """
    import numpy as np

    rows = run(config, np.random.default_rng(int(seed)))
    if not isinstance(rows, (list, tuple)):
        raise TypeError(f"a lab's run() must return a list of dicts, got {type(rows).__name__}")
    out = []
    for r in rows:
        if not isinstance(r, dict):
            raise TypeError(f"a lab's run() must return a list of dicts, got an item of type {type(r).__name__}")
        row = {"seed": int(seed)}
        row.update({str(k): _plain(v) for k, v in r.items() if k != "seed"})
        out.append(row)
    return out


# ----------------------------------------------------------------------------------- runner


class CacheWarning(UserWarning):
    """A seed's cache file was corrupt (unreadable, or rows not matching their count and checksum):
    the seed is recomputed and the file replaced."""


class TimedLabWarning(UserWarning):
    """A timed lab (``Lab.timed``) was asked for several workers: it runs its seeds one at a time."""


class LabRunError(RuntimeError):
    """Some seeds of a lab run failed (the others are cached; rerunning resumes)."""

    def __init__(self, message: str, failures: dict):
        super().__init__(message)
        self.failures = failures


@dataclass
class LabRun:
    """What :func:`run_lab` produced."""

    lab: str
    config: Any
    seeds: list
    table: Any  # pandas.DataFrame
    out_dir: Path
    files: dict = field(default_factory=dict)
    computed: list = field(default_factory=list)
    cached: list = field(default_factory=list)
    elapsed_s: float = 0.0


def _normalise_seeds(seeds) -> list[int]:
    if isinstance(seeds, int):
        if seeds < 1:
            raise ValueError(f"seeds must be a positive count or a list of seeds, got {seeds}")
        return list(range(seeds))
    out = [int(s) for s in seeds]
    if not out:
        raise ValueError("no seeds given")
    if len(set(out)) != len(out):
        raise ValueError(f"duplicate seeds in {out}")
    if any(s < 0 for s in out):
        raise ValueError(f"seeds must be non-negative integers, got {out}")
    return out


def run_lab(
    lab,
    *,
    seeds=3,
    out="results",
    executor: str = "local",
    address: str | None = None,
    config=None,
    progress: Callable[[int, int], None] | None = None,
    max_workers: int | None = None,
    cluster_kwargs: dict | None = None,
    force: bool = False,
    **overrides,
) -> LabRun:
    """Run ``lab`` over ``seeds`` with caching and resume, then write table, figure and provenance.

    Parameters
    ----------
    lab : str or Lab
    seeds : int or sequence of int, default 3
        A count ``N`` (seeds ``0..N-1``) or explicit seeds; seed ``s`` gives ``default_rng(s)``.
    out : path, default "results"
        Outputs go to ``out/<lab>/``; per-seed caches to ``out/<lab>/cache/``.
    executor : {"local", "serial", "dask", "slurm"}
        See ``labs.executors``.
    address : str, optional
        Dask scheduler address (``executor="dask"``).
    config : config instance or dict, optional
        Starting config (default: the lab's defaults); ``**overrides`` replace fields.
    progress : callable ``(done, total)``, optional
        Called once with the cached count and after each seed finishes.
    max_workers : int, optional
        Worker processes (local: ``min(2, n_seeds)``; dask LocalCluster: 2). A timed lab
        (``Lab.timed``) always uses one (see :class:`Lab`).
    cluster_kwargs : dict, optional
        Extra arguments for the Dask cluster (LocalCluster or SLURMCluster).
    force : bool
        Ignore the cache and recompute every seed.

    Returns
    -------
    LabRun
        ``table`` (pandas DataFrame, sorted by seed order), ``files`` (csv, parquet, pdf, png,
        provenance), ``computed``/``cached`` seeds.

    Raises
    ------
    LabRunError
        If a seed fails; the seeds that finished are cached, so the same call resumes.
    """
    import pandas as pd

    from labs.executors import check_executor, worker_settings
    from labs.provenance import code_identity

    t0 = time.perf_counter()
    lab = get_lab(lab)
    cfg = make_config(lab, config, **overrides)
    seed_list = _normalise_seeds(seeds)
    check_executor(executor, address, max_workers)  # also when every seed is cached
    requested_workers = max_workers
    if lab.timed:
        if max_workers is not None and max_workers > 1:
            warnings.warn(
                f"lab {lab.name!r} measures wall time: its seeds run one at a time, not on "
                f"{max_workers} workers (concurrent seeds contend for the cores)",
                TimedLabWarning,
                stacklevel=2,
            )
        max_workers = 1
    out_dir = Path(out) / lab.name
    cache_dir = out_dir / "cache"
    cache_dir.mkdir(parents=True, exist_ok=True)

    code_now = dict(code_identity(), lab_source_sha256=lab_source_digest(lab))
    keys = {s: cache_key(lab, cfg, s, source_digest=code_now["lab_source_sha256"]) for s in seed_list}
    results: dict[int, list] = {}
    seed_code: dict[int, Any] = {}
    corrupt: dict[int, str] = {}
    if not force:
        for s in seed_list:
            hit, why = _load_cached(_cache_path(cache_dir, s, keys[s]), keys[s])
            if hit is not None:
                results[s], seed_code[s] = hit
            elif why is not None:
                corrupt[s] = why
                warnings.warn(
                    f"lab {lab.name!r}, seed {s}: cache file {_cache_path(cache_dir, s, keys[s])} is "
                    f"corrupt ({why}); recomputing the seed",
                    CacheWarning,
                    stacklevel=2,
                )
    cached = [s for s in seed_list if s in results]
    todo = [s for s in seed_list if s not in results]
    total = len(seed_list)
    if progress is not None:
        progress(len(cached), total)

    failures: dict[int, BaseException] = {}
    if todo:
        from labs.executors import map_seeds

        tasks = [(lab.run, cfg, s) for s in todo]
        for i, res in map_seeds(
            run_seed, tasks, executor=executor, address=address, max_workers=max_workers, cluster_kwargs=cluster_kwargs
        ):
            s = todo[i]
            if isinstance(res, BaseException):
                failures[s] = res
            else:
                results[s], seed_code[s] = res, code_now
                payload = {
                    "lab": lab.name,
                    "version": lab.version,
                    "key": keys[s],
                    "seed": s,
                    "config": jsonable(cfg, strict=False),
                    "code": code_now,
                    "n_rows": len(res),
                    "rows_sha256": _rows_digest(res),
                    "rows": res,
                }
                path = atomic_write_bytes(
                    _cache_path(cache_dir, s, keys[s]), json.dumps(payload, allow_nan=True).encode("utf-8")
                )
                if s in corrupt:
                    warnings.warn(
                        f"lab {lab.name!r}, seed {s}: replaced the corrupt cache file {path}",
                        CacheWarning,
                        stacklevel=2,
                    )
            if progress is not None:
                progress(len(results) + len(failures), total)
    if failures:
        first_seed, first = next(iter(failures.items()))
        msg = (
            f"lab {lab.name!r}: {len(failures)} of {total} seed(s) failed ({sorted(failures)}); "
            f"{len(results)} finished and are cached under {cache_dir} - rerun to resume. "
            f"First failure (seed {first_seed}): {type(first).__name__}: {first}"
        )
        raise LabRunError(msg, failures) from first

    rows = [r for s in seed_list for r in results[s]]
    table = pd.DataFrame.from_records(rows)
    files = write_outputs(lab, cfg, table, out_dir)

    elapsed = time.perf_counter() - t0
    prov = provenance(
        lab=lab.name,
        config=cfg,
        seeds=seed_list,
        executor=executor,
        code=code_now,
        extra={
            "lab_version": lab.version,
            "address": address,
            "timed": bool(lab.timed),
            # how the seeds computed in this call ran: worker count and the thread pins of each worker
            "workers": dict(worker_settings(executor, max_workers, len(todo), address), requested=requested_workers),
            "cache_keys": {str(s): keys[s] for s in seed_list},
            "computed_seeds": [s for s in seed_list if s in todo],
            "cached_seeds": cached,
            "replaced_corrupt_cache": {str(k): v for k, v in corrupt.items()},
            # the code each seed's rows were computed with (None: cached before rlab recorded it)
            "seed_code": {str(s): seed_code.get(s) for s in seed_list},
            "mixed_code": len({json.dumps(seed_code.get(s), sort_keys=True) for s in seed_list}) > 1,
            "elapsed_s": round(elapsed, 3),
            "n_rows": int(len(table)),
            "outputs": {k: {"file": p.name, "sha256": sha256_file(p)} for k, p in files.items()},
        },
    )
    files["provenance"] = atomic_write_json(out_dir / "provenance.json", prov)
    return LabRun(
        lab=lab.name,
        config=cfg,
        seeds=seed_list,
        table=table,
        out_dir=out_dir,
        files=files,
        computed=[s for s in seed_list if s in todo],
        cached=cached,
        elapsed_s=elapsed,
    )


def write_outputs(lab: Lab, config, table, out_dir: Path) -> dict[str, Path]:
    """Write the tidy table (CSV, parquet when possible) and the figure (PDF + PNG), atomically."""
    from labs.plotting import paper_style, save_figure

    out_dir = Path(out_dir)
    files: dict[str, Path] = {}
    stem = out_dir / lab.name
    files["csv"] = atomic_write_bytes(stem.with_suffix(".csv"), table.to_csv(index=False).encode("utf-8"))
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        pass
    else:
        buf = io.BytesIO()
        table.to_parquet(buf, index=False)
        files["parquet"] = atomic_write_bytes(stem.with_suffix(".parquet"), buf.getvalue())
    with paper_style():
        fig = lab.plot(table, config)
        files.update(save_figure(fig, stem))
    return files
