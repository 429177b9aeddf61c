"""Every evaluation metric on hand-made cases; the bootstrap; the judge's verdict reading."""

from __future__ import annotations

import json
from collections.abc import Iterator

import numpy as np
import pytest

from eval import metrics as m
from eval.judge import judge, read_verdict
from eval.metrics import METRICS, Prediction, aggregate, score
from eval.sets import Evidence, GoldItem
from eval.stats import bootstrap, paired_bootstrap
from rag.generators import registry
from rag.generators.base import GenerationRequest

ART = "a1"
S1 = "Russia has formally invited Zelensky to Moscow for peace talks on Friday."
S2 = "The four regions are Donetsk, Luhansk, Kherson and Zaporizhzhia."
S3 = "The annexation is widely condemned as illegal."


def gold(answer="Moscow", aliases=(), abstain=False, evidence=(S1,), qtype="factoid") -> GoldItem:
    return GoldItem(
        id="q1",
        question="Where was Zelensky invited?",
        answer=answer,
        aliases=tuple(aliases),
        question_type=qtype,
        abstain=abstain,
        evidence=tuple(Evidence(ART, s) for s in evidence),
    )


def cite(n: int, text: str, article_id: str = ART) -> dict:
    return {"n": n, "article_id": article_id, "sentence_id": f"{article_id}#{n}", "text": text}


def pred(text="To Moscow. [1]", abstained=False, citations=(), sentences=None, **kw) -> Prediction:
    if sentences is None:
        sentences = [{"text": text, "citations": [c["n"] for c in citations], "supported": True}]
    return Prediction(
        text=text, abstained=abstained, sentences=sentences, citations=list(citations), **kw
    )


ABSTAIN = pred("The indexed news does not say.", abstained=True, sentences=[])


def test_registry_separates_deterministic_from_judged_metrics() -> None:
    judged = {name for name, metric in METRICS.items() if metric.kind == "judged"}
    assert judged == {"judge_correct"}
    assert {"correct", "exact_match", "token_f1", "yes_no_match", "citation_recall",
            "citation_precision", "supported_rate", "abstention_precision", "abstention_recall",
            "evidence_recall@k", "evidence_mrr@k", "latency_p50", "latency_p95", "ttft_p50",
            "ttft_p95"} <= set(METRICS)  # fmt: skip
    with pytest.raises(ValueError, match="already registered"):
        m.metric("correct")(lambda g, p: 0.0)


# --- text normalisation and answer correctness ----------------------------------------------
def test_normalise_is_squad_like_and_drops_citation_markers() -> None:
    assert m.normalise("The “Moscow”, [1][2] talks!") == "moscow talks"
    assert m.normalise("Ukraine’s  A  position") == "ukraine s position"


def test_exact_match_uses_answer_and_aliases() -> None:
    g = gold("Volodymyr Zelensky", aliases=["Zelensky"])
    assert m.exact_match(g, pred("Zelensky. [1]")) == 1.0
    assert m.exact_match(g, pred("the Volodymyr Zelensky")) == 1.0
    assert m.exact_match(g, pred("President Zelensky")) == 0.0
    assert m.exact_match(gold(abstain=True), pred("Zelensky")) is None


def test_token_f1_takes_the_best_reference() -> None:
    g = gold("Donetsk, Luhansk, Kherson and Zaporizhzhia", aliases=["four regions"])
    assert m.token_f1(g, pred("Donetsk and Luhansk")) == pytest.approx(2 * 1 * 0.6 / 1.6)
    assert m.token_f1(g, pred("the four regions")) == 1.0
    assert m.token_f1(g, pred("Crimea")) == 0.0
    assert m.token_f1(g, ABSTAIN) == 0.0


def test_answer_contains_matches_whole_words_only() -> None:
    g = gold("four", aliases=["4"])
    assert m.answer_contains(g, pred("Russia claims four Ukrainian regions. [1]")) == 1.0
    assert m.answer_contains(g, pred("In 2014 [4] it was annexed.")) == 0.0  # marker, not "4"
    assert m.answer_contains(gold("Kherson"), pred("Khersonese")) == 0.0


