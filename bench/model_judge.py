"""Can the packaged model itself judge a part? Its yes/no on a short claim-versus-sentence prompt.

For each yes/no question about what named outlets report (the pairs `bench/support_fit.py`
builds), each part's claim is put to the model with the sentence the support model ranks
first, under a few wordings of the same question ("consistent with", "says, in other words",
"contradicts"). A useful judge says yes to the parts of gold-"yes" questions and no to at
least one part of each gold-"no" question; a judge that says the same thing whatever it reads
only adds an answer prior. Reported on the dev split, the one this project develops on.

    python bench/model_judge.py [--index mh] [--split dev] [--backend llamacpp]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import cpu_model, load_average, write_results  # noqa: E402
from support_fit import collect  # noqa: E402

from rag.answering.support import default_model  # noqa: E402
from rag.config import Settings  # noqa: E402
from rag.desk import Desk  # noqa: E402
from rag.generators.base import GenerationRequest  # noqa: E402

ASKS = {  # name: (system, user, does "yes" mean the sentence supports the claim)
    "consistent": (
        "You compare a claim with a sentence from a news article.",
        "Sentence: {sentence}\nClaim: {claim}\n"
        "Is the claim consistent with what the sentence says? Answer yes or no.",
        True,
    ),
    "says": (
        "You read news. A claim may paraphrase or summarise a sentence in other words; "
        "that still counts as saying it.",
        "Article headline: {headline}\nSentence: {sentence}\n\nClaim: {claim}\n\n"
        "Does the article sentence say this claim, in the same or other words? Answer yes or no.",
        True,
    ),
    "contradicts": (
        "You compare a claim with a sentence from a news article.",
        "Sentence: {sentence}\nClaim: {claim}\n"
        "Does the sentence contradict the claim, or is it about something else? "
        "Answer yes or no.",
        False,
    ),
}
YES_NO = {"type": "string", "enum": ["yes", "no"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", default="mh")
    parser.add_argument("--split", default="dev")
    parser.add_argument("--backend", default="llamacpp")
    args = parser.parse_args()
    desk = Desk(Settings())
    retriever = desk.retriever(args.index)
    generator = desk.generator(args.backend)
    items = collect(retriever, args.split)
    model = default_model()
    rows = []
    for name, (system, user, yes_supports) in ASKS.items():
        started = time.time()
        supported_parts, parts, flagged, gold_no = 0, 0, 0, 0
        for item in items:
            said = []
            for evidence, candidates, features, _ in item["parts"]:
                if not candidates:
                    continue
                best = candidates[int(np.argmax(model.scores(features)))]
                prompt = user.format(
                    sentence=best.sentence.text, claim=evidence.part.text, headline=best.title
                )
                messages = [
                    {"role": "system", "content": system},
                    {"role": "user", "content": prompt},
                ]
                reply = "".join(
                    generator.stream(GenerationRequest(messages, json_schema=YES_NO, max_tokens=4))
                )
                said.append(("yes" in reply.lower()) == yes_supports)
            if item["gold"] == "yes":
                supported_parts += sum(said)
                parts += len(said)
            else:
                gold_no += 1
                flagged += not all(said)
        rows.append(
            {
                "ask": name,
                "gold_yes_parts_supported": f"{supported_parts}/{parts}",
                "gold_no_questions_flagged": f"{flagged}/{gold_no}",
                "seconds": round(time.time() - started),
            }
        )
        print(rows[-1], flush=True)
    desk.close()
    lines = [
        f"# The model as a judge of one claim against one sentence ({args.split} split)",
        "",
        f"Machine: {cpu_model()}, load {load_average()}. Model: {generator.model_id}. "
        f"Command: `python bench/model_judge.py --index {args.index} --split {args.split}`.",
        "",
        "| asked | gold-yes parts judged supported | gold-no questions with a part judged not "
        "supported | seconds |",
        "|---|---|---|---|",
        *(
            f"| {r['ask']} | {r['gold_yes_parts_supported']} | {r['gold_no_questions_flagged']} "
            f"| {r['seconds']} |"
            for r in rows
        ),
        "",
    ]
    write_results(f"model_judge_{args.split}", "\n".join(lines), {"rows": rows})
    print("\n".join(lines))


if __name__ == "__main__":
    main()
