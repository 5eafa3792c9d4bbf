"""Small attention policies for the TSP, trained by imitation of Held-Karp tours (BQ-NCO, ``docs/papers/bq_nco.md``).

Two policies with the same encoder, differing only in the MDP state they see:

* :class:`BQPolicy` sees the state of the *bisimulation-quotient* MDP (Drakulic et al., NeurIPS 2023,
  Sec. 3-4): the remaining sub-problem ``[origin, remaining..., destination]`` of ``L`` tokens, each the
  coordinates of one node, with learned "begin"/"end" embeddings added to the first and last token.
  Its size shrinks by one at every step, and a policy trained on sub-problems of size ``<= N + 1`` is
  a complete policy for every size ``<= N`` (BQ3).
* :class:`DirectPolicy` sees the *direct* MDP's state: all ``n`` nodes of the instance with the flags
  ``(visited, current, first)``. It is the "same network without the quotient" baseline.

Both are tiny encoder-only transformers (default 2 layers, ``d = 32``, 4 heads, feed-forward 64,
ReLU, no dropout) with ReZero residuals (``h <- h + alpha * f(h)``, ``alpha`` a learned scalar
initialised at 0; Bachlechner et al. 2021) and **no positional encoding**, so apart from the begin/end
embeddings (BQ) or the flags (direct) they are permutation-equivariant: permuting the input tokens
permutes the scores. One linear head gives a score per token; infeasible tokens get ``-inf``
(origin and destination for BQ, visited nodes for direct).

Training is behaviour cloning (cross-entropy against the expert's next node). For BQ the sub-problems
are cut from expert tours (:func:`mdp.cop.tsp_subproblems`) whose remaining nodes are listed in
expert order, so the expert's next node is always at index 1 and the target is the constant 1. This
is a valid label only because the network is permutation-equivariant on the middle tokens: the
score of a node does not depend on where it sits in the list, so "index 1" carries no information
the network could exploit; with positional encodings the network could learn "always pick position
1" and would fail at decoding time, when the remaining nodes are in arbitrary order (the pitfall in
``docs/papers/bq_nco.md``). Each minibatch draws one sub-problem size ``L ~ U{4, ..., N + 1}``
(:func:`mdp.cop.sample_subproblem_size`; sizes 2 and 3 have a single feasible action). The direct
baseline is trained on exactly the same states (after ``t = N + 1 - L`` expert steps) and targets.

Randomness: every draw goes through the ``numpy.random.Generator`` passed in; torch's generator is
seeded from one draw of it inside :func:`torch.random.fork_rng` (the caller's torch RNG state is
restored), and training runs on ``threads`` CPU threads (restored afterwards), so a seed reproduces
the model bit for bit on one machine.

Torch is imported by this module only; ``import mdp.cop`` never imports it.
"""

from __future__ import annotations

import contextlib
import time

import numpy as np
import torch
from torch import nn

from mdp._common import result
from mdp._common.deprecation import migrate_signature
from mdp._common.results import renamed_names
from mdp._validation import as_float_array, check_positive_int, check_real, check_rng

__all__ = [
    "BQPolicy",
    "DirectPolicy",
    "TrainingHistory",
    "TourEvaluation",
    "train_bq_policy",
    "train_direct_policy",
    "evaluate",
    "bq_score_fn",
    "direct_score_fn",
    "direct_features",
]

# --------------------------------------------------------------------------- network


class _ReZeroLayer(nn.Module):
    """One encoder layer: ``h + a_1 MHA(h)``, then ``h + a_2 FF(h)``; ``a_1 = a_2 = 0`` at init (ReZero)."""

    def __init__(self, d_model: int, n_heads: int, d_ff: int):
        super().__init__()
        self.attn = nn.MultiheadAttention(d_model, n_heads, dropout=0.0, batch_first=True)
        self.ff = nn.Sequential(nn.Linear(d_model, d_ff), nn.ReLU(), nn.Linear(d_ff, d_model))
        self.alpha_attn = nn.Parameter(torch.zeros(()))
        self.alpha_ff = nn.Parameter(torch.zeros(()))

    def forward(self, h):
        a, _ = self.attn(h, h, h, need_weights=False)
        h = h + self.alpha_attn * a
        return h + self.alpha_ff * self.ff(h)


