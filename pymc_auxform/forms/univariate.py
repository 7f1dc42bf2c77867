"""Exact affine, scale and log-affine forms of univariate continuous families.

Every class here is one family: which parameters are location and scale, and how to build the
standardized member. The math lives in :class:`~pymc_auxform.forms.base.LocScaleForm` and
:class:`~pymc_auxform.forms.base.ScaleForm`.
"""

from __future__ import annotations

import numpy as np
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
    is_zero_lam,
    register_form,
)

# --- location-scale families: z = loc + scale * eps ------------------------------------------


@register_form(NormalRV)
class NormalForm(LocScaleForm):
    r"""``Normal(mu, sigma)``: :math:`z = \mu + \sigma\epsilon`, :math:`\epsilon \sim N(0, 1)`.

    Examples
    --------
    .. code-block:: python

        import pymc as pm
        from pymc_auxform import auxify

        with pm.Model() as m:
            mu = pm.Normal("mu", 0.0, 5.0)
            pm.Normal("z", mu, 2.0, shape=3)

        aux = auxify(m)  # z = mu + 2 * z_eps, z_eps ~ Normal(0, 1)
    """

    def loc_scale(self, params):
        mu, sigma = params
        return mu, sigma, ()

    def noise(self, loc, scale, other, size):
        return pm.Normal.dist(mu=loc, sigma=scale, size=size)


@register_form(StudentTRV)
class StudentTForm(LocScaleForm):
    r"""``StudentT(nu, mu, sigma)``: :math:`z = \mu + \sigma\epsilon`, :math:`\epsilon \sim t_\nu(0, 1)`.

    The degrees of freedom ``nu`` stay a parameter of the noise.

    Examples
    --------
    .. code-block:: python

        import pymc as pm
        from pymc_auxform import auxify

        with pm.Model() as m:
            mu = pm.Normal("mu", 0.0, 5.0)
            pm.StudentT("z", nu=4, mu=mu, sigma=2.0)

        aux = auxify(m)  # z = mu + 2 * z_eps, z_eps ~ StudentT(4, 0, 1)
    """

    def loc_scale(self, params):
        nu, mu, sigma = params
        return mu, sigma, (nu,)

    def noise(self, loc, scale, other, size):
        (nu,) = other
        return pm.StudentT.dist(nu=nu, mu=loc, sigma=scale, size=size)


@register_form(CauchyRV)
class CauchyForm(LocScaleForm):
    r"""``Cauchy(alpha, beta)``: :math:`z = \alpha + \beta\epsilon`, :math:`\epsilon \sim \mathrm{Cauchy}(0, 1)`.

    Examples
    --------
    .. code-block:: python

        import pymc as pm
        from pymc_auxform import auxify

        with pm.Model() as m:
            mu = pm.Normal("mu", 0.0, 5.0)
            pm.Cauchy("z", alpha=mu, beta=2.0)

        aux = auxify(m)  # z = mu + 2 * z_eps, z_eps ~ Cauchy(0, 1)
    """

    def loc_scale(self, params):
        alpha, beta = params
        return alpha, beta, ()

    def noise(self, loc, scale, other, size):
        return pm.Cauchy.dist(alpha=loc, beta=scale, size=size)


@register_form(LaplaceRV)
class LaplaceForm(LocScaleForm):
    r"""``Laplace(mu, b)``: :math:`z = \mu + b\epsilon`, :math:`\epsilon \sim \mathrm{Laplace}(0, 1)`.

    Examples
    --------
    .. code-block:: python

        import pymc as pm
        from pymc_auxform import auxify

        with pm.Model() as m:
            mu = pm.Normal("mu", 0.0, 5.0)
            pm.Laplace("z", mu=mu, b=2.0)

        aux = auxify(m)  # z = mu + 2 * z_eps, z_eps ~ Laplace(0, 1)
    """

    def loc_scale(self, params):
        mu, b = params
        return mu, b, ()

    def noise(self, loc, scale, other, size):
        return pm.Laplace.dist(mu=loc, b=scale, size=size)


