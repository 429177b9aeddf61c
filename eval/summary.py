"""From per-question rows to the summary: every metric with a bootstrap interval, overall and by
question type; and the `--fail-under` / `--fail-over` thresholds checked against it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from eval.errors import EvalError
from eval.metrics import AGGREGATES, METRICS
from eval.stats import LEVEL, RESAMPLES, SEED, bootstrap


def metric_table(rows: Sequence[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Every registered metric over `rows`: value, interval, how many questions it applied to."""
    table: dict[str, dict[str, Any]] = {}
    for name, m in METRICS.items():
        values = [r["scores"].get(name) for r in rows]
        kept = [v for v in values if v is not None]
        interval = bootstrap(kept, AGGREGATES[m.aggregate])
        table[name] = {
            "value": None if interval is None else _round(interval.value, m.unit),
            "ci_low": None if interval is None else _round(interval.low, m.unit),
            "ci_high": None if interval is None else _round(interval.high, m.unit),
            "n": len(kept),
            "kind": m.kind,
            "group": m.group,
            "unit": m.unit,
            "higher_is_better": m.higher_is_better,
            "description": m.description,
        }
    return table


def _round(value: float, unit: str) -> float:
    return round(value, 1 if unit == "ms" else 4)


_PER_TYPE_FIELDS = ("value", "ci_low", "ci_high", "n")


def by_type(rows: Sequence[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The metric table per question type (values and intervals; descriptions are overall)."""
    out = {}
    for t in sorted({r["question_type"] for r in rows}):
        table = metric_table([r for r in rows if r["question_type"] == t])
        out[t] = {
            "questions": sum(r["question_type"] == t for r in rows),
            "metrics": {
                name: {k: v for k, v in entry.items() if k in _PER_TYPE_FIELDS}
                for name, entry in table.items()
            },
        }
    return out


def bootstrap_settings() -> dict[str, Any]:
    return {"resamples": RESAMPLES, "seed": SEED, "level": LEVEL, "unit": "question"}


# --- thresholds ----------------------------------------------------------------------------
@dataclass(frozen=True)
class Threshold:
    metric: str
    bound: float
    direction: str  # "under": fail when value < bound; "over": fail when value > bound

    @property
    def flag(self) -> str:
        return f"--fail-{self.direction} {self.metric}={self.bound:g}"


def parse_thresholds(specs: Sequence[str], direction: str) -> list[Threshold]:
    """`metric=value` strings, checked against the registry before anything runs."""
    out = []
    for spec in specs:
        name, sep, raw = spec.partition("=")
        name = name.strip()
        if not sep:
            raise EvalError(f"--fail-{direction} {spec!r}: expected METRIC=VALUE")
        if name not in METRICS:
            raise EvalError(
                f"--fail-{direction} {spec!r}: unknown metric {name!r}; valid: {', '.join(METRICS)}"
            )
        try:
            bound = float(raw)
        except ValueError:
            raise EvalError(f"--fail-{direction} {spec!r}: {raw!r} is not a number") from None
        out.append(Threshold(name, bound, direction))
    return out


def check_thresholds(
    metrics: dict[str, dict[str, Any]], thresholds: Sequence[Threshold]
) -> list[dict[str, Any]]:
    """One result per threshold; `message` is the line printed for a failure."""
    results = []
    for t in thresholds:
        value = metrics[t.metric]["value"]
        if value is None:
            passed = False
            message = f"FAIL {t.metric}: no value (applies to no question) ({t.flag})"
        else:
            passed = value >= t.bound if t.direction == "under" else value <= t.bound
            sign = "<" if t.direction == "under" else ">"
            message = f"FAIL {t.metric} = {value:g} {sign} {t.bound:g} ({t.flag})"
        results.append(
            {
                "metric": t.metric,
                "direction": t.direction,
                "bound": t.bound,
                "value": value,
                "passed": passed,
                "message": None if passed else message,
            }
        )
    return results
