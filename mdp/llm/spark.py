"""SPARK (Rahman et al. 2025, arXiv:2512.03244; ``docs/papers/spark.md``): step-level verification
verdicts aggregated by majority vote into process rewards."""

from __future__ import annotations

import numpy as np

from mdp._common import result
from mdp._validation import as_float_array, check_positive_int
from mdp.llm._preference import _base_advantages
from mdp.llm.registry import register_estimator

__all__ = ["SparkLabels", "spark_aggregate", "spark_process_reward", "majority_accuracy"]


@result
class SparkLabels:
    """Aggregated verification of ``M`` solutions with up to ``K`` steps.

    ``step_labels`` ``(M, K)`` int8: 1 correct, 0 incorrect, -1 padding; ``first_error`` ``(M,)``
    int64: index of the earliest incorrect step, -1 if none (ProcessBench label);
    ``solution_correct`` ``(M,)`` bool; ``prm_labels`` ``(M, K)`` int8: 1 before the first error,
    0 from it on, -1 on padding.
    """

    step_labels: np.ndarray
    first_error: np.ndarray
    solution_correct: np.ndarray
    prm_labels: np.ndarray


SPARK_METHODS = ("single", "outcome_majority", "step_majority", "meta_critique", "combined")


def _binary(x, name):
    a = np.asarray(x)
    if a.dtype == bool:
        return a.astype(np.int8)
    a = as_float_array(a, name)
    if np.any((a != 0) & (a != 1)):
        raise ValueError(f"{name} must hold 0/1 verdicts (1 = judged correct)")
    return a.astype(np.int8)


def _majority(votes, n_votes, tie):
    """1 where correct votes are a strict majority; ties resolved by ``tie``."""
    twice = 2 * votes
    out = (twice > n_votes).astype(np.int8)
    if tie == "correct":
        out = np.where(twice == n_votes, 1, out).astype(np.int8)
    return out


def _first_zero(labels, valid):
    bad = (labels == 0) & valid
    has = bad.any(-1)
    return np.where(has, np.argmax(bad, axis=-1), -1).astype(np.int64)


def _labels_from(step, valid, first):
    K = step.shape[-1]
    pos = np.arange(K)
    prm = np.where(first[:, None] < 0, 1, (pos[None, :] < first[:, None]).astype(np.int8))
    return SparkLabels(
        np.where(valid, step, -1).astype(np.int8), first, first < 0, np.where(valid, prm, -1).astype(np.int8)
    )


