"""The rollout schema every advantage estimator in :mod:`mdp.llm` reads.

A :class:`RolloutBatch` is one flat batch of ``rows`` responses (or, for agents, one row per
environment step), optionally with a token axis of length ``tokens``:

============================  ======================  ===========================================
field                         shape / dtype           meaning
============================  ======================  ===========================================
``rewards``                   ``(rows,)`` or          scalar reward per row, or token-level rewards
                              ``(rows, tokens)``      (verl's ``token_level_rewards``: usually one
                              float                   non-zero entry at the last response token)
``group_ids``                 ``(rows,)`` int64       prompt / group of each row (GRPO's ``G``)
``response_mask``             ``(rows, tokens)``      1 on response tokens, 0 on padding
``trajectory_ids``            ``(rows,)`` int64       episode of each step row (agents)
``step_ids``                  ``(rows,)`` int64       step index ``t >= 0`` inside its trajectory
``observation_keys``          ``(rows,)`` int64       state/observation key (anchor-state grouping)
``token_entropies``           ``(rows, tokens)``      policy entropy per token (HAPO, D3S, ...)
``turn_boundaries``           ``(rows, ...)`` int64   turn markers (method-specific; validated on
                                                      the row axis only)
``extra``                     ``dict``                anything else a method needs (see
                                                      :meth:`RolloutBatch.extra_tensor`)
============================  ======================  ===========================================

Inputs may be torch tensors, numpy arrays or (nested) lists. Id fields (``group_ids``,
``trajectory_ids``) accept integers (signed or unsigned; uint64 ids above 2^63 wrap to negative
int64, one-to-one, as ``observation_keys`` do) or any hashable python objects (strings such as
verl's ``uid``);
non-integer ids are factorised to int64 codes by first appearance. ``observation_keys`` accepts an
integer array (taken as pre-hashed int64 keys) or a sequence of hashable python objects, which are
hashed *deterministically* (independent of ``PYTHONHASHSEED``) with :func:`stable_hash`, so keys
from different batches and processes agree. (A python *list* of ints is a sequence of objects and is
hashed too; a numpy/torch integer array is taken as already hashed. Only equality of keys matters
to the estimators, so either form groups rows the same way.)

Validation rules (each a ``ValueError``/``TypeError`` naming the field):

* empty batch (``rows == 0``) is rejected;
* every row-aligned field must have ``rows`` entries; token fields must agree on ``tokens``;
* rewards and entropies must be finite (NaN/inf rejected, with the first bad index);
* ``response_mask`` must be 0/1; an all-zero mask over the *whole batch* is rejected. A single row
  whose mask is all zero is **allowed** (an empty response): its advantage is still computed from
  its reward (and its reward counts in its group's statistics, e.g. REINFORCE++'s group baseline),
  broadcasting gives it zero token advantages, and every loss aggregation skips it (it contributes
  no tokens and is excluded from per-sequence means). Exceptions: statistics taken over *tokens*
  see no token of it (HAPO's token-weighted ``mu_g, sigma_g``, REINFORCE++'s batch whitening and
  plain ``reinforce_pp``, whose returns live on tokens; see their docstrings);
* ``step_ids`` must be non-negative integers;
* unhashable observation keys (lists, dicts, arrays) raise ``TypeError`` with the row index.

dtype/device: floating inputs keep their dtype (numpy float64 stays float64); integer/bool rewards
become float64; pass ``dtype=`` / ``device=`` to override. All tensors live on one device (that of
``rewards`` when it is a tensor, else CPU unless ``device=`` is given). A ``device`` that is not
available (``"cuda"`` without CUDA) is a ``ValueError`` naming ``device``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import numbers
import struct
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

__all__ = ["RolloutBatch", "stable_hash", "FIELDS"]

FIELDS = (
    "rewards",
    "group_ids",
    "response_mask",
    "trajectory_ids",
    "step_ids",
    "observation_keys",
    "token_entropies",
    "turn_boundaries",
)

_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
_INT_DTYPES = tuple(
    getattr(torch, n)
    for n in ("int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64")
    if hasattr(torch, n)
)


# --------------------------------------------------------------------------------------------
# deterministic hashing of python objects


def _encode(obj, out: list) -> None:
    """Canonical, type-tagged byte encoding of a hashable python value (recursive)."""
    if obj is None:
        out.append(b"N")
    elif isinstance(obj, (bool, np.bool_)):
        out.append(b"B1" if obj else b"B0")
    elif isinstance(obj, (numbers.Integral, np.integer)):
        s = str(int(obj)).encode()
        out.append(b"I" + struct.pack("<I", len(s)) + s)
    elif isinstance(obj, (numbers.Real, np.floating)):
        f = float(obj)
        if np.isfinite(f) and f == int(f):
            # 1.0 == 1 in python (same dict key), so encode like the integer
            _encode(int(f), out)
        else:
            out.append(b"F" + struct.pack("<d", f))
    elif isinstance(obj, str):
        s = obj.encode("utf-8", "surrogatepass")
        out.append(b"S" + struct.pack("<I", len(s)) + s)
    elif isinstance(obj, (bytes, bytearray)):
        out.append(b"Y" + struct.pack("<I", len(obj)) + bytes(obj))
    elif isinstance(obj, tuple):
        out.append(b"T" + struct.pack("<I", len(obj)))
        for item in obj:
            _encode(item, out)
    elif isinstance(obj, frozenset):
        parts = []
        for item in obj:
            sub: list = []
            _encode(item, sub)
            parts.append(b"".join(sub))
        parts.sort()
        out.append(b"Z" + struct.pack("<I", len(parts)) + b"".join(parts))
    else:
        # any other hashable object: its own __hash__ (deterministic iff the class makes it so)
        out.append(b"H" + type(obj).__qualname__.encode() + struct.pack("<q", hash(obj)))


def stable_hash(obj) -> int:
    """Deterministic signed int64 hash of a hashable python value.

    Strings, bytes, numbers, ``None``, tuples and frozensets of those are encoded canonically and
    hashed with BLAKE2b (8 bytes), so the value does not depend on ``PYTHONHASHSEED`` or the
    process. Equal values (``1 == 1.0 == True`` aside: booleans are tagged separately) hash equal.
    Other hashable objects fall back to ``hash(obj)`` mixed with their class name (deterministic
    only if their ``__hash__`` is).

    Raises
    ------
    TypeError
        if ``obj`` is not hashable.
    """
    hash(obj)  # raises TypeError for lists, dicts, arrays
    parts: list = []
    _encode(obj, parts)
    digest = hashlib.blake2b(b"".join(parts), digest_size=8).digest()
    return struct.unpack("<q", digest)[0]


# --------------------------------------------------------------------------------------------
# coercion helpers


def _is_tensor_like(x) -> bool:
    return isinstance(x, (torch.Tensor, np.ndarray))


def _to_tensor(x, name: str, device) -> torch.Tensor:
    if isinstance(x, torch.Tensor):
        t = x.detach()
    else:
        if isinstance(x, (str, bytes)):
            raise TypeError(f"{name} must be an array or tensor, got {type(x).__name__}")
        try:
            arr = np.asarray(x)
        except Exception as exc:  # ragged nested lists and the like
            raise TypeError(f"{name} must be a rectangular array: {exc}") from None
        if arr.dtype == object:
            raise TypeError(f"{name} must be numeric, got an object array (ragged or non-numeric input)")
        if not (np.issubdtype(arr.dtype, np.number) or arr.dtype == np.bool_):
            raise TypeError(f"{name} must be numeric, got dtype {arr.dtype}")
        arr = np.ascontiguousarray(arr)
        t = torch.from_numpy(arr if arr.flags.writeable else arr.copy())  # rlab results are read-only
    if t.is_complex():
        raise TypeError(f"{name} must be real, got {t.dtype}")
    return t.to(device) if device is not None else t


def _check_device(device):
    """``torch.device`` or ``None``; ``ValueError`` naming ``device`` for a bad or unavailable one."""
    if device is None:
        return None
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise ValueError(f"device must be a torch device (e.g. 'cpu', 'cuda:0'), got {device!r}: {exc}") from None
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(
                f"device={device!r} but CUDA is not available (torch.cuda.is_available() is False); use device='cpu'"
            )
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise ValueError(f"device={device!r} but only {torch.cuda.device_count()} CUDA device(s) exist")
    elif dev.type == "mps":
        mps = getattr(torch.backends, "mps", None)
        if mps is None or not mps.is_available():
            raise ValueError(f"device={device!r} but MPS is not available; use device='cpu'")
    return dev


def _check_finite(t: torch.Tensor, name: str) -> None:
    if t.numel() and not bool(torch.isfinite(t).all()):
        bad = torch.nonzero(~torch.isfinite(t))[0].tolist()
        idx = ", ".join(map(str, bad))
        raise ValueError(f"{name} must be finite (no NaN/inf); {name}[{idx}] = {t[tuple(bad)].item()}")


def _check_finite_or_overflow(t: torch.Tensor, name: str = "rewards") -> None:
    """Raise for the first non-finite entry of ``t``; if all are finite its row sums overflow."""
    _check_finite(t, name)
    raise ValueError(f"{name} are finite but a row sum overflows {t.dtype}: rescale them")


def _bool_to(mask: torch.Tensor, dtype) -> torch.Tensor:
    """bool -> float mask (through a uint8 view: the direct cast is a slow path on some CPU builds)."""
    if mask.dtype == torch.bool:
        return mask.view(torch.uint8).to(dtype)
    return mask.to(dtype)


def _mask_checks(m: torch.Tensor) -> list:
    """Deferred checks of a 0/1 mask that is not all zero: ``[(ok 0-d bool tensor, raise_fn)]``."""

    def not_binary():
        raise ValueError("response_mask must contain only 0 and 1")

    def all_zero():
        raise ValueError(
            "response_mask is all zeros: the batch has no response tokens "
            "(single all-zero rows are allowed, a fully empty batch is not)"
        )

    if m.dtype == torch.bool:
        return [(m.view(torch.uint8).amax() > 0, all_zero)]
    if not m.is_floating_point():
        lo, hi = torch.aminmax(m)
        return [((lo >= 0) & (hi <= 1), not_binary), (hi > 0, all_zero)]
    # m - m*m is exactly 0 iff m is 0 or 1 (in floating point too: for m in (0, 1) fl(m*m) != m;
    # outside [0, 1], NaN and inf it is non-zero or NaN); one fused pass and one reduction
    lo, hi = torch.aminmax(torch.addcmul(m, m, m, value=-1))
    return [((lo == 0) & (hi == 0), not_binary), (m.amax() > 0, all_zero)]


def _row_ids(x, name: str, rows: int, device, with_codes: bool = False):
    """Integer ids (as given) or hashable objects (factorised by first appearance) -> int64.

    With ``with_codes`` returns ``(ids, n)`` where ``n`` is the number of distinct ids when the ids
    were factorised (so they are dense codes already), else ``None``.
    """
    n_codes = None
    if isinstance(x, torch.Tensor) or (isinstance(x, np.ndarray) and x.dtype != object):
        t = _to_tensor(x, name, device)
        if t.dim() != 1:
            raise ValueError(f"{name} must be 1-dimensional (rows,), got shape {tuple(t.shape)}")
        if t.dtype == torch.bool or t.is_floating_point():
            if t.is_floating_point() and not bool((t == t.round()).all() & torch.isfinite(t).all()):
                raise TypeError(f"{name} must hold integer ids (or hashable objects), got {t.dtype} values")
        elif t.dtype not in _INT_DTYPES:
            raise TypeError(f"{name} must hold integer ids, got {t.dtype}")
        # unsigned ids above 2^63 wrap to negative int64 (a bijection: distinct ids stay distinct),
        # as observation_keys do; only equality of ids matters
        t = t.to(torch.int64)
    else:
        seq = list(x) if not isinstance(x, (str, bytes)) else None
        if seq is None:
            raise TypeError(f"{name} must be a sequence of ids, got {type(x).__name__}")
        if all(
            isinstance(v, (numbers.Integral, np.integer)) and not isinstance(v, (bool, np.bool_)) for v in seq
        ) and all(_INT64_MIN <= int(v) <= _INT64_MAX for v in seq):
            t = torch.tensor([int(v) for v in seq], dtype=torch.int64)
        else:
            codes: dict = {}
            vals = []
            for i, v in enumerate(seq):
                try:
                    vals.append(codes.setdefault(v, len(codes)))
                except TypeError:
                    raise TypeError(
                        f"{name}[{i}] is not hashable ({type(v).__name__}); ids must be integers or hashable objects"
                    ) from None
            t = torch.tensor(vals, dtype=torch.int64)
            n_codes = len(codes)
        t = t.to(device) if device is not None else t
    if t.shape[0] != rows:
        raise ValueError(f"{name} must have one entry per row ({rows}), got {t.shape[0]}")
    return (t, n_codes) if with_codes else t


def _observation_keys(x, rows: int, device) -> torch.Tensor:
    if isinstance(x, torch.Tensor) or (isinstance(x, np.ndarray) and x.dtype != object):
        t = _to_tensor(x, "observation_keys", device)
        if t.dim() != 1:
            raise ValueError(
                "observation_keys as an array must be 1-dimensional (rows,) of pre-hashed "
                f"int64 keys, got shape {tuple(t.shape)}; pass a list of hashable objects "
                "(e.g. tuples) for structured observations"
            )
        if t.is_floating_point() or t.dtype == torch.bool:
            raise TypeError(
                "observation_keys as an array must have an integer dtype (pre-hashed int64 "
                f"keys), got {t.dtype}; pass a list of hashable python objects otherwise"
            )
        t = t.to(torch.int64)
    else:
        if isinstance(x, (str, bytes)):
            raise TypeError(
                f"observation_keys must be a sequence with one key per row, got a single {type(x).__name__}"
            )
        keys = []
        for i, v in enumerate(x):
            try:
                keys.append(stable_hash(v))
            except TypeError:
                raise TypeError(
                    f"observation_keys[{i}] is not hashable ({type(v).__name__}); use a "
                    "hashable key such as a str, int or tuple (e.g. tuple(obs.ravel()) "
                    "or obs.tobytes())"
                ) from None
        t = torch.tensor(keys, dtype=torch.int64)
        t = t.to(device) if device is not None else t
    if t.shape[0] != rows:
        raise ValueError(f"observation_keys must have one entry per row ({rows}), got {t.shape[0]}")
    return t


# --------------------------------------------------------------------------------------------


class _BoolMask:
    """The ``response_mask`` attribute: stored as validated, converted to bool on first read.

    Estimators that only broadcast (GRPO and the other outcome estimators) multiply by the float mask
    a trainer passes and never need the bool copy; reading ``batch.response_mask`` makes it once.
    """

    def __set__(self, obj, value):
        obj.__dict__["_response_mask_given"] = value
        obj.__dict__.pop("_response_mask_bool", None)

    def __get__(self, obj, objtype=None):
        if obj is None:
            return None  # the dataclass default
        d = obj.__dict__
        if "_response_mask_bool" not in d:
            given = d.get("_response_mask_given")
            d["_response_mask_bool"] = given.bool() if isinstance(given, torch.Tensor) else given
        return d["_response_mask_bool"]


@dataclass(frozen=True, eq=False)
class RolloutBatch:
    """One validated batch of rollouts (see the module docstring for the schema and rules).

    Parameters
    ----------
    rewards : array or tensor, ``(rows,)`` or ``(rows, tokens)``
        Scalar or token-level rewards (finite).
    group_ids : ``(rows,)`` ints or hashables, optional
        Group (prompt) of each row.
    response_mask : ``(rows, tokens)`` 0/1, optional
    trajectory_ids : ``(rows,)`` ints or hashables, optional
    step_ids : ``(rows,)`` non-negative ints, optional
    observation_keys : ``(rows,)`` int64 or sequence of hashables, optional
    token_entropies : ``(rows, tokens)`` float, optional
    turn_boundaries : ``(rows, ...)`` ints, optional
    extra : dict, optional
        Method-specific inputs, read with :meth:`extra_tensor` / :meth:`require`.
    dtype : torch floating dtype, optional
        Dtype of the float fields (default: that of ``rewards`` if floating, else float64).
    device : torch device, optional
    validate : bool
        ``True`` (default): check the value rules of the module docstring (finite rewards and
        entropies, a 0/1 mask that is not all zero) with one host synchronisation for the batch.
        ``False``: trusted input (e.g. a trainer's own tensors): shapes, dtypes and ids are still
        checked, values are not.
    """

    rewards: Any
    group_ids: Any = None
    response_mask: Any = None
    trajectory_ids: Any = None
    step_ids: Any = None
    observation_keys: Any = None
    token_entropies: Any = None
    turn_boundaries: Any = None
    extra: dict = field(default_factory=dict)
    dtype: Any = None
    device: Any = None
    validate: bool = True

    def __post_init__(self):
        set_ = lambda k, v: object.__setattr__(self, k, v)  # noqa: E731 (frozen dataclass)
        device = _check_device(self.device)
        if self.rewards is None:
            raise ValueError("rewards is required (rows,) or (rows, tokens)")
        r = _to_tensor(self.rewards, "rewards", device)
        if device is None:
            device = r.device
        if self.dtype is not None:
            if not (isinstance(self.dtype, torch.dtype) and self.dtype.is_floating_point):
                raise TypeError(f"dtype must be a torch floating dtype, got {self.dtype!r}")
            dtype = self.dtype
        else:
            dtype = r.dtype if r.is_floating_point() else torch.float64
        r = r.to(dtype)
        if r.dim() not in (1, 2):
            raise ValueError(f"rewards must be (rows,) or (rows, tokens), got shape {tuple(r.shape)}")
        rows = r.shape[0]
        if rows == 0:
            raise ValueError("rewards is empty: a RolloutBatch needs at least one row")
        if not isinstance(self.validate, bool):
            raise TypeError(f"validate must be a bool, got {type(self.validate).__name__}")
        cache: dict = {}
        checks: list = []  # (name, 0-d bool tensor that must be True, on_fail) checked with one sync
        if r.dim() == 2:
            # a row sum is finite iff every entry is (or it overflows): check the (rows,) sums,
            # which the estimators need anyway (sequence_rewards), instead of every token
            cache["sequence_rewards"] = r.sum(-1)
            if self.validate:
                checks.append((torch.isfinite(cache["sequence_rewards"]).all(), lambda: _check_finite_or_overflow(r)))
        elif self.validate:
            checks.append((torch.isfinite(r).all(), lambda: _check_finite(r, "rewards")))
        set_("rewards", r)
        set_("dtype", dtype)
        set_("device", device)
        tokens = r.shape[1] if r.dim() == 2 else None

        def check_tokens(t, name):
            nonlocal tokens
            if t.dim() != 2:
                raise ValueError(f"{name} must be (rows, tokens), got shape {tuple(t.shape)}")
            if t.shape[0] != rows:
                raise ValueError(f"{name} must have one row per reward ({rows}), got {t.shape[0]} rows")
            if tokens is not None and t.shape[1] != tokens:
                raise ValueError(f"{name} has {t.shape[1]} tokens but other token fields have {tokens}")
            tokens = t.shape[1]

        given_mask = self.__dict__.get("_response_mask_given")  # not through _BoolMask: no conversion yet
        if given_mask is not None:
            m = _to_tensor(given_mask, "response_mask", device)
            check_tokens(m, "response_mask")
            if self.validate:
                checks += _mask_checks(m)
            if m.dtype != torch.bool and m.dtype == dtype:
                cache["mask_float"] = m  # broadcasting multiplies by it directly
            set_("response_mask", m)  # stored as given; read back as bool (see _BoolMask)
        if self.token_entropies is not None:
            e = _to_tensor(self.token_entropies, "token_entropies", device).to(dtype)
            check_tokens(e, "token_entropies")
            if self.validate:
                checks.append(
                    (torch.isfinite(e.sum(-1)).all(), lambda: _check_finite_or_overflow(e, "token_entropies"))
                )
            set_("token_entropies", e)
        for name in ("group_ids", "trajectory_ids"):
            v = getattr(self, name)
            if v is not None:
                ids, n_codes = _row_ids(v, name, rows, device, with_codes=True)
                if n_codes is not None:  # hashable ids: factorised codes are already dense
                    cache[("codes", name)] = (ids, n_codes)
                set_(name, ids)
        if self.step_ids is not None:
            s = _row_ids(self.step_ids, "step_ids", rows, device)
            if not isinstance(self.step_ids, (torch.Tensor, np.ndarray)) and not all(
                isinstance(v, (numbers.Integral, np.integer)) for v in self.step_ids
            ):
                raise TypeError("step_ids must be integers")
            if bool((s < 0).any()):
                i = int(torch.nonzero(s < 0)[0])
                raise ValueError(f"step_ids must be >= 0; step_ids[{i}] = {int(s[i])}")
            set_("step_ids", s)
        if self.observation_keys is not None:
            set_("observation_keys", _observation_keys(self.observation_keys, rows, device))
        if self.turn_boundaries is not None:
            tb = _to_tensor(self.turn_boundaries, "turn_boundaries", device)
            if tb.dim() == 0 or tb.shape[0] != rows:
                raise ValueError(
                    f"turn_boundaries must have one entry per row ({rows}) on dim 0, got shape {tuple(tb.shape)}"
                )
            if tb.is_floating_point():
                raise TypeError(f"turn_boundaries must be integer or bool, got {tb.dtype}")
            set_("turn_boundaries", tb.to(torch.int64))
        if self.extra is None:
            set_("extra", {})
        elif not isinstance(self.extra, dict):
            raise TypeError(f"extra must be a dict, got {type(self.extra).__name__}")
        else:
            set_("extra", dict(self.extra))
        if checks:
            # one host synchronisation for all value checks; the precise message on failure
            ok = torch.stack([c for c, _ in checks]).tolist()
            for good, (_, on_fail) in zip(ok, checks):
                if not good:
                    on_fail()
        set_("_tokens", tokens)
        set_("_cache", cache)

    # ---- shape ---------------------------------------------------------------------------------
    @property
    def n_rows(self) -> int:
        """Number of rows."""
        return int(self.rewards.shape[0])

    @property
    def n_tokens(self) -> int | None:
        """Length of the token axis (``None`` when no field has one)."""
        return self._tokens

    @property
    def token_level(self) -> bool:
        """``True`` when ``rewards`` is ``(rows, tokens)``."""
        return self.rewards.dim() == 2

    def __len__(self) -> int:
        return self.n_rows

    # ---- access --------------------------------------------------------------------------------
    def require(self, *fields: str, method: str) -> None:
        """Raise ``ValueError`` naming the first missing field and ``method``.

        A name that is not a schema field is looked up in ``extra``.
        """
        for f in fields:
            if f in FIELDS:
                # response_mask: test the stored mask, not the bool copy _BoolMask would make
                value = self.__dict__.get("_response_mask_given") if f == "response_mask" else getattr(self, f)
                missing = value is None
                where = f"RolloutBatch({f}=...)"
            else:
                missing = f not in self.extra
                where = f"RolloutBatch(extra={{{f!r}: ...}})"
            if missing:
                raise ValueError(
                    f"method {method!r} needs the field {f!r}, which this batch does not have; pass it as {where}"
                )

    def sequence_rewards(self) -> torch.Tensor:
        """Scalar reward per row ``(rows,)``: ``rewards`` or ``rewards.sum(-1)`` for token-level ones.

        Token-level rewards are summed over all tokens (as verl's outcome estimators do with
        ``token_level_rewards.sum(dim=-1)``; padding is expected to carry 0).
        """
        if self.rewards.dim() == 1:
            return self.rewards
        if "sequence_rewards" not in self._cache:
            self._cache["sequence_rewards"] = self.rewards.sum(-1)
        return self._cache["sequence_rewards"]

    def mask_as(self, dtype=None) -> torch.Tensor:
        """``response_mask`` as a ``dtype`` tensor (default the batch dtype), 1.0 on response tokens.

        Returns the float mask given to the constructor when it already has that dtype (no copy).
        """
        self.require("response_mask", method="mask_as")
        dtype = self.dtype if dtype is None else dtype
        key = ("mask_as", dtype)
        if key not in self._cache:
            given = self._cache.get("mask_float")
            if given is not None and given.dtype == dtype:
                self._cache[key] = given
            else:
                self._cache[key] = _bool_to(self.response_mask, dtype)
        return self._cache[key]

    def group_codes(self, field_name: str = "group_ids", *, method: str = "grouping") -> tuple[torch.Tensor, int]:
        """Dense codes ``(rows,)`` in ``[0, n)`` and ``n`` for an id field (cached)."""
        self.require(field_name, method=method)
        key = ("codes", field_name)
        if key not in self._cache:
            from mdp.llm.segments import dense_codes

            self._cache[key] = dense_codes(getattr(self, field_name))
        return self._cache[key]

    def extra_tensor(
        self, key: str, *, method: str, dtype=None, ndim: int | None = None, finite: bool = True
    ) -> torch.Tensor:
        """``extra[key]`` as a tensor on this batch's device with ``rows`` entries on dim 0.

        ``dtype`` defaults to the batch float dtype for floating input (pass ``torch.int64`` etc.
        for ids). Raises ``ValueError`` naming ``key`` and ``method`` when it is missing or misshaped.
        """
        self.require(key, method=method)
        t = _to_tensor(self.extra[key], f"extra[{key!r}]", self.device)
        if dtype is not None:
            t = t.to(dtype)
        elif t.is_floating_point():
            t = t.to(self.dtype)
        if t.dim() == 0 or t.shape[0] != self.n_rows:
            raise ValueError(
                f"extra[{key!r}] (needed by {method!r}) must have {self.n_rows} rows on dim 0, "
                f"got shape {tuple(t.shape)}"
            )
        if ndim is not None and t.dim() != ndim:
            raise ValueError(
                f"extra[{key!r}] (needed by {method!r}) must be {ndim}-dimensional, got shape {tuple(t.shape)}"
            )
        if finite and t.is_floating_point():
            _check_finite(t, f"extra[{key!r}]")
        return t

    # ---- copies --------------------------------------------------------------------------------
    def replace(self, **changes) -> "RolloutBatch":
        """A new, re-validated batch with some fields replaced."""
        kw = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        kw.update(changes)
        return RolloutBatch(**kw)

    def to(self, device=None, dtype=None) -> "RolloutBatch":
        """Move to ``device`` and/or cast float fields to ``dtype``."""
        return self.replace(
            device=device if device is not None else self.device, dtype=dtype if dtype is not None else self.dtype
        )

    def __repr__(self) -> str:
        present = [f for f in FIELDS if getattr(self, f) is not None]
        return (
            f"RolloutBatch(rows={self.n_rows}, tokens={self.n_tokens}, fields={present}, "
            f"extra={sorted(self.extra)}, dtype={self.dtype}, device={self.device})"
        )


RolloutBatch.response_mask = _BoolMask()  # after @dataclass, which read the default None
