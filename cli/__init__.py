"""The `newsdesk` command line, at the top of the house: it drives `rag`, serves `api` and runs
`eval`; nothing below imports it."""
