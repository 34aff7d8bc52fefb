r"""Mode cycling: does a collapsing generator hop between modes or settle, and does the critic chase it?

Definitions, in logged intervals (a run's history logs ``mode_counts [T, K]``, the HQ samples of each
mode, every ``log_every`` steps):

* **Occupied set.** With :math:`p_{t,k} = c_{t,k} / \sum_j c_{t,j}` the share of the HQ samples at
  log ``t`` in mode ``k``, the raw occupied set is :math:`O_t = \{k : p_{t,k} \ge \theta\}`
  (``share``, default 0.05; empty when no sample is HQ).
* **Flicker and the accepted set.** Cut :math:`O_0, O_1, \dots` into maximal runs of one set. A run
  of at least ``min_dwell`` logs is *accepted*; a shorter one is flicker and leaves the accepted set
  unchanged. The accepted set :math:`S_t` is the set of the last accepted run that started at or
  before ``t`` (undefined before the first accepted run).
* **Hop.** A log ``t`` where an accepted run starts whose set differs from the previous accepted
  set: :math:`S_t \ne S_{t-1}`. Its *exits* are :math:`S_{t-1} \setminus S_t` (modes left), its
  *entries* :math:`S_t \setminus S_{t-1}`. A hop is a *swap* when it has both, a *loss* or a *gain*
  when it has only exits or only entries.
* **Dwell time.** Logs from one hop (or the first accepted run) to the next hop: how long an
  accepted set lasted. The last set's dwell is censored by the end of training and kept apart.
* **Hopper, settler.** Hops at logs ``t >= burn_in * T`` count (the first part of training, where a
  generator first finds modes, is left out). A run with at least ``min_hops`` (default 2) of them is
  a *hopper*; with none, a *settler* (its accepted set is fixed for the rest of training); with one
  (``0 < hops < min_hops``), a *mover*: it changed its set once and kept the new one.
* **Critic chase.** For each exit (run, mode ``k``, hop log ``t``) after burn-in, the critic's
  logit :math:`D_t(\mu_k)` at mode ``k``'s centre, aligned on ``t``, against the same run's modes
  that stay occupied across that hop (in :math:`S_{t-1} \cap S_t`). The critic chases when
  :math:`D(\mu_k)` of the left mode falls, relative to the kept ones, in the logs before ``t``.

:func:`mcjax.analysis.collapse.mode_hopping` counts changes of the single dominant mode instead;
a generator that splits its mass over several modes changes its dominant mode by noise, which the
set-based definition here with its threshold and minimum dwell does not count.
"""
from __future__ import annotations

from typing import Any, NamedTuple, Sequence

import numpy as np

from mcjax._validation import ConfigError, check_positive_int

__all__ = ["Hops", "occupied", "find_hops", "classify_runs", "chase_windows", "CriticTrace",
           "trace_critic_at_modes"]

CLASSES = ("settler", "mover", "hopper")


class Hops(NamedTuple):
    """The hops of one run (see the module docstring); times are log indices.

    Attributes:
      accepted: ``[T, K]`` bool, the accepted set :math:`S_t` (all ``False`` before the first
        accepted run).
      times: log of each hop, increasing.
      exits: per hop, the modes left (a tuple of ints).
      entries: per hop, the modes entered.
      dwell: lengths of the completed dwells (logs), with the log each started at:
        ``[(start, length), ...]``.
      censored: ``(start, length)`` of the last accepted set, cut by the end of training; ``None``
        when no run was accepted.
    """

    accepted: np.ndarray
    times: tuple
    exits: tuple
    entries: tuple
    dwell: tuple
    censored: tuple | None

    def after(self, t0: int) -> list[int]:
        """Indices (into ``times``) of the hops at logs ``>= t0``."""
        return [i for i, t in enumerate(self.times) if t >= t0]


def occupied(counts: np.ndarray, share: float = 0.05) -> np.ndarray:
    """The raw occupied sets :math:`O_t = \\{k : p_{t,k} \\ge \\theta\\}` of counts ``[..., K]``.

    Example:
      >>> occupied(np.array([[90, 10, 0], [0, 0, 0]]), 0.1).tolist()
      [[True, True, False], [False, False, False]]
    """
    if not 0.0 < share <= 1.0:
        raise ConfigError(f"share must be in (0, 1], got {share!r}")
    c = np.asarray(counts, np.float64)
    total = c.sum(axis=-1, keepdims=True)
    p = np.where(total > 0, c / np.maximum(total, 1.0), 0.0)
    return p >= share


