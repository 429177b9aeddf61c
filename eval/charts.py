"""The report's charts, as inline SVG: accuracy by question type, the reliability diagram of
the answers' confidence, and the latency histogram."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from typing import Any

import numpy as np

CHART_WIDTH = 640
COLOURS = ("#2f6db5", "#d9822b", "#3a9a5b", "#8e5cb5")


def paragraph(text: str) -> str:
    return f"<p class='sub'>{escape(text)}</p>"


def type_chart(summary: dict[str, Any], names: list[str]) -> str:
    """Horizontal bars in [0, 1], one group per question type (and "all"), one bar per metric."""
    groups = [("all", summary["metrics"])] + [
        (t, v["metrics"]) for t, v in summary["by_question_type"].items()
    ]
    groups = [(label, ms) for label, ms in groups if any(ms[n]["value"] is not None for n in names)]
    if not groups:
        return paragraph("No question was scored on this.")
    label_w, bar_h, gap, right = 150, 16, 12, 110
    plot_w = CHART_WIDTH - label_w - right
    group_h = bar_h * len(names) + gap
    legend_h = 22 if len(names) > 1 else 0
    height = legend_h + group_h * len(groups) + 24
    svg = [_svg_open(CHART_WIDTH, height, f"{', '.join(names)} by question type")]
    if legend_h:
        for i, name in enumerate(names):
            key_x = label_w + i * 170
            svg.append(f"<rect x='{key_x}' y='4' width='12' height='12' fill='{COLOURS[i]}'/>")
            svg.append(f"<text x='{key_x + 16}' y='14'>{escape(name)}</text>")
    top = legend_h
    for tick in (0, 0.25, 0.5, 0.75, 1):
        x = label_w + tick * plot_w
        svg.append(
            f"<line x1='{x:.1f}' y1='{top}' x2='{x:.1f}' y2='{height - 20}' stroke='#e3e7ec'/>"
            f"<text x='{x:.1f}' y='{height - 6}' text-anchor='middle'>{tick:g}</text>"
        )
    for g, (label, ms) in enumerate(groups):
        y0 = top + g * group_h + gap / 2
        svg.append(
            f"<text x='{label_w - 8}' y='{y0 + group_h / 2 - 2:.1f}' text-anchor='end'>"
            f"{escape(label)}</text>"
        )
        for i, name in enumerate(names):
            metric = ms[name]
            y = y0 + i * bar_h
            if metric["value"] is None:
                svg.append(f"<text x='{label_w + 4}' y='{y + 12:.1f}' class='small'>n/a</text>")
                continue
            w = max(metric["value"], 0) * plot_w
            svg.append(
                f"<rect x='{label_w}' y='{y + 2:.1f}' width='{w:.1f}' height='{bar_h - 4}' "
                f"fill='{COLOURS[i]}'><title>{escape(name)} {label}: {metric['value']:.3f} "
                f"[{metric['ci_low']:.3f}, {metric['ci_high']:.3f}], n={metric['n']}</title></rect>"
            )
            lo, hi = (label_w + v * plot_w for v in (metric["ci_low"], metric["ci_high"]))
            mid = y + bar_h / 2
            svg.append(
                f"<path d='M{lo:.1f} {mid:.1f}H{hi:.1f}M{lo:.1f} {mid - 4:.1f}V{mid + 4:.1f}"
                f"M{hi:.1f} {mid - 4:.1f}V{mid + 4:.1f}' stroke='#1d232b' fill='none'/>"
            )
            svg.append(
                f"<text x='{label_w + plot_w + 8}' y='{mid + 4:.1f}'>{metric['value']:.2f} "
                f"(n={metric['n']})</text>"
            )
    svg.append("</svg>")
    return "".join(svg)


def _svg_open(width: int, height: float, title: str) -> str:
    return (
        f"<svg xmlns='http://www.w3.org/2000/svg' width='{width}' height='{height:.0f}' "
        f"viewBox='0 0 {width} {height:.0f}' role='img' aria-label='{escape(title)}'>"
        f"<title>{escape(title)}</title>"
    )


def reliability_diagram(calibration: dict[str, Any]) -> str:
    """The reliability diagram: per tenth of confidence, the share of answers right against
    their mean confidence; a calibrated confidence lies on the diagonal."""
    if not calibration.get("n"):
        return paragraph(
            "No answer of this run carried a confidence (only short answers from a backend "
            "that reports token probabilities do)."
        )
    high = calibration["high"]
    note = (
        f"{calibration['n']} answers shown with a confidence; expected calibration error "
        f"<b>{calibration['ece']:.3f}</b> (answers-weighted gap between mean confidence and "
        f"share right, over tenths of confidence). At confidence ≥ 0.8: {high['n']} answers"
        + (f", {high['right']:.0%} right." if high["right"] is not None else ".")
    )
    left, bottom, top, size = 48, 34, 10, 260
    svg = [_svg_open(left + size + 20, top + size + bottom, "reliability diagram")]
    svg.append(
        f"<rect x='{left}' y='{top}' width='{size}' height='{size}' fill='none' stroke='#8792a0'/>"
        f"<line x1='{left}' y1='{top + size}' x2='{left + size}' y2='{top}' stroke='#8792a0' "
        "stroke-dasharray='4 3'/>"
    )
    for b in calibration["bins"]:
        x = left + b["low"] * size
        w = (b["high"] - b["low"]) * size
        h = b["right"] * size
        svg.append(
            f"<rect x='{x + 1:.1f}' y='{top + size - h:.1f}' width='{w - 2:.1f}' height='{h:.1f}' "
            f"fill='{COLOURS[0]}' opacity='0.8'><title>confidence {b['low']:.1f}–{b['high']:.1f}: "
            f"{b['n']} answers, mean {b['confidence']:.2f}, right {b['right']:.2f}</title></rect>"
            f"<circle cx='{left + b['confidence'] * size:.1f}' "
            f"cy='{top + size - b['confidence'] * size:.1f}' r='3' fill='{COLOURS[1]}'/>"
        )
    svg.append(
        f"<text x='{left + size / 2}' y='{top + size + 28}' text-anchor='middle'>confidence</text>"
        f"<text x='{left - 8}' y='{top + 10}' text-anchor='end'>1</text>"
        f"<text x='{left - 8}' y='{top + size}' text-anchor='end'>0</text>"
        f"<text x='{left - 30}' y='{top + size / 2}' text-anchor='middle' "
        f"transform='rotate(-90 {left - 30} {top + size / 2})'>share right</text></svg>"
    )
    return f"<p>{note}</p>" + "".join(svg)


def latency_chart(summary: dict[str, Any], rows: Sequence[dict[str, Any]]) -> str:
    values = np.array(
        [r["timings"]["total_ms"] for r in rows if r["timings"].get("total_ms") is not None]
    )
    if values.size == 0:
        return paragraph("No timings were recorded.")
    cached = sum(r["cached"] for r in rows)
    note = (
        f"Time to the whole answer as the answer object reports it (server side), "
        f"{values.size} questions. Dashed: p50 and p95."
    )
    if cached:
        note += f" {cached} answers came from the cache and carry the timings of their first run."
    bins = min(24, max(6, int(np.sqrt(values.size)) * 2))
    counts, edges = np.histogram(values, bins=bins, range=(0, float(values.max()) * 1.02 or 1))
    left, bottom, top, width, height = 48, 34, 10, CHART_WIDTH, 230
    plot_w, plot_h = width - left - 20, height - top - bottom
    peak = max(int(counts.max()), 1)
    svg = [_svg_open(width, height, "latency histogram")]
    bar_w = plot_w / bins
    for i, count in enumerate(counts):
        h = count / peak * plot_h
        x = left + i * bar_w
        svg.append(
            f"<rect x='{x + 1:.1f}' y='{top + plot_h - h:.1f}' width='{bar_w - 2:.1f}' "
            f"height='{h:.1f}' fill='{COLOURS[0]}'><title>{edges[i]:.0f}–{edges[i + 1]:.0f} ms: "
            f"{count}</title></rect>"
        )
    span = edges[-1] - edges[0]
    for label, q in (("p50", 50), ("p95", 95)):
        v = float(np.percentile(values, q))
        x = left + (v - edges[0]) / span * plot_w
        svg.append(
            f"<line x1='{x:.1f}' y1='{top}' x2='{x:.1f}' y2='{top + plot_h}' stroke='#b42318' "
            f"stroke-dasharray='4 3'/><text x='{x + 4:.1f}' y='{top + 12}'>{label} {v:,.0f}</text>"
        )
    for i in range(0, bins + 1, max(1, bins // 6)):
        x = left + i * bar_w
        svg.append(
            f"<text x='{x:.1f}' y='{top + plot_h + 16}' text-anchor='middle'>{edges[i]:,.0f}</text>"
        )
    svg.append(
        f"<text x='{left + plot_w / 2:.1f}' y='{height - 2}' text-anchor='middle'>ms</text>"
        f"<text x='{left - 8}' y='{top + 10}' text-anchor='end'>{peak}</text>"
        f"<text x='{left - 8}' y='{top + plot_h}' text-anchor='end'>0</text>"
        f"<line x1='{left}' y1='{top + plot_h}' x2='{left + plot_w}' y2='{top + plot_h}' "
        "stroke='#8792a0'/></svg>"
    )
    return paragraph(note) + "".join(svg)
