"""The table of what is rewritten, by which form, and what is left and why, from the registry.

``python -m pymc_auxform.forms.table > docs/forms_table.md`` regenerates the docs page, so the table
never disagrees with the code: each row instantiates the distribution and asks
:func:`~pymc_auxform.forms.base.get_form` for its form.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pymc as pm

from pymc_auxform._util import is_discrete
from pymc_auxform.forms.base import get_form

# arguments that make a valid member of each family (the others need none)
_ARGS: dict[str, dict] = {
    "AsymmetricLaplace": {"b": 1.0, "kappa": 1.0, "mu": 0.0},
    "Beta": {"alpha": 2.0, "beta": 2.0},
    "Cauchy": {"alpha": 0.0, "beta": 1.0},
    "ChiSquared": {"nu": 3.0},
    "ExGaussian": {"mu": 0.0, "sigma": 1.0, "nu": 1.0},
    "Exponential": {"lam": 1.0},
    "Gamma": {"alpha": 2.0, "beta": 1.0},
    "Gumbel": {"mu": 0.0, "beta": 1.0},
    "InverseGamma": {"alpha": 2.0, "beta": 1.0},
    "Kumaraswamy": {"a": 2.0, "b": 2.0},
    "Laplace": {"mu": 0.0, "b": 1.0},
    "LogitNormal": {"mu": 0.0, "sigma": 1.0},
    "Moyal": {"mu": 0.0, "sigma": 1.0},
    "Pareto": {"alpha": 2.0, "m": 1.0},
    "PolyaGamma": {"h": 1.0, "z": 0.0},
    "Rice": {"nu": 1.0, "sigma": 1.0},
    "SkewNormal": {"alpha": 1.0},
    "SkewStudentT": {"a": 2.0, "b": 2.0},
    "StudentT": {"nu": 3.0},
    "HalfStudentT": {"nu": 3.0},
    "HalfCauchy": {"beta": 1.0},
    "Uniform": {"lower": 0.0, "upper": 1.0},
    "Triangular": {"lower": 0.0, "c": 0.5, "upper": 1.0},
    "TruncatedNormal": {"lower": 0.0},
    "VonMises": {"mu": 0.0, "kappa": 1.0},
    "Wald": {"mu": 1.0, "lam": 1.0},
    "Weibull": {"alpha": 2.0, "beta": 1.0},
    "Bernoulli": {"p": 0.5},
    "Binomial": {"n": 3, "p": 0.5},
    "BetaBinomial": {"alpha": 1.0, "beta": 1.0, "n": 3},
    "Categorical": {"p": np.ones(3) / 3},
    "DiscreteUniform": {"lower": 0, "upper": 3},
    "DiscreteWeibull": {"q": 0.5, "beta": 1.0},
    "Geometric": {"p": 0.5},
    "HyperGeometric": {"N": 10, "k": 3, "n": 3},
    "NegativeBinomial": {"mu": 1.0, "alpha": 1.0},
    "Poisson": {"mu": 1.0},
    "Dirichlet": {"a": np.ones(3)},
    "MvNormal": {"mu": np.zeros(2), "cov": np.eye(2)},
    "MvStudentT": {"nu": 3.0, "mu": np.zeros(2), "scale": np.eye(2)},
    "ZeroSumNormal": {"shape": 3},
    "Multinomial": {"n": 3, "p": np.ones(3) / 3},
    "LKJCorr": {"n": 3, "eta": 1.0},
    "Wishart": {"nu": 3, "V": np.eye(2)},
    "GaussianRandomWalk": {"steps": 3, "init_dist": pm.Normal.dist()},
    "AR": {"rho": [0.5], "steps": 3, "init_dist": pm.Normal.dist()},
}
_FAMILIES = [
    *("Normal StudentT Cauchy Laplace Logistic Gumbel SkewNormal AsymmetricLaplace Moyal".split()),
    *("HalfNormal HalfCauchy HalfStudentT Exponential Gamma InverseGamma Weibull".split()),
    *("ChiSquared LogNormal LogitNormal Beta Kumaraswamy Uniform Triangular Pareto".split()),
    *("TruncatedNormal ExGaussian Wald Rice VonMises SkewStudentT".split()),
    *("MvNormal MvStudentT ZeroSumNormal GaussianRandomWalk AR Dirichlet Wishart LKJCorr".split()),
    *("Bernoulli Binomial BetaBinomial Categorical DiscreteUniform Geometric Poisson".split()),
    *("NegativeBinomial HyperGeometric Multinomial".split()),
]


def _row(name: str) -> dict:
    cls = getattr(pm, name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rv = cls.dist(**_ARGS.get(name, {}))
    if is_discrete(rv):
        return {"form": "left", "map": "", "note": "discrete: no auxiliary form"}
    form = get_form(rv.owner.op)
    if form is None:
        return {"form": "left", "map": "", "note": "no auxiliary form is registered"}
    summary = form.summary or (form.__doc__ or "").strip().splitlines()[0]
    note = ""
    if form.kind == "icdf":
        note = (
            "only when a parameter is latent; left (with the reason) where PyTensor has no "
            "gradient of the inverse CDF with respect to a latent parameter"
        )
    return {"form": form.kind, "map": summary, "note": note}


def forms_table() -> pd.DataFrame:
    """One row per PyMC family: the form that rewrites it (or ``"left"``), its map, notes.

    Examples
    --------
    .. code-block:: python

        from pymc_auxform.forms.table import forms_table

        forms_table().loc["Normal", "form"]  # "affine"
    """
    rows = {name: _row(name) for name in _FAMILIES}
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis("distribution")


def forms_table_markdown() -> str:
    """The docs page: a title, a sentence on how it is made, and :func:`forms_table`."""
    table = forms_table().reset_index()
    table["map"] = table["map"].map(lambda s: f"`{s}`" if s else "")
    head = [
        "# What is rewritten",
        "",
        "Generated from the form registry by `python -m pymc_auxform.forms.table`; "
        "`pymc_auxform.report(aux)` gives the same information for one model, variable by "
        "variable. Every rewrite keeps the original's parameter checks (the noise's density is "
        "-inf exactly where the original's is). A variable whose parameters are all constants "
        "is left by the icdf form, and one already standard (location 0, scale 1) by the "
        "affine and scale forms: rewriting them gains nothing.",
        "",
    ]
    return "\n".join(head) + "\n" + table.to_markdown(index=False) + "\n"


if __name__ == "__main__":  # pragma: no cover
    print(forms_table_markdown(), end="")


__all__ = ["forms_table", "forms_table_markdown"]
