"""The embeddable chat widget in a real headless Chromium, against a real uvicorn process.

Set-up (once per module): an index built from seeds/ by the `newsdesk` command into a tmp dir,
the app on 127.0.0.1 (extractive backend, CORS for the host page's origin), a host page with
hostile CSS served from ANOTHER port, and a "drip" proxy that relays the app with a pause
between Server-Sent Events, so a test can see the answer render while its stream is still open.
Screenshots go to test-artifacts/ (gitignored).

Chromium is Debian's (`apt-get install -y chromium`), driven by Playwright's Python API; a
missing browser fails the tests, it never skips them.
"""

from __future__ import annotations

import http.client
import http.server
import json
import os
import subprocess
import threading
import time
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import pytest

from bench.servers import free_port, serve
from rag.answering.prompts import ABSTAIN_TEXT
from tests.conftest import ROOT, SEEDS, VENV_BIN

pytestmark = [pytest.mark.browser, pytest.mark.slow]

# Debian's Chromium (`apt-get install -y chromium`); another binary can be named for a run.
CHROMIUM = Path(os.environ.get("NEWSDESK_TEST_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
ARTIFACTS = ROOT / "test-artifacts"
QUESTION = "What does Russia demand from Ukraine?"
FOLLOW_UP = "Which regions does it mean?"
UNRELATED = "What is a good lasagna recipe?"
HOSTILE_CSS = """
* { color: red !important; font-size: 40px !important; display: block;
    font-family: "Comic Sans MS", cursive !important; line-height: 3 !important;
    background: yellow; border: 3px dotted green; }
html { font-size: 40px !important; }
button, textarea, input { background: lime !important; width: 900px !important; }
mark { background: black !important; }
sup { font-size: 60px !important; }
"""
ASTRAL_ARTICLE = """---
id: astral-launch
title: "🚀 Launch day: Ariane 6 lifts off from Kourou"
source: Space Notes 𝕏
published_at: 2024-07-09
---
Europe's new heavy rocket 🇪🇺 had been delayed for four years.
Crowds 👩‍🚀👨‍🚀 gathered at dawn 🌅 on the beach near Kourou 🇬🇫 to watch.
The 🚀 Ariane 6 rocket lifted off from Kourou on Tuesday carrying two weather satellites 🛰️🛰️.
Engineers 🧑‍🔧 said the 𝐮𝐩𝐩𝐞𝐫 stage restarted twice as planned.
The next flight 📅 is planned for the autumn.
"""
# An article whose id is a name every JavaScript object inherits.
CONSTRUCTOR_ARTICLE = """---
id: constructor
title: "Harbour bridge reopens after repairs"
source: Coastal Courier
published_at: 2024-05-02
---
The harbour bridge reopened on Monday after six weeks of repairs.
Engineers replaced forty steel cables on the harbour bridge during the closure.
"""
ASTRAL_QUESTION = "What did the Ariane 6 rocket carry when it lifted off from Kourou?"
DESKTOP = {"width": 1280, "height": 800}
MOBILE = {"width": 375, "height": 667}


# --- servers ---------------------------------------------------------------------------------
class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: Any) -> None:
        pass


class _Drip(http.server.BaseHTTPRequestHandler):
    """Relay every request to the app; relay event streams one event at a time, slowly."""

    upstream: tuple[str, int] = ("127.0.0.1", 0)
    pause_s = 0.6

    def log_message(self, *args: Any) -> None:
        pass

    def _relay(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        keep = (
            "content-type",
            "accept",
            "origin",
            "access-control-request-method",
            "access-control-request-headers",
        )
        headers = {k: v for k, v in self.headers.items() if k.lower() in keep}
        conn = http.client.HTTPConnection(*self.upstream, timeout=60)
        conn.request(self.command, self.path, body=body, headers=headers)
        resp = conn.getresponse()
        self.send_response(resp.status)
        for k, v in resp.getheaders():
            if k.lower() not in (
                "transfer-encoding",
                "content-length",
                "connection",
                "date",
                "server",
            ):
                self.send_header(k, v)
        self.send_header("Connection", "close")
        self.end_headers()
        if "text/event-stream" not in (resp.getheader("content-type") or ""):
            self.wfile.write(resp.read())
            conn.close()
            return
        pending = b""
        while chunk := resp.read1(65536):
            pending += chunk
            while b"\n\n" in pending:
                event, pending = pending.split(b"\n\n", 1)
                self.wfile.write(event + b"\n\n")
                self.wfile.flush()
                time.sleep(self.pause_s)
        self.wfile.write(pending)
        conn.close()

    do_GET = do_POST = do_OPTIONS = _relay


def _serve(server: http.server.ThreadingHTTPServer) -> threading.Thread:
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return thread


def _host_page(title: str, snippet: str) -> str:
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title><style>{HOSTILE_CSS}</style></head>
<body>
<h1>{title}</h1>
<p id="host-text">A publisher's page whose CSS is as hostile as it gets.</p>
<a href="#nowhere">A link on the host page</a>
{snippet}
</body></html>
"""


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    tmp = tmp_path_factory.mktemp("widget")
    app_port, host_port, drip_port = free_port(), free_port(), free_port()
    app = f"http://127.0.0.1:{app_port}"
    host = f"http://127.0.0.1:{host_port}"
    drip = f"http://127.0.0.1:{drip_port}"
    env = dict(
        os.environ,
        HF_HUB_OFFLINE="1",
        TRANSFORMERS_OFFLINE="1",
        NEWSDESK_INDEX_DIR=str(tmp / "indexes"),
        NEWSDESK_GENERATOR_BACKEND="extractive",
        NEWSDESK_CORS_ORIGINS=json.dumps([host]),
    )
    # The seed articles, plus one whose text is full of characters outside the BMP: the API's
    # offsets count code points, JavaScript strings count UTF-16 units, and the highlight must
    # still be exact.
    extra = tmp / "extra"
    extra.mkdir()
    (extra / "astral.md").write_text(ASTRAL_ARTICLE, encoding="utf-8")
    (extra / "constructor.md").write_text(CONSTRUCTOR_ARTICLE, encoding="utf-8")
    built = subprocess.run(
        [str(VENV_BIN / "newsdesk"), "ingest", str(SEEDS), str(extra), "--index", "default"],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert built.returncode == 0, built.stderr

    pages = tmp / "host"
    pages.mkdir()
    # No data-newsdesk-url: the service defaults to the origin the script came from.
    (pages / "hostile.html").write_text(
        _host_page("Hostile host", f'<script src="{app}/widget.js" async></script>')
    )
    (pages / "slow.html").write_text(
        _host_page(
            "Slow network host",
            f'<script src="{app}/widget.js" data-newsdesk-url="{drip}" async></script>',
        )
    )
    dead = f"http://127.0.0.1:{free_port()}"
    (pages / "offline.html").write_text(
        _host_page(
            "Offline host",
            f'<script src="{app}/widget.js" data-newsdesk-url="{dead}" async></script>',
        )
    )

    # A publisher whose Content-Security-Policy allows the service's script and requests but
    # no inline styles: the widget's own styles must still apply.
    policy = f"default-src 'self'; script-src {app}; connect-src {app}; style-src 'self'"
    (pages / "strict.html").write_text(
        f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{policy}">
<title>Strict host</title></head>
<body><h1>Strict host</h1><script src="{app}/widget.js" async></script></body></html>
"""
    )

    host_server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", host_port), partial(_Quiet, directory=str(pages))
    )
    drip_handler = type("Drip", (_Drip,), {"upstream": ("127.0.0.1", app_port)})
    drip_server = http.server.ThreadingHTTPServer(("127.0.0.1", drip_port), drip_handler)
    _serve(host_server)
    _serve(drip_server)
    try:
        with serve(
            tmp / "indexes",
            ready_timeout=180,
            port=app_port,
            generator_backend="extractive",
            cors_origins=json.dumps([host]),
        ):
            yield {"app": app, "host": host, "drip": drip}
    finally:
        host_server.shutdown()
        drip_server.shutdown()


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    if not (CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK)):
        pytest.fail(
            f"Chromium is not installed at {CHROMIUM}: the browser tests need it. "
            "Install it with `apt-get install -y chromium` (`make browser` does that).",
            pytrace=False,
        )
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")),
            executable_path=str(CHROMIUM),
            args=CHROMIUM_ARGS,
            headless=True,
            viewport=DESKTOP,
        )
        context.set_default_timeout(20_000)
        try:
            yield context
        finally:
            context.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    page = browser.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    yield page
    page.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


