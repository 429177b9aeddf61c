"""The run as one self-contained HTML page: inline CSS and inline SVG charts, no external assets.

Sections: what was run; thresholds; accuracy by question type; citation precision and recall;
latency histogram; every metric with its interval, overall and by type; and the failures
(wrong answers, wrong abstentions, unsupported sentences, errors) with question, gold,
prediction and citations, so a reader can see *why* without opening the JSON.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from typing import Any

from eval.charts import latency_chart, paragraph, reliability_diagram, type_chart
from eval.metrics import same_sentence

MAX_FAILURES = 300
GROUP_ORDER = ("answer", "citations", "retrieval", "abstention", "latency")

CSS = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;color:#1d232b;
 margin:0 auto;max-width:1180px;padding:20px 28px 60px}
h1{font-size:22px;margin:6px 0 2px}h2{font-size:17px;margin:30px 0 8px;
 border-bottom:1px solid #dde3ea;padding-bottom:4px}
.sub{color:#5b6673}.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(210px,1fr));
 gap:4px 18px;margin:12px 0}.grid div{overflow-wrap:anywhere}
.k{color:#5b6673}.cards{display:flex;flex-wrap:wrap;gap:10px;margin:14px 0}
.card{border:1px solid #dde3ea;border-radius:8px;padding:8px 14px;min-width:130px}
.card b{display:block;font-size:20px}.card span{color:#5b6673;font-size:12px}
table{border-collapse:collapse;width:100%;margin:6px 0}th,td{border-bottom:1px solid #e6eaef;
 padding:4px 6px;text-align:left;vertical-align:top}th{background:#f5f7f9;font-weight:600}
td.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
.warn{background:#fff6e5;border:1px solid #f0c36d;border-radius:6px;padding:8px 12px}
.pass{color:#1e7b3b;font-weight:600}.fail{color:#b42318;font-weight:600}
.tag{display:inline-block;border-radius:4px;padding:0 5px;margin:1px 2px 1px 0;font-size:12px;
 background:#fde8e7;color:#8a1c12}.tag.soft{background:#eef1f5;color:#3c4652}
.cites{margin:0;padding-left:18px}.cites li{margin:2px 0}.gold{color:#1e7b3b}
.small{font-size:12px;color:#5b6673}svg text{font:12px system-ui,sans-serif;fill:#1d232b}
"""


def render_report(summary: dict[str, Any], rows: Sequence[dict[str, Any]]) -> str:
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        "<meta name='viewport' content='width=device-width,initial-scale=1'>",
        f"<title>Newsdesk eval: {escape(summary['set']['name'])}</title>",
        f"<style>{CSS}</style></head><body>",
        _header(summary),
        _thresholds(summary),
        _cards(summary),
        "<h2>Accuracy by question type</h2>",
        paragraph(
            "Share of questions answered correctly (“correct”: abstained when the gold says "
            "abstain; otherwise yes/no matches, or the gold answer or an alias appears in the "
            "answer). Whiskers: bootstrap 95% interval."
        ),
        type_chart(summary, ["correct"]),
        "<h2>Citation precision and recall</h2>",
        paragraph(
            "Against the gold evidence sentences (ALCE-style): recall is the share of gold "
            "sentences the answer cites, precision the share of citations that are gold. "
            "Questions to abstain on, and those whose gold article is missing from the index, "
            "are not scored."
        ),
        type_chart(summary, ["citation_precision", "citation_recall"]),
        "<h2>Confidence</h2>",
        reliability_diagram(summary.get("calibration") or {}),
        "<h2>Latency</h2>",
        latency_chart(summary, rows),
        "<h2>Every metric</h2>",
        _metric_table(summary),
        "<h2>By question type</h2>",
        _type_table(summary),
        "<h2>Failures</h2>",
        _failures(rows),
        "</body></html>",
    ]
    return "\n".join(parts)


def _fmt(value: float | None, unit: str = "") -> str:
    if value is None:
        return "–"
    return f"{value:,.0f} ms" if unit == "ms" else f"{value:.3f}"


