r"""Inverse-CDF form of the truncated normal, written for the tails (not the library icdf).

For :math:`z \sim N(\mu, \sigma)` truncated to :math:`[l, h]`, with :math:`a = (l - \mu)/\sigma`,
:math:`b = (h - \mu)/\sigma` and :math:`u = \Phi(\epsilon)`, :math:`\epsilon \sim N(0, 1)`:

.. math::

    p = (1 - u)\,\Phi(a) + u\,\Phi(b),\qquad 1 - p = (1 - u)\,\Phi(-a) + u\,\Phi(-b),\qquad
    z = \mu + \sigma\,\Phi^{-1}(p).

Both :math:`\log p` and :math:`\log(1 - p)` are computed in log space (``logaddexp`` of log-CDFs),
and :math:`\Phi^{-1}` is taken from the smaller of the two,
:math:`\Phi^{-1}(p) = -\sqrt2\,\mathrm{erfcinv}(2p)` or :math:`+\sqrt2\,\mathrm{erfcinv}(2(1-p))`,
so that bounds far in either tail keep full precision. An infinite bound (``lower=None`` or
``upper=None``, also when only some elements of a bound array are infinite) drops its term
without NaN in the value or the gradient. PyMC's own ``icdf`` of a ``TruncatedNormal`` is NaN
when a bound is infinite and the variable is not scalar, so it is not used.
"""

from __future__ import annotations

import numpy as np
import pymc as pm
import pytensor.tensor as pt

from pymc.distributions.continuous import TruncatedNormalRV

from pymc_auxform.forms.base import (
    AuxParts,
    Form,
    FormNotApplicable,
    Noise,
    batch_shape,
    dist_params,
    is_constant_value,
    register_form,
)


def _lcdf(x):
    """:math:`\\log\\Phi(x)`, with each branch fed only inputs where it is finite (so that the
    gradient of the branch not taken is 0, not NaN; PyMC's ``normal_lcdf`` has NaN gradients in
    the far tails)."""
    left = x < -1.0
    x_left = pt.switch(left, x, -1.0)
    x_right = pt.switch(left, 0.0, x)
    return pt.switch(
        left,
        pt.log(pt.erfcx(-x_left / np.sqrt(2.0)) / 2.0) - x_left**2 / 2.0,
        pt.log1p(-pt.erfc(x_right / np.sqrt(2.0)) / 2.0),
    )


def _logaddexp(a, b):
    """``log(exp(a) + exp(b))``, finite gradients when one side is ``-inf``."""
    m = pt.maximum(a, b)
    m_safe = pt.switch(pt.isinf(m), 0.0, m)
    return m_safe + pt.log(pt.exp(a - m_safe) + pt.exp(b - m_safe))


def _tail_terms(bound, mu, sigma, sign, log_w, *, infinite):
    r"""``log(w * Phi(sign * (bound - mu) / sigma))`` and the same with ``-sign``; ``infinite``: bound is ±inf.

    Returns the pair for the side where the bound is; an infinite bound gives ``(-inf, log_w)``
    for the lower bound (sign=+1: Phi(-inf) = 0, Phi(inf) = 1) and ``(log_w, -inf)`` for the upper.
    """
    if infinite is True:
        return (pt.as_tensor(-np.inf), log_w) if sign > 0 else (log_w, pt.as_tensor(-np.inf))
    t = (bound - mu) / sigma
    if infinite is False:
        return log_w + _lcdf(t), log_w + _lcdf(-t)
    inf = pt.isinf(bound)
    t = pt.switch(inf, 0.0, t)
    low = pt.switch(inf, -np.inf if sign > 0 else log_w, log_w + _lcdf(t))
    high = pt.switch(inf, log_w if sign > 0 else -np.inf, log_w + _lcdf(-t))
    return low, high


def _known_infinite(bound, sign) -> bool | None:
    """True if ``bound`` is the constant ``-inf`` (sign +1) / ``+inf`` (sign -1), False if a
    constant that is finite everywhere, None if it is not known before run time."""
    if is_constant_value(bound, -np.inf * sign):
        return True
    try:
        value = pt.get_underlying_scalar_constant_value(bound)
    except Exception:
        return None
    return False if np.all(np.isfinite(value)) else None