# --- helpers ---------------------------------------------------------------------------------
def open_widget(page: Any, url: str) -> None:
    page.goto(url)
    page.wait_for_function("() => document.querySelector('newsdesk-widget')?.shadowRoot")
    page.locator("#launcher").click()
    page.locator("#question").wait_for()


def record_events(page: Any) -> None:
    """Log every stream event with the answer text on screen at that moment (from now on)."""
    page.evaluate(
        """() => {
        window.__nd = [];
        if (window.__ndListening) return;
        window.__ndListening = true;
        const host = document.querySelector('newsdesk-widget');
        host.addEventListener('newsdesk:event', (e) => {
          const answers = host.shadowRoot.querySelectorAll('.a');
          const last = answers[answers.length - 1];
          window.__nd.push({
            type: e.detail.type,
            data: e.detail.data,
            shown: last?.querySelector('.a-text')?.textContent ?? null,
            busy: last ? last.getAttribute('aria-busy') : null,
          });
        });
      }"""
    )


def ask(page: Any, question: str) -> Any:
    """Type a question, send it with Enter, wait for its answer; returns the answer locator."""
    before = page.locator(".a").count()
    page.locator("#question").fill(question)
    page.locator("#question").press("Enter")
    answer = page.locator(".a").nth(before)
    page.wait_for_function(
        "(n) => { const a = document.querySelector('newsdesk-widget').shadowRoot"
        ".querySelectorAll('.a')[n]; return a && a.getAttribute('aria-busy') === 'false'; }",
        arg=before,
    )
    return answer