def _check_arch(d_model, n_heads, n_layers, d_ff):
    d_model = check_positive_int(d_model, "d_model")
    n_heads = check_positive_int(n_heads, "n_heads")
    n_layers = check_positive_int(n_layers, "n_layers", minimum=0)
    d_ff = check_positive_int(d_ff, "d_ff")
    if d_model % n_heads:
        raise ValueError(f"d_model must be divisible by n_heads, got d_model = {d_model}, n_heads = {n_heads}")
    return d_model, n_heads, n_layers, d_ff


class _Encoder(nn.Module):
    def __init__(self, d_in, d_model, n_heads, n_layers, d_ff):
        super().__init__()
        self.embed = nn.Linear(d_in, d_model)
        self.layers = nn.ModuleList([_ReZeroLayer(d_model, n_heads, d_ff) for _ in range(n_layers)])
        self.head = nn.Linear(d_model, 1)


def _as_tensor(x, name, last_dim, min_tokens):
    """float32 tensor of shape (B, L, last_dim) with L >= min_tokens (a numpy array or tensor)."""
    if isinstance(x, torch.Tensor):
        t = x
        if not torch.is_floating_point(t):
            t = t.float()
    else:
        t = torch.from_numpy(as_float_array(x, name))
    if t.dim() != 3 or t.shape[-1] != last_dim:
        raise ValueError(f"{name} must have shape (B, L, {last_dim}), got {tuple(t.shape)}")
    if t.shape[1] < min_tokens:
        raise ValueError(f"{name} must have at least {min_tokens} tokens (axis 1), got {t.shape[1]}")
    if not bool(torch.isfinite(t).all()):
        raise ValueError(f"{name} must be finite")
    return t.to(torch.float32)


class BQPolicy(nn.Module):
    """Scores of the BQ-MDP's TSP state ``[origin, remaining..., destination]``.

    Parameters
    ----------
    d_model, n_heads, n_layers, d_ff : int
        Width, attention heads (dividing ``d_model``), encoder layers and feed-forward width.

    Notes
    -----
    ``forward(coords)`` takes ``(B, L, 2)`` (``L >= 3``) and returns ``(B, L)`` scores with
    ``scores[:, 0] = scores[:, -1] = -inf``. Tokens: ``Linear(2 -> d)(coords)``, plus ``E_begin`` on
    token 0 and ``E_end`` on token ``L - 1``; no positional encoding, so the scores of the middle
    tokens are permutation-equivariant (Drakulic et al. 2023, Sec. 4; ``docs/papers/bq_nco.md``).
    """

    view = "bq"

    def __init__(self, d_model: int = 32, n_heads: int = 4, n_layers: int = 2, d_ff: int = 64):
        super().__init__()
        d_model, n_heads, n_layers, d_ff = _check_arch(d_model, n_heads, n_layers, d_ff)
        self.config = {"d_model": d_model, "n_heads": n_heads, "n_layers": n_layers, "d_ff": d_ff}
        self.encoder = _Encoder(2, d_model, n_heads, n_layers, d_ff)
        self.begin = nn.Parameter(0.5 * torch.randn(d_model))
        self.end = nn.Parameter(0.5 * torch.randn(d_model))

    def forward(self, coords):
        """Scores ``(B, L)`` of the ``(B, L, 2)`` coordinates ``coords`` (see the class Notes)."""
        x = _as_tensor(coords, "coords", 2, 3)
        L = x.shape[1]
        h = self.encoder.embed(x)
        marks = torch.zeros(L, h.shape[-1], dtype=h.dtype)
        marks[0] = marks[0] + self.begin
        marks[-1] = marks[-1] + self.end
        h = h + marks
        for layer in self.encoder.layers:
            h = layer(h)
        s = self.encoder.head(h).squeeze(-1)
        mask = torch.zeros(L, dtype=torch.bool)
        mask[0] = mask[-1] = True
        return s.masked_fill(mask, float("-inf"))


def direct_features(coords, flags) -> np.ndarray:
    """Direct-view inputs ``(B, n, 5)`` = ``(x, y, visited, current, first)`` from ``coords`` and ``flags``."""
    x = as_float_array(coords, "coords")
    f = as_float_array(flags, "flags")
    if x.ndim != 3 or x.shape[-1] != 2:
        raise ValueError(f"coords must have shape (B, n, 2), got {x.shape}")
    if f.shape != x.shape[:2] + (3,):
        raise ValueError(f"flags must have shape {x.shape[:2] + (3,)} (visited, current, first), got {f.shape}")
    return np.concatenate([x, f], axis=-1)