# --- header --------------------------------------------------------------------------------
def _header(summary: dict[str, Any]) -> str:
    s, settings, counts = summary["set"], summary["settings"], summary["counts"]
    git = summary["git"]
    commit = (git["commit"] or "not a git checkout")[:12] + (" (modified)" if git["dirty"] else "")
    target = settings["url"] or f"index {settings['index']}"
    facts = {
        "set": f"{s['name']} {s['version']} ({s['format']})",
        "target": target,
        "backend": settings["backend"],
        "generator": ", ".join(summary["models"]["generators"]) or "–",
        "embedder": summary["models"]["embedder"] or "–",
        "judge": summary["models"]["judge"] or "off",
        "retrieval k": settings["k"],
        "commit": commit,
        "created": summary["created_at"],
        "questions": counts["questions"],
        "from cache": counts["cached"],
        "errors": counts["errors"],
        "gold article missing": counts["gold_missing"],
        "abstained": counts["abstained"],
        "wall time": f"{summary['wall_time_s']:.1f} s",
        "config": settings["config_hash"],
    }
    grid = "".join(
        f"<div><span class='k'>{escape(k)}:</span> {escape(str(v))}</div>" for k, v in facts.items()
    )
    html = [f"<h1>Evaluation: {escape(s['name'])}</h1>", f"<div class='grid'>{grid}</div>"]
    if s.get("description"):
        html.append(paragraph(s["description"]))
    flagged = summary.get("flagged") or {}
    if flagged:
        items = "".join(
            f"<li>{escape(article_id)}: {escape(', '.join(f['sentence_ids']) or 'headline')} "
            f"({escape(f['reason'])})</li>"
            for article_id, entries in sorted(flagged.items())
            for f in entries
        )
        html.append(
            f"<div class='warn'><b>{len(flagged)} article(s) of the index are flagged</b>; "
            f"their flagged sentences are never evidence:<ul>{items}</ul></div>"
        )
    if s["problems"]:
        items = "".join(f"<li>{escape(p)}</li>" for p in s["problems"])
        html.append(
            f"<div class='warn'><b>{len(s['problems'])} line(s) of the set were skipped:</b>"
            f"<ul>{items}</ul></div>"
        )
    return "\n".join(html)


def _thresholds(summary: dict[str, Any]) -> str:
    if not summary["thresholds"]:
        return ""
    rows = []
    for t in summary["thresholds"]:
        verdict = (
            "<span class='pass'>pass</span>" if t["passed"] else "<span class='fail'>FAIL</span>"
        )
        sign = "≥" if t["direction"] == "under" else "≤"
        rows.append(
            f"<tr><td>{verdict}</td><td>{escape(t['metric'])}</td>"
            f"<td class='n'>{_fmt(t['value'])}</td><td>{sign} {t['bound']:g}</td></tr>"
        )
    return (
        "<h2>Thresholds</h2><table><tr><th></th><th>metric</th><th>value</th><th>required</th>"
        f"</tr>{''.join(rows)}</table>"
    )


def _cards(summary: dict[str, Any]) -> str:
    names = [
        "correct", "token_f1", "citation_precision", "citation_recall", "supported_rate",
        "abstention_precision", "abstention_recall", "evidence_recall@k", "latency_p50",
        "ttft_p50",
    ]  # fmt: skip
    cards = []
    for name in names:
        metric = summary["metrics"].get(name)
        if metric is None or metric["value"] is None:
            continue
        ci = (
            f"[{_fmt(metric['ci_low'], metric['unit'])}, {_fmt(metric['ci_high'], metric['unit'])}]"
        )
        cards.append(
            f"<div class='card'><span>{escape(name)}</span><b>"
            f"{_fmt(metric['value'], metric['unit'])}</b><span>{ci} · n={metric['n']}</span></div>"
        )
    return f"<div class='cards'>{''.join(cards)}</div>"


# --- tables --------------------------------------------------------------------------------
def _metric_table(summary: dict[str, Any]) -> str:
    rows = []
    order = {g: i for i, g in enumerate(GROUP_ORDER)}
    ranked = sorted(summary["metrics"].items(), key=lambda kv: order.get(kv[1]["group"], 99))
    for name, metric in ranked:
        unit = metric["unit"]
        ci = (
            "–"
            if metric["value"] is None
            else f"{_fmt(metric['ci_low'], unit)} – {_fmt(metric['ci_high'], unit)}"
        )
        rows.append(
            f"<tr><td>{escape(metric['group'])}</td><td>{escape(name)}</td>"
            f"<td class='n'>{_fmt(metric['value'], unit)}</td><td class='n'>{ci}</td>"
            f"<td class='n'>{metric['n']}</td><td>{escape(metric['kind'])}</td>"
            f"<td class='small'>{escape(metric['description'])}</td></tr>"
        )
    return (
        "<table><tr><th>group</th><th>metric</th><th>value</th><th>95% interval</th><th>n</th>"
        f"<th>kind</th><th>what</th></tr>{''.join(rows)}</table>"
    )


