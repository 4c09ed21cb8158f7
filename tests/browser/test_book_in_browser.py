"""The built book, opened in headless Chromium with no network.

Run after ``jupyter-book build .`` with ``pytest tests/browser`` (``pytest tests`` does not
collect this module, see ``conftest.py``). The pages are those listed in ``_toc.yml``; the
built site (``_build/html``) is served on 127.0.0.1 from a thread, and each page is loaded
once in Chromium (driven over the DevTools protocol, see ``devtools.py``), which is then
asked what it shows. For every page:

* math is typeset by the MathJax copy served with the book (``_static/mathjax``): every
  ``.math`` element holds an ``mjx-container``, no TeX error or undefined macro is drawn,
  no raw TeX is left in the text outside code (``\\(..\\)``, ``\\[..\\]``, ``$$..$$``,
  ``$..$``, a lone delimiter or a control word such as ``\\theta``), and no ``$`` touches a
  formula (the mark of a dollar delimiter the MyST parser did not pair);
* every image has loaded (``naturalWidth > 0``);
* no uncaught exception, ``console.error`` or error-level browser log entry, except the
  two that the Jupyter Book 1 toolchain itself causes on every book
  (:data:`KNOWN_UPSTREAM_CONSOLE_ERRORS`, listed in the JSON summary);
* every request goes to 127.0.0.1 and succeeds (the browser cannot resolve any other host);
* every link into the site names an existing file, and its ``#anchor`` an existing id;
* the download button (and on notebook pages the launch buttons) configured in
  ``_config.yml`` are there and point where they should.

A screenshot of one chapter is kept in ``_build/screenshots/``, with a JSON summary of
what was measured on each page. ``test_checks_detect_planted_defects`` shows that each
check fails on a page built to fail it.

Without Chromium, or without a built book, the module is skipped; with
``GMMLIT_REQUIRE_BROWSER=1`` (set by ``.ci/run``) it fails instead.
"""

import base64
import functools
import json
import os
import re
import threading
from dataclasses import dataclass, field
from html.parser import HTMLParser
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
import yaml

from tests.browser.devtools import DevToolsError, find_chromium, launch

REPO_ROOT = Path(__file__).resolve().parents[2]
HTML_DIR = REPO_ROOT / "_build" / "html"
SCREENSHOT_DIR = REPO_ROOT / "_build" / "screenshots"
SCREENSHOT_PAGE = "book/setting"
"""Page kept as a screenshot; the first chapter after the root when it is not in the toc."""

SOURCE_SUFFIXES = (".md", ".ipynb", ".rst")
VIEWPORT = {"width": 1280, "height": 900, "deviceScaleFactor": 1, "mobile": False}
SCREENSHOT_MAX_HEIGHT = 16000
"""Pixels: Chromium cannot capture a taller surface in one piece."""

PAGE_LOAD_TIMEOUT_SECONDS = 30.0
"""Bound on the load event of one page served from localhost; generous for a shared machine."""
MATHJAX_TIMEOUT_MILLISECONDS = 20000
"""Bound on MathJax's initial typesetting of one page (about 1 s here on a math-heavy page)."""
QUIET_NETWORK_SECONDS = 0.3
"""After typesetting, events are received until none arrives for this long (late font loads)."""

REQUIRE_BROWSER = os.environ.get("GMMLIT_REQUIRE_BROWSER", "") not in ("", "0")


def _skip_or_fail(reason):
    """Skip the module, or fail it when ``GMMLIT_REQUIRE_BROWSER`` is set."""
    if REQUIRE_BROWSER:
        pytest.fail(f"{reason} (GMMLIT_REQUIRE_BROWSER is set: a missing browser test is an error)",
                    pytrace=False)
    pytest.skip(reason, allow_module_level=True)


CHROMIUM = find_chromium()
if CHROMIUM is None:
    _skip_or_fail("Chromium is not installed (Debian: apt-get install chromium; or set "
                  "GMMLIT_CHROMIUM): the built book is not checked in a browser")
if not (HTML_DIR / "index.html").is_file():
    _skip_or_fail(f"the book is not built ({HTML_DIR / 'index.html'} is missing): "
                  "run `jupyter-book build .` first")


# ----------------------------------------------------------------------------------------
# The pages: _toc.yml, the sources and the built files


def toc_entries(node):
    """Return the ``file`` and ``glob`` entries of a parsed ``_toc.yml``, in reading order.

    Parameters
    ----------
    node : dict or list
        The parsed table of contents (or any part of it).

    Returns
    -------
    list of tuple
        ``("file", name)`` or ``("glob", pattern)`` pairs; ``url`` entries are left out.
    """
    if isinstance(node, list):
        return [entry for item in node for entry in toc_entries(item)]
    if not isinstance(node, dict):
        return []
    entries = []
    for key in ("root", "file", "glob"):
        if key in node:
            entries.append(("glob" if key == "glob" else "file", str(node[key])))
    for value in node.values():
        if isinstance(value, (list, dict)):
            entries.extend(toc_entries(value))
    return entries


def source_of(docname):
    """Return the source file of a docname (``book/setting`` -> ``book/setting.md``), or None."""
    candidates = [REPO_ROOT / docname] + [REPO_ROOT / f"{docname}{s}" for s in SOURCE_SUFFIXES]
    for candidate in candidates:
        if candidate.is_file() and candidate.suffix in SOURCE_SUFFIXES:
            return candidate
    return None


def docname_of(name):
    """Strip a source suffix from a toc file name."""
    for suffix in SOURCE_SUFFIXES:
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


def toc_docnames():
    """Return the docnames listed in ``_toc.yml`` (globs expanded over the sources), in order."""
    toc = yaml.safe_load((REPO_ROOT / "_toc.yml").read_text())
    docnames = []
    for kind, name in toc_entries(toc):
        if kind == "file":
            found = [docname_of(name)]
        else:
            found = sorted(docname_of(str(path.relative_to(REPO_ROOT)))
                           for suffix in SOURCE_SUFFIXES for path in REPO_ROOT.glob(name + suffix))
        docnames.extend(d for d in found if d not in docnames)
    return docnames


def is_notebook_source(path):
    """True when Jupyter Book executes the source as a notebook (``.ipynb``, or MyST with a kernel)."""
    if path.suffix == ".ipynb":
        return True
    text = path.read_text()
    if not text.startswith("---"):
        return False
    front_matter = text.split("---", 2)[1]
    return "kernelspec" in (yaml.safe_load(front_matter) or {})


def book_config():
    """Return the parsed ``_config.yml``."""
    return yaml.safe_load((REPO_ROOT / "_config.yml").read_text())


PAGES = toc_docnames()


