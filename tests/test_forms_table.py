"""The docs' table of forms is generated from the registry and is up to date."""

from pathlib import Path

from pymc_auxform.forms.table import forms_table, forms_table_markdown


def test_table_says_what_the_registry_does():
    table = forms_table()
    assert table.loc["Normal", "form"] == "affine"
    assert table.loc["Gamma", "form"] == "scale"
    assert table.loc["TruncatedNormal", "form"] == "icdf"
    assert table.loc["Poisson", "form"] == "left"
    assert "discrete" in table.loc["Poisson", "note"]
    assert (table["form"] == "left").sum() > 5


def test_docs_page_is_regenerated():
    page = Path(__file__).parents[1] / "docs" / "forms_table.md"
    assert page.read_text() == forms_table_markdown(), (
        "docs/forms_table.md is stale: run `python -m pymc_auxform.forms.table > "
        "docs/forms_table.md`"
    )
