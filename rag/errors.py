"""Domain errors: each has a stable name (the class name) and an HTTP status.

The API renders every one of them as `{"error": name, "message": ...}`; the CLI prints
`error: <name>: <message>` on one line and exits non-zero. Finding no evidence is not an error.
"""

from __future__ import annotations


class NewsdeskError(Exception):
    """Base of every error a user can cause or meet; never raised itself."""

    status: int = 400
    retry_after: int | None = None  # seconds, for errors that pass with time

    def __init__(self, message: str, public: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        # What a client of the service is told, where the message names the server's own
        # folders or addresses (the operator's command line shows the whole message).
        self.public = public

    @property
    def public_message(self) -> str:
        return self.public or self.message

    @property
    def name(self) -> str:
        return type(self).__name__


# --- articles in -----------------------------------------------------------------------------
class InvalidArticle(NewsdeskError):
    """An article that cannot be ingested: missing title, empty body, bad field."""

    status = 422


class EmptyBody(InvalidArticle):
    pass


class MissingTitle(InvalidArticle):
    pass


class InvalidDate(InvalidArticle):
    pass


class InvalidURL(InvalidArticle):
    """An article link that is not http(s) with a host: a reader would follow it."""


class ArticleTooLarge(InvalidArticle):
    status = 413


class InvalidEncoding(InvalidArticle):
    pass


class MalformedInput(InvalidArticle):
    """A file that is not in any format we read (bad JSON line, bad front matter)."""


class DuplicateArticleId(InvalidArticle):
    status = 409


# --- feeds and pages fetched from the web -----------------------------------------------------
class FetchError(NewsdeskError):
    """A feed or page that could not be fetched or read; recorded in the feed's status."""

    status = 422


class URLNotAllowed(FetchError):
    """Not http(s), or a host outside the addresses the settings allow (private, loopback)."""


class FetchTimeout(FetchError):
    status = 504


class FetchUnreachable(FetchError):
    status = 502


class FetchHTTPError(FetchError):
    """The server answered 4xx/5xx."""

    status = 502


class TooManyRedirects(FetchError):
    pass


class ResponseTooLarge(FetchError):
    status = 413


class NotAFeed(FetchError):
    """Not RSS or Atom: malformed XML, HTML, or a feed without items."""


class NoArticleText(FetchError):
    """A page with no article text to extract."""


class UnknownFeed(NewsdeskError):
    status = 404


# --- indexes ---------------------------------------------------------------------------------
class UnknownIndex(NewsdeskError):
    status = 404


class CorruptIndex(NewsdeskError):
    status = 500


class NotAnIndex(NewsdeskError):
    """A folder that holds something other than an index: never deleted as one."""


class EmbedderMismatch(NewsdeskError):
    status = 409


class ChunkSettingsMismatch(NewsdeskError):
    """Writing with chunk settings other than the index's would mix two chunk shapes."""

    status = 409


class UnknownArticle(NewsdeskError):
    status = 404


class IndexUnavailable(NewsdeskError):
    """A Chroma server that does not answer."""

    status = 503


# --- settings and registries -----------------------------------------------------------------
class UnknownBackend(NewsdeskError):
    status = 400


class BackendNotAllowed(NewsdeskError):
    """A request chose a backend the service does not offer to requests."""

    status = 403


# --- questions and answers -------------------------------------------------------------------
class InvalidQuestion(NewsdeskError):
    status = 422


class EmptyQuestion(InvalidQuestion):
    pass


class QuestionTooLong(InvalidQuestion):
    status = 413


class UnsupportedLanguage(InvalidQuestion):
    pass


class GeneratorUnavailable(NewsdeskError):
    """The LLM backend is down, refused us, or returned garbage."""

    status = 503


class GeneratorTimeout(GeneratorUnavailable):
    status = 504


class GeneratorBusy(NewsdeskError):
    """Every generator slot is taken and the queue is full: retry later."""

    status = 503
    retry_after = 5


class ModelFileError(NewsdeskError):
    """A model file that is missing, incomplete or fails its checksum."""

    status = 500


# --- the HTTP service ------------------------------------------------------------------------
class MissingApiKey(NewsdeskError):
    status = 401


class InvalidApiKey(NewsdeskError):
    status = 403


class WritesDisabled(NewsdeskError):
    """No write keys are configured, so nobody may add or delete articles over HTTP."""

    status = 403


class BodyTooLarge(NewsdeskError):
    status = 413


class RateLimited(NewsdeskError):
    status = 429
    retry_after = 60