def find_hops(counts: np.ndarray, share: float = 0.05, min_dwell: int = 2) -> Hops:
    """The hops, dwell times and accepted sets of one run's ``mode_counts [T, K]``.

    Args:
      counts: ``[T, K]`` HQ samples per mode at each log.
      share: occupancy threshold :math:`\\theta` on a mode's share of the HQ samples.
      min_dwell: logs a new set must last to be accepted (1: every change is a hop).

    Returns:
      :class:`Hops`.

    Example:
      >>> h = find_hops(np.array([[1, 0]] * 3 + [[0, 1]] + [[1, 0]] * 2 + [[0, 1]] * 3), 0.5, 2)
      >>> h.times, h.exits, h.entries, h.dwell, h.censored   # the lone [0, 1] at log 3 is flicker
      ((6,), ((0,),), ((1,),), ((0, 6),), (6, 3))
    """
    check_positive_int("min_dwell", min_dwell)
    occ = occupied(counts, share)
    T, K = occ.shape
    runs, start = [], 0  # maximal runs of one raw set: (start, length)
    for t in range(1, T + 1):
        if t == T or not np.array_equal(occ[t], occ[start]):
            runs.append((start, t - start))
            start = t
    accepted = np.zeros((T, K), bool)
    times, exits, entries, dwell = [], [], [], []
    current, since = None, None
    for s, n in runs:
        if n < min_dwell:
            if current is not None:
                accepted[s:s + n] = current
            continue
        new = occ[s]
        if current is not None and not np.array_equal(new, current):
            times.append(s)
            exits.append(tuple(int(k) for k in np.flatnonzero(current & ~new)))
            entries.append(tuple(int(k) for k in np.flatnonzero(new & ~current)))
            dwell.append((since, s - since))
            since = s
        if current is None:
            since = s
        current = new
        accepted[s:s + n] = current
    censored = None if since is None else (since, T - since)
    return Hops(accepted, tuple(times), tuple(exits), tuple(entries), tuple(dwell), censored)


def classify_runs(hops: Sequence[Hops], n_logs: int, burn_in: float = 0.25, min_hops: int = 2
                  ) -> np.ndarray:
    """Each run's class, ``"settler"`` (no hop after burn-in), ``"mover"`` (fewer than
    ``min_hops``) or ``"hopper"`` (at least ``min_hops``), as a string array ``[N]``.

    Example:
      >>> h = find_hops(np.array([[1, 0], [1, 0], [0, 1], [0, 1]]), 0.5, 1)
      >>> classify_runs([h], 4, burn_in=0.0).tolist(), classify_runs([h], 4, burn_in=0.75).tolist()
      (['mover'], ['settler'])
    """
    if not 0.0 <= burn_in < 1.0:
        raise ConfigError(f"burn_in must be in [0, 1), got {burn_in!r}")
    check_positive_int("min_hops", min_hops)
    t0 = int(np.ceil(burn_in * n_logs))
    n = np.array([len(h.after(t0)) for h in hops])
    return np.where(n == 0, "settler", np.where(n < min_hops, "mover", "hopper"))


