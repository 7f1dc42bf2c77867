"""Registry of auxiliary forms, one small class per family (see :mod:`pymc_auxform.forms.base`)."""

from pymc_auxform.forms import icdf, multivariate, recurrent, scan, truncated, univariate
from pymc_auxform.forms.base import (
    AuxParts,
    Form,
    FormNotApplicable,
    LocScaleForm,
    Noise,
    ScaleForm,
    get_form,
    register_form,
)

__all__ = [
    "AuxParts",
    "Form",
    "FormNotApplicable",
    "LocScaleForm",
    "Noise",
    "ScaleForm",
    "get_form",
    "icdf",
    "multivariate",
    "recurrent",
    "register_form",
    "scan",
    "truncated",
    "univariate",
]
