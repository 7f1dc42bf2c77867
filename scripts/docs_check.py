"""Check the built documentation the way a reader sees it, in headless Chromium.

Usage (after ``make docs``; ``make docs-check`` does both)::

    python scripts/docs_check.py [--html docs/_build/html] [--out docs/_screenshots] [--pages GLOB]

For every page of the built site it:

1. loads the page in headless Chromium with the network off (``--host-resolver-rules`` maps every
   host to nothing), waits for MathJax, and reads the rendered DOM back: a page fails if its
   visible text still holds raw LaTeX (``\\(``, ``\\[``, ``$$``, ``\\begin{``), if MathJax reported
   a TeX error, if a table is wider than the text column (a column cut off or behind a
   scroll bar), or if a line of code is wider than its box;
2. saves a screenshot ``<out>/<page>.png`` (the first ``--height`` pixels), to look at;
3. checks that every link to ``page.html#anchor`` inside the site finds its anchor.

The checks run on a copy of the site with one script added to each page, so the site itself is
not changed. Exits 1 if any page fails, printing why. Needs Debian's ``chromium``
(``apt-get install -y chromium``).
"""

from __future__ import annotations

import argparse
import fnmatch
import html
import json
import re
import shutil
import subprocess
import sys
import tempfile

from concurrent.futures import ThreadPoolExecutor
from html.parser import HTMLParser
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--hide-scrollbars",
    "--allow-file-access-from-files",
    "--host-resolver-rules=MAP * ~NOTFOUND",  # no network: math must render from local files
]

#: Runs in each page after MathJax (if any) has typeset; writes its findings into the DOM.
CHECK_JS = r"""
(function () {
  function check() {
    var out = {raw_latex: [], tex_errors: 0, wide_tables: []};
    var skip = {PRE: 1, CODE: 1, SCRIPT: 1, STYLE: 1, TEXTAREA: 1, "MJX-ASSISTIVE-MML": 1};
    var walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    var pat = /\\\(|\\\)|\\\[|\\\]|\$\$|\\begin\{/;
    while (walker.nextNode()) {
      var n = walker.currentNode, p = n.parentElement, hidden = false;
      for (var e = p; e; e = e.parentElement) {
        if (skip[e.tagName] || e.classList.contains("highlight")) { hidden = true; break; }
      }
      if (!hidden && pat.test(n.textContent) && p.offsetParent !== null) {
        out.raw_latex.push(n.textContent.trim().slice(0, 80));
      }
    }
    out.tex_errors = document.querySelectorAll("mjx-merror").length;
    var article = document.querySelector(".bd-article") || document.body;
    var width = article.getBoundingClientRect().width;
    document.querySelectorAll(".bd-article table").forEach(function (t) {
      if (t.closest(".highlight")) return;
      var w = t.scrollWidth;
      var box = t.parentElement, style = getComputedStyle(box);
      var scrolls = /(auto|scroll)/.test(style.overflowX) && box.scrollWidth > box.clientWidth + 2;
      if (w > width + 2 || scrolls) {
        var head = t.querySelector("tr");
        out.wide_tables.push({
          width: Math.round(w), column_width: Math.round(width),
          header: head ? head.textContent.replace(/\s+/g, " ").trim().slice(0, 100) : ""
        });
      }
    });
    out.wide_code = [];
    document.querySelectorAll(".bd-article div.highlight pre").forEach(function (pre) {
      if (pre.scrollWidth > pre.clientWidth + 2) {
        var lines = pre.textContent.split("\n").sort(function (a, b) { return b.length - a.length; });
        out.wide_code.push(lines[0].trim().slice(0, 90));
      }
    });
    var pre = document.createElement("pre");
    pre.id = "docs-check-result";
    pre.textContent = JSON.stringify(out);
    pre.style.display = "none";
    document.body.appendChild(pre);
  }
  window.addEventListener("load", function () {
    var mj = window.MathJax;
    if (mj && mj.startup && mj.startup.promise) {
      mj.startup.promise.then(check, check);
    } else {
      setTimeout(check, 500);
    }
  });
})();
"""


def chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    sys.exit("docs-check: Chromium not found; install it with `apt-get install -y chromium`.")