def chase_windows(critic: np.ndarray, hops: Sequence[Hops], window: int, t0: int = 0
                  ) -> tuple[np.ndarray, np.ndarray]:
    """The critic at the left mode and at the kept modes around every exit at a log ``>= t0``.

    Args:
      critic: ``[N, T, K]`` the critic's value at each mode's centre at each log.
      hops: per run, its :class:`Hops`.
      window: logs on each side of the hop.
      t0: first log whose hops count (burn-in).

    Returns:
      ``(left [E, 2 window + 1], kept [E, 2 window + 1])``: for exit ``e`` at hop log ``t``, column
      ``window + o`` holds ``D_{t+o}`` at the left mode, and the mean over the modes kept across
      that hop (NaN outside ``0..T-1``, or when no mode is kept).

    Example:
      >>> c = np.arange(12.0).reshape(1, 6, 2)  # D_t(mode k) = 2t + k
      >>> h = find_hops(np.array([[1, 1]] * 3 + [[0, 1]] * 3), 0.25, 1)
      >>> left, kept = chase_windows(c, [h], 1)
      >>> left.tolist(), kept.tolist()
      ([[4.0, 6.0, 8.0]], [[5.0, 7.0, 9.0]])
    """
    critic = np.asarray(critic, np.float64)
    N, T, _ = critic.shape
    offsets = np.arange(-window, window + 1)
    left, kept = [], []
    for n, h in zip(range(N), hops):
        for i in h.after(t0):
            t = h.times[i]
            idx = t + offsets
            ok = (idx >= 0) & (idx < T)
            stay = np.flatnonzero(h.accepted[t - 1] & h.accepted[t]) if t > 0 else []
            for k in h.exits[i]:
                row = np.full(len(offsets), np.nan)
                row[ok] = critic[n, idx[ok], k]
                left.append(row)
                row = np.full(len(offsets), np.nan)
                if len(stay):
                    row[ok] = critic[n][idx[ok]][:, stay].mean(axis=1)
                kept.append(row)
    shape = (0, len(offsets))
    return (np.asarray(left).reshape(shape) if not left else np.asarray(left),
            np.asarray(kept).reshape(shape) if not kept else np.asarray(kept))


class CriticTrace(NamedTuple):
    """What :func:`trace_critic_at_modes` logged, runs first.

    Attributes:
      steps: ``[T]`` generator steps at each log.
      mode_counts: ``[N, T, K]`` HQ samples per mode (the engine's ``mode_counts``).
      modes_covered: ``[N, T]``.
      critic: ``[N, T, K]`` the critic's logit at each mode's centre.
      diverged: ``[N]`` whether the run diverged.
    """

    steps: np.ndarray
    mode_counts: np.ndarray
    modes_covered: np.ndarray
    critic: np.ndarray
    diverged: np.ndarray


def trace_critic_at_modes(config: Any, hparams: dict, seeds: Sequence[int]) -> CriticTrace:
    """Trains ``config`` from each seed and logs, every ``config.log_every`` steps, the engine's
    mode statistics and the critic's logit at every mode's centre (``target.means``).

    The engine is not changed: each log is one ``Trainer.advance(hparams, state, 1)`` (the
    engine's own interval: ``log_every`` steps, then its evaluation), followed by
    ``Trainer.critic_logits`` at the centres, inside one ``lax.scan``, vmapped over seeds. A run
    starts from ``jax.random.key(seed)``, as in a sweep, so its ``mode_counts`` equal the sweep's.

    Args:
      config: a GAN :class:`~mcjax.systems.gan.config.Config` with ``pack == 1`` and a target with
        mode centres (``means``).
      hparams: ``HParams`` field values (e.g. :func:`~mcjax.systems.gan.remedies.apply_remedy`'s).
      seeds: the seeds.

    Returns:
      :class:`CriticTrace`.
    """
    import jax
    import jax.numpy as jnp

    from mcjax.systems.gan.config import make_hparams
    from mcjax.systems.gan.engine import make_trainer

    target = config.make_target()
    if config.pack != 1 or not hasattr(target, "means"):
        raise ConfigError(f"the critic at the mode centres needs pack=1 and a target with mode "
                          f"centres (ring, grid, lines), got pack={config.pack}, "
                          f"target={config.target!r}")
    if not len(seeds):
        raise ConfigError("at least one seed is needed")
    trainer = make_trainer(config)
    hp = make_hparams(**hparams)
    centres = jnp.asarray(target.means)

    def one_run(seed):
        def interval(state, _):
            state, hist = trainer.advance(hp, state, 1)
            value = trainer.critic_logits(state.d_params, state.wrappers)(centres)
            return state, (hist["step"][0], hist["mode_counts"][0], hist["modes_covered"][0],
                           value)

        state, logged = jax.lax.scan(interval, trainer.init(hp, jax.random.key(seed)), None,
                                     length=config.n_logs)
        return logged, state.diverged

    (steps, counts, covered, critic), diverged = jax.jit(jax.vmap(one_run))(
        jnp.asarray(np.asarray(seeds, np.uint32)))
    return CriticTrace(np.asarray(steps[0]), np.asarray(counts), np.asarray(covered),
                       np.asarray(critic), np.asarray(diverged))
