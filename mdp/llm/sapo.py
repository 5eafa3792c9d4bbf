"""SAPO, swarm sampling policy optimisation (Gensyn AI Team 2025, arXiv:2509.08721; ``docs/papers/sapo.md``):
nodes share decoded rollouts, each trains on its local plus external groups re-scored with its own
reward, on a toy swarm of tabular softmax policies (one process, or one Dask task per node). (Not TRL's
``loss_type="sapo"``, Soft Adaptive Policy Optimization, which is a different method.)

Toy (a **reconstruction** of the notes' CPU lab): ``Q`` questions in ``F`` task families, ``A``
candidate answers per question, node ``n``'s reward table ``rho_n[q, a]`` (default: 1 for the correct
answer, else 0, the same for every node). Node ``n`` has a tabular policy ``pi_n(a | q) =
softmax(theta_n[q])``; its initial logits favour the correct answers of its own "easy" families. A
round (docs/papers/sapo.md, steps 1-5), synchronous here:

1. every node draws ``I`` questions and ``L`` answers per question from its policy and publishes the
   groups (question, answers, and its own probabilities of them, used only by the importance-weighted
   variant);
2. every node draws ``J`` external groups uniformly from the other nodes' publications of this
   round, after dropping those whose answers all get one reward under its own ``rho_n`` (they carry
   zero GRPO advantage);
3. all its groups are re-scored with ``rho_n`` and get GRPO advantages (registered ``"sapo"``);
4. one policy-gradient step ``theta_n[q] += lr / (n_groups L) sum_i A_i (e_{a_i} - pi_n(. | q))``:
   external answers are treated as if ``pi_n`` had sampled them (the paper's on-policy treatment),
   or weighted by ``min(pi_n / pi_m, c)`` (``weighting="importance"``).
"""

from __future__ import annotations

import numpy as np
import torch

from mdp._common import result
from mdp._validation import as_float_array, check_positive_int, check_real, check_rng
from mdp.llm.registry import register_estimator

__all__ = [
    "SwarmTask",
    "make_swarm_task",
    "sapo_advantages",
    "generate_groups",
    "filter_zero_variance",
    "node_update",
    "SwarmResult",
    "sapo_swarm",
]

WEIGHTINGS = ("onpolicy", "importance")


def sapo_advantages(
    batch, *, weighting="onpolicy", is_clip=2.0, convention="verl", epsilon=None, std_ddof=None, singleton="zero"
):
    """SAPO: GRPO advantages of a node's pooled local and external groups, re-scored with its own reward.

    ``rewards`` must already be the *local* re-scoring; ``group_ids`` one id per shared item. With
    ``weighting="onpolicy"`` (the paper's treatment of external text) this is the registry's ``grpo``
    (``convention``, ``epsilon``, ``std_ddof``; one-row groups get 0). ``weighting="importance"``
    multiplies each row by the truncated ratio ``min(exp(local_logprobs - behavior_logprobs), is_clip)``
    (``extra["local_logprobs"]``, ``extra["behavior_logprobs"]``: sequence log-probabilities under the
    training node and the node that generated the row; equal for local rows), the comparison of
    docs/papers/sapo.md claim 3.
    """
    from mdp.llm.registry import compute_advantages

    if weighting not in WEIGHTINGS:
        raise ValueError(f"sapo: weighting must be one of {list(WEIGHTINGS)}, got {weighting!r}")
    a = compute_advantages(
        "grpo", batch, convention=convention, epsilon=epsilon, std_ddof=std_ddof, singleton=singleton
    )
    if weighting == "onpolicy":
        return a
    c = float(is_clip)
    if not c > 0:
        raise ValueError(f"sapo: is_clip must be > 0, got {is_clip!r}")
    lw = batch.extra_tensor("local_logprobs", method="sapo", ndim=1) - batch.extra_tensor(
        "behavior_logprobs", method="sapo", ndim=1
    )
    return a * torch.exp(lw).clamp(max=c)


