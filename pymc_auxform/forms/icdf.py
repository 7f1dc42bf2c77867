r"""Generic inverse-CDF form, the fallback for univariate continuous families without an exact form.

.. math::

    z \sim F_\theta \iff z = F_\theta^{-1}(\Phi(\epsilon)),\quad \epsilon \sim N(0, 1).

It covers every univariate continuous distribution whose ``icdf`` PyMC implements (Uniform, Beta,
Kumaraswamy, TruncatedNormal, Pareto, Triangular, Moyal, SkewStudentT, ...) and ``pm.Truncated``
of those, where

.. math::

    z = F^{-1}\bigl((1 - u) F(l) + u F(h)\bigr),\quad u = \Phi(\epsilon).

The probability is built in log space from the standard normal log-CDF,
:math:`\log u = \log\Phi(\epsilon)` and :math:`\log(1 - u) = \log\Phi(-\epsilon)`, and the base
log-CDFs at the bounds, so that left tails do not underflow. The form is only used when no exact
form is registered (see :func:`~pymc_auxform.forms.base.get_form`), and only when the gradient of
``z`` exists with respect to the noise and to every parameter that depends on other latent
variables (PyTensor has, e.g., no gradient of the regularized incomplete beta inverse with respect
to the shape parameters, so a Beta with latent shapes is left as it is, with that reason).
"""

from __future__ import annotations

import pymc as pm
import pytensor
import pytensor.tensor as pt

from pymc.distributions.distribution import SymbolicRandomVariable
from pymc.distributions.truncated import TruncatedRV
from pymc.logprob.abstract import _icdf
from pymc.model.fgraph import ModelFreeRV
from pytensor.gradient import NullTypeGradError
from pytensor.graph.basic import Constant, Variable
from pytensor.graph.traversal import ancestors
from pytensor.tensor.random.op import RandomVariable

from pymc_auxform._util import dist_name, is_discrete, is_zero_lam, static_shape
from pymc_auxform.forms.base import (
    AuxParts,
    Form,
    FormNotApplicable,
    Noise,
    batch_shape,
    dist_params,
    register_fallback_form,
)
from pymc_auxform.forms.checks import without_checks


def has_icdf(op) -> bool:
    """Whether PyMC implements the inverse CDF of a univariate continuous random-variable ``op``.

    Examples
    --------
    .. code-block:: python

        import pymc as pm
        from pymc_auxform.forms.icdf import has_icdf

        has_icdf(pm.Beta.dist(2, 3).owner.op)  # True
    """
    if isinstance(op, TruncatedRV):
        return has_icdf(op.base_rv_op)
    if not isinstance(op, RandomVariable | SymbolicRandomVariable):
        return False
    if getattr(op, "ndim_supp", None) != 0:
        return False
    if is_discrete(op):
        return False
    return _icdf.dispatch(type(op)) is not _icdf.dispatch(object)


def _std_normal_logcdf(x):
    return pm.logcdf(pm.Normal.dist(), x)


def _truncated_parts(rv):
    """Base variable and bounds of a ``pm.Truncated`` variable."""
    op = rv.owner.op
    *base_inputs, lower, upper = rv.owner.inputs
    base = op.base_rv_op.make_node(*base_inputs).default_output()
    return base, lower, upper


def icdf_map(rv, eps):
    r"""The map :math:`\epsilon \mapsto F^{-1}(\Phi(\epsilon))` for ``rv`` (graph of ``eps``).

    Examples
    --------
    .. code-block:: python

        import pymc as pm
        import pytensor.tensor as pt
        from pymc_auxform.forms.icdf import icdf_map

        z = icdf_map(pm.Beta.dist(2, 3), pt.dscalar("eps"))
    """
    log_u = _std_normal_logcdf(eps)
    if isinstance(rv.owner.op, TruncatedRV):
        base, lower, upper = _truncated_parts(rv)
        log_lo = pm.logcdf(base, pt.full_like(eps, lower), warn_rvs=False)
        log_hi = pm.logcdf(base, pt.full_like(eps, upper), warn_rvs=False)
        log_1mu = _std_normal_logcdf(-eps)
        log_p = pt.logaddexp(log_lo + log_1mu, log_hi + log_u)
        z = pm.logprob.icdf(base, pt.exp(log_p), warn_rvs=False)
        return without_checks(pt.clip(z, lower, upper))
    return without_checks(pm.logprob.icdf(rv, pt.exp(log_u), warn_rvs=False))


