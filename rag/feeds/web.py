"""One URL fetched politely (`fetch`: http(s) only, to public addresses or the networks the
settings allow, every redirect checked and counted, a timeout, a size cap read as the body
streams in, a conditional GET, a pause between two requests to one host) and an article read
from its page (`read_page`, trafilatura)."""

from __future__ import annotations

import ipaddress
import logging
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx

from rag.config import Settings
from rag.errors import (
    FetchHTTPError,
    FetchTimeout,
    FetchUnreachable,
    NoArticleText,
    ResponseTooLarge,
    TooManyRedirects,
    URLNotAllowed,
)
from rag.ingestion.articles import make_article
from rag.types import Article

USER_AGENT = "Newsdesk/0.1 (+self-hosted news questions)"
log = logging.getLogger(__name__)


@dataclass
class Fetched:
    url: str  # after redirects
    status: int  # 200, or 304 when the caller's validators still hold
    body: bytes = b""
    etag: str | None = None
    modified: str | None = None
    content_type: str = ""


class HostPacer:
    """At most one request to a host every `delay_s` seconds, across threads."""

    def __init__(self, delay_s: float) -> None:
        self.delay_s = delay_s
        self._last: dict[str, float] = {}
        self._lock = threading.Lock()

    def wait(self, host: str) -> None:
        with self._lock:
            now = time.monotonic()
            start = max(now, self._last.get(host, -1e9) + self.delay_s)
            self._last[host] = start
        if start > now:
            time.sleep(start - now)