# ----------------------------------------------------------------------------------------
# Serving the site


class _QuietHandler(SimpleHTTPRequestHandler):
    """Serves files without logging each request to stderr."""

    def log_message(self, format, *args):
        pass


@dataclass
class Site:
    """A directory served on 127.0.0.1; ``origin`` is e.g. ``http://127.0.0.1:41234``."""

    root: Path
    origin: str

    def url_of(self, docname):
        return f"{self.origin}/{docname}.html"


def start_server(root):
    """Serve ``root`` on 127.0.0.1 at a free port from a daemon thread; return (server, Site)."""
    handler = functools.partial(_QuietHandler, directory=str(root))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="book-server", daemon=True).start()
    return server, Site(Path(root), f"http://127.0.0.1:{server.server_address[1]}")


def stop_server(server):
    """Stop a server from :func:`start_server` and close its socket."""
    server.shutdown()
    server.server_close()


# ----------------------------------------------------------------------------------------
# Inspecting one page in the browser

WAIT_FOR_PAGE_JS = r"""
(async (timeoutMs) => {
  const deadline = Date.now() + timeoutMs;
  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));
  const untilDeadline = (promise) => Promise.race([promise, sleep(deadline - Date.now())]);
  for (const img of document.images) { if (img.loading === "lazy") img.loading = "eager"; }
  await untilDeadline(Promise.all([...document.images].map((img) => img.complete ? null :
    new Promise((resolve) => { img.addEventListener("load", resolve); img.addEventListener("error", resolve); }))));
  let mathjax = {status: "no MathJax script on the page"};
  if (document.querySelector('script[src*="mathjax"]')) {
    while (!(window.MathJax && MathJax.startup && MathJax.startup.promise) && Date.now() < deadline) {
      await sleep(50);
    }
    if (!(window.MathJax && MathJax.startup && MathJax.startup.promise)) {
      mathjax = {status: "timeout", detail: "MathJax did not start"};
    } else {
      mathjax = await Promise.race([
        MathJax.startup.promise.then(() => ({status: "typeset", version: MathJax.version}),
                                     (error) => ({status: "error", detail: String(error)})),
        sleep(deadline - Date.now()).then(() => ({status: "timeout", detail: "typesetting did not finish"})),
      ]);
    }
  }
  await untilDeadline(document.fonts.ready);
  return mathjax;
})(%d)
"""

COLLECT_DOM_JS = r"""
(() => {
  const SKIP = "script, style, pre, code, kbd, samp, textarea, mjx-container, .highlight";
  // Whole \(..\), \[..\], $$..$$ first; then lone delimiters, TeX control words (\alpha, \begin),
  // and $..$ holding \ ^ _ or {. Prose has no backslash-words; code is skipped above.
  const RAW_TEX = /\\\([^]*?\\\)|\\\[[^]*?\\\]|\$\$[^]*?\$\$|\\[()[\]]|\$\$|\\[A-Za-z]+|(?:^|[^\\$])\$(?=\S)[^$\n]*[\\^_{][^$\n]*\S\$/g;
  const rawTex = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    if (!node.parentElement || node.parentElement.closest(SKIP)) continue;
    const matches = [...node.data.matchAll(RAW_TEX)];
    if (matches.length) {
      const start = Math.max(0, matches[0].index - 20);
      rawTex.push(node.data.slice(start, start + 100).replace(/\s+/g, " ").trim());
    }
  }
  const texOf = new Map();  // typeset container -> its TeX source, from MathJax's own list
  if (window.MathJax && MathJax.startup && MathJax.startup.document) {
    for (const item of MathJax.startup.document.math) texOf.set(item.typesetRoot, item.math);
  }
  const sourceOf = (e) => texOf.get(e.closest("mjx-container")) ?? "?";
  // A "$" touching a typeset formula: a dollar-math delimiter the parser did not pair.
  const strayDollars = [];
  for (const e of document.querySelectorAll(".math")) {
    const text = (node) => (node && node.nodeType === Node.TEXT_NODE ? node.data : "");
    const before = text(e.previousSibling), after = text(e.nextSibling);
    if (/\$\s*$/.test(before) || /^\s*\$/.test(after)) {
      strayDollars.push(`${before.slice(-20)}[math]${after.slice(0, 20)}`.replace(/\s+/g, " ").trim());
    }
  }
  const hrefs = (selector) => [...document.querySelectorAll(selector)].map((a) => a.href);
  const mathElements = [...document.querySelectorAll(".math")];
  return {
    title: document.title,
    icons: hrefs('link[rel~="icon"]'),
    math: {
      elements: mathElements.length,
      containers: document.querySelectorAll("mjx-container").length,
      untypeset: mathElements.filter((e) => !e.querySelector("mjx-container"))
                             .map((e) => e.textContent.trim().slice(0, 100)),
      // CHTML draws characters with CSS (empty textContent): TeX comes from MathJax's list,
      // undefined macros (red mtext) from the assistive MathML.
      errors: [...document.querySelectorAll("mjx-merror")].map((e) =>
        `${e.getAttribute("data-mjx-error") || "TeX error"} in '${sourceOf(e).trim().slice(0, 100)}'`),
      undefinedMacros: [...document.querySelectorAll('mjx-assistive-mml mtext[mathcolor="red"]')]
                 .map((e) => e.textContent),
      rawTex: [...new Set(rawTex)],
      strayDollars: strayDollars,
    },
    images: [...document.images].map((img) => ({
      src: img.currentSrc || img.src, complete: img.complete,
      naturalWidth: img.naturalWidth, naturalHeight: img.naturalHeight,
    })),
    links: [...document.querySelectorAll("a[href]")].map((a) => ({
      href: a.href, text: a.textContent.trim().replace(/\s+/g, " ").slice(0, 60),
    })),
    buttons: {
      downloadMenu: !!document.querySelector(".dropdown-download-buttons"),
      downloadSource: hrefs(".dropdown-download-buttons a.btn-download-source-button"),
      downloadNotebook: hrefs(".dropdown-download-buttons a.btn-download-notebook-button"),
      downloadPdf: !!document.querySelector(".dropdown-download-buttons .btn-download-pdf-button"),
      launch: [...document.querySelectorAll(".dropdown-launch-buttons a")].map((a) => ({
        text: a.textContent.trim(), href: a.href,
      })),
      repository: hrefs("a.btn-source-repository-button"),
    },
    reader: {
      viewportWidth: window.innerWidth,
      bodyFontPx: parseFloat(getComputedStyle(document.querySelector("article p") || document.body).fontSize),
      sourceBlocks: [...document.querySelectorAll("details.gmmlit-source")].map((d) => ({
        summary: (d.querySelector("summary") || {textContent: ""}).textContent.trim(),
        code: [...d.querySelectorAll("pre")].map((pre) => pre.textContent).join("\n"),
        highlighted: d.querySelectorAll("div.highlight pre span").length,
      })),
      images: [...document.querySelectorAll("article img")].map((img) => ({
        src: img.currentSrc || img.src, alt: img.getAttribute("alt"),
        displayedWidth: img.getBoundingClientRect().width, naturalWidth: img.naturalWidth,
        inOutput: !!img.closest(".cell_output"),
      })),
      outputStreams: [...document.querySelectorAll(".cell_output")].map((out) =>
        [...out.querySelectorAll(".output.stream pre")].map((pre) => pre.textContent)),
      tables: document.querySelectorAll("table.gmmlit-table").length,
      statusColumns: [...document.querySelectorAll("article table")].flatMap((table) =>
        [...table.querySelectorAll("thead th, tr:first-child th")].filter((th) => /status/i.test(th.textContent))
          .map((th) => {
            const r = th.getBoundingClientRect();
            let clip = window.innerWidth;
            for (let a = th.parentElement; a && a !== document.body; a = a.parentElement) {
              const style = getComputedStyle(a);
              if (/(auto|hidden|scroll|clip)/.test(style.overflowX)) clip = Math.min(clip, a.getBoundingClientRect().right);
            }
            return {text: th.textContent.trim(), left: r.left, right: r.right, visibleRight: clip};
          })),
    },
  };
})()
"""


