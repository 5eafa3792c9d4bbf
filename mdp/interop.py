"""Gymnasium interop: toy-text transition tables in, Gymnasium environments out.

* :func:`from_gymnasium` reads the transition table ``env.unwrapped.P`` of a toy-text environment
  (FrozenLake, Taxi, CliffWalking, or any environment that exposes the same table) and builds a
  :class:`~mdp.TabularMDP`.
* :func:`to_gymnasium` (the class ``TabularEnv``) exposes a :class:`~mdp.TabularMDP` as a
  ``gymnasium.Env`` with ``Discrete`` observation and action spaces; it passes
  ``gymnasium.utils.env_checker.check_env``.

``gymnasium`` is imported inside the functions (and on first access to ``TabularEnv``), so
``import mdp`` does not load it.

Terminal convention (:func:`from_gymnasium`)
--------------------------------------------
A toy-text table lists, for each ``(s, a)``, branches ``(prob, next_state, reward, terminated)``.
A branch with ``terminated=True`` ends the episode *after* paying its reward. The model routes it
to one extra absorbing state, index ``n = len(env.P)``, whose every action loops to itself with
reward 0; so ``v[s]`` for ``s < n`` is the expected discounted return of an episode started in
``s`` (the reward of the terminal step counted, nothing after it). The absorbing state is
appended only when the table has at least one terminal branch (``v[n] = 0``). Routing to a
separate state rather than making ``next_state`` absorbing matters: in Taxi the state reached by
the final drop-off is also an ordinary state of other episodes' tables, and in CliffWalking the
goal state has ordinary (never used) moves of its own. Rewards are the expectations
``R[s, a] = sum_i prob_i reward_i``; repeated ``next_state`` entries are summed.
"""

from __future__ import annotations

import numbers

import numpy as np

from mdp._common.sampling import cumulative_rows
from mdp._validation import as_float_array, check_gamma, check_positive_int
from mdp.model import TabularMDP

__all__ = ["from_gymnasium", "to_gymnasium", "TabularEnv", "reference_table_to_arrays"]  # noqa: F822 (TabularEnv: module __getattr__)


def _table_of(env):
    """``env.unwrapped.P`` (or ``env.P`` or a plain dict), checked to be a toy-text table."""
    table = env
    if not isinstance(env, dict):
        base = getattr(env, "unwrapped", env)
        table = getattr(base, "P", None)
        if table is None:
            raise TypeError(
                f"env must be a Gymnasium toy-text environment with a transition table env.unwrapped.P "
                f"(FrozenLake, Taxi, CliffWalking) or that table itself (a dict); got {type(env).__name__} "
                "without a P attribute"
            )
    if not isinstance(table, dict):
        raise TypeError(
            f"env.unwrapped.P must be a dict {{state: {{action: [(prob, next_state, reward, "
            f"terminated), ...]}}}}, got {type(table).__name__}"
        )
    if len(table) == 0:
        raise ValueError("env.unwrapped.P is empty: need at least one state")
    return table


def _as_index(x, what: str, n: int) -> int:
    if isinstance(x, (bool, np.bool_)) or not isinstance(x, (numbers.Integral, np.integer)):
        raise TypeError(f"{what} must be an integer, got {x!r} ({type(x).__name__})")
    if not 0 <= int(x) < n:
        raise ValueError(f"{what} = {int(x)} is outside [0, {n})")
    return int(x)


def _read_table(table):
    """``(S, A, entries)`` with ``entries`` a list of ``(s, a, prob, next_state, reward, terminated)``."""
    S = len(table)
    states = sorted(table)
    if states != list(range(S)):
        raise ValueError(f"env.unwrapped.P must have the states 0..{S - 1} as keys; got keys {states[:5]}...")
    n_actions = {len(table[s]) for s in range(S)}
    if len(n_actions) != 1 or 0 in n_actions:
        raise ValueError(
            f"every state of env.unwrapped.P must list the same non-zero number of actions; "
            f"got the counts {sorted(n_actions)}"
        )
    A = n_actions.pop()
    entries = []
    for s in range(S):
        row = table[s]
        if sorted(row) != list(range(A)):
            raise ValueError(f"env.unwrapped.P[{s}] must have the actions 0..{A - 1} as keys; got {sorted(row)}")
        for a in range(A):
            branches = row[a]
            if len(branches) == 0:
                raise ValueError(f"env.unwrapped.P[{s}][{a}] lists no transition")
            for k, br in enumerate(branches):
                if len(br) != 4:
                    raise ValueError(
                        f"env.unwrapped.P[{s}][{a}][{k}] must be (prob, next_state, reward, terminated); got {br!r}"
                    )
                prob, nxt, rew, term = br
                nxt = _as_index(nxt, f"next_state of env.unwrapped.P[{s}][{a}][{k}]", S)
                prob, rew = float(prob), float(rew)
                if not (np.isfinite(prob) and prob >= 0):
                    raise ValueError(
                        f"probability of env.unwrapped.P[{s}][{a}][{k}] must be finite and >= 0, got {prob}"
                    )
                if not np.isfinite(rew):
                    raise ValueError(f"reward of env.unwrapped.P[{s}][{a}][{k}] must be finite, got {rew}")
                entries.append((s, a, prob, nxt, rew, bool(term)))
    return S, A, entries