@register_form(LogisticRV)
class LogisticForm(LocScaleForm):
    r"""``Logistic(mu, s)``: :math:`z = \mu + s\epsilon`, :math:`\epsilon \sim \mathrm{Logistic}(0, 1)`.

    Examples
    --------
    .. code-block:: python

        import pymc as pm
        from pymc_auxform import auxify

        with pm.Model() as m:
            mu = pm.Normal("mu", 0.0, 5.0)
            pm.Logistic("z", mu=mu, s=2.0)

        aux = auxify(m)  # z = mu + 2 * z_eps, z_eps ~ Logistic(0, 1)
    """

    def loc_scale(self, params):
        mu, s = params
        return mu, s, ()

    def noise(self, loc, scale, other, size):
        return pm.Logistic.dist(mu=loc, s=scale, size=size)


@register_form(GumbelRV)
class GumbelForm(LocScaleForm):
    r"""``Gumbel(mu, beta)``: :math:`z = \mu + \beta\epsilon`, :math:`\epsilon \sim \mathrm{Gumbel}(0, 1)`.

    Examples
    --------
    .. code-block:: python

        import pymc as pm
        from pymc_auxform import auxify

        with pm.Model() as m:
            mu = pm.Normal("mu", 0.0, 5.0)
            pm.Gumbel("z", mu=mu, beta=2.0)

        aux = auxify(m)  # z = mu + 2 * z_eps, z_eps ~ Gumbel(0, 1)
    """

    def loc_scale(self, params):
        mu, beta = params
        return mu, beta, ()

    def noise(self, loc, scale, other, size):
        return pm.Gumbel.dist(mu=loc, beta=scale, size=size)


# --- positive scale families: z = scale * eps ------------------------------------------------


@register_form(HalfNormalRV)
class HalfNormalForm(ScaleForm):
    r"""``HalfNormal(sigma)``: :math:`z = \sigma\epsilon`, :math:`\epsilon \sim \mathrm{HalfNormal}(1)`.

    Examples
    --------
    .. code-block:: python

        import pymc as pm
        from pymc_auxform import auxify

        with pm.Model() as m:
            s = pm.HalfNormal("s", 1.0)
            pm.HalfNormal("z", sigma=s)

        aux = auxify(m)  # z = s * z_eps, z_eps ~ HalfNormal(1)
    """

    def shape_scale(self, params):
        loc, sigma = params
        if not is_constant_value(loc, 0):
            raise FormNotApplicable("HalfNormal with a non-zero location is not supported")
        return sigma, ()

    def noise(self, scale, other, size):
        return pm.HalfNormal.dist(sigma=scale, size=size)


@register_form(HalfCauchyRV)
class HalfCauchyForm(ScaleForm):
    r"""``HalfCauchy(beta)``: :math:`z = \beta\epsilon`, :math:`\epsilon \sim \mathrm{HalfCauchy}(1)`.

    Examples
    --------
    .. code-block:: python

        import pymc as pm
        from pymc_auxform import auxify

        with pm.Model() as m:
            s = pm.HalfNormal("s", 1.0)
            pm.HalfCauchy("z", beta=s)

        aux = auxify(m)  # z = s * z_eps, z_eps ~ HalfCauchy(1)
    """

    def shape_scale(self, params):
        (beta,) = params
        return beta, ()

    def noise(self, scale, other, size):
        return pm.HalfCauchy.dist(beta=scale, size=size)


@register_form(HalfStudentTRV)
class HalfStudentTForm(ScaleForm):
    r"""``HalfStudentT(nu, sigma)``: :math:`z = \sigma\epsilon`, :math:`\epsilon \sim \mathrm{HalfStudentT}(\nu, 1)`.

    Examples
    --------
    .. code-block:: python

        import pymc as pm
        from pymc_auxform import auxify

        with pm.Model() as m:
            s = pm.HalfNormal("s", 1.0)
            pm.HalfStudentT("z", nu=3, sigma=s)

        aux = auxify(m)  # z = s * z_eps, z_eps ~ HalfStudentT(3, 1)
    """

    def shape_scale(self, params):
        nu, sigma = params
        return sigma, (nu,)

    def noise(self, scale, other, size):
        (nu,) = other
        return pm.HalfStudentT.dist(nu=nu, sigma=scale, size=size)


@register_form(ExponentialRV)
class ExponentialForm(ScaleForm):
    r"""``Exponential(lam)``: :math:`z = \epsilon/\lambda`, :math:`\epsilon \sim \mathrm{Exponential}(1)`.

    PyTensor parametrizes the exponential by its scale :math:`1/\lambda`.

    Examples
    --------
    .. code-block:: python

        import pymc as pm
        from pymc_auxform import auxify

        with pm.Model() as m:
            s = pm.HalfNormal("s", 1.0)
            pm.Exponential("z", lam=s)

        aux = auxify(m)  # z = z_eps / s, z_eps ~ Exponential(1)
    """

    def shape_scale(self, params):
        (scale,) = params
        return scale, ()

    def noise(self, scale, other, size):
        return pm.Exponential.dist(scale=scale, size=size)