@dataclass
class PageReport:
    """What the browser saw on one page.

    Attributes
    ----------
    url : str
        The page's address.
    navigation_error : str
        Chromium's error for the navigation itself ('' when it loaded).
    mathjax : dict
        ``status`` ('typeset', 'timeout', 'error' or 'no MathJax script on the page'), ``detail``.
    dom : dict
        What ``COLLECT_DOM_JS`` returned: math, images, links, buttons.
    events : list of dict
        Every DevTools event received while the page loaded and settled.
    """

    url: str
    navigation_error: str = ""
    mathjax: dict = field(default_factory=dict)
    dom: dict = field(default_factory=dict)
    events: list = field(default_factory=list)

    def events_named(self, method):
        return [event["params"] for event in self.events if event["method"] == method]

    def requested_urls(self):
        """Every URL the page requested, in order, without repeats."""
        urls = [params["request"]["url"] for params in self.events_named("Network.requestWillBeSent")]
        return list(dict.fromkeys(urls))


class Tab:
    """One browser tab with page, runtime, log and network events switched on."""

    def __init__(self, browser):
        self.browser = browser
        target = browser.call("Target.createTarget", {"url": "about:blank"})
        self.session = browser.call("Target.attachToTarget",
                                    {"targetId": target["targetId"], "flatten": True})["sessionId"]
        for domain in ("Page", "Runtime", "Log", "Network"):
            self.call(f"{domain}.enable")
        self.call("Emulation.setDeviceMetricsOverride", VIEWPORT)

    def call(self, method, params=None, timeout=None):
        kwargs = {} if timeout is None else {"timeout": timeout}
        return self.browser.call(method, params, session_id=self.session, **kwargs)

    def evaluate(self, expression, timeout=None):
        """Evaluate JavaScript in the page, awaiting a promise; return its JSON value."""
        result = self.call("Runtime.evaluate", {"expression": expression, "awaitPromise": True,
                                                "returnByValue": True}, timeout=timeout)
        if "exceptionDetails" in result:
            raise DevToolsError(f"page script failed: {result['exceptionDetails']}")
        return result["result"].get("value")

    def inspect(self, url):
        """Load ``url``, wait for images, MathJax and fonts, and return a :class:`PageReport`."""
        self.browser.clear_events()
        report = PageReport(url)
        navigation = self.call("Page.navigate", {"url": url})
        report.navigation_error = navigation.get("errorText", "")
        if not report.navigation_error:
            self.browser.wait_for_event("Page.loadEventFired", self.session,
                                        timeout=PAGE_LOAD_TIMEOUT_SECONDS)
            report.mathjax = self.evaluate(WAIT_FOR_PAGE_JS % MATHJAX_TIMEOUT_MILLISECONDS,
                                           timeout=MATHJAX_TIMEOUT_MILLISECONDS / 1000 + 10)
            self.browser.drain_events(QUIET_NETWORK_SECONDS, timeout=5.0)
            report.dom = self.evaluate(COLLECT_DOM_JS)
        report.events = [event for event in self.browser.events if event.get("sessionId") == self.session]
        return report

    def screenshot(self, path):
        """Save a PNG of the whole current page (at most ``SCREENSHOT_MAX_HEIGHT`` tall); return (w, h).

        The viewport is stretched to the page's height for the capture: Chromium's
        ``captureBeyondViewport`` shifted this theme's layout sideways in the image.
        """
        size = self.call("Page.getLayoutMetrics")["cssContentSize"]
        width = int(VIEWPORT["width"])
        height = int(min(size["height"], SCREENSHOT_MAX_HEIGHT))
        self.call("Emulation.setDeviceMetricsOverride", dict(VIEWPORT, height=height))
        try:
            self.evaluate("new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))")
            shot = self.call("Page.captureScreenshot", {"format": "png"}, timeout=60.0)
        finally:
            self.call("Emulation.setDeviceMetricsOverride", VIEWPORT)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(shot["data"]))
        return width, height


# ----------------------------------------------------------------------------------------
# Checks: each returns a list of problems (strings), empty when the page passes


def math_problems(report):
    """Problems with typesetting: MathJax not done, math left raw, TeX errors, undefined macros."""
    problems = []
    math = report.dom.get("math", {})
    status = report.mathjax.get("status")
    if status not in ("typeset", "no MathJax script on the page"):
        problems.append(f"MathJax {status}: {report.mathjax.get('detail', '')}")
    if math.get("elements") and status != "typeset":
        problems.append(f"{math['elements']} math elements but MathJax did not typeset the page")
    problems += [f"math not typeset: '{tex}'" for tex in math.get("untypeset", [])]
    problems += [f"TeX error: {error}" for error in math.get("errors", [])]
    problems += [f"undefined TeX macro drawn in red: {macro}" for macro in math.get("undefinedMacros", [])]
    problems += [f"raw TeX left in the text: '{text}'" for text in math.get("rawTex", [])]
    problems += [f"'$' next to a formula (unpaired dollar math): '{text}'" for text in math.get("strayDollars", [])]
    return problems


def image_problems(report):
    """Images that did not load (``naturalWidth`` 0 once loading has finished)."""
    return [f"image did not load: {image['src']}" for image in report.dom.get("images", [])
            if not (image["complete"] and image["naturalWidth"] > 0)]


