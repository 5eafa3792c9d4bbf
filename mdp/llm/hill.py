"""HiLL, learning to hint (Xia et al. 2026, arXiv:2604.00698; ``docs/papers/hill.md``): hint rewards
from the non-degeneracy of hinted groups and the reliance of answers on the hint."""

from __future__ import annotations

import numpy as np

from mdp._common import result
from mdp._validation import as_float_array
from mdp.llm._preference import _base_advantages
from mdp.llm.registry import register_estimator

__all__ = ["HintReward", "hint_reliance", "hill_hint_reward", "hill_replace_groups"]


HILL_REWARDS = ("transfer_weighted_non_deg", "non_deg", "variance", "transfer_weighted_variance")


@result
class HintReward:
    """:func:`hill_hint_reward` output, one entry per hint (``(H,)`` arrays): ``reward``,
    ``base_term`` (non-degeneracy or variance), ``weight`` (transfer weight, 1 when unused),
    ``p_hat`` (fraction of correct hinted rollouts), ``zero_variance`` (all hinted rollouts equal),
    ``gated`` (parse failure / answer leak: reward = gate penalty)."""

    reward: np.ndarray
    base_term: np.ndarray
    weight: np.ndarray
    p_hat: np.ndarray
    zero_variance: np.ndarray
    gated: np.ndarray


def hint_reliance(logp_plain, logp_hint, response_mask):
    """Hint reliance ``Delta(y) = mean_t log pi(y_t | q, y_<t) - mean_t log pi(y_t | q, h, y_<t)``
    per row (docs/papers/hill.md step 5; ``<= 0`` when the hint makes ``y`` more likely). torch ``(rows,)``.

    By the change of measure (docs/papers/hill.md claim 1), ``pi(y | q) = pi(y | q, h) exp(|y| Delta(y))``.
    """
    import torch

    from mdp.llm.bpo import _float, _tensor

    a = _float(logp_plain, "logp_plain")
    b = _float(logp_hint, "logp_hint").to(a.dtype)
    m = _tensor(response_mask, "response_mask").to(a.dtype)
    if a.dim() != 2 or a.shape != b.shape or a.shape != m.shape:
        raise ValueError(
            f"logp_plain, logp_hint and response_mask must share a (rows, tokens) shape, got "
            f"{tuple(a.shape)}, {tuple(b.shape)}, {tuple(m.shape)}"
        )
    L = m.sum(1)
    if bool((L == 0).any()):
        raise ValueError(f"response_mask row {int(torch.nonzero(L == 0)[0])} has no valid token")
    return ((a - b) * m).sum(1) / L


def hill_hint_reward(
    rollout_rewards,
    *,
    reliance=None,
    reward_type: str = "transfer_weighted_non_deg",
    temperature: float = 0.3,
    positive_threshold: float = 0.5,
    parsed=None,
    passed=None,
    gate_penalty: float = -0.2,
    original_base_term=0.0,
) -> HintReward:
    """HiLL hint rewards for ``H`` hints, each re-rolled ``n`` times (docs/papers/hill.md step 6, confirmed code).

    ``p = mean(rewards > positive_threshold)``; base term ``1 - p^n - (1 - p)^n`` ("non_deg") or
    ``p(1 - p)`` ("variance"); transfer weight ``w = exp(min(Delta_bar, 0) / T)`` with ``Delta_bar`` the
    mean reliance over the *correct* hinted rollouts (``w = 1`` when none is correct or ``reliance`` is
    not given); ``R = base * w`` for the ``transfer_weighted_*`` types. ``R = 0`` when the base term does
    not exceed ``original_base_term`` (0 for an all-incorrect question); hints failing the ``parsed`` /
    ``passed`` (no answer leak) gates get ``gate_penalty``.

    Parameters
    ----------
    rollout_rewards : array_like (H, n)
    reliance : array_like (H,) (``Delta_bar`` per hint) or (H, n) (``Delta(y)`` per rollout), optional
    """
    R = as_float_array(rollout_rewards, "rollout_rewards", ndim=2)
    H, n = R.shape
    if H == 0 or n == 0:
        raise ValueError(f"rollout_rewards must be non-empty (hints, rollouts), got shape {R.shape}")
    if reward_type not in HILL_REWARDS:
        raise ValueError(f"reward_type must be one of {HILL_REWARDS}, got {reward_type!r}")
    if not float(temperature) > 0:
        raise ValueError(f"temperature must be > 0, got {temperature}")
    correct = R > positive_threshold
    p = correct.mean(1)
    base = 1.0 - p**n - (1.0 - p) ** n if reward_type.endswith("non_deg") else p * (1 - p)
    base = np.where((p == 0) | (p == 1), 0.0, base)
    w = np.ones(H)
    if reward_type.startswith("transfer_weighted") and reliance is not None:
        D = as_float_array(reliance, "reliance")
        if D.shape == (H, n):
            cnt = correct.sum(1)
            Dbar = np.divide(np.where(correct, D, 0.0).sum(1), cnt, out=np.zeros(H), where=cnt > 0)
            use = cnt > 0
        elif D.shape == (H,):
            Dbar, use = D, correct.any(1)
        else:
            raise ValueError(f"reliance must have shape ({H},) or ({H}, {n}), got {D.shape}")
        w = np.where(use, np.exp(np.minimum(Dbar, 0.0) / float(temperature)), 1.0)
    reward = np.where(base > np.asarray(original_base_term, dtype=float), base * w, 0.0)
    gated = np.zeros(H, dtype=bool)
    for name, g in (("parsed", parsed), ("passed", passed)):
        if g is not None:
            ga = np.asarray(g)
            if ga.shape != (H,):
                raise ValueError(f"{name} must have shape ({H},), got {ga.shape}")
            gated |= ~ga.astype(bool)
    reward = np.where(gated, float(gate_penalty), reward)
    return HintReward(reward, base, w, p, np.all(R == R[:, :1], axis=1), gated)


