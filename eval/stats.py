"""Bootstrap confidence intervals: one run's metric, and the paired difference of two runs.

Resampling is over questions (the unit that varies between sets), with a fixed seed so the
same results give the same interval. Percentile intervals, 1,000 resamples by default.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

RESAMPLES = 1000
SEED = 0
LEVEL = 0.95

Aggregate = Callable[[np.ndarray], np.ndarray]


@dataclass(frozen=True)
class Interval:
    value: float
    low: float
    high: float
    n: int


@dataclass(frozen=True)
class Difference:
    delta: float  # b - a over the shared questions
    low: float
    high: float
    n: int  # shared questions
    p_value: float  # two-sided, from the bootstrap distribution

    @property
    def significant(self) -> bool:
        """The interval of the difference excludes zero."""
        return self.low > 0 or self.high < 0


def _bounds(samples: np.ndarray, level: float) -> tuple[float, float]:
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(samples, [tail, 100 - tail])
    return float(low), float(high)


def bootstrap(
    values: Sequence[float],
    aggregate: Aggregate,
    resamples: int = RESAMPLES,
    seed: int = SEED,
    level: float = LEVEL,
) -> Interval | None:
    """The aggregate of `values` with a percentile bootstrap interval; None for no values."""
    data = np.asarray(values, dtype=float)
    if data.size == 0:
        return None
    value = float(aggregate(data))
    if data.size == 1:
        return Interval(value, value, value, 1)
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, data.size, size=(resamples, data.size))
    low, high = _bounds(aggregate(data[picks]), level)
    return Interval(value, low, high, int(data.size))


def paired_bootstrap(
    a: Sequence[float],
    b: Sequence[float],
    aggregate: Aggregate,
    resamples: int = RESAMPLES,
    seed: int = SEED,
    level: float = LEVEL,
) -> Difference | None:
    """aggregate(b) - aggregate(a), resampling the same questions for both runs."""
    x, y = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if x.shape != y.shape:
        raise ValueError("paired samples must have the same length")
    if x.size == 0:
        return None
    delta = float(aggregate(y) - aggregate(x))
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, x.size, size=(resamples, x.size))
    deltas = aggregate(y[picks]) - aggregate(x[picks])
    low, high = _bounds(deltas, level)
    # Share of resampled differences on the other side of zero, doubled (two-sided).
    p = 2 * min(float(np.mean(deltas <= 0)), float(np.mean(deltas >= 0)))
    if np.all(deltas == 0):
        p = 1.0
    return Difference(delta, low, high, int(x.size), min(p, 1.0))