def _ndtri_log(log_p, newton_steps: int = 2):
    r""":math:`\Phi^{-1}(p)` from :math:`\log p \le \log(1/2)`, also where :math:`p` underflows.

    Start from :math:`-\sqrt2\,\mathrm{erfcinv}(2p)` (or, below :math:`p = 10^{-300}`, the
    asymptotic :math:`-\sqrt{t - \log t - \log 2\pi}` with :math:`t = -2\log p`), then Newton
    steps on :math:`\log\Phi(x) = \log p`, which converge to machine precision.
    """
    tiny = log_p < -690.0
    direct = -np.sqrt(2.0) * pt.erfcinv(2.0 * pt.exp(pt.switch(tiny, -1.0, log_p)))
    t = -2.0 * pt.switch(tiny, log_p, -700.0)
    asymptotic = -pt.sqrt(t - pt.log(t) - np.log(2 * np.pi))
    x = pt.switch(tiny, asymptotic, direct)
    for _ in range(newton_steps):
        lcdf = _lcdf(x)
        log_pdf = -0.5 * x**2 - 0.5 * np.log(2 * np.pi)
        x = x - (lcdf - log_p) * pt.exp(lcdf - log_pdf)
    return x


def truncated_normal_map(mu, sigma, lower, upper, eps):
    r"""The map :math:`\epsilon \mapsto z` of the module docstring (graph of ``eps``).

    Examples
    --------
    .. code-block:: python

        import pytensor.tensor as pt
        from pymc_auxform.forms.truncated import truncated_normal_map

        z = truncated_normal_map(0.0, 1.0, 0.0, float("inf"), pt.dvector("eps"))
    """
    mu, sigma, lower, upper = (pt.as_tensor(x) for x in (mu, sigma, lower, upper))
    log_u, log_1mu = _lcdf(eps), _lcdf(-eps)
    lo_p, lo_q = _tail_terms(lower, mu, sigma, +1, log_1mu, infinite=_known_infinite(lower, +1))
    hi_p, hi_q = _tail_terms(upper, mu, sigma, -1, log_u, infinite=_known_infinite(upper, -1))
    log_p = _logaddexp(lo_p, hi_p)  # log[(1-u) Phi(a) + u Phi(b)]
    log_q = _logaddexp(lo_q, hi_q)  # log[(1-u) Phi(-a) + u Phi(-b)] = log(1 - p)
    half = np.log(0.5)
    left = log_p < half
    x_left = _ndtri_log(pt.switch(left, log_p, half))
    x_right = -_ndtri_log(pt.switch(left, half, log_q))
    z = mu + sigma * pt.switch(left, x_left, x_right)
    return pt.clip(z, lower, upper)


@register_form(TruncatedNormalRV)
class TruncatedNormalForm(Form):
    r"""``TruncatedNormal(mu, sigma, lower, upper)``: the tail-safe inverse-CDF map above.

    Examples
    --------
    .. code-block:: python

        import pymc as pm
        from pymc_auxform import auxify

        with pm.Model() as m:
            mu = pm.Normal("mu", 0, 2)
            tau = pm.HalfNormal("tau", 1)
            pm.TruncatedNormal("z", mu=mu, sigma=tau, lower=0.0, shape=8)

        aux = auxify(m, centering=0.0)  # z = mu + tau * Phi^-1(Phi(a) + Phi(z_eps) (1 - Phi(a)))
    """

    kind = "icdf"
    summary = "z = mu + sigma * Phi^-1((1 - u) Phi(a) + u Phi(b)), u = Phi(eps), eps ~ Normal(0, 1)"

    def rewrite(self, rv, lam=0.0):
        mu, sigma, lower, upper = dist_params(rv)
        from pymc_auxform.forms.icdf import depends_on_latents

        if not any(depends_on_latents(p) for p in (mu, sigma, lower, upper)):
            raise FormNotApplicable(
                "its parameters do not depend on other latent variables, so the icdf form "
                "would only add cost"
            )
        eps = pm.Normal.dist(size=batch_shape(rv))
        return AuxParts([Noise(eps)], lambda e: truncated_normal_map(mu, sigma, lower, upper, e))


__all__ = ["TruncatedNormalForm", "truncated_normal_map"]