def _remote_object_text(obj):
    return str(obj.get("value", obj.get("description", obj.get("type", ""))))


KNOWN_UPSTREAM_CONSOLE_ERRORS = {
    "uncaught exception: SyntaxError: Identifier 'THEBE_JS_URL' has already been declared": (
        "Sphinx 7.4 (Jupyter Book 1 requires sphinx~=7.0) writes every inline script added with "
        "app.add_js_file(None, body=...) after builder init twice (filename None vs '' defeats its "
        "de-duplication; fixed upstream by sphinx-doc/sphinx PR 13402, after the 7.x series). "
        "sphinx-thebe's second copy re-declares a const and throws; the first copy has already "
        "defined the same values, so nothing is lost. A bare one-page Jupyter Book shows it too."),
    "console.error: Got invalid theme mode: . Resetting to auto.": (
        "pydata-sphinx-theme on a browser's first visit (empty localStorage): its head script sets "
        "data-mode to '' and its bundle rejects '' before falling back to 'auto'; once per profile."),
}
"""Console errors of the Jupyter Book 1 toolchain itself, reported in the summary, not failed on."""


def is_automatic_favicon(url, report):
    """True for the ``/favicon.ico`` the browser asks for by itself when a page declares no icon."""
    return urlsplit(url).path == "/favicon.ico" and not report.dom.get("icons")


def console_messages(report):
    """Every uncaught exception, ``console.error``/``console.assert`` and error-level log entry.

    The browser's own request for ``/favicon.ico`` (the book declares no icon) is left out:
    the page does not make it.
    """
    messages = []
    for params in report.events_named("Runtime.exceptionThrown"):
        details = params["exceptionDetails"]
        text = details.get("exception", {}).get("description") or details.get("text", "")
        messages.append(f"uncaught exception: {text.splitlines()[0] if text else details}")
    for params in report.events_named("Runtime.consoleAPICalled"):
        if params["type"] in ("error", "assert"):
            text = " ".join(_remote_object_text(arg) for arg in params.get("args", []))
            messages.append(f"console.{params['type']}: {text}")
    for params in report.events_named("Log.entryAdded"):
        entry = params["entry"]
        if entry["level"] == "error" and not is_automatic_favicon(entry.get("url", ""), report):
            messages.append(f"browser log error: {entry['text']} ({entry.get('url', '')})")
    return messages


def console_problems(report):
    """Console errors other than :data:`KNOWN_UPSTREAM_CONSOLE_ERRORS`."""
    return [m for m in console_messages(report) if m not in KNOWN_UPSTREAM_CONSOLE_ERRORS]


def is_local(url, origin):
    """True for data:, blob: and about: URLs and for URLs on ``origin``'s host (127.0.0.1)."""
    parts = urlsplit(url)
    if parts.scheme in ("data", "blob", "about"):
        return True
    return parts.scheme in ("http", "https") and parts.hostname == urlsplit(origin).hostname


def request_problems(report, origin):
    """Requests leaving localhost, failed loads and HTTP error responses."""
    if report.navigation_error:
        return [f"page did not load: {report.navigation_error}"]
    problems = [f"request leaves localhost: {url}" for url in report.requested_urls()
                if not is_local(url, origin)]
    urls = {params["requestId"]: params["request"]["url"]
            for params in report.events_named("Network.requestWillBeSent")}
    # The browser's own /favicon.ico request is not the page's (see is_automatic_favicon).
    for params in report.events_named("Network.loadingFailed"):
        url = urls.get(params["requestId"], "?")
        if not params.get("canceled") and not is_automatic_favicon(url, report):
            problems.append(f"request failed ({params['errorText']}): {url}")
    for params in report.events_named("Network.responseReceived"):
        response = params["response"]
        if response["status"] >= 400 and not is_automatic_favicon(response["url"], report):
            problems.append(f"HTTP {response['status']}: {response['url']}")
    return problems


class _AnchorCollector(HTMLParser):
    """Collects every ``id`` (and ``<a name>``) of an HTML file."""

    def __init__(self):
        super().__init__()
        self.anchors = set()

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if value is not None and (name == "id" or (tag == "a" and name == "name")):
                self.anchors.add(value)


@functools.lru_cache(maxsize=None)
def anchors_of(path):
    """Return the set of ids (and ``<a name>``s) in the HTML file ``path``."""
    collector = _AnchorCollector()
    collector.feed(Path(path).read_text(errors="replace"))
    return frozenset(collector.anchors)


def local_file_of(url, site):
    """Return the file under ``site.root`` that a local URL names (``index.html`` for folders)."""
    path = site.root / unquote(urlsplit(url).path).lstrip("/")
    return path / "index.html" if path.is_dir() else path


def link_problems(report, site):
    """Links into the site naming a missing file, or an ``#anchor`` missing from its target."""
    problems = []
    checked = set()
    for link in report.dom.get("links", []):
        parts = urlsplit(link["href"])
        if link["href"] in checked or parts.scheme not in ("http", "https") or not is_local(link["href"], site.origin):
            continue
        checked.add(link["href"])
        target = local_file_of(link["href"], site)
        label = f"link {link['text']!r} -> {parts.path}{'#' + parts.fragment if parts.fragment else ''}"
        if not target.is_file():
            problems.append(f"{label}: no file {target.relative_to(site.root)}")
        elif parts.fragment and target.suffix == ".html" and unquote(parts.fragment) not in anchors_of(target):
            problems.append(f"{label}: no element with id {unquote(parts.fragment)!r} in "
                            f"{target.relative_to(site.root)}")
    return problems


def _repository_path(url_path, branch_marker):
    """Return the repository-relative file path following ``branch_marker`` in a launch URL."""
    tail = url_path.split(branch_marker, 1)[1] if branch_marker in url_path else ""
    return os.path.normpath(tail) if tail else ""


