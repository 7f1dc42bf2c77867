"""Sphinx configuration of the pymc_auxform documentation.

Build with ``make docs`` (``sphinx -W --keep-going -b html docs docs/_build/html``): warnings are
errors and every tutorial in ``docs/tutorials/`` is executed (no cache), so a broken tutorial or a
broken docstring fails the build.

The API reference (``docs/api/index.rst``) is generated here, at configuration time, from the
``__all__`` of the package and of every submodule, so that a new public function appears in the
reference without editing the docs.
"""

from __future__ import annotations

import importlib
import inspect
import os
import pkgutil
import shutil
import sys
import types

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
autodoc_default_options = {"members": False}
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False

# -- HTML ----------------------------------------------------------------------------------------

html_theme = "pydata_sphinx_theme"
html_title = f"pymc_auxform {release}"
html_static_path = ["_static"]
html_css_files = ["custom.css"]
# pages without children get no (empty) left sidebar
html_sidebars = {page: [] for page in ("index", "getting_started", "concepts", "benchmarks")}
html_theme_options = {
    "navbar_align": "left",
    "show_toc_level": 2,
    "secondary_sidebar_items": ["page-toc"],
    "footer_start": ["copyright"],
    "footer_end": ["sphinx-version"],
}
html_context = {"default_mode": "light"}
html_show_sourcelink = False

# -- API reference, generated from __all__ -------------------------------------------------------

#: Section title and blurb per defining module, in page order. Modules not listed here (added
#: later) get a section titled by their name, with the first line of their docstring.
API_SECTIONS = {
    "pymc_auxform.auxify": (
        "Rewriting a model",
        "The one call most users need: ``auxify(model)`` returns the model in auxiliary form.",
    ),
    "pymc_auxform.centering": (
        "Automatic centering",
        "Choosing, per variable and per element, between the centered, auxiliary and partially "
        "centered forms.",
    ),
    "pymc_auxform.report": (
        "Report",
        "What ``auxify`` rewrote, by which form, and what it left and why.",
    ),
    "pymc_auxform.diagnostics": (
        "Diagnostics",
        "Original and auxiliary form side by side: ESS, R-hat, divergences, autocorrelation.",
    ),
    "pymc_auxform.trace": ("Traces", "Traces of auxified models, read in the original's terms."),
    "pymc_auxform.em": (
        "Learning parameters",
        "Stochastic (MCMC-)EM for the parameters of a model, with the E-step in auxiliary form.",
    ),
    "pymc_auxform.marginal": ("Marginal likelihood", "Monte Carlo estimates of log p(x)."),
    "pymc_auxform.forms.base": (
        "Forms: the registry",
        "How a distribution is rewritten; register a :class:`~pymc_auxform.Form` to support a "
        "new one.",
    ),
    "pymc_auxform.forms.univariate": (
        "Forms: univariate families",
        "Exact affine, scale and log-affine forms.",
    ),
    "pymc_auxform.forms.icdf": ("Forms: inverse CDF", "The generic form z = F^-1(Phi(eps))."),
    "pymc_auxform.forms.multivariate": ("Forms: multivariate", "MvNormal, ZeroSumNormal, ..."),
    "pymc_auxform.forms.recurrent": (
        "Forms: recurrent models",
        "Random walks and autoregressions in innovations form.",
    ),
    "pymc_auxform.forms.scan": (
        "Forms: scan models",
        "State-space models written with ``pytensor.scan`` in innovations form.",
    ),
    "pymc_auxform.reference_models": (
        "Reference models",
        "The models used by the tests, tutorials and benchmarks.",
    ),
}


def _public_modules() -> list[types.ModuleType]:
    mods = [pymc_auxform]
    for info in pkgutil.walk_packages(pymc_auxform.__path__, "pymc_auxform."):
        if any(part.startswith("_") for part in info.name.split(".")):
            continue
        mods.append(importlib.import_module(info.name))  # an import error fails the build
    return mods


def _public_names(mod: types.ModuleType) -> list[str]:
    names = getattr(mod, "__all__", None)
    if names is None:
        names = [
            n
            for n, obj in vars(mod).items()
            if not n.startswith("_") and getattr(obj, "__module__", None) == mod.__name__
        ]
    return list(names)


def _has_attr_doc(modname: str, name: str) -> bool:
    """Whether a module-level name has a docstring (``#:`` comment or string after it)."""
    from sphinx.pycode import ModuleAnalyzer

    try:
        return ("", name) in ModuleAnalyzer.for_module(modname).find_attr_docs()
    except Exception:
        return False


