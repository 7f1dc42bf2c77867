"""Sphinx configuration of the pymc_auxform documentation.

Build with ``make docs`` (``sphinx -W --keep-going -b html docs docs/_build/html``): warnings are
errors and every tutorial in ``docs/tutorials/`` is executed (no cache), so a broken tutorial or a
broken docstring fails the build.

The API reference (``docs/api/*.rst``) is generated at configuration time by ``docs/_api.py``
from the ``__all__`` of the package and of every submodule, so that a new or moved public name
appears in the reference without editing the docs.

Math is rendered by a copy of MathJax 3 installed from PyPI (``django-static-mathjax``, part of the
``docs`` extra) and shipped in ``_static/mathjax``: the built site needs no network.
"""

from __future__ import annotations

import importlib
import importlib.util
import re
import shutil
import sys

from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

import pymc_auxform  # noqa: E402

# -- Project -------------------------------------------------------------------------------------

project = "pymc_auxform"
author = "pymc_auxform developers"
copyright = "2026, pymc_auxform developers"
version = release = pymc_auxform.__version__

# -- General -------------------------------------------------------------------------------------

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "numpydoc",
    "myst_nb",
]

# -- Math, rendered with no network --------------------------------------------------------------
#
# MathJax 3 comes from PyPI (``django-static-mathjax``: MathJax's own files, no Django needed) and is
# copied into ``_static/mathjax`` at the end of the build: the page loads it from there, never from
# a CDN. Only the CommonHTML build and what it loads on demand are copied (~2 MB of the 24 MB).


def _mathjax_dir() -> Path:
    spec = importlib.util.find_spec("mathjax")
    es5 = Path(spec.origin).parent / "static" / "mathjax" / "es5" if spec and spec.origin else None
    if es5 is None or not (es5 / "tex-mml-chtml.js").is_file():
        raise RuntimeError(
            "MathJax not found: install the docs extra (pip install -e '.[docs]'), which brings "
            "django-static-mathjax, or run `make docs`."
        )
    return es5


MATHJAX_SRC = _mathjax_dir()
MATHJAX_PARTS = ("tex-mml-chtml.js", "input", "output/chtml", "ui", "a11y", "adaptors")
mathjax_path = "mathjax/tex-mml-chtml.js"  # relative: served from _static/


def _copy_mathjax(app, exc):
    if app.builder.format != "html":
        return
    dest = Path(app.outdir) / "_static" / "mathjax"
    for part in MATHJAX_PARTS:
        src, out = MATHJAX_SRC / part, dest / part
        if src.is_dir():
            shutil.copytree(src, out, dirs_exist_ok=True)
        else:
            out.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, out)


source_suffix = {".rst": "restructuredtext", ".md": "myst-nb", ".ipynb": "myst-nb"}
exclude_patterns = ["_build", "**.ipynb_checkpoints", "Thumbs.db", ".DS_Store", "jupyter_execute"]
templates_path = ["_templates"]

# -- MyST / myst-nb ------------------------------------------------------------------------------

myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence", "deflist"]
myst_heading_anchors = 3

nb_execution_mode = "force"  # execute every tutorial on every build: no cache
nb_execution_timeout = 600  # seconds, per cell (a cold PyTensor compile cache is slow)
nb_execution_raise_on_error = True  # a failing cell fails the build
nb_execution_show_tb = True
nb_merge_streams = True
nb_output_stderr = "show"

# -- autodoc / autosummary / numpydoc ------------------------------------------------------------

autosummary_generate = True
autosummary_imported_members = True
autodoc_typehints = "none"  # numpydoc's Parameters section documents the types
autodoc_member_order = "bysource"
toc_object_entries_show_parents = "hide"  # page TOC: "runs()", not "FormComparison.runs()"
# Every cross-reference into the package must resolve (-W turns a broken one into an error);
# references to other libraries' objects are not checked (no intersphinx: the build is offline).
nitpicky = True
nitpick_ignore_regex = [
    (
        r"py:.*",
        r"(pytensor|pymc|pm|numpy|np|pandas|pd|xarray|xr|arviz|az|arviz_plots|scipy|jax)\b.*",
    ),
    (r"py:.*", r"(Variable|TensorVariable|Apply|Op|DataTree|Dataset|DataArray|Model|Figure)"),
    # report.py already points at pymc_auxform.sample, which another branch adds: drop this then
    (r"py:func", r"pymc_auxform\.sample"),
]
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False

# -- HTML ----------------------------------------------------------------------------------------

html_theme = "pydata_sphinx_theme"
html_title = f"pymc_auxform {release}"
html_static_path = ["_static"]
html_css_files = ["custom.css"]
# pages without children get no (empty) left sidebar
html_sidebars = {page: [] for page in ("index", "getting_started", "benchmarks")}
#: The repository's address: a placeholder until it is public (also on the landing page).
REPO_URL = "https://github.com/OWNER/pymc_auxform"
html_theme_options = {
    "navbar_align": "left",
    "icon_links": [{"name": "Source code", "url": REPO_URL, "icon": "fa-brands fa-github"}],
    "show_toc_level": 2,
    "secondary_sidebar_items": ["page-toc"],
    "footer_start": ["copyright"],
    "footer_end": ["sphinx-version"],
}
html_context = {"default_mode": "light"}
html_show_sourcelink = False

# -- API reference, generated from the package --------------------------------------------------

