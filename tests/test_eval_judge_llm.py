"""The model judge with a real packaged model (Qwen2.5 0.5B through llama.cpp)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from eval.judge import judge
from rag import models
from rag.generators import registry

pytestmark = pytest.mark.llm

CASES = [  # (question, gold answers, prediction, expected verdict)
    (
        "Who did Russia invite to Moscow?",
        ["Volodymyr Zelensky", "Zelensky"],
        "Russia has formally invited Ukrainian President Volodymyr Zelensky to Moscow.",
        True,
    ),
    ("Who did Russia invite to Moscow?", ["Volodymyr Zelensky"], "Mikhail Galuzin.", False),
    ("How many regions?", ["four", "4"], "Russia claims to have annexed three regions.", False),
    (
        "Is Russia open to discussing other issues?",
        ["Yes"],
        "He added Russia is open to discussing other issues, but talks must be based on equality.",
        True,
    ),
]


@pytest.fixture(scope="module")
def small_llm(tmp_path_factory: pytest.TempPathFactory) -> Iterator:
    cache: Path = tmp_path_factory.mktemp("models")
    models.resolve_model("qwen0.5b", cache, progress=False)
    generator = registry.create("llamacpp", model="qwen0.5b", cache_dir=cache, n_ctx=2048)
    yield generator
    generator.close()


def test_a_small_model_gives_readable_mostly_right_verdicts(small_llm) -> None:
    verdicts = [judge(small_llm, q, answers, p, 120.0) for q, answers, p, _ in CASES]
    assert all(v.correct in (True, False) for v in verdicts), [v.raw for v in verdicts]
    agree = sum(v.correct == expected for v, (*_, expected) in zip(verdicts, CASES, strict=True))
    assert agree >= 3, [v.raw for v in verdicts]