class DirectPolicy(nn.Module):
    """Scores of the direct MDP's TSP state: all ``n`` nodes with ``(x, y, visited, current, first)``.

    ``forward(features)`` takes ``(B, n, 5)`` (``n >= 2``) and returns ``(B, n)`` scores, ``-inf`` on
    visited nodes (``features[..., 2] > 0.5``). Same encoder as :class:`BQPolicy` (ReZero, no positional
    encoding) with a ``Linear(5 -> d)`` embedding; the baseline without bisimulation quotienting.
    """

    view = "direct"

    def __init__(self, d_model: int = 32, n_heads: int = 4, n_layers: int = 2, d_ff: int = 64):
        super().__init__()
        d_model, n_heads, n_layers, d_ff = _check_arch(d_model, n_heads, n_layers, d_ff)
        self.config = {"d_model": d_model, "n_heads": n_heads, "n_layers": n_layers, "d_ff": d_ff}
        self.encoder = _Encoder(5, d_model, n_heads, n_layers, d_ff)

    def forward(self, features):
        """Scores ``(B, n)`` of the ``(B, n, 5)`` node features, ``-inf`` on visited nodes."""
        x = _as_tensor(features, "features", 5, 2)
        h = self.encoder.embed(x)
        for layer in self.encoder.layers:
            h = layer(h)
        s = self.encoder.head(h).squeeze(-1)
        return s.masked_fill(x[..., 2] > 0.5, float("-inf"))


# --------------------------------------------------------------------------- scoring callables


def bq_score_fn(model: BQPolicy):
    """``score_fn(sub_coords, sub_nodes) -> (B, L)`` numpy scores for :func:`mdp.cop.greedy_tsp` (``view="bq"``)."""
    if not isinstance(model, BQPolicy):
        raise TypeError(f"model must be a BQPolicy, got {type(model).__name__}")

    def score_fn(sub_coords, sub_nodes=None):
        with torch.no_grad():
            return model(sub_coords).double().numpy()

    return score_fn


def direct_score_fn(model: DirectPolicy):
    """``score_fn(coords, flags) -> (B, n)`` numpy scores for :func:`mdp.cop.greedy_tsp` (``view="direct"``)."""
    if not isinstance(model, DirectPolicy):
        raise TypeError(f"model must be a DirectPolicy, got {type(model).__name__}")

    def score_fn(coords, flags):
        with torch.no_grad():
            return model(direct_features(coords, flags)).double().numpy()

    return score_fn


# --------------------------------------------------------------------------- training


@result
class TrainingHistory:
    """Behaviour-cloning record.

    Attributes
    ----------
    losses : ndarray, shape (steps,)
        Mean cross-entropy of each minibatch (before its update).
    sizes : ndarray of int64, shape (steps,)
        Sub-problem size ``L`` of each minibatch (BQ tokens; the direct state after ``n + 1 - L`` steps).
    accuracy : ndarray, shape (steps,)
        Fraction of the minibatch where the argmax is the expert's node (before the update).
    seconds : float
        Wall time of training (data labelling excluded).
    label_seconds : float
        Wall time of Held-Karp labelling of the training instances.
    n_train, n_instances, batch_size : int
    view : str
        ``"bq"`` or ``"direct"``.
    """

    losses: np.ndarray
    sizes: np.ndarray
    accuracy: np.ndarray
    seconds: float
    label_seconds: float
    n_train: int
    n_instances: int
    batch_size: int
    view: str


@contextlib.contextmanager
def _torch_threads(n: int):
    old = torch.get_num_threads()
    torch.set_num_threads(int(n))
    try:
        yield
    finally:
        torch.set_num_threads(old)


