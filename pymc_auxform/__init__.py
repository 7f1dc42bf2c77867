"""pymc_auxform: Kingma's auxiliary form (the non-centered parametrization) for PyMC models.

The functions a user calls are here; the kit for writing a new form (``Form``, ``LocScaleForm``,
``ScaleForm``, ``Noise``, ``AuxParts``, ``FormNotApplicable``, ``register_form``, ...) is in
:mod:`pymc_auxform.forms`.
"""

from pymc_auxform._batching import Minibatch
from pymc_auxform.advice import AuxformSamplingWarning
from pymc_auxform.auxify import auxify
from pymc_auxform.centering import choose_centering
from pymc_auxform.centering_result import CenteringChoice, CenteringDecision
from pymc_auxform.comparison import FormComparison, compare_forms
from pymc_auxform.em import EStepError, stochastic_em
from pymc_auxform.em_result import EMProgress, EMResult, NotConvergedWarning
from pymc_auxform.marginal import estimate_log_marginal
from pymc_auxform.marginal_result import LogMarginal, UnreliableEstimateWarning
from pymc_auxform.mc_likelihood import fit_mc_likelihood
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

__version__ = "0.2.0"

__all__ = [
    "AuxReport",
    "AuxformSamplingWarning",
    "CenteringChoice",
    "CenteringDecision",
    "EMProgress",
    "EMResult",
    "EStepError",
    "FormComparison",
    "LogMarginal",
    "Minibatch",
    "NotConvergedWarning",
    "SamplingMetrics",
    "TimedRun",
    "UnreliableEstimateWarning",
    "auxify",
    "check_handoff",
    "choose_centering",
    "compare_forms",
    "divergences",
    "estimate_log_marginal",
    "fit_mc_likelihood",
    "gradient_evaluations",
    "logp_grad_seconds",
    "original_trace",
    "report",
    "sample",
    "sampling_metrics",
    "stochastic_em",
    "timed_sample",
]
