"""Batch evaluation against golden Q&A sets: sets, metrics, runner, report, comparison.

`eval.sets` reads golden sets (JSONL), `eval.metrics` scores one question, `eval.run` answers a
set through the same code path as the API and writes `results.jsonl`, `summary.json` and
`report.html`; `eval.compare` sets two runs side by side. The CLI is `newsdesk eval ...`.
"""