def _check_training_args(n_train, n_instances, steps, batch_size, lr, threads, min_size, rng, instances):
    n_train = check_positive_int(n_train, "n_train", minimum=3)
    n_instances = check_positive_int(n_instances, "n_instances")
    steps = check_positive_int(steps, "steps")
    batch_size = check_positive_int(batch_size, "batch_size")
    threads = check_positive_int(threads, "threads")
    min_size = check_positive_int(min_size, "min_size", minimum=3)
    if min_size > n_train + 1:
        raise ValueError(f"min_size must be <= n_train + 1 = {n_train + 1}, got {min_size}")
    check_real(lr, "lr", "(0, inf)")
    rng = check_rng(rng)
    if instances is not None:
        coords = as_float_array(instances, "instances")
        if coords.ndim != 3 or coords.shape[1:] != (n_train, 2):
            raise ValueError(
                f"instances must have shape (n_instances, n_train, 2) = (B, {n_train}, 2), got {coords.shape}"
            )
        n_instances = coords.shape[0]
    else:
        coords = None
    return n_train, n_instances, steps, batch_size, float(lr), threads, min_size, rng, coords


def _labelled_data(n_train, n_instances, rng, coords):
    from mdp.cop.tsp import random_euclidean_tsp, solve_tsp_batch

    if coords is None:
        coords = random_euclidean_tsp(n_train, n_instances, rng=rng)
    t0 = time.perf_counter()
    tours = solve_tsp_batch(coords, kind="coords").tours
    return coords, np.asarray(tours), time.perf_counter() - t0


def _bq_batches(coords, tours, min_size):
    """Sub-problem tokens per size ``L``: ``{L: float32 tensor (N, L, 2)}`` (expert next node at index 1)."""
    from mdp.cop.tsp import tsp_subproblems

    n = coords.shape[1]
    return {
        L: torch.from_numpy(tsp_subproblems(coords, tours, size=L).coords.astype(np.float32))
        for L in range(min_size, n + 2)
    }


def _direct_batches(coords, tours, min_size):
    """Direct states ``{L: (features (N, n, 5), targets (N,))}``: the state after ``t = n + 1 - L`` expert steps."""
    N, n = tours.shape
    pos = np.empty_like(tours)
    np.put_along_axis(pos, tours, np.arange(n)[None, :].repeat(N, 0), axis=1)  # pos[b, node] = step
    out = {}
    for L in range(min_size, n + 2):
        t = n + 1 - L
        flags = np.stack([pos <= t, pos == t, pos == 0], axis=-1).astype(np.float64)
        feats = direct_features(coords, flags).astype(np.float32)
        out[L] = (torch.from_numpy(feats), torch.from_numpy(tours[:, t + 1].copy()))
    return out


def _train(
    view,
    n_train,
    n_instances,
    steps,
    rng,
    *,
    batch_size,
    lr,
    lr_decay,
    threads,
    min_size,
    instances,
    d_model,
    n_heads,
    n_layers,
    d_ff,
):
    from mdp.cop.tsp import sample_subproblem_size

    n_train, n_instances, steps, batch_size, lr, threads, min_size, rng, coords = _check_training_args(
        n_train, n_instances, steps, batch_size, lr, threads, min_size, rng, instances
    )
    check_real(lr_decay, "lr_decay", "(0, 1]")
    _check_arch(d_model, n_heads, n_layers, d_ff)
    coords, tours, label_seconds = _labelled_data(n_train, n_instances, rng, coords)
    seed = int(rng.integers(2**31 - 1))
    t0 = time.perf_counter()
    with torch.random.fork_rng(devices=[]), _torch_threads(threads):
        torch.manual_seed(seed)
        cls = BQPolicy if view == "bq" else DirectPolicy
        model = cls(d_model=d_model, n_heads=n_heads, n_layers=n_layers, d_ff=d_ff)
        data = (_bq_batches if view == "bq" else _direct_batches)(coords, tours, min_size)
        opt = torch.optim.Adam(model.parameters(), lr=lr)
        # geometric decay from lr to lr * lr_decay over the run
        sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda k: lr_decay ** (k / max(1, steps - 1)))
        losses, sizes, acc = np.empty(steps), np.empty(steps, np.int64), np.empty(steps)
        bs = min(batch_size, n_instances)
        model.train()
        for k in range(steps):
            L = sample_subproblem_size(n_train, rng=rng, min_size=min_size)
            idx = torch.from_numpy(rng.choice(n_instances, size=bs, replace=False))
            if view == "bq":
                x = data[L][idx]
                target = torch.ones(bs, dtype=torch.long)
            else:
                feats, targets = data[L]
                x, target = feats[idx], targets[idx]
            scores = model(x)
            loss = nn.functional.cross_entropy(scores, target)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            losses[k] = loss.item()
            sizes[k] = L
            acc[k] = float((scores.argmax(-1) == target).float().mean())
        model.eval()
    history = TrainingHistory(
        losses=losses,
        sizes=sizes,
        accuracy=acc,
        seconds=time.perf_counter() - t0,
        label_seconds=label_seconds,
        n_train=n_train,
        n_instances=n_instances,
        batch_size=bs,
        view=view,
    )
    return model, history


