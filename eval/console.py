"""Terminal output of `newsdesk eval`: a run's metrics, and the comparison of two runs."""

from __future__ import annotations

from typing import Any

from rich import box
from rich.console import Console
from rich.table import Table


def _fmt(value: float | None, unit: str, sign: bool = False) -> str:
    if value is None:
        return "-"
    digits = 0 if unit == "ms" else 3
    return f"{value:{'+' if sign else ''},.{digits}f}"


def print_summary(console: Console, summary: dict[str, Any]) -> None:
    counts = summary["counts"]
    table = Table(
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        collapse_padding=True,
        title=f"{summary['set']['name']} {summary['set']['version']}: {counts['questions']} "
        f"questions ({counts['cached']} cached, {counts['errors']} errors, "
        f"{counts['gold_missing']} gold missing)",
    )
    for column in ("metric", "value", "95% interval", "n"):
        table.add_column(column, justify="left" if column == "metric" else "right", no_wrap=True)
    for name, m in summary["metrics"].items():
        unit = m["unit"]
        interval = (
            "" if m["value"] is None else f"{_fmt(m['ci_low'], unit)}..{_fmt(m['ci_high'], unit)}"
        )
        label = f"{name} (ms)" if unit == "ms" else name
        table.add_row(label, _fmt(m["value"], unit), interval, str(m["n"]))
    calibration = summary.get("calibration") or {}
    if calibration.get("n"):
        table.add_row("confidence ECE", _fmt(calibration["ece"], ""), "", str(calibration["n"]))
    console.print(table)


FLIP_LABELS = {
    "correct_to_wrong": "correct -> wrong",
    "wrong_to_correct": "wrong -> correct",
    "started_abstaining": "answered -> abstained",
    "stopped_abstaining": "abstained -> answered",
}


def print_comparison(console: Console, result: dict[str, Any]) -> None:
    for side in ("a", "b"):
        d = result[side]
        console.print(
            f"{side.upper()}: {d['path']}  {d['set']}, {d['backend']} on {d['target']}, "
            f"commit {(d['commit'] or '-')[:10]}, {d['questions']} questions",
            highlight=False,
            markup=False,
        )
    for note in result["notes"]:
        console.print(f"note: {note}", highlight=False, markup=False)
    table = Table(
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        collapse_padding=True,
        title=f"B - A over {result['shared_questions']} shared questions",
    )
    for column in ("metric", "A", "B", "delta", "95% interval", "p", "verdict"):
        table.add_column(column, justify="left" if column == "metric" else "right", no_wrap=True)
    for name, m in result["metrics"].items():
        if m["delta"] is None:
            continue
        unit = m["unit"]
        better = (m["delta"] > 0) == m["higher_is_better"]
        verdict = ("better" if better else "worse") if m["significant"] else "same"
        table.add_row(
            name,
            _fmt((m["a"] or {}).get("value"), unit),
            _fmt((m["b"] or {}).get("value"), unit),
            _fmt(m["delta"], unit, sign=True),
            f"{_fmt(m['ci_low'], unit, True)}..{_fmt(m['ci_high'], unit, True)}",
            f"{m['p_value']:.3f}",
            verdict,
        )
    console.print(table)
    console.print("verdict: better/worse when the 95% interval of the delta excludes 0")
    for key, label in FLIP_LABELS.items():
        flipped = result["flips"][key]
        console.print(f"\n{label}: {len(flipped)}", highlight=False)
        for f in flipped:
            console.print(
                f"  {f['id']}: {f['question'][:90]}\n    gold: {f['gold'][:80]}\n"
                f"    A: {f['a'][:110]}\n    B: {f['b'][:110]}",
                highlight=False,
                markup=False,
            )
