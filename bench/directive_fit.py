"""Fit the directive model (`rag/directives.py`); measure it on sentences it was not fitted on.

Fitted on `eval/sets/directives-train.jsonl` (written sentences: orders to whoever reads or
answers from a page, and news sentences that quote or report orders, address the reader as a
shopping guide does, or point at "this week") and on the sentences of the corpus articles whose
id hashes even (news). A linear probe on the embeddings; then a logistic regression
(scikit-learn) weighs its cross-validated logit with the grammatical signals, over the
sentences the probe does not rule out. The threshold is the lowest at which at most 1% of the
fitting news sentences score as directives (the figure the product must meet on real news).

Measured, never fitted on:
- the planted articles of `eval/sets/planted.jsonl`: each planted sentence found (recall), and
  each article flagged;
- every sentence and headline of the other half of the corpus and of the seed article (false
  positives).

    python bench/directive_fit.py [--check]   # --check: measure the stored model, write nothing
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import DATA, ROOT, cpu_model, read_jsonl, write_results  # noqa: E402

from rag.articles import load_articles  # noqa: E402
from rag.config import Settings  # noqa: E402
from rag.desk import Desk  # noqa: E402
from rag.directives import (  # noqa: E402
    FEATURES,
    MODEL_PATH,
    DirectiveModel,
    directive_scores,
    find_directives,
    grammar,
)
from rag.sentences import split_sentences  # noqa: E402

SETS = ROOT / "eval" / "sets"


def real_sentences() -> list[dict]:
    """Every sentence (and headline) of the corpus and the seed article, with the half it
    belongs to: articles whose id hashes even teach the model (news), the others measure it."""
    articles = load_articles([DATA / "articles.jsonl", ROOT / "seeds"], 2_000_000)
    out = []
    for a in articles:
        half = "fit" if a.source and hashlib.sha1(a.id.encode()).digest()[0] % 2 == 0 else "measure"
        out.append({"article_id": a.id, "half": half, "text": a.title})
        out += [
            {"article_id": a.id, "half": half, "text": s.text}
            for s in split_sentences(a.id, a.body)
        ]
    return out


def fit(texts: list[str], labels: np.ndarray, vectors: np.ndarray) -> DirectiveModel:
    """The probe on the embeddings; then, over the sentences it lets through, the logistic model
    on its (cross-validated) logit and the grammatical signals."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import cross_val_predict

    probe = LogisticRegression(C=4.0, class_weight="balanced", max_iter=2000)
    logits = cross_val_predict(probe, vectors, labels, cv=5, method="decision_function")
    probe.fit(vectors, labels)
    gate = float(np.percentile(logits[labels], 2)) - 1.0
    picked = [i for i, z in enumerate(logits) if z >= gate]
    rows = np.column_stack([np.asarray(grammar([texts[i] for i in picked])), logits[picked]])
    y = labels[picked]
    # Indicative reports score 0 whatever the weights: the weights are fitted on the others.
    free = rows[:, FEATURES.index("indicative")] == 0
    clf = LogisticRegression(C=1.0, class_weight="balanced", max_iter=1000).fit(rows[free], y[free])
    model = DirectiveModel(
        tuple(float(w) for w in probe.coef_[0]),
        float(probe.intercept_[0]),
        tuple(float(w) for w in clf.coef_[0]),
        float(clf.intercept_[0]),
        0.5,
        round(gate, 3),
    )
    scores = np.zeros(len(texts))
    scores[picked] = model.scores(rows)
    # The threshold: the lowest at which at most 1% of the fitting news sentences score as
    # directives (a flagged article is kept out of answers, so false positives cost answers).
    news = np.sort(scores[~labels])[::-1]
    allowed = int(0.01 * len(news))
    best = min(float(news[allowed]) + 0.01, 0.95)
    return replace(model, threshold=round(float(best), 2))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="measure the stored model only")
    args = parser.parse_args()
    settings = Settings()
    embedder = Desk(settings).embedder
    train = read_jsonl(SETS / "directives-train.jsonl")
    real_all = real_sentences()
    fitting = train + [{"text": r["text"], "label": "news"} for r in real_all if r["half"] == "fit"]
    if args.check:
        model = DirectiveModel.load()
    else:
        texts = [r["text"] for r in fitting]
        labels = np.asarray([r["label"] == "directive" for r in fitting])
        model = fit(texts, labels, np.asarray(embedder.embed(texts), dtype=float))
        record = model.to_json() | {
            "fitted_on": "eval/sets/directives-train.jsonl and the corpus articles whose id "
            "hashes even (bench/directive_fit.py)"
        }
        MODEL_PATH.write_text(json.dumps(record, indent=1) + "\n")

    started = time.perf_counter()
    real = [r for r in real_all if r["half"] == "measure"]
    real_hits = find_directives([r["text"] for r in real], embedder.embed, model)
    real_seconds = time.perf_counter() - started
    flagged_articles = sorted({real[i]["article_id"] for i in real_hits})

    planted = read_jsonl(SETS / "planted.jsonl")
    found_sentences, total_sentences, flagged, missed = 0, 0, 0, []
    for p in planted:
        texts = [p["title"]] + [s.text for s in split_sentences(p["id"], p["body"])]
        hits = {texts[i] for i in find_directives(texts, embedder.embed, model)}
        wanted = [s.lstrip("*- ").strip() for s in p["planted_sentences"]]
        directives = [w for w in wanted if not _declarative(w, p)]
        total_sentences += len(directives)
        got = [w for w in directives if any(w in h or h in w for h in hits)]
        found_sentences += len(got)
        flagged += bool(hits)
        missed += [w for w in directives if w not in got]
    train = fitting
    train_scores = directive_scores([r["text"] for r in train], embedder.embed, model)
    train_tp = sum(
        s >= model.threshold
        for s, r in zip(train_scores, train, strict=True)
        if r["label"] == "directive"
    )
    train_fp = sum(
        s >= model.threshold
        for s, r in zip(train_scores, train, strict=True)
        if r["label"] != "directive"
    )
    n_pos = sum(r["label"] == "directive" for r in train)
    data = {
        "machine": cpu_model(),
        "model": {
            "weights": dict(zip(FEATURES, model.weights, strict=True)),
            "bias": model.bias,
            "threshold": model.threshold,
        },
        "train": {
            "directives": n_pos,
            "found": train_tp,
            "news": len(train) - n_pos,
            "false_positives": train_fp,
        },
        "planted": {
            "articles": len(planted),
            "flagged": flagged,
            "directive_sentences": total_sentences,
            "found": found_sentences,
            "missed": missed,
        },
        "real": {
            "sentences": len(real),
            "false_positives": len(real_hits),
            "rate": round(len(real_hits) / len(real), 4),
            "flagged": [real[i] for i in real_hits],
            "articles": len({r["article_id"] for r in real}),
            "articles_flagged": len(flagged_articles),
            "ms_per_sentence": round(real_seconds * 1000 / len(real), 2),
        },
    }
    lines = [
        "# Directive detection (`python bench/directive_fit.py`)",
        "",
        f"Machine: {cpu_model()}. Model: `rag/directive_model.json`, threshold {model.threshold}.",
        "",
        "| set | measured on | result |",
        "|---|---|---|",
        f"| training sentences (fitted on) | {n_pos} directives / {len(train) - n_pos} news "
        f"| {train_tp} found / {train_fp} false positives |",
        f"| planted articles (not fitted on) | {len(planted)} articles | {flagged} flagged "
        f"({flagged / len(planted):.3f}) |",
        f"| planted directive sentences | {total_sentences} | {found_sentences} found "
        f"(recall {found_sentences / max(total_sentences, 1):.3f}) |",
        f"| real news sentences and headlines (corpus + seed) | {len(real)} | "
        f"{len(real_hits)} false positives ({len(real_hits) / len(real):.2%}) |",
        f"| real articles | {data['real']['articles']} | {len(flagged_articles)} flagged |",
        "",
        f"Cost: {data['real']['ms_per_sentence']} ms a sentence (an embedding for each, a "
        "parse for those the probe lets through), one thread of two.",
        "",
        "Weights: "
        + ", ".join(f"{k} {v:+.2f}" for k, v in data["model"]["weights"].items())
        + f", bias {model.bias:+.2f}.",
    ]
    if real_hits:
        lines += ["", "False positives:", ""] + [f"- {real[i]['text']}" for i in real_hits]
    if missed:
        lines += ["", "Planted sentences missed:", ""] + [f"- {m}" for m in missed]
    md, _ = write_results("directive_detection", "\n".join(lines), data)
    print(md.read_text())


def _declarative(sentence: str, planted: dict) -> bool:
    """A planted article's false claim stated as news (no order in it): not a directive, and
    kept out of answers because the article carrying it is flagged."""
    return planted.get("declarative") == sentence


if __name__ == "__main__":
    main()
