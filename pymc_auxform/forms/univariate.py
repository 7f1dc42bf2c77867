r"""Exact affine, scale and log-affine forms of univariate continuous families, from one table.

Each row of :data:`FAMILIES` says, for one family, which of its parameters are the location and
the scale; the math is that of :class:`~pymc_auxform.forms.base.LocScaleForm` and
:class:`~pymc_auxform.forms.base.ScaleForm`:

.. math::

    \text{affine:}\quad & z \sim F(\mu, \sigma, \nu) \iff z = \mu + \sigma\epsilon,\quad
        \epsilon \sim F(0, 1, \nu),\\
    \text{scale:}\quad & z \sim F(\nu, s) \iff z = s\,\epsilon,\quad \epsilon \sim F(\nu, 1),

where :math:`\nu` are the family's other (shape) parameters, kept in the noise. Families that
PyTensor parametrizes by a scale where PyMC uses a rate (``Exponential(lam)``, ``Gamma(alpha,
beta)``) have :math:`s = 1/\lambda` and :math:`s = 1/\beta`. ``LogNormal`` is the one log-affine
form, :math:`z = \exp(\mu + \sigma\epsilon)`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import pymc as pm
import pytensor.tensor as pt

from pymc.distributions.continuous import HalfCauchyRV, HalfStudentTRV, WeibullBetaRV
from pytensor.tensor.random.basic import (
    CauchyRV,
    ExponentialRV,
    GammaRV,
    GumbelRV,
    HalfNormalRV,
    InvGammaRV,
    LaplaceRV,
    LogisticRV,
    LogNormalRV,
    NormalRV,
    StudentTRV,
)

from pymc_auxform._util import is_zero_lam
from pymc_auxform.forms.base import (
    AuxParts,
    Form,
    FormNotApplicable,
    LocScaleForm,
    Noise,
    ScaleForm,
    batch_shape,
    dist_params,
    is_constant_value,
    register_form,
    register_named_form,
)
from pymc_auxform.forms.graph import check_lam_shape, scale_powers


@dataclass(frozen=True)
class Family:
    """One row of the table: how to read a family's location and scale and rebuild it.

    Parameters
    ----------
    dist : type
        The PyMC distribution (``pm.Normal``); its ``.dist`` builds the noise.
    op : type
        The random-variable Op type the form is registered for.
    params : tuple of str
        Names of the Op's parameters, in the Op's order (``op.dist_params(node)``).
    scale : str
        Which parameter is the scale.
    loc : str or None
        Which parameter is the location (``None`` for a scale family).
    fixed : mapping of str to float
        Parameters that must be these constants for the form to apply (HalfNormal's ``loc``).
    kwargs : callable, optional
        Maps the Op's parameters (by name) to the keywords of ``dist.dist``; default: the same.
    """

    dist: type
    op: type
    params: tuple[str, ...]
    scale: str
    loc: str | None = None
    fixed: Mapping[str, float] = field(default_factory=dict)
    kwargs: Callable[..., dict] | None = None

    @property
    def name(self) -> str:
        return self.dist.__name__

    @property
    def kind(self) -> str:
        return "scale" if self.loc is None else "affine"

    def build(self, values: Mapping, size) -> pt.TensorVariable:
        """The family with parameters ``values`` (by the Op's names) and batch ``size``."""
        kwargs = self.kwargs(**values) if self.kwargs else values
        return self.dist.dist(**kwargs, size=size)

    @property
    def others(self) -> tuple[str, ...]:
        """The shape parameters: kept as they are in the noise."""
        return tuple(p for p in self.params if p not in (self.loc, self.scale, *self.fixed))

    def math(self) -> str:
        """The map and noise of the form, in words (also the docstring of the form)."""
        others = list(self.others)
        scale = {"Exponential": "1/lam", "Gamma": "1/beta"}.get(self.name, self.scale)
        std = ", ".join([*others, *(["0"] if self.loc else []), "1"])
        if self.loc is None:
            return f"z = {scale} * eps, eps ~ {self.name}({std})"
        return f"z = {self.loc} + {scale} * eps, eps ~ {self.name}({std})"


FAMILIES: tuple[Family, ...] = (
    Family(pm.Normal, NormalRV, ("mu", "sigma"), "sigma", "mu"),
    Family(pm.StudentT, StudentTRV, ("nu", "mu", "sigma"), "sigma", "mu"),
    Family(pm.Cauchy, CauchyRV, ("alpha", "beta"), "beta", "alpha"),
    Family(pm.Laplace, LaplaceRV, ("mu", "b"), "b", "mu"),
    Family(pm.Logistic, LogisticRV, ("mu", "s"), "s", "mu"),
    Family(pm.Gumbel, GumbelRV, ("mu", "beta"), "beta", "mu"),
    Family(pm.HalfNormal, HalfNormalRV, ("loc", "sigma"), "sigma", fixed={"loc": 0.0}),
    Family(pm.HalfCauchy, HalfCauchyRV, ("beta",), "beta"),
    Family(pm.HalfStudentT, HalfStudentTRV, ("nu", "sigma"), "sigma"),
    Family(pm.Exponential, ExponentialRV, ("scale",), "scale"),
    Family(
        pm.Gamma,
        GammaRV,
        ("alpha", "scale"),
        "scale",
        kwargs=lambda alpha, scale: {"alpha": alpha, "beta": 1 / scale},
    ),
    Family(pm.InverseGamma, InvGammaRV, ("alpha", "beta"), "beta"),
    Family(pm.Weibull, WeibullBetaRV, ("alpha", "beta"), "beta"),
)
"""The affine and scale families, one row each (see :class:`Family`)."""


def _read(family: Family, rv) -> dict:
    values = dict(zip(family.params, dist_params(rv), strict=True))
    for name, wanted in family.fixed.items():
        if not is_constant_value(values[name], wanted):
            raise FormNotApplicable(
                f"{family.name} with a {name} other than {wanted:g} is not supported"
            )
    return values


class _AffineTableForm(LocScaleForm):
    family: Family

    def loc_scale(self, params):
        values = dict(zip(self.family.params, params, strict=True))
        others = tuple(values[k] for k in self.family.others)
        return values[self.family.loc], values[self.family.scale], others

    def noise(self, loc, scale, other, size):
        values = dict(zip(self.family.others, other, strict=True))
        return self.family.build({**values, self.family.loc: loc, self.family.scale: scale}, size)

    def rewrite(self, rv, lam=0.0):
        _read(self.family, rv)
        return super().rewrite(rv, lam)


class _ScaleTableForm(ScaleForm):
    family: Family

    def shape_scale(self, params):
        values = dict(zip(self.family.params, params, strict=True))
        return values[self.family.scale], tuple(values[k] for k in self.family.others)

    def noise(self, scale, other, size):
        values = dict(zip(self.family.others, other, strict=True))
        return self.family.build({**values, self.family.scale: scale}, size)

    def rewrite(self, rv, lam=0.0):
        _read(self.family, rv)
        return super().rewrite(rv, lam)


def _register(family: Family) -> type[Form]:
    base = _ScaleTableForm if family.loc is None else _AffineTableForm
    doc = f"``{family.name}``: {family.math()} (the {family.kind} form, one row of the table)."
    cls = type(f"{family.name}Form", (base,), {"family": family, "__doc__": doc})
    cls.summary = family.math()
    return register_form(family.op)(cls)


FORMS: dict[str, type[Form]] = {f.name: _register(f) for f in FAMILIES}
"""The form class of each family of :data:`FAMILIES`, by distribution name."""


@register_form(LogNormalRV)
class LogNormalForm(Form):
    r"""``LogNormal(mu, sigma)``: :math:`z = \exp(\mu + \sigma\epsilon)`, :math:`\epsilon \sim N(0, 1)`.

    Partial centering acts on :math:`\log z`: :math:`\eta \sim N(\lambda\mu, \sigma^\lambda)`,
    :math:`z = \exp(\mu + \sigma^{1-\lambda}(\eta - \lambda\mu))`.

    Examples
    --------
    .. code-block:: python

        import pymc as pm
        from pymc_auxform import auxify

        with pm.Model() as m:
            mu = pm.Normal("mu", 0.0, 5.0)
            pm.LogNormal("z", mu=mu, sigma=0.5)

        aux = auxify(m, centering=0.0)  # z = exp(mu + 0.5 * z_eps), z_eps ~ Normal(0, 1)
    """

    kind = "log-affine"
    supports_partial = True
    summary = "z = exp(mu + sigma * eps), eps ~ Normal(0, 1)"

    def rewrite(self, rv, lam=0.0):
        mu, sigma = dist_params(rv)
        size = batch_shape(rv)
        if is_zero_lam(lam):
            eps = pm.Normal.dist(size=size)
            return AuxParts([Noise(eps)], lambda e: pt.exp(mu + sigma * e))
        lam_t, up, down = scale_powers(sigma, lam, rv)
        loc, scale = check_lam_shape(rv, lam, lam_t * mu, up)
        eta = pm.Normal.dist(mu=loc, sigma=scale, size=size)
        return AuxParts(
            [Noise(eta)],
            lambda e: pt.exp((1 - lam_t * down) * mu + down * e),
            detail="partial",
        )


@register_named_form("LogitNormal")
class LogitNormalForm(Form):
    r"""``LogitNormal(mu, sigma)``: :math:`z = \mathrm{expit}(\mu + \sigma\epsilon)`, :math:`\epsilon \sim N(0, 1)`.

    Examples
    --------
    .. code-block:: python

        import pymc as pm
        from pymc_auxform import auxify

        with pm.Model() as m:
            mu = pm.Normal("mu", 0.0, 2.0)
            pm.LogitNormal("p", mu=mu, sigma=0.5, shape=3)

        aux = auxify(m, centering=0.0)  # p = expit(mu + 0.5 * p_eps), p_eps ~ Normal(0, 1)
    """

    kind = "logit-affine"
    summary = "z = expit(mu + sigma * eps), eps ~ Normal(0, 1)"

    def rewrite(self, rv, lam=0.0):
        mu, sigma = dist_params(rv)
        eps = pm.Normal.dist(size=batch_shape(rv))
        return AuxParts([Noise(eps)], lambda e: pt.sigmoid(mu + sigma * e))


__all__ = ["FAMILIES", "FORMS", "Family", "LogNormalForm", "LogitNormalForm"]
