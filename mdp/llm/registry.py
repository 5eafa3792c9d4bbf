"""Registry of advantage estimators: one call, any method.

>>> from mdp.llm import RolloutBatch, compute_advantages, list_estimators
>>> b = RolloutBatch(rewards=[1.0, 0.0, 1.0, 1.0], group_ids=[0, 0, 1, 1])
>>> [round(x, 4) for x in compute_advantages("grpo", b).tolist()]
[0.7071, -0.7071, 0.0, 0.0]

Estimator modules register their methods at import time with :func:`register_estimator`. The
built-in modules (``_BUILTIN_MODULES``) are imported on the first call to :func:`compute_advantages`,
:func:`list_estimators` or :func:`get_estimator`; a module in that list that does not exist is
skipped (``importlib.util.find_spec(name) is None``), any other import error propagates.

An estimator is a callable ``fn(batch, **options) -> torch.Tensor`` returning ``(rows,)`` or
``(rows, tokens)`` float advantages. :func:`compute_advantages` checks the batch has every field in
``needs`` (a clear ``ValueError`` naming it) plus the fields that the chosen option values add
(``option_needs``, e.g. GiGPO's ``grouping="exact"`` reads ``observation_keys``), rejects unknown options (``TypeError`` listing the
valid ones), fills the registered defaults, calls ``fn`` with *all* options as keywords, and checks
the output's shape and finiteness. The reserved option ``broadcast=True`` turns a ``(rows,)`` result
into ``(rows, tokens)`` with ``adv[:, None] * response_mask``.
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Mapping
from dataclasses import dataclass, field
from dataclasses import replace as replace_fields
from types import MappingProxyType
from typing import Callable

from mdp._validation import did_you_mean

__all__ = ["EstimatorSpec", "register_estimator", "compute_advantages", "list_estimators", "get_estimator"]

_BUILTIN_MODULES = (
    "mdp.llm.estimators",
    "mdp.llm.agentic",
    "mdp.llm.arena",
    "mdp.llm.spo",
    "mdp.llm.spark",
    "mdp.llm.hill",
    "mdp.llm.hapo",
    "mdp.llm.bpo",
    "mdp.llm.flow_grpo",
    "mdp.llm.sapo",
    "mdp.llm.graph_grpo",
)

_REGISTRY: dict[str, "EstimatorSpec"] = {}
_STATE = {"loaded": False, "loading": False}

_RESERVED_OPTIONS = frozenset({"broadcast"})

#: the claims of theory_checks/llm.py that check a built-in estimator
_BUILTIN_CLAIMS = {
    "grpo": ("L1",),
    "dr_grpo": ("L1",),
    "rloo": ("L1",),
    "gigpo": ("L2",),
    "arena": ("L5", "L6"),
    "spo": ("L7",),
    "gbpo": ("L8",),
    "hapo": ("L9",),
}


@dataclass(frozen=True)
class EstimatorSpec:
    """Metadata of one registered estimator.

    Attributes
    ----------
    name : str
    fn : callable ``fn(batch, **options) -> Tensor``
    needs : tuple of str
        RolloutBatch fields (or ``extra`` keys) the method reads with its *default* options
        (``base_needs`` plus the ``option_needs`` of the default option values).
    options : mapping name -> default
        Every keyword the method accepts, with its default.
    doc : str
        One-paragraph description (defaults to the first paragraph of ``fn.__doc__``).
    paper : str
        Citation (paper, arXiv id, notes file in ``shared/papers``).
    equation : str
        Equation the implementation follows (e.g. ``"A_i = (r_i - mean(r)) / (std(r) + eps)"``).
    module : str
        Module that registered it.
    base_needs : tuple of str
        Fields read whatever the options.
    option_needs : mapping option -> {value: tuple of str}
        Fields read only when an option has a given value.
    claims : tuple of str
        Ids of the claims (:mod:`theory_checks`) that check this estimator (``rlab list ID``).
    """

    name: str
    fn: Callable
    needs: tuple = ()
    options: Mapping = field(default_factory=dict)
    doc: str = ""
    paper: str = ""
    equation: str = ""
    module: str = ""
    base_needs: tuple = ()
    option_needs: Mapping = field(default_factory=dict)
    claims: tuple = ()

    def required_fields(self, **options) -> tuple:
        """Fields read when called with ``options`` (unset options take their defaults)."""
        out = list(self.base_needs)
        for opt, table in self.option_needs.items():
            value = options.get(opt, self.options.get(opt))
            try:
                extra = table.get(value, ())
            except TypeError:  # unhashable option value
                extra = ()
            out += [f for f in extra if f not in out]
        return tuple(out)


def register_estimator(
    name: str,
    fn: Callable,
    *,
    needs=(),
    options: Mapping | None = None,
    doc: str | None = None,
    paper: str = "",
    equation: str = "",
    option_needs: Mapping | None = None,
    replace: bool = False,
    claims=None,
) -> EstimatorSpec:
    """Register ``fn`` under ``name`` and return its :class:`EstimatorSpec`.

    Parameters
    ----------
    name : str
        Method name used by :func:`compute_advantages` (lower case, e.g. ``"grpo"``).
    fn : callable
        ``fn(batch, **options) -> Tensor`` of shape ``(rows,)`` or ``(rows, tokens)``.
    needs : iterable of str
        Fields (or ``extra`` keys) the method requires whatever its options; checked before ``fn``
        is called.
    option_needs : mapping option name -> {option value: iterable of str}, optional
        Fields required only for some option values (e.g. ``{"grouping": {"exact":
        ("observation_keys",)}}``); checked against the options of each call. The spec's
        ``needs`` lists ``needs`` plus the fields of the default option values.
    options : mapping, optional
        Option name -> default. Only these keywords are accepted; all are passed to ``fn``.
    doc, paper, equation : str
        Metadata shown by :func:`get_estimator`.
    replace : bool
        Allow overwriting an existing registration (otherwise a duplicate name is a ValueError).
    claims : iterable of str, optional
        Ids of the claims that check the estimator (built-ins: the L-claims of
        ``theory_checks/llm.py``).
    """
    if not isinstance(name, str) or not name:
        raise TypeError(f"name must be a non-empty str, got {name!r}")
    if not callable(fn):
        raise TypeError(f"fn for estimator {name!r} must be callable, got {type(fn).__name__}")
    if name in _REGISTRY and not replace:
        raise ValueError(
            f"estimator {name!r} is already registered (by {_REGISTRY[name].module}); pass replace=True to overwrite it"
        )
    if isinstance(needs, str):
        needs = (needs,)
    needs = tuple(needs)
    if not all(isinstance(n, str) for n in needs):
        raise TypeError(f"needs for estimator {name!r} must be field names (str), got {needs!r}")
    opts = dict(options or {})
    clash = _RESERVED_OPTIONS & set(opts)
    if clash:
        raise ValueError(f"option name(s) {sorted(clash)} are reserved by compute_advantages")
    cond = {}
    for opt, table in dict(option_needs or {}).items():
        if opt not in opts:
            raise ValueError(f"option_needs of estimator {name!r} names {opt!r}, which is not one of its options")
        cond[opt] = MappingProxyType({v: (f,) if isinstance(f, str) else tuple(f) for v, f in dict(table).items()})
        if not all(isinstance(f, str) for fs in cond[opt].values() for f in fs):
            raise TypeError(f"option_needs of estimator {name!r} must map values to field names (str)")
    if doc is None:
        doc = (fn.__doc__ or "").strip().split("\n\n")[0]
    spec = EstimatorSpec(
        name=name,
        fn=fn,
        needs=needs,
        options=MappingProxyType(opts),
        doc=doc,
        paper=paper,
        equation=equation,
        module=getattr(fn, "__module__", "") or "",
        base_needs=needs,
        option_needs=MappingProxyType(cond),
        claims=tuple(claims) if claims is not None else _BUILTIN_CLAIMS.get(name, ()),
    )
    spec = replace_fields(spec, needs=spec.required_fields())  # needs = what the defaults read
    _REGISTRY[name] = spec
    return spec


def _load_builtin() -> None:
    if _STATE["loaded"] or _STATE["loading"]:
        return
    _STATE["loading"] = True
    try:
        for mod in _BUILTIN_MODULES:
            if importlib.util.find_spec(mod) is None:
                continue
            importlib.import_module(mod)
        _STATE["loaded"] = True
    finally:
        _STATE["loading"] = False


def list_estimators() -> list[str]:
    """Sorted names of all registered estimators (built-ins loaded on first call)."""
    _load_builtin()
    return sorted(_REGISTRY)


def get_estimator(name: str) -> EstimatorSpec:
    """The :class:`EstimatorSpec` of ``name`` (``ValueError`` listing the known names otherwise)."""
    _load_builtin()
    if not isinstance(name, str):
        raise TypeError(f"method must be a str, got {type(name).__name__}")
    try:
        return _REGISTRY[name]
    except KeyError:
        hint = did_you_mean(name, _REGISTRY)
        raise ValueError(f"unknown advantage estimator {name!r}{hint}; known: {', '.join(sorted(_REGISTRY))}") from None


def compute_advantages(method: str, batch, *, broadcast: bool = False, **options):
    """Advantages of ``method`` on ``batch``.

    Parameters
    ----------
    method : str
        A name from :func:`list_estimators`.
    batch : RolloutBatch or mapping
        A mapping is passed to ``RolloutBatch(**batch)``.
    broadcast : bool
        Return ``(rows, tokens)``: a ``(rows,)`` result is multiplied into ``response_mask``.
    **options
        The method's options (see ``get_estimator(method).options``).

    Returns
    -------
    torch.Tensor
        ``(rows,)`` or ``(rows, tokens)`` float advantages, dtype ``batch.dtype``.
    """
    import torch

    from mdp.llm.batch import RolloutBatch

    spec = get_estimator(method)
    if isinstance(batch, Mapping):
        batch = RolloutBatch(**batch)
    if not isinstance(batch, RolloutBatch):
        raise TypeError(f"batch must be a RolloutBatch (or a dict of its fields), got {type(batch).__name__}")
    unknown = sorted(set(options) - set(spec.options))
    if unknown:
        valid = ", ".join(sorted(spec.options)) or "none"
        raise TypeError(f"method {method!r} has no option(s) {unknown}; valid options: {valid} (and broadcast)")
    kwargs = {**spec.options, **options}
    batch.require(*spec.base_needs, method=method)
    for opt, table in spec.option_needs.items():
        try:
            fields = table.get(kwargs[opt], ())
        except TypeError:
            fields = ()
        batch.require(*fields, method=f"{method} with {opt}={kwargs[opt]!r}")
    adv = spec.fn(batch, **kwargs)
    if not isinstance(adv, torch.Tensor) or not adv.is_floating_point():
        raise TypeError(f"estimator {method!r} returned {type(adv).__name__}, expected a float tensor")
    rows = batch.n_rows
    ok = adv.dim() == 1 and adv.shape[0] == rows
    ok |= adv.dim() == 2 and adv.shape[0] == rows and (batch.n_tokens is None or adv.shape[1] == batch.n_tokens)
    if not ok:
        raise ValueError(
            f"estimator {method!r} returned shape {tuple(adv.shape)}, expected ({rows},) or ({rows}, {batch.n_tokens})"
        )
    # a sum over the last axis is finite iff every entry is (barring overflow, which the exact
    # check then reports): one small reduction instead of a full-size isfinite on (rows, tokens)
    if not bool(torch.isfinite(adv.sum(-1) if adv.dim() == 2 else adv).all()) and not (
        adv.dim() == 2 and bool(torch.isfinite(adv).all())
    ):
        raise ValueError(f"estimator {method!r} produced non-finite advantages (check its options)")
    if broadcast:
        if adv.dim() == 1:
            batch.require("response_mask", method=f"{method} with broadcast=True")
            adv = adv.unsqueeze(-1) * batch.mask_as(adv.dtype)
    return adv