def events(page: Any) -> list[dict[str, Any]]:
    return page.evaluate("() => window.__nd")


def active_id(page: Any) -> str | None:
    return page.evaluate(
        "() => document.querySelector('newsdesk-widget').shadowRoot.activeElement?.id || null"
    )


def active_class(page: Any) -> str | None:
    return page.evaluate(
        "() => document.querySelector('newsdesk-widget').shadowRoot.activeElement?.className"
        " || null"
    )


def assert_fits(page: Any, selector: str, viewport: dict[str, int]) -> None:
    # Measure where it rests, not mid-way through its opening animation.
    page.locator(selector).evaluate(
        "e => Promise.all(e.getAnimations({subtree: true})"
        ".filter(a => a.effect.getTiming().iterations !== Infinity).map(a => a.finished))"
    )
    box = page.locator(selector).bounding_box()
    assert box is not None, f"{selector} is not displayed"
    assert box["x"] >= 0 and box["y"] >= 0, (selector, box)
    assert box["x"] + box["width"] <= viewport["width"] + 0.5, (selector, box, viewport)
    assert box["y"] + box["height"] <= viewport["height"] + 0.5, (selector, box, viewport)


def paragraph_of(body: str, start: int, end: int) -> str:
    """The body's line (paragraph) holding [start, end), in Python code points."""
    first = body.rfind("\n", 0, start) + 1
    last = body.find("\n", end)
    return body[first : last if last >= 0 else len(body)]


def check_source_view(page: Any, app: str, citation: dict[str, Any]) -> None:
    source = page.locator("#source")
    source.wait_for()
    assert page.locator("#source-title").inner_text() == citation["title"]
    mark = page.locator("#source mark")
    mark.wait_for()
    article = httpx.get(f"{app}/v1/articles/{citation['article_id']}", timeout=10).json()
    body = article["body"]
    assert body[citation["char_start"] : citation["char_end"]] == citation["text"]
    assert mark.text_content() == citation["text"]
    assert page.locator("#source .s-para.cited").text_content() == paragraph_of(
        body, citation["char_start"], citation["char_end"]
    )
    assert active_id(page) == "source-title", "focus moves into the source view"