def button_problems(report, docname, source, config):
    """Download and launch buttons missing or pointing elsewhere than ``_config.yml`` says.

    Parameters
    ----------
    report : PageReport
    docname : str
        e.g. ``book/setting``.
    source : pathlib.Path
        The page's source file.
    config : dict
        Parsed ``_config.yml``.
    """
    problems = []
    buttons = report.dom.get("buttons", {})
    html = config.get("html", {}) or {}
    if html.get("use_download_button", True):
        if not buttons.get("downloadMenu"):
            problems.append("no download button (html.use_download_button is true)")
        expected_source = f"/_sources/{docname}{source.suffix}"
        if not any(urlsplit(h).path == expected_source for h in buttons.get("downloadSource", [])):
            problems.append(f"download menu has no source link to {expected_source}: "
                            f"{buttons.get('downloadSource')}")
        if not buttons.get("downloadPdf"):
            problems.append("download menu has no print-to-PDF entry")
        if is_notebook_source(source):
            expected_notebook = f"/_sources/{docname}.ipynb"
            if not any(urlsplit(h).path == expected_notebook for h in buttons.get("downloadNotebook", [])):
                problems.append(f"download menu has no notebook link to {expected_notebook}: "
                                f"{buttons.get('downloadNotebook')}")
    url = repository_url(config)
    if url:
        if url.rstrip("/") not in [h.rstrip("/") for h in buttons.get("repository", [])]:
            problems.append(f"no repository button to {url}")
        if is_notebook_source(source):
            problems += launch_problems(buttons.get("launch", []), config)
    else:
        problems += [f"repository button without a repository.url: {h}" for h in buttons.get("repository", [])]
        problems += [f"launch button without a repository.url: {b['href']}" for b in buttons.get("launch", [])]
    return problems


def repository_url(config):
    """``repository.url`` of ``_config.yml`` ('' when unset): the one setting that turns the
    repository and launch buttons on (``gmmlit.book.sphinx_ext``)."""
    return str((config.get("repository") or {}).get("url") or "").strip()


def launch_problems(launch_links, config):
    """Binder/Colab launch links missing, not on the configured service, or naming no repository file."""
    problems = []
    launch = config.get("launch_buttons", {}) or {}
    branch = (config.get("repository", {}) or {}).get("branch", "main")
    services = {"Binder": ("binderhub_url", "urlpath"), "Colab": ("colab_url", None)}
    for name, (key, query_key) in services.items():
        service_url = (launch.get(key) or "").rstrip("/")
        if not service_url:
            continue
        links = [link["href"] for link in launch_links if link["text"] == name]
        if not links:
            problems.append(f"no {name} launch button (launch_buttons.{key} is {service_url})")
            continue
        href = links[0]
        if not href.startswith(service_url + "/"):
            problems.append(f"{name} link {href} is not on {service_url}")
        parts = urlsplit(href)
        if query_key:  # urlpath=tree/<path> (classic) or lab/tree/<path> (JupyterLab)
            target = parse_qs(parts.query).get(query_key, [""])[0]
            prefix = next((p for p in ("lab/tree/", "tree/") if target.startswith(p)), None)
            path = os.path.normpath(target[len(prefix):]) if prefix else ""
        else:
            path = _repository_path(parts.path, f"/blob/{branch}/")
        if not path or not (REPO_ROOT / path).is_file():
            problems.append(f"{name} link {href} does not name a file of the repository ({path!r})")
    return problems


# ----------------------------------------------------------------------------------------
# Fixtures


@pytest.fixture(scope="module")
def site():
    server, served = start_server(HTML_DIR)
    yield served
    stop_server(server)


@pytest.fixture(scope="module")
def tab():
    try:
        browser = launch(CHROMIUM)
    except DevToolsError as error:
        pytest.fail(str(error), pytrace=False)
    with browser:
        yield Tab(browser)


@pytest.fixture(scope="module")
def reports(site, tab):
    """Page reports by docname, each page loaded once, on first use; summarised to JSON at the end."""
    loaded = {}

    def report_of(docname):
        if docname not in loaded:
            loaded[docname] = tab.inspect(site.url_of(docname))
        return loaded[docname]

    yield report_of
    summary = {docname: {
        "mathjax": report.mathjax.get("status"),
        "math_elements": report.dom.get("math", {}).get("elements"),
        "mjx_containers": report.dom.get("math", {}).get("containers"),
        "images": len(report.dom.get("images", [])),
        "links": len(report.dom.get("links", [])),
        "requests": len(report.requested_urls()),
        "non_local_requests": [u for u in report.requested_urls() if not is_local(u, site.origin)],
        "known_upstream_console_errors": [m for m in console_messages(report)
                                          if m in KNOWN_UPSTREAM_CONSOLE_ERRORS],
    } for docname, report in loaded.items()}
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    (SCREENSHOT_DIR / "browser-report.json").write_text(json.dumps(summary, indent=2) + "\n")


def _built_page(docname):
    return HTML_DIR / f"{docname}.html"


def _require_built(docname):
    if not _built_page(docname).is_file():
        pytest.fail(f"{docname}: listed in _toc.yml but {_built_page(docname)} was not built", pytrace=False)


def _assert_no_problems(docname, what, problems):
    assert not problems, f"{docname}.html: {what}:\n  " + "\n  ".join(problems)


# ----------------------------------------------------------------------------------------
# Tests


def test_toc_lists_pages():
    assert len(PAGES) >= 2, f"_toc.yml lists {PAGES}: expected a root page and at least one chapter"


@pytest.mark.parametrize("docname", PAGES)
def test_page_is_built_from_its_current_source(docname):
    source = source_of(docname)
    assert source is not None, f"{docname}: listed in _toc.yml, but no source {docname}{SOURCE_SUFFIXES}"
    _require_built(docname)
    assert _built_page(docname).stat().st_mtime >= source.stat().st_mtime, (
        f"{docname}.html is older than {source.relative_to(REPO_ROOT)}: rebuild the book")


@pytest.mark.parametrize("docname", PAGES)
def test_math_is_typeset_offline(docname, reports):
    _require_built(docname)
    _assert_no_problems(docname, "math", math_problems(reports(docname)))


@pytest.mark.parametrize("docname", PAGES)
def test_images_load(docname, reports):
    _require_built(docname)
    _assert_no_problems(docname, "images", image_problems(reports(docname)))


@pytest.mark.parametrize("docname", PAGES)
def test_no_console_errors(docname, reports):
    _require_built(docname)
    _assert_no_problems(docname, "console", console_problems(reports(docname)))


@pytest.mark.parametrize("docname", PAGES)
def test_requests_stay_on_localhost_and_succeed(docname, reports, site):
    _require_built(docname)
    report = reports(docname)
    assert report.requested_urls(), f"{docname}.html: no request recorded at all (is the Network domain on?)"
    _assert_no_problems(docname, "requests", request_problems(report, site.origin))


@pytest.mark.parametrize("docname", PAGES)
def test_internal_links_resolve(docname, reports, site):
    _require_built(docname)
    _assert_no_problems(docname, "links", link_problems(reports(docname), site))


@pytest.mark.parametrize("docname", PAGES)
def test_download_and_launch_buttons(docname, reports):
    _require_built(docname)
    _assert_no_problems(docname, "header buttons",
                        button_problems(reports(docname), docname, source_of(docname), book_config()))