def test_yes_no_match_reads_the_first_word() -> None:
    assert m.yes_no_match(gold("Yes"), pred("Yes, Russia is open to it. [1]")) == 1.0
    assert m.yes_no_match(gold("no"), pred("No. [1]")) == 1.0
    assert m.yes_no_match(gold("No"), pred("Yes.")) == 0.0
    # A string match, not a reading of meaning (that is the judge's job): a "no" in other
    # words does not count.
    assert m.yes_no_match(gold("No"), pred("Ukraine will not negotiate. [1]")) == 0.0
    assert m.yes_no_match(gold("Moscow"), pred("Yes")) is None
    # a gold verdict written "True" or "False" is a yes or a no
    assert m.yes_no_match(gold("True"), pred("Yes. [1]")) == 1.0
    assert m.yes_no_match(gold("False"), pred("Yes. [1]")) == 0.0
    assert m.correct(gold("True"), pred("Yes. [1]")) == 1.0
    assert m.yes_no_match(gold("True Detective"), pred("Yes")) is None  # a name, not a verdict


def test_correct_combines_abstention_yes_no_and_containment() -> None:
    assert m.correct(gold(abstain=True), ABSTAIN) == 1.0
    assert m.correct(gold(abstain=True), pred("Moscow")) == 0.0
    assert m.correct(gold("Moscow"), ABSTAIN) == 0.0
    assert m.correct(gold("Yes"), pred("Yes, it is. [1]")) == 1.0
    assert m.correct(gold("Yes"), pred("It is open to other issues. [1]")) == 0.0
    assert m.correct(gold("Moscow"), pred("He was invited to Moscow. [1]")) == 1.0


def test_judge_correct_reads_the_recorded_verdict() -> None:
    assert m.judge_correct(gold(), pred(judge=True)) == 1.0
    assert m.judge_correct(gold(), pred(judge=False)) == 0.0
    assert m.judge_correct(gold(), pred(judge=None)) is None  # not judged / unreadable
    assert m.judge_correct(gold(), ABSTAIN) is None  # no judge was run
    assert m.judge_correct(gold(abstain=True), pred(judge=True)) is None


# --- citations -------------------------------------------------------------------------------
def test_same_sentence_allows_containment_but_not_fragments() -> None:
    assert m.same_sentence(S1, f"  {S1} ")
    assert m.same_sentence("- " + S3, S3)  # a bullet's marker is not part of the claim
    assert m.same_sentence(S3, f"{S3} Kyiv rejected it.")  # gold spans two split sentences
    assert not m.same_sentence("Yes.", "Yes. The talks go on.")  # too short to count
    assert not m.same_sentence(S1, S2)


def test_citation_recall_and_precision_against_gold_sentences() -> None:
    g = gold(evidence=(S1, S2))
    both = pred(citations=[cite(1, S1), cite(2, S2)])
    assert m.citation_recall(g, both) == 1.0 and m.citation_precision(g, both) == 1.0
    half = pred(citations=[cite(1, S1), cite(2, S3)])
    assert m.citation_recall(g, half) == 0.5 and m.citation_precision(g, half) == 0.5
    extra = pred(citations=[cite(1, S1), cite(2, S3), cite(3, "Unrelated text of some length.")])
    assert m.citation_precision(g, extra) == pytest.approx(1 / 3)
    # Nothing cited: recall 0; precision has no citations to judge.
    assert m.citation_recall(g, ABSTAIN) == 0.0 and m.citation_precision(g, ABSTAIN) is None
    # Not scored: questions to abstain on, no gold evidence, gold article missing from the index.
    assert m.citation_recall(gold(abstain=True, evidence=()), both) is None
    assert m.citation_precision(gold(evidence=()), both) is None
    missing = pred(citations=[cite(1, S1)], gold_missing=True)
    assert m.citation_recall(g, missing) is None and m.citation_precision(g, missing) is None


