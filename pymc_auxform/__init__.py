"""pymc_auxform: Kingma's auxiliary form for PyMC models."""

from pymc_auxform.advice import AuxformSamplingWarning
from pymc_auxform.auxify import auxify
from pymc_auxform.centering import CenteringChoice, CenteringDecision, choose_centering
from pymc_auxform.comparison import FormComparison, compare_forms
from pymc_auxform.em import EMProgress, EMResult, Minibatch, stochastic_em
from pymc_auxform.forms import Form, get_form, register_form
from pymc_auxform.marginal import LogMarginal, estimate_log_marginal
from pymc_auxform.metrics import (
    SamplingMetrics,
    TimedRun,
    divergences,
    gradient_evaluations,
    logp_grad_seconds,
    sampling_metrics,
    timed_sample,
)
from pymc_auxform.reporting import AuxReport, report
from pymc_auxform.sampling import sample
from pymc_auxform.trace import check_handoff, original_trace

__version__ = "0.1.0"

__all__ = [
    "AuxReport",
    "AuxformSamplingWarning",
    "CenteringChoice",
    "CenteringDecision",
    "EMProgress",
    "EMResult",
    "Form",
    "FormComparison",
    "LogMarginal",
    "Minibatch",
    "SamplingMetrics",
    "TimedRun",
    "auxify",
    "check_handoff",
    "choose_centering",
    "compare_forms",
    "divergences",
    "estimate_log_marginal",
    "get_form",
    "gradient_evaluations",
    "logp_grad_seconds",
    "original_trace",
    "register_form",
    "report",
    "sample",
    "sampling_metrics",
    "stochastic_em",
    "timed_sample",
]