# --- tests -----------------------------------------------------------------------------------
def test_ask_cite_follow_up_abstain_on_a_hostile_page(page: Any, servers: dict[str, str]) -> None:
    page.goto(f"{servers['host']}/hostile.html")
    page.wait_for_function("() => document.querySelector('newsdesk-widget')?.shadowRoot")
    host_p = page.locator("#host-text")
    host_style_before = host_p.evaluate(
        "e => { const s = getComputedStyle(e); return [s.color, s.fontSize, s.fontFamily]; }"
    )
    assert host_style_before[:2] == ["rgb(255, 0, 0)", "40px"], "the hostile CSS is in force"

    # Keyboard: Tab to the launcher, open it with Enter; focus lands in the question box.
    for _ in range(15):
        page.keyboard.press("Tab")
        if active_id(page) == "launcher":
            break
    assert active_id(page) == "launcher", "the launcher is reachable with Tab"
    assert page.locator("#launcher").get_attribute("aria-expanded") == "false"
    page.keyboard.press("Enter")
    page.locator("#panel").wait_for()
    assert page.locator("#launcher").get_attribute("aria-expanded") == "true"
    assert active_id(page) == "question"
    assert page.locator("#log").get_attribute("aria-live") == "polite"
    assert page.locator("#question").get_attribute("aria-label")

    record_events(page)
    requests: list[dict[str, Any]] = []
    page.on(
        "request",
        lambda r: (
            requests.append(json.loads(r.post_data or "{}"))
            if r.method == "POST" and r.url.endswith("/v1/ask/stream")
            else None
        ),
    )
    page.keyboard.type(QUESTION)
    page.keyboard.press("Enter")
    answer = page.locator(".a").nth(0)
    page.wait_for_function(
        "() => document.querySelector('newsdesk-widget').shadowRoot"
        ".querySelector('.a')?.getAttribute('aria-busy') === 'false'"
    )

    # The answer arrived as tokens, and the screen grew with them before the final answer.
    log = events(page)
    kinds = [e["type"] for e in log]
    assert kinds[-1] == "done" and "error" not in kinds, kinds
    tokens = [e for e in log if e["type"] == "token" and e["data"]["text"].strip()]
    assert len(tokens) >= 2, f"expected the answer in several token events, got {kinds}"
    shown = [e["shown"] for e in tokens]
    assert all(e["busy"] == "true" for e in tokens), "tokens render while the answer is open"
    assert shown[0] and all(len(a) < len(b) for a, b in zip(shown, shown[1:], strict=False))
    assert all(b.startswith(a) for a, b in zip(shown, shown[1:], strict=False)), shown
    assert tokens[0]["data"]["text"] in shown[0]
    done = log[-1]["data"]["answer"]
    assert not done["abstained"] and done["citations"]
    assert len(shown[-1]) <= len(answer.locator(".a-text").text_content())

    # Supported sentences carry numbered superscript buttons; the answer looks like an answer.
    assert answer.get_attribute("data-abstained") == "false"
    cites = answer.locator(".a-text sup > button.cite")
    assert cites.count() == sum(len(s["citations"]) for s in done["sentences"] if s["supported"])
    assert cites.first.text_content() == "1"
    assert answer.locator(".a-text").text_content().startswith(done["sentences"][0]["text"])

    # The host page's CSS did not reach in, and ours did not leak out.
    style = answer.locator(".a-text .s").first.evaluate(
        "e => { const s = getComputedStyle(e);"
        " return {color: s.color, size: s.fontSize, family: s.fontFamily}; }"
    )
    assert style["color"] != "rgb(255, 0, 0)" and style["size"] == "15px", style
    assert "Comic" not in style["family"], style
    launcher_bg = page.locator("#launcher").evaluate("e => getComputedStyle(e).backgroundColor")
    assert launcher_bg != "rgb(0, 255, 0)"
    assert page.locator("#question").evaluate("e => e.getBoundingClientRect().width") < 400
    assert (
        host_p.evaluate(
            "e => { const s = getComputedStyle(e); return [s.color, s.fontSize, s.fontFamily]; }"
        )
        == host_style_before
    )

    # Click a citation: the source view shows the article and marks exactly the cited sentence.
    first = done["citations"][0]
    cites.first.click()
    check_source_view(page, servers["app"], first)
    assert page.locator("#source-meta").inner_text()  # outlet and date, or "not recorded"
    assert page.locator("#source-link").is_hidden() == (not first["url"])
    mark_bg = page.locator("#source mark").evaluate("e => getComputedStyle(e).backgroundColor")
    assert mark_bg != "rgb(0, 0, 0)"
    page.screenshot(path=str(ARTIFACTS / "widget-desktop-source.png"), animations="disabled")
    page.keyboard.press("Escape")
    page.locator("#source").wait_for(state="hidden")
    assert active_class(page) == "cite", "Escape returns focus to the citation"
    assert not page.locator("#panel").is_hidden(), "Escape closed only the source view"

    # A follow-up carries the conversation; a citation opens with the keyboard too.
    follow = ask(page, FOLLOW_UP)
    assert requests[-1]["question"] == FOLLOW_UP
    assert requests[-1]["history"] == [
        {"role": "user", "content": QUESTION},
        {
            "role": "assistant",
            "content": " ".join(s["text"] for s in done["sentences"] if s["supported"]),
        },
    ]
    follow_done = events(page)[-1]["data"]["answer"]
    assert follow_done["standalone_question"] != FOLLOW_UP  # the history was used
    assert follow.get_attribute("data-abstained") == "false", follow_done
    follow.locator(".cite").first.focus()
    page.keyboard.press("Enter")
    check_source_view(page, servers["app"], follow_done["citations"][0])
    page.keyboard.press("Escape")
    page.locator("#source").wait_for(state="hidden")

    # An unrelated question, in a new conversation: an abstention, styled apart from answers.
    page.locator("#new-chat").click()
    assert page.locator(".a").count() == 0
    no = ask(page, UNRELATED)
    assert requests[-1]["history"] == []
    no_done = events(page)[-1]["data"]["answer"]
    assert no_done["abstained"], no_done
    assert no.get_attribute("data-abstained") == "true"
    assert "abstained" in (no.get_attribute("class") or "")
    assert no.locator(".abstain-text").inner_text() == ABSTAIN_TEXT
    assert no.locator(".a-text sup").count() == 0, "an abstention has no citation markers"
    box = no.locator(".box").evaluate(
        "e => { const s = getComputedStyle(e);"
        " return {bg: s.backgroundColor, border: s.borderTopStyle}; }"
    )
    assert box["border"] == "dashed" and box["bg"] not in ("rgba(0, 0, 0, 0)", "rgb(255, 255, 255)")
    related = no.locator(".sources .src")
    assert related.count() == len(no_done["related"]) >= 1
    assert no_done["related"][0]["text"] in related.first.inner_text()
    related.first.click()
    check_source_view(page, servers["app"], no_done["related"][0])
    page.keyboard.press("Escape")

    assert_fits(page, "#panel", DESKTOP)
    assert_fits(page, "#launcher", DESKTOP)
    page.screenshot(path=str(ARTIFACTS / "widget-desktop-abstained.png"), animations="disabled")
    # Escape with no source view open closes the panel and gives focus back to the launcher.
    page.locator("#question").focus()
    page.keyboard.press("Escape")
    page.locator("#panel").wait_for(state="hidden")
    assert active_id(page) == "launcher"

    # The desktop screenshot of an answer, for a person to look at.
    page.locator("#launcher").click()
    page.locator("#new-chat").click()
    ask(page, QUESTION)
    page.screenshot(path=str(ARTIFACTS / "widget-desktop.png"), animations="disabled")


