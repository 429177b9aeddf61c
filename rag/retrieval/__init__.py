"""Retrieval: a question in, hits out.

Enters: a question (and filters: outlets, a publication window). Leaves: the chunks that best
match it, dense and BM25 fused by reciprocal rank (`retrieve`), without the sentences (or
articles) ingest flagged as written to steer their reader.
"""