_TRAIN_DOC = """
    Parameters
    ----------
    n_train : int
        Training instance size ``N >= 3`` (random uniform points in the unit square).
    n_instances : int
        Number of training instances, each labelled by Held-Karp (:func:`mdp.cop.solve_tsp_batch`).
    steps : int
        Adam updates; each minibatch has ``batch_size`` instances (without replacement) and one
        sub-problem size ``L ~ U{min_size, ..., N + 1}``.
    rng : numpy.random.Generator
        The only source of randomness (instances, minibatches, torch seed).
    batch_size : int, default 256
    lr : float, default 2e-3
        Adam step size, decayed geometrically to ``lr * lr_decay`` at the last step.
    lr_decay : float in (0, 1], default 0.1
    threads : int, default 1
        Torch CPU threads during training (restored afterwards).
    min_size : int, default 4
        Smallest sub-problem size (sizes 2 and 3 leave one feasible action).
    instances : array_like, shape (n_instances, N, 2), optional
        Training coordinates to use instead of fresh random ones.
    d_model, n_heads, n_layers, d_ff : int
        Architecture (defaults 32, 4, 2, 64).

    Returns
    -------
    model : {cls}
        In eval mode.
    history : TrainingHistory
"""


@migrate_signature(was_positional=("rng",))
def train_bq_policy(
    n_train: int = 10,
    n_instances: int = 2000,
    steps: int = 1000,
    *,
    rng,
    batch_size: int = 256,
    lr: float = 2e-3,
    lr_decay: float = 0.1,
    threads: int = 1,
    min_size: int = 4,
    instances=None,
    d_model: int = 32,
    n_heads: int = 4,
    n_layers: int = 2,
    d_ff: int = 64,
):
    return _train(
        "bq",
        n_train,
        n_instances,
        steps,
        rng,
        batch_size=batch_size,
        lr=lr,
        lr_decay=lr_decay,
        threads=threads,
        min_size=min_size,
        instances=instances,
        d_model=d_model,
        n_heads=n_heads,
        n_layers=n_layers,
        d_ff=d_ff,
    )


@migrate_signature(was_positional=("rng",))
def train_direct_policy(
    n_train: int = 10,
    n_instances: int = 2000,
    steps: int = 1000,
    *,
    rng,
    batch_size: int = 256,
    lr: float = 2e-3,
    lr_decay: float = 0.1,
    threads: int = 1,
    min_size: int = 4,
    instances=None,
    d_model: int = 32,
    n_heads: int = 4,
    n_layers: int = 2,
    d_ff: int = 64,
):
    return _train(
        "direct",
        n_train,
        n_instances,
        steps,
        rng,
        batch_size=batch_size,
        lr=lr,
        lr_decay=lr_decay,
        threads=threads,
        min_size=min_size,
        instances=instances,
        d_model=d_model,
        n_heads=n_heads,
        n_layers=n_layers,
        d_ff=d_ff,
    )


train_bq_policy.__doc__ = """Behaviour cloning of Held-Karp tours with the BQ policy (BQ-NCO, ``docs/papers/bq_nco.md``).

    Each minibatch holds the suffix sub-problems of size ``L`` of the expert tours
    (:func:`mdp.cop.tsp_subproblems`); the target is the constant index 1, valid because
    :class:`BQPolicy` is permutation-equivariant on the middle tokens (module docstring).
""" + _TRAIN_DOC.replace("{cls}", "BQPolicy")

train_direct_policy.__doc__ = """Behaviour cloning of Held-Karp tours with the direct-view baseline.

    The states are the direct-MDP states after ``t = N + 1 - L`` expert steps (the same states and
    expert actions as :func:`train_bq_policy` sees as sub-problems), with the expert's next node as
    target; nodes keep the instance's (random) order.
""" + _TRAIN_DOC.replace("{cls}", "DirectPolicy")


# --------------------------------------------------------------------------- evaluation


