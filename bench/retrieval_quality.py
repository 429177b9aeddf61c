"""Retrieval quality of `Desk.search` on MultiHop-RAG dev: evidence recall, MRR, per type.

Run from the project root:

    .venv/bin/python bench/retrieval_quality.py                 # one configuration
    .venv/bin/python bench/retrieval_quality.py --chunk-max-tokens 128 --candidates 100
    .venv/bin/python bench/retrieval_quality.py --grid          # the tuning grid

What is measured
  The 326 articles of data/multihop-rag/articles.jsonl are ingested into a fresh index in a
  temp dir (Settings(index_dir=tmp)); the 136 dev questions go through `Desk.search(q, k=10)`.
  Over the 121 questions that have gold evidence (null_query questions have none), overall and
  per question_type:
    - evidence recall@10 (micro): share of all gold evidence sentences that appear, exactly, as
      the text of one of the sentences of the top-10 hits; also its per-question mean (macro)
      and the share of questions with ALL their evidence in the top 10;
    - evidence recall@5 (micro);
    - MRR@10: 1/rank of the first hit holding any gold sentence (0 when none does);
    - article recall@10: share of gold articles among the top-10 hits' articles.
  The same metrics for the two rankings the fusion combines, each cut at 10:
    - dense only: `Index.dense_search(embedding, 10)` (the query embedded as Desk.search does);
    - BM25 only: `Index.lexical.search(question, 10)`.
  The ceiling: share of gold sentences that the sentence splitter produces exactly (a gold
  "sentence" that the splitter cuts in two can never match).
  Each missed gold sentence is listed with the rank of its chunk in the full dense and the full
  BM25 ranking and with simple tags (question names an outlet / a date, ...).

  `--grid` ingests once per (chunk_max_tokens, overlap) pair and searches with every
  (candidates, rrf_k) pair, all through Desk.search; query and chunk embeddings are memoised
  across configurations (an identical text gives an identical vector), which changes no number
  but saves re-embedding. Results: bench/results/retrieval_quality.md (single configuration) or
  retrieval_quality_grid.md (--grid), with the raw numbers as .json next to them.
  A hand-written analysis of misses, bench/retrieval_quality_notes.md, is appended if present.
Quality numbers are deterministic (no timing involved).
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as C  # noqa: E402

NAME = "retrieval_quality"
NOTES = C.ROOT / "bench" / "retrieval_quality_notes.md"
K = 10
GOAL_RECALL = 0.90
METHODS = ("fused", "dense", "bm25")
GRID_CHUNKING = [(t, o) for o in (1, 0) for t in (96, 128, 160, 200, 256)] + [(128, 2)]
GRID_SEARCH = [(50, 60), (100, 60), (50, 20), (50, 10)]  # (candidates, rrf_k)
MONTHS = "January|February|March|April|May|June|July|August|September|October|November|December"
DATE_RE = re.compile(rf"\b({MONTHS})\b|\b20\d\d\b", re.I)


# --- embedder memo ---------------------------------------------------------------------------
class MemoEmbedder:
    """The project's embedder with a text -> vector memo (same text, same vector)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.name, self.dim = inner.name, inner.dim
        self._memo: dict[str, list[float]] = {}

    def embed(self, texts):
        missing = sorted({t for t in texts if t not in self._memo})
        if missing:
            self._memo.update(zip(missing, self.inner.embed(missing), strict=True))
        return [self._memo[t] for t in texts]

    def embed_query(self, text):
        return self.inner.embed_query(text)  # the int8 question path, as in service

    def count_tokens(self, texts):
        return self.inner.count_tokens(texts)


# --- scoring ---------------------------------------------------------------------------------
@dataclass
class Ranked:
    """One ranking for one question: per hit, its article and its sentence texts."""

    articles: list[str]
    sentences: list[set[str]]


