"""pymc_auxform: Kingma's auxiliary form for PyMC models."""

from pymc_auxform.auxify import auxify
from pymc_auxform.forms import Form, get_form, register_form
from pymc_auxform.report import AuxReport, report

__version__ = "0.1.0"

__all__ = ["AuxReport", "Form", "auxify", "get_form", "register_form", "report"]
