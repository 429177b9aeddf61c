"""A model judge for free-text correctness, through the generator contract.

Any registered generator can judge (`--judge llamacpp`, `--judge openai`, or a test backend
registered like a real one). It gets the fixed prompt in `eval.prompts` and must answer
`{"correct": true|false}`; anything else is recorded as no verdict (None), never guessed.
Off by default: the deterministic metrics do not depend on it.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from eval.prompts import JUDGE_EXAMPLES, JUDGE_SCHEMA, JUDGE_SYSTEM, JUDGE_USER
from rag.generators.base import GenerationRequest, Generator

JUDGE_MAX_TOKENS = 16
_VERDICT = re.compile(r'"correct"\s*:\s*(true|false)', re.I)


@dataclass(frozen=True)
class Verdict:
    correct: bool | None  # None: the judge did not give a readable verdict
    raw: str
    model: str


def judge_messages(question: str, answers: list[str], prediction: str) -> list[dict[str, str]]:
    """System prompt, the worked examples as earlier turns, then the case to judge."""
    messages = [{"role": "system", "content": JUDGE_SYSTEM}]
    for q, answer, predicted, verdict in JUDGE_EXAMPLES:
        user = JUDGE_USER.format(question=q, answer=answer, aliases="(none)", prediction=predicted)
        messages.append({"role": "user", "content": user})
        messages.append({"role": "assistant", "content": json.dumps({"correct": verdict})})
    user = JUDGE_USER.format(
        question=question,
        answer=answers[0],
        aliases="; ".join(answers[1:]) or "(none)",
        prediction=prediction,
    )
    messages.append({"role": "user", "content": user})
    return messages


def judge_request(question: str, answers: list[str], prediction: str) -> GenerationRequest:
    return GenerationRequest(
        messages=judge_messages(question, answers, prediction),
        json_schema=JUDGE_SCHEMA,
        max_tokens=JUDGE_MAX_TOKENS,
        temperature=0.0,
        question=question,
    )


def read_verdict(raw: str) -> bool | None:
    """`{"correct": true}` as asked; failing that, the first "correct": true|false in it."""
    try:
        data = json.loads(raw.strip())
    except json.JSONDecodeError:
        data = None
    if isinstance(data, dict) and isinstance(data.get("correct"), bool):
        return data["correct"]
    match = _VERDICT.search(raw)
    return None if match is None else match.group(1).lower() == "true"


def judge(
    generator: Generator, question: str, answers: list[str], prediction: str, timeout_s: float
) -> Verdict:
    request = judge_request(question, answers, prediction)
    if not generator.supports_json_schema:
        request.json_schema = None
    request.timeout_s = timeout_s
    raw = "".join(generator.stream(request))
    return Verdict(read_verdict(raw), raw, generator.model_id)