def check_url(url: str, settings: Settings) -> str:
    """Refuse what is not http(s) or resolves to an address outside what the settings allow;
    the address to connect to (one of those checked) otherwise."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:  # a port out of range, a broken IPv6 host
        raise URLNotAllowed(f"{url!r}: not a valid URL ({exc})") from exc
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise URLNotAllowed(f"{url!r}: only http and https URLs with a host are fetched")
    hosts = {h.lower() for h in settings.fetch_allow_hosts}
    if hosts and parts.hostname.lower() not in hosts:
        raise URLNotAllowed(f"{url}: {parts.hostname} is not in NEWSDESK_FETCH_ALLOW_HOSTS")
    allowed = [ipaddress.ip_network(n, strict=False) for n in settings.fetch_allow_networks]
    try:
        infos = socket.getaddrinfo(parts.hostname, port or None, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise FetchUnreachable(f"{url}: the host {parts.hostname!r} does not resolve") from exc
    for info in infos:
        address = ipaddress.ip_address(info[4][0])
        if any(address in network for network in allowed):
            continue
        if not address.is_global or any(not v4.is_global for v4 in _embedded_ipv4(address)):
            raise URLNotAllowed(
                f"{url}: {parts.hostname} is {address}, a private or local address "
                "(NEWSDESK_FETCH_ALLOW_NETWORKS lists the ones that may be fetched)"
            )
    return str(infos[0][4][0])


_NAT64 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))


def _embedded_ipv4(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> list:
    """The IPv4 addresses an IPv6 address carries (mapped, 6to4, Teredo, NAT64, or the old
    IPv4-compatible form): a route to them, which must pass the same check."""
    if address.version != 6:
        return []
    assert isinstance(address, ipaddress.IPv6Address)
    found = [address.ipv4_mapped, address.sixtofour]
    if address.teredo:
        found.extend(address.teredo)
    last32 = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if any(address in network for network in _NAT64) or int(address) >> 32 == 0:
        found.append(last32)
    return [a for a in found if a is not None]


def _pinned(url: str, address: str) -> tuple[str, str]:
    """The URL with its host replaced by the checked address, and the Host header to send:
    the connection goes where the check looked, whatever the name resolves to next."""
    parts = urlsplit(url)
    literal = f"[{address}]" if ":" in address else address
    netloc = literal if parts.port is None else f"{literal}:{parts.port}"
    host = parts.hostname or ""
    header = host if parts.port is None else f"{host}:{parts.port}"
    return parts._replace(netloc=netloc).geturl(), header


@cache
def _tls() -> ssl.SSLContext:
    """One TLS context for every fetch: building one reads the CA store (~40 ms)."""
    return ssl.create_default_context()


def fetch(
    url: str,
    settings: Settings,
    etag: str | None = None,
    modified: str | None = None,
    pacer: HostPacer | None = None,
) -> Fetched:
    headers = {"User-Agent": USER_AGENT}
    if etag:
        headers["If-None-Match"] = etag
    if modified:
        headers["If-Modified-Since"] = modified

    client = httpx.Client(
        verify=_tls(),
        follow_redirects=False,  # each hop is checked and pinned here
        timeout=settings.fetch_timeout_s,
        trust_env=False,  # no proxies from the environment: the checked address is the one used
    )
    try:
        with client, _follow(client, url, headers, settings, pacer) as (final, response):
            if response.status_code == 304:
                return Fetched(final, 304, etag=etag, modified=modified)
            if response.status_code >= 400:
                raise FetchHTTPError(f"{url}: the server answered {response.status_code}")
            declared = int(response.headers.get("content-length") or 0)
            if declared > settings.fetch_max_bytes:
                raise _too_large(url, settings)
            body = bytearray()
            deadline = time.monotonic() + settings.fetch_timeout_s
            for piece in response.iter_bytes():
                body += piece
                if len(body) > settings.fetch_max_bytes:
                    raise _too_large(url, settings)
                if time.monotonic() > deadline:  # a server that trickles bytes forever
                    raise FetchTimeout(f"{url}: no whole response in {settings.fetch_timeout_s}s")
            return Fetched(
                final,
                response.status_code,
                bytes(body),
                response.headers.get("etag"),
                response.headers.get("last-modified"),
                response.headers.get("content-type", ""),
            )
    except httpx.TooManyRedirects as exc:
        raise TooManyRedirects(
            f"{url}: more than {settings.fetch_max_redirects} redirects"
        ) from exc
    except httpx.TimeoutException as exc:
        raise FetchTimeout(f"{url}: no answer in {settings.fetch_timeout_s}s") from exc
    except httpx.InvalidURL as exc:
        raise URLNotAllowed(f"{url!r}: not a valid URL ({exc})") from exc
    except httpx.HTTPError as exc:
        raise FetchUnreachable(f"{url}: {type(exc).__name__}: {exc}") from exc


@contextmanager
def _follow(
    client: httpx.Client,
    url: str,
    headers: dict[str, str],
    settings: Settings,
    pacer: HostPacer | None,
) -> Iterator[tuple[str, httpx.Response]]:
    """GET `url`, following redirects; every hop is checked, paced and sent to the address
    the check resolved (a name that resolves elsewhere the second time is not followed)."""
    current = url
    for _ in range(settings.fetch_max_redirects + 1):
        address = check_url(current, settings)
        target, host = _pinned(current, address)
        if pacer is not None:
            pacer.wait(urlsplit(current).hostname or "")
        request = client.build_request(
            "GET",
            target,
            headers=headers | {"Host": host},
            extensions={"sni_hostname": urlsplit(current).hostname},
        )
        response = client.send(request, stream=True)
        if not response.has_redirect_location:
            try:
                yield current, response
            finally:
                response.close()
            return
        response.close()
        current = urljoin(current, response.headers["location"])
    raise httpx.TooManyRedirects(f"more than {settings.fetch_max_redirects} redirects")


def _too_large(url: str, settings: Settings) -> ResponseTooLarge:
    return ResponseTooLarge(
        f"{url}: larger than {settings.fetch_max_bytes:,} bytes (NEWSDESK_FETCH_MAX_BYTES)"
    )


def read_page(
    fetched: Fetched, settings: Settings, fallback: dict[str, Any] | None = None
) -> Article:
    """The article on a page: trafilatura's text and metadata; the feed item's title, date and
    outlet fill what the page lacks."""
    import trafilatura

    fallback = fallback or {}
    html = fetched.body.decode(_charset(fetched.content_type) or "utf-8", errors="replace")
    extracted = trafilatura.bare_extraction(
        html,
        url=fetched.url,
        with_metadata=True,
        include_comments=False,
        favor_precision=True,
        fast=True,  # trafilatura's own extractor, without the slower fallbacks compared to it
    )
    doc = extracted.as_dict() if extracted is not None else {}  # type: ignore[union-attr]
    text = doc.get("text") or ""
    title = doc.get("title") or fallback.get("title")
    if not text.strip() or not title:
        raise NoArticleText(f"{fetched.url}: the page holds no article (no text or no title)")
    fields = {
        "title": title,
        "body": text,
        "url": doc.get("url") or fallback.get("url") or fetched.url,
        "source": fallback.get("source") or doc.get("sitename"),
        "author": doc.get("author") or fallback.get("author"),
        "published_at": doc.get("date") or fallback.get("published_at"),
    }
    return make_article(
        {k: v for k, v in fields.items() if v is not None}, fetched.url, settings.max_article_chars
    )


def _charset(content_type: str) -> str | None:
    for piece in content_type.split(";")[1:]:
        key, _, value = piece.strip().partition("=")
        if key.lower() == "charset" and value:
            try:
                "".encode(value.strip('"'))
                return value.strip('"')
            except LookupError:
                return None
    return None