@result
class TourEvaluation:
    """Greedy decoding of a policy against Held-Karp optima.

    Attributes
    ----------
    tours : ndarray of int64, shape (B, n)
    lengths : ndarray, shape (B,)
        Euclidean tour lengths.
    optimal : ndarray, shape (B,)
        Held-Karp optimal lengths.
    gaps : ndarray, shape (B,)
        ``lengths / optimal - 1`` (0 for an optimal tour).
    mean_gap : float
    n_calls : int
        Network (scoring) calls of the decoding: ``n - 1`` (BQ: sizes ``n + 1, ..., 3``).
    call_sizes : tuple of int
    view : str
    seconds : float
        Wall time of the decoding (Held-Karp excluded).
    """

    tours: np.ndarray
    lengths: np.ndarray
    optimal: np.ndarray
    gaps: np.ndarray
    mean_gap: float
    n_calls: int
    call_sizes: tuple
    view: str
    seconds: float


def evaluate(model, coords, view: str | None = None, *, optimal=None, threads: int = 1) -> TourEvaluation:
    """Greedy-decode ``coords`` with ``model`` and compare with the optimal tours.

    Parameters
    ----------
    model : BQPolicy, DirectPolicy or callable
        A trained policy, or a score function for :func:`mdp.cop.greedy_tsp` (then ``view`` is
        required), e.g. :func:`mdp.cop.nearest_neighbour_scores` with ``view="bq"``.
    coords : array_like, shape (B, n, 2) or (n, 2)
        Instances, ``n >= 3``.
    view : {"bq", "direct"}, optional
        Must match the model's view when given.
    optimal : array_like, shape (B,), optional
        Optimal lengths; computed by Held-Karp (``n <= 20``) when omitted.
    threads : int, default 1
        Torch CPU threads during decoding.

    Returns
    -------
    TourEvaluation
    """
    from mdp.cop.tsp import greedy_tsp, solve_tsp_batch

    if isinstance(model, (BQPolicy, DirectPolicy)):
        if view is not None and view != model.view:
            raise ValueError(f"view {view!r} does not match the model ({type(model).__name__} has view {model.view!r})")
        view = model.view
        score_fn = bq_score_fn(model) if view == "bq" else direct_score_fn(model)
    elif callable(model):
        if view not in ("bq", "direct"):
            raise ValueError(f"view must be 'bq' or 'direct' for a score function, got {view!r}")
        score_fn = model
    else:
        raise TypeError(f"model must be a BQPolicy, a DirectPolicy or a score function, got {type(model).__name__}")
    threads = check_positive_int(threads, "threads")
    x = as_float_array(coords, "coords")
    if x.ndim == 2:
        x = x[None]
    if x.ndim != 3 or x.shape[-1] != 2:
        raise ValueError(f"coords must have shape (B, n, 2) or (n, 2), got {np.shape(coords)}")
    B, n, _ = x.shape
    if n < 3:
        raise ValueError(f"coords must have n >= 3 nodes, got n = {n}")
    if optimal is None:
        opt = np.asarray(solve_tsp_batch(x, kind="coords").lengths, dtype=np.float64)
    else:
        opt = as_float_array(optimal, "optimal")
        if opt.shape != (B,):
            raise ValueError(f"optimal must have shape ({B},), got {opt.shape}")
        if np.any(opt <= 0):
            raise ValueError("optimal lengths must be > 0")
    t0 = time.perf_counter()
    was_training = getattr(model, "training", False)
    if was_training:
        model.eval()
    try:
        with _torch_threads(threads):
            dec = greedy_tsp(x, score_fn, view=view)
    finally:
        if was_training:
            model.train()
    seconds = time.perf_counter() - t0
    lengths = np.asarray(dec.lengths, dtype=np.float64)
    gaps = lengths / opt - 1.0
    return TourEvaluation(
        tours=np.asarray(dec.tours),
        lengths=lengths,
        optimal=opt,
        gaps=gaps,
        mean_gap=float(gaps.mean()),
        n_calls=dec.n_calls,
        call_sizes=dec.call_sizes,
        view=view,
        seconds=seconds,
    )


# ``PolicyEvaluation`` (before rlab 0.2) shared its name with mdp.PolicyEvaluationResult's concept
__getattr__ = renamed_names(__name__, {"PolicyEvaluation": "TourEvaluation"}, globals())
