"""Open pages of the built site in headless Chromium and check that they rendered.

The pages (``PAGES``): the user guide's volatility page and the three tutorials.

Run after ``mkdocs build`` (``make docs`` does): ``python docs/hooks/check_site.py [site]``.
The site is served from a local HTTP server; each page is loaded in an iframe of a probe page
of the same origin, whose script reports, once every image has settled: the page's title,
its images and how many decoded (``naturalWidth > 0``), the notebook output tables and plots,
stderr or traceback outputs, and every link. This script then checks the links against the
built files (the page exists, and so does the ``#anchor`` on it), fails on any request the
server answered 404 (a stylesheet, a script, an image), and saves a screenshot of each page
to ``site/_checks/<name>.png`` for a person to look at.

Exit status 0 when every page passes, 1 with one line per problem otherwise. Without
Chromium (Debian: ``apt-get install chromium chromium-driver``) it prints why it skips and
exits 0, as the report's end-to-end test does.
"""

from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
import sys
import tempfile
import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import NamedTuple
from urllib.parse import unquote, urlsplit

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
PROBE_PREFIX = "/__check__/"
ANCHOR = re.compile(r"""\b(?:id|name)=["']([^"']+)["']""")  # what a #fragment can land on


class PageCheck(NamedTuple):
    """What one page of the site must show once rendered."""

    path: str  # relative to the site root, e.g. "guide/risk.html"
    title: str  # the exact document title
    heading: str  # the text of the article's first h1
    min_images: int = 0  # images that must be there (every one must decode)
    min_tables: int = 0  # notebook output tables (DataFrames)
    min_plots: int = 0  # notebook output images (the report's plots)
    shot_height: int = 2400  # the screenshot's viewport height

    @property
    def name(self) -> str:
        return self.path.removesuffix(".html").replace("/", "-")


PAGES = (
    PageCheck(
        "guide/risk.html",
        title="Volatility, intervals and risk - fincast",
        heading="Volatility, intervals and risk",
        min_images=1,  # the fan chart
        shot_height=4400,  # down to the fan chart
    ),
    PageCheck(
        "tutorials/seed-vs-networks.html",
        title="The seed's MLP against fincast's networks - fincast",
        heading="The seed's MLP against fincast's networks",
        min_images=2,
        min_tables=3,
        min_plots=2,
        shot_height=3600,
    ),
    PageCheck(
        "tutorials/volatility-own-model.html",
        title="Volatility with your own Keras model - fincast",
        heading="Volatility with your own Keras model and prediction intervals",
        min_images=2,
        min_tables=3,
        min_plots=2,  # the fan chart, actual against predicted
        shot_height=4600,
    ),
    PageCheck(
        "tutorials/panel-portfolio.html",
        title="A panel with covariates and its portfolio - fincast",
        heading="A panel with covariates and its cross-sectional portfolio",
        min_images=2,
        min_tables=4,
        min_plots=2,
        shot_height=4600,
    ),
)

# Written into the probe page: ``{page}`` is the page's URL path. The result lands, as JSON,
# in <pre id="result">, which --dump-dom prints.
PROBE = """<!doctype html>
<html><head><meta charset="utf-8"><link rel="icon" href="data:,"><title>probe</title></head>
<body><pre id="result">pending</pre>
<iframe id="page" style="width:1280px;height:2400px;border:0" src="{page}"></iframe>
<script>
const frame = document.getElementById("page");
frame.addEventListener("load", () => {{
  const doc = frame.contentDocument;
  const deadline = Date.now() + 20000;
  const settle = () => {{
    const images = [...doc.images];
    if (images.some((i) => !i.complete) && Date.now() < deadline) return setTimeout(settle, 50);
    const outputs = doc.querySelectorAll(".jp-OutputArea-output");
    const article = doc.querySelector("article") || doc.body;
    const h1 = article.querySelector("h1");
    const text = (nodes) => [...nodes].map((n) => n.innerText.slice(0, 200));
    document.getElementById("result").textContent = JSON.stringify({{
      title: doc.title,
      heading: h1 ? h1.textContent.replace(/\\u00b6$/, "").trim() : "",
      text_length: article.innerText.length,
      images: images.length,
      broken_images: images
        .filter((i) => !(i.complete && i.naturalWidth > 0))
        .map((i) => (i.getAttribute("src") || "").slice(0, 100)),
      tables: doc.querySelectorAll(".jp-OutputArea-output table").length,
      plots: doc.querySelectorAll(".jp-OutputArea-output img").length,
      stderr: text(doc.querySelectorAll(
        '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]')),
      tracebacks: text([...outputs].filter((n) => /Traceback|Error:/.test(n.innerText))),
      links: [...doc.querySelectorAll("a[href]")].map((a) => a.href),
    }});
  }};
  settle();
}});
</script></body></html>
"""


def find_browser() -> str | None:
    """The first Chromium-like browser on PATH, or None."""
    return next((path for name in BROWSERS if (path := shutil.which(name))), None)


class _Handler(SimpleHTTPRequestHandler):
    """Serves the site, the probe pages under /__check__/, and records every 404."""

    missing: list[str]

    def do_GET(self) -> None:
        if self.path.startswith(PROBE_PREFIX):
            body = PROBE.format(page="/" + self.path[len(PROBE_PREFIX) :]).encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        super().do_GET()

    def send_error(self, code: int, message: str | None = None, explain: str | None = None):
        if code == 404:
            self.missing.append(urlsplit(self.path).path)
        super().send_error(code, message, explain)

    def log_message(self, format: str, *args: object) -> None:  # quiet
        pass