def run_chromium(args: list[str], timeout: float = 60) -> str:
    proc = subprocess.run(
        [chromium(), *CHROMIUM_FLAGS, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    return proc.stdout


def inspect_page(page: Path, url_root: Path) -> dict:
    dom = run_chromium(["--virtual-time-budget=15000", "--dump-dom", page.as_uri()])
    m = re.search(r'<pre id="docs-check-result"[^>]*>(.*?)</pre>', dom, re.S)
    if not m:
        return {"error": "the check script did not run (page did not load?)"}
    return json.loads(html.unescape(m.group(1)))


def screenshot(page: Path, png: Path, width: int, height: int) -> None:
    png.parent.mkdir(parents=True, exist_ok=True)
    run_chromium(
        [
            "--virtual-time-budget=15000",
            f"--window-size={width},{height}",
            f"--screenshot={png}",
            page.as_uri(),
        ]
    )


class _Anchors(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.ids: set[str] = set()
        self.links: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if a.get("id"):
            self.ids.add(a["id"])
        if tag == "a" and a.get("name"):
            self.ids.add(a["name"])
        if tag == "a" and a.get("href"):
            self.links.append(a["href"])


def broken_anchors(site: Path, pages: list[Path]) -> dict[str, list[str]]:
    parsed = {}
    for p in site.rglob("*.html"):
        parser = _Anchors()
        parser.feed(p.read_text(errors="replace"))
        parsed[p.resolve()] = parser
    broken: dict[str, list[str]] = {}
    for page in pages:
        for href in parsed[page.resolve()].links:
            if "://" in href or href.startswith(("mailto:", "javascript:")) or "#" not in href:
                continue
            target, _, anchor = href.partition("#")
            if not anchor:
                continue
            doc = (page.parent / target).resolve() if target else page.resolve()
            if doc in parsed and anchor not in parsed[doc].ids:
                broken.setdefault(str(page.relative_to(site)), []).append(href)
    return broken


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--html", type=Path, default=ROOT / "docs" / "_build" / "html")
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "_screenshots")
    ap.add_argument("--pages", default="*", help="glob of pages to check, e.g. 'tutorials/*'")
    ap.add_argument("--width", type=int, default=1400)
    ap.add_argument("--height", type=int, default=2200)
    ap.add_argument("--jobs", type=int, default=2)
    args = ap.parse_args()
    if not (args.html / "index.html").is_file():
        sys.exit(f"docs-check: no built site in {args.html}; run `make docs` first.")

    with tempfile.TemporaryDirectory() as tmp:
        site = Path(tmp) / "html"
        shutil.copytree(args.html, site)
        (site / "_static" / "docs-check.js").write_text(CHECK_JS)
        pages = sorted(
            p
            for p in site.rglob("*.html")
            if not p.relative_to(site).parts[0].startswith("_")  # _modules (source), _static
            and fnmatch.fnmatch(str(p.relative_to(site)), args.pages)
        )
        for p in pages:
            depth = len(p.relative_to(site).parts) - 1
            tag = f'<script src="{"../" * depth}_static/docs-check.js"></script>'
            p.write_text(p.read_text().replace("</body>", tag + "</body>", 1))

        def work(p: Path):
            rel = p.relative_to(site)
            res = inspect_page(p, site)
            screenshot(p, args.out / rel.with_suffix(".png"), args.width, args.height)
            return str(rel), res

        failures: dict[str, list[str]] = {}
        with ThreadPoolExecutor(args.jobs) as pool:
            for rel, res in pool.map(work, pages):
                why = []
                if "error" in res:
                    why.append(res["error"])
                for text in res.get("raw_latex", []):
                    why.append(f"raw LaTeX: {text!r}")
                if res.get("tex_errors"):
                    why.append(f"{res['tex_errors']} TeX error(s) in formulas")
                generated = rel in ("genindex.html", "search.html", "py-modindex.html")
                for t in [] if generated else res.get("wide_tables", []):
                    why.append(
                        f"table wider than the text column ({t['width']} > "
                        f"{t['column_width']} px): {t['header']!r}"
                    )
                for line in res.get("wide_code", []):
                    why.append(f"code wider than its box (cut off): {line!r}")
                status = "FAIL" if why else "ok"
                print(f"{status:4}  {rel}", flush=True)
                if why:
                    failures[rel] = why
        every = [p for p in site.rglob("*.html") if "_static" not in p.relative_to(site).parts]
        if args.pages == "*":  # the source pages' [docs] links too
            pages_for_links = every
        else:
            pages_for_links = pages
        for rel, hrefs in broken_anchors(site, pages_for_links).items():
            failures.setdefault(rel, []).extend(f"link to a missing anchor: {h}" for h in hrefs)

    print(f"\n{len(pages)} pages checked; screenshots in {args.out}")
    for rel, why in failures.items():
        print(f"\n{rel}:")
        for w in why:
            print(f"  - {w}")
    print(f"\n{len(pages) - len(failures)} passed, {len(failures)} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