def reference_table_to_arrays(table):
    """Plain Python twin of :func:`from_gymnasium`'s conversion: dense ``(P, R)`` with the terminal
    convention of this module (an extra absorbing state ``S`` when some branch is terminal)."""
    S, A, entries = _read_table(table)
    has_terminal = any(e[5] for e in entries)
    n = S + 1 if has_terminal else S
    P = np.zeros((n, A, n))
    R = np.zeros((n, A))
    for s, a, prob, nxt, rew, term in entries:
        P[s, a, S if term else nxt] += prob
        R[s, a] += prob * rew
    if has_terminal:
        P[S, :, S] = 1.0
    return P, R


def from_gymnasium(env, *, gamma: float, sparse: bool | None = None, atol: float | None = None) -> TabularMDP:
    """Build a :class:`~mdp.TabularMDP` from a toy-text environment's transition table.

    Parameters
    ----------
    env : gymnasium.Env or dict
        An environment whose ``env.unwrapped.P[s][a]`` is a list of
        ``(prob, next_state, reward, terminated)`` (FrozenLake, Taxi, CliffWalking, and
        ``TabularEnv`` itself), or that dict.
    gamma : float
        Discount of the model (Gymnasium environments carry none), in ``[0, 1]``.
    sparse : bool, optional
        Store ``P`` as CSR. Default: sparse when the table has fewer than a quarter of the dense
        entries (Taxi: 500 states, one branch per pair).
    atol : float, optional
        Row-sum tolerance passed to :class:`~mdp.TabularMDP`.

    Returns
    -------
    TabularMDP
        States ``0..n-1`` are the environment's; when some branch has ``terminated=True`` one more
        state ``n = len(env.unwrapped.P)`` is appended: absorbing, reward 0, the target of every
        terminal branch (see the module docstring for why). ``R[s, a]`` is the expected reward.

    Raises
    ------
    TypeError
        If ``env`` has no transition table or an entry is not of the toy-text form.
    ValueError
        On missing states/actions, an empty branch list, a ``next_state`` out of range, negative
        probabilities, non-finite rewards, or branch probabilities of a pair not summing to 1.

    Examples
    --------
    >>> import gymnasium as gym, mdp
    >>> m = mdp.from_gymnasium(gym.make("FrozenLake-v1"), gamma=0.99)
    >>> m.n_states, m.n_actions   # 16 cells and the absorbing terminal state
    (17, 4)
    """
    gamma = check_gamma(gamma, allow_one=True)
    table = _table_of(env)
    S, A, entries = _read_table(table)
    has_terminal = any(e[5] for e in entries)
    n = S + 1 if has_terminal else S
    rows = np.fromiter((e[0] * A + e[1] for e in entries), dtype=np.int64, count=len(entries))
    cols = np.fromiter((S if e[5] else e[3] for e in entries), dtype=np.int64, count=len(entries))
    probs = np.fromiter((e[2] for e in entries), dtype=np.float64, count=len(entries))
    rews = np.fromiter((e[4] for e in entries), dtype=np.float64, count=len(entries))
    R = np.zeros(n * A)
    np.add.at(R, rows, probs * rews)
    if has_terminal:
        rows = np.concatenate([rows, S * A + np.arange(A)])
        cols = np.concatenate([cols, np.full(A, S)])
        probs = np.concatenate([probs, np.ones(A)])
    import scipy.sparse as sp

    csr = sp.coo_matrix((probs, (rows, cols)), shape=(n * A, n)).tocsr()  # sums repeated entries
    csr.sum_duplicates()
    if sparse is None:
        sparse = csr.nnz < 0.25 * n * A * n
    P = csr if sparse else csr.toarray().reshape(n, A, n)
    return TabularMDP(P, R.reshape(n, A), gamma, atol=atol)


# ---------------------------------------------------------------------------------- TabularEnv
_ENV_CLASS = None