def test_phone_viewport(page: Any, servers: dict[str, str]) -> None:
    page.set_viewport_size(MOBILE)
    open_widget(page, f"{servers['host']}/hostile.html")
    assert_fits(page, "#panel", MOBILE)
    answer = ask(page, QUESTION)
    assert answer.get_attribute("data-abstained") == "false"
    assert_fits(page, "#panel", MOBILE)
    assert_fits(page, "#question", MOBILE)
    assert_fits(page, "#send", MOBILE)
    assert_fits(page, "#close", MOBILE)
    size = answer.locator(".a-text .s").first.evaluate("e => getComputedStyle(e).fontSize")
    assert size == "15px"
    # Nothing in the panel is wider than the screen (no sideways scrolling).
    overflow = page.locator("#log").evaluate("e => e.scrollWidth - e.clientWidth")
    assert overflow <= 0
    page.screenshot(path=str(ARTIFACTS / "widget-mobile.png"), animations="disabled")
    answer.locator(".cite").first.click()
    page.locator("#source mark").wait_for()
    assert_fits(page, "#source", MOBILE)
    assert_fits(page, "#source mark", MOBILE)
    page.screenshot(path=str(ARTIFACTS / "widget-mobile-source.png"), animations="disabled")
    page.locator("#source-back").click()
    page.locator("#source").wait_for(state="hidden")
    page.locator("#new-chat").click()
    no = ask(page, UNRELATED)
    assert no.get_attribute("data-abstained") == "true"
    assert_fits(page, "#panel", MOBILE)
    page.screenshot(path=str(ARTIFACTS / "widget-mobile-abstained.png"), animations="disabled")


def test_styles_apply_on_a_page_that_forbids_inline_styles(
    page: Any, servers: dict[str, str]
) -> None:
    open_widget(page, f"{servers['host']}/strict.html")
    launcher = page.locator("#launcher")
    assert launcher.evaluate("e => getComputedStyle(e).position") == "fixed"
    panel = page.locator("#panel")
    assert panel.evaluate("e => getComputedStyle(e).position") == "fixed"
    answer = ask(page, QUESTION)
    assert answer.get_attribute("data-abstained") == "false"
    size = answer.locator(".a-text .s").first.evaluate("e => getComputedStyle(e).fontSize")
    assert size == "15px"


def test_answer_renders_while_the_stream_is_open(page: Any, servers: dict[str, str]) -> None:
    """Through the drip proxy each event arrives 0.6 s after the last: text must show early."""
    open_widget(page, f"{servers['host']}/slow.html")
    record_events(page)
    started = time.monotonic()
    page.locator("#question").fill(QUESTION)
    page.locator("#question").press("Enter")
    first_sentence = page.locator(".a .a-text .s").first
    first_sentence.wait_for()
    seen_after = time.monotonic() - started
    assert first_sentence.text_content()
    assert page.locator(".a").first.get_attribute("aria-busy") == "true"
    classes = first_sentence.get_attribute("class") or ""
    assert "provisional" in classes or "verified" in classes, classes
    page.screenshot(path=str(ARTIFACTS / "widget-streaming.png"), animations="disabled")
    page.wait_for_function(
        "() => document.querySelector('newsdesk-widget').shadowRoot"
        ".querySelector('.a')?.getAttribute('aria-busy') === 'false'"
    )
    total = time.monotonic() - started
    log = events(page)
    assert log[-1]["type"] == "done"
    assert seen_after < total - 1.0, (seen_after, total)  # shown well before the end
    # Provisional text first, then checked: a `sentence` event turns it into a cited claim.
    sentence_events = [e for e in log if e["type"] == "sentence"]
    assert sentence_events and all(e["data"]["supported"] for e in sentence_events)
    assert page.locator(".a .a-text .s.provisional").count() == 0
    assert page.locator(".a .a-text .s.verified").count() == len(sentence_events)


def test_a_verdict_shows_ahead_of_its_claim(page: Any, servers: dict[str, str]) -> None:
    open_widget(page, f"{servers['host']}/slow.html")
    record_events(page)
    answer = ask(page, "Has the Ukrainian government responded to Russia's latest statement?")
    log = events(page)
    verdict = next(e for e in log if e["type"] == "verdict")
    assert verdict["busy"] == "true" and verdict["shown"].startswith("No.1 ")
    assert "has not yet responded" in verdict["shown"]  # the claim's text, still provisional
    done = log[-1]["data"]["answer"]
    assert done["text"].startswith("No. [1] ")
    assert answer.locator(".a-text").text_content().startswith("No.1 ")
    assert answer.locator(".a-text .s.verified").count() == 2