def _collect_api() -> dict[str, list[str]]:
    """Map defining module -> public names (documented once, under the shortest public path)."""
    seen: dict[int, str] = {}
    by_module: dict[str, list[str]] = {}
    mods = sorted(_public_modules(), key=lambda m: (m.__name__.count("."), m.__name__))
    for mod in mods:
        for name in _public_names(mod):
            obj = getattr(mod, name)
            if inspect.ismodule(obj) or id(obj) in seen:
                continue
            if inspect.isclass(obj) or inspect.isroutine(obj):
                home = obj.__module__
            elif _has_attr_doc(mod.__name__, name):  # documented constants, where listed
                home = mod.__name__
            else:  # undocumented data (e.g. arrays) would show their type's docstring
                continue
            seen[id(obj)] = f"{mod.__name__}.{name}"
            by_module.setdefault(home, []).append(f"{mod.__name__}.{name}")
    return by_module


def _write_api_page() -> None:
    by_module = _collect_api()
    order = [m for m in API_SECTIONS if m in by_module]
    order += sorted(m for m in by_module if m not in API_SECTIONS)
    lines = [
        ".. Generated by docs/conf.py from the package's __all__; do not edit.",
        "",
        "API reference",
        "=============",
        "",
        "Everything public in :mod:`pymc_auxform`, generated from the docstrings. The names at the",
        "top of the package (``from pymc_auxform import ...``) are listed under their short name.",
        "",
    ]
    for modname in order:
        title, blurb = API_SECTIONS.get(modname, (None, None))
        if title is None:
            mod = sys.modules.get(modname) or importlib.import_module(modname)
            title = f"``{modname}``"
            blurb = (inspect.getdoc(mod) or "").strip().splitlines()[0:1]
            blurb = blurb[0] if blurb else ""
        lines += [title, "-" * len(title), "", blurb, "", f"Module: ``{modname}``", ""]
        lines += [".. autosummary::", "   :toctree: generated/", "   :nosignatures:", ""]
        lines += [f"   {name}" for name in by_module[modname]]
        lines += [""]
    text = "\n".join(lines)
    # stubs of names that are no longer public would be orphans (a warning): start afresh
    shutil.rmtree(HERE / "api" / "generated", ignore_errors=True)
    target = HERE / "api" / "index.rst"
    if not target.exists() or target.read_text() != text:
        target.parent.mkdir(exist_ok=True)
        target.write_text(text)


_write_api_page()

# -- Tutorials that depend on optional parts of the package --------------------------------------


def _has(module: str, attr: str) -> bool:
    try:
        return hasattr(importlib.import_module(module), attr)
    except ImportError:
        return False


#: tutorial docname -> (module, attribute) it needs; left out of the build when missing.
TUTORIAL_NEEDS = {"tutorials/digits_em": ("pymc_auxform.em", "stochastic_em")}
MISSING_TUTORIALS = [doc for doc, need in TUTORIAL_NEEDS.items() if not _has(*need)]
exclude_patterns += [f"{doc}.md" for doc in MISSING_TUTORIALS]


def _drop_missing_from_toctrees(app, docname, source):
    for doc in MISSING_TUTORIALS:
        short = doc.split("/", 1)[1]
        source[0] = "\n".join(
            line for line in source[0].splitlines() if line.strip() not in (doc, short)
        )


# -- Benchmark results: include the files that exist -------------------------------------------

BENCH_RESULTS = ROOT / "benchmarks" / "results"
BENCH_MARKER = "<!-- BENCHMARK-RESULTS -->"
suppress_warnings = ["myst.header"]  # results files may start at any heading level


#: results files shown first, in this order; any others follow alphabetically
BENCH_ORDER = ("core", "centering", "em", "coverage")


def _benchmark_includes() -> str:
    files = sorted(BENCH_RESULTS.glob("*.md")) if BENCH_RESULTS.is_dir() else []
    if not files:
        return "No results yet: run `make bench` and rebuild the documentation.\n"
    rank = {name: i for i, name in enumerate(BENCH_ORDER)}
    files.sort(key=lambda f: (rank.get(f.stem, len(rank)), f.stem))
    parts = []
    for f in files:
        rel = os.path.relpath(f, HERE)
        parts.append(
            f"```{{include}} {rel}\n:heading-offset: 2\n```\n\n*From `{f.relative_to(ROOT)}`.*\n"
        )
    return "\n".join(parts)


def _fill_benchmarks(app, docname, source):
    if docname == "benchmarks" and BENCH_MARKER in source[0]:
        source[0] = source[0].replace(BENCH_MARKER, _benchmark_includes())


def setup(app):
    app.connect("source-read", _drop_missing_from_toctrees)
    app.connect("source-read", _fill_benchmarks)
    # re-read the benchmarks page on every build: results files may have appeared
    app.connect("env-get-outdated", lambda app, env, added, changed, removed: ["benchmarks"])