def test_a_chapter_shows_typeset_math_and_launch_buttons_only_with_a_repository(reports):
    """At least one chapter has typeset math; being a notebook, it has Binder/Colab launch
    buttons exactly when ``repository.url`` names a repository to launch from."""
    chapters = [d for d in PAGES if source_of(d) and is_notebook_source(source_of(d))]
    assert chapters, "no chapter of _toc.yml is a notebook: launch buttons are never shown"
    report = reports(chapters[0])
    assert report.dom["math"]["containers"] > 0, f"{chapters[0]}.html: no mjx-container"
    if repository_url(book_config()):
        assert report.dom["buttons"]["launch"], f"{chapters[0]}.html: no launch buttons"
    else:
        assert not report.dom["buttons"]["launch"], f"{chapters[0]}.html: launch buttons with no repository"


def png_size(data):
    """Return (width, height) of PNG bytes, read from the IHDR chunk; raise ValueError if not a PNG."""
    if data[:8] != b"\x89PNG\r\n\x1a\n" or data[12:16] != b"IHDR":
        raise ValueError("data: not a PNG image")
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


def test_screenshot_of_a_chapter(site, tab):
    docname = SCREENSHOT_PAGE if SCREENSHOT_PAGE in PAGES else PAGES[min(1, len(PAGES) - 1)]
    _require_built(docname)
    report = tab.inspect(site.url_of(docname))
    assert report.mathjax.get("status") in ("typeset", "no MathJax script on the page"), report.mathjax
    path = SCREENSHOT_DIR / f"{Path(docname).name}.png"
    width, height = tab.screenshot(path)
    assert png_size(path.read_bytes()) == (width, height), f"{path}: not the {width}x{height} PNG captured"


PLANTED_PAGE = r"""<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>planted defects</title>
<script>window.MathJax = {"options": {"processHtmlClass": "math"}};</script>
<script defer src="_static/mathjax/tex-chtml.js"></script>
</head>
<body class="tex2jax_ignore mathjax_ignore">
<p id="fine">Typeset: <span class="math notranslate nohighlight">\(x^2 + \mu_1\)</span>.</p>
<p>Undefined macro: <span class="math notranslate nohighlight">\(\plantedundefinedmacro x\)</span>.</p>
<div class="math notranslate nohighlight">\[ x^2^3 \]</div>
<div class="math notranslate nohighlight">\[ \frac{1}{ \]</div>
<p>Left raw: $$a+b$$.</p>
<p>Left raw: \(c\).</p>
<p>Left raw: $\alpha_1$, but not $5 or $x.</p>
<p>Unpaired: $<span class="math notranslate nohighlight">\(y\)</span> and \theta left over.</p>
<pre>code may say $$x$$ and \(y\)</pre>
<img src="_images/no-such-image.png" alt="missing">
<img src="http://planted.invalid/remote.png" alt="remote">
<img src="http://localhost:PORT/probe.png" alt="localhost resolves without the host-resolver rule">
<a href="no-such-page.html">missing page</a>
<a href="planted.html#no-such-anchor">missing anchor</a>
<a href="planted.html#fine">good anchor</a>
<a href="https://example.org/">external, not followed</a>
<script>console.error("planted console error");</script>
<script>plantedUndefinedFunction();</script>
</body></html>
"""


def test_checks_detect_planted_defects(tab, tmp_path):
    """Each check reports the defect planted for it, and only the good parts pass."""
    (tmp_path / "_static").mkdir()
    (tmp_path / "_static" / "mathjax").symlink_to(HTML_DIR / "_static" / "mathjax", target_is_directory=True)
    server, planted_site = start_server(tmp_path)
    port = urlsplit(planted_site.origin).port
    (tmp_path / "planted.html").write_text(PLANTED_PAGE.replace("PORT", str(port)))
    try:
        report = tab.inspect(planted_site.url_of("planted"))
    finally:
        stop_server(server)
    math = "\n".join(math_problems(report))
    assert report.mathjax["status"] == "typeset", report.mathjax
    assert report.dom["math"]["elements"] == 5, report.dom["math"]
    assert report.dom["math"]["containers"] == 4, "unbalanced braces: MathJax finds no math there"
    assert "math not typeset: '\\[ \\frac{1}{ \\]'" in math, math
    assert "undefined TeX macro drawn in red: \\plantedundefinedmacro\n" in math, math
    assert "Double exponent: use braces to clarify in 'x^2^3'" in math, math
    raw = [p for p in math_problems(report) if p.startswith("raw TeX")]
    assert len(raw) == 5, raw  # the unbalanced display, $$a+b$$, \(c\), $\alpha_1$, \theta; not $5, code
    planted = ("\\frac{1}{", "$$a+b$$", "\\(c\\)", "$\\alpha_1$", "\\theta left")
    assert all(any(t in p for p in raw) for t in planted), raw
    assert "'$' next to a formula (unpaired dollar math): 'Unpaired: $[math] and \\theta" in math, math
    images = image_problems(report)
    assert [p.rsplit("/", 1)[1] for p in images] == ["no-such-image.png", "remote.png", "probe.png"], images
    console = console_problems(report)
    assert any("planted console error" in p for p in console), console
    assert any("plantedUndefinedFunction" in p for p in console), console
    requests = request_problems(report, planted_site.origin)
    assert "request leaves localhost: http://planted.invalid/remote.png" in requests, requests
    # localhost resolves everywhere; only the host-resolver rule makes it fail to resolve.
    assert f"request failed (net::ERR_NAME_NOT_RESOLVED): http://localhost:{port}/probe.png" in requests, requests
    assert any(p.startswith("HTTP 404") and "no-such-image.png" in p for p in requests), requests
    links = link_problems(report, planted_site)
    assert len(links) == 2, links
    assert "no file no-such-page.html" in links[0] and "no-such-anchor" in links[1], links
    buttons = button_problems(report, "planted", tmp_path / "planted.html", book_config())
    assert any("no download button" in p for p in buttons), buttons


def test_launch_check_detects_wrong_links():
    """The launch-button check fails on a missing service, a foreign host and a missing file."""
    config = {"repository": {"branch": "main"},
              "launch_buttons": {"binderhub_url": "https://mybinder.org",
                                 "colab_url": "https://colab.research.google.com"}}
    good = [{"text": "Binder", "href": "https://mybinder.org/v2/gh/o/r/main?urlpath=tree/./_config.yml"},
            {"text": "Colab", "href": "https://colab.research.google.com/github/o/r/blob/main/_config.yml"}]
    assert launch_problems(good, config) == []
    lab = [{"text": "Binder", "href": "https://mybinder.org/v2/gh/o/r/main?urlpath=lab/tree/_config.yml"}]
    assert launch_problems(lab, {**config, "launch_buttons": {"binderhub_url": "https://mybinder.org"}}) == []
    wrong = [{"text": "Binder", "href": "https://elsewhere.org/v2/gh/o/r/main?urlpath=tree/book/nothing.md"}]
    problems = launch_problems(wrong, config)
    assert len(problems) == 3, problems
    assert "not on https://mybinder.org" in problems[0]
    assert "'book/nothing.md'" in problems[1]
    assert problems[2].startswith("no Colab launch button")