def test_errors_are_readable(page: Any, servers: dict[str, str]) -> None:
    open_widget(page, f"{servers['host']}/hostile.html")
    page.evaluate("() => window.NewsdeskWidget.ask('Why? '.repeat(600))")
    error = page.locator(".a.failed .err")
    error.wait_for()
    assert error.get_attribute("role") == "alert"
    assert error.get_attribute("data-error") == "QuestionTooLong"
    assert "too long" in error.inner_text().lower()
    assert page.locator("#send").get_attribute("aria-label") == "Send question"  # not busy

    open_widget(page, f"{servers['host']}/offline.html")
    page.locator("#question").fill(QUESTION)
    page.locator("#question").press("Enter")
    error = page.locator(".a.failed .err")
    error.wait_for()
    assert error.get_attribute("data-error") == "NetworkError"
    assert "Could not reach Newsdesk" in error.inner_text()
    assert error.locator("button.retry").is_visible()


def test_highlight_is_exact_beyond_the_bmp(page: Any, servers: dict[str, str]) -> None:
    open_widget(page, f"{servers['host']}/hostile.html")
    record_events(page)
    answer = ask(page, ASTRAL_QUESTION)
    done = events(page)[-1]["data"]["answer"]
    cited = next(c for c in done["citations"] if c["article_id"] == "astral-launch")
    assert "🛰" in cited["text"]
    body = httpx.get(f"{servers['app']}/v1/articles/astral-launch", timeout=10).json()["body"]
    assert (
        len(body[: cited["char_start"]])
        != len(body[: cited["char_start"]].encode("utf-16-le")) // 2
    )
    answer.locator(f'.cite[data-n="{cited["n"]}"]').first.click()
    check_source_view(page, servers["app"], cited)
    assert "Space Notes 𝕏" in page.locator("#source-meta").inner_text()
    assert "2024" in page.locator("#source-meta").inner_text()
    # The whole article: every paragraph, the cited one still marked exactly.
    page.locator("#source .s-more").click()
    paragraphs = [p for p in body.split("\n") if p.strip()]
    assert page.locator("#source .s-para").all_text_contents() == paragraphs
    assert page.locator("#source mark").text_content() == cited["text"]
    page.screenshot(path=str(ARTIFACTS / "widget-desktop-article.png"), animations="disabled")
    page.keyboard.press("Escape")
    page.locator("#source").wait_for(state="hidden")


def test_parts_show_each_outlets_finding_with_its_citation(
    page: Any, servers: dict[str, str]
) -> None:
    open_widget(page, f"{servers['host']}/slow.html")
    record_events(page)
    answer = ask(
        page,
        "Does the article from Space Notes 𝕏 report that the Ariane 6 rocket lifted off from "
        "Kourou carrying two weather satellites?",
    )
    log = events(page)
    part_event = next(e for e in log if e["type"] == "part")
    assert part_event["busy"] == "true"  # shown while the answer is still coming
    last_sentence = [e for e in log if e["type"] == "sentence"][-1]
    assert last_sentence["shown"].strip() == "Yes.1"  # the finding shows in its row, once
    done = log[-1]["data"]["answer"]
    (part,) = done["parts"]
    assert (part["source"], part["status"]) == ("Space Notes 𝕏", "supported")
    assert answer.locator(".a-text").text_content().startswith("Yes.")
    row = answer.locator(".parts .part")
    assert row.count() == 1 and row.get_attribute("data-status") == "supported"
    assert row.locator(".part-head").inner_text().startswith("Space Notes 𝕏")
    assert row.locator(".part-finding").inner_text() == part["finding"]
    # the finding is shown once: in its part's row, not again in the answer's text
    assert part["finding"] not in (answer.locator(".a-text").text_content() or "")
    (n,) = part["citations"]
    cited = next(c for c in done["citations"] if c["n"] == n)
    row.locator(f'.cite[data-n="{n}"]').click()
    check_source_view(page, servers["app"], cited)
    page.screenshot(path=str(ARTIFACTS / "widget-desktop-parts.png"), animations="disabled")
    page.keyboard.press("Escape")
    page.locator("#source").wait_for(state="hidden")

    # A part from an outlet the index lacks: the answer names it; the other part still shows.
    # Asked at once: a finished answer frees the widget even while its connection drains.
    answer = ask(
        page,
        "Does the article from Space Notes 𝕏 report that the Ariane 6 rocket lifted off from "
        "Kourou, while the article from Bloomberg says that Arianespace shares rose?",
    )
    assert answer.get_attribute("data-abstained") == "true"
    assert answer.locator(".abstain-text").inner_text() == (
        "The indexed news has nothing from Bloomberg on this."
    )
    statuses = answer.locator(".parts .part").evaluate_all(
        "rows => rows.map(r => r.getAttribute('data-status'))"
    )
    assert statuses == ["supported", "missing"]

    # A denial its outlet's closest sentence does not make: that outlet says otherwise.
    answer = ask(
        page,
        "Does the article from Space Notes 𝕏 report that the Ariane 6 rocket did not lift off "
        "from Kourou?",
    )
    assert answer.locator(".a-text").text_content().startswith("No.")
    row = answer.locator(".parts .part")
    assert row.get_attribute("data-status") == "contradicted"
    assert row.locator(".part-head").inner_text() == "Space Notes 𝕏 · Says otherwise"


