"""Reading English: a question's words in, what it asks out; a claim's words in, what it gives.

Enters: the question's text and the outlets the index holds. Leaves: a `Reading` (`question`):
its kind (yes/no, name, time, count, reason, a choice), its parts (`clauses`) with the outlets
each names (`sources`), their order, and the publication window its words name (`recency`).
For claims and sentences (`english`): the times, counts and reasons they give, whether they
negate, the verdict they open with.
"""
