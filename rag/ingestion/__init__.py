"""Ingestion: articles in, an index's records out.

Enters: article files (JSON lines, Markdown, text) or `Article` records from feeds and the API.
Leaves: each article split into sentences (`sentences`) and chunks (`chunking`), its sentences
read for text that tells their reader what to do (`directives`), and the chunks, vectors,
article records and flags written to the index idempotently (`ingest`, into `rag.store`).
"""
