"""Which lexical index keeps up with live writes: bm25s rebuilt, SQLite FTS5, or tantivy.

Run from the project root:

    .venv/bin/python bench/lexical_backends.py [--size 100000] [--queries 136]

The corpus is REPLICATED: the 326 MultiHop-RAG articles are chunked as `newsdesk ingest` chunks
them (no embedding is needed here), and the chunks are copied under new article ids up to
`--size` chunks. Every backend indexes the same tokens (bm25s's tokeniser with the English
Snowball stemmer and stop list, as the retriever tokenises), so they differ only in how they
store, update and rank.

For each backend, in this process, one after another:
  - build: index every chunk from scratch (what every write costs when the index is rebuilt);
  - write: replace 10 articles (their old chunks deleted, new chunks added) and make the change
    visible to searches;
  - search: the top 50 for each dev question, p50/p95, unfiltered and filtered to one outlet;
  - agreement: on the real chunks alone (copies would make the top 50 a tie), the share of
    bm25s's top 10 that the backend also returns (same BM25 family, different IDF details).
Results: bench/results/lexical_backends.md and .json.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sqlite3
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as C  # noqa: E402

NAME = "lexical_backends"
TOP = 50


def base_chunks() -> list[dict[str, Any]]:
    from rag.config import Settings
    from rag.ingestion.ingest import plan_chunks

    settings = Settings()
    articles = C.load_corpus()
    embedder, _ = C.load_embedder(settings)
    chunks = []
    for article, _, planned in plan_chunks(articles, embedder, settings):
        for chunk in planned:
            text = article.body[chunk.char_start : chunk.char_end]
            chunks.append(
                {
                    "id": chunk.id,
                    "article_id": article.id,
                    "source": article.source or "",
                    "published_at": article.published_at or 0,
                    "text": f"{article.source or ''} {article.title} {text}",
                }
            )
    return chunks


def replicate(base: list[dict[str, Any]], size: int) -> list[dict[str, Any]]:
    out = []
    copy = 0
    while len(out) < size:
        for chunk in base:
            if len(out) == size:
                break
            aid = f"{chunk['article_id']}.r{copy}"
            out.append(chunk | {"id": f"{aid}{chunk['id'][len(chunk['article_id']) :]}",
                                "article_id": aid})  # fmt: skip
        copy += 1
    return out


def tokenize(texts: list[str]) -> list[list[str]]:
    import bm25s
    import Stemmer

    stemmer = Stemmer.Stemmer("english")
    return bm25s.tokenize(
        texts, stopwords="en", stemmer=stemmer, return_ids=False, show_progress=False
    )


# --- backends ------------------------------------------------------------------------------------
class Bm25s:
    name = "bm25s, rebuilt on every write (today)"

    def build(self, chunks: list[dict], tokens: list[list[str]], tmp: Path) -> None:
        import bm25s

        self.chunks = chunks
        self.bm25 = bm25s.BM25()
        self.bm25.index(tokens, show_progress=False)

    def write(self, chunks, tokens, delete_articles, tmp) -> None:
        # A write rebuilds everything: the old corpus minus the deleted, plus the new chunks.
        keep = [i for i, c in enumerate(self.chunks) if c["article_id"] not in delete_articles]
        all_tokens = [self._tokens[i] for i in keep] + tokens
        self.build([self.chunks[i] for i in keep] + chunks, all_tokens, tmp)
        self._tokens = all_tokens

    def search(self, query: list[str], source: str | None) -> list[str]:
        import numpy as np

        known = [t for t in query if t in self.bm25.vocab_dict]
        if not known:
            return []
        scores = self.bm25.get_scores(known)
        if source is not None:
            mask = np.array([c["source"] == source for c in self.chunks])
            scores = np.where(mask, scores, 0.0)
        n = min(TOP, len(scores))
        top = np.argpartition(-scores, n - 1)[:n]
        top = top[np.lexsort((top, -scores[top]))]
        return [self.chunks[i]["id"] for i in top if scores[i] > 0]


class Fts5:
    name = "SQLite FTS5 (WAL), written in place"

    def build(self, chunks, tokens, tmp) -> None:
        self.path = tmp / "fts.sqlite3"
        self.db = sqlite3.connect(self.path, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute(
            "CREATE TABLE chunk (rowid INTEGER PRIMARY KEY, id TEXT UNIQUE, article_id TEXT,"
            " source TEXT, published_at INTEGER)"
        )
        self.db.execute("CREATE INDEX chunk_article ON chunk(article_id)")
        self.db.execute("CREATE VIRTUAL TABLE lex USING fts5(tokens, detail=none)")
        with self.db:
            self.db.execute("BEGIN")
            self._insert(chunks, tokens)

    def _insert(self, chunks, tokens) -> None:
        for c, t in zip(chunks, tokens, strict=True):
            cur = self.db.execute(
                "INSERT INTO chunk (id, article_id, source, published_at) VALUES (?,?,?,?)",
                (c["id"], c["article_id"], c["source"], c["published_at"]),
            )
            self.db.execute(
                "INSERT INTO lex (rowid, tokens) VALUES (?, ?)", (cur.lastrowid, " ".join(t))
            )

    def write(self, chunks, tokens, delete_articles, tmp) -> None:
        with self.db:
            self.db.execute("BEGIN")
            marks = ",".join("?" * len(delete_articles))
            rows = self.db.execute(
                f"SELECT rowid FROM chunk WHERE article_id IN ({marks})", sorted(delete_articles)
            ).fetchall()
            self.db.executemany("DELETE FROM lex WHERE rowid = ?", rows)
            self.db.executemany("DELETE FROM chunk WHERE rowid = ?", rows)
            self._insert(chunks, tokens)

    def search(self, query: list[str], source: str | None) -> list[str]:
        terms = " OR ".join(f'"{t}"' for t in dict.fromkeys(query))
        if not terms:
            return []
        sql = (
            "SELECT chunk.id FROM lex JOIN chunk ON chunk.rowid = lex.rowid "
            "WHERE lex MATCH ?"
            + (" AND chunk.source = ?" if source else "")
            + " ORDER BY bm25(lex) LIMIT ?"
        )
        args = (terms, source, TOP) if source else (terms, TOP)
        return [r[0] for r in self.db.execute(sql, args)]


class Tantivy:
    name = "tantivy (segments, merged in the background)"

    def build(self, chunks, tokens, tmp) -> None:
        import tantivy

        schema = tantivy.SchemaBuilder()
        schema.add_text_field("id", stored=True, tokenizer_name="raw")
        schema.add_text_field("article_id", tokenizer_name="raw")
        schema.add_text_field("source", tokenizer_name="raw")
        schema.add_text_field("tokens", tokenizer_name="whitespace", index_option="freq")
        self.schema = schema.build()
        path = tmp / "tantivy"
        path.mkdir(exist_ok=True)
        self.index = tantivy.Index(self.schema, path=str(path))
        self.writer = self.index.writer(heap_size=200_000_000, num_threads=1)
        for c, t in zip(chunks, tokens, strict=True):
            self.writer.add_document(self._doc(c, t))
        self.writer.commit()
        self.index.reload()

    def _doc(self, c, t):
        import tantivy

        return tantivy.Document(
            id=c["id"], article_id=c["article_id"], source=c["source"], tokens=" ".join(t)
        )

    def write(self, chunks, tokens, delete_articles, tmp) -> None:
        for aid in delete_articles:
            self.writer.delete_documents_by_term("article_id", aid)
        for c, t in zip(chunks, tokens, strict=True):
            self.writer.add_document(self._doc(c, t))
        self.writer.commit()
        self.index.reload()

    def search(self, query: list[str], source: str | None) -> list[str]:
        import tantivy

        terms = list(dict.fromkeys(query))
        if not terms:
            return []
        should = [
            (tantivy.Occur.Should, tantivy.Query.term_query(self.schema, "tokens", t))
            for t in terms
        ]
        q = tantivy.Query.boolean_query(should)
        if source:
            q = tantivy.Query.boolean_query(
                [
                    (tantivy.Occur.Must, q),
                    (tantivy.Occur.Must, tantivy.Query.term_query(self.schema, "source", source)),
                ]
            )
        searcher = self.index.searcher()
        hits = searcher.search(q, TOP).hits
        return [searcher.doc(addr)["id"][0] for _, addr in hits]


def agreement(backend, base, queries, reference: dict[int, list[str]]) -> float:
    """Build on the real chunks only; bm25s (first) fills `reference`, the others compare."""
    tmp = Path(tempfile.mkdtemp(prefix="lexbench-base-"))
    try:
        backend._tokens = tokenize([c["text"] for c in base])
        backend.build(base, backend._tokens, tmp)
        shared = []
        for i, query in enumerate(queries):
            got = backend.search(query, None)[:10]
            if isinstance(backend, Bm25s):
                reference[i] = got
            elif reference.get(i):
                shared.append(len(set(got) & set(reference[i])) / len(reference[i]))
        return sum(shared) / len(shared) if shared else 1.0
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


# --- measuring -----------------------------------------------------------------------------------
def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=136)
    args = parser.parse_args()

    base = base_chunks()
    chunks = replicate(base, args.size)
    started = time.perf_counter()
    tokens = tokenize([c["text"] for c in chunks])
    tokenize_s = time.perf_counter() - started
    questions = [json.loads(line)["question"] for line in C.QUESTIONS.open()][: args.queries]
    queries = tokenize(questions)
    sources = sorted({c["source"] for c in base if c["source"]})
    # The write: 10 articles of the first copy replaced by edited versions (new chunk ids).
    edited_articles = sorted({c["article_id"] for c in chunks[: len(base)]})[:10]
    new_chunks = [
        c | {"id": c["id"].replace("@", "@v2")}
        for c in chunks[: len(base)]
        if c["article_id"] in edited_articles
    ]
    new_tokens = tokenize([c["text"] + " corrected" for c in new_chunks])

    rows = []
    reference: dict[int, list[str]] = {}
    for backend in (Bm25s(), Fts5(), Tantivy()):
        tmp = Path(tempfile.mkdtemp(prefix="lexbench-"))
        try:
            agree = agreement(backend, base, queries, reference)
            backend._tokens = tokens
            started = time.perf_counter()
            (tmp / "full").mkdir()
            backend.build(chunks, tokens, tmp / "full")
            build_s = time.perf_counter() - started
            plain, filtered = [], []
            for i, query in enumerate(queries):
                t0 = time.perf_counter()
                backend.search(query, None)
                plain.append((time.perf_counter() - t0) * 1000)
                t0 = time.perf_counter()
                backend.search(query, sources[i % len(sources)])
                filtered.append((time.perf_counter() - t0) * 1000)
            writes = []
            for _ in range(3):
                started = time.perf_counter()
                backend.write(new_chunks, new_tokens, set(edited_articles), tmp / "full")
                writes.append(time.perf_counter() - started)
            found = backend.search(tokenize(["corrected"])[0], None)
            rows.append(
                {
                    "backend": backend.name,
                    "build_s": build_s,
                    "write_10_s": sorted(writes)[1],
                    "search_p50_ms": pct(plain, 0.5),
                    "search_p95_ms": pct(plain, 0.95),
                    "filtered_p50_ms": pct(filtered, 0.5),
                    "filtered_p95_ms": pct(filtered, 0.95),
                    "agreement_top10": agree,
                    "write_visible": len(found) == min(TOP, len(new_chunks)),
                    "disk_mb": sum(f.stat().st_size for f in tmp.rglob("*") if f.is_file()) / 2**20,
                }
            )
            print(json.dumps(rows[-1]), flush=True)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    today = rows[0]["build_s"]
    table = C.md_table(
        ["backend", "full build", "10-article write", "write / today's rebuild",
         "search p50 / p95", "outlet-filtered p50 / p95",
         "top-10 shared with bm25s (real chunks)", "disk"],
        [
            [
                r["backend"],
                f"{r['build_s']:.1f} s",
                f"{r['write_10_s'] * 1000:.0f} ms",
                f"{r['write_10_s'] / today:.4f}x",
                f"{r['search_p50_ms']:.1f} / {r['search_p95_ms']:.1f} ms",
                f"{r['filtered_p50_ms']:.1f} / {r['filtered_p95_ms']:.1f} ms",
                f"{r['agreement_top10']:.2f}",
                f"{r['disk_mb']:.0f} MB",
            ]
            for r in rows
        ],
    )  # fmt: skip
    body = "\n".join(
        ["# Lexical index backends", "", *C.machine_lines(C.machine_info()), "", ""]
    ) + (
        f"{len(chunks):,} chunks ({len(base)} real chunks replicated), {len(queries)} dev "
        f"questions, top {TOP}. Tokenising the corpus (shared by all, not in the figures): "
        f"{tokenize_s:.1f} s. 'today's rebuild' = bm25s's full build.\n\n{table}\n"
    )
    C.write_results(NAME, body, {"size": len(chunks), "rows": rows, "tokenize_s": tokenize_s})


if __name__ == "__main__":
    main()
