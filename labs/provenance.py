"""Provenance and atomic file writes for lab outputs.

Every file a lab writes goes through :func:`atomic_write_bytes`: the bytes land in a temporary file
in the destination folder, are flushed and fsync'ed, then ``os.replace`` puts them in place, so a
reader (or a resumed run) sees either the old file or the complete new one, never a torn one.

:func:`provenance` gathers what is needed to reproduce a run: lab, config, seeds, versions of the
numerical stack, the git commit of the checkout (``None`` outside a repository), platform and thread
settings. The timestamp lives only here, never in a cache key or a hashed output.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import hashlib
import json
import math
import os
import platform
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

__all__ = [
    "atomic_write_bytes",
    "atomic_write_text",
    "atomic_write_json",
    "git_commit",
    "code_identity",
    "package_versions",
    "thread_settings",
    "provenance",
    "jsonable",
    "sha256_file",
]

_REPO_ROOT = Path(__file__).resolve().parent.parent


def atomic_write_bytes(path, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically (temp file in the same folder, fsync, ``os.replace``)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    return path


def atomic_write_text(path, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    return atomic_write_bytes(path, text.encode("utf-8"))


def jsonable(x: Any, *, strict: bool = True) -> Any:
    """Convert ``x`` (dataclasses, numpy scalars/arrays, tuples, paths) to plain JSON types.

    With ``strict`` non-finite floats become ``None`` (standard JSON has no NaN/Infinity).
    """
    if dataclasses.is_dataclass(x) and not isinstance(x, type):
        return {f.name: jsonable(getattr(x, f.name), strict=strict) for f in dataclasses.fields(x)}
    if isinstance(x, dict):
        return {str(k): jsonable(v, strict=strict) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [jsonable(v, strict=strict) for v in x]
    if isinstance(x, Path):
        return str(x)
    if isinstance(x, bool) or x is None or isinstance(x, str):
        return x
    if isinstance(x, int):
        return int(x)
    if isinstance(x, float):
        return None if strict and not math.isfinite(x) else float(x)
    try:  # numpy without importing it
        import numpy as np

        if isinstance(x, np.generic):
            return jsonable(x.item(), strict=strict)
        if isinstance(x, np.ndarray):
            return jsonable(x.tolist(), strict=strict)
    except ImportError:  # pragma: no cover
        pass
    return str(x)


def atomic_write_json(path, obj: Any) -> Path:
    """Write ``obj`` as indented, key-sorted, strict JSON, atomically."""
    text = json.dumps(jsonable(obj), indent=2, sort_keys=True, allow_nan=False) + "\n"
    return atomic_write_text(path, text)


def sha256_file(path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _git(args, cwd) -> str | None:
    try:
        out = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout if out.returncode == 0 else None


def _own_checkout(cwd: Path) -> bool:
    """Whether ``cwd`` is the top of a git checkout that tracks this file (not some enclosing repository,
    as when rlab is installed into a virtual environment inside the user's own project)."""
    top = _git(["rev-parse", "--show-toplevel"], cwd)
    if top is None or Path(top.strip()).resolve() != cwd.resolve():
        return False
    try:
        rel = Path(__file__).resolve().relative_to(cwd.resolve())
    except ValueError:
        return False
    return _git(["ls-files", "--error-unmatch", str(rel)], cwd) is not None


def git_commit(path=None) -> str | None:
    """``git rev-parse HEAD`` of rlab's checkout (or of the repository at ``path``), or None.

    Without ``path``, None unless rlab runs from its own git checkout (an installed copy inside another
    repository would otherwise report that repository's commit).
    """
    cwd = _checkout(path)
    out = _git(["rev-parse", "HEAD"], cwd) if cwd is not None else None
    commit = out.strip() if out else ""
    return commit or None


def _checkout(path) -> Path | None:
    """``path``, or rlab's own checkout when ``path`` is None (None if rlab is not run from one)."""
    if path is not None:
        return Path(path)
    return _REPO_ROOT if _own_checkout(_REPO_ROOT) else None


def _git_dirty(path=None) -> bool | None:
    """Whether the checkout has uncommitted changes, untracked files included (None outside one)."""
    cwd = _checkout(path)
    out = _git(["status", "--porcelain"], cwd) if cwd is not None else None
    return None if out is None else bool(out.strip())


def code_identity() -> dict:
    """``{"git_commit", "git_dirty", "rlab"}``: which code produced a result."""
    from importlib import metadata

    try:
        version = metadata.version("rlab")
    except metadata.PackageNotFoundError:
        version = None
    return {"git_commit": git_commit(), "git_dirty": _git_dirty(), "rlab": version}


def package_versions() -> dict[str, str | None]:
    """Versions of python and the numerical stack (``None`` for a package that is not installed)."""
    from importlib import metadata

    versions: dict[str, str | None] = {"python": platform.python_version()}
    for name in (
        "rlab",
        "numpy",
        "numba",
        "llvmlite",
        "scipy",
        "matplotlib",
        "pandas",
        "torch",
        "cvxpy",
        "pettingzoo",
        "dask",
        "distributed",
        "dask-jobqueue",
    ):
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def thread_settings() -> dict[str, Any]:
    """Thread-related environment variables and numba's thread count (without importing numba)."""
    env = {
        k: os.environ.get(k)
        for k in (
            "NUMBA_NUM_THREADS",
            "OMP_NUM_THREADS",
            "OPENBLAS_NUM_THREADS",
            "MKL_NUM_THREADS",
            "NUMBA_THREADING_LAYER",
        )
    }
    out: dict[str, Any] = {"env": env, "cpu_count": os.cpu_count()}
    try:
        from mdp._threads import thread_info

        out["info"] = thread_info()
    except Exception:  # pragma: no cover - mdp always ships it
        pass
    numba = sys.modules.get("numba")
    if numba is not None:
        try:
            out["numba_num_threads"] = int(numba.get_num_threads())
            out["numba_config_num_threads"] = int(numba.config.NUMBA_NUM_THREADS)
        except Exception:  # pragma: no cover - numba without threading layer
            pass
    return out


def provenance(
    *, lab: str, config: Any, seeds, executor: str | None = None, extra: dict | None = None, code: dict | None = None
) -> dict:
    """Everything needed to reproduce a lab run (the ``created`` timestamp is informational only).

    ``code`` is a :func:`code_identity` the caller already has (saves asking git again).
    """
    code = code_identity() if code is None else code
    info = {
        "lab": lab,
        "config": jsonable(config),
        "seeds": [int(s) for s in seeds],
        "executor": executor,
        "versions": package_versions(),
        "git_commit": code["git_commit"],
        "git_dirty": code["git_dirty"],
        "platform": {
            "system": platform.system(),
            "release": platform.release(),
            "machine": platform.machine(),
            "processor": platform.processor(),
            "python_implementation": platform.python_implementation(),
            "platform": platform.platform(),
        },
        "threads": thread_settings(),
        "command": list(sys.argv),
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
    }
    if extra:
        info.update(extra)
    return info