def test_supported_rate() -> None:
    sentences = [
        {"text": "a", "citations": [1], "supported": True},
        {"text": "b", "citations": [], "supported": False},
        {"text": "c", "citations": [2], "supported": True},
    ]
    assert m.supported_rate(gold(), pred(sentences=sentences)) == pytest.approx(2 / 3)
    assert m.supported_rate(gold(), ABSTAIN) is None  # abstained before any claim


# --- retrieval -------------------------------------------------------------------------------
def hit(article_id: str, *texts: str) -> dict:
    return {"article_id": article_id, "sentences": [{"text": t} for t in texts]}


def test_evidence_recall_mrr_and_article_recall() -> None:
    g = gold(evidence=(S1, S2))
    retrieved = [hit("b1", "Other news entirely here."), hit(ART, S3, S2), hit(ART, S1)]
    p = pred(retrieved=retrieved)
    assert m.evidence_recall(g, p) == 1.0
    assert m.evidence_mrr(g, p) == 0.5  # first gold sentence in the 2nd chunk
    assert m.article_recall(g, p) == 1.0
    p = pred(retrieved=[hit("b1", S3)])
    assert m.evidence_recall(g, p) == 0.0 and m.evidence_mrr(g, p) == 0.0
    assert m.article_recall(g, p) == 0.0
    two_articles = GoldItem("q", "?", "x", evidence=(Evidence("a1", S1), Evidence("a2", S2)))
    assert m.article_recall(two_articles, pred(retrieved=[hit("a2", S2)])) == 0.5
    assert m.evidence_recall(g, pred(retrieved=retrieved, gold_missing=True)) is None


# --- abstention ------------------------------------------------------------------------------
def test_abstention_precision_and_recall_aggregate_to_the_textbook_ratios() -> None:
    cases = [  # (gold abstain, predicted abstain): TP, TP, FP, FN, TN
        (True, True), (True, True), (False, True), (True, False), (False, False),
    ]  # fmt: skip
    rows = [(gold(abstain=g), ABSTAIN if p else pred()) for g, p in cases]
    precision = aggregate(
        "abstention_precision", [score(g, p)["abstention_precision"] for g, p in rows]
    )
    recall = aggregate("abstention_recall", [score(g, p)["abstention_recall"] for g, p in rows])
    assert precision == pytest.approx(2 / 3)  # TP / (TP + FP)
    assert recall == pytest.approx(2 / 3)  # TP / (TP + FN)
    assert m.abstention_precision(gold(), pred()) is None  # did not abstain: not counted


# --- latency ---------------------------------------------------------------------------------
def test_latency_and_ttft_percentiles() -> None:
    preds = [pred(timings={"total_ms": float(t), "ttft_ms": float(t) / 2}) for t in range(1, 101)]
    values = [m.total_ms(gold(), p) for p in preds]
    assert aggregate("latency_p50", values) == pytest.approx(50.5)
    assert aggregate("latency_p95", values) == pytest.approx(95.05)
    ttft = [m.ttft_ms(gold(), p) for p in preds]
    assert aggregate("ttft_p50", ttft) == pytest.approx(25.25)
    # Abstained at the gate: no first token, the whole answer is the first output.
    assert m.ttft_ms(gold(), pred(timings={"total_ms": 12.0})) == 12.0
    assert m.total_ms(gold(), pred(timings={})) is None
    assert aggregate("latency_p50", [None, None]) is None


def test_score_returns_every_metric() -> None:
    assert set(score(gold(), pred())) == set(METRICS)


# --- bootstrap -------------------------------------------------------------------------------
def test_bootstrap_is_seeded_and_brackets_the_value() -> None:
    values = [1.0] * 30 + [0.0] * 20
    first = bootstrap(values, lambda a: np.mean(a, axis=-1))
    again = bootstrap(values, lambda a: np.mean(a, axis=-1))
    assert first == again and first is not None
    assert first.value == 0.6 and first.low < 0.6 < first.high and first.n == 50
    assert first.low > 0.4 and first.high < 0.8
    assert bootstrap([], np.mean) is None
    assert bootstrap([0.5], lambda a: np.mean(a, axis=-1)).low == 0.5