def hill_replace_groups(rewards, hint_rollout_rewards, hint_scores, *, positive_threshold: float = 0.5):
    """Replace all-incorrect groups by their best hint's rollouts (docs/papers/hill.md step 7).

    Parameters
    ----------
    rewards : array_like (Q, n)
        Original rollouts' rewards per question.
    hint_rollout_rewards : array_like (Q, M, n)
        Rewards of the ``n`` re-rolls under each of ``M`` hints (ignored for questions that are not
        all-incorrect).
    hint_scores : array_like (Q, M)
        ``R(h)`` from :func:`hill_hint_reward`.

    Returns
    -------
    (new_rewards (Q, n), chosen (Q,) int64 hint index or -1, replaced (Q,) bool)
        A hard question (all rewards ``<= positive_threshold``) takes the rollouts of its
        highest-scoring hint (first on ties) when that hint's group has mixed outcomes (base term > 0).
    """
    r = as_float_array(rewards, "rewards", ndim=2)
    Hr = as_float_array(hint_rollout_rewards, "hint_rollout_rewards", ndim=3)
    S = as_float_array(hint_scores, "hint_scores", ndim=2)
    Q, n = r.shape
    if Hr.shape[0] != Q or Hr.shape[2] != n:
        raise ValueError(f"hint_rollout_rewards must have shape ({Q}, M, {n}), got {Hr.shape}")
    if S.shape != Hr.shape[:2]:
        raise ValueError(f"hint_scores must have shape {Hr.shape[:2]}, got {S.shape}")
    hard = np.all(r <= positive_threshold, axis=1)
    best = np.argmax(S, axis=1)
    hb = Hr[np.arange(Q), best]
    c = hb > positive_threshold
    mixed = c.any(1) & ~c.all(1)
    replaced = hard & mixed
    new = np.where(replaced[:, None], hb, r)
    return new, np.where(replaced, best, -1).astype(np.int64), replaced


def _hill_estimator(
    batch,
    *,
    reward_type="transfer_weighted_non_deg",
    temperature=0.3,
    positive_threshold=0.5,
    gate_penalty=-0.2,
    base="grpo",
    base_options=None,
):
    """HiLL (hinter side): rows are hints, groups are questions; ``R(h)`` from
    ``extra['hint_rollout_rewards']`` (rows, n) and optional ``extra['hint_reliance']`` (rows,) or
    (rows, n), ``extra['hint_parsed']``, ``extra['hint_passed']``; then ``base`` (GRPO) over hints
    with ``base_options``; a question with a single hint gets advantage 0 (``singleton="zero"`` is
    passed unless ``base_options`` sets it)."""
    import torch

    ex = batch.extra
    R = batch.extra_tensor("hint_rollout_rewards", method="hill", ndim=2).cpu().numpy()
    get = lambda k: batch.extra_tensor(k, method="hill").cpu().numpy() if k in ex else None  # noqa: E731
    hr = hill_hint_reward(
        R,
        reliance=get("hint_reliance"),
        reward_type=reward_type,
        temperature=temperature,
        positive_threshold=positive_threshold,
        parsed=get("hint_parsed"),
        passed=get("hint_passed"),
        gate_penalty=gate_penalty,
    )
    rt = torch.tensor(hr.reward, dtype=batch.dtype, device=batch.device)  # a copy: result arrays are read-only
    return _base_advantages(base, batch, rt, base_options, "hill")


register_estimator(
    "hill",
    _hill_estimator,
    needs=("group_ids", "hint_rollout_rewards"),
    options={
        "reward_type": "transfer_weighted_non_deg",
        "temperature": 0.3,
        "positive_threshold": 0.5,
        "gate_penalty": -0.2,
        "base": "grpo",
        "base_options": None,
    },
    paper="HiLL, Xia et al. 2026, arXiv:2604.00698 (docs/papers/hill.md)",
    equation="R(h) = [1 - p^n - (1-p)^n] exp(min(Delta_bar, 0)/T); A = grpo(R) over the hints of a question",
)
