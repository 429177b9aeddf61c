"""Which questions a run answers (`select`), and the answers it keeps so that an interrupted
run resumes where it stopped (`Cache`: one JSON file per question and configuration)."""

from __future__ import annotations

import hashlib
import json
import os
import random
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from eval.sets import GoldItem


def select(items: Sequence[GoldItem], limit: int | None, sample: int | None, seed: int) -> list:
    """A seeded random sample (kept in set order), then the first `limit` of it."""
    chosen = list(items)
    if sample is not None and sample < len(chosen):
        keep = set(random.Random(seed).sample(range(len(chosen)), sample))
        chosen = [item for i, item in enumerate(chosen) if i in keep]
    return chosen[:limit] if limit is not None else chosen


def digest(data: Any) -> str:
    text = json.dumps(data, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


class Cache:
    """One JSON file per (question id, configuration hash); written atomically."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def _path(self, item_id: str) -> Path:
        safe = re.sub(r"[^A-Za-z0-9._-]", "_", item_id)[:80]
        return self.folder / f"{safe}-{digest(item_id)[:8]}.json"

    def get(self, item: GoldItem) -> dict[str, Any] | None:
        try:
            entry = json.loads(self._path(item.id).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        ok = entry.get("id") == item.id and entry.get("question") == item.question
        return entry if ok else None

    def put(self, item: GoldItem, entry: dict[str, Any]) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self._path(item.id)
        tmp = path.with_suffix(f".tmp{os.getpid()}")
        tmp.write_text(json.dumps(entry, ensure_ascii=False), encoding="utf-8")
        os.replace(tmp, path)
