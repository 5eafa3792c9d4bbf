"""Multi-turn rollouts of a causal language model in a toy environment (TRL ``rollout_func``).

:class:`ToyEnvRollout` plays one episode of a ``mdp.llm.toy_envs.ToyEnv`` (e.g. the corridor
of ``docs/papers/gigpo.md``) per rollout row: at every turn the model reads the conversation so
far (prompt, its earlier actions, the environment's observations), generates a few tokens, the
text is parsed into an action, the environment steps, and the next observation is appended as
*environment* tokens (``env_mask = 0``: in the context, not in the loss). It returns what TRL's
``GRPOTrainer(rollout_func=...)`` expects (``prompt_ids``, ``completion_ids``, ``logprobs``,
``env_mask``) plus the turn records (:data:`mdp.llm.integrations.common.TURNS_KEY`) from which
``mdp.llm.integrations.trl.RlabGRPOTrainer`` builds one step row per turn for GiGPO, HGPO or
SALT and spreads each step advantage over that turn's tokens.

Dynamics follow ``mdp.llm.toy_envs.rollout``: the executed action is the chosen one with
probability ``1 - slip`` (else uniform), the episode ends on entering a terminal state, is cut off
with probability ``1 - gamma`` after every step (the environment's discount as a stochastic turn
budget), or after ``max_turns`` turns. The start state of a row is a deterministic function of its
prompt (``stable_hash(prompt) mod len(env.start_states)``), so the ``num_generations`` rows of one
prompt start together even when TRL spreads them over processes.

Only the trainer attributes ``model``, ``processing_class``, ``accelerator`` and (optionally)
``temperature``, ``top_k``, ``top_p`` are read; generation uses the model's HF ``generate``
(vLLM generation is not wired here).
"""

from __future__ import annotations

import math

import numpy as np

from mdp._validation import check_positive_int, check_rng
from mdp.llm.integrations.common import TURNS_KEY

__all__ = ["ToyEnvRollout", "turn_reward_sum", "parse_action"]


def parse_action(text: str, words=("left", "stay", "right")):
    """Action index named by ``text``: its first word (or first letter) among ``words``; ``None`` if none.

    >>> parse_action("right now"), parse_action(" l"), parse_action("?")
    (2, 0, None)
    """
    t = text.strip().lower()
    if not t:
        return None
    first = t.split()[0]
    for i, w in enumerate(words):
        if first == w:
            return i
    for i, w in enumerate(words):
        if t[0] == w[0]:
            return i
    return None


def turn_reward_sum(prompts=None, completions=None, **kwargs):
    """TRL reward function: the episode return (sum of the recorded turn rewards) of every row.

    Use it as ``reward_funcs=[turn_reward_sum]`` when the environment's rewards are the whole
    reward (:func:`mdp.llm.integrations.common.turn_batch` then keeps them unchanged per turn).
    """
    turns = kwargs.get(TURNS_KEY)
    if turns is None:
        raise ValueError(f"turn_reward_sum needs the {TURNS_KEY!r} records of a ToyEnvRollout rollout")
    return [float(sum(rec["rewards"])) for rec in turns]