def spark_aggregate(
    verdicts,
    *,
    step_mask=None,
    method: str = "step_majority",
    tie: str = "incorrect",
    final_verdicts=None,
    revised=None,
    which: int = 0,
) -> SparkLabels:
    """Aggregate ``N`` verifications per solution into step labels (docs/papers/spark.md Stage 1).

    Parameters
    ----------
    verdicts : array_like (M, N, K) of 0/1
        Verification ``n`` of solution ``m`` judges step ``k`` correct (1) or not (0).
    step_mask : array_like (M, K) of 0/1, optional
        Valid steps (solutions have different lengths); default all valid.
    method : {"single", "outcome_majority", "step_majority", "meta_critique", "combined"}
        ``"single"``: verification ``which``; ``"outcome_majority"``: majority of the final verdicts
        (default: a verification's final verdict is "all its valid steps correct") decides whether a
        solution is correct, and the first verification agreeing with an "incorrect" majority
        locates the error; ``"step_majority"``: per-step majority of the ``N`` verdicts (docs/papers/spark.md
        (b)); ``"meta_critique"``: per-step majority of the ``revised`` verifications (sequential
        scaling, (c)); ``"combined"``: per-step majority over original and revised (2N votes, (d)).
    tie : {"incorrect", "correct"}
        Even-``N`` ties; "incorrect" is the conservative rule docs/papers/spark.md recommends.
    final_verdicts : array_like (M, N) of 0/1, optional
    revised : array_like (M, N', K) of 0/1, optional
        Revised verifications after the verifier's self-critique.
    which : int
        Verification used by ``"single"``.
    """
    V = _binary(verdicts, "verdicts")
    if V.ndim != 3 or 0 in V.shape:
        raise ValueError(f"verdicts must be (solutions, verifications, steps) and non-empty, got shape {V.shape}")
    M, N, K = V.shape
    if method not in SPARK_METHODS:
        raise ValueError(f"method must be one of {SPARK_METHODS}, got {method!r}")
    if tie not in ("incorrect", "correct"):
        raise ValueError(f"tie must be 'incorrect' or 'correct', got {tie!r}")
    valid = np.ones((M, K), dtype=bool) if step_mask is None else _binary(step_mask, "step_mask").astype(bool)
    if valid.shape != (M, K):
        raise ValueError(f"step_mask must have shape {(M, K)}, got {valid.shape}")
    if method == "single":
        if not 0 <= int(which) < N:
            raise ValueError(f"which must index a verification in [0, {N}), got {which}")
        step = V[:, int(which)]
        return _labels_from(step, valid, _first_zero(step, valid))
    if method in ("meta_critique", "combined"):
        if revised is None:
            raise ValueError(f"method={method!r} needs revised= verifications (M, N', K)")
        R = _binary(revised, "revised")
        if R.ndim != 3 or R.shape[0] != M or R.shape[2] != K:
            raise ValueError(f"revised must have shape ({M}, N', {K}), got {R.shape}")
        pool = R if method == "meta_critique" else np.concatenate([V, R], axis=1)
        step = _majority(pool.sum(1, dtype=np.int64), pool.shape[1], tie)
        return _labels_from(step, valid, _first_zero(step, valid))
    if method == "step_majority":
        step = _majority(V.sum(1, dtype=np.int64), N, tie)
        return _labels_from(step, valid, _first_zero(step, valid))
    # outcome-level majority + location from the first agreeing verification
    first_each = _first_zero(V.reshape(M * N, K), np.repeat(valid, N, axis=0)).reshape(M, N)
    if final_verdicts is None:
        final = (first_each < 0).astype(np.int8)
    else:
        final = _binary(final_verdicts, "final_verdicts")
        if final.shape != (M, N):
            raise ValueError(f"final_verdicts must have shape {(M, N)}, got {final.shape}")
    correct = _majority(final.sum(1, dtype=np.int64), N, tie).astype(bool)
    says_wrong = (final == 0) & (first_each >= 0)
    has = says_wrong.any(1)
    loc = np.where(has, first_each[np.arange(M), np.argmax(says_wrong, axis=1)], K - 1)
    # a majority "incorrect" with no verification locating an error: the last valid step
    last_valid = np.where(valid.any(1), K - 1 - np.argmax(valid[:, ::-1], axis=1), -1)
    loc = np.where(has, loc, last_valid)
    first = np.where(correct, -1, loc).astype(np.int64)
    pos = np.arange(K)
    step = np.where(first[:, None] < 0, 1, (pos[None, :] != first[:, None]).astype(np.int8))
    return _labels_from(step.astype(np.int8), valid, first)