register_estimator(
    "sapo",
    sapo_advantages,
    needs=("group_ids",),
    options={
        "weighting": "onpolicy",
        "is_clip": 2.0,
        "convention": "verl",
        "epsilon": None,
        "std_ddof": None,
        "singleton": "zero",
    },
    option_needs={"weighting": {"importance": ("local_logprobs", "behavior_logprobs")}},
    paper="SAPO, Gensyn AI Team 2025, arXiv:2509.08721 (docs/papers/sapo.md)",
    equation="A_i = (rho_n(y_i) - mean_g) / (std_g + eps) over local + external groups; x min(pi_n/pi_m, c) if importance",
    claims=("SA1",),
)


@result
class SwarmTask:
    """A toy swarm problem (module docstring).

    Attributes
    ----------
    rewards : numpy.ndarray (N, Q, A)
        Reward table of each node (its local re-scoring function).
    correct : numpy.ndarray (Q,) int64
        Correct answer of each question.
    family : numpy.ndarray (Q,) int64
        Task family of each question.
    init_logits : numpy.ndarray (N, Q, A)
        Initial policy logits of each node.
    easy : numpy.ndarray (N, F) bool
        The families each node starts good at.
    """

    rewards: np.ndarray
    correct: np.ndarray
    family: np.ndarray
    init_logits: np.ndarray
    easy: np.ndarray

    @property
    def n_nodes(self) -> int:
        """Number of nodes ``N``."""
        return int(self.rewards.shape[0])

    @property
    def n_questions(self) -> int:
        """Number of questions ``Q``."""
        return int(self.rewards.shape[1])


def make_swarm_task(
    *,
    n_nodes: int = 5,
    n_families: int = 9,
    questions_per_family: int = 4,
    n_answers: int = 16,
    easy_families: int = 3,
    easy_bonus: float = 2.0,
    init_scale: float = 0.5,
    rng,
) -> SwarmTask:
    """Random swarm task: correct answers uniform, logits ``N(0, init_scale^2)``, ``+easy_bonus`` on the
    correct answer of the ``easy_families`` families drawn for each node (docs/papers/sapo.md CPU lab)."""
    rng = check_rng(rng)
    N = check_positive_int(n_nodes, "n_nodes", minimum=2)
    F = check_positive_int(n_families, "n_families")
    qpf = check_positive_int(questions_per_family, "questions_per_family")
    A = check_positive_int(n_answers, "n_answers", minimum=2)
    e = check_positive_int(easy_families, "easy_families", minimum=0)
    if e > F:
        raise ValueError(f"easy_families ({e}) exceeds n_families ({F})")
    bonus = check_real(easy_bonus, "easy_bonus")
    scale = check_real(init_scale, "init_scale", "[0, inf)")
    Q = F * qpf
    family = np.repeat(np.arange(F), qpf)
    correct = rng.integers(0, A, size=Q)
    rew = np.zeros((Q, A))
    rew[np.arange(Q), correct] = 1.0
    easy = np.zeros((N, F), dtype=bool)
    logits = scale * rng.standard_normal((N, Q, A))
    for n in range(N):
        easy[n, rng.choice(F, size=e, replace=False)] = True
        q = np.nonzero(easy[n, family])[0]
        logits[n, q, correct[q]] += bonus
    return SwarmTask(np.broadcast_to(rew, (N, Q, A)).copy(), correct.astype(np.int64), family, logits, easy)


def _softmax(z: np.ndarray) -> np.ndarray:
    p = np.exp(z - z.max(-1, keepdims=True))
    return p / p.sum(-1, keepdims=True)


def generate_groups(theta, n_items: int, group_size: int, *, rng) -> dict:
    """Step 1: ``n_items`` distinct questions (uniform) and ``group_size`` answers each from
    ``softmax(theta[q])``; returns ``{"q": (I,), "answers": (I, L), "logp": (I, L)}`` (the generator's
    log-probabilities of its answers)."""
    th = as_float_array(theta, "theta", ndim=2)
    rng = check_rng(rng)
    Q = th.shape[0]
    I = check_positive_int(n_items, "n_items", minimum=0)
    L = check_positive_int(group_size, "group_size", minimum=2)
    if I > Q:
        raise ValueError(f"n_items ({I}) exceeds the number of questions ({Q})")
    q = rng.choice(Q, size=I, replace=False)
    p = _softmax(th[q])  # (I, A)
    u = rng.random((I, L))
    ans = (p.cumsum(1)[:, None, :] < u[..., None]).sum(-1).clip(max=th.shape[1] - 1)
    logp = np.log(np.take_along_axis(p, ans, 1))
    return {"q": q.astype(np.int64), "answers": ans.astype(np.int64), "logp": logp}