def test_toc_entries_walks_parts_sections_and_globs():
    toc = {"format": "jb-book", "root": "intro",
           "parts": [{"caption": "A", "chapters": [
               {"file": "a.md", "sections": [{"file": "a1"}, {"url": "https://example.org"}]},
               {"glob": "notes/*"}]}]}
    assert toc_entries(toc) == [("file", "intro"), ("file", "a.md"), ("file", "a1"), ("glob", "notes/*")]


# ----------------------------------------------------------------------------------------
# The reader's promises (issue 15): code beside the formulas, working links, legible
# figures with alt text, no duplicated output, readable tables

SOURCE_BLOCKS = {
    "book/gradient-hessian": ["PopulationKL._pass", "PopulationKL.hessian", "tangent_projector"],
    "book/computing": ["bregman_integrand"],
    "book/ravine": ["quartic_form"],
    "book/polyak": ["polyak_step", "floor_estimate", "short_step", "ravine_stage"],
}
"""Pages that show implementing code, and a name each of their source blocks must include."""

PLACEHOLDER_LINK = re.compile(r"github\.com/gmmlit(/|$)", re.IGNORECASE)
"""The placeholder repository the book once linked to; it does not exist."""

MIN_FIGURE_DPI = 150
FILE_NAME_ALT = re.compile(r"(\.(png|svg|jpe?g|gif)$)|(^[0-9a-f]{16,})", re.IGNORECASE)
LEDGER_PAGE = "book/ledger"


def png_dpi(data):
    """Horizontal resolution (pixels per inch) from a PNG's pHYs chunk, or None without one."""
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("data: not a PNG image")
    pos = 8
    while pos + 8 <= len(data):
        length = int.from_bytes(data[pos:pos + 4], "big")
        kind = data[pos + 4:pos + 8]
        if kind == b"pHYs":
            body = data[pos + 8:pos + 8 + length]
            per_unit, unit = int.from_bytes(body[:4], "big"), body[8]
            return per_unit * 0.0254 if unit == 1 else None
        if kind == b"IDAT":
            return None
        pos += 12 + length
    return None


def source_block_problems(report, expected):
    """Source blocks missing, empty or not highlighted, on a page that should show ``expected``."""
    blocks = report.dom.get("reader", {}).get("sourceBlocks", [])
    problems = [f"no source block showing {name}" for name in expected
                if not any(name in b["summary"] or f"def {name.rsplit('.', 1)[-1]}(" in b["code"] for b in blocks)]
    for block in blocks:
        if "def " not in block["code"]:
            problems.append(f"source block {block['summary']!r} holds no function definition")
        elif block["highlighted"] == 0:
            problems.append(f"source block {block['summary']!r} is not highlighted")
    return problems


def placeholder_link_problems(report):
    """Links to the placeholder repository."""
    return [f"placeholder link: {link['href']}" for link in report.dom.get("links", [])
            if PLACEHOLDER_LINK.search(link["href"])]


def alt_text_problems(report):
    """Images without a meaningful alt text (missing, a file name, or a few characters)."""
    problems = []
    for image in report.dom.get("reader", {}).get("images", []):
        alt = (image.get("alt") or "").strip()
        name = image["src"].rsplit("/", 1)[-1]
        if not alt:
            problems.append(f"no alt text: {name}")
        elif FILE_NAME_ALT.search(alt) or len(alt) < 12 or not re.search(r"[A-Za-z]{3,}\s+[A-Za-z]", alt):
            problems.append(f"alt text is not a description ({alt!r}): {name}")
    return problems


def figure_problems(report, site):
    """Output figures below :data:`MIN_FIGURE_DPI`, or whose smallest text (the book style's
    :func:`font_size` for the figure's width) is shown smaller than the body text."""
    from gmmlit.book.style import font_size

    reader = report.dom.get("reader", {})
    body = reader.get("bodyFontPx") or 16.0
    problems = []
    for image in reader.get("images", []):
        if not image["inOutput"] or not image["naturalWidth"]:
            continue
        name = image["src"].rsplit("/", 1)[-1]
        path = local_file_of(image["src"], site)
        if path.suffix.lower() == ".svg":
            continue
        dpi = png_dpi(path.read_bytes()) if path.suffix.lower() == ".png" else None
        if dpi is None or dpi < MIN_FIGURE_DPI - 0.5:
            problems.append(f"{name}: {dpi if dpi is None else round(dpi)} dpi, expected at least {MIN_FIGURE_DPI}")
            continue
        width_in = image["naturalWidth"] / dpi
        shown = font_size(width_in) * dpi / 72.0 * image["displayedWidth"] / image["naturalWidth"]
        if shown < 0.95 * body:
            problems.append(f"{name}: {width_in:.1f} in wide, shown {image['displayedWidth']:.0f} px wide, "
                            f"its smallest text {shown:.1f} px against {body:.0f} px body text")
    return problems


def _repeats_the_rest(texts):
    """True when the first of several texts ends with all the others, in order: the mark of
    a merge written into its input (the merged text first, then every piece again)."""
    texts = [t.rstrip() for t in texts]
    if len(texts) < 2 or not all(t.strip() for t in texts[1:]):
        return False
    return texts[0].endswith("\n".join(texts[1:]))


def duplicated_output_problems(report):
    """Cells whose stream output on the page shows a block twice, or a merged block
    followed by its pieces."""
    problems = []
    for k, blocks in enumerate(report.dom.get("reader", {}).get("outputStreams", [])):
        texts = [t for t in blocks if t.strip()]
        if len(set(t.strip() for t in texts)) < len(texts) or _repeats_the_rest(texts):
            problems.append(f"output {k}: {texts[-1].strip()[:60]!r} is shown twice")
    return problems


def notebook_duplicate_problems(notebook):
    """Code cells of a downloaded notebook whose first stream repeats the later ones."""
    problems = []
    for k, cell in enumerate(notebook.get("cells", [])):
        for name in ("stdout", "stderr"):
            streams = ["".join(o.get("text", "")) for o in cell.get("outputs", [])
                       if o.get("output_type") == "stream" and o.get("name", "stdout") == name]
            if _repeats_the_rest(streams):
                problems.append(f"cell {k}: {name} {streams[-1].strip()[:60]!r} appears twice")
    return problems


