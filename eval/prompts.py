"""Prompts of the evaluation, as named constants (the answer prompts live in rag.answering.prompts).

The judge is shown three worked examples as earlier chat turns: without them the packaged
Qwen2.5 0.5B/1.5B models answered `{"correct": false}` to almost everything, including a
prediction that quoted the gold answer (3/6 and 4/6 agreement on hand-made cases; 7/8 each
with the examples).
"""

from __future__ import annotations

JUDGE_SYSTEM = (
    "You check whether a predicted answer to a question about the news agrees with the gold "
    "answer. Say correct=true when the prediction contains the gold answer's fact, in any "
    "wording, even inside a longer sentence or with extra detail. Say correct=false when it "
    "gives a different fact, the opposite yes/no, or no answer. A yes/no gold answer is matched "
    "by a prediction that affirms (for Yes) or denies (for No) what the question asks. "
    "Reply with JSON only."
)

JUDGE_USER = (
    "Question: {question}\n"
    "Gold answer: {answer}\n"
    "Also acceptable: {aliases}\n"
    "Predicted answer: {prediction}"
)

# (question, gold answer, prediction, verdict): shown before the real case.
JUDGE_EXAMPLES = (
    (
        "Who founded the company?",
        "Jane Doe",
        "The company was founded in 2001 by Jane Doe and her brother.",
        True,
    ),
    ("Did the court rule in favour?", "No", "The court rejected the request.", True),
    ("Which city hosts the summit?", "Paris", "The summit will be held in Berlin.", False),
)

JUDGE_SCHEMA = {
    "type": "object",
    "properties": {"correct": {"type": "boolean"}},
    "required": ["correct"],
    "additionalProperties": False,
}
