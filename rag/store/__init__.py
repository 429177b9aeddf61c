"""The store: what is kept, and how it is searched.

Enters: chunks with their vectors and article records (from `rag.ingestion`), queries.
Leaves: dense hits from Chroma (`index`), BM25 hits (`lexical`), the vectors of any text
(`embedding`: all-MiniLM-L6-v2, and the token states ingest reads sentences by), and the
folders an index lives in with the settings it was built with (`folders`).
"""