def test_demo_page_embeds_the_widget(page: Any, servers: dict[str, str]) -> None:
    page.goto(f"{servers['app']}/")
    assert page.locator('a[href="/docs"]').count() >= 1
    assert page.locator('script[src="/widget.js"]').count() == 1
    page.locator("#launcher").click()
    answer = ask(page, QUESTION)
    assert answer.get_attribute("data-abstained") == "false"
    assert answer.locator(".cite").count() >= 1
    page.screenshot(path=str(ARTIFACTS / "demo-page.png"), animations="disabled")


def _sse(*events: tuple[str, dict[str, Any]]) -> str:
    return "".join(f"event: {k}\ndata: {json.dumps(v)}\n\n" for k, v in events)


def test_unsupported_claims_and_stream_errors_are_never_shown_as_fact(
    page: Any, servers: dict[str, str]
) -> None:
    """Canned streams (the extractive backend never makes an unsupported claim)."""
    article = httpx.get(f"{servers['app']}/v1/articles/a3768beeca3bd2e8", timeout=10).json()
    s0, s1 = article["sentences"][0], article["sentences"][1]

    def cite(n: int, s: dict[str, Any]) -> dict[str, Any]:
        meta = {k: article[k] for k in ("title", "source", "url", "published_at")}
        return {"n": n, "article_id": article["id"], **meta, **s}

    claims = ["Russia invited Zelensky to Moscow.", "Aliens landed in Kyiv.", "Ukraine must agree."]
    tokens = [("token", {"text": claims[0][:10]}), ("token", {"text": claims[0][10:]})]
    tokens += [("token", {"text": " "}), ("token", {"text": claims[1]})]
    tokens += [("token", {"text": " "}), ("token", {"text": claims[2]})]
    answer = {
        "question": QUESTION,
        "standalone_question": QUESTION,
        "text": f"{claims[0]} [1] {claims[2]} [2]",
        "sentences": [
            {"text": claims[0], "citations": [1], "supported": True},
            {"text": claims[1], "citations": [], "supported": False},
            {"text": claims[2], "citations": [2], "supported": True},
        ],
        "citations": [cite(1, s0), cite(2, s1)],
        "abstained": False,
        "related": [],
        "timings": {},
        "model": "canned",
        "backend": "canned",
    }
    good = _sse(
        *tokens,
        ("citation", cite(1, s0)),
        ("sentence", {"index": 0, "supported": True, "citations": [1]}),
        ("sentence", {"index": 1, "supported": False, "citations": []}),
        ("citation", cite(2, s1)),
        ("sentence", {"index": 2, "supported": True, "citations": [2]}),
        ("done", {"answer": answer}),
    )
    broken = _sse(
        *tokens, ("error", {"error": "GeneratorTimeout", "message": "the model took too long"})
    )
    # Sentences whose " " separator is missing: text after a checked sentence is a new one.
    glued = _sse(
        *tokens[:2],
        ("citation", cite(1, s0)),
        ("sentence", {"index": 0, "supported": True, "citations": [1]}),
        ("token", {"text": claims[1]}),
        ("sentence", {"index": 1, "supported": False, "citations": []}),
        ("token", {"text": claims[2]}),
        ("citation", cite(2, s1)),
        ("sentence", {"index": 2, "supported": True, "citations": [2]}),
        ("done", {"answer": answer}),
    )
    bodies = [good, glued, broken]
    cors = {"Access-Control-Allow-Origin": servers["host"], "Content-Type": "text/event-stream"}
    page.route(
        f"{servers['app']}/v1/ask/stream",
        lambda route: route.fulfill(status=200, headers=cors, body=bodies.pop(0)),
    )
    open_widget(page, f"{servers['host']}/hostile.html")
    record_events(page)
    shown = ask(page, QUESTION)
    log = events(page)
    rejected = next(e for e in log if e["type"] == "sentence" and not e["data"]["supported"])
    before = log[log.index(rejected) - 1]
    assert claims[1] in before["shown"], "provisional text shows while it is unchecked"
    assert claims[1] not in rejected["shown"], "an unsupported claim goes as soon as it is judged"
    text = shown.locator(".a-text").text_content()
    assert claims[1] not in text and claims[0] in text and claims[2] in text
    assert shown.locator(".a-text .cite").all_text_contents() == ["1", "2"]
    assert "left out" in shown.locator(".note").inner_text()
    shown.locator(".a-text .cite").nth(1).click()
    check_source_view(page, servers["app"], cite(2, s1))
    page.keyboard.press("Escape")

    record_events(page)
    ask(page, QUESTION)
    log = events(page)
    rejected = next(e for e in log if e["type"] == "sentence" and not e["data"]["supported"])
    assert rejected["shown"].startswith(claims[0]) and claims[1] not in rejected["shown"]
    assert claims[1] in log[log.index(rejected) - 1]["shown"]

    failed = ask(page, QUESTION)
    assert claims[1] not in failed.inner_text() and claims[0] not in failed.inner_text()
    error = failed.locator(".err")
    assert error.get_attribute("role") == "alert"
    assert error.get_attribute("data-error") == "GeneratorTimeout"
    assert "the model took too long" in error.inner_text()