def status_column_problems(report):
    """Ledger tables whose status column is cut off at the window width."""
    columns = report.dom.get("reader", {}).get("statusColumns", [])
    if not columns:
        return ["no table with a status column"]
    return [f"status column {c['text']!r} ends at {c['right']:.0f} px, visible up to {c['visibleRight']:.0f} px"
            for c in columns if c["right"] > c["visibleRight"] + 1 or c["left"] < 0]


@pytest.mark.parametrize("docname", sorted(SOURCE_BLOCKS))
def test_source_blocks_beside_the_formulas(docname, reports):
    assert docname in PAGES, f"{docname} is not in _toc.yml"
    _require_built(docname)
    _assert_no_problems(docname, "source blocks", source_block_problems(reports(docname), SOURCE_BLOCKS[docname]))


@pytest.mark.parametrize("docname", PAGES)
def test_no_placeholder_links(docname, reports):
    _require_built(docname)
    _assert_no_problems(docname, "links", placeholder_link_problems(reports(docname)))


@pytest.mark.parametrize("docname", PAGES)
def test_images_have_alt_text(docname, reports):
    _require_built(docname)
    _assert_no_problems(docname, "alt text", alt_text_problems(reports(docname)))


@pytest.mark.parametrize("docname", PAGES)
def test_figures_are_legible_at_the_page_width(docname, reports, site):
    _require_built(docname)
    _assert_no_problems(docname, "figures", figure_problems(reports(docname), site))


@pytest.mark.parametrize("docname", PAGES)
def test_outputs_are_not_duplicated(docname, reports):
    _require_built(docname)
    report = reports(docname)
    problems = duplicated_output_problems(report)
    source = source_of(docname)
    if source is not None and is_notebook_source(source):
        downloaded = HTML_DIR / "_sources" / f"{docname}.ipynb"
        assert downloaded.is_file(), f"{docname}: no downloadable notebook {downloaded}"
        problems += [f"downloaded notebook: {p}" for p in notebook_duplicate_problems(json.loads(downloaded.read_text()))]
    _assert_no_problems(docname, "duplicated output", problems)


def test_pages_with_long_tables_use_html_tables(reports):
    for docname in ("book/misspecified", "book/beyond", "book/computing"):
        _require_built(docname)
        assert reports(docname).dom["reader"]["tables"] > 0, f"{docname}.html: no HTML table (gmmlit-table)"


def no_results_lines(report):
    """The stream outputs of a page that say the book was built without test results."""
    from gmmlit.ledger.table import NO_RESULTS

    return [t.strip() for blocks in report.dom.get("reader", {}).get("outputStreams", []) for t in blocks
            if NO_RESULTS in t]


def test_ledger_status_column_is_visible_at_1280_px(reports):
    """Built with test results (make test) the ledger's status column is visible; built
    without (make book) the page says so in one line instead of a table."""
    assert LEDGER_PAGE in PAGES
    _require_built(LEDGER_PAGE)
    report = reports(LEDGER_PAGE)
    assert report.dom["reader"]["viewportWidth"] == VIEWPORT["width"]
    lines = no_results_lines(report)
    if lines:
        assert len(lines) == 1 and "\n" not in lines[0], lines
        pytest.skip("the book was built without test results: the ledger page shows one line, no table")
    _assert_no_problems(LEDGER_PAGE, "ledger", status_column_problems(report))


PLANTED_READER_PAGE = r"""<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>planted reader defects</title></head>
<body><article>
<p>Body text.</p>
<details class="gmmlit-source"><summary>Implementation: f</summary><pre>x = 1</pre></details>
<a href="https://github.com/gmmlit/gmmlit">placeholder</a>
<a href="https://github.com/gmmlitx/other">not the placeholder</a>
<div class="cell_output"><div class="output stream"><pre>a
b</pre></div><div class="output stream"><pre>b</pre></div></div>
<div class="cell_output"><img src="low.png" alt="0123456789abcdef0123.png" style="width:700px"></div>
<img src="good.png" alt="Relative error of three evaluations against s">
<img src="none.png">
<div style="width:300px;overflow-x:auto"><table><thead><tr><th>claim</th><th style="padding-left:600px">status</th></tr></thead></table></div>
</article></body></html>
"""


def _tiny_png(width, height, dpi):
    """A valid PNG of the given size with a pHYs chunk for ``dpi`` (grey pixels)."""
    import struct
    import zlib

    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    ppm = round(dpi / 0.0254)
    raw = b"".join(b"\x00" + b"\x80" * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
            + chunk(b"pHYs", struct.pack(">IIB", ppm, ppm, 1)) + chunk(b"IDAT", zlib.compress(raw))
            + chunk(b"IEND", b""))


def test_reader_checks_detect_planted_defects(tab, tmp_path):
    """Each reader check fails on the defect planted for it and passes the good parts."""
    (tmp_path / "low.png").write_bytes(_tiny_png(1400, 20, 100))   # 100 dpi
    (tmp_path / "good.png").write_bytes(_tiny_png(40, 20, 150))
    (tmp_path / "none.png").write_bytes(_tiny_png(40, 20, 150))
    (tmp_path / "planted.html").write_text(PLANTED_READER_PAGE)
    server, planted_site = start_server(tmp_path)
    try:
        report = tab.inspect(planted_site.url_of("planted"))
    finally:
        stop_server(server)
    assert source_block_problems(report, ["f", "g"]) == [
        "no source block showing g", "source block 'Implementation: f' holds no function definition"]
    assert placeholder_link_problems(report) == ["placeholder link: https://github.com/gmmlit/gmmlit"]
    alt = alt_text_problems(report)
    assert len(alt) == 2 and "0123456789abcdef0123.png" in alt[0] and alt[1] == "no alt text: none.png", alt
    figures = figure_problems(report, planted_site)
    assert figures == ["low.png: 100 dpi, expected at least 150"], figures
    assert duplicated_output_problems(report) == ["output 0: 'b' is shown twice"]
    assert notebook_duplicate_problems({"cells": [
        {"outputs": [{"output_type": "stream", "name": "stdout", "text": "a\nb\n"},
                     {"output_type": "stream", "name": "stdout", "text": "b\n"}]},
        {"outputs": [{"output_type": "stream", "name": "stdout", "text": "a\n"},
                     {"output_type": "stream", "name": "stdout", "text": "b\n"}]}]}) == ["cell 0: stdout 'b' appears twice"]
    status = status_column_problems(report)
    assert len(status) == 1 and "status column 'status'" in status[0], status


def test_png_dpi_reads_the_phys_chunk():
    assert png_dpi(_tiny_png(4, 4, 150)) == pytest.approx(150, abs=0.05)
    with pytest.raises(ValueError):
        png_dpi(b"GIF89a")
