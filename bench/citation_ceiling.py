"""How precise can a short answer's citations be against the MultiHop-RAG gold sentences?

A short answer (a name) cites the sentence the reply was located in, then, from each other
article read that names the answer, its sentence holding most of the question's words
(`rag.answering.names.witnesses`, `short_cited_articles` articles at most). This rebuilds,
for every short answer of an eval run, the sentences the answer could cite (the same context
and hits the pipeline read, on an index built from the corpus by `newsdesk ingest`) and scores
other ways of choosing them against the gold evidence sentences, as `eval/metrics.py` does
(citation precision and recall, averaged over questions):

* as answered (the witnesses, capped), and the located sentence alone;
* every article that names the answer (no cap): the most the witnesses can recall;
* for each clause of the question (cut at commas and conjunctions by spaCy's parse), the
  sentence naming the answer nearest it by MiniLM cosine, kept at or above a threshold;
* a logistic selector over each witness's features (share of the question's words, cosine
  with the question, the support model's score, rank, whether its outlet is named, whether
  it was in the context), scored by 5-fold cross-validation grouped by question.

It also counts where the answered citations come from: a gold sentence, another sentence of
a gold article, or an article that is not gold (of an outlet the question names or not).

    .venv/bin/python bench/citation_ceiling.py [--run docs/eval/split-dev-qwen1.5b]
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as C  # noqa: E402

from eval.metrics import same_sentence  # noqa: E402
from rag.answering.context import question_terms, relevance  # noqa: E402
from rag.answering.names import Located, names_it, witnesses  # noqa: E402
from rag.answering.part_search import gather, merged_hits  # noqa: E402
from rag.answering.parts import candidates_of  # noqa: E402
from rag.answering.support import default_model, features  # noqa: E402
from rag.desk import Desk  # noqa: E402
from rag.reading.english import parser  # noqa: E402
from rag.reading.question import read_question  # noqa: E402

NAME = "citation_ceiling"
THRESHOLDS = (0.3, 0.4, 0.5, 0.6)


def matches(text: str, gold: list[str]) -> bool:
    return any(same_sentence(text, g) for g in gold)


def scored(cited: list[str], gold: list[str]) -> tuple[float, float]:
    cited = list(dict.fromkeys(cited))
    precision = sum(matches(t, gold) for t in cited) / len(cited)
    return precision, sum(matches(g, cited) for g in gold) / len(gold)


def clauses(question: str) -> list[str]:
    """The question cut at commas, semicolons and conjunctions (spaCy's tags)."""
    pieces: list[str] = []
    current: list[str] = []
    for token in parser()(question):
        if token.text in (",", ";") or token.tag_ == "CC":
            pieces.append(" ".join(current))
            current = []
        else:
            current.append(token.text)
    pieces.append(" ".join(current))
    return [p for p in pieces if len(p.split()) >= 4]


def rebuild(desk: Desk, rows: list[dict]) -> list[dict[str, Any]]:
    """For each short answer: what it read and what it cited."""
    settings = desk.settings
    answerer = desk.answerer(backend="extractive")
    retriever = answerer.retriever
    out = []
    for row in rows:
        question = row["question"]
        reading = read_question(question, retriever.outlets())
        named = any(p.outlets for p in reading.parts)
        k = settings.answer_hits
        evidence = gather(retriever, question, reading, k) if named else []
        hits = retriever.search(question, k)
        hits = merged_hits(evidence, hits)[: k + len(evidence)] if evidence else hits
        news = retriever.without_instructions(hits)
        context = answerer.select_context(question, news, settings.short_context_tokens)
        pool = {c.sentence.id: c for c in [*context, *candidates_of(news)]}
        item = pool.get(row["citations"][0]["sentence_id"])
        if item is None:
            continue
        answer = re.sub(r"\s*\[\d+\]", "", row["prediction"]["text"]).strip().rstrip(".")
        out.append(
            {
                "row": row,
                "reading": reading,
                "context": {c.sentence.id for c in context},
                "pool": list(pool.values()),
                "located": Located(item, answer, 0, 0),
                "gold": [e["sentence"] for e in row["gold"]["evidence"]],
                "gold_articles": {e["article_id"] for e in row["gold"]["evidence"]},
            }
        )
    return out


def witness_rows(desk: Desk, item: dict[str, Any]) -> list[dict[str, Any]]:
    """Every witness of the answer, with its features and whether it is a gold sentence."""
    question = item["row"]["question"]
    found = witnesses(item["located"], question, item["pool"], None)
    texts = [w.sentence.text for w in found]
    embedded = desk.embedder.embed([question, *texts])
    vectors = np.asarray(embedded)
    support = default_model().scores(
        features(question, texts, [w.title for w in found], embedded[0], embedded[1:])
    )
    terms = question_terms(question)
    return [
        {
            "text": w.sentence.text,
            "x": [
                relevance(terms, w.sentence.text),
                float(vectors[0] @ vectors[i + 1]),
                float(support[i]),
                min(i, 6),
                float(w.source in item["reading"].sources),
                float(w.sentence.id in item["context"]),
            ],
            "gold": matches(w.sentence.text, item["gold"]),
        }
        for i, w in enumerate(found)
    ]


def nearest_per_clause(desk: Desk, item: dict[str, Any], threshold: float) -> list[str]:
    naming = [c for c in item["pool"] if names_it(item["located"].text, c.sentence.text)]
    pieces = clauses(item["row"]["question"])
    if not naming or not pieces:
        return [item["located"].item.sentence.text]
    vectors = np.asarray(desk.embedder.embed(pieces + [c.sentence.text for c in naming]))
    similarity = vectors[: len(pieces)] @ vectors[len(pieces) :].T
    kept = [naming[int(row.argmax())].sentence.text for row in similarity if row.max() >= threshold]
    return kept or [item["located"].item.sentence.text]


def selector(
    rows: list[list[dict[str, Any]]], gold_counts: list[int]
) -> dict[float, tuple[float, float, float]]:
    """Grouped 5-fold cross-validated logistic selector: P, R, citations per question."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GroupKFold

    x = np.asarray([w["x"] for ws in rows for w in ws])
    y = np.asarray([w["gold"] for ws in rows for w in ws])
    groups = np.asarray([i for i, ws in enumerate(rows) for _ in ws])
    p = np.zeros(len(y))
    for train, test in GroupKFold(5).split(x, y, groups):
        model = LogisticRegression(max_iter=2000).fit(x[train], y[train])
        p[test] = model.predict_proba(x[test])[:, 1]
    out = {}
    for threshold in THRESHOLDS:
        ps, rs, ns = [], [], []
        for i, ws in enumerate(rows):
            probs = p[groups == i]
            kept = [w for w, q in zip(ws, probs, strict=True) if q >= threshold]
            kept = kept or [ws[int(np.argmax(probs))]]
            ps.append(np.mean([w["gold"] for w in kept]))
            rs.append(min(1.0, sum(w["gold"] for w in kept) / gold_counts[i]))
            ns.append(len(kept))
        out[threshold] = (float(np.mean(ps)), float(np.mean(rs)), float(np.mean(ns)))
    return out


def main() -> None:
    parser_ = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser_.add_argument("--run", type=Path, default=C.ROOT / "docs/eval/split-dev-qwen1.5b")
    args = parser_.parse_args()
    results = [json.loads(line) for line in (args.run / "results.jsonl").open()]
    short = [
        r
        for r in results
        if r["prediction"].get("mode") == "short"
        and not r["prediction"]["abstained"]
        and r["gold"]["evidence"]
        and not r["gold"]["abstain"]
        and r["citations"]
    ]
    with C.temp_index_dir(NAME) as tmp:
        C.ingest_with_cli(tmp, [C.ARTICLES])
        desk = Desk(C.make_settings(tmp))
        cap = desk.settings.short_cited_articles
        items = rebuild(desk, short)
        policies: dict[str, list[tuple[float, float, int]]] = {}

        def add(name: str, cited: list[str], item: dict[str, Any]) -> None:
            p, r = scored(cited, item["gold"])
            policies.setdefault(name, []).append((p, r, len(set(cited))))

        origin: Counter[str] = Counter()
        rows, gold_counts = [], []
        for item in items:
            question = item["row"]["question"]
            answered = witnesses(item["located"], question, item["pool"], cap)
            add(f"as answered ({cap} articles at most)", [w.sentence.text for w in answered], item)
            add("the located sentence alone", [item["located"].item.sentence.text], item)
            every = witnesses(item["located"], question, item["pool"], None)
            add("every article naming the answer", [w.sentence.text for w in every], item)
            for threshold in THRESHOLDS:
                add(
                    f"each clause's nearest naming sentence, cosine >= {threshold}",
                    nearest_per_clause(desk, item, threshold),
                    item,
                )
            for w in answered:
                if matches(w.sentence.text, item["gold"]):
                    origin["a gold sentence"] += 1
                elif w.article_id in item["gold_articles"]:
                    origin["another sentence of a gold article"] += 1
                elif w.source in item["reading"].sources:
                    origin["an article not gold, of an outlet the question names"] += 1
                else:
                    origin["an article not gold, of an outlet it does not name"] += 1
            rows.append(witness_rows(desk, item))
            gold_counts.append(len(item["gold"]))
        selected = selector(rows, gold_counts)

    table = [
        [name, len(v), *(f"{np.mean([row[j] for row in v]):.3f}" for j in range(3))]
        for name, v in policies.items()
    ]
    table += [
        [f"logistic selector (grouped 5-fold CV), p >= {t}", len(rows), *(f"{z:.3f}" for z in f)]
        for t, f in selected.items()
    ]
    info = C.machine_info()
    run_name = args.run.relative_to(C.ROOT) if args.run.is_relative_to(C.ROOT) else args.run
    markdown = "\n".join(
        [
            f"# Short answers' citations against the gold sentences ({NAME}.py)",
            "",
            *C.machine_lines(info),
            f"- Run: `{run_name}` ({len(items)} short answers rebuilt of {len(short)})",
            "",
            C.md_table(["citations chosen", "answers", "precision", "recall", "cited"], table),
            "",
            "Where the answered citations come from:",
            "",
            C.md_table(["source", "citations"], sorted(origin.items(), key=lambda kv: -kv[1])),
            "",
        ]
    )
    C.write_results(NAME, markdown, {"machine": info, "policies": table, "origin": dict(origin)})
    print(markdown)


if __name__ == "__main__":
    main()
