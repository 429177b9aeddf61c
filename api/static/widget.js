/*
 * Newsdesk chat widget: ask the indexed news, every claim cited to its source sentence.
 *
 * Embed with one line (no build step, no dependencies):
 *   <script src="https://HOST/widget.js" data-newsdesk-url="https://HOST" async></script>
 * Optional attributes:
 *   data-newsdesk-url    the Newsdesk service (default: the origin this script was loaded from)
 *   data-newsdesk-index  the index to ask (default: the service's default index)
 *   data-newsdesk-key    an API key, sent as X-API-Key (only if the service asks for one)
 *
 * Everything lives in an open shadow root with its own CSS (widget.css, fetched from where
 * this script came from), so the host page's CSS cannot reach in and the widget's CSS cannot
 * leak out. Answers stream from POST /v1/ask/stream
 * (Server-Sent Events read with fetch); sources come from GET /v1/articles/{id}.
 * Each stream event is also dispatched on the host element as a `newsdesk:event` CustomEvent
 * ({type, data}), after the widget has updated its view, for pages that want to observe it.
 * window.NewsdeskWidget = {open(), close(), ask(question), host}.
 */
(function () {
  "use strict";

  if (window.NewsdeskWidget || document.querySelector("newsdesk-widget")) return;

  var script =
    document.currentScript ||
    document.querySelector("script[data-newsdesk-url]") ||
    document.querySelector('script[src*="widget.js"]');
  var data = (script && script.dataset) || {};
  var BASE = String(
    data.newsdeskUrl || (script && script.src ? new URL(script.src, location.href).origin : location.origin)
  ).replace(/\/+$/, "");
  var INDEX = data.newsdeskIndex || null;
  var KEY = data.newsdeskKey || null;
  var MAX_HISTORY = 12; // turns sent with a follow-up (the service reads the last few)

  // ---------------------------------------------------------------------------------------
  // Styles: widget.css, served beside this script, read before the widget is shown.
  var STYLES = new URL("widget.css", (script && script.src) || BASE + "/").href;

  var ICONS = {
    chat:
      '<svg viewBox="0 0 24 24" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round" aria-hidden="true"><path d="M21 12a8 8 0 0 1-11.6 7.1L4 20l1-4.6A8 8 0 1 1 21 12z"/><path d="M8.5 10.5h7M8.5 13.5h4.5"/></svg>',
    close:
      '<svg viewBox="0 0 24 24" fill="none" stroke="currentColor" stroke-width="2.2" stroke-linecap="round" aria-hidden="true"><path d="M6 6l12 12M18 6L6 18"/></svg>',
    paper:
      '<svg viewBox="0 0 24 24" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round" aria-hidden="true"><path d="M4 5h13v14H6a2 2 0 0 1-2-2V5z"/><path d="M17 9h3v8a2 2 0 0 1-2 2"/><path d="M7.5 9h6M7.5 12.5h6M7.5 16h4"/></svg>',
    fresh:
      '<svg viewBox="0 0 24 24" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round" aria-hidden="true"><path d="M12 20h9"/><path d="M16.5 3.5a2.1 2.1 0 0 1 3 3L7 19l-4 1 1-4z"/></svg>',
    send:
      '<svg class="i-send" viewBox="0 0 24 24" fill="none" stroke="currentColor" stroke-width="2.2" stroke-linecap="round" stroke-linejoin="round" aria-hidden="true"><path d="M5 12h14M13 6l6 6-6 6"/></svg>' +
      '<svg class="i-stop" viewBox="0 0 24 24" fill="currentColor" aria-hidden="true"><rect x="7" y="7" width="10" height="10" rx="2"/></svg>',
    back:
      '<svg viewBox="0 0 24 24" fill="none" stroke="currentColor" stroke-width="2.2" stroke-linecap="round" stroke-linejoin="round" aria-hidden="true"><path d="M19 12H5M11 6l-6 6 6 6"/></svg>',
    none:
      '<svg viewBox="0 0 24 24" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" aria-hidden="true"><circle cx="12" cy="12" r="9"/><path d="M12 8v5M12 16.5v.5"/></svg>',
  };

  // ---------------------------------------------------------------------------------------
  // Small DOM helpers. Text from the service is only ever set as text, never as HTML.
  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    if (attrs) {
      for (var k in attrs) {
        if (!Object.prototype.hasOwnProperty.call(attrs, k) || attrs[k] == null) continue;
        if (k === "class") node.className = attrs[k];
        else if (k === "text") node.textContent = attrs[k];
        else if (k === "html") node.innerHTML = attrs[k]; // only our own constant icons
        else if (k.slice(0, 2) === "on") node.addEventListener(k.slice(2), attrs[k]);
        else node.setAttribute(k, attrs[k]);
      }
    }
    (children || []).forEach(function (c) {
      if (c != null) node.appendChild(typeof c === "string" ? document.createTextNode(c) : c);
    });
    return node;
  }

  function formatDate(value) {
    if (!value) return null;
    var date = new Date(value);
    if (isNaN(date.getTime())) return String(value);
    var dateOnly = /^\d{4}-\d{2}-\d{2}$/.test(value);
    try {
      return new Intl.DateTimeFormat("en", {
        year: "numeric",
        month: "short",
        day: "numeric",
        timeZone: dateOnly ? "UTC" : undefined,
      }).format(date);
    } catch (e) {
      return String(value);
    }
  }

  function metaLine(c) {
    var parts = [c.source || "Outlet not recorded", formatDate(c.published_at) || "date not recorded"];
    return parts.join(" · ");
  }

  function safeUrl(url) {
    if (!url) return null;
    try {
      var u = new URL(url, BASE);
      return u.protocol === "http:" || u.protocol === "https:" ? u.href : null;
    } catch (e) {
      return null;
    }
  }

  function headers(extra) {
    var h = extra || {};
    if (KEY) h["X-API-Key"] = KEY;
    return h;
  }

  // Read Server-Sent Events from a fetch response; calls onEvent(name, data) per event.
  async function readEvents(response, onEvent) {
    var reader = response.body.getReader();
    var decoder = new TextDecoder();
    var buffer = "";
    function dispatch(block) {
      var name = "message";
      var lines = [];
      block.split("\n").forEach(function (line) {
        if (!line || line.charAt(0) === ":") return;
        var i = line.indexOf(":");
        var field = i < 0 ? line : line.slice(0, i);
        var value = i < 0 ? "" : line.slice(i + 1).replace(/^ /, "");
        if (field === "event") name = value;
        else if (field === "data") lines.push(value);
      });
      if (!lines.length) return;
      var payload;
      try {
        payload = JSON.parse(lines.join("\n"));
      } catch (e) {
        payload = { raw: lines.join("\n") };
      }
      onEvent(name, payload);
    }
    for (;;) {
      var chunk = await reader.read();
      if (chunk.done) break;
      buffer += decoder.decode(chunk.value, { stream: true });
      var keep = buffer.slice(-1) === "\r" ? "\r" : ""; // a CRLF may be split across chunks
      if (keep) buffer = buffer.slice(0, -1);
      buffer = buffer.replace(/\r\n?/g, "\n");
      var cut;
      while ((cut = buffer.indexOf("\n\n")) >= 0) {
        var block = buffer.slice(0, cut);
        buffer = buffer.slice(cut + 2);
        dispatch(block);
      }
      buffer += keep;
    }
    buffer += decoder.decode();
    if (buffer.trim()) dispatch(buffer.replace(/\r\n?/g, "\n"));
  }

  // The cited sentence inside its paragraph. Offsets are code points into body (Python
  // indices); JS strings are UTF-16, so index an array of code points instead.
  function locate(body, cit) {
    var cps = Array.from(body);
    var s = cit.char_start;
    var e = cit.char_end;
    var ok =
      typeof s === "number" && typeof e === "number" && s >= 0 && e <= cps.length && s < e &&
      cps.slice(s, e).join("") === cit.text;
    if (!ok && cit.text) {
      var at = body.indexOf(cit.text);
      if (at >= 0) {
        s = Array.from(body.slice(0, at)).length;
        e = s + Array.from(cit.text).length;
        ok = true;
      }
    }
    if (!ok) return null;
    var ps = s;
    while (ps > 0 && cps[ps - 1] !== "\n") ps--;
    var pe = e;
    while (pe < cps.length && cps[pe] !== "\n") pe++;
    return {
      cps: cps,
      paraStart: ps,
      paraEnd: pe,
      before: cps.slice(ps, s).join(""),
      mark: cps.slice(s, e).join(""),
      after: cps.slice(e, pe).join(""),
    };
  }

  // ---------------------------------------------------------------------------------------
  var host = document.createElement("newsdesk-widget");
  var root = host.attachShadow({ mode: "open" });

  var status = el("div", { class: "sr", role: "status", "aria-live": "polite" });
  var launcher = el("button", {
    class: "launcher",
    id: "launcher",
    type: "button",
    "aria-expanded": "false",
    "aria-controls": "panel",
    "aria-label": "Ask Newsdesk",
    html:
      ICONS.chat.replace("<svg", '<svg class="l-open"') +
      ICONS.close.replace("<svg", '<svg class="l-close"') +
      '<span class="l-text">Ask the news</span>',
  });

  var log = el("div", {
    class: "log",
    id: "log",
    role: "log",
    "aria-live": "polite",
    "aria-relevant": "additions",
    "aria-label": "Conversation",
    tabindex: "0",
  });
  var input = el("textarea", {
    class: "input",
    id: "question",
    rows: "1",
    maxlength: "2000",
    placeholder: "Ask about the news…",
    "aria-label": "Your question about the news",
    autocomplete: "off",
  });
  var send = el("button", {
    class: "send",
    id: "send",
    type: "submit",
    "aria-label": "Send question",
    disabled: "",
    html: ICONS.send,
  });
  var form = el("form", { class: "composer", id: "composer" }, [
    el("label", { class: "sr", for: "question", text: "Your question about the news" }),
    input,
    send,
  ]);

  var sourceTitle = el("h3", { class: "s-title", id: "source-title", tabindex: "-1" });
  var sourceMeta = el("p", { class: "s-meta", id: "source-meta" });
  var sourceLink = el("a", { class: "s-link", id: "source-link", target: "_blank", rel: "noopener noreferrer" });
  var sourceParas = el("div", { class: "s-paras", id: "source-paras" });
  var sourceLabel = el("span", { class: "source-label", id: "source-label" });
  var sourceBack = el("button", {
    class: "back",
    type: "button",
    id: "source-back",
    "aria-label": "Back to the answer",
    html: ICONS.back + "<span>Back</span>",
  });
  var source = el(
    "section",
    { class: "source", id: "source", role: "dialog", "aria-modal": "true", "aria-labelledby": "source-title", hidden: "" },
    [
      el("div", { class: "source-bar" }, [sourceBack, sourceLabel]),
      el("div", { class: "source-scroll" }, [sourceTitle, sourceMeta, sourceLink, sourceParas]),
    ]
  );

  var closeBtn = el("button", {
    class: "icon-btn",
    id: "close",
    type: "button",
    "aria-label": "Close Newsdesk",
    html: ICONS.close,
  });
  var freshBtn = el("button", {
    class: "icon-btn",
    id: "new-chat",
    type: "button",
    "aria-label": "Start a new conversation",
    title: "New conversation",
    html: ICONS.fresh,
  });
  var panel = el(
    "section",
    { class: "panel", id: "panel", role: "dialog", "aria-modal": "false", "aria-labelledby": "nd-title", hidden: "" },
    [
      el("header", { class: "head" }, [
        el("div", { class: "logo", html: ICONS.paper }),
        el("div", { class: "titles" }, [
          el("h2", { class: "title", id: "nd-title", text: "Newsdesk" }),
          el("p", { class: "subtitle", text: "Answers from the indexed news, with sources" }),
        ]),
        freshBtn,
        closeBtn,
      ]),
      el("div", { class: "body" }, [log, form, source]),
      el("p", { class: "fine", text: "Every statement links to the sentence it comes from." }),
    ]
  );
  var rootDiv = el("div", { class: "root" }, [launcher, panel, status]);
  root.appendChild(rootDiv);

  function welcome() {
    return el("div", { class: "welcome" }, [
      el("strong", { text: "Ask the news" }),
      "Answers are built only from the indexed articles. Select a number to read the exact source sentence.",
    ]);
  }
  log.appendChild(welcome());

  // ---------------------------------------------------------------------------------------
  var history = [];
  var busy = null; // AbortController of the answer being streamed
  var articles = new Map(); // article id -> Promise of the article (any id: "constructor" too)
  var opener = null; // the element that opened the source view
  var sourceSeq = 0;

  function announce(text) {
    status.textContent = "";
    setTimeout(function () {
      status.textContent = text;
    }, 30);
  }

  function emit(type, payload) {
    try {
      host.dispatchEvent(new CustomEvent("newsdesk:event", { detail: { type: type, data: payload } }));
    } catch (e) {
      /* an observer's error is not ours */
    }
  }

  function scrollDown() {
    log.scrollTop = log.scrollHeight;
  }
  // Follow a growing answer, but never scroll its question out of sight at the top.
  function reveal(bubble) {
    var max = log.scrollHeight - log.clientHeight;
    var top = log.scrollTop + bubble.getBoundingClientRect().top - log.getBoundingClientRect().top - 12;
    log.scrollTop = Math.max(0, Math.min(max, top));
  }

  function openPanel() {
    if (!panel.hidden) return;
    panel.hidden = false;
    rootDiv.classList.add("open");
    launcher.setAttribute("aria-expanded", "true");
    launcher.setAttribute("aria-label", "Close Newsdesk");
    scrollDown();
    input.focus();
  }
  function closePanel() {
    if (panel.hidden) return;
    closeSource(false);
    panel.hidden = true;
    rootDiv.classList.remove("open");
    launcher.setAttribute("aria-expanded", "false");
    launcher.setAttribute("aria-label", "Ask Newsdesk");
    launcher.focus();
  }

  launcher.addEventListener("click", function () {
    if (panel.hidden) openPanel();
    else closePanel();
  });
  closeBtn.addEventListener("click", closePanel);
  freshBtn.addEventListener("click", function () {
    if (busy) busy.abort();
    history = [];
    closeSource(false);
    log.textContent = "";
    log.appendChild(welcome());
    announce("New conversation");
    input.focus();
  });

  root.addEventListener("keydown", function (ev) {
    if (ev.key !== "Escape") return;
    if (!source.hidden) {
      ev.preventDefault();
      ev.stopPropagation();
      closeSource(true);
    } else if (!panel.hidden) {
      ev.preventDefault();
      ev.stopPropagation();
      closePanel();
    }
  });

  function updateSend() {
    if (busy) {
      send.disabled = false;
      send.classList.add("busy");
      send.setAttribute("aria-label", "Stop answering");
    } else {
      send.classList.remove("busy");
      send.setAttribute("aria-label", "Send question");
      send.disabled = !input.value.trim();
    }
  }
  function autosize() {
    input.style.height = "44px";
    input.style.height = Math.min(input.scrollHeight + 2, 120) + "px";
  }
  input.addEventListener("input", function () {
    autosize();
    updateSend();
  });
  input.addEventListener("keydown", function (ev) {
    if (ev.key === "Enter" && !ev.shiftKey && !ev.isComposing) {
      ev.preventDefault();
      if (!busy) submit();
    }
  });
  form.addEventListener("submit", function (ev) {
    ev.preventDefault();
    if (busy) busy.abort();
    else submit();
  });

  function submit() {
    var question = input.value.trim();
    if (!question) return;
    input.value = "";
    autosize();
    ask(question);
  }

  // ---------------------------------------------------------------------------------------
  // One question and its streamed answer.
  function citeButton(n, cit) {
    var label = "Source " + n + (cit ? ": " + cit.title : "");
    var b = el("button", { class: "cite", type: "button", "data-n": String(n), "aria-label": label, title: label, text: String(n) });
    b.addEventListener("click", function () {
      if (cit) openSource(cit, b, "Source " + n);
    });
    return el("sup", null, [b]);
  }

  function sourceList(items, label, quoteFirst, kind) {
    var list = el("ul", { class: "sources", "aria-label": label });
    items.forEach(function (c) {
      var btn = el("button", { class: "src", type: "button", "data-n": String(c.n) }, [
        el("span", { class: "src-n", "aria-hidden": "true", text: String(c.n) }),
        el("span", { class: "src-main" }, [
          quoteFirst ? el("span", { class: "src-quote", text: "“" + c.text + "”" }) : null,
          el("span", { class: "src-title", text: c.title }),
          quoteFirst ? null : el("span", { class: "src-quote", text: "“" + c.text + "”" }),
          el("span", { class: "src-meta", text: metaLine(c) }),
        ]),
      ]);
      btn.setAttribute("aria-label", kind + " " + c.n + ": " + c.title + ", " + metaLine(c));
      btn.addEventListener("click", function () {
        openSource(c, btn, kind + " " + c.n);
      });
      list.appendChild(el("li", null, [btn]));
    });
    return list;
  }

  function Turn(question) {
    this.question = question;
    this.node = el("div", { class: "a", "aria-busy": "true" });
    this.text = el("p", { class: "a-text" });
    this.progressText = el("span", { text: "Searching the news…" });
    this.progress = el("div", { class: "thinking" }, [
      el("span", { class: "dots", "aria-hidden": "true" }, [el("i"), el("i"), el("i")]),
      this.progressText,
    ]);
    this.node.appendChild(this.text);
    this.node.appendChild(this.progress);
    this.spans = []; // {el, node, text, checked}
    this.pendingBreak = false;
    this.citations = {};
    this.parts = null; // the <ol> of findings, once a `part` event came
    this.read = null; // the <details> of what the model reads, once the `evidence` event came
    this.partFindings = []; // their texts: a statement that repeats one is shown in its row
    this.finished = false;
  }
  Turn.prototype.evidence = function (d) {
    // What the model will read, shown at once; folded away, it stays under the answer.
    var read = Array.isArray(d.sentences) ? d.sentences : [];
    if (!read.length || this.read) return;
    var articles = Object.create(null);
    read.forEach(function (s) {
      articles[s.article_id] = true;
    });
    var k = Object.keys(articles).length;
    var summary = read.length + (read.length === 1 ? " sentence" : " sentences") + " read from " +
      k + (k === 1 ? " article" : " articles");
    var list = el("ol", { class: "read-list" });
    read.forEach(function (s) {
      var where = [s.source || "Outlet unknown", formatDate(s.published_at)].filter(Boolean).join(", ");
      list.appendChild(el("li", {}, [el("span", { class: "read-where", text: where + ": " }), String(s.text || "")]));
    });
    this.read = el("details", { class: "read" }, [el("summary", { text: summary }), list]);
    this.node.insertBefore(this.read, this.progress);
    this.progressText.textContent = "Reading " + read.length + " sentences…";
  };
  Turn.prototype.span = function (i) {
    this.progressText.textContent = "Checking each statement against its source…";
    while (this.spans.length <= i) {
      if (this.spans.length) this.text.appendChild(document.createTextNode(" "));
      var node = document.createTextNode("");
      var s = el("span", { class: "s provisional" }, [node]);
      this.text.appendChild(s);
      this.spans.push({ el: s, node: node, text: "", checked: false });
    }
    return this.spans[i];
  };
  Turn.prototype.token = function (d) {
    var text = typeof d.text === "string" ? d.text : "";
    var i;
    if (typeof d.sentence === "number") i = d.sentence;
    else {
      // Sentence boundaries: the " " token between two sentences, or any text after a
      // sentence has been checked (which can only belong to a later sentence).
      var last = this.spans.length - 1;
      if (text === " " && last >= 0 && this.spans[last].text) {
        this.pendingBreak = true;
        return;
      }
      i = last < 0 || this.pendingBreak || this.spans[last].checked ? last + 1 : last;
      this.pendingBreak = false;
    }
    var s = this.span(i);
    s.text += text;
    s.node.data = s.text;
  };
  Turn.prototype.sentence = function (d) {
    var s = this.span(d.index);
    s.checked = true;
    if (!s.text && this.partFindings.indexOf(d.text) >= 0) {
      s.el.className = "s in-part"; // already shown, cited, in its part's row
      return;
    }
    if (d.supported) {
      s.el.className = "s verified";
      (d.citations || []).forEach(
        function (n) {
          s.el.appendChild(citeButton(n, this.citations[n]));
        }.bind(this)
      );
    } else {
      // Never shown as fact: the provisional text goes.
      s.el.className = "s rejected";
      s.node.data = "";
    }
  };
  var PART_STATUS = {
    supported: "Supports it",
    "not supported": "Does not say so",
    contradicted: "Says otherwise",
    missing: "Nothing found",
    "not cited": "Not cited in the answer",
  };
  function partItem(p, citations) {
    var status = typeof p.status === "string" ? p.status : "";
    var item = el("li", { class: "part", "data-status": status }, [
      el("span", { class: "part-head", text: (p.source || "Any outlet") + " · " + (PART_STATUS[status] || status) }),
      el("span", { class: "part-finding", text: typeof p.finding === "string" ? p.finding : "" }),
    ]);
    (p.citations || []).forEach(function (n) {
      item.appendChild(citeButton(n, citations[n]));
    });
    return item;
  }
  // A question asked in parts: each outlet's finding, shown as soon as it is verified.
  Turn.prototype.part = function (d) {
    this.progressText.textContent = "Checking each part of the question against its outlet…";
    if (!this.parts) {
      this.parts = el("ol", { class: "parts", "aria-label": "Findings by source" });
      this.node.insertBefore(this.parts, this.progress);
    }
    this.parts.appendChild(partItem(d, this.citations));
    this.partFindings.push(d.finding);
  };
  // "Yes." or "No.": what the first supported statement implies, shown ahead of it.
  Turn.prototype.verdict = function (d) {
    var span = el("span", { class: "s verified verdict" }, [typeof d.text === "string" ? d.text : ""]);
    (d.citations || []).forEach(
      function (n) {
        span.appendChild(citeButton(n, this.citations[n]));
      }.bind(this)
    );
    this.text.insertBefore(document.createTextNode(" "), this.text.firstChild);
    this.text.insertBefore(span, this.text.firstChild);
  };
  Turn.prototype.finish = function (answer) {
    this.finished = true;
    this.progress.remove();
    this.node.setAttribute("aria-busy", "false");
    this.text.textContent = "";
    (answer.citations || []).forEach(
      function (c) {
        this.citations[c.n] = c;
      }.bind(this)
    );
    var parts = answer.parts || [];
    if (this.parts) this.parts.remove();
    this.parts = null;
    if (parts.length) {
      this.parts = el("ol", { class: "parts", "aria-label": "Findings by source" });
      parts.forEach(
        function (p) {
          this.parts.appendChild(partItem(p, this.citations));
        }.bind(this)
      );
      this.node.insertBefore(this.parts, this.text.nextSibling);
    }
    if (answer.abstained) return this.abstain(answer);
    this.node.className = "a answered";
    this.node.setAttribute("data-abstained", "false");
    // A finding is shown once, in its part's row.
    var findings = parts.map(function (p) {
      return p.finding;
    });
    var shown = (answer.sentences || []).filter(function (s) {
      return s.supported && findings.indexOf(s.text) < 0;
    });
    shown.forEach(
      function (s, i) {
        if (i) this.text.appendChild(document.createTextNode(" "));
        var span = el("span", { class: "s verified" }, [s.text]);
        (s.citations || []).forEach(
          function (n) {
            span.appendChild(citeButton(n, this.citations[n]));
          }.bind(this)
        );
        this.text.appendChild(span);
      }.bind(this)
    );
    if (typeof answer.confidence === "number") {
      // The calibrated chance that the answer is right, in words and as a share.
      var c = Math.max(0, Math.min(1, answer.confidence));
      var word = c >= 0.8 ? "likely" : c >= 0.5 ? "fairly likely" : "unsure";
      this.text.appendChild(
        el("span", {
          class: "confidence",
          "data-confidence": String(c),
          text: " " + word + " (" + Math.round(c * 100) + "% sure)",
        })
      );
    }
    var dropped = (answer.sentences || []).filter(function (s) {
      return !s.supported;
    }).length;
    if (answer.window && answer.window.text) {
      // Which publication window a relative time in the question chose.
      this.node.appendChild(el("p", { class: "note window", text: "Read from " + answer.window.text + "." }));
    }
    if (dropped > 0) {
      this.node.appendChild(
        el("p", {
          class: "note",
          text:
            dropped +
            (dropped === 1 ? " statement was" : " statements were") +
            " left out because the sources did not support " +
            (dropped === 1 ? "it." : "them."),
        })
      );
    }
    if ((answer.citations || []).length) {
      this.node.appendChild(el("p", { class: "sources-label", text: "Sources" }));
      this.node.appendChild(sourceList(answer.citations, "Sources", false, "Source"));
    }
    if (parts.length) return answer.text; // the verdict with its findings, for a follow-up
    return shown
      .map(function (s) {
        return s.text;
      })
      .join(" ");
  };
  Turn.prototype.abstain = function (answer) {
    // The service's own words (every answer has them): "does not say", which outlet of the
    // question it lacks, or why the model's reply was withheld.
    var said = typeof answer.text === "string" ? answer.text : "";
    this.node.className = "a abstained";
    this.node.setAttribute("data-abstained", "true");
    var box = el("div", { class: "box", role: "note" }, [
      el("div", { class: "abstain-head" }, [el("span", { html: ICONS.none }), el("span", { class: "abstain-text", text: said })]),
      el("p", {
        class: "abstain-sub",
        // True of every reason the service gives (nothing found, an outlet it lacks, a reply
        // it could not locate or was too unsure of): the news may hold more than was cited.
        text: "Newsdesk gives no answer it cannot cite to the indexed news.",
      }),
    ]);
    var related = answer.related || [];
    if (related.length) {
      box.appendChild(el("p", { class: "sources-label", text: "Related reading" }));
      box.appendChild(sourceList(related, "Related reading (does not answer the question)", true, "Related"));
    }
    this.node.insertBefore(box, this.parts);
    return said;
  };
  Turn.prototype.fail = function (name, message, retry) {
    this.finished = true;
    this.node.setAttribute("aria-busy", "false");
    this.node.className = "a failed";
    this.node.textContent = "";
    var titles = {
      RateLimited: "Too many questions right now",
      Busy: "Newsdesk is busy",
      ServerBusy: "Newsdesk is busy",
      QuestionTooLong: "That question is too long",
      EmptyQuestion: "Please type a question",
      UnsupportedLanguage: "Please ask in English",
      UnknownIndex: "That news index does not exist",
      NetworkError: "Could not reach Newsdesk",
      Interrupted: "The answer was interrupted",
      MissingApiKey: "This Newsdesk needs an API key",
      InvalidApiKey: "This Newsdesk refused the API key",
    };
    var box = el("div", { class: "err", role: "alert" }, [
      el("strong", { text: titles[name] || "Something went wrong" }),
      el("span", { text: message || "Please try again." }),
    ]);
    var q = this.question;
    box.appendChild(
      el("button", {
        class: "retry",
        type: "button",
        text: "Try again",
        onclick: function () {
          if (!busy) ask(q);
        },
      })
    );
    box.setAttribute("data-error", name);
    if (retry) box.setAttribute("data-retry-after", String(retry));
    this.node.appendChild(box);
  };

  async function ask(question) {
    question = String(question || "").trim();
    if (!question || busy) return;
    openPanel();
    if (log.firstChild && log.firstChild.className === "welcome") log.removeChild(log.firstChild);
    var bubble = el("div", { class: "q", text: question });
    log.appendChild(bubble);
    var turn = new Turn(question);
    log.appendChild(turn.node);
    reveal(bubble);
    var controller = new AbortController();
    busy = controller;
    updateSend();
    announce("Searching the news");
    var body = { question: question, history: history.slice(-MAX_HISTORY) };
    if (INDEX) body.index = INDEX;
    try {
      var response = await fetch(BASE + "/v1/ask/stream", {
        method: "POST",
        headers: headers({ "Content-Type": "application/json", Accept: "text/event-stream" }),
        body: JSON.stringify(body),
        signal: controller.signal,
      });
      if (!response.ok) {
        var err = { error: "HTTP" + response.status, message: response.statusText || "" };
        try {
          err = await response.json();
        } catch (e) {
          /* not JSON */
        }
        var retry = parseInt(response.headers.get("Retry-After") || "", 10);
        var msg = err.message || "The service answered " + response.status + ".";
        if (retry > 0) msg += " Try again in " + retry + (retry === 1 ? " second." : " seconds.");
        turn.fail(err.error || "HTTPError", msg, retry > 0 ? retry : null);
        announce("Error: " + msg);
        emit("error", err);
        return;
      }
      await readEvents(response, function (type, d) {
        if (turn.finished) return;
        if (type === "evidence") turn.evidence(d);
        else if (type === "token") turn.token(d);
        else if (type === "citation") turn.citations[d.n] = d;
        else if (type === "sentence") turn.sentence(d);
        else if (type === "verdict") turn.verdict(d);
        else if (type === "part") turn.part(d);
        else if (type === "done" && d.answer) {
          var said = turn.finish(d.answer);
          history.push({ role: "user", content: question });
          history.push({ role: "assistant", content: said });
          var n = (d.answer.citations || []).length;
          announce(
            d.answer.abstained
              ? "No answer: " + said
              : "Answer ready" + (n ? ", " + n + (n === 1 ? " source" : " sources") : "")
          );
        } else if (type === "error") {
          turn.fail(d.error || "Error", d.message);
          announce("Error: " + (d.message || d.error));
        }
        // The answer is complete at `done` (or an error): the next question need not wait
        // for the connection to close, which a slow network or a proxy can hold open.
        if (turn.finished && busy === controller) {
          busy = null;
          updateSend();
        }
        reveal(bubble);
        emit(type, d);
      });
      if (!turn.finished) {
        turn.fail("Interrupted", "The connection closed before the answer was complete.");
        emit("error", { error: "Interrupted" });
      }
    } catch (e) {
      if (e && e.name === "AbortError") {
        if (!turn.finished) turn.fail("Interrupted", "You stopped this answer.");
      } else if (!turn.finished) {
        turn.fail("NetworkError", "Newsdesk at " + BASE + " did not answer. Check the connection and try again.");
        announce("Error: could not reach Newsdesk");
      }
      emit("error", { error: (e && e.name) || "Error", message: String((e && e.message) || e) });
    } finally {
      if (busy === controller) busy = null;
      updateSend();
      reveal(bubble);
    }
  }

  // ---------------------------------------------------------------------------------------
  // The source view: the article's paragraph with the cited sentence marked.
  function article(id) {
    if (!articles.has(id)) {
      var url = BASE + "/v1/articles/" + encodeURIComponent(id) + (INDEX ? "?index=" + encodeURIComponent(INDEX) : "");
      var loading = fetch(url, { headers: headers({ Accept: "application/json" }) }).then(function (r) {
        return r.json().then(
          function (j) {
            if (!r.ok) throw new Error((j && j.message) || "the article could not be loaded (" + r.status + ")");
            return j;
          },
          function () {
            throw new Error("the article could not be loaded (" + r.status + ")");
          }
        );
      });
      articles.set(id, loading);
      loading.catch(function () {
        articles.delete(id);
      });
    }
    return articles.get(id);
  }

  function openSource(cit, from, label) {
    var seq = ++sourceSeq;
    if (opener && opener.classList.contains("cite")) opener.setAttribute("aria-expanded", "false");
    opener = from || null;
    if (opener && opener.classList.contains("cite")) opener.setAttribute("aria-expanded", "true");
    sourceLabel.textContent = label || "Source";
    sourceTitle.textContent = cit.title || "Untitled article";
    sourceMeta.textContent = metaLine(cit);
    var link = safeUrl(cit.url);
    sourceLink.hidden = !link;
    if (link) {
      sourceLink.href = link;
      sourceLink.textContent = "Read the original article ↗";
    } else sourceLink.removeAttribute("href");
    sourceParas.textContent = "";
    sourceParas.appendChild(el("p", { class: "s-status", text: "Loading the article…" }));
    source.hidden = false;
    source.setAttribute("data-article-id", cit.article_id);
    source.querySelector(".source-scroll").scrollTop = 0;
    sourceTitle.focus();
    article(cit.article_id).then(
      function (a) {
        if (seq !== sourceSeq || source.hidden) return;
        if (a.title) sourceTitle.textContent = a.title;
        var merged = {
          source: a.source != null ? a.source : cit.source,
          published_at: a.published_at != null ? a.published_at : cit.published_at,
        };
        sourceMeta.textContent = metaLine(merged) + (a.author ? " · " + a.author : "");
        var l = safeUrl(a.url || cit.url);
        sourceLink.hidden = !l;
        if (l) {
          sourceLink.href = l;
          sourceLink.textContent = "Read the original article ↗";
        }
        renderBody(a.body || "", cit);
      },
      function (err) {
        if (seq !== sourceSeq) return;
        sourceParas.textContent = "";
        sourceParas.appendChild(el("p", { class: "s-para cited" }, [el("mark", { text: cit.text })]));
        sourceParas.appendChild(el("p", { class: "s-status", role: "alert", text: "Could not load the full article: " + err.message }));
      }
    );
  }

  function renderBody(body, cit) {
    sourceParas.textContent = "";
    var at = locate(body, cit);
    if (!at) {
      sourceParas.appendChild(el("p", { class: "s-para cited" }, [el("mark", { text: cit.text })]));
      sourceParas.appendChild(el("p", { class: "s-status", text: "This sentence is no longer in the stored article." }));
      return;
    }
    function paras(text) {
      return text.split("\n").filter(function (p) {
        return p.trim();
      });
    }
    var head = paras(at.cps.slice(0, at.paraStart).join(""));
    var tail = paras(at.cps.slice(at.paraEnd).join(""));
    var cited = el("p", { class: "s-para cited" }, [at.before, el("mark", { text: at.mark }), at.after]);
    function show(all) {
      sourceParas.textContent = "";
      (all ? head : head.slice(-1)).forEach(function (p) {
        sourceParas.appendChild(el("p", { class: "s-para context", text: p }));
      });
      sourceParas.appendChild(cited);
      (all ? tail : tail.slice(0, 1)).forEach(function (p) {
        sourceParas.appendChild(el("p", { class: "s-para context", text: p }));
      });
    }
    show(false);
    if (head.length > 1 || tail.length > 1) {
      var more = el("button", { class: "s-more", type: "button", text: "Show the whole article" });
      more.addEventListener("click", function () {
        show(true);
        var scroller = source.querySelector(".source-scroll");
        scroller.scrollTop +=
          cited.getBoundingClientRect().top - scroller.getBoundingClientRect().top - 60;
        var mark = cited.querySelector("mark");
        mark.setAttribute("tabindex", "-1");
        mark.focus({ preventScroll: true });
      });
      sourceParas.appendChild(more);
    }
  }

  function closeSource(restoreFocus) {
    if (source.hidden) return;
    sourceSeq++;
    source.hidden = true;
    var back = opener;
    if (back && back.classList.contains("cite")) back.setAttribute("aria-expanded", "false");
    opener = null;
    if (restoreFocus) {
      if (back && back.isConnected) back.focus();
      else input.focus();
    }
  }
  sourceBack.addEventListener("click", function () {
    closeSource(true);
  });

  // ---------------------------------------------------------------------------------------
  function styled() {
    // The widget's own styles, read before it is shown (an unstyled widget is never seen):
    // adopted by the shadow root where the browser can (a page's Content-Security-Policy on
    // inline styles does not reach a constructed sheet), else a <style> inside it.
    return fetch(STYLES, { credentials: "omit" })
      .then(function (res) {
        if (!res.ok) throw new Error("HTTP " + res.status);
        return res.text();
      })
      .then(function (text) {
        var constructable =
          "adoptedStyleSheets" in root &&
          typeof CSSStyleSheet === "function" &&
          "replaceSync" in CSSStyleSheet.prototype;
        if (constructable) {
          var sheet = new CSSStyleSheet();
          sheet.replaceSync(text);
          root.adoptedStyleSheets = [sheet];
        } else {
          root.insertBefore(el("style", { text: text }), root.firstChild);
        }
      });
  }
  function mount() {
    styled().then(
      function () {
        (document.body || document.documentElement).appendChild(host);
      },
      function (err) {
        console.error("Newsdesk widget: no styles from " + STYLES + " (" + err.message + ")");
      }
    );
  }
  if (document.body) mount();
  else document.addEventListener("DOMContentLoaded", mount);

  window.NewsdeskWidget = {
    open: openPanel,
    close: closePanel,
    ask: ask,
    host: host,
  };
})();
