"""Reading a question: its words in, what it asks out.

Enters: the question's text and the outlets the index holds. Leaves: a `Reading` (`question`):
its kind (yes/no, name, time, count, reason, a choice), its parts (`clauses`) with the outlets
each names (`sources`), their order, and the publication window its words name (`recency`).
"""