def majority_accuracy(q, n_votes: int, *, tie: str = "incorrect") -> float:
    """Probability that the majority of ``n_votes`` independent verdicts, each right with
    probability ``q``, is right: ``sum_{j > N/2} C(N, j) q^j (1 - q)^(N - j)`` (docs/papers/spark.md claim 1;
    an even-``N`` tie counts as wrong with ``tie="incorrect"``, half with ``"half"``)."""
    from scipy.stats import binom

    N = check_positive_int(n_votes, "n_votes")
    if not 0.0 <= float(q) <= 1.0:
        raise ValueError(f"q must lie in [0, 1], got {q}")
    out = float(binom.sf(N // 2, N, q))
    if N % 2 == 0 and tie == "half":
        out += 0.5 * float(binom.pmf(N // 2, N, q))
    elif tie not in ("incorrect", "half"):
        raise ValueError(f"tie must be 'incorrect' or 'half', got {tie!r}")
    return out


SPARK_REWARDS = ("all", "fraction", "min")


def spark_process_reward(
    step_scores,
    step_mask=None,
    *,
    mode: str = "all",
    final_correct=None,
    format_ok=None,
    max_steps: int | None = None,
    violation_reward: float = 0.0,
) -> np.ndarray:
    """PRM-CoT process rewards per solution (docs/papers/spark.md Stage 3, reconstruction).

    Parameters
    ----------
    step_scores : array_like (rows, K) in [0, 1]
        Step verdicts (0/1) or probabilities from the generative PRM.
    step_mask : array_like (rows, K), optional
    mode : {"all", "fraction", "min"}
        ``"all"``: 1 iff every valid step scores 1 (product for probabilities); ``"fraction"``: mean
        over valid steps; ``"min"``: minimum over valid steps.
    final_correct : array_like (rows,) in [0, 1], optional
        The judged final-answer verdict, multiplied in.
    format_ok : array_like (rows,) bool, optional
        Format check (one boxed answer, no appended problems, ...); violations get ``violation_reward``.
    max_steps : int, optional
        Solutions with more valid steps violate the format (blocks step padding, docs/papers/spark.md claim 3).

    Returns
    -------
    numpy.ndarray (rows,)
    """
    S = as_float_array(step_scores, "step_scores", ndim=2)
    if np.any((S < 0) | (S > 1)):
        raise ValueError("step_scores must lie in [0, 1]")
    valid = np.ones(S.shape, dtype=bool) if step_mask is None else _binary(step_mask, "step_mask").astype(bool)
    if valid.shape != S.shape:
        raise ValueError(f"step_mask must have shape {S.shape}, got {valid.shape}")
    n = valid.sum(1)
    if np.any(n == 0):
        raise ValueError(f"step_mask row {int(np.argmax(n == 0))} has no valid step")
    if mode == "all":
        r = np.prod(np.where(valid, S, 1.0), axis=1)
    elif mode == "fraction":
        r = np.where(valid, S, 0.0).sum(1) / n
    elif mode == "min":
        r = np.where(valid, S, np.inf).min(1)
    else:
        raise ValueError(f"mode must be one of {SPARK_REWARDS}, got {mode!r}")
    if final_correct is not None:
        f = as_float_array(final_correct, "final_correct", ndim=1)
        if f.size != S.shape[0]:
            raise ValueError(f"final_correct must have {S.shape[0]} entries, got {f.size}")
        r = r * f
    bad = np.zeros(S.shape[0], dtype=bool)
    if format_ok is not None:
        ok = np.asarray(format_ok)
        if ok.shape != (S.shape[0],):
            raise ValueError(f"format_ok must have shape ({S.shape[0]},), got {ok.shape}")
        bad |= ~ok.astype(bool)
    if max_steps is not None:
        bad |= n > check_positive_int(max_steps, "max_steps")
    return np.where(bad, float(violation_reward), r)


def _spark_estimator(batch, *, mode="all", max_steps=None, violation_reward=0.0, base="grpo", base_options=None):
    """SPARK: process rewards from PRM step verdicts (``extra['step_scores']`` (rows, K), optional
    ``extra['step_mask']``, ``extra['final_correct']``, ``extra['format_ok']``), then the ``base``
    estimator (``"grpo"`` by default) on those rewards, with ``base_options``; a singleton group
    gets advantage 0 (``singleton="zero"`` is passed unless ``base_options`` sets it)."""
    import torch

    ex = batch.extra
    S = batch.extra_tensor("step_scores", method="spark", ndim=2).cpu().numpy()
    get = lambda k: batch.extra_tensor(k, method="spark").cpu().numpy() if k in ex else None  # noqa: E731
    r = spark_process_reward(
        S,
        get("step_mask"),
        mode=mode,
        final_correct=get("final_correct"),
        format_ok=get("format_ok"),
        max_steps=max_steps,
        violation_reward=violation_reward,
    )
    rt = torch.as_tensor(r, dtype=batch.dtype, device=batch.device)
    return _base_advantages(base, batch, rt, base_options, "spark")


register_estimator(
    "spark",
    _spark_estimator,
    needs=("group_ids", "step_scores"),
    options={"mode": "all", "max_steps": None, "violation_reward": 0.0, "base": "grpo", "base_options": None},
    paper="SPARK, Rahman et al. 2025, arXiv:2512.03244 (docs/papers/spark.md)",
    equation="r = prod_k v_k | mean_k v_k | min_k v_k (format violations -> violation_reward); A = grpo(r)",
)