def ranked_from_hits(hits) -> Ranked:
    return Ranked([h.article_id for h in hits], [{s.text for s in h.sentences} for h in hits])


def gold_of(question: dict) -> tuple[list[str], list[str]]:
    sentences = list(dict.fromkeys(e["sentence"] for e in question["evidence"]))
    articles = list(dict.fromkeys(e["article_id"] for e in question["evidence"]))
    return sentences, articles


def found_within(ranked: Ranked, gold: list[str], k: int) -> set[str]:
    seen = set().union(*ranked.sentences[:k]) if ranked.sentences[:k] else set()
    return {g for g in gold if g in seen}


def first_rank(ranked: Ranked, gold: list[str]) -> int | None:
    for rank, sentences in enumerate(ranked.sentences[:K], start=1):
        if sentences.intersection(gold):
            return rank
    return None


@dataclass
class Tally:
    questions: int = 0
    gold: int = 0
    found10: int = 0
    found5: int = 0
    macro10: float = 0.0
    complete: int = 0
    rr: float = 0.0
    gold_articles: int = 0
    found_articles: int = 0

    def add(self, ranked: Ranked, question: dict) -> None:
        gold, articles = gold_of(question)
        hit10 = found_within(ranked, gold, K)
        rank = first_rank(ranked, gold)
        self.questions += 1
        self.gold += len(gold)
        self.found10 += len(hit10)
        self.found5 += len(found_within(ranked, gold, 5))
        self.macro10 += len(hit10) / len(gold)
        self.complete += len(hit10) == len(gold)
        self.rr += 0.0 if rank is None else 1.0 / rank
        self.gold_articles += len(articles)
        self.found_articles += len(set(articles) & set(ranked.articles[:K]))

    def metrics(self) -> dict[str, float]:
        n = max(self.questions, 1)
        return {
            "questions": self.questions,
            "gold_sentences": self.gold,
            "recall@10": self.found10 / max(self.gold, 1),
            "recall@10_per_question": self.macro10 / n,
            "all_evidence@10": self.complete / n,
            "recall@5": self.found5 / max(self.gold, 1),
            "mrr@10": self.rr / n,
            "article_recall@10": self.found_articles / max(self.gold_articles, 1),
        }


def score(rankings: dict[str, Ranked], questions: list[dict]) -> dict[str, dict[str, float]]:
    """{question_type or 'all': metrics}."""
    tallies: dict[str, Tally] = defaultdict(Tally)
    for q in questions:
        for group in ("all", q["question_type"]):
            tallies[group].add(rankings[q["id"]], q)
    return {group: t.metrics() for group, t in sorted(tallies.items())}


# --- running ---------------------------------------------------------------------------------
def answerable(questions: list[dict]) -> list[dict]:
    return [q for q in questions if q["evidence"]]


def ingest(tmp: Path, embedder: MemoEmbedder, articles, name: str, **overrides) -> dict:
    from rag.desk import Desk

    settings = C.make_settings(tmp, default_index=name, **overrides)
    started = time.perf_counter()
    report = Desk(settings, embedder).ingest_articles(articles)
    return {"chunks": report.chunks_written, "seconds": time.perf_counter() - started}


def fused_rankings(tmp: Path, embedder, name: str, questions: list[dict], **overrides):
    from rag.desk import Desk

    desk = Desk(C.make_settings(tmp, default_index=name, **overrides), embedder)
    return {q["id"]: desk.search(q["question"], k=K) for q in questions}


def single_rankings(tmp: Path, embedder, name: str, questions: list[dict], n: int, **overrides):
    """Dense-only and BM25-only rankings cut at n, from the same index and retriever."""
    from rag.desk import Desk
    from rag.retrieval.retrieve import hit_of

    retriever = Desk(C.make_settings(tmp, default_index=name, **overrides), embedder).retriever()
    dense, bm25 = {}, {}
    for q in questions:
        vector = embedder.embed_query(q["question"])
        dense[q["id"]] = [hit_of(r, 0.0) for r in retriever.index.dense_search(vector, n)]
        bm25[q["id"]] = [hit_of(r, 0.0) for r in retriever.index.lexical.search(q["question"], n)]
    return dense, bm25