def _env_class():
    """Build ``TabularEnv`` on first use (it subclasses ``gymnasium.Env``; import is lazy)."""
    global _ENV_CLASS
    if _ENV_CLASS is not None:
        return _ENV_CLASS
    import gymnasium
    from gymnasium import spaces

    class TabularEnv(gymnasium.Env):
        """A :class:`~mdp.TabularMDP` as a Gymnasium environment.

        Parameters
        ----------
        m : TabularMDP
            The model. ``m.gamma`` is not part of the environment (Gymnasium has no discount);
            it is kept as ``env.gamma`` for agents that want it.
        mu : array_like, shape (S,), optional
            Initial-state distribution (default uniform over the states that are not terminal).
        terminal_states : sequence of int, optional
            States whose entry ends the episode (``terminated=True``). A step *into* one pays
            ``R[s, a]`` and ends; the episode never continues from it.
        max_episode_steps : int, optional
            Truncate (``truncated=True``) after this many steps (default: never).

        Notes
        -----
        ``step(a)`` draws ``s' ~ P[s, a, :]`` with the environment's seeded ``np_random`` and pays
        the expected reward ``R[s, a]`` (the model holds no reward noise). Observations are
        ``int`` state indices in ``Discrete(S)``. ``env.unwrapped.P`` gives the toy-text table
        ``{s: {a: [(prob, s', R[s, a], s' in terminal_states), ...]}}``, so
        ``mdp.from_gymnasium(env, gamma=m.gamma)`` recovers the model (with the absorbing state of
        that function's convention appended when ``terminal_states`` is not empty).
        """

        metadata = {"render_modes": []}

        def __init__(self, m, *, mu=None, terminal_states=(), max_episode_steps=None):
            super().__init__()
            if not isinstance(m, TabularMDP):
                raise TypeError(f"m must be an mdp.TabularMDP, got {type(m).__name__}")
            S, A = m.n_states, m.n_actions
            term = np.zeros(S, dtype=bool)
            for k, t in enumerate(terminal_states):
                term[_as_index(t, f"terminal_states[{k}]", S)] = True
            if term.all():
                raise ValueError("terminal_states lists every state: an episode could not start anywhere")
            if mu is None:
                mu = (~term).astype(np.float64) / float(np.count_nonzero(~term))
            else:
                mu = as_float_array(mu, "mu", ndim=1)
                if mu.shape != (S,):
                    raise ValueError(f"mu must have shape ({S},), got {mu.shape}")
                if np.any(mu < 0) or abs(mu.sum() - 1.0) > 1e-8:
                    raise ValueError("mu must be a probability vector (non-negative, summing to 1)")
                if np.any(mu[term] > 0):
                    raise ValueError("mu must put no mass on terminal_states (an episode cannot start there)")
            self.max_episode_steps = (
                None if max_episode_steps is None else check_positive_int(max_episode_steps, "max_episode_steps")
            )
            self.model = m
            self.gamma = m.gamma
            self.terminal = term
            self.mu = mu
            self._mu_cdf = np.cumsum(mu)
            self.observation_space = spaces.Discrete(S)
            self.action_space = spaces.Discrete(A)
            # per-row cumulative mass in the CSR layout of the model (shared sampling helper): memory
            # of the stored P, so a sparse 10^6-state gridworld works too
            self._indptr, self._indices, self._cdf = cumulative_rows(m)
            self._state = None
            self._t = 0
            self._table = None

        def _draw(self, cdf):
            u = self.np_random.random() * cdf[-1]
            return int(min(np.searchsorted(cdf, u, side="right"), cdf.shape[0] - 1))

        def _next_state(self, s, a):
            row = s * self.action_space.n + a
            lo, hi = self._indptr[row], self._indptr[row + 1]
            return int(self._indices[lo + self._draw(self._cdf[lo:hi])])

        def reset(self, *, seed=None, options=None):
            super().reset(seed=seed)
            self._state = self._draw(self._mu_cdf)
            self._t = 0
            return self._state, {}

        def step(self, action):
            if self._state is None:
                raise RuntimeError("call reset() before step()")
            if not self.action_space.contains(action):
                raise ValueError(f"action must be an integer in [0, {self.action_space.n}), got {action!r}")
            s, a = self._state, int(action)
            reward = float(self.model.R[s, a])
            nxt = self._next_state(s, a)
            self._state = nxt
            self._t += 1
            terminated = bool(self.terminal[nxt])
            truncated = not terminated and self.max_episode_steps is not None and self._t >= self.max_episode_steps
            if terminated or truncated:
                self._state = None  # the episode is over: step() needs a reset()
            return nxt, reward, terminated, bool(truncated), {}

        @property
        def P(self):
            """The toy-text transition table ``{s: {a: [(prob, s', reward, terminated), ...]}}``."""
            if self._table is None:
                m = self.model
                self._table = {s: {a: [] for a in range(m.n_actions)} for s in range(m.n_states)}
                for s in range(m.n_states):
                    for a in range(m.n_actions):
                        row = m.transition_row(s, a)
                        self._table[s][a] = [
                            (float(row[t]), t, float(m.R[s, a]), bool(self.terminal[t]))
                            for t in np.flatnonzero(row).tolist()
                        ]
            return self._table

    _ENV_CLASS = TabularEnv
    return TabularEnv


def to_gymnasium(m, *, mu=None, terminal_states=(), max_episode_steps=None):
    """A ``TabularEnv`` (a ``gymnasium.Env``) that samples the dynamics of ``m``.

    See ``TabularEnv`` for the parameters. Example::

        env = mdp.to_gymnasium(mdp.generators.forest(), max_episode_steps=100)
        obs, info = env.reset(seed=0)
        obs, reward, terminated, truncated, info = env.step(env.action_space.sample())
    """
    return _env_class()(m, mu=mu, terminal_states=terminal_states, max_episode_steps=max_episode_steps)


def __getattr__(name):
    if name == "TabularEnv":
        return _env_class()
    raise AttributeError(f"module 'mdp.interop' has no attribute {name!r}")