class ToyEnvRollout:
    """A TRL ``rollout_func`` playing a ``ToyEnv`` for several turns per row.

    Parameters
    ----------
    env : ToyEnv
        E.g. ``mdp.llm.toy_envs.corridor(4)``.
    rng : numpy.random.Generator
        Slip and cut-off draws (token sampling uses torch's generator).
    max_turns : int >= 1
        Turn cap per episode (default 8).
    max_new_tokens : int >= 1
        Tokens the model may generate per turn (default 2).
    action_words : tuple of str
        Names of the actions in order (default: the corridor's ``("left", "stay", "right")``).
    invalid_action : int or None
        Executed action when the text names none (default 1, "stay"); ``None`` ends the episode
        with reward ``invalid_reward``.
    invalid_reward : float
        Reward of an unparsable turn (default 0).
    observation_template : str
        Text appended after every turn, formatted with ``label`` (the state's label) and ``turn``.

    Notes
    -----
    Returns per call ``{"prompt_ids", "completion_ids", "logprobs": None, "env_mask",
    "rlab_turns"}``; the turn record of a row holds the token ``spans`` of its model turns, the
    immediate ``rewards``, ``observation_keys`` (``env.observation_keys`` of the state acted on),
    ``action_keys`` (executed action) and ``states``. Cost: one ``generate`` call per turn for all
    live rows of the batch (left-padded).
    """

    def __init__(
        self,
        env,
        *,
        rng: np.random.Generator,
        max_turns: int = 8,
        max_new_tokens: int = 2,
        action_words=("left", "stay", "right"),
        invalid_action: int | None = 1,
        invalid_reward: float = 0.0,
        observation_template: str = " {label}:",
    ):
        from mdp.llm.toy_envs import ToyEnv

        if not isinstance(env, ToyEnv):
            raise TypeError(f"env must be a ToyEnv (e.g. mdp.llm.toy_envs.corridor()), got {type(env).__name__}")
        self.env = env
        self.rng = check_rng(rng)
        self.max_turns = check_positive_int(max_turns, "max_turns")
        self.max_new_tokens = check_positive_int(max_new_tokens, "max_new_tokens")
        words = tuple(action_words)
        if len(words) != env.n_actions or not all(isinstance(w, str) and w for w in words):
            raise ValueError(
                f"action_words must name the {env.n_actions} actions (non-empty str), got {action_words!r}"
            )
        self.action_words = words
        if invalid_action is not None and (
            isinstance(invalid_action, bool)
            or not isinstance(invalid_action, int)
            or not 0 <= invalid_action < len(words)
        ):
            raise ValueError(
                f"invalid_action must be None or an action index in [0, {len(words)}), got {invalid_action!r}"
            )
        self.invalid_action = invalid_action
        if (
            isinstance(invalid_reward, bool)
            or not isinstance(invalid_reward, (int, float))
            or not math.isfinite(invalid_reward)
        ):
            raise TypeError(f"invalid_reward must be a finite number, got {invalid_reward!r}")
        self.invalid_reward = float(invalid_reward)
        if not isinstance(observation_template, str):
            raise TypeError("observation_template must be a str")
        self.observation_template = observation_template
        self.__name__ = "ToyEnvRollout"

    # ------------------------------------------------------------------------------------------
    def start_state(self, prompt) -> int:
        """Start state of a prompt (deterministic: every row of a group starts in the same state)."""
        from mdp.llm.batch import stable_hash

        key = prompt if isinstance(prompt, str) else repr(prompt)
        k = stable_hash(key) % len(self.env.start_states)
        return int(self.env.start_states[k])

    def observation(self, state: int, turn: int) -> str:
        """Text of the observation of ``state`` (appended to the context)."""
        return self.observation_template.format(label=self.env.labels[state], turn=turn)

    def _generate(self, trainer, contexts):
        import torch

        tok = trainer.processing_class
        pad = tok.pad_token_id
        eos = tok.eos_token_id
        model = trainer.accelerator.unwrap_model(trainer.model)
        device = next(model.parameters()).device
        width = max(len(c) for c in contexts)
        ids = torch.full((len(contexts), width), pad, dtype=torch.long)
        att = torch.zeros((len(contexts), width), dtype=torch.long)
        for i, c in enumerate(contexts):
            ids[i, width - len(c) :] = torch.tensor(c, dtype=torch.long)
            att[i, width - len(c) :] = 1
        kw = {"do_sample": True, "temperature": float(getattr(trainer, "temperature", 1.0) or 1.0)}
        if getattr(trainer, "top_k", None):
            kw["top_k"] = trainer.top_k
        if getattr(trainer, "top_p", None) is not None:
            kw["top_p"] = trainer.top_p
        was_training = model.training
        model.eval()
        try:
            with torch.no_grad():
                out = model.generate(
                    input_ids=ids.to(device),
                    attention_mask=att.to(device),
                    max_new_tokens=self.max_new_tokens,
                    pad_token_id=pad,
                    eos_token_id=eos,
                    **kw,
                )
        finally:
            model.train(was_training)
        new = out[:, width:].tolist()
        res = []
        for seq in new:
            cut = []
            for t in seq:
                if t == pad and t != eos:
                    break
                cut.append(int(t))
                if t == eos:
                    break
            res.append(cut or [int(eos)])
        return res

    def __call__(self, prompts, trainer) -> dict:
        """Play one episode per prompt; return TRL's rollout dict (class docstring)."""
        env = self.env
        tok = trainer.processing_class
        n = len(prompts)
        prompt_ids = []
        for p in prompts:
            text = p if isinstance(p, str) else tok.apply_chat_template(p, tokenize=False, add_generation_prompt=True)
            prompt_ids.append(list(tok(text, add_special_tokens=False)["input_ids"]))
        state = [self.start_state(p) for p in prompts]
        # the first observation closes the prompt
        for i in range(n):
            prompt_ids[i] += list(tok(self.observation(state[i], 0), add_special_tokens=False)["input_ids"])
        completion = [[] for _ in range(n)]
        env_mask = [[] for _ in range(n)]
        turns = [
            {"spans": [], "rewards": [], "observation_keys": [], "action_keys": [], "states": []} for _ in range(n)
        ]
        alive = [not bool(env.terminal[s]) for s in state]
        p_exec_uniform = env.slip
        for t in range(self.max_turns):
            live = [i for i in range(n) if alive[i]]
            if not live:
                break
            gen = self._generate(trainer, [prompt_ids[i] + completion[i] for i in live])
            for i, toks in zip(live, gen):
                s = state[i]
                start = len(completion[i])
                completion[i] += toks
                env_mask[i] += [1] * len(toks)
                a = parse_action(tok.decode(toks, skip_special_tokens=True), self.action_words)
                rec = turns[i]
                rec["spans"].append((start, start + len(toks)))
                rec["observation_keys"].append(int(env.observation_keys[s]))
                rec["states"].append(int(s))
                if a is None and self.invalid_action is None:
                    rec["rewards"].append(self.invalid_reward)
                    rec["action_keys"].append(-1)
                    alive[i] = False
                    continue
                if a is None:
                    a = self.invalid_action
                    bonus = self.invalid_reward
                else:
                    bonus = 0.0
                e = a
                if p_exec_uniform > 0 and self.rng.random() < p_exec_uniform:
                    e = int(self.rng.integers(0, env.n_actions))
                s2 = int(env.next_state[s, e])
                rec["rewards"].append(float(env.reward[s, e]) + bonus)
                rec["action_keys"].append(int(e))
                state[i] = s2
                done = bool(env.terminal[s2]) or self.rng.random() >= env.gamma or t == self.max_turns - 1
                if done:
                    alive[i] = False
                else:
                    obs = list(tok(self.observation(s2, t + 1), add_special_tokens=False)["input_ids"])
                    completion[i] += obs
                    env_mask[i] += [0] * len(obs)
        return {
            "prompt_ids": prompt_ids,
            "completion_ids": completion,
            "logprobs": None,
            "env_mask": env_mask,
            TURNS_KEY: turns,
        }