def evaluate(tmp: Path, embedder, name: str, questions: list[dict], **overrides) -> dict:
    """Fused, dense and BM25 scores for one index and one set of search settings."""
    fused = fused_rankings(tmp, embedder, name, questions, **overrides)
    dense, bm25 = single_rankings(tmp, embedder, name, questions, K, **overrides)
    rankings = {
        "fused": {k: ranked_from_hits(v) for k, v in fused.items()},
        "dense": {k: ranked_from_hits(v) for k, v in dense.items()},
        "bm25": {k: ranked_from_hits(v) for k, v in bm25.items()},
    }
    context = [sum(len(h.sentences) for h in hits) for hits in fused.values()]
    return {
        "scores": {m: score(rankings[m], questions) for m in METHODS},
        "fused_hits": fused,
        "sentences_per_top10": sum(context) / max(len(context), 1),
    }


# --- experiment: one search per named outlet over the whole question ----------------------
def outlet_aware_rankings(
    tmp: Path, embedder, name: str, questions: list[dict], sources: list[str], **overrides
) -> dict[str, Ranked]:
    """When a question names outlets: one Desk.search per named outlet (Filters(sources=...)),
    plus the unfiltered search, interleaved round-robin (deduplicated) to k hits."""
    from rag.desk import Desk
    from rag.types import Filters

    desk = Desk(C.make_settings(tmp, default_index=name, **overrides), embedder)
    out = {}
    for q in questions:
        keys = sorted({outlet_key(s) for s in named_outlets(q["question"], sources)})
        lists = [
            desk.search(
                q["question"],
                k=K,
                filters=Filters(sources=tuple(s for s in sources if s and outlet_key(s) == key)),
            )
            for key in keys
        ]
        lists.append(desk.search(q["question"], k=K))
        out[q["id"]] = ranked_from_hits(interleave(lists, K))
    return out


def interleave(lists: list[list], k: int) -> list:
    merged, seen = [], set()
    for rank in range(max(map(len, lists))):
        for hits in lists:
            if rank < len(hits) and hits[rank].chunk_id not in seen:
                seen.add(hits[rank].chunk_id)
                merged.append(hits[rank])
    return merged[:k]


# --- misses ----------------------------------------------------------------------------------
def chunk_sentence_texts(tmp: Path, embedder, name: str) -> dict[str, list[set[str]]]:
    """Every chunk's sentence texts, by chunk id (to locate a gold sentence's chunks)."""
    from rag.desk import Desk
    from rag.retrieval.retrieve import hit_of

    index = Desk(C.make_settings(tmp, default_index=name), embedder).index()
    return {r.id: {s.text for s in hit_of(r, 0.0).sentences} for r in index.all_chunks()}


def misses(
    tmp: Path,
    embedder,
    name: str,
    questions: list[dict],
    fused: dict,
    sources: list[str],
    articles: dict,
) -> list[dict]:
    """Each gold sentence missing from the fused top 10 (`fused`: question id -> hits), with
    where the full dense and BM25 rankings put it."""
    chunks = chunk_sentence_texts(tmp, embedder, name)
    dense, bm25 = single_rankings(tmp, embedder, name, questions, len(chunks))
    out = []
    for q in questions:
        gold, _ = gold_of(q)
        missing = [
            g for g in gold if g not in found_within(ranked_from_hits(fused[q["id"]]), gold, K)
        ]
        for sentence in missing:
            article_id = next(e["article_id"] for e in q["evidence"] if e["sentence"] == sentence)
            article = articles[article_id]
            out.append(
                {
                    "question_id": q["id"],
                    "type": q["question_type"],
                    "question": q["question"],
                    "sentence": sentence,
                    "article": f"{article.source} | {article.title} | {date_of(article)}",
                    "splittable": any(sentence in s for s in chunks.values()),
                    "dense_rank": rank_of(dense[q["id"]], sentence),
                    "bm25_rank": rank_of(bm25[q["id"]], sentence),
                    "tags": tags(q["question"], article, sources),
                    "top3": [f"{h.source} | {h.title[:60]}" for h in fused[q["id"]][:3]],
                }
            )
    return out