def test_the_window_a_relative_time_chose_is_shown(page: Any, servers: dict[str, str]) -> None:
    open_widget(page, f"{servers['host']}/slow.html")
    answer = ask(page, "What is the latest news on the Ariane 6 rocket?")
    assert answer.get_attribute("data-abstained") == "false"
    note = answer.locator(".note.window")
    assert note.inner_text() == 'Read from the newest relevant news ("latest").'


def test_a_short_answer_says_how_sure_it_is(page: Any, servers: dict[str, str]) -> None:
    """Canned streams: the browser suite serves the extractive backend, which reports no
    confidence; a language model's short answer carries one (tests/test_answer_llm.py)."""
    article = httpx.get(f"{servers['app']}/v1/articles/a3768beeca3bd2e8", timeout=10).json()
    s = next(x for x in article["sentences"] if "Galuzin" in x["text"])
    meta = {k: article[k] for k in ("title", "source", "url", "published_at")}
    citation = {"n": 1, "article_id": article["id"], **meta, **s}
    start = s["text"].index("Mikhail Galuzin")
    name = s["text"][start : start + len("Mikhail Galuzin")]

    def stream(confidence: float) -> str:
        answer = {
            "question": "Who said Moscow is ready for dialogue?",
            "standalone_question": "Who said Moscow is ready for dialogue?",
            "text": f"{name} [1]",
            "sentences": [{"text": name, "citations": [1], "supported": True}],
            "citations": [citation],
            "abstained": False,
            "related": [],
            "timings": {},
            "model": "canned",
            "backend": "canned",
            "mode": "short",
            "reply_probability": confidence,
            "confidence": confidence,
        }
        return _sse(
            ("citation", citation),
            ("token", {"text": name, "sentence": 0}),
            ("sentence", {"index": 0, "text": name, "supported": True, "citations": [1]}),
            ("done", {"answer": answer}),
        )

    bodies = [stream(0.91), stream(0.42)]
    cors = {"Access-Control-Allow-Origin": servers["host"], "Content-Type": "text/event-stream"}
    page.route(
        f"{servers['app']}/v1/ask/stream",
        lambda route: route.fulfill(status=200, headers=cors, body=bodies.pop(0)),
    )
    open_widget(page, f"{servers['host']}/hostile.html")
    sure = ask(page, "Who said Moscow is ready for dialogue?")
    assert sure.locator(".a-text .s.verified").inner_text().startswith("Mikhail Galuzin")
    assert sure.locator(".confidence").inner_text().strip() == "likely (91% sure)"
    unsure = ask(page, "Who said Moscow is ready for dialogue?")
    assert unsure.locator(".confidence").inner_text().strip() == "unsure (42% sure)"


def test_what_is_read_shows_before_the_answer(page: Any, servers: dict[str, str]) -> None:
    open_widget(page, f"{servers['host']}/hostile.html")
    record_events(page)
    shown = ask(page, QUESTION)
    log = events(page)
    kinds = [e["type"] for e in log]
    assert kinds[0] == "evidence" and kinds[-1] == "done"
    read = log[0]["data"]["sentences"]
    count, articles = len(read), len({s["article_id"] for s in read})
    summary = shown.locator("details.read summary").inner_text()
    assert summary == f"{count} sentences read from {articles} article" + "s" * (articles > 1)
    assert shown.locator("details.read li").count() == count


def test_an_article_id_that_objects_inherit_opens_its_source(
    page: Any, servers: dict[str, str]
) -> None:
    open_widget(page, f"{servers['host']}/hostile.html")
    record_events(page)
    shown = ask(page, "What did engineers replace on the harbour bridge during the closure?")
    answer = events(page)[-1]["data"]["answer"]
    cited = next(c for c in answer["citations"] if c["article_id"] == "constructor")
    shown.locator(".a-text .cite").nth(cited["n"] - 1).click()
    check_source_view(page, servers["app"], cited)
