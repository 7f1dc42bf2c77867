"""Every name the API reference documents imports by the path it shows.

The list of names comes from ``docs/_api.py``, the generator of the API pages, so the test checks
exactly what the reference shows: ``pymc_auxform.reporting.Left`` must work both as an import
(``from pymc_auxform.reporting import Left``) and as an attribute path typed after
``import pymc_auxform`` (``pymc_auxform.reporting.Left``), which fails when a function of the
package shadows the module of the same name.
"""

from __future__ import annotations

import importlib
import sys

from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parent.parent / "docs"

sys.path.insert(0, str(DOCS))
try:
    import _api
finally:
    sys.path.remove(str(DOCS))

NAMES = _api.documented_names()

#: Modules known to be shadowed by a function of the same name (``pymc_auxform.report`` is the
#: function ``report``): their names import with ``from ... import`` but not as attribute paths.
#: Remove an entry once the module is renamed; the strict xfail then fails to remind you.
SHADOWED: set[str] = set()


def test_the_reference_documents_the_top_level_names():
    import pymc_auxform

    documented = set(NAMES)
    missing = [n for n in pymc_auxform.__all__ if f"pymc_auxform.{n}" not in documented]
    assert not missing, f"top-level names missing from the API reference: {missing}"
    assert len(NAMES) == len(set(NAMES)), "a name is documented twice"


@pytest.mark.parametrize("path", NAMES)
def test_documented_name_imports(path):
    module, _, name = path.rpartition(".")
    mod = importlib.import_module(module)
    assert hasattr(mod, name), f"`from {module} import {name}` fails"


@pytest.mark.parametrize(
    "path",
    [
        pytest.param(
            p,
            marks=pytest.mark.xfail(
                strict=True, reason=f"{p.rpartition('.')[0]} is shadowed by a function"
            ),
        )
        if p.rpartition(".")[0] in SHADOWED
        else p
        for p in NAMES
    ],
)
def test_documented_path_resolves_as_attributes(path):
    _api.resolve(path)
