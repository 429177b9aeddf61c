"""Answering: a question, its reading and its hits in; a cited answer out.

`answer` is the pipeline: it reads the question (`rag.reading`), retrieves (`rag.retrieval`),
chooses the context sentences (`context`) and a path, each a `stage.Stage`: verdicts decided by
parts (`parts`, `support`), short answers read by the model and located (`short`, `names`),
alternatives (`alternatives`), written claims checked sentence by sentence (`claims`,
`claim_stream`, `citations`); then reports that differ (`conflicts`) and how sure the
answer is (`confidence`). Follow-ups are rewritten to stand alone first (`followup`). Leaves:
an `Answer` (`answer_types`) and the events of its stream.
"""