sys.path.insert(0, str(HERE))
import _api  # noqa: E402  (docs/_api.py: shared with tests/test_docs_api.py)

_api.write(HERE / "api")

# -- Pages that may be missing -------------------------------------------------------------------
#
# The toctrees (index.md, user_guide.md, tutorials/index.md) list every page the site is meant to
# have. A page listed in OPTIONAL_PAGES whose file does not exist yet (or whose tutorial needs a
# part of the package that is missing) is left out of the toctrees instead of failing the build, so
# new pages slot in by adding their file.


def _has(module: str, attr: str) -> bool:
    try:
        return hasattr(importlib.import_module(module), attr)
    except ImportError:
        return False


#: docname -> (module, attribute) it needs, or None if it needs only its file.
OPTIONAL_PAGES = {
    "choosing_the_form": None,
    "forms_table": None,
    "results_as_data": None,
    "performance": None,
    "tutorials/digits_em": ("pymc_auxform.em", "stochastic_em"),
}
MISSING_PAGES = [
    doc
    for doc, need in OPTIONAL_PAGES.items()
    if not (HERE / f"{doc}.md").is_file() or (need is not None and not _has(*need))
]
exclude_patterns += [f"{doc}.md" for doc in MISSING_PAGES]


def _drop_missing_from_toctrees(app, docname, source):
    here = docname.rsplit("/", 1)[0] + "/" if "/" in docname else ""
    missing = {doc.removeprefix(here) for doc in MISSING_PAGES} | set(MISSING_PAGES)
    source[0] = "\n".join(line for line in source[0].splitlines() if line.strip() not in missing)


# -- Benchmark results: one summary table per results file ----------------------------------------

import _benchmarks  # noqa: E402  (docs/_benchmarks.py)

BENCH_RESULTS = ROOT / "benchmarks" / "results"
BENCH_MARKER = "<!-- BENCHMARK-RESULTS -->"
suppress_warnings = ["myst.header"]  # included results files may start at any heading level


def _benchmark_includes() -> str:
    return _benchmarks.results_markdown(BENCH_RESULTS, HERE, ROOT)


def _fill_benchmarks(app, docname, source):
    if docname == "benchmarks" and BENCH_MARKER in source[0]:
        source[0] = source[0].replace(BENCH_MARKER, _benchmark_includes())


# -- Links that Sphinx gets wrong for re-exported names --------------------------------------------
#
# A name is documented under its shortest public path (``pymc_auxform.AuxReport``) while its source
# lives in a submodule (``pymc_auxform/reporting.py``). Two things then go astray; both are fixed here.


def _resolve_by_last_name(app, env, node, contnode):
    """A short or module-qualified reference (``AuxReport``, ``pymc_auxform.reporting.AuxReport``)
    that Sphinx cannot find resolves to the one documented object of the package with that name."""
    if node.get("refdomain") != "py":
        return None
    target = node.get("reftarget", "")
    if not target:
        return None
    domain = env.get_domain("py")
    types = set(domain.objtypes_for_role(node.get("reftype", "obj")) or [])
    last = "." + target.rsplit(".", 1)[-1]
    hits = [
        (name, obj)
        for name, obj in domain.objects.items()
        if name.startswith("pymc_auxform.")
        and ("." + name).endswith(last)
        and (not types or obj.objtype in types)
        and not obj.aliased
    ]
    if len(hits) != 1:
        return None
    from sphinx.util.nodes import make_refnode

    name, obj = hits[0]
    return make_refnode(app.builder, node["refdoc"], obj.docname, obj.node_id, contnode, name)


_ID = re.compile(r'\sid="([^"]+)"')
_BACKLINK = re.compile(r'(<a class="viewcode-back" href=")([^"#]+)#([^"]+)(")')


def _fix_viewcode_backlinks(app, exc):
    """viewcode's "[docs]" links from a source page use one module name for every object of that
    module (``#pymc_auxform.Left`` for ``pymc_auxform.reporting.Left``): point them at the anchor the
    object's page really has."""
    sources = Path(app.outdir) / "_modules"
    if exc is not None or not sources.is_dir():
        return
    ids: dict[Path, set[str]] = {}

    def fix(page: Path, m: re.Match) -> str:
        target = (page.parent / m.group(2)).resolve()
        if target not in ids:
            ids[target] = set(_ID.findall(target.read_text())) if target.is_file() else set()
        anchor = m.group(3)
        if anchor in ids[target]:
            return m.group(0)
        parts = anchor.split(".")
        for k in range(1, len(parts)):
            cands = [i for i in ids[target] if i.endswith("." + ".".join(parts[k:]))]
            if len(cands) == 1:
                return f"{m.group(1)}{m.group(2)}#{cands[0]}{m.group(4)}"
        return m.group(0)

    for page in sources.rglob("*.html"):
        text = page.read_text()
        new = _BACKLINK.sub(lambda m, page=page: fix(page, m), text)
        if new != text:
            page.write_text(new)


def setup(app):
    app.connect("build-finished", _copy_mathjax)
    app.connect("build-finished", _fix_viewcode_backlinks)
    app.connect("missing-reference", _resolve_by_last_name)
    app.connect("source-read", _drop_missing_from_toctrees)
    app.connect("source-read", _fill_benchmarks)
    # re-read the benchmarks page on every build: results files may have appeared
    app.connect("env-get-outdated", lambda app, env, added, changed, removed: ["benchmarks"])