def _type_table(summary: dict[str, Any]) -> str:
    types = summary["by_question_type"]
    head = "".join(f"<th>{escape(t)} (n={v['questions']})</th>" for t, v in types.items())
    rows = []
    for name, metric in summary["metrics"].items():
        cells = "".join(
            f"<td class='n'>{_fmt(v['metrics'][name]['value'], metric['unit'])}</td>"
            for v in types.values()
        )
        rows.append(f"<tr><td>{escape(name)}</td>{cells}</tr>")
    return f"<table><tr><th>metric</th>{head}</tr>{''.join(rows)}</table>"


def failure_kinds(row: dict[str, Any]) -> list[str]:
    """Why a row is a failure; empty for a question answered right and fully supported."""
    scores, kinds = row["scores"], []
    if row["error"]:
        return ["error"]
    abstained = bool(row["prediction"] and row["prediction"]["abstained"])
    if row["gold"]["abstain"] and not abstained:
        kinds.append("should have abstained")
    elif not row["gold"]["abstain"] and abstained:
        kinds.append("abstained wrongly")
    elif scores.get("correct") == 0:
        kinds.append("wrong answer")
    if row["prediction"] and any(not s["supported"] for s in row["prediction"]["sentences"]):
        kinds.append("unsupported sentences")
    if scores.get("judge_correct") == 0 and "wrong answer" not in kinds and not abstained:
        kinds.append("judge: wrong")
    return kinds


def _failures(rows: Sequence[dict[str, Any]]) -> str:
    failing = [(r, failure_kinds(r)) for r in rows]
    failing = [(r, k) for r, k in failing if k]
    if not failing:
        return paragraph("None: every question was answered correctly with supported sentences.")
    note = f"{len(failing)} of {len(rows)} questions."
    if len(failing) > MAX_FAILURES:
        note += f" The first {MAX_FAILURES} are shown; results.jsonl has them all."
    out = [paragraph(note), "<table><tr><th>question</th><th>gold</th><th>prediction</th>"]
    out.append("<th>citations</th></tr>")
    for row, kinds in failing[:MAX_FAILURES]:
        out.append(_failure_row(row, kinds))
    out.append("</table>")
    return "".join(out)


def _failure_row(row: dict[str, Any], kinds: list[str]) -> str:
    gold = row["gold"]
    tags = "".join(f"<span class='tag'>{escape(k)}</span>" for k in kinds)
    tags += f"<span class='tag soft'>{escape(row['question_type'])}</span>"
    if row["gold_missing"]:
        tags += "<span class='tag soft'>gold article not in index</span>"
    gold_text = "abstain" if gold["abstain"] else gold["answer"]
    if gold["aliases"]:
        gold_text += f" (also: {'; '.join(gold['aliases'])})"
    prediction = row["prediction"]
    if row["error"]:
        predicted = f"<span class='fail'>{escape(row['error'])}</span>"
    else:
        predicted = escape(prediction["text"])
        unsupported = [s["text"] for s in prediction["sentences"] if not s["supported"]]
        if unsupported:
            items = "".join(f"<li>{escape(t)}</li>" for t in unsupported)
            predicted += (
                f"<div class='small'>unsupported, dropped:<ul class='cites'>{items}</ul></div>"
            )
    found = row["scores"].get("evidence_recall@k")
    if found is not None:
        # Tells a retrieval miss from a generation miss at a glance.
        share = f"{found:.0%} of the gold sentences were in the top-{len(row['retrieved'])} chunks"
        predicted += f"<div class='small'>{share}</div>"
    evidence = [e["sentence"] for e in gold["evidence"]]
    cites = []
    for c in row["citations"]:
        mark = any(same_sentence(c["text"], e) for e in evidence)
        cls = " class='gold'" if mark else ""
        cites.append(
            f"<li{cls}>[{c['n']}] {'✓ ' if mark else ''}{escape(c['text'])} "
            f"<span class='small'>{escape(c['article_id'])}</span></li>"
        )
    cited = (
        f"<ol class='cites'>{''.join(cites)}</ol>" if cites else "<span class='small'>none</span>"
    )
    return (
        f"<tr><td><b>{escape(row['id'])}</b> {tags}<br>{escape(row['question'])}</td>"
        f"<td>{escape(gold_text)}</td><td>{predicted}</td><td>{cited}</td></tr>"
    )