def rank_of(hits, sentence: str) -> int | None:
    for rank, hit in enumerate(hits, start=1):
        if any(s.text == sentence for s in hit.sentences):
            return rank
    return None


def date_of(article) -> str:
    from rag.types import iso_date

    return (iso_date(article.published_at) or "no date")[:10]


def outlet_key(source: str) -> str:
    """'Cnbc | World Business News Leader' -> 'Cnbc'; 'FOX News - Health' -> 'FOX News'."""
    return source.split(" |")[0].split(" - ")[0].strip()


def named_outlets(question: str, sources: list[str]) -> list[str]:
    """Outlets whose name appears in the question, case-sensitively ('The Age', not 'the age')."""
    return sorted({s for s in sources if s and outlet_key(s) in question})


def base_rates(questions: list[dict], sources: list[str], articles: dict) -> dict[str, float]:
    """How common each miss tag is among all answerable questions (to read the tags against)."""
    n = len(questions)
    return {
        "names_outlet": sum(bool(named_outlets(q["question"], sources)) for q in questions) / n,
        "mentions_date": sum(bool(DATE_RE.search(q["question"])) for q in questions) / n,
        "long_question": sum(len(q["question"]) > 300 for q in questions) / n,
        "evidence_per_question": sum(len(gold_of(q)[0]) for q in questions) / n,
    }


def tags(question: str, article, sources: list[str]) -> list[str]:
    found = []
    named = named_outlets(question, sources)
    if named:
        own = bool(article.source) and outlet_key(article.source) in question
        found.append(
            ("names its outlet" if own else "names other outlet(s)") + ": " + ", ".join(named[:3])
        )
    if DATE_RE.search(question):
        found.append("mentions a date")
    if len(question) > 300:
        found.append(f"long question ({len(question)} chars)")
    return found


# --- report ----------------------------------------------------------------------------------
METRIC_COLS = [
    "recall@10",
    "recall@10_per_question",
    "all_evidence@10",
    "recall@5",
    "mrr@10",
    "article_recall@10",
]


def scores_table(scores: dict[str, dict[str, dict]]) -> str:
    rows = []
    groups = list(scores["fused"])
    for group in ["all"] + [g for g in groups if g != "all"]:
        for method in METHODS:
            m = scores[method][group]
            rows.append(
                [group, method, m["questions"], m["gold_sentences"]] + [m[c] for c in METRIC_COLS]
            )
    return C.md_table(
        ["question_type", "ranking", "questions", "gold sentences"] + METRIC_COLS, rows
    )


def experiment_table(fused: dict[str, dict], outlet: dict[str, dict]) -> str:
    rows = []
    for group in ["all"] + [g for g in fused if g != "all"]:
        rows.append([group, "fused (Desk.search)"] + [fused[group][c] for c in METRIC_COLS])
        rows.append([group, "outlet-aware"] + [outlet[group][c] for c in METRIC_COLS])
    return C.md_table(["question_type", "ranking"] + METRIC_COLS, rows)


def misses_md(found: list[dict], limit: int = 40) -> str:
    if not found:
        return "No gold sentence missed."
    rows = [
        [
            m["question_id"],
            m["type"],
            m["question"][:160],
            m["sentence"][:110],
            m["article"][:80],
            m["dense_rank"] or "-",
            m["bm25_rank"] or "-",
            "yes" if m["splittable"] else "NO",
            "; ".join(m["tags"]) or "-",
        ]
        for m in found[:limit]
    ]
    return C.md_table(
        [
            "question",
            "type",
            "question text",
            "missed gold sentence",
            "its article (outlet | title | date)",
            "dense rank",
            "BM25 rank",
            "exists as a sentence",
            "tags",
        ],
        rows,
    )


