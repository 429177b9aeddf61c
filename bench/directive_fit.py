"""Fit the directive model (`rag/ingestion/directives.py`); measure it on sentences it was not
fitted on.

Fitted on `eval/sets/directives-train.jsonl` (written sentences: orders to whoever reads or
answers from a page, and news sentences that quote or report orders, address the reader as a
shopping guide does, or point at "this week"), each set at a random place into three corpus
articles whose id hashes even, and on the sentences of those articles (news). Every sentence is
read in context, as ingest reads it: chunked as ingest chunks, its vector the mean of its
chunk's token embeddings over it. A linear probe on those vectors; then a logistic regression
(scikit-learn) weighs its cross-validated logit with the grammatical signals, over the
sentences the probe does not rule out. The threshold is the lowest at which at most 1% of the
fitting news sentences score as directives (the figure the product must meet on real news).

Measured, never fitted on, by ingesting into a fresh index and reading back the `flags` that
ingest stored:
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
import random
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import DATA, ROOT, cpu_model, read_jsonl, write_results  # noqa: E402

from rag.config import Settings  # noqa: E402
from rag.desk import Desk  # noqa: E402
from rag.ingestion.articles import load_articles  # noqa: E402
from rag.ingestion.directives import (  # noqa: E402
    MODEL_PATH,
    DirectiveModel,
    chunk_spans,
    default_model,
    directive_scores,
    keeps_out,
    read_alone,
)
from rag.ingestion.ingest import plan_chunks  # noqa: E402
from rag.ingestion.sentences import split_sentences  # noqa: E402
from rag.types import (
    Article,  # noqa: E402
    embed_text,  # noqa: E402
)

SETS = ROOT / "eval" / "sets"
# Planted sentences measured by earlier fits, now fitted on: each was written to test a
# detector, so together they hold the widest range of forms there is to learn from.
FITTED = ("planted-sentences", "planted-heldback", "planted-heldback-2", "planted-heldback-3")
# Written after the stored model was fitted; measured only, each reported alone.
WRITTEN = {"planted-heldback-4": "not fitted on, written after the fit"}


def training_rows() -> list[dict]:
    """The written training sentences, then the planted sentences of the `FITTED` sets,
    labelled as directives. (Those of `planted.jsonl` are not: most of its articles share one
    story, and a probe fitted on them reads that story's news as orders.)"""
    rows = read_jsonl(SETS / "directives-train.jsonl")
    planted = [r["text"] for name in FITTED for r in read_jsonl(SETS / f"{name}.jsonl")]
    return rows + [{"text": t, "label": "directive"} for t in dict.fromkeys(planted)]


def halves() -> tuple[list[Article], list[Article]]:
    """The corpus articles and the seed: those whose id hashes even teach the model (news), the
    others (and the seed) measure it."""
    articles = load_articles([DATA / "articles.jsonl", ROOT / "seeds"], 2_000_000)
    fit_half = [
        a for a in articles if a.source and hashlib.sha1(a.id.encode()).digest()[0] % 2 == 0
    ]
    chosen = {a.id for a in fit_half}
    return fit_half, [a for a in articles if a.id not in chosen]


def read_in_context(
    articles: list[Article], embedder, settings: Settings
) -> list[tuple[list[str], np.ndarray]]:
    """Each article's headline and sentences, each with the vector ingest reads it by: from the
    first chunk that holds it."""
    out = []
    plans = plan_chunks(articles, embedder, settings)
    inputs = [
        embed_text(a.title, a.body[c.char_start : c.char_end]) for a, _, cs in plans for c in cs
    ]
    layouts = [chunk_spans(a.title, c.sentences, c.char_start) for a, _, cs in plans for c in cs]
    _, read = embedder.embed_spans(inputs, layouts)
    rows = iter(read)
    for article, _, chunks in plans:
        texts = [article.title] + [s.text for c in chunks for s in c.sentences]
        by_text: dict[str, np.ndarray] = {}
        for chunk in chunks:
            vectors = next(rows)
            for text, vector in zip(
                [article.title] + [s.text for s in chunk.sentences], vectors, strict=True
            ):
                by_text.setdefault(text, vector)
        texts = list(dict.fromkeys(texts))
        out.append((texts, np.asarray([by_text[t] for t in texts])))
    return out


def fitting_rows(
    train: list[dict], fit_half: list[Article], embedder, settings: Settings
) -> tuple[list[str], np.ndarray, np.ndarray]:
    """The fitting half's sentences (news), and each training sentence set at a random place
    into three of its articles."""
    rng = random.Random(0)
    placed = []
    for n, row in enumerate(train * 3):
        host = rng.choice(fit_half)
        lines = [s.text for s in split_sentences(host.id, host.body)]
        at = rng.randint(0, len(lines))
        body = "\n".join(lines[:at] + [row["text"]] + lines[at:])
        placed.append((replace(host, id=f"fit-{n}", body=body), row))
    texts, vectors, labels = [], [], []
    for sentences, read in read_in_context(fit_half, embedder, settings):
        texts += sentences
        vectors.append(read)
        labels += [False] * len(sentences)
    for (_, row), (sentences, read) in zip(
        placed, read_in_context([a for a, _ in placed], embedder, settings), strict=True
    ):
        if row["text"] in sentences:  # the splitter may join it to a neighbour: left out
            texts.append(row["text"])
            vectors.append(read[[sentences.index(row["text"])]])
            labels.append(row["label"] == "directive")
    return texts, np.concatenate(vectors), np.asarray(labels)


def planted_into(rows: list[dict], hosts: list[Article], tag: str) -> list[tuple[Article, str]]:
    """Each sentence set at a random place into one of `hosts` (a new article id each), as a
    line of its own, so that it stands as a sentence of that article."""
    rng = random.Random(tag)
    out = []
    for n, row in enumerate(rows):
        host = rng.choice(hosts)
        lines = [s.text for s in split_sentences(host.id, host.body)]
        at = rng.randint(0, len(lines))
        body = "\n".join(lines[:at] + [row["text"]] + lines[at:])
        out.append((replace(host, id=f"{tag}-{n}", body=body), row["text"]))
    return out


def sentence_recall(
    rows: list[dict], hosts: list[Article], tag: str, settings: Settings, embedder
) -> dict:
    """How many of the sentences ingest flags, each planted into a real article."""
    placed = planted_into(rows, hosts, tag)
    flags, _ = ingested_flags([a for a, _ in placed], settings, embedder)
    missed = []
    for article, text in placed:
        entry, (stored, spans) = flags[article.id]
        hits = _flagged_texts(entry, stored, spans)
        if not any(text in h or h in text for h in hits):
            missed.append(text)
    return {"sentences": len(rows), "found": len(rows) - len(missed), "missed": missed}


def ingested_flags(articles: list[Article], settings: Settings, embedder) -> tuple[dict, float]:
    """The flags ingest stores for these articles in a fresh index, and ingest's seconds."""
    with tempfile.TemporaryDirectory() as tmp:
        desk = Desk(settings.model_copy(update={"index_dir": Path(tmp)}), embedder=embedder)
        report = desk.ingest_articles(articles, "directives")
        index = desk.index("directives")
        return {i: (f, index.get_article(i)) for i, f in index.flags().items()}, report.seconds


def fit(
    texts: list[str], labels: np.ndarray, vectors: np.ndarray, alone: np.ndarray, real: np.ndarray
) -> DirectiveModel:
    """The first probe on the in-context vectors; then, over the sentences it lets through, the
    second on those and the sentences' own. `real`: the rows that are real news (the written
    look-alikes are not). Each threshold is read from cross-validated scores, so that the
    news it is set on was not fitted on."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GroupKFold, cross_val_predict

    # A training sentence stands in three articles: its copies stay in one fold, or the
    # cross-validated logit would be the probe remembering it.
    folds = list(GroupKFold(5).split(vectors, labels, groups=texts))
    first = LogisticRegression(C=4.0, class_weight="balanced", max_iter=2000)
    logits = cross_val_predict(first, vectors, labels, cv=folds, method="decision_function")
    first.fit(vectors, labels)
    gate = float(np.percentile(logits[labels], 2)) - 1.0
    picked = np.flatnonzero(logits >= gate)
    both = np.hstack([vectors[picked], alone[picked]])
    y = labels[picked]
    inner = list(GroupKFold(5).split(both, y, groups=[texts[i] for i in picked]))
    second = LogisticRegression(C=4.0, class_weight="balanced", max_iter=3000)
    held = cross_val_predict(second, both, y, cv=inner, method="decision_function")
    second.fit(both, y)
    scores = np.zeros(len(texts))
    scores[picked] = 1.0 / (1.0 + np.exp(-held))

    def at_most_one_percent(news: np.ndarray) -> float:
        ranked = np.sort(news)[::-1]
        return round(min(float(ranked[int(0.01 * len(ranked))]) + 0.005, 0.99), 3)

    return DirectiveModel(
        tuple(float(w) for w in first.coef_[0]),
        float(first.intercept_[0]),
        round(gate, 3),
        tuple(float(w) for w in second.coef_[0]),
        float(second.intercept_[0]),
        # a sentence: at most 1% of the real news sentences score as directives
        at_most_one_percent(scores[~labels & real]),
        # an article: above every real news sentence, and at most 1% of the written
        # look-alikes (a false alarm here costs a whole article)
        max(
            round(min(float(scores[~labels & real].max()) + 0.005, 0.99), 3),
            at_most_one_percent(scores[~labels & ~real]),
        ),
    )


def cross_validated(
    texts: list[str], labels: np.ndarray, vectors: np.ndarray, alone: np.ndarray, real: np.ndarray
) -> tuple[int, int]:
    """Directives found and real news sentences flagged when each fifth of the fitting
    sentences is scored by a model fitted (thresholds included) on the other four fifths; a
    sentence's copies stay in one fifth. What the stored model may be expected to do on
    sentences like these it never saw."""
    from sklearn.model_selection import GroupKFold

    found = flagged = 0
    for train, test in GroupKFold(5).split(vectors, labels, groups=texts):
        model = fit(
            [texts[i] for i in train], labels[train], vectors[train], alone[train], real[train]
        )
        z = model.gate_logits(vectors[test])
        p = np.where(z >= model.gate, model.probabilities(vectors[test], alone[test]), 0.0)
        found += int(((p >= model.threshold) & labels[test]).sum())
        flagged += int(((p >= model.threshold) & ~labels[test] & real[test]).sum())
    return found, flagged


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="measure the stored model only")
    args = parser.parse_args()
    settings = Settings()
    embedder = Desk(settings).embedder
    train = training_rows()
    fit_half, measure_half = halves()
    texts, vectors, labels = fitting_rows(train, fit_half, embedder, settings)
    written = {r["text"] for r in train}
    is_real = np.asarray([t not in written for t in texts])
    alone = read_alone(embedder, texts)
    if args.check:
        model = DirectiveModel.load()
    else:
        model = fit(texts, labels, vectors, alone, is_real)
        record = model.to_json() | {
            "fitted_on": "eval/sets/directives-train.jsonl and the planted sentences of "
            + ", ".join(f"{n}.jsonl" for n in FITTED)
            + " set into the corpus "
            "articles whose id hashes even, and those articles, read in context "
            "(bench/directive_fit.py)"
        }
        MODEL_PATH.write_text(json.dumps(record, indent=1) + "\n")
        default_model.cache_clear()

    real_flags, real_seconds = ingested_flags(measure_half, settings, embedder)
    real = [
        (article_id, text)
        for article_id, (_, (article, spans)) in real_flags.items()
        for text in [article.title] + [article.body[a:b] for a, b in spans]
    ]
    real_hits = [
        (article_id, text)
        for article_id, (flags, (article, spans)) in real_flags.items()
        for text in _flagged_texts(flags, article, spans)
    ]
    flagged_articles = sorted({i for i, _ in real_hits})
    kept_out = sorted(i for i, (flags, _) in real_flags.items() if keeps_out(flags).whole)

    planted = read_jsonl(SETS / "planted.jsonl")
    planted_articles = load_articles([SETS / "planted.jsonl"], 2_000_000)
    planted_flags, _ = ingested_flags(planted_articles, settings, embedder)
    found_sentences, total_sentences, flagged, whole, missed = 0, 0, 0, 0, []
    for p in planted:
        flags, (article, spans) = planted_flags[p["id"]]
        hits = _flagged_texts(flags, article, spans)
        wanted = [s.lstrip("*- ").strip() for s in p["planted_sentences"]]
        directives = [w for w in wanted if not _declarative(w, p)]
        total_sentences += len(directives)
        got = [w for w in directives if any(w in h or h in w for h in hits)]
        found_sentences += len(got)
        flagged += bool(flags)
        whole += keeps_out(flags).whole
        missed += [w for w in directives if w not in got]
    # Sentences written for measuring only, never fitted on, each set into an article of the
    # measured half; the held-back batch, written after the model was fitted, reported alone.
    sentence_sets = {
        name: sentence_recall(
            read_jsonl(SETS / f"{name}.jsonl"), measure_half, name, settings, embedder
        )
        for name in WRITTEN
        if (SETS / f"{name}.jsonl").exists()
    }
    cv_found, cv_flagged = cross_validated(texts, labels, vectors, alone, is_real)
    train_scores = directive_scores(texts, vectors, embedder, model)
    train_tp = sum(s >= model.threshold for s, y in zip(train_scores, labels, strict=True) if y)
    train_fp = sum(s >= model.threshold for s, y in zip(train_scores, labels, strict=True) if not y)
    n_pos = int(labels.sum())
    n_real = int((~labels & is_real).sum())
    train = texts
    data = {
        "machine": cpu_model(),
        "model": {
            "threshold": model.threshold,
            "article_threshold": model.article_threshold,
            "gate": model.gate,
        },
        "train": {
            "directives": n_pos,
            "found": train_tp,
            "news": len(train) - n_pos,
            "false_positives": train_fp,
            "cross_validated_found": cv_found,
            "cross_validated_false_positives": cv_flagged,
        },
        "planted": {
            "articles": len(planted),
            "flagged": flagged,
            "kept_out_whole": whole,
            "directive_sentences": total_sentences,
            "found": found_sentences,
            "missed": missed,
        },
        "sentence_sets": sentence_sets,
        "real": {
            "sentences": len(real),
            "false_positives": len(real_hits),
            "rate": round(len(real_hits) / len(real), 4),
            "flagged": [{"article_id": i, "text": t} for i, t in real_hits],
            "articles": len(real_flags),
            "articles_flagged": len(flagged_articles),
            "articles_kept_out_whole": len(kept_out),
            "ms_per_sentence": round(real_seconds * 1000 / len(real), 2),
        },
    }
    lines = [
        "# Directive detection (`python bench/directive_fit.py`)",
        "",
        f"Machine: {cpu_model()}. Model: `rag/ingestion/directive_model.json`, "
        f"threshold {model.threshold}.",
        "",
        "| set | measured on | result |",
        "|---|---|---|",
        f"| training sentences (fitted on) | {n_pos} directives / {len(train) - n_pos} news "
        f"| {train_tp} found / {train_fp} false positives |",
        f"| the same, each fifth scored by a model fitted on the rest | {n_pos} directives / "
        f"{n_real} real news | {cv_found} found (recall {cv_found / n_pos:.3f}) / "
        f"{cv_flagged} false positives ({cv_flagged / n_real:.2%}) |",
        f"| planted articles (not fitted on) | {len(planted)} articles | "
        f"{flagged} flagged ({flagged / len(planted):.3f}), {whole} kept out whole |",
        f"| planted directive sentences | {total_sentences} | {found_sentences} found "
        f"(recall {found_sentences / max(total_sentences, 1):.3f}) |",
        *(
            f"| `{name}.jsonl` ({WRITTEN[name]}) "
            f"| {r['sentences']} sentences, each planted in a real article | {r['found']} found "
            f"(recall {r['found'] / max(r['sentences'], 1):.3f}) |"
            for name, r in sentence_sets.items()
        ),
        f"| real news sentences and headlines (corpus + seed) | {len(real)} | "
        f"{len(real_hits)} false positives ({len(real_hits) / len(real):.2%}) |",
        f"| real articles | {data['real']['articles']} | {len(flagged_articles)} with a "
        f"sentence flagged, {len(kept_out)} kept out whole |",
        "",
        f"Thresholds: a sentence {model.threshold}, an article {model.article_threshold} "
        f"(first probe's gate: logit {model.gate}).",
        "",
        f"Cost: ingest of the measured half (embedding, reading in context, writing) took "
        f"{data['real']['ms_per_sentence']} ms a sentence; the reading adds an embedding of "
        "each sentence the first probe lets through (`bench/feed_ingest.py` measures ingest "
        "against the raw encoder).",
    ]
    if real_hits:
        lines += ["", "False positives:", ""] + [f"- {t}" for _, t in real_hits]
    if missed:
        lines += ["", "Planted sentences missed:", ""] + [f"- {m}" for m in missed]
    for name, r in sentence_sets.items():
        if r["missed"]:
            lines += ["", f"Missed in `{name}.jsonl`:", ""] + [f"- {m}" for m in r["missed"]]
    md, _ = write_results("directive_detection", "\n".join(lines), data)
    print(md.read_text())


def _flagged_texts(flags: list | None, article: Article, spans: list) -> list[str]:
    out = []
    for entry in flags or []:
        out += [article.title] if entry["headline"] else []
        out += [
            article.body[slice(*spans[int(i.rsplit("#", 1)[1])])] for i in entry["sentence_ids"]
        ]
    return out


def _declarative(sentence: str, planted: dict) -> bool:
    """A planted article's false claim stated as news (no order in it): not a directive, and
    kept out of answers because the article carrying it is flagged."""
    return planted.get("declarative") == sentence


if __name__ == "__main__":
    main()