def test_paired_bootstrap_sees_a_consistent_change_and_not_noise() -> None:
    mean = lambda a: np.mean(a, axis=-1)  # noqa: E731
    a = [0.0] * 40 + [1.0] * 10
    b = [1.0] * 40 + [1.0] * 10
    diff = paired_bootstrap(a, b, mean)
    assert diff.delta == pytest.approx(0.8) and diff.significant and diff.p_value < 0.01
    same = paired_bootstrap(a, a, mean)
    assert same.delta == 0 and not same.significant and same.p_value == 1.0
    rng = np.random.default_rng(1)
    x = rng.integers(0, 2, 60).astype(float)
    swapped = x.copy()
    swapped[:2] = 1 - swapped[:2]  # two questions flip: not a significant change
    assert not paired_bootstrap(x, swapped, mean).significant


# --- judge -----------------------------------------------------------------------------------
def test_read_verdict() -> None:
    assert read_verdict('{"correct": true}') is True
    assert read_verdict(' {"correct": false} ') is False
    assert read_verdict('Sure! {"correct": true, "why": "same"}') is True
    assert read_verdict('{"answerable": false, "sentences": []}') is None
    assert read_verdict("yes") is None


class KeywordJudge:
    """A judge backend for tests: correct when a gold answer's words appear in the prediction.

    It reads the same prompt a model would and obeys the generator contract.
    """

    name = "test-keyword-judge"
    model_id = "keyword-judge"
    supports_json_schema = True
    uses_llm = True
    requests: list[GenerationRequest] = []

    def stream(self, request: GenerationRequest) -> Iterator[str]:
        KeywordJudge.requests.append(request)
        user = request.messages[-1]["content"]
        fields = dict(line.split(": ", 1) for line in user.splitlines() if ": " in line)
        answers = [fields["Gold answer"], *fields["Also acceptable"].split("; ")]
        prediction = fields["Predicted answer"]
        yield json.dumps({"correct": any(m.contains(prediction, a) for a in answers)})

    def close(self) -> None:
        pass


registry.register("test-keyword-judge", KeywordJudge, replace=True)


def test_judge_goes_through_the_generator_contract() -> None:
    generator = registry.create("test-keyword-judge")
    verdict = judge(generator, "Where?", ["Moscow", "the Russian capital"], "In Moscow.", 5.0)
    assert verdict.correct is True and verdict.model == "keyword-judge"
    request = type(generator).requests[-1]  # the class the registry holds
    assert request.json_schema is not None and request.temperature == 0.0
    assert "Also acceptable: the Russian capital" in request.messages[-1]["content"]
    assert judge(generator, "Where?", ["Moscow"], "In Kyiv.", 5.0).correct is False
    # A backend that does not answer the judge prompt (extractive) gives no verdict, not a guess.
    extractive = registry.create("extractive")
    assert judge(extractive, "Where?", ["Moscow"], "In Moscow.", 5.0).correct is None


def test_expected_calibration_error_and_its_bins() -> None:
    from eval.calibration import calibration

    # Tenth 0.9-1.0: four answers at 0.95, three right; tenth 0.2-0.3: two at 0.25, none right.
    result = calibration([0.95] * 4 + [0.25] * 2, [1, 1, 1, 0, 0, 0])
    assert result["n"] == 6
    assert result["ece"] == pytest.approx((4 * 0.2 + 2 * 0.25) / 6, abs=1e-3)
    assert [(b["low"], b["n"], b["right"]) for b in result["bins"]] == [
        (0.2, 2, 0.0),
        (0.9, 4, 0.75),
    ]
    assert result["high"] == {"n": 4, "right": 0.75}
    assert calibration([], [])["ece"] is None


def test_the_report_draws_the_reliability_diagram() -> None:
    from eval.calibration import calibration
    from eval.charts import reliability_diagram

    html = reliability_diagram(calibration([0.9, 0.85, 0.3], [1, 1, 0]))
    assert (
        "reliability diagram" in html and "<rect" in html and "0.8: 2 answers, 100% right" in html
    )
    assert "No answer of this run carried a confidence" in reliability_diagram({})
