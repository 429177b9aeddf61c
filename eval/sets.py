"""Golden question sets: JSONL files, one question a line, versioned by a sidecar file.

The format (`golden`): `id`, `question`, `answer` required; `aliases` (other acceptable
answers), `question_type`, `abstain` (true when the right answer is to say the news does not
tell) and `evidence` (`[{article_id, sentence}]`, gold source sentences verbatim) optional.
The version and description live beside the set in `<name>.meta.json`, because a header line
would not be JSONL.

The MultiHop-RAG dev questions (`multihop`) are read as they are: the same keys, no `abstain`;
a `null_query` (gold answer "Insufficient information.") is a question to abstain on.

A malformed line does not stop the rest: every problem is collected with its line number.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from eval.errors import EvalError

FORMATS = ("auto", "golden", "multihop")
MULTIHOP_TYPES = {"inference_query", "comparison_query", "temporal_query", "null_query"}
# The licence asks for this attribution wherever the data are copied, reports included.
MULTIHOP_META = {
    "description": "MultiHop-RAG questions (Tang & Yang, 2024, 'MultiHop-RAG: Benchmarking "
    "Retrieval-Augmented Generation for Multi-Hop Queries'); data licence ODC-BY 1.0.",
}
NO_TYPE = "untyped"


@dataclass(frozen=True)
class Evidence:
    article_id: str
    sentence: str


@dataclass(frozen=True)
class GoldItem:
    id: str
    question: str
    answer: str
    aliases: tuple[str, ...] = ()
    question_type: str = NO_TYPE
    abstain: bool = False
    evidence: tuple[Evidence, ...] = ()
    line: int = 0  # where it was read, for messages

    @property
    def answers(self) -> list[str]:
        """The answer and its aliases: every string that counts as right."""
        return [self.answer, *self.aliases]

    @property
    def evidence_articles(self) -> list[str]:
        return list(dict.fromkeys(e.article_id for e in self.evidence))

    def fingerprint(self) -> str:
        """Changes when anything the question is scored against changes."""
        data = asdict(self)
        del data["line"]
        return _sha(json.dumps(data, sort_keys=True, ensure_ascii=False))[:16]

    def to_json(self) -> dict[str, Any]:
        return {
            "answer": self.answer,
            "aliases": list(self.aliases),
            "abstain": self.abstain,
            "evidence": [asdict(e) for e in self.evidence],
        }


@dataclass(frozen=True)
class Problem:
    line: int
    message: str

    def render(self, path: Path | str) -> str:
        # Line 0 is the file as a whole (its sidecar), not a line of it.
        return f"{path}:{self.line}: {self.message}" if self.line else f"{path}: {self.message}"


@dataclass
class GoldenSet:
    path: Path
    format: str
    items: list[GoldItem]
    problems: list[Problem] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)  # name, version, description, ...
    sha256: str = ""

    @property
    def name(self) -> str:
        return str(self.meta.get("name") or self.path.stem)

    @property
    def version(self) -> str:
        # A set without a sidecar is versioned by its content.
        return str(self.meta.get("version") or f"sha256:{self.sha256[:12]}")

    def describe(self) -> dict[str, Any]:
        return {
            "path": str(self.path),
            "name": self.name,
            "version": self.version,
            "format": self.format,
            "sha256": self.sha256,
            "description": self.meta.get("description"),
            "questions": len(self.items),
            "problems": [p.render(self.path) for p in self.problems],
        }


def meta_path(path: Path) -> Path:
    return path.with_name(f"{path.stem}.meta.json")


def load_set(path: Path, format: str = "auto") -> GoldenSet:
    """Read a set; malformed lines become `problems`, the good ones `items`."""
    if format not in FORMATS:
        raise EvalError(f"unknown set format {format!r}; valid: {', '.join(FORMATS)}")
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise EvalError(f"cannot read the question set {path}: {exc.strerror}") from None
    rows, problems = _rows(raw)
    if format == "auto":
        format = _detect(rows)
    items: list[GoldItem] = []
    seen: set[str] = set()
    for line, row in rows:
        try:
            item = _item(row, line, multihop=format == "multihop")
        except ValueError as exc:
            problems.append(Problem(line, str(exc)))
            continue
        if item.id in seen:
            problems.append(Problem(line, f"duplicate id {item.id!r}; the first one is kept"))
            continue
        seen.add(item.id)
        items.append(item)
    problems.sort(key=lambda p: p.line)
    meta = _meta(path, problems) or (MULTIHOP_META if format == "multihop" else {})
    return GoldenSet(path, format, items, problems, meta, _sha(raw))


def load_golden(path: Path) -> GoldenSet:
    return load_set(path, "golden")


def load_multihop(path: Path) -> GoldenSet:
    return load_set(path, "multihop")


def _sha(data: bytes | str) -> str:
    return hashlib.sha256(data.encode() if isinstance(data, str) else data).hexdigest()


def _rows(raw: bytes) -> tuple[list[tuple[int, dict[str, Any]]], list[Problem]]:
    rows: list[tuple[int, dict[str, Any]]] = []
    problems: list[Problem] = []
    for number, line in enumerate(raw.split(b"\n"), start=1):
        try:
            text = line.decode("utf-8-sig" if number == 1 else "utf-8").strip()
        except UnicodeDecodeError as exc:
            problems.append(Problem(number, f"not UTF-8 (byte offset {exc.start})"))
            continue
        if not text:
            continue
        try:
            row = json.loads(text)
        except json.JSONDecodeError as exc:
            problems.append(Problem(number, f"not JSON ({exc.msg} at column {exc.colno})"))
            continue
        if not isinstance(row, dict):
            problems.append(Problem(number, "each line must be a JSON object"))
            continue
        rows.append((number, row))
    return rows, problems


def _detect(rows: list[tuple[int, dict[str, Any]]]) -> str:
    """MultiHop-RAG rows carry its question types and never an `abstain` key."""
    if not rows or any("abstain" in row for _, row in rows):
        return "golden"
    types = {row.get("question_type") for _, row in rows}
    return "multihop" if types and types <= MULTIHOP_TYPES else "golden"


def _text(row: dict[str, Any], key: str) -> str:
    value = row.get(key)
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{key!r} must be a non-empty string, not {value!r}")
    return value.strip()


def _item(row: dict[str, Any], line: int, multihop: bool) -> GoldItem:
    item_id = row.get("id")
    if isinstance(item_id, int) and not isinstance(item_id, bool):
        item_id = str(item_id)
    if not isinstance(item_id, str) or not item_id.strip():
        raise ValueError(f"'id' must be a non-empty string, not {item_id!r}")
    aliases = row.get("aliases", [])
    if not isinstance(aliases, list) or not all(isinstance(a, str) and a.strip() for a in aliases):
        raise ValueError("'aliases' must be a list of non-empty strings")
    question_type = row.get("question_type") or NO_TYPE
    if not isinstance(question_type, str):
        raise ValueError(f"'question_type' must be a string, not {question_type!r}")
    abstain = row.get("abstain", multihop and question_type == "null_query")
    if not isinstance(abstain, bool):
        raise ValueError(f"'abstain' must be true or false, not {abstain!r}")
    evidence = row.get("evidence", [])
    if not isinstance(evidence, list):
        raise ValueError("'evidence' must be a list of {article_id, sentence}")
    gold: list[Evidence] = []
    for i, e in enumerate(evidence):
        if not isinstance(e, dict):
            raise ValueError(f"evidence[{i}] must be an object with article_id and sentence")
        try:
            gold.append(Evidence(_text(e, "article_id"), _text(e, "sentence")))
        except ValueError as exc:
            raise ValueError(f"evidence[{i}]: {exc}") from None
    return GoldItem(
        id=item_id.strip(),
        question=_text(row, "question"),
        answer=_text(row, "answer"),
        aliases=tuple(a.strip() for a in aliases),
        question_type=question_type,
        abstain=abstain,
        evidence=tuple(gold),
        line=line,
    )


def _meta(path: Path, problems: list[Problem]) -> dict[str, Any]:
    sidecar = meta_path(path)
    if not sidecar.is_file():
        return {}
    try:
        data = json.loads(sidecar.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        problems.append(Problem(0, f"{sidecar.name} is unreadable ({exc}); versioned by content"))
        return {}
    if not isinstance(data, dict):
        problems.append(Problem(0, f"{sidecar.name} must hold a JSON object"))
        return {}
    return data