@register_form(GammaRV)
class GammaForm(ScaleForm):
    r"""``Gamma(alpha, beta)``: :math:`z = \epsilon/\beta`, :math:`\epsilon \sim \mathrm{Gamma}(\alpha, 1)`.

    PyTensor parametrizes the gamma by shape and scale :math:`1/\beta`; the shape stays a
    parameter of the noise.

    Examples
    --------
    .. code-block:: python

        import pymc as pm
        from pymc_auxform import auxify

        with pm.Model() as m:
            s = pm.HalfNormal("s", 1.0)
            pm.Gamma("z", alpha=2.0, beta=s)

        aux = auxify(m)  # z = z_eps / s, z_eps ~ Gamma(2, 1)
    """

    def shape_scale(self, params):
        alpha, scale = params
        return scale, (alpha,)

    def noise(self, scale, other, size):
        (alpha,) = other
        return pm.Gamma.dist(alpha=alpha, beta=1 / scale, size=size)


@register_form(InvGammaRV)
class InverseGammaForm(ScaleForm):
    r"""``InverseGamma(alpha, beta)``: :math:`z = \beta\epsilon`, :math:`\epsilon \sim \mathrm{InvGamma}(\alpha, 1)`.

    Examples
    --------
    .. code-block:: python

        import pymc as pm
        from pymc_auxform import auxify

        with pm.Model() as m:
            s = pm.HalfNormal("s", 1.0)
            pm.InverseGamma("z", alpha=3.0, beta=s)

        aux = auxify(m)  # z = s * z_eps, z_eps ~ InverseGamma(3, 1)
    """

    def shape_scale(self, params):
        alpha, beta = params
        return beta, (alpha,)

    def noise(self, scale, other, size):
        (alpha,) = other
        return pm.InverseGamma.dist(alpha=alpha, beta=scale, size=size)


@register_form(WeibullBetaRV)
class WeibullForm(ScaleForm):
    r"""``Weibull(alpha, beta)``: :math:`z = \beta\epsilon`, :math:`\epsilon \sim \mathrm{Weibull}(\alpha, 1)`.

    Examples
    --------
    .. code-block:: python

        import pymc as pm
        from pymc_auxform import auxify

        with pm.Model() as m:
            s = pm.HalfNormal("s", 1.0)
            pm.Weibull("z", alpha=1.5, beta=s)

        aux = auxify(m)  # z = s * z_eps, z_eps ~ Weibull(1.5, 1)
    """

    def shape_scale(self, params):
        alpha, beta = params
        return beta, (alpha,)

    def noise(self, scale, other, size):
        (alpha,) = other
        return pm.Weibull.dist(alpha=alpha, beta=scale, size=size)


# --- log-affine: LogNormal -------------------------------------------------------------------


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

        aux = auxify(m)  # z = exp(mu + 0.5 * z_eps), z_eps ~ Normal(0, 1)
    """

    kind = "log-affine"
    supports_partial = True

    def rewrite(self, rv, lam=0.0):
        mu, sigma = dist_params(rv)
        size = batch_shape(rv)
        if is_zero_lam(lam):
            eps = pm.Normal.dist(size=size)
            return AuxParts([Noise(eps)], lambda e: pt.exp(mu + sigma * e))
        lam = pt.as_tensor(np.asarray(lam, dtype=rv.dtype))
        eta = pm.Normal.dist(mu=lam * mu, sigma=sigma**lam, size=size)
        return AuxParts(
            [Noise(eta)],
            lambda e: pt.exp(mu + sigma ** (1 - lam) * (e - lam * mu)),
            detail="partial",
        )


__all__ = [
    "CauchyForm",
    "ExponentialForm",
    "GammaForm",
    "GumbelForm",
    "HalfCauchyForm",
    "HalfNormalForm",
    "HalfStudentTForm",
    "InverseGammaForm",
    "LaplaceForm",
    "LogNormalForm",
    "LogisticForm",
    "NormalForm",
    "StudentTForm",
    "WeibullForm",
]