def filter_zero_variance(groups: dict, rewards) -> np.ndarray:
    """Step 3's filter: indices of the groups whose answers do not all get one reward under the
    table ``rewards`` ``(Q, A)`` (zero-variance groups have zero GRPO advantage, docs/papers/sapo.md claim 2)."""
    R = np.asarray(rewards)
    r = R[groups["q"][:, None], groups["answers"]]
    return np.nonzero(np.ptp(r, axis=1) > 0)[0] if r.size else np.zeros(0, dtype=np.int64)


def node_update(theta, rewards, groups: dict, *, learning_rate: float, weighting: str = "onpolicy", is_clip=2.0):
    """Steps 3-4 for one node: re-score ``groups`` (pooled local and external: ``q`` ``(n,)``,
    ``answers`` ``(n, L)``, ``logp`` ``(n, L)`` the generators' log-probabilities) with ``rewards``
    ``(Q, A)``, GRPO advantages by the registered ``"sapo"``, one policy-gradient step on ``theta``
    ``(Q, A)``. Returns ``(new theta, advantages (n, L))``."""
    from mdp.llm import RolloutBatch, compute_advantages

    th = np.array(as_float_array(theta, "theta", ndim=2))
    n, L = groups["answers"].shape
    if n == 0:
        return th, np.zeros((0, L))
    q = groups["q"]
    ans = groups["answers"]
    r = np.asarray(rewards)[q[:, None], ans]
    pi = _softmax(th[q])  # (n, A)
    extra = {}
    if weighting == "importance":
        extra = {
            "local_logprobs": np.log(np.take_along_axis(pi, ans, 1)).ravel(),
            "behavior_logprobs": groups["logp"].ravel(),
        }
    batch = RolloutBatch(rewards=r.ravel(), group_ids=np.repeat(np.arange(n), L), extra=extra)
    a = compute_advantages("sapo", batch, weighting=weighting, is_clip=is_clip).numpy().reshape(n, L)
    grad = np.zeros_like(th)
    for i in range(n):  # sum_l A_l (e_{a_l} - pi(. | q))
        g = -a[i].sum() * pi[i]
        np.add.at(g, ans[i], a[i])
        grad[q[i]] += g
    return th + learning_rate * grad / (n * L), a


def _generate_task(args):
    theta, I, L, seed = args
    return generate_groups(theta, I, L, rng=np.random.default_rng(seed))


def _train_task(args):
    theta, rewards, own, pool, J, filt, lr, weighting, is_clip, seed = args
    rng = np.random.default_rng(seed)
    ext = {k: v[:0] for k, v in own.items()}
    if J > 0 and pool["q"].size:
        keep = filter_zero_variance(pool, rewards) if filt else np.arange(pool["q"].size)
        if keep.size:
            pick = keep[rng.choice(keep.size, size=min(J, keep.size), replace=False)]
            ext = {k: v[pick] for k, v in pool.items()}
    groups = {k: np.concatenate([own[k], ext[k]]) for k in own}
    theta, _ = node_update(theta, rewards, groups, learning_rate=lr, weighting=weighting, is_clip=is_clip)
    return theta, int(ext["q"].size)


@result
class SwarmResult:
    """Output of :func:`sapo_swarm`.

    Attributes
    ----------
    expected_reward : numpy.ndarray (n_rounds + 1, N)
        Each node's exact expected reward ``mean_q sum_a pi_n(a | q) rho_n(q, a)`` before each round
        (and after the last).
    local_reward : numpy.ndarray (n_rounds, N)
        Mean reward of each node's own rollouts in each round (``nan`` when ``I = 0``).
    n_external : numpy.ndarray (n_rounds, N) int64
        External groups each node trained on (fewer than ``J`` when the filtered pool was smaller).
    cumulative_reward : numpy.ndarray (N,)
        ``sum`` over rounds of ``expected_reward`` (rounds 1..n_rounds).
    theta : numpy.ndarray (N, Q, A)
        Final logits.
    """

    expected_reward: np.ndarray
    local_reward: np.ndarray
    n_external: np.ndarray
    cumulative_reward: np.ndarray
    theta: np.ndarray


