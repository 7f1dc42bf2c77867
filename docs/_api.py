"""Generate the API reference (``docs/api/*.rst``) from the package itself.

Used by ``docs/conf.py`` at configuration time and by ``tests/test_docs_api.py``, so the names the
reference shows and the names the test imports come from one place.

Every public name (the ``__all__`` of the package and of each public submodule) is documented once,
under its shortest public path: ``pymc_auxform.auxify``, not ``pymc_auxform.auxify.auxify``. Names
are grouped by their defining module into a few pages (:data:`API_PAGES`); a module that no page
claims (added later, or moved) lands on the page "More", under a section named after it, so a new
or moved public name always appears without editing the docs.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
import shutil
import types

from dataclasses import dataclass, field
from pathlib import Path

PACKAGE = "pymc_auxform"

#: (slug, page title, one-line blurb, module prefixes the page claims), in sidebar order. A module
#: belongs to the first page with a prefix equal to it or to one of its parent packages.
API_PAGES: list[tuple[str, str, str, tuple[str, ...]]] = [
    (
        "rewriting",
        "Rewriting and sampling",
        "`auxify(model)` returns the model in auxiliary (non-centered) form where the data call "
        "for it (`centering=0.0`: everywhere); the report says what was rewritten and why; the "
        "trace reads like the original model's.",
        (
            f"{PACKAGE}.auxify",
            f"{PACKAGE}.rewrite",
            f"{PACKAGE}.sample",
            f"{PACKAGE}.sampling",
            f"{PACKAGE}.reporting",
            f"{PACKAGE}.trace",
        ),
    ),
    (
        "centering",
        "Automatic centering",
        "Choosing, per variable and per element, between the centered, the auxiliary and a "
        "partially centered form.",
        (f"{PACKAGE}.centering", f"{PACKAGE}.centering_result"),
    ),
    (
        "diagnostics",
        "Diagnostics and comparison",
        "Original and auxiliary form side by side: ESS, R-hat, divergences, autocorrelation.",
        (
            f"{PACKAGE}.diagnostics",
            f"{PACKAGE}.metrics",
            f"{PACKAGE}.comparison",
            f"{PACKAGE}.figures",
            f"{PACKAGE}.advice",
        ),
    ),
    (
        "learning",
        "Learning parameters",
        "Stochastic (MCMC-)EM with the E-step in auxiliary form, EM-free Monte Carlo likelihood "
        "learning, and Monte Carlo estimates of log p(x).",
        (
            f"{PACKAGE}.em",
            f"{PACKAGE}.em_result",
            f"{PACKAGE}.mc_likelihood",
            f"{PACKAGE}._batching",
            f"{PACKAGE}.marginal",
            f"{PACKAGE}.marginal_result",
        ),
    ),
    (
        "forms",
        "Forms",
        "How each distribution is rewritten; register a `Form` to support a new one.",
        (f"{PACKAGE}.forms",),
    ),
    (
        "reference_models",
        "Reference models",
        "The models used by the tests, tutorials and benchmarks.",
        (f"{PACKAGE}.reference_models",),
    ),
]

#: Section titles of known modules; other modules get a title made from their name.
MODULE_TITLES = {
    f"{PACKAGE}.auxify": "Rewriting a model",
    f"{PACKAGE}.rewrite": "The rewrite",
    f"{PACKAGE}.reporting": "The report",
    f"{PACKAGE}.trace": "Traces",
    f"{PACKAGE}.centering": "Automatic centering",
    f"{PACKAGE}.centering_result": "What was chosen",
    f"{PACKAGE}.diagnostics": "Diagnostics",
    f"{PACKAGE}.sampling": "Sampling in one call",
    f"{PACKAGE}.metrics": "Efficiency numbers",
    f"{PACKAGE}.comparison": "Comparing the two forms",
    f"{PACKAGE}.figures": "Figures",
    f"{PACKAGE}.advice": "Advice",
    f"{PACKAGE}.em": "Stochastic EM",
    f"{PACKAGE}.em_result": "Learning results",
    f"{PACKAGE}.mc_likelihood": "EM-free learning",
    f"{PACKAGE}._batching": "Minibatches",
    f"{PACKAGE}.marginal": "Marginal likelihood",
    f"{PACKAGE}.marginal_result": "Marginal likelihood results",
    f"{PACKAGE}.forms.base": "Forms and their parts",
    f"{PACKAGE}.forms.registry": "The registry",
    f"{PACKAGE}.forms.univariate": "Univariate families",
    f"{PACKAGE}.forms.icdf": "Inverse CDF",
    f"{PACKAGE}.forms.multivariate": "Multivariate",
    f"{PACKAGE}.forms.recurrent": "Recurrent models",
    f"{PACKAGE}.forms.scan": "Scan models",
    f"{PACKAGE}.reference_models": "Reference models",
}

MORE_PAGE = ("more", "More", "Public modules not yet sorted into a page above.")


@dataclass
class Section:
    module: str  # defining module
    title: str
    blurb: str
    names: list[str] = field(default_factory=list)  # documented paths, e.g. "pymc_auxform.auxify"


@dataclass
class Page:
    slug: str
    title: str
    blurb: str
    sections: list[Section] = field(default_factory=list)


def public_modules() -> list[types.ModuleType]:
    """The package and every submodule whose dotted name has no part starting with ``_``."""
    pkg = importlib.import_module(PACKAGE)
    mods = [pkg]
    for info in pkgutil.walk_packages(pkg.__path__, f"{PACKAGE}."):
        if any(part.startswith("_") for part in info.name.split(".")):
            continue
        mods.append(importlib.import_module(info.name))  # an import error fails the build
    return mods


def public_names(mod: types.ModuleType) -> list[str]:
    names = getattr(mod, "__all__", None)
    if names is None:
        names = [
            n
            for n, obj in vars(mod).items()
            if not n.startswith("_") and getattr(obj, "__module__", None) == mod.__name__
        ]
    return list(names)


def _has_attr_doc(modname: str, name: str) -> bool:
    """Whether a module-level name has a docstring, as autodoc sees it: a ``#:`` comment on the
    line(s) above its assignment, or a string right after it. (Plain ``ast``: the test that
    imports this module must not need Sphinx.)"""
    mod = importlib.import_module(modname)
    try:
        source = inspect.getsource(mod)
    except (OSError, TypeError):
        return False
    lines = source.splitlines()
    body = ast.parse(source).body
    for i, node in enumerate(body):
        targets = node.targets if isinstance(node, ast.Assign) else [getattr(node, "target", None)]
        if not isinstance(node, ast.Assign | ast.AnnAssign):
            continue
        if not any(isinstance(t, ast.Name) and t.id == name for t in targets):
            continue
        above = lines[node.lineno - 2].strip() if node.lineno >= 2 else ""
        after = body[i + 1] if i + 1 < len(body) else None
        string_after = (
            isinstance(after, ast.Expr)
            and isinstance(after.value, ast.Constant)
            and isinstance(after.value.value, str)
        )
        return above.startswith("#:") or string_after
    return False


def resolve(path: str):
    """The object at a dotted path, walking attributes from the top package, as a user would type
    it (``pymc_auxform.report.Left`` fails if ``pymc_auxform.report`` is a function)."""
    parts = path.split(".")
    obj = importlib.import_module(parts[0])
    for part in parts[1:]:
        obj = getattr(obj, part)
    return obj


def collect() -> dict[str, list[str]]:
    """Map defining module -> documented paths (each object once, under its shortest path)."""
    seen: set[int] = set()
    by_module: dict[str, list[str]] = {}
    mods = sorted(public_modules(), key=lambda m: (m.__name__.count("."), m.__name__))
    for mod in mods:
        for name in public_names(mod):
            obj = getattr(mod, name)
            if inspect.ismodule(obj) or id(obj) in seen:
                continue
            if inspect.isclass(obj) or inspect.isroutine(obj):
                home = obj.__module__
            elif _has_attr_doc(mod.__name__, name):  # documented constants, where listed
                home = mod.__name__
            else:  # undocumented data (e.g. arrays) would show their type's docstring
                continue
            seen.add(id(obj))
            by_module.setdefault(home, []).append(f"{mod.__name__}.{name}")
    return by_module


def documented_names() -> list[str]:
    """Every path the API reference documents (what ``tests/test_docs_api.py`` imports)."""
    return [name for names in collect().values() for name in names]


def _title_of(modname: str) -> tuple[str, str]:
    if modname in MODULE_TITLES:
        title = MODULE_TITLES[modname]
    else:
        title = modname.rsplit(".", 1)[-1].replace("_", " ").capitalize()
    mod = importlib.import_module(modname)
    doc = (inspect.getdoc(mod) or "").strip().split("\n\n")[0].replace("\n", " ")
    return title, doc


def pages() -> list[Page]:
    by_module = collect()
    result = [Page(slug, title, blurb) for slug, title, blurb, _ in API_PAGES]
    more = Page(*MORE_PAGE)

    def page_of(modname: str) -> Page:
        for page, (_, _, _, prefixes) in zip(result, API_PAGES, strict=True):
            if any(modname == p or modname.startswith(p + ".") for p in prefixes):
                return page
        return more

    claimed = [m for _, _, _, prefixes in API_PAGES for m in prefixes]
    order = {m: i for i, m in enumerate(claimed)}
    for modname in sorted(by_module, key=lambda m: (order.get(m, len(order)), m)):
        title, blurb = _title_of(modname)
        page_of(modname).sections.append(Section(modname, title, blurb, by_module[modname]))
    if more.sections:
        result.append(more)
    return [p for p in result if p.sections]


def _rst_page(page: Page) -> str:
    lines = [
        ".. Generated by docs/_api.py from the package's __all__; do not edit.",
        "",
        page.title,
        "=" * len(page.title),
        "",
        page.blurb.replace("`", "``"),
        "",
    ]
    for sec in page.sections:
        lines += [sec.title, "-" * len(sec.title), ""]
        if sec.blurb:
            lines += [sec.blurb, ""]
        lines += [f"Defined in ``{sec.module}``.", ""]
        lines += [".. autosummary::", "   :toctree: generated/", "   :nosignatures:", ""]
        lines += [f"   {name}" for name in sec.names]
        lines += [""]
    return "\n".join(lines)


def _rst_index(all_pages: list[Page]) -> str:
    lines = [
        ".. Generated by docs/_api.py from the package's __all__; do not edit.",
        "",
        "API reference",
        "=============",
        "",
        "Everything public in ``pymc_auxform``, generated from the docstrings. Each name is shown",
        "by the path it imports from: the names at the top of the package",
        "(``from pymc_auxform import auxify``) under their short name.",
        "",
        ".. toctree::",
        "   :maxdepth: 1",
        "",
    ]
    lines += [f"   {p.title} <{p.slug}>" for p in all_pages]
    lines += [""]
    for p in all_pages:
        lines += [p.title, "-" * len(p.title), "", p.blurb.replace("`", "``"), ""]
        lines += [".. autosummary::", "   :nosignatures:", ""]
        lines += [f"   {name}" for sec in p.sections for name in sec.names]
        lines += [""]
    return "\n".join(lines)


def write(api_dir: Path) -> None:
    """Write ``index.rst`` and one page per group into ``api_dir``; stale files are removed."""
    all_pages = pages()
    # stubs of names that are no longer public would be orphans (a warning): start afresh
    shutil.rmtree(api_dir / "generated", ignore_errors=True)
    api_dir.mkdir(exist_ok=True)
    wanted = {"index.rst": _rst_index(all_pages)}
    wanted |= {f"{p.slug}.rst": _rst_page(p) for p in all_pages}
    for old in api_dir.glob("*.rst"):
        if old.name not in wanted:
            old.unlink()
    for fname, text in wanted.items():
        target = api_dir / fname
        if not target.exists() or target.read_text() != text:
            target.write_text(text)