def miss_summary(found: list[dict], rates: dict[str, float]) -> list[str]:
    n = len(found)
    if not n:
        return []

    def count(pred) -> int:
        return sum(1 for m in found if pred(m))

    return [
        f"- {n} gold sentences missed in all;",
        f"- not producible by the splitter (ceiling): {count(lambda m: not m['splittable'])};",
        f"- question names an outlet: {count(lambda m: any('outlet' in t for t in m['tags']))} "
        f"(the gold sentence's own outlet: "
        f"{count(lambda m: any(t.startswith('names its outlet') for t in m['tags']))}); "
        f"mentions a date: {count(lambda m: 'mentions a date' in m['tags'])}; longer than 300 "
        f"characters: {count(lambda m: any(t.startswith('long') for t in m['tags']))}. Base rates "
        f"over all answerable questions: names an outlet {rates['names_outlet']:.0%}, mentions a "
        f"date {rates['mentions_date']:.0%}, long {rates['long_question']:.0%}; "
        f"{rates['evidence_per_question']:.1f} gold sentences per question;",
        "- dense ranked it 11-50: "
        f"{count(lambda m: m['dense_rank'] and 10 < m['dense_rank'] <= 50)}"
        f", beyond 50: {count(lambda m: m['dense_rank'] and m['dense_rank'] > 50)}; "
        f"BM25 ranked it 11-50: {count(lambda m: m['bm25_rank'] and 10 < m['bm25_rank'] <= 50)}, "
        f"beyond 50 or not at all: {count(lambda m: not m['bm25_rank'] or m['bm25_rank'] > 50)};",
    ]


def render_single(data: dict) -> str:
    cfg = data["config"]
    fused = data["scores"]["fused"]["all"]
    out = [
        f"# Retrieval quality ({NAME}.py)",
        "",
        *C.machine_lines(data["machine"]),
        "",
        f"Corpus: 326 MultiHop-RAG articles -> {data['chunks']} chunks; "
        f"{fused['questions']} dev questions with evidence ({data['null_questions']} null_query "
        f"questions excluded), {fused['gold_sentences']} gold sentences. k={K}.",
        f"Settings: chunk_max_tokens={cfg['chunk_max_tokens']}, overlap={cfg['overlap']}, "
        f"candidates={cfg['candidates']}, rrf_k={cfg['rrf_k']}.",
        f"Ceiling: {data['ceiling']:.3f} of gold sentences exist exactly as one split sentence. "
        f"The fused top 10 hold {data['sentences_per_top10']:.1f} sentences on average.",
        "",
        f"**Fused evidence recall@10 = {fused['recall@10']:.3f}** (goal >= {GOAL_RECALL:.2f}: "
        f"{'met' if fused['recall@10'] >= GOAL_RECALL else 'MISSED'}).",
        "",
        "## Fused vs dense-only vs BM25-only, overall and per question type",
        "",
        scores_table(data["scores"]),
        "",
        "dense/BM25 rows are each single ranking cut at 10 (what the fusion would return alone).",
        "",
        "## Experiment: outlet-aware search (not in rag/)",
        "",
        "When the question names outlets (case-sensitive match of the outlet name), one "
        "`Desk.search` per named outlet with `Filters(sources=...)` plus the plain search, "
        "interleaved round-robin to 10 hits. Same index and settings as above.",
        "",
        experiment_table(data["scores"]["fused"], data["outlet_experiment"]),
        "",
        "## Missed gold sentences (fused top 10)",
        "",
        *miss_summary(data["misses"], data["base_rates"]),
        "",
        misses_md(data["misses"]),
        "",
    ]
    if NOTES.is_file():
        out += [
            "## Analysis of the misses (hand-written, from bench/retrieval_quality_notes.md)",
            "",
            NOTES.read_text(encoding="utf-8"),
            "",
        ]
    return "\n".join(out)