def depends_on_latents(var: Variable) -> bool:
    """Whether ``var`` is computed from a free variable of the model being rewritten."""
    if isinstance(var, Constant):
        return False
    return any(
        a.owner is not None and isinstance(a.owner.op, ModelFreeRV) for a in ancestors([var])
    )


def _latent_names(var: Variable) -> str:
    """The free variables a parameter is computed from, by name (for the user, not graph text)."""
    names = sorted(
        {
            a.owner.op.name
            for a in ancestors([var])
            if a.owner is not None and isinstance(a.owner.op, ModelFreeRV)
        }
    )
    return ", ".join(repr(n) for n in names) or "other latent variables"


def _check_gradients(z, eps, params, name):
    """Raise FormNotApplicable unless ``z`` has a gradient w.r.t. ``eps`` and latent ``params``."""
    wrt = [eps, *(p for p in params if depends_on_latents(p))]
    for var in wrt:
        try:
            pytensor.grad(z.sum(), var, disconnected_inputs="ignore")
        except NullTypeGradError:
            what = "the noise" if var is eps else f"a parameter computed from {_latent_names(var)}"
            raise FormNotApplicable(
                f"PyTensor has no gradient of the {name} inverse CDF with respect to {what}"
            ) from None


def _params(rv):
    if isinstance(rv.owner.op, TruncatedRV):
        base, lower, upper = _truncated_parts(rv)
        return (*dist_params(base), lower, upper)
    return dist_params(rv)


def _shape(rv):
    if isinstance(rv.owner.op, TruncatedRV) and static_shape(rv) is None:
        return batch_shape(_truncated_parts(rv)[0])
    return batch_shape(rv)


@register_fallback_form(has_icdf)
class IcdfForm(Form):
    r"""Inverse-CDF form: :math:`z = F^{-1}(\Phi(\epsilon))`, :math:`\epsilon \sim N(0, 1)`.

    Exact for any continuous univariate :math:`F`; the noise is unconstrained, so a bounded ``z``
    (Uniform, Beta, truncated) is sampled without a value transform. Not used when an exact
    affine or scale form exists. No partial centering.

    Examples
    --------
    .. code-block:: python

        import pymc as pm
        from pymc_auxform import auxify, report

        with pm.Model() as m:
            a = pm.HalfNormal("a")
            p = pm.Uniform("p", 0, a)
            w = pm.Truncated("w", pm.Gamma.dist(2, 1), lower=p, upper=p + 3)

        print(report(auxify(m, centering=0.0)))  # p and w: form "icdf"
    """

    summary = (
        "z = F^-1(Phi(eps)), eps ~ Normal(0, 1) (pm.Truncated: F^-1 between F(lower), F(upper))"
    )
    kind = "icdf"
    supports_partial = False

    def rewrite(self, rv, lam=0.0):
        if not is_zero_lam(lam):  # pragma: no cover - auxify checks supports_partial
            raise FormNotApplicable("the icdf form has no partial centering")
        params = _params(rv)
        if not any(depends_on_latents(p) for p in params):
            raise FormNotApplicable(
                "its parameters do not depend on other latent variables, so the icdf form "
                "would only add cost"
            )
        eps = pm.Normal.dist(size=_shape(rv))
        name = dist_name(rv)
        probe = eps.type()
        _check_gradients(icdf_map(rv, probe), probe, params, name)
        return AuxParts([Noise(eps)], lambda e: icdf_map(rv, e))


__all__ = ["IcdfForm", "depends_on_latents", "has_icdf", "icdf_map"]