def _chromium(browser: str, profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--hide-scrollbars",
            f"--user-data-dir={profile}",
            "--virtual-time-budget=20000",  # let the page load and the probe's script run
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def _anchors(file: Path, cache: dict[Path, set[str]]) -> set[str]:
    if file not in cache:
        text = file.read_text(encoding="utf-8", errors="replace")
        cache[file] = {html.unescape(m) for m in ANCHOR.findall(text)}
    return cache[file]


def broken_links(site: Path, origin: str, links: list[str]) -> list[str]:
    """The links into the site (same origin) whose page, or whose #anchor, is not there."""
    bad: list[str] = []
    cache: dict[Path, set[str]] = {}
    for link in dict.fromkeys(links):
        url = urlsplit(link)
        if f"{url.scheme}://{url.netloc}" != origin:
            continue  # external: not checked here (no network in CI)
        path = unquote(url.path).lstrip("/")
        target = site / path
        if path == "" or path.endswith("/"):
            target = target / "index.html"
        if not target.is_file():
            bad.append(f"{url.path} (no such page)")
        elif (
            url.fragment
            and target.suffix == ".html"
            and unquote(url.fragment) not in _anchors(target, cache)
        ):
            bad.append(f"{url.path}#{url.fragment} (no such anchor)")
    return bad


def check_page(
    site: Path, page: PageCheck, browser: str, base: str, missing: list[str], work: Path
) -> list[str]:
    """The problems of one page (empty when it rendered as it must); saves its screenshot."""
    problems: list[str] = []
    missing.clear()
    done = _chromium(browser, work / "probe", "--dump-dom", f"{base}{PROBE_PREFIX}{page.path}")
    found = re.search(r'<pre id="result">(.*?)</pre>', done.stdout, re.S)
    if done.returncode != 0 or found is None or found.group(1) == "pending":
        return [f"the probe did not report (exit {done.returncode}): {done.stderr[-500:]}"]
    seen = json.loads(html.unescape(found.group(1)))
    if seen["title"] != page.title:
        problems.append(f"title {seen['title']!r}, expected {page.title!r}")
    if seen["heading"] != page.heading:
        problems.append(f"heading {seen['heading']!r}, expected {page.heading!r}")
    if seen["text_length"] < 500:
        problems.append(f"the article has {seen['text_length']} characters of text")
    if seen["images"] < page.min_images:
        problems.append(f"{seen['images']} images, expected at least {page.min_images}")
    problems += [f"image did not load: {src}" for src in seen["broken_images"]]
    if seen["tables"] < page.min_tables:
        problems.append(f"{seen['tables']} output tables, expected at least {page.min_tables}")
    if seen["plots"] < page.min_plots:
        problems.append(f"{seen['plots']} output plots, expected at least {page.min_plots}")
    problems += [f"stderr output: {text!r}" for text in seen["stderr"]]
    problems += [f"error output: {text!r}" for text in seen["tracebacks"]]
    problems += [f"broken link: {bad}" for bad in broken_links(site, base, seen["links"])]
    problems += [f"not found: {path}" for path in dict.fromkeys(missing)]

    shots = site / "_checks"
    shots.mkdir(exist_ok=True)
    shot = shots / f"{page.name}.png"
    shot.unlink(missing_ok=True)
    _chromium(
        browser,
        work / "shot",
        f"--screenshot={shot}",
        f"--window-size=1280,{page.shot_height}",
        f"{base}/{page.path}",
    )
    if not shot.is_file() or shot.read_bytes()[:8] != b"\x89PNG\r\n\x1a\n":
        problems.append(f"no screenshot written to {shot}")
    return problems


def check_site(site: Path, pages: tuple[PageCheck, ...] = PAGES, browser: str | None = None):
    """Every page's problems, as ``{page path: [problem, ...]}`` (empty lists when all pass).

    Raises FileNotFoundError when a page is not in ``site`` (build it first).
    """
    browser = browser or find_browser()
    if browser is None:
        raise FileNotFoundError("no Chromium on PATH")
    for page in pages:
        if not (site / page.path).is_file():
            raise FileNotFoundError(f"{site / page.path} is not built (run `make docs`)")
    missing: list[str] = []
    handler = type("Handler", (_Handler,), {"missing": missing})
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(handler, directory=str(site)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        with tempfile.TemporaryDirectory(prefix="fincast-check-site-") as work:
            return {
                page.path: check_page(site, page, browser, base, missing, Path(work))
                for page in pages
            }
    finally:
        server.shutdown()
        server.server_close()


def main(argv: list[str]) -> int:
    site = Path(argv[0] if argv else "site").resolve()
    if find_browser() is None:
        print(
            "check_site: skipped: Chromium is not installed "
            "(Debian: apt-get install chromium chromium-driver)"
        )
        return 0
    try:
        results = check_site(site)
    except FileNotFoundError as exc:
        print(f"check_site: error: {exc}")
        return 1
    failed = 0
    for path, problems in results.items():
        status = "ok" if not problems else f"{len(problems)} problem(s)"
        print(f"check_site: {path}: {status} (screenshot in {site.name}/_checks/)")
        for problem in problems:
            print(f"check_site:   {problem}")
        failed += bool(problems)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