def render_grid(data: dict) -> str:
    rows = []
    for cell in data["grid"]:
        f, d, b = (cell["scores"][m]["all"] for m in METHODS)
        rows.append(
            [
                cell["chunk_max_tokens"],
                cell["overlap"],
                cell["candidates"],
                cell["rrf_k"],
                cell["chunks"],
                round(cell["sentences_per_top10"], 1),
                f["recall@10"],
                f["recall@10_per_question"],
                f["recall@5"],
                f["mrr@10"],
                f["article_recall@10"],
                d["recall@10"],
                b["recall@10"],
            ]
        )
    best = data["recommended"]
    return "\n".join(
        [
            f"# Retrieval quality grid ({NAME}.py --grid)",
            "",
            *C.machine_lines(data["machine"]),
            "",
            "Every cell: fresh ingest per (chunk_max_tokens, overlap); the 121 answerable dev "
            "questions through Desk.search(k=10). "
            "Dense/BM25 columns are the single rankings cut at 10.",
            "",
            C.md_table(
                [
                    "chunk_max_tokens",
                    "overlap",
                    "candidates",
                    "rrf_k",
                    "chunks",
                    "sentences in top 10",
                    "fused R@10",
                    "fused R@10 per q",
                    "fused R@5",
                    "fused MRR",
                    "fused art R@10",
                    "dense R@10",
                    "BM25 R@10",
                ],
                rows,
            ),
            "",
            "## Recommendation",
            "",
            f"Best fused recall@10 (ties broken by MRR, then recall@5, then fewer chunks and the "
            f"current defaults): chunk_max_tokens={best['chunk_max_tokens']}, "
            f"overlap={best['overlap']}, candidates={best['candidates']}, rrf_k={best['rrf_k']} "
            f"(R@10 {best['scores']['fused']['all']['recall@10']:.3f}, "
            f"MRR {best['scores']['fused']['all']['mrr@10']:.3f}).",
            "",
            "Read recall against `sentences in top 10`: a bigger chunk returns more sentences per "
            "hit, so recall@10 (in chunks) rises partly because the generator is handed more text.",
            "",
            "Caveat: the corpus bodies hold only the cited sentences "
            "(~210 characters, ~1 chunk per article at >= 128 tokens), "
            "so chunk size barely changes the chunks here; "
            "on full-length articles it will matter much more.",
            "",
        ]
    )


# --- main ------------------------------------------------------------------------------------
def run_single(args: argparse.Namespace) -> dict:
    from rag.ingestion.sentences import split_sentences

    info = C.machine_info()
    articles = C.load_corpus()
    by_id = {a.id: a for a in articles}
    questions = C.load_questions()
    usable = answerable(questions)
    search = {"candidates": args.candidates, "rrf_k": args.rrf_k}
    chunking = {"chunk_max_tokens": args.chunk_max_tokens, "chunk_overlap_sentences": args.overlap}
    inner, _ = C.load_embedder(C.make_settings(C.ROOT))
    embedder = MemoEmbedder(inner)
    split = {s.text for a in articles for s in split_sentences(a.id, a.body)}
    with C.temp_index_dir(NAME) as tmp:
        built = ingest(tmp, embedder, articles, "q", **chunking)
        result = evaluate(tmp, embedder, "q", usable, **chunking, **search)
        sources = sorted({a.source or "" for a in articles})
        outlet = outlet_aware_rankings(tmp, embedder, "q", usable, sources, **chunking, **search)
        found = misses(tmp, embedder, "q", usable, result["fused_hits"], sources, by_id)
        C.forget_chroma_clients()
    gold = [e["sentence"] for q in usable for e in q["evidence"]]
    return {
        "machine": info | {"load_average_end": C.load_average()},
        "config": {"chunk_max_tokens": args.chunk_max_tokens, "overlap": args.overlap} | search,
        "chunks": built["chunks"],
        "ingest_s": built["seconds"],
        "null_questions": len(questions) - len(usable),
        "ceiling": sum(g in split for g in gold) / len(gold),
        "scores": result["scores"],
        "outlet_experiment": score(outlet, usable),
        "sentences_per_top10": result["sentences_per_top10"],
        "misses": found,
        "base_rates": base_rates(usable, sorted({a.source or "" for a in articles}), by_id),
    }