def sapo_swarm(
    task: SwarmTask,
    *,
    local_items: int,
    external_items: int,
    n_rounds: int,
    group_size: int = 8,
    learning_rate: float = 1.0,
    weighting: str = "onpolicy",
    is_clip: float = 2.0,
    drop_zero_variance: bool = True,
    client=None,
    rng,
) -> SwarmResult:
    """Run a SAPO swarm for ``n_rounds`` synchronous rounds (module docstring).

    Parameters
    ----------
    task : SwarmTask
    local_items, external_items : int
        ``I`` and ``J`` (the paper's configurations: 8/0, 6/2, 4/4, 2/6).
    n_rounds : int
    group_size : int
        ``L`` answers per question.
    learning_rate : float
    weighting : {"onpolicy", "importance"}
        Treatment of external answers (see the ``"sapo"`` estimator).
    drop_zero_variance : bool
        Drop external groups with one reward under the receiving node's reward (step 2).
    client : dask.distributed.Client, optional
        Run each round's per-node generation and training as Dask tasks (``client.map``); the result
        is identical to the in-process run (every node's randomness comes from its own seed).
    rng : numpy.random.Generator
    """
    if not isinstance(task, SwarmTask):
        raise TypeError(f"task must be a SwarmTask, got {type(task).__name__}")
    rng = check_rng(rng)
    I = check_positive_int(local_items, "local_items", minimum=0)
    J = check_positive_int(external_items, "external_items", minimum=0)
    if I + J == 0:
        raise ValueError("local_items + external_items must be >= 1")
    if I == 0 and J > 0:
        raise ValueError("local_items must be >= 1 when sharing (a node publishes its local groups)")
    R = check_positive_int(n_rounds, "n_rounds", minimum=0)
    L = check_positive_int(group_size, "group_size", minimum=2)
    lr = check_real(learning_rate, "learning_rate", "(0, inf)")
    if weighting not in WEIGHTINGS:
        raise ValueError(f"weighting must be one of {list(WEIGHTINGS)}, got {weighting!r}")
    check_real(is_clip, "is_clip", "(0, inf)")
    N, Q = task.n_nodes, task.n_questions
    if I > Q:
        raise ValueError(f"local_items ({I}) exceeds the number of questions ({Q})")
    root = int(rng.integers(2**62))

    def seed(r, n, phase):
        return np.random.SeedSequence([root, r, n, phase])

    run = (
        (lambda f, xs: list(map(f, xs)))
        if client is None
        else (lambda f, xs: client.gather(client.map(f, xs, pure=False)))
    )
    theta = [np.array(task.init_logits[n]) for n in range(N)]
    rewards = [np.asarray(task.rewards[n]) for n in range(N)]

    def expected():
        return [float((_softmax(theta[n]) * rewards[n]).sum(1).mean()) for n in range(N)]

    exp_r = [expected()]
    local_r = np.full((R, N), np.nan)
    n_ext = np.zeros((R, N), dtype=np.int64)
    for r in range(R):
        pubs = run(_generate_task, [(theta[n], I, L, seed(r, n, 0)) for n in range(N)])
        for n in range(N):
            if I:
                local_r[r, n] = float(rewards[n][pubs[n]["q"][:, None], pubs[n]["answers"]].mean())
        tasks = []
        for n in range(N):
            others = [pubs[m] for m in range(N) if m != n]
            pool = {k: np.concatenate([o[k] for o in others]) for k in pubs[n]}
            tasks.append(
                (
                    theta[n],
                    rewards[n],
                    pubs[n],
                    pool,
                    J,
                    bool(drop_zero_variance),
                    lr,
                    weighting,
                    is_clip,
                    seed(r, n, 1),
                )
            )
        out = run(_train_task, tasks)
        theta = [o[0] for o in out]
        n_ext[r] = [o[1] for o in out]
        exp_r.append(expected())
    exp_r = np.asarray(exp_r)
    return SwarmResult(exp_r, local_r, n_ext, exp_r[1:].sum(0), np.stack(theta))
