"""Read articles from JSONL files and folders of .txt/.md files, validated before any write.

JSONL: one article per line, `title` and `body` required; `id, source, url, published_at,
author, category` optional (other keys are ignored). Text files: optional YAML front matter
between `---` lines with the same keys; without a `title` there, the first non-empty line is
the title and the rest is the body.

Every problem is raised as a named error that says which file and line, before anything is
written, so a bad batch leaves the index exactly as it was.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from rag.errors import (
    ArticleTooLarge,
    DuplicateArticleId,
    EmptyBody,
    InvalidArticle,
    InvalidDate,
    InvalidEncoding,
    InvalidURL,
    MalformedInput,
    MissingTitle,
)
from rag.types import Article

TEXT_SUFFIXES = (".txt", ".md")
OPTIONAL_FIELDS = ("source", "url", "author", "category")
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$")
_FRONT_MATTER = re.compile(r"\A---[ \t]*\n(.*?)\n---[ \t]*(?:\n|\Z)", re.S)


def parse_date(value: Any, where: str) -> int | None:
    """ISO 8601 (a bare date or a naive time is taken as UTC) or epoch seconds -> epoch seconds."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise InvalidDate(f"{where}: published_at must be a date, not {value!r}")
    if isinstance(value, int | float):
        return _in_range(int(value), value, where)
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, date):
        parsed = datetime(value.year, value.month, value.day)
    elif isinstance(value, str):
        text = value.strip()
        try:
            parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise InvalidDate(
                f"{where}: published_at {value!r} is not an ISO 8601 date "
                "(e.g. 2023-09-26 or 2023-09-26T05:26:05+00:00)"
            ) from None
    else:
        raise InvalidDate(f"{where}: published_at must be a string or a number, not {value!r}")
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return _in_range(int(parsed.timestamp()), value, where)


# Dates are rendered back with datetime: keep them inside its years 1..9999 in every time zone.
_EPOCH_MIN = int(datetime(1, 1, 2, tzinfo=UTC).timestamp())
_EPOCH_MAX = int(datetime(9999, 12, 30, tzinfo=UTC).timestamp())


def _in_range(epoch: int, value: Any, where: str) -> int:
    if not _EPOCH_MIN <= epoch <= _EPOCH_MAX:
        raise InvalidDate(f"{where}: published_at {value!r} is outside the years 1 to 9999")
    return epoch


def normalise_body(body: str) -> str:
    """Offsets refer to this form: Unix line ends, no surrounding white space."""
    return body.replace("\r\n", "\n").replace("\r", "\n").strip()


def make_article(fields: dict[str, Any], where: str, max_chars: int) -> Article:
    title = fields.get("title")
    if not isinstance(title, str) or not title.strip():
        raise MissingTitle(f"{where}: the article has no title")
    body = fields.get("body")
    if body is None or (isinstance(body, str) and not body.strip()):
        raise EmptyBody(f"{where}: the article {title.strip()[:60]!r} has an empty body")
    if not isinstance(body, str):
        raise InvalidArticle(f"{where}: body must be text, not {type(body).__name__}")
    body = normalise_body(body)
    if len(body) > max_chars:
        raise ArticleTooLarge(
            f"{where}: the body has {len(body):,} characters; the limit is {max_chars:,} "
            "(NEWSDESK_MAX_ARTICLE_CHARS)"
        )
    optional: dict[str, str | None] = {}
    for key in OPTIONAL_FIELDS:
        value = fields.get(key)
        if value is not None and not isinstance(value, str):
            raise InvalidArticle(f"{where}: {key} must be text, not {value!r}")
        optional[key] = value.strip() or None if isinstance(value, str) else None
    if (url := optional["url"]) is not None:
        parts = urlsplit(url)
        if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
            raise InvalidURL(f"{where}: url {url[:80]!r} is not an http(s) link")
    given = fields.get("id")
    if given is not None:
        given = str(given).strip()
        if not _ID.match(given):
            raise InvalidArticle(
                f"{where}: id {given!r} must be 1-128 letters, digits or . _ : - "
                "and start with a letter or digit"
            )
    article_id = given or derived_id(optional["url"], title.strip(), body)
    return Article(
        id=article_id,
        title=" ".join(title.split()),
        body=body,
        source=optional["source"],
        url=optional["url"],
        published_at=parse_date(fields.get("published_at"), where),
        author=optional["author"],
        category=optional["category"],
    )


def derived_id(url: str | None, title: str, body: str) -> str:
    if url:
        return "u-" + hashlib.sha256(url.encode()).hexdigest()[:16]
    return "c-" + hashlib.sha256(f"{title}\n{body}".encode()).hexdigest()[:16]


def _decode(raw: bytes, where: str) -> str:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidEncoding(
            f"{where}: not UTF-8 (byte 0x{raw[exc.start]:02x} at offset {exc.start}); "
            "convert the file to UTF-8"
        ) from None


def read_jsonl(path: Path, max_chars: int) -> Iterator[Article]:
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            where = f"{path}:{number}"
            line = _decode(raw, where).strip()
            if not line:
                continue
            try:
                fields = json.loads(line)
            except json.JSONDecodeError as exc:
                raise MalformedInput(f"{where}: not a JSON object ({exc.msg})") from None
            if not isinstance(fields, dict):
                raise MalformedInput(f"{where}: each line must be a JSON object")
            yield make_article(fields, where, max_chars)


def read_text_file(path: Path, max_chars: int) -> Article:
    where = str(path)
    text = _decode(path.read_bytes(), where).replace("\r\n", "\n")
    fields: dict[str, Any] = {}
    match = _FRONT_MATTER.match(text)
    if match:
        import yaml

        try:
            fields = yaml.safe_load(match.group(1)) or {}
        except yaml.YAMLError as exc:
            raise MalformedInput(f"{where}: the front matter is not valid YAML ({exc})") from None
        if not isinstance(fields, dict):
            raise MalformedInput(f"{where}: the front matter must be a mapping of key: value")
        text = text[match.end() :]
    if "title" not in fields:
        head, _, text = text.lstrip().partition("\n")
        fields["title"] = head.lstrip("# ").strip()
    fields["body"] = text
    return make_article(fields, where, max_chars)


def read_path(path: Path, max_chars: int) -> Iterator[Article]:
    if not path.exists():
        raise MalformedInput(f"{path}: no such file or folder")
    if path.is_dir():
        # A folder's README describes the folder; it is not an article.
        files = sorted(
            p
            for p in path.rglob("*")
            if p.is_file()
            and p.suffix.lower() in TEXT_SUFFIXES
            and not p.name.lower().startswith("readme")
        )
        for file in files:
            yield read_text_file(file, max_chars)
        for file in sorted(path.rglob("*.jsonl")):
            yield from read_jsonl(file, max_chars)
    elif path.suffix.lower() == ".jsonl":
        yield from read_jsonl(path, max_chars)
    elif path.suffix.lower() in TEXT_SUFFIXES:
        yield read_text_file(path, max_chars)
    else:
        raise MalformedInput(f"{path}: not a .jsonl, .txt or .md file, nor a folder")


def load_articles(paths: Iterable[Path], max_chars: int) -> list[Article]:
    """Every article of every path, validated; duplicate ids in one batch are an error."""
    articles: list[Article] = []
    seen: dict[str, str] = {}
    for path in paths:
        for article in read_path(Path(path), max_chars):
            if article.id in seen:
                raise DuplicateArticleId(
                    f"article id {article.id!r} appears twice in this batch "
                    f"({seen[article.id]!r} and {article.title!r})"
                )
            seen[article.id] = article.title
            articles.append(article)
    return articles