def run_grid(args: argparse.Namespace) -> dict:
    info = C.machine_info()
    articles = C.load_corpus()
    usable = answerable(C.load_questions())
    inner, _ = C.load_embedder(C.make_settings(C.ROOT))
    embedder = MemoEmbedder(inner)
    cells = []
    with C.temp_index_dir(NAME + "-grid") as tmp:
        for max_tokens, overlap in GRID_CHUNKING:
            name = f"t{max_tokens}o{overlap}"
            chunking = {"chunk_max_tokens": max_tokens, "chunk_overlap_sentences": overlap}
            built = ingest(tmp, embedder, articles, name, **chunking)
            for candidates, rrf_k in GRID_SEARCH:
                result = evaluate(
                    tmp, embedder, name, usable, **chunking, candidates=candidates, rrf_k=rrf_k
                )
                cells.append(
                    {
                        "chunk_max_tokens": max_tokens,
                        "overlap": overlap,
                        "candidates": candidates,
                        "rrf_k": rrf_k,
                        "chunks": built["chunks"],
                        "sentences_per_top10": result["sentences_per_top10"],
                        "scores": result["scores"],
                    }
                )
                f = result["scores"]["fused"]["all"]
                print(
                    f"[{C.load_average()}] {name} c={candidates} rrf_k={rrf_k}: "
                    f"R@10 {f['recall@10']:.3f} MRR {f['mrr@10']:.3f}",
                    flush=True,
                )
        C.forget_chroma_clients()
    return {
        "machine": info | {"load_average_end": C.load_average()},
        "grid": cells,
        "recommended": recommend(cells),
    }


def recommend(cells: list[dict]) -> dict:
    def key(cell: dict):
        f = cell["scores"]["fused"]["all"]
        is_default = (
            cell["chunk_max_tokens"],
            cell["overlap"],
            cell["candidates"],
            cell["rrf_k"],
        ) == (160, 1, 50, 60)
        return (
            round(f["recall@10"], 4),
            round(f["mrr@10"], 4),
            round(f["recall@5"], 4),
            is_default,
            -cell["chunks"],
        )

    return max(cells, key=key)


def parse_args() -> argparse.Namespace:
    from rag.config import Settings

    defaults = Settings.model_fields
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--chunk-max-tokens", type=int, default=defaults["chunk_max_tokens"].default
    )
    parser.add_argument(
        "--overlap",
        type=int,
        default=defaults["chunk_overlap_sentences"].default,
        help="chunk_overlap_sentences",
    )
    parser.add_argument("--candidates", type=int, default=defaults["candidates"].default)
    parser.add_argument("--rrf-k", type=int, default=defaults["rrf_k"].default)
    parser.add_argument("--grid", action="store_true", help="run the tuning grid instead")
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    if args.grid:
        data = run_grid(args)
        markdown, name = render_grid(data), NAME + "_grid"
    else:
        data = run_single(args)
        markdown, name = render_single(data), NAME
    print(markdown)
    md_path, json_path = C.write_results(name, markdown, data)
    print(f"\nwritten: {md_path.relative_to(C.ROOT)}, {json_path.relative_to(C.ROOT)}")


if __name__ == "__main__":
    main()
