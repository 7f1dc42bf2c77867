"""Reference models used by the tests, examples, benchmarks and docs.

Each builder returns a fresh ``pm.Model``. ``centered`` models are written the natural way (what a
user would give to :func:`~pymc_auxform.auxify`); ``noncentered`` builders are the hand-written
auxiliary forms that serve as oracles: their free variables are named like the noise variables
``auxify`` creates (``"{name}_eps"``) so that log densities can be compared point by point.
"""

from pymc_auxform.reference_models.classic import (
    EIGHT_SCHOOLS_SIGMA,
    EIGHT_SCHOOLS_Y,
    eight_schools,
    funnel,
)
from pymc_auxform.reference_models.dbn import dbn, dbn_params, simulate_dbn
from pymc_auxform.reference_models.regression import (
    RADON_KINDS,
    hierarchical_glm,
    radon_style,
    simulate_hierarchical,
    varying_intercepts,
)

__all__ = [
    "EIGHT_SCHOOLS_SIGMA",
    "EIGHT_SCHOOLS_Y",
    "RADON_KINDS",
    "dbn",
    "dbn_params",
    "eight_schools",
    "funnel",
    "hierarchical_glm",
    "radon_style",
    "simulate_dbn",
    "simulate_hierarchical",
    "varying_intercepts",
]
