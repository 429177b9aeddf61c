"""Newsdesk: ask questions of the news and get answers cited to source sentences.

Importing this package loads no model and opens no database; see `rag.config.Settings`.
"""
